//! The command as a user runs it: formats, the forms of `get-template` output, bad input, and
//! what `build` writes against data loss (Retain policies, the stack policy, the review's
//! "Changes since the last build").

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::common::*;

fn scenario(name: &str) -> String {
    root()
        .join("tests/plan")
        .join(name)
        .join("after.yaml")
        .display()
        .to_string()
}

/// A directory with `base.yaml` built into `deployed/`.
fn deployed(name: &str) -> (PathBuf, PathBuf) {
    let dir = fresh_dir(name);
    let base = root().join("tests/plan/base.yaml");
    let out = nbsynth(
        &dir,
        &["build", "-q", "-o", "deployed", base.to_str().unwrap()],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let template = dir.join("deployed/planned.template.yaml");
    (dir, template)
}

fn plan(dir: &Path, after: &str, against: &Path, format: &str) -> (Option<i32>, String, String) {
    let out = nbsynth(
        dir,
        &[
            "plan",
            after,
            "--against",
            against.to_str().unwrap(),
            "--format",
            format,
        ],
    );
    (out.status.code(), text(&out.stdout), text(&out.stderr))
}

#[test]
fn text_and_markdown_say_what_json_says() {
    let (dir, template) = deployed("plan-formats");
    // Deployed on Amazon Linux 2 by an earlier nbsynth (no blueprint can ask for it any more).
    let text_before = std::fs::read_to_string(&template).unwrap();
    let on_al2 = text_before.replace(
        "PlatformIdentifier: notebook-al2023-v1",
        "PlatformIdentifier: notebook-al2-v3",
    );
    assert_ne!(on_al2, text_before);
    std::fs::write(&template, on_al2).unwrap();
    let (code, out, _) = plan(&dir, &scenario("platform"), &template, "text");
    assert_eq!(code, Some(4));
    assert!(
        out.contains(
            "-/+ AliceNotebook (AWS::SageMaker::NotebookInstance) replace [DATA LOSS, interruption]"
        ),
        "{out}"
    );
    assert!(
        out.contains(
            "PlatformIdentifier: notebook-al2-v3 -> notebook-al2023-v1 (create-only: replaces)"
        ),
        "{out}"
    );
    assert!(
        out.contains("cfn-lint 1.58.0 provider schemas"),
        "the schema version is named: {out}"
    );
    let (code, md, _) = plan(&dir, &scenario("platform"), &template, "markdown");
    assert_eq!(code, Some(4));
    assert!(
        md.starts_with("## nbsynth plan: `planned` against `"),
        "{md}"
    );
    assert!(md.contains("**Data loss**"), "{md}");
    assert!(md.contains("| :warning: | `AliceNotebook` | AWS::SageMaker::NotebookInstance | replace | **yes** | yes |"), "{md}");
    std::fs::write(&template, &text_before).unwrap();
    let (code, md, _) = plan(&dir, &scenario("unchanged"), &template, "markdown");
    assert_eq!(code, Some(0));
    assert!(md.contains("No changes."), "{md}");
}

#[test]
fn every_form_of_get_template_output_plans_alike() {
    let (dir, template) = deployed("plan-get-template");
    let yaml = std::fs::read_to_string(&template).unwrap();
    // `--query TemplateBody` of a stack deployed from YAML: one JSON string.
    let query = dir.join("query.json");
    std::fs::write(
        &query,
        serde_json::to_string(&Value::String(yaml.clone())).unwrap(),
    )
    .unwrap();
    // The whole response.
    let whole = dir.join("response.json");
    let response =
        serde_json::json!({"TemplateBody": yaml, "StagesAvailable": ["Original", "Processed"]});
    std::fs::write(&whole, serde_json::to_string_pretty(&response).unwrap()).unwrap();
    let expected = plan(&dir, &scenario("instance-type"), &template, "json");
    assert_eq!(expected.0, Some(3));
    for form in [&query, &whole] {
        assert_eq!(
            plan(&dir, &scenario("instance-type"), form, "json"),
            expected,
            "{}",
            form.display()
        );
    }
}

#[test]
fn bad_input_exits_2_and_says_why() {
    let (dir, template) = deployed("plan-bad-input");
    let (code, out, err) = plan(
        &dir,
        &scenario("tags"),
        &root().join("tests/plan/base.yaml"),
        "json",
    );
    assert_eq!(code, Some(2));
    assert!(out.is_empty());
    assert!(
        err.contains("error[E0601]: this is not a CloudFormation template"),
        "{err}"
    );
    let (code, _, err) = plan(&dir, &scenario("tags"), &dir.join("missing.yaml"), "json");
    assert_eq!(code, Some(2));
    assert!(err.contains("E0001"), "{err}");
    std::fs::write(dir.join("bad.yaml"), "version: 1\nname: Bad Name\n").unwrap();
    let (code, _, _) = plan(&dir, "bad.yaml", &template, "json");
    assert_eq!(code, Some(2));
    // A smaller volume is refused before any deploy, with the plan still printed.
    let (code, out, err) = plan(&dir, &scenario("volume-shrunk"), &template, "text");
    assert_eq!(code, Some(2));
    assert!(out.contains("3 cannot be deployed"), "{out}");
    assert!(
        err.contains("error[E0602]: AliceNotebook: VolumeSizeInGB 20 -> 10"),
        "{err}"
    );
}

fn load(path: &Path) -> Value {
    let file = nbsynth::source::SourceFile::read(path).unwrap();
    nbsynth::source::yaml::load(&file, nbsynth::source::TagMode::CloudFormation)
        .unwrap()
        .value
}

#[test]
fn build_protects_every_data_holding_resource() {
    let out = root().join("out");
    let mut checked = 0;
    for e in std::fs::read_dir(&out).unwrap().flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        // The scale blueprint's split outputs are not committed goldens (see tests/split.rs).
        let Some(stack) = name
            .strip_suffix(".template.yaml")
            .filter(|s| *s != "scale")
        else {
            continue;
        };
        let t = load(&e.path());
        let policy: Value = serde_json::from_str(
            &std::fs::read_to_string(out.join(format!("{stack}.stack-policy.json"))).unwrap(),
        )
        .unwrap();
        let denied: Vec<&str> = policy["Statement"][1]["Resource"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                r.as_str()
                    .unwrap()
                    .strip_prefix("LogicalResourceId/")
                    .unwrap()
            })
            .collect();
        assert_eq!(policy["Statement"][1]["Effect"], "Deny");
        let mut holders = Vec::new();
        for (id, r) in t["Resources"].as_object().unwrap() {
            if nbsynth::plan::data::holder(r["Type"].as_str().unwrap()).is_some() {
                assert_eq!(r["DeletionPolicy"], "Retain", "{stack}: {id}");
                assert_eq!(r["UpdateReplacePolicy"], "Retain", "{stack}: {id}");
                holders.push(id.as_str());
            }
        }
        holders.sort();
        assert!(
            holders
                .iter()
                .any(|h| h.ends_with("Notebook") || h.ends_with("Domain")),
            "{stack}"
        );
        assert_eq!(
            denied, holders,
            "{stack}: the stack policy names exactly the data holders"
        );
        checked += 1;
    }
    assert!(checked >= 4);
}

