//! Each directory under `tests/plan/` holds `after.yaml`, a change of `base.yaml`, and
//! `expected.json`, exactly what `nbsynth plan after.yaml --against <base's template>
//! --format json` prints. The template is built from `base.yaml` by the binary, then given to
//! `plan` twice: as `build` wrote it (YAML with short forms) and as the JSON that
//! `aws cloudformation get-template` returns for a JSON template; both must print the same.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::common::*;

/// (scenario, exit status, what must hold whatever the snapshot says).
type Check = fn(&Value);

fn change<'a>(plan: &'a Value, id: &str) -> &'a Value {
    plan["changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["logical_id"] == id)
        .unwrap_or_else(|| panic!("no change of {id}: {plan:#}"))
}

fn changes(plan: &Value) -> &Vec<Value> {
    plan["changes"].as_array().unwrap()
}

fn notebooks(plan: &Value) -> Vec<&Value> {
    changes(plan)
        .iter()
        .filter(|c| c["type"] == "AWS::SageMaker::NotebookInstance")
        .collect()
}

const SCENARIOS: &[(&str, u8, Check)] = &[
    ("unchanged", 0, |p| assert!(changes(p).is_empty())),
    ("owners-reordered", 0, |p| assert!(changes(p).is_empty())),
    ("owner-added", 3, |p| {
        // Adds; shared resources that list every owner (the key policy) are updated in place.
        for c in changes(p) {
            assert!(
                matches!(c["action"].as_str(), Some("add" | "modify")),
                "{c}"
            );
            assert_eq!(c["data_loss"], false, "{c}");
        }
        assert_eq!(change(p, "DoraNotebook")["action"], "add");
        assert_eq!(notebooks(p).len(), 1);
    }),
    ("owner-removed", 4, |p| {
        let nb = change(p, "BobNotebook");
        assert_eq!(nb["action"], "remove");
        assert_eq!(nb["data_loss"], true);
        assert_eq!(change(p, "BobRole")["action"], "remove");
    }),
    ("instance-type", 3, |p| {
        let nb = change(p, "AliceNotebook");
        assert_eq!(nb["action"], "modify");
        assert_eq!(nb["interruption"], true);
        assert_eq!(nb["properties"], serde_json::json!(["InstanceType"]));
        assert_eq!(notebooks(p).len(), 1);
        assert!(changes(p).iter().all(|c| c["data_loss"] == false));
    }),
    ("platform", 4, |p| {
        // Deployed by an earlier nbsynth on Amazon Linux 2 (see `earlier_platform`): moving to
        // AL2023 replaces the notebook.
        let nb = change(p, "AliceNotebook");
        assert_eq!(nb["action"], "replace");
        assert_eq!(nb["data_loss"], true);
        assert_eq!(notebooks(p).len(), 1);
    }),
    ("volume-grown", 3, |p| {
        let nb = change(p, "AliceNotebook");
        assert_eq!(
            (nb["action"].as_str(), nb["interruption"].as_bool()),
            (Some("modify"), Some(true))
        );
        assert!(p["summary"]["errors"].as_array().unwrap().is_empty());
    }),
    ("volume-shrunk", 2, |p| {
        assert_eq!(p["summary"]["errors"].as_array().unwrap().len(), 3);
        assert!(notebooks(p).iter().all(|c| c["action"] == "modify"));
    }),
    ("kms-key", 4, |p| {
        let nbs = notebooks(p);
        assert_eq!(nbs.len(), 3);
        assert!(
            nbs.iter()
                .all(|c| c["action"] == "replace" && c["data_loss"] == true)
        );
        // The created key is retained, not scheduled for deletion.
        let key = change(p, "NotebookKey");
        assert_eq!(
            (key["action"].as_str(), key["data_loss"].as_bool()),
            (Some("remove"), Some(false))
        );
    }),
    ("zones", 4, |p| {
        assert_eq!(change(p, "SubnetC")["action"], "add");
        assert!(
            notebooks(p)
                .iter()
                .any(|c| c["action"] == "replace" && c["data_loss"] == true)
        );
    }),
    ("cidr", 4, |p| {
        for id in ["Vpc", "SubnetA", "SubnetB", "NotebookSecurityGroup"] {
            assert_eq!(change(p, id)["action"], "replace", "{id}");
        }
        let nbs = notebooks(p);
        assert_eq!(nbs.len(), 3);
        assert!(
            nbs.iter()
                .all(|c| c["action"] == "replace" && c["data_loss"] == true)
        );
    }),
    ("lifecycle", 3, |p| {
        let nb = change(p, "AliceNotebook");
        assert_eq!(nb["action"], "modify");
        assert_eq!(nb["properties"], serde_json::json!(["LifecycleConfigName"]));
        assert!(changes(p).iter().any(|c| c["type"]
            == "AWS::SageMaker::NotebookInstanceLifecycleConfig"
            && c["action"] == "add"));
        assert_eq!(notebooks(p).len(), 1);
    }),
    ("tags", 3, |p| {
        assert!(
            changes(p)
                .iter()
                .all(|c| c["action"] == "modify" && c["data_loss"] == false)
        );
        assert!(notebooks(p).iter().all(|c| c["interruption"] == false));
        assert_eq!(notebooks(p).len(), 3);
    }),
];

