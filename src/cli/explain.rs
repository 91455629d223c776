//! `nbsynth explain RULE`: a rule's docs (what it checks, why, example, fix, references).
//! `nbsynth explain KEY`: a blueprint key's description, type, default and allowed values.

use std::io::Write;

use super::Outcome;
use crate::policy;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// A rule id, as `nbsynth rules` lists them (case does not matter), or a blueprint key such
    /// as `lifecycle.idle_shutdown` or `notebooks.instances[].owner`.
    #[arg(value_name = "RULE|KEY")]
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
                "{}\nEngine: {}; judges {scope}; source: {}\n{}",
                r.docs,
                r.engine.name(),
                r.path(""),
                policy::counterparts::describe(r.id)
            );
            let _ = std::io::stdout().lock().write_all(text.as_bytes());
            Outcome::Clean
        }
        None => {
            // Not a rule: a blueprint key, by its dotted path.
            if let Some(text) = crate::blueprint::schema::explain_key(&args.rule) {
                return super::schema::write_stdout(text.as_bytes());
            }
            let mut hint = policy::suggest(&id);
            let key = crate::blueprint::schema::closest_key(&args.rule);
            hint.extend(key.as_deref());
            let mut msg = format!("error: no rule or blueprint key `{}`", args.rule);
            if !hint.is_empty() {
                msg.push_str(&format!("; did you mean {}?", hint.join(", ")));
            }
            eprintln!(
                "{msg}\n`nbsynth rules` lists every rule; `nbsynth schema` describes every key"
            );
            Outcome::BadInput
        }
    }
}