#[test]
fn the_review_shows_changes_since_the_last_build_and_a_rebuild_keeps_it() {
    let (dir, _) = deployed("plan-review-section");
    let review = dir.join("deployed/planned.review.md");
    let first = std::fs::read_to_string(&review).unwrap();
    assert!(
        !first.contains("Changes since the last build"),
        "a first build has nothing to compare"
    );
    let changed = scenario("kms-key");
    let build = |what: &str| {
        let out = nbsynth(&dir, &["build", "-q", "-o", "deployed", what]);
        assert!(out.status.success(), "{}", text(&out.stderr));
        std::fs::read_to_string(&review).unwrap()
    };
    let second = build(&changed);
    let section = &second[second
        .find("\n## Changes since the last build\n")
        .expect("the section")..];
    assert!(
        section.contains(
            "| :warning: | `AliceNotebook` | AWS::SageMaker::NotebookInstance | replace | **yes** |"
        ),
        "{section}"
    );
    // Building the same blueprint again compares the template with itself: the report keeps
    // the section it had, so `build --check` stays clean.
    assert_eq!(build(&changed), second);
    let check = nbsynth(&dir, &["build", "--check", "-o", "deployed", &changed]);
    assert!(check.status.success(), "{}", text(&check.stdout));
}

/// Reverses the key order of every mapping (lists keep their order: it can mean something).
fn reverse_keys(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .rev()
                .map(|(k, x)| (k.clone(), reverse_keys(x)))
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(reverse_keys).collect()),
        other => other.clone(),
    }
}

#[test]
fn a_template_against_itself_plans_nothing_in_any_key_order() {
    for e in std::fs::read_dir(root().join("out")).unwrap().flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        // The scale blueprint's split outputs are not committed goldens (see tests/split.rs).
        if !name.ends_with(".template.yaml") || name.starts_with("scale.") {
            continue;
        }
        let t = load(&e.path());
        for other in [t.clone(), reverse_keys(&t)] {
            let plan = nbsynth::plan::compare(&t, &other);
            assert!(
                plan.changes.is_empty() && plan.errors.is_empty(),
                "{}: {plan:#?}",
                e.path().display()
            );
        }
        // Control: one changed create-only property is found in the same template.
        let mut changed = t.clone();
        let resources = changed["Resources"].as_object_mut().unwrap();
        if let Some(nb) = resources
            .values_mut()
            .find(|r| r["Type"] == "AWS::SageMaker::NotebookInstance")
        {
            nb["Properties"]["PlatformIdentifier"] = Value::String("notebook-al2-v1".into());
        } else {
            // A Studio-only stack: the domain's authentication mode is create-only.
            let domain = resources
                .values_mut()
                .find(|r| r["Type"] == "AWS::SageMaker::Domain")
                .unwrap();
            domain["Properties"]["AuthMode"] = Value::String("SSO".into());
        }
        assert_eq!(
            nbsynth::plan::compare(&t, &changed).verdict(),
            nbsynth::plan::Verdict::DataLoss
        );
    }
}
