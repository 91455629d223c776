//! `nbsynth build BLUEPRINT...`: compile, review, write (or with `--check`, compare).

use std::io::{IsTerminal, Write};
use std::path::PathBuf;

use codespan_reporting::term::termcolor::{ColorChoice, StandardStream};

use super::Outcome;
use crate::cfn::emit::Format;
use crate::output;
use crate::pipeline::{self, Failure};
use crate::source::diagnostic;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Blueprint files (YAML or JSON).
    #[arg(required = true, value_name = "BLUEPRINT")]
    pub blueprints: Vec<PathBuf>,
    /// Output directory.
    #[arg(long, short, default_value = "out", value_name = "DIR")]
    pub out: PathBuf,
    /// Template format.
    #[arg(long, value_enum, default_value_t = Format::Yaml)]
    pub format: Format,
    /// Write nothing; exit 1 and list the files that would change (for CI).
    #[arg(long)]
    pub check: bool,
    /// How to print problems.
    #[arg(long, value_enum, default_value_t = MessageFormat::Human)]
    pub message_format: MessageFormat,
    /// Print only problems.
    #[arg(long, short, conflicts_with = "verbose")]
    pub quiet: bool,
    /// Also list every file written.
    #[arg(long, short)]
    pub verbose: bool,
    /// Print the time spent in each stage.
    #[arg(long)]
    pub timings: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum MessageFormat {
    Human,
    Json,
}

pub fn run(args: &Args) -> Outcome {
    let mut outcome = Outcome::Clean;
    for path in &args.blueprints {
        outcome = outcome.max(build_one(args, path));
    }
    outcome
}

fn build_one(args: &Args, path: &std::path::Path) -> Outcome {
    let compiled = match pipeline::compile(path, &args.out, args.format) {
        Ok(c) => c,
        Err(Failure::Invalid(invalid)) => {
            report(args, invalid.file.as_ref(), &invalid.diagnostics);
            return Outcome::BadInput;
        }
        Err(Failure::Findings { name, review }) => {
            eprintln!("{}", crate::policy::render_text(&review, &name));
            eprintln!(
                "error: `{name}`: rules failed; nothing was written (add a waiver with a reason to accept a finding)"
            );
            return Outcome::Findings;
        }
    };
    let keep: Vec<PathBuf> = compiled.files.iter().map(|f| f.path.clone()).collect();
    let mut obsolete = output::stale(&compiled.scripts_dir, ".sh", &keep);
    // Shards that lost their last owner (a split stack's templates live in `<name>/stacks/`).
    obsolete.extend(output::stale(
        &compiled.scripts_dir.join("stacks"),
        &format!(".template.{}", args.format.extension()),
        &keep,
    ));
    if args.check {
        let mut stale = output::changed(&compiled.files);
        stale.extend(obsolete);
        if stale.is_empty() {
            if !args.quiet {
                let _ = writeln!(std::io::stdout(), "{}: up to date", compiled.name);
            }
            return Outcome::Clean;
        }
        for p in &stale {
            let _ = writeln!(std::io::stdout(), "would change: {}", p.display());
        }
        return Outcome::Findings;
    }
    if let Err(e) = output::write_all(&compiled.files, &obsolete) {
        eprintln!(
            "error[E0005]: cannot write the outputs of `{}`: {e}",
            compiled.name
        );
        eprintln!("  = note: nothing was written");
        return Outcome::BadInput;
    }
    if !args.quiet {
        let stdout = std::io::stdout();
        let mut out = stdout.lock();
        let _ = writeln!(
            out,
            "{}: {} resources, {} rules checked, {} waived -> {}",
            compiled.name,
            compiled.resources,
            compiled.review.rules_checked(),
            compiled.review.waived_count(),
            compiled.files[0].path.display()
        );
        if args.verbose {
            for f in &compiled.files {
                let _ = writeln!(out, "  wrote {}", f.path.display());
            }
            for p in &obsolete {
                let _ = writeln!(out, "  removed {} (no longer produced)", p.display());
            }
        }
    }
    if !args.quiet && !compiled.stacks.is_empty() {
        let total: usize = compiled.stacks.iter().map(|c| c.resources).sum();
        println!(
            "  split into {} templates ({total} resources); deploy in this order:",
            compiled.stacks.len()
        );
        for d in &compiled.deploy {
            println!("    {d}");
        }
    }
    if !args.quiet && compiled.compressed_for_size {
        println!(
            "  note: lifecycle scripts compressed to keep the template under {} bytes (readable copies: {})",
            crate::pipeline::INLINE_TEMPLATE_BYTES,
            compiled.scripts_dir.display()
        );
    }
    if !args.quiet
        && compiled.stacks.is_empty()
        && compiled.template_bytes > crate::pipeline::INLINE_TEMPLATE_BYTES
    {
        println!(
            "  note: the template is {} bytes, over the {} that `aws cloudformation deploy --template-file` sends inline: add `--s3-bucket BUCKET`",
            compiled.template_bytes,
            crate::pipeline::INLINE_TEMPLATE_BYTES
        );
    }
    if args.timings {
        for (stage, d) in &compiled.timings.0 {
            eprintln!("{stage:>14}: {:8.2} ms", d.as_secs_f64() * 1000.0);
        }
    }
    Outcome::Clean
}

fn report(
    args: &Args,
    file: Option<&crate::source::SourceFile>,
    diagnostics: &[crate::source::Diagnostic],
) {
    match args.message_format {
        MessageFormat::Json => {
            for d in diagnostics {
                // A closed pipe must not change the verdict (exit 2), so write errors are ignored.
                let _ = writeln!(std::io::stdout(), "{}", diagnostic::to_json(file, d));
            }
        }
        MessageFormat::Human => {
            let color = if std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none()
            {
                ColorChoice::Auto
            } else {
                ColorChoice::Never
            };
            let mut err = StandardStream::stderr(color);
            let _ = diagnostic::render(&mut err, file, diagnostics);
            let n = diagnostics.len();
            let name = file
                .map(|f| f.name())
                .or_else(|| {
                    diagnostics
                        .iter()
                        .find_map(|d| d.path.as_ref().map(|p| p.display().to_string()))
                })
                .unwrap_or_default();
            let _ = writeln!(
                err,
                "error: {name}: {n} problem{}; nothing was written",
                if n == 1 { "" } else { "s" }
            );
        }
    }
}