fn corpus() -> PathBuf {
    root().join("tests/plan")
}

/// The deployed template of the `platform` scenario: base's, with Alice's notebook on Amazon
/// Linux 2 as an nbsynth before the retirement of AL2 wrote it (no blueprint can ask for that
/// platform any more, so the scenario starts from the template).
pub fn earlier_platform(template: &mut Value) {
    template["Resources"]["AliceNotebook"]["Properties"]["PlatformIdentifier"] =
        Value::String("notebook-al2-v3".into());
}

/// Writes `value` as `build` would (YAML) and as `get-template` returns it (JSON).
fn both_forms(dir: &Path, stem: &str, value: &Value) -> (PathBuf, PathBuf) {
    let yaml = dir.join(format!("{stem}.template.yaml"));
    std::fs::write(
        &yaml,
        nbsynth::cfn::emit::to_text(value, nbsynth::cfn::emit::Format::Yaml),
    )
    .unwrap();
    let json = dir.join(format!("{stem}.get-template.json"));
    std::fs::write(&json, serde_json::to_string_pretty(value).unwrap()).unwrap();
    (yaml, json)
}

/// Builds `base.yaml` and returns its template, as written and as JSON.
fn deployed(dir: &Path) -> (PathBuf, PathBuf) {
    let out = nbsynth(
        dir,
        &[
            "build",
            "-q",
            "-o",
            "deployed",
            corpus().join("base.yaml").to_str().unwrap(),
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let yaml = dir.join("deployed/planned.template.yaml");
    let file = nbsynth::source::SourceFile::read(&yaml).unwrap();
    let value = nbsynth::source::yaml::load(&file, nbsynth::source::TagMode::CloudFormation)
        .unwrap()
        .value;
    let json = dir.join("get-template.json");
    std::fs::write(&json, serde_json::to_string_pretty(&value).unwrap()).unwrap();
    (yaml, json)
}

#[test]
fn every_scenario_prints_its_exact_json_for_both_template_forms() {
    let dir = fresh_dir("plan-scenarios");
    let (yaml, json) = deployed(&dir);
    let mut earlier: Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    earlier_platform(&mut earlier);
    let (earlier_yaml, earlier_json) = both_forms(&dir, "earlier", &earlier);
    let update = std::env::var_os("UPDATE_PLAN_SNAPSHOTS").is_some();
    let mut listed: Vec<String> = std::fs::read_dir(corpus())
        .unwrap()
        .flatten()
        .filter(|e| e.path().join("after.yaml").is_file())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    listed.sort();
    let mut names: Vec<String> = SCENARIOS.iter().map(|s| s.0.to_string()).collect();
    names.sort();
    assert_eq!(
        listed, names,
        "every scenario directory has an entry in SCENARIOS"
    );
    let mut failures = Vec::new();
    for (name, exit, check) in SCENARIOS {
        let after = corpus().join(name).join("after.yaml");
        let run = |against: &Path| {
            let out = nbsynth(
                &dir,
                &[
                    "plan",
                    after.to_str().unwrap(),
                    "--against",
                    against.to_str().unwrap(),
                    "--format",
                    "json",
                ],
            );
            (out.status.code(), text(&out.stdout), text(&out.stderr))
        };
        let (yaml, json) = if *name == "platform" {
            (&earlier_yaml, &earlier_json)
        } else {
            (&yaml, &json)
        };
        let (code, stdout, stderr) = run(yaml);
        let (code_j, stdout_j, _) = run(json);
        assert_eq!(
            code,
            Some(i32::from(*exit)),
            "{name}: exit status\n{stdout}{stderr}"
        );
        assert_eq!(
            (code_j, &stdout_j),
            (code, &stdout),
            "{name}: the JSON template plans differently"
        );
        let plan: Value = serde_json::from_str(&stdout).unwrap();
        assert_eq!(plan["summary"]["exit"], *exit, "{name}");
        check(&plan);
        let expected_path = corpus().join(name).join("expected.json");
        if update {
            std::fs::write(&expected_path, &stdout).unwrap();
        } else if std::fs::read_to_string(&expected_path).ok().as_deref() != Some(stdout.as_str()) {
            failures.push(format!("{name}:\n{stdout}"));
        }
    }
    assert!(
        failures.is_empty(),
        "plan output differs from expected.json (UPDATE_PLAN_SNAPSHOTS=1 cargo test --test plan rewrites them):\n{}",
        failures.join("\n")
    );
}
