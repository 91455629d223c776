//! Every rule's fixtures, waivers, and the verdicts on the corpus base template.

use serde_json::{Value, json};

use super::*;
use crate::source::{SourceFile, TagMode, yaml};

fn load(name: &str, text: &str) -> Value {
    let file = SourceFile::from_text(name, text);
    match yaml::load(&file, TagMode::CloudFormation) {
        Ok(doc) => doc.value,
        Err(d) => panic!(
            "{name}: {}",
            d.iter()
                .map(|d| d.message.clone())
                .collect::<Vec<_>>()
                .join("; ")
        ),
    }
}

/// A rule's outcome on one input, in cfn-guard's test vocabulary.
fn outcome(rule: &str, input: &Value) -> &'static str {
    let review = review(
        input,
        &Options {
            select: vec![rule.into()],
            ignore: vec![],
        },
    )
    .unwrap_or_else(|e| panic!("{rule}: {e}"));
    let r = &review.results[0];
    if review.findings.iter().any(|f| f.waived.is_none()) {
        "FAIL"
    } else if r.verdicts.iter().all(|(_, v)| *v == Verdict::NotApplicable) {
        "SKIP"
    } else {
        "PASS"
    }
}

#[test]
fn every_rule_has_pass_and_fail_fixtures_and_all_agree() {
    let mut problems = Vec::new();
    for rule in rules() {
        let path = rule.path("-tests.yaml");
        let cases = load(&path, rule.fixtures);
        let cases = cases
            .as_array()
            .unwrap_or_else(|| panic!("{path}: expected a list of cases"));
        let mut kinds = std::collections::BTreeSet::new();
        for case in cases {
            let name = case["name"].as_str().unwrap_or("?");
            let expected = case["expectations"]["rules"][rule.id]
                .as_str()
                .unwrap_or_else(|| {
                    panic!("{path}: case `{name}` has no expectation for {}", rule.id)
                });
            kinds.insert(expected);
            let got = outcome(rule.id, &case["input"]);
            if got != expected {
                problems.push(format!(
                    "{path}: case `{name}`: expected {expected}, got {got}"
                ));
            }
        }
        for needed in ["PASS", "FAIL"] {
            if !kinds.contains(needed) {
                problems.push(format!("{path}: no {needed} case"));
            }
        }
    }
    assert!(
        problems.is_empty(),
        "{} fixture problem(s):\n{}",
        problems.len(),
        problems.join("\n")
    );
}

fn base() -> Value {
    load(
        "_base.yaml",
        include_str!("../../tests/policy/corpus/_base.yaml"),
    )
}

#[test]
fn the_corpus_base_passes_every_rule() {
    let review = review(&base(), &Options::default()).unwrap();
    let found: Vec<String> = review
        .findings
        .iter()
        .map(|f| format!("{} {:?} {} {}", f.rule, f.resource, f.pointer, f.message))
        .collect();
    assert!(found.is_empty(), "{found:#?}");
    assert!(review.notices.is_empty(), "{:?}", review.notices);
    assert_eq!(review.results.len(), rules().len());
}

#[test]
fn resource_waivers_cover_their_resource_and_report_their_reason() {
    let mut t = base();
    t["Resources"]["Notebook"]["Properties"]["RootAccess"] = json!("Enabled");
    t["Resources"]["Notebook"]["Metadata"] = json!({"nbsynth": {"waivers": [{"rule": "NOTEBOOK_ROOT_ACCESS_DISABLED", "reason": "needs docker"}]}});
    t["Resources"]["NotebookRole"]["Metadata"] = json!({"nbsynth": {"waivers": [{"rule": "NOTEBOOK_ROOT_ACCESS_DISABLED", "reason": "needs docker"}]}});
    let r = review(&t, &Options::default()).unwrap();
    assert!(!r.failed());
    assert_eq!(r.waived_count(), 1);
    assert_eq!(r.findings[0].waived.as_deref(), Some("needs docker"));
    // One waiver declared on two resources (as the build does for an owner): used once, not unused.
    assert_eq!(r.waivers.len(), 1);
    assert!(r.unused_waivers().is_empty());
    let md = render_markdown(&r, "t");
    assert!(
        md.contains(
            "| NOTEBOOK_ROOT_ACCESS_DISABLED | Notebook, NotebookRole | Notebook | needs docker |"
        ),
        "{md}"
    );
    assert!(md.contains("| Notebook | waived |"));
}

