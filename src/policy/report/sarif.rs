//! SARIF 2.1.0, as GitHub code scanning loads it: every rule in `tool.driver.rules`, each
//! finding a result with a physical location. Waived findings are kept as results with an
//! in-source suppression (code scanning shows them as dismissed); notices are `note`s.

use serde_json::{Value, json};

use super::{Reviewed, position};
use crate::policy::rules as all_rules;

/// A file path as a relative URI reference: forward slashes, reserved bytes percent-encoded.
fn uri(path: &str) -> String {
    let path = path.replace('\\', "/");
    let path = path.strip_prefix("./").unwrap_or(&path);
    let mut out = String::new();
    for b in path.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn location(r: &Reviewed, pointer: &str) -> Value {
    let (line, column) = position(r, pointer);
    json!({"physicalLocation": {
        "artifactLocation": {"uri": uri(r.path)},
        "region": {"startLine": line, "startColumn": column},
    }})
}

pub fn render_sarif(files: &[Reviewed]) -> String {
    let registry = all_rules();
    let rules: Vec<Value> = registry
        .iter()
        .map(|r| {
            json!({
                "id": r.id,
                "name": r.id,
                "shortDescription": {"text": r.summary},
                "fullDescription": {"text": r.summary},
                "help": {"text": r.docs, "markdown": r.docs},
                "defaultConfiguration": {"level": "error"},
                "properties": {"tags": ["security", r.family]},
            })
        })
        .collect();
    let index = |id: &str| registry.iter().position(|r| r.id == id).unwrap_or(0);
    let mut results = Vec::new();
    for r in files {
        for f in &r.review.findings {
            let mut res = json!({
                "ruleId": f.rule,
                "ruleIndex": index(f.rule),
                "level": "error",
                "message": {"text": format!("{}: {}", f.resource.as_deref().unwrap_or("(template)"), f.message)},
                "locations": [location(r, &f.pointer)],
            });
            if let Some(reason) = &f.waived {
                res["suppressions"] = json!([{"kind": "inSource", "justification": reason}]);
            }
            results.push(res);
        }
        for n in &r.review.notices {
            results.push(json!({
                "ruleId": n.rule,
                "ruleIndex": index(n.rule),
                "level": "note",
                "message": {"text": format!("{}: {}", n.resource.as_deref().unwrap_or("(template)"), n.message)},
                "locations": [location(r, &n.pointer)],
            }));
        }
    }
    let doc = json!({
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "nbsynth",
                "version": env!("CARGO_PKG_VERSION"),
                "rules": rules,
            }},
            "results": results,
        }],
    });
    let mut s = serde_json::to_string_pretty(&doc).expect("JSON");
    s.push('\n');
    s
}
