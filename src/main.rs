use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = nbsynth::cli::Cli::parse();
    ExitCode::from(nbsynth::cli::run(&cli).code())
}