#[test]
fn template_waivers_may_name_resources_and_unused_ones_are_reported() {
    let mut t = base();
    t["Resources"]["Notebook"]["Properties"]["RootAccess"] = json!("Enabled");
    t["Metadata"] = json!({"nbsynth": {"waivers": [
        {"rule": "NOTEBOOK_ROOT_ACCESS_DISABLED", "reason": "lab", "resources": ["NotebookRole"]},
        {"rule": "NOTEBOOK_IMDSV2", "reason": "nothing to waive"}
    ]}});
    let r = review(&t, &Options::default()).unwrap();
    assert!(r.failed(), "the waiver names another resource");
    let unused: Vec<&str> = r.unused_waivers().iter().map(|w| w.rule.as_str()).collect();
    assert_eq!(unused, ["NOTEBOOK_ROOT_ACCESS_DISABLED", "NOTEBOOK_IMDSV2"]);
    t["Metadata"]["nbsynth"]["waivers"][0]["resources"] = json!(["Notebook"]);
    let r = review(&t, &Options::default()).unwrap();
    assert!(!r.failed());
    // A waiver of a rule that did not run is not unused.
    let r = review(
        &t,
        &Options {
            select: vec!["NOTEBOOK_ROOT_ACCESS_DISABLED".into()],
            ignore: vec![],
        },
    )
    .unwrap();
    assert!(r.unused_waivers().is_empty());
}

#[test]
fn malformed_waivers_are_errors() {
    for bad in [
        json!([{"rule": "NOTEBOOK_ROOT_ACCESS_DISABLED"}]),
        json!([{"rule": "NOTEBOOK_ROOT_ACCES_DISABLED", "reason": "x"}]),
        json!([{"rule": "NOTEBOOK_IMDSV2", "reason": "x", "owner": "alice"}]),
        json!({"rule": "NOTEBOOK_IMDSV2"}),
    ] {
        let mut t = base();
        t["Metadata"] = json!({"nbsynth": {"waivers": bad}});
        assert!(review(&t, &Options::default()).is_err(), "{bad}");
    }
    let mut t = base();
    t["Metadata"] =
        json!({"nbsynth": {"waivers": [{"rule": "NOTEBOOK_ROOT_ACCES_DISABLED", "reason": "x"}]}});
    let e = review(&t, &Options::default()).unwrap_err();
    assert!(
        e.0.contains("did you mean NOTEBOOK_ROOT_ACCESS_DISABLED"),
        "{e}"
    );
}

#[test]
fn selection_by_id() {
    let t = base();
    let r = review(
        &t,
        &Options {
            select: vec![],
            ignore: vec!["NOTEBOOK_IMDSV2".into()],
        },
    )
    .unwrap();
    assert_eq!(r.results.len(), rules().len() - 1);
    assert!(
        review(
            &t,
            &Options {
                select: vec!["NOPE".into()],
                ignore: vec![]
            }
        )
        .is_err()
    );
}

#[test]
fn not_a_template_is_an_error_not_a_panic() {
    for v in [
        json!(null),
        json!([1]),
        json!({"Resources": 3}),
        json!({"Resources": {"A": 1}}),
    ] {
        assert!(review(&v, &Options::default()).is_err(), "{v}");
    }
}

#[test]
fn markdown_is_deterministic() {
    let t = base();
    let a = render_markdown(&review(&t, &Options::default()).unwrap(), "base");
    let b = render_markdown(&review(&t, &Options::default()).unwrap(), "base");
    assert_eq!(a, b);
    assert!(a.starts_with("# Review of base\n\n**PASS**"));
}
