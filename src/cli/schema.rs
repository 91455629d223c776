//! `nbsynth schema`: print the blueprint JSON Schema, for editors and other validators.

use std::io::Write;

use super::Outcome;
use crate::blueprint::schema::SCHEMA_TEXT;

#[derive(Debug, clap::Args)]
pub struct Args {}

pub fn run(_args: &Args) -> Outcome {
    write_stdout(SCHEMA_TEXT.as_bytes())
}

/// Writes a command's whole output to stdout. A reader that goes away early (`| head`) is not
/// an error: the output was wanted only in part, so the command ends quietly and cleanly.
pub(crate) fn write_stdout(bytes: &[u8]) -> Outcome {
    let mut out = std::io::stdout().lock();
    match out.write_all(bytes).and_then(|()| out.flush()) {
        Ok(()) => Outcome::Clean,
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Outcome::Clean,
        Err(e) => {
            eprintln!("error: cannot write to stdout: {e}");
            Outcome::BadInput
        }
    }
}
