//! `nbsynth check TEMPLATE...`: review CloudFormation templates (YAML with short forms, or JSON)
//! against the resource schemas and the rules. Exit 0 clean, 1 findings (or unused waivers),
//! 2 a file could not be read or is not a template.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use codespan_reporting::term::termcolor::{ColorChoice, StandardStream};

use super::Outcome;
use crate::policy::{self, Options, Review, report::Reviewed};
use crate::source::{Diagnostic, SourceFile, Spans, TagMode, diagnostic, yaml};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// `file:line:col: RULE resource: message`, one finding a line.
    Text,
    /// The review report (`out/<name>.review.md`), one after another.
    Markdown,
    /// Findings, waivers, notices and every verdict.
    Json,
    /// SARIF 2.1.0, for GitHub code scanning.
    Sarif,
}

#[derive(Debug, clap::Args)]
pub struct Args {
    /// CloudFormation templates (YAML or JSON) to review.
    #[arg(required = true, value_name = "TEMPLATE")]
    pub templates: Vec<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Run only these rules (comma-separated or repeated).
    #[arg(long, value_delimiter = ',', value_name = "RULE")]
    pub select: Vec<String>,
    /// Do not run these rules (comma-separated or repeated).
    #[arg(long, value_delimiter = ',', value_name = "RULE")]
    pub ignore: Vec<String>,
    /// Also list waived findings (text format).
    #[arg(long)]
    pub show_waived: bool,
    /// Print the time spent in each stage to stderr.
    #[arg(long)]
    pub timings: bool,
}

/// Turns a JSON pointer into a (line, column) of one checked file.
type Locator<'a> = dyn Fn(&str) -> Option<(usize, usize)> + 'a;

struct Checked {
    file: SourceFile,
    spans: Spans,
    review: Review,
}

pub fn run(args: &Args) -> Outcome {
    let options = Options {
        select: args.select.clone(),
        ignore: args.ignore.clone(),
    };
    policy::warm_up();
    let mut outcome = Outcome::Clean;
    let mut checked = Vec::new();
    let mut timings: Vec<(String, Duration)> = Vec::new();
    // Nested stacks' local templates are reviewed too, each once, after their parent.
    let mut queue: std::collections::VecDeque<PathBuf> = args.templates.iter().cloned().collect();
    let mut seen: std::collections::BTreeSet<PathBuf> = std::collections::BTreeSet::new();
    while let Some(path) = queue.pop_front() {
        if !seen.insert(path.clone()) {
            continue;
        }
        let path = &path;
        let t = Instant::now();
        let file = match SourceFile::read(path) {
            Ok(f) => f,
            Err(d) => {
                report(None, &[d]);
                outcome = outcome.max(Outcome::BadInput);
                continue;
            }
        };
        let doc = match yaml::load(&file, TagMode::CloudFormation) {
            Ok(doc) => doc,
            Err(ds) => {
                report(Some(&file), &ds);
                outcome = outcome.max(Outcome::BadInput);
                continue;
            }
        };
        timings.push((format!("{}: load", file.name()), t.elapsed()));
        let dir = path.parent().unwrap_or(std::path::Path::new(""));
        queue.extend(crate::split::local_children(&doc.value, dir));
        match policy::review(&doc.value, &options) {
            Ok(review) => {
                if review.failed() || !review.unused_waivers().is_empty() {
                    outcome = outcome.max(Outcome::Findings);
                }
                timings.extend(
                    review
                        .timings
                        .iter()
                        .map(|(n, d)| (format!("{}: {n}", file.name()), *d)),
                );
                checked.push(Checked {
                    file,
                    spans: doc.spans,
                    review,
                });
            }
            Err(e) => {
                let whole = crate::source::Span {
                    start: 0,
                    end: file.text.len().min(1),
                };
                report(
                    Some(&file),
                    &[
                        Diagnostic::error("E0401", format!("cannot review this template: {e}"))
                            .at(&file, whole),
                    ],
                );
                outcome = outcome.max(Outcome::BadInput);
            }
        }
    }
    let t = Instant::now();
    print(args, &checked);
    timings.push(("render".into(), t.elapsed()));
    if args.timings {
        let mut err = std::io::stderr().lock();
        for (stage, d) in &timings {
            let _ = writeln!(err, "timing: {stage}: {:.2} ms", d.as_secs_f64() * 1000.0);
        }
    }
    outcome
}

fn print(args: &Args, checked: &[Checked]) {
    let locators: Vec<Box<Locator>> = checked
        .iter()
        .map(|c| {
            Box::new(move |pointer: &str| Some(c.file.line_col(c.spans.key(pointer).start)))
                as Box<Locator>
        })
        .collect();
    let names: Vec<String> = checked.iter().map(|c| c.file.name()).collect();
    let reviewed: Vec<Reviewed> = checked
        .iter()
        .zip(&locators)
        .zip(&names)
        .map(|((c, locate), name)| Reviewed {
            path: name,
            review: &c.review,
            locate: locate.as_ref(),
        })
        .collect();
    let out = match args.format {
        Format::Text => {
            let mut s = String::new();
            for r in &reviewed {
                s.push_str(&policy::report::render_lines(r, args.show_waived));
            }
            let failed = reviewed
                .iter()
                .map(|r| r.review.unwaived().count())
                .sum::<usize>();
            let waived = reviewed
                .iter()
                .map(|r| r.review.waived_count())
                .sum::<usize>();
            let rules = reviewed.first().map_or(0, |r| r.review.rules_checked());
            s.push_str(&format!(
                "{} file(s), {rules} rules: {failed} finding(s), {waived} waived\n",
                reviewed.len()
            ));
            s
        }
        Format::Markdown => reviewed
            .iter()
            .map(|r| policy::render_markdown(r.review, r.path) + "\n")
            .collect::<Vec<_>>()
            .join("\n"),
        Format::Json => policy::render_json(&reviewed),
        Format::Sarif => policy::render_sarif(&reviewed),
    };
    let mut stdout = std::io::stdout().lock();
    // A closed pipe (`| head`) is not an error of the review.
    let _ = stdout.write_all(out.as_bytes());
}

fn report(file: Option<&SourceFile>, diagnostics: &[Diagnostic]) {
    let color = if std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none() {
        ColorChoice::Auto
    } else {
        ColorChoice::Never
    };
    let mut err = StandardStream::stderr(color);
    let _ = diagnostic::render(&mut err, file, diagnostics);
}
