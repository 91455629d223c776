//! The three forms of a plan: text for a terminal, markdown for a pull-request comment (and
//! the review report's "Changes since the last build"), JSON for machines.

use serde_json::{Value, json};

use super::{Action, Change, Plan, Verdict};
use crate::policy::schema;

fn mark(c: &Change) -> &'static str {
    match c.action {
        Action::Add => "+",
        Action::Modify => "~",
        Action::Replace => "-/+",
        Action::Remove => "-",
    }
}

fn flags(c: &Change) -> String {
    let mut f = Vec::new();
    if c.data_loss {
        f.push("DATA LOSS");
    }
    if c.interruption {
        f.push("interruption");
    }
    f.join(", ")
}

pub fn summary_line(plan: &Plan) -> String {
    let lost = plan.changes.iter().filter(|c| c.data_loss).count();
    let mut s = format!(
        "{} to add, {} to modify, {} to replace, {} to remove; {} with data loss",
        plan.count(Action::Add),
        plan.count(Action::Modify),
        plan.count(Action::Replace),
        plan.count(Action::Remove),
        lost
    );
    if !plan.errors.is_empty() {
        s.push_str(&format!("; {} cannot be deployed", plan.errors.len()));
    }
    s
}

pub fn text(plan: &Plan, name: &str, against: &str) -> String {
    let mut s = format!(
        "plan: {name} against {against} (create-only knowledge: {})\n",
        schema::SOURCE
    );
    if plan.changes.is_empty() {
        s.push_str("no changes\n");
    }
    for c in &plan.changes {
        let f = flags(c);
        s.push_str(&format!(
            "{:>3} {} ({}){} {}{}\n",
            mark(c),
            c.logical_id,
            c.resource_type,
            c.stack
                .as_deref()
                .map_or_else(String::new, |st| format!(" in {st}")),
            c.action.as_str(),
            if f.is_empty() {
                String::new()
            } else {
                format!(" [{f}]")
            }
        ));
        for r in &c.reasons {
            s.push_str(&format!("      {r}\n"));
        }
    }
    for e in &plan.errors {
        s.push_str(&format!("error: {e}\n"));
    }
    s.push_str(&summary_line(plan));
    s.push('\n');
    s
}

fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}

/// Markdown with headings starting at `level` (`##` for a comment, `###` inside the review).
pub fn markdown(plan: &Plan, name: &str, against: &str, level: usize) -> String {
    let h = "#".repeat(level);
    let verdict = match plan.verdict() {
        Verdict::NoChange => "No changes.",
        Verdict::Changes => "Changes, none of which loses data.",
        Verdict::DataLoss => {
            "**Data loss**: at least one change replaces or deletes a resource that holds data."
        }
        Verdict::Undeployable => "**Cannot be deployed**: see the errors below.",
    };
    let mut s = format!(
        "{h} nbsynth plan: `{name}` against `{against}`\n\n{verdict} {}.\n\n",
        summary_line(plan)
    );
    for e in &plan.errors {
        s.push_str(&format!("- :x: {}\n", cell(e)));
    }
    if !plan.errors.is_empty() {
        s.push('\n');
    }
    if !plan.changes.is_empty() {
        // A split stack's rows say which stack they are in.
        let split = plan.changes.iter().any(|c| c.stack.is_some());
        let (head, rule) = if split {
            ("| Stack ", "|---")
        } else {
            ("", "")
        };
        s.push_str(&format!("| | Resource {head}| Type | Action | Data loss | Interruption | Why |\n|---|---{rule}|---|---|---|---|---|\n"));
        for c in &plan.changes {
            let stack = match (&c.stack, split) {
                (Some(st), _) => format!("| `{st}` "),
                (None, true) => "| ".to_string(),
                (None, false) => String::new(),
            };
            s.push_str(&format!(
                "| {} | `{}` {stack}| {} | {} | {} | {} | {} |\n",
                if c.data_loss { ":warning:" } else { "" },
                c.logical_id,
                c.resource_type,
                c.action.as_str(),
                if c.data_loss { "**yes**" } else { "no" },
                if c.interruption { "yes" } else { "no" },
                cell(&c.reasons.join("; "))
            ));
        }
        s.push('\n');
    }
    s.push_str(&format!(
        "Replacement knowledge: {}; only a CloudFormation change set is authoritative.\n",
        schema::SOURCE
    ));
    s
}

pub fn json(plan: &Plan) -> Value {
    let changes: Vec<Value> = plan
        .changes
        .iter()
        .map(|c| {
            let mut v = json!({
                "logical_id": c.logical_id,
                "type": c.resource_type,
                "action": c.action.as_str(),
                "data_loss": c.data_loss,
                "interruption": c.interruption,
                "reasons": c.reasons,
                "properties": c.properties,
            });
            // Only a split stack's changes have one.
            if let Some(st) = &c.stack {
                v["stack"] = json!(st);
            }
            v
        })
        .collect();
    json!({
        "changes": changes,
        "summary": {
            "add": plan.count(Action::Add),
            "modify": plan.count(Action::Modify),
            "replace": plan.count(Action::Replace),
            "remove": plan.count(Action::Remove),
            "data_loss": plan.changes.iter().filter(|c| c.data_loss).count(),
            "interruption": plan.changes.iter().filter(|c| c.interruption).count(),
            "errors": plan.errors,
            "exit": plan.verdict().code(),
            "schemas": schema::SOURCE,
        }
    })
}

pub fn json_text(plan: &Plan) -> String {
    let mut s = serde_json::to_string_pretty(&json(plan)).expect("a JSON value serializes");
    s.push('\n');
    s
}
