//! `nbsynth completions SHELL` and `nbsynth man`: generated from the clap definition, so they
//! never drift from the real flags.

use std::path::PathBuf;

use clap::CommandFactory;
use clap_complete::Shell;

use super::schema::write_stdout;
use super::{Cli, Outcome};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The shell to complete for.
    #[arg(value_enum)]
    pub shell: Shell,
}

pub fn run(args: &Args) -> Outcome {
    let mut cmd = Cli::command();
    // Generated into memory: clap_complete panics when its writer fails, and a closed pipe
    // must end quietly instead.
    let mut buf = Vec::new();
    clap_complete::generate(args.shell, &mut cmd, "nbsynth", &mut buf);
    write_stdout(&buf)
}

#[derive(Debug, clap::Args)]
pub struct ManArgs {
    /// Write nbsynth.1 and one page per subcommand (nbsynth-build.1, ...) into DIR instead of
    /// printing nbsynth.1.
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
    /// Print nothing but problems.
    #[arg(long, short)]
    pub quiet: bool,
}

pub fn run_man(args: &ManArgs) -> Outcome {
    let cmd = Cli::command();
    let Some(dir) = &args.dir else {
        return match render(&cmd) {
            Ok(page) => write_stdout(&page),
            Err(e) => fail(&e),
        };
    };
    let mut pages = vec![("nbsynth.1".to_string(), cmd.clone())];
    for sub in cmd.get_subcommands().filter(|s| s.get_name() != "help") {
        // The page's title names the full command, as `man nbsynth-build` shows it.
        let name = format!("nbsynth-{}", sub.get_name());
        pages.push((
            format!("{name}.1"),
            sub.clone()
                .name(name)
                .version(cmd.get_version().unwrap_or_default().to_string()),
        ));
    }
    for (file, page) in pages {
        let path = dir.join(&file);
        let written = render(&page).and_then(|bytes| std::fs::write(&path, bytes));
        if let Err(e) = written {
            eprintln!(
                "error: cannot write {}: {}",
                path.display(),
                crate::source::io_reason(&e)
            );
            return Outcome::BadInput;
        }
        if !args.quiet {
            println!("wrote {}", path.display());
        }
    }
    Outcome::Clean
}

fn render(cmd: &clap::Command) -> std::io::Result<Vec<u8>> {
    let mut buf = Vec::new();
    clap_mangen::Man::new(cmd.clone()).render(&mut buf)?;
    Ok(buf)
}

fn fail(e: &std::io::Error) -> Outcome {
    eprintln!("error: cannot render the man page: {e}");
    Outcome::BadInput
}
