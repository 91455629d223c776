use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    quiet_broken_pipe();
    let cli = nbsynth::cli::Cli::parse();
    ExitCode::from(nbsynth::cli::run(&cli).code())
}

/// `nbsynth ... | head` closes the pipe early; `println!` then panics. The output was wanted
/// only in part, so that ends the process quietly with success instead of a panic message.
/// (Commands that write through `cli::schema::write_stdout` handle it without this net.)
fn quiet_broken_pipe() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let message = info
            .payload()
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| info.payload().downcast_ref::<&str>().copied())
            .unwrap_or("");
        if message.contains("Broken pipe") || message.contains("os error 32") {
            std::process::exit(0);
        }
        default(info);
    }));
}
