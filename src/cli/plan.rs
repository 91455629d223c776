//! `nbsynth plan BLUEPRINT --against TEMPLATE`: what deploying the blueprint over the stack
//! that TEMPLATE describes would do. Exit 0 no change, 3 changes without data loss, 4 at least
//! one change loses data, 2 invalid input or a change that cannot be deployed (a notebook
//! volume made smaller), 1 the blueprint fails rules (as `build`).

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

use codespan_reporting::term::termcolor::{ColorChoice, StandardStream};

use super::Outcome;
use crate::cfn::emit::Format;
use crate::pipeline::{self, Failure, Previous};
use crate::plan::{self, Verdict, load, render, stacks};
use crate::source::{Diagnostic, SourceFile, diagnostic};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum PlanFormat {
    Text,
    /// For a pull-request comment.
    Markdown,
    Json,
}

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The blueprint (YAML or JSON), compiled as `build` would; nothing is written.
    #[arg(value_name = "BLUEPRINT")]
    pub blueprint: PathBuf,
    /// The deployed template: `out/<name>.template.yaml` of the last deploy, or the output of
    /// `aws cloudformation get-template --stack-name NAME --query TemplateBody` (JSON or YAML).
    /// A split stack's root or base, with its shards beside it as `build` wrote them.
    #[arg(long, value_name = "TEMPLATE")]
    pub against: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value_t = PlanFormat::Text)]
    pub format: PlanFormat,
}

pub fn run(args: &Args) -> Outcome {
    let old = match load::load(&args.against) {
        Ok(v) => v,
        Err(e) => {
            report(e.file.as_ref(), &e.diagnostics);
            return Outcome::BadInput;
        }
    };
    let compiled = match pipeline::compile_with(
        &args.blueprint,
        Path::new("out"),
        Format::Yaml,
        Previous::Ignore,
    ) {
        Ok(c) => c,
        Err(Failure::Invalid(invalid)) => {
            report(invalid.file.as_ref(), &invalid.diagnostics);
            return Outcome::BadInput;
        }
        Err(Failure::Findings { name, review }) => {
            eprintln!("{}", crate::policy::render_text(&review, &name));
            eprintln!("error: `{name}`: rules failed; fix them (or waive them) before planning");
            return Outcome::Findings;
        }
    };
    // A split stack (either side) is compared stack by stack.
    let deployed = match stacks::deployed(&args.against, old, &compiled.name) {
        Ok(d) => d,
        Err(e) => {
            report(e.file.as_ref(), &e.diagnostics);
            return Outcome::BadInput;
        }
    };
    let plan = if deployed.len() == 1 && compiled.parts.is_empty() {
        plan::compare(&deployed[0].template, &compiled.template)
    } else {
        let new = stacks::compiled(
            &compiled.name,
            compiled.layout,
            &compiled.parts,
            &compiled.template,
        );
        stacks::compare(&deployed, &new)
    };
    let against = args.against.display().to_string();
    let out = match args.format {
        PlanFormat::Text => render::text(&plan, &compiled.name, &against),
        PlanFormat::Markdown => render::markdown(&plan, &compiled.name, &against, 2),
        PlanFormat::Json => render::json_text(&plan),
    };
    // A closed pipe must not change the verdict.
    let _ = std::io::stdout().lock().write_all(out.as_bytes());
    let errors: Vec<Diagnostic> = plan
        .errors
        .iter()
        .map(|e| Diagnostic::error("E0602", e.clone()).with_path(&args.blueprint))
        .collect();
    if !errors.is_empty() {
        report(None, &errors);
    }
    match plan.verdict() {
        Verdict::NoChange => Outcome::Clean,
        Verdict::Undeployable => Outcome::BadInput,
        Verdict::Changes => Outcome::PlanChanges,
        Verdict::DataLoss => Outcome::PlanDataLoss,
    }
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
