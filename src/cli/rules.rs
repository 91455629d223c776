//! `nbsynth rules`: the registry, one rule a line.

use std::io::Write;

use super::Outcome;
use crate::policy;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Print the full docs of every rule (Markdown) instead of one line each.
    #[arg(long)]
    pub docs: bool,
}

pub fn run(args: &Args) -> Outcome {
    let mut out = String::new();
    let width = policy::rules()
        .iter()
        .map(|r| r.id.len())
        .max()
        .unwrap_or(0);
    for r in policy::rules() {
        if args.docs {
            out.push_str(r.docs);
            out.push('\n');
        } else {
            out.push_str(&format!(
                "{:width$}  {:9}  {}\n",
                r.id,
                r.engine.name(),
                r.summary
            ));
        }
    }
    let _ = std::io::stdout().lock().write_all(out.as_bytes());
    Outcome::Clean
}
