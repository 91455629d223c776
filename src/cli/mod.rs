//! The command line: one file per subcommand. Each returns an [`Outcome`]; `main` maps it to
//! an exit code.

pub mod build;
pub mod check;
pub mod completions;
pub mod diagram;
pub mod explain;
pub mod init;
pub mod plan;
pub mod rules;
pub mod schema;

use clap::{Parser, Subcommand};

/// How a command ended. Exit codes: 0 clean, 1 findings (or stale output), 2 bad input;
/// `plan` adds 3 (changes, no data loss) and 4 (data loss).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Clean,
    Findings,
    BadInput,
    PlanChanges,
    PlanDataLoss,
}

impl Outcome {
    pub fn code(self) -> u8 {
        match self {
            Outcome::Clean => 0,
            Outcome::Findings => 1,
            Outcome::BadInput => 2,
            Outcome::PlanChanges => 3,
            Outcome::PlanDataLoss => 4,
        }
    }

    /// The worse of two outcomes, for commands over several files.
    pub fn max(self, other: Outcome) -> Outcome {
        if other.code() > self.code() {
            other
        } else {
            self
        }
    }
}

#[derive(Debug, Parser)]
#[command(
    name = "nbsynth",
    version,
    about = "Compile a blueprint into hardened, reviewed CloudFormation for SageMaker notebooks"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Compile blueprints into CloudFormation templates, review reports and plain-text scripts.
    Build(build::Args),
    /// Review CloudFormation templates against the resource schemas and the rules.
    Check(check::Args),
    /// List the rules.
    Rules(rules::Args),
    /// Explain a rule (what it checks, why, an example, the fix) or a blueprint key (type, default, allowed values).
    Explain(explain::Args),
    /// Write a commented starter blueprint (never overwrites).
    Init(init::Args),
    /// Show what deploying a blueprint would do to a deployed stack, and which changes lose data.
    Plan(plan::Args),
    /// Print the blueprint JSON Schema.
    Schema(schema::Args),
    /// Draw the network of a template or blueprint (Mermaid, DOT, or SVG through Graphviz).
    Diagram(diagram::Args),
    /// Print shell completions (for example: nbsynth completions bash > ~/.local/share/bash-completion/completions/nbsynth).
    Completions(completions::Args),
    /// Print the man page.
    Man(completions::ManArgs),
}

pub fn run(cli: &Cli) -> Outcome {
    match &cli.command {
        Command::Build(a) => build::run(a),
        Command::Check(a) => check::run(a),
        Command::Rules(a) => rules::run(a),
        Command::Explain(a) => explain::run(a),
        Command::Init(a) => init::run(a),
        Command::Plan(a) => plan::run(a),
        Command::Schema(a) => schema::run(a),
        Command::Diagram(a) => diagram::run(a),
        Command::Completions(a) => completions::run(a),
        Command::Man(a) => completions::run_man(a),
    }
}
