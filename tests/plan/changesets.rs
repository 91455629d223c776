//! `plan` against CloudFormation's own answer. `tests/plan/changesets/<scenario>.json` are
//! DescribeChangeSet responses for some scenarios, written by hand from the documented shapes
//! (each says so in its `Description`): no account is reachable to record real ones.
//! Where the change set is definite (`Add`, `Remove`, `Replacement: True|False`), `plan` must
//! say the same; where it says `Conditional`, `plan` must decide, and decide from the
//! resource the change set names as the cause.

use std::collections::BTreeSet;
use std::path::Path;

use serde_json::Value;

use nbsynth::cfn::emit::Format;
use nbsynth::pipeline::{Previous, compile_with};
use nbsynth::plan::{Action, Plan, compare};

use crate::common::root;

fn template(blueprint: &Path) -> Value {
    compile_with(blueprint, Path::new("o"), Format::Yaml, Previous::Ignore)
        .unwrap_or_else(|e| panic!("{}: {e:?}", blueprint.display()))
        .template
}

fn plan_of(scenario: &str) -> Plan {
    let dir = root().join("tests/plan");
    let mut deployed = template(&dir.join("base.yaml"));
    if scenario == "platform" {
        crate::scenarios::earlier_platform(&mut deployed);
    }
    compare(&deployed, &template(&dir.join(scenario).join("after.yaml")))
}

/// How many `Conditional` replacements `plan` settled, over all change sets.
fn check(scenario: &str) -> usize {
    let path = root().join(format!("tests/plan/changesets/{scenario}.json"));
    let cs: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert!(
        cs["Description"]
            .as_str()
            .unwrap()
            .starts_with("Hand-written"),
        "{scenario}: say where the change set comes from"
    );
    let plan = plan_of(scenario);
    let replaced: BTreeSet<&str> = plan
        .changes
        .iter()
        .filter(|c| c.action == Action::Replace)
        .map(|c| c.logical_id.as_str())
        .collect();
    let mut listed = BTreeSet::new();
    let mut settled = 0;
    for change in cs["Changes"].as_array().unwrap() {
        let rc = &change["ResourceChange"];
        let id = rc["LogicalResourceId"].as_str().unwrap();
        listed.insert(id);
        let ours = plan
            .changes
            .iter()
            .find(|c| c.logical_id == id)
            .unwrap_or_else(|| panic!("{scenario}: the change set changes {id}, plan does not"));
        assert_eq!(ours.resource_type, rc["ResourceType"], "{scenario}: {id}");
        let expected = match (rc["Action"].as_str().unwrap(), rc["Replacement"].as_str()) {
            ("Add", _) => Action::Add,
            ("Remove", _) => Action::Remove,
            ("Modify", Some("True")) => Action::Replace,
            ("Modify", Some("False")) => Action::Modify,
            ("Modify", Some("Conditional")) => {
                settled += 1;
                // Conditional = an Always detail evaluated dynamically: it replaces exactly when
                // the resource it refers to is replaced.
                let causes: Vec<&str> = rc["Details"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .filter(|d| {
                        d["Target"]["RequiresRecreation"] == "Always"
                            && d["Evaluation"] == "Dynamic"
                    })
                    .filter_map(|d| d["CausingEntity"].as_str())
                    .map(|e| e.split('.').next().unwrap())
                    .collect();
                assert!(
                    !causes.is_empty(),
                    "{scenario}: {id}: a Conditional without a cause"
                );
                if causes.iter().any(|c| replaced.contains(c)) {
                    Action::Replace
                } else {
                    Action::Modify
                }
            }
            other => panic!("{scenario}: {id}: unexpected {other:?}"),
        };
        assert_eq!(
            ours.action, expected,
            "{scenario}: {id}: {:?}",
            ours.reasons
        );
    }
    let planned: BTreeSet<&str> = plan.changes.iter().map(|c| c.logical_id.as_str()).collect();
    assert_eq!(
        planned, listed,
        "{scenario}: plan and the change set list different resources. If the compiler now emits other resources, the hand-written change set is stale: add what CloudFormation would report for them to tests/plan/changesets/{scenario}.json"
    );
    settled
}

#[test]
fn plan_agrees_with_the_definite_answers_and_settles_the_conditional_ones() {
    let scenarios = [
        "instance-type",
        "lifecycle",
        "owner-removed",
        "platform",
        "zones",
    ];
    let settled: usize = scenarios.iter().map(|s| check(s)).sum();
    // zones: BobNotebook and both route table associations are Conditional in the change set.
    assert_eq!(settled, 3);
}
