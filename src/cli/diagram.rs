//! `nbsynth diagram INPUT`: draw the network of a CloudFormation template, or of the template a
//! blueprint compiles to, as Mermaid, Graphviz DOT, or SVG (through Graphviz `dot`).

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use codespan_reporting::term::termcolor::{ColorChoice, StandardStream};
use serde_json::Value;

use super::Outcome;
use super::schema::write_stdout;
use crate::diagram::{self, SvgError, dot, mermaid, model};
use crate::pipeline::{self, Failure};
use crate::source::{Diagnostic, SourceFile, TagMode, diagnostic, yaml};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// A Mermaid flowchart (GitHub renders it in Markdown).
    Mermaid,
    /// Graphviz DOT.
    Dot,
    /// SVG, drawn by Graphviz `dot` (must be installed).
    Svg,
}

#[derive(Debug, clap::Args)]
pub struct Args {
    /// A CloudFormation template (YAML or JSON), or a blueprint.
    #[arg(value_name = "TEMPLATE_OR_BLUEPRINT")]
    pub input: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Mermaid)]
    pub format: Format,
}

pub fn run(args: &Args) -> Outcome {
    let (template, title) = match load(&args.input) {
        Ok(t) => t,
        Err(outcome) => return outcome,
    };
    let d = model::build(&template, &title, model::AGGREGATE_ABOVE);
    let text = match args.format {
        Format::Mermaid => mermaid::render(&d),
        Format::Dot => dot::render(&d),
        Format::Svg => match diagram::svg(&dot::render(&d)) {
            Ok(svg) => svg,
            Err(SvgError::NoDot) => {
                eprintln!(
                    "error: `--format svg` needs Graphviz `dot`, which is not installed (Debian/Ubuntu: apt-get install graphviz; macOS: brew install graphviz)"
                );
                eprintln!(
                    "  = help: `--format dot` writes the DOT text; `--format mermaid` needs nothing"
                );
                return Outcome::BadInput;
            }
            Err(SvgError::Failed(why)) => {
                eprintln!("error: cannot draw the SVG: {why}");
                return Outcome::BadInput;
            }
        },
    };
    write_stdout(text.as_bytes())
}

/// The template to draw and its title: the file itself if it has `Resources`, else the
/// template the blueprint compiles to.
fn load(path: &Path) -> Result<(Value, String), Outcome> {
    let file = SourceFile::read(path).map_err(|d| report(None, &[d]))?;
    let doc = yaml::load(&file, TagMode::CloudFormation).map_err(|ds| report(Some(&file), &ds))?;
    if doc.value.get("Resources").is_some() {
        let title = doc
            .value
            .get("Description")
            .and_then(Value::as_str)
            .map_or_else(|| file.name(), str::to_string);
        return Ok((doc.value, title));
    }
    let compiled = match pipeline::compile(path, Path::new("."), crate::cfn::emit::Format::Json) {
        Ok(c) => c,
        Err(Failure::Invalid(invalid)) => {
            return Err(report(invalid.file.as_ref(), &invalid.diagnostics));
        }
        Err(Failure::Findings { name, review }) => {
            eprintln!("{}", crate::policy::render_text(&review, &name));
            eprintln!("error: `{name}`: rules failed; fix or waive them to draw its network");
            return Err(Outcome::Findings);
        }
    };
    let template: Value =
        serde_json::from_str(&compiled.files[0].text).expect("the compiled template is JSON");
    Ok((template, compiled.name))
}

fn report(file: Option<&SourceFile>, diagnostics: &[Diagnostic]) -> Outcome {
    let color = if std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none() {
        ColorChoice::Auto
    } else {
        ColorChoice::Never
    };
    let _ = diagnostic::render(&mut StandardStream::stderr(color), file, diagnostics);
    Outcome::BadInput
}
