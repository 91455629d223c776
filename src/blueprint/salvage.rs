//! Semantic checks on a blueprint the schema rejected, so that one run reports every problem.
//!
//! The nodes the schema rejects are cut away (an array item is dropped, the items after it are
//! renumbered, and their positions follow them), again until the schema accepts what is left or
//! the whole document is gone. What is left is a valid blueprint: the ordinary typed model and
//! semantic checks run on it, so nothing here reads an invalid value. A cut can make a check
//! wrong (a repository whose `url` was cut is "not defined"), so a finding is kept only if no
//! cut touched what its check reads ([`semantic::reads`]).

use std::collections::{BTreeSet, HashMap};

use serde_json::Value;

use super::model::Blueprint;
use super::{schema, semantic};
use crate::source::yaml::escape_pointer;
use crate::source::{Diagnostic, SourceFile, Spans};

/// The semantic errors of the parts of `value` the schema accepted.
pub fn check(
    file: &SourceFile,
    value: &Value,
    spans: &Spans,
    rule_ids: &[String],
) -> Vec<Diagnostic> {
    let Some((pruned, pruned_spans, cut)) = salvage(value, spans) else {
        return Vec::new();
    };
    // The schema accepted `pruned`; should the model still disagree, report nothing extra
    // rather than guess.
    let Ok(bp) = serde_json::from_value::<Blueprint>(pruned.clone()) else {
        return Vec::new();
    };
    let mut out = semantic::check(file, &bp, &pruned, &pruned_spans, rule_ids);
    super::read_scripts(file, &bp, &pruned_spans, &mut out);
    out.retain(|d| {
        !semantic::reads(d.code)
            .iter()
            .any(|pattern| cut.iter().any(|c| overlaps(pattern, c)))
    });
    out
}

/// `value` without the nodes the schema rejects, its positions, and the original pointers of
/// the cut nodes; `None` when nothing valid is left.
fn salvage(value: &Value, spans: &Spans) -> Option<(Value, Spans, BTreeSet<String>)> {
    let mut cut: BTreeSet<String> = BTreeSet::new();
    loop {
        let mut pairs = Vec::new();
        let pruned = prune(value, "", "", &cut, &mut pairs);
        let rejected = schema::rejected(&pruned);
        if rejected.is_empty() {
            return Some((pruned, spans.remap(pairs), cut));
        }
        let original: HashMap<&str, &str> = pairs
            .iter()
            .map(|(new, orig)| (new.as_str(), orig.as_str()))
            .collect();
        // Every round cuts at least one node that is still there, so this ends.
        for p in rejected {
            match original.get(p.as_str()) {
                Some(&"") | None => return None,
                Some(o) => {
                    cut.insert(o.to_string());
                }
            }
        }
    }
}

/// A copy of `v` (at pointer `new`, originally at `orig`) without the nodes in `cut`,
/// recording `(new pointer, original pointer)` for every node kept.
fn prune(
    v: &Value,
    new: &str,
    orig: &str,
    cut: &BTreeSet<String>,
    pairs: &mut Vec<(String, String)>,
) -> Value {
    pairs.push((new.to_string(), orig.to_string()));
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .filter_map(|(k, x)| {
                    let seg = escape_pointer(k);
                    let o = format!("{orig}/{seg}");
                    (!cut.contains(&o))
                        .then(|| (k.clone(), prune(x, &format!("{new}/{seg}"), &o, cut, pairs)))
                })
                .collect(),
        ),
        Value::Array(a) => {
            let mut out = Vec::new();
            for (i, x) in a.iter().enumerate() {
                let o = format!("{orig}/{i}");
                if !cut.contains(&o) {
                    let n = format!("{new}/{}", out.len());
                    out.push(prune(x, &n, &o, cut, pairs));
                }
            }
            Value::Array(out)
        }
        _ => v.clone(),
    }
}

/// Whether a pointer pattern (`*` matches one segment) and a pointer name the same node or one
/// inside the other.
fn overlaps(pattern: &str, pointer: &str) -> bool {
    pattern
        .split('/')
        .skip(1)
        .zip(pointer.split('/').skip(1))
        .all(|(p, s)| p == "*" || p == s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::{TagMode, yaml};

    fn run(text: &str) -> Vec<(String, &'static str)> {
        let file = SourceFile::from_text("t.yaml", text);
        let doc = yaml::load(&file, TagMode::Reject).unwrap();
        check(
            &file,
            &doc.value,
            &doc.spans,
            &["NOTEBOOK_ROOT_ACCESS_DISABLED".into()],
        )
        .into_iter()
        .map(|d| {
            let (line, col) = file.line_col(d.span.unwrap().start);
            (format!("{line}:{col}"), d.code)
        })
        .collect()
    }

    #[test]
    fn patterns() {
        assert!(overlaps(
            "/notebooks/instances/*/owner",
            "/notebooks/instances/2"
        ));
        assert!(overlaps(
            "/notebooks/instances/*/owner",
            "/notebooks/instances/2/owner"
        ));
        assert!(overlaps("", "/network/zones"));
        assert!(!overlaps(
            "/notebooks/instances/*/owner",
            "/notebooks/instances/2/instance_type"
        ));
        assert!(!overlaps("/repositories", "/waivers/0"));
    }

    /// An invalid item is cut and the items after it keep their own positions.
    #[test]
    fn positions_survive_a_cut_item() {
        let found = run(
            "version: 1\nname: research\nnotebooks:\n  instances:\n    - owner: alice\nwaivers:\n  - rule: 7\n    reason: needs docker for local mode\n  - rule: NO_SUCH_RULE\n    reason: needs docker for local mode\n",
        );
        assert_eq!(found, vec![("9:11".to_string(), "E0207")]);
    }

    /// A cut that a check depends on silences that check: `repositories.a` lost its `url`, so
    /// "repository `a` is not defined" would be false.
    #[test]
    fn a_cut_silences_the_checks_that_read_it() {
        let found = run(
            "version: 1\nname: research\nnotebooks:\n  instances:\n    - owner: alice\n      repositories: [a]\nrepositories:\n  a:\n    url: 5\n",
        );
        assert_eq!(found, vec![]);
    }

    /// Nothing valid at the root: no semantic findings, no panic.
    #[test]
    fn nothing_left() {
        assert_eq!(run("version: 1\nnotebooks: 3\n"), vec![]);
        assert_eq!(run("- a\n- b\n"), vec![]);
    }
}
