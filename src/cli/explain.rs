//! `nbsynth explain RULE`: a rule's docs (what it checks, why, example, fix, references).

use std::io::Write;

use super::Outcome;
use crate::policy;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// A rule id, as `nbsynth rules` lists them (case does not matter).
    #[arg(value_name = "RULE")]
    pub rule: String,
}

pub fn run(args: &Args) -> Outcome {
    let id = args.rule.trim().to_ascii_uppercase();
    match policy::find(&id) {
        Some(r) => {
            let scope = if r.types.is_empty() {
                "every resource".to_string()
            } else {
                r.types.join(", ")
            };
            let text = format!(
                "{}\nEngine: {}; judges {scope}; source: {}\n",
                r.docs,
                r.engine.name(),
                r.path("")
            );
            let _ = std::io::stdout().lock().write_all(text.as_bytes());
            Outcome::Clean
        }
        None => {
            let hint = policy::suggest(&id);
            let mut msg = format!("error: no rule `{}`", args.rule);
            if !hint.is_empty() {
                msg.push_str(&format!("; did you mean {}?", hint.join(", ")));
            }
            eprintln!("{msg}\n`nbsynth rules` lists every rule");
            Outcome::BadInput
        }
    }
}
