//! The schema `nbsynth schema` prints is the contract editors and other tools see:
//! - it accepts every example blueprint, and rejects every corpus case that a JSON Schema can
//!   catch (checked by two validators: the `jsonschema` crate and, when the project's venv is
//!   there, Python's `jsonschema`, the reference implementation);
//! - every `default` it states is the default the Rust model applies.

mod common;

use std::path::Path;

use nbsynth::blueprint::model::Blueprint;
use nbsynth::source::{SourceFile, TagMode, yaml};
use serde_json::{Value, json};

use common::*;

fn printed_schema() -> Value {
    let out = nbsynth(&root(), &["schema"]);
    assert!(out.status.success());
    serde_json::from_slice(&out.stdout).expect("nbsynth schema prints JSON")
}

/// A YAML file as the JSON an editor's language server validates, or `None` if it does not parse.
fn as_json(path: &Path) -> Option<Value> {
    let text = std::fs::read_to_string(path).ok()?;
    yaml::load(&SourceFile::from_text(path, text), TagMode::Reject)
        .ok()
        .map(|d| d.value)
}

/// Python's jsonschema verdicts (true = valid) for each instance, or `None` without the venv.
/// `format` is asserted, as nbsynth does (draft 7 leaves that to the validator; Python's
/// default only annotates).
fn python_verdicts(schema: &Value, instances: &[Value]) -> Option<Vec<bool>> {
    let python = root().join(".venv/bin/python");
    if !python.exists() {
        eprintln!("note: no .venv; only the jsonschema crate validates");
        return None;
    }
    let dir = fresh_dir("schema-python");
    std::fs::write(dir.join("schema.json"), schema.to_string()).unwrap();
    std::fs::write(
        dir.join("instances.json"),
        Value::from(instances.to_vec()).to_string(),
    )
    .unwrap();
    let script = "import json, jsonschema\n\
        schema = json.load(open('schema.json'))\n\
        jsonschema.Draft7Validator.check_schema(schema)\n\
        v = jsonschema.Draft7Validator(schema, format_checker=jsonschema.Draft7Validator.FORMAT_CHECKER)\n\
        print(json.dumps([v.is_valid(i) for i in json.load(open('instances.json'))]))\n";
    let out = std::process::Command::new(python)
        .arg("-c")
        .arg(script)
        .current_dir(&dir)
        .output()
        .unwrap();
    assert!(out.status.success(), "python: {}", text(&out.stderr));
    Some(serde_json::from_slice(&out.stdout).unwrap())
}

#[test]
fn schema_accepts_examples_and_rejects_what_it_can_catch() {
    let schema = printed_schema();
    let validator = jsonschema::draft7::new(&schema).expect("the printed schema compiles");

    // (name, instance, should be valid)
    let mut cases: Vec<(String, Value, bool)> = Vec::new();
    let mut blueprints: Vec<_> = std::fs::read_dir(root().join("blueprints"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .collect();
    blueprints.sort();
    for p in blueprints
        .iter()
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
    {
        let v = as_json(p).unwrap_or_else(|| panic!("{} parses", p.display()));
        cases.push((p.display().to_string(), v, true));
    }
    let examples = cases.len();
    assert!(examples >= 4, "the example blueprints are found");

    let corpus = root().join("tests/invalid");
    let mut files: Vec<_> = std::fs::read_dir(&corpus)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .collect();
    files.sort();
    let (mut catchable, mut beyond) = (0, 0);
    for p in files.iter().filter(|p| {
        matches!(
            p.extension().and_then(|e| e.to_str()),
            Some("yaml" | "json")
        )
    }) {
        let Some(v) = as_json(p) else { continue }; // YAML errors: no instance to validate
        let snapshot = std::fs::read_to_string(p.with_extension("stderr")).unwrap();
        // Schema-stage codes are E0101..E0106, except a whole number written as 1.0, which JSON
        // Schema counts as an integer; semantic checks (E02xx) are beyond a schema.
        let by_schema = ["E0101", "E0102", "E0103", "E0104", "E0105", "E0106"]
            .iter()
            .any(|c| snapshot.contains(&format!("error[{c}]")))
            && !snapshot.contains("whole number without a decimal point");
        if by_schema {
            catchable += 1
        } else {
            beyond += 1
        }
        cases.push((p.display().to_string(), v, !by_schema));
    }
    assert!(catchable >= 80, "{catchable} corpus cases for the schema");

    let mut wrong = Vec::new();
    for (name, v, valid) in &cases {
        if validator.is_valid(v) != *valid {
            wrong.push(format!("jsonschema crate: {name}: expected valid={valid}"));
        }
    }
    let instances: Vec<Value> = cases.iter().map(|(_, v, _)| v.clone()).collect();
    if let Some(verdicts) = python_verdicts(&schema, &instances) {
        for ((name, _, valid), got) in cases.iter().zip(verdicts) {
            if got != *valid {
                wrong.push(format!("python jsonschema: {name}: expected valid={valid}"));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "{} examples, {catchable} schema cases, {beyond} semantic cases:\n{}",
        examples,
        wrong.join("\n")
    );
}

/// Every `default` in the schema, by instance path (`/network/cidr`, `/data/buckets/0/read`).
fn schema_defaults(node: &Value, pointer: String, out: &mut Vec<(String, Value)>) {
    if let Some(d) = node.get("default") {
        out.push((pointer.clone(), d.clone()));
    }
    if let Some(props) = node.get("properties").and_then(Value::as_object) {
        for (k, child) in props {
            schema_defaults(child, format!("{pointer}/{k}"), out);
        }
    }
    if let Some(items) = node.get("items").filter(|i| i.is_object()) {
        schema_defaults(items, format!("{pointer}/0"), out);
    }
}

#[test]
fn schema_defaults_are_the_model_defaults() {
    // Every optional section present but empty, one list item of each kind: the model fills in
    // its defaults everywhere a default exists.
    let sparse = json!({
        "version": 1, "name": "defaults",
        "network": { "existing": {
            "vpc": "vpc-0123456789abcdef0", "subnets": ["subnet-0123456789abcdef0"],
            "route_tables": ["rtb-0123456789abcdef0"], "s3_prefix_list": "pl-6da54004"
        } },
        "encryption": {}, "lifecycle": {}, "access": {}, "stacks": {},
        "jobs": { "output": "s3://acme-bucket/jobs/{owner}/" },
        "data": { "buckets": [{ "name": "acme-bucket" }] },
        "notebooks": { "defaults": {}, "instances": [{ "owner": "alice" }] },
        "studio": { "defaults": {}, "users": [{ "user": "carol" }] }
    });
    let bp: Blueprint = serde_json::from_value(sparse).unwrap();
    let mut model = serde_json::to_value(&bp).unwrap();
    // Lifecycle keys are optional in the model (owners override them); their defaults are
    // applied by `effective`.
    let e = bp.lifecycle.effective(None);
    model["lifecycle"] = json!({
        "disable_download": e.disable_download,
        "idle_shutdown": e.idle_shutdown,
        "ignore_connections": e.ignore_connections,
        "root_access": e.root_access,
        "env_file": e.env_file,
        "source": match e.source { nbsynth::blueprint::model::Source::Embed => "embed".to_string(), other => format!("{other:?}") },
    });

    let mut defaults = Vec::new();
    schema_defaults(&printed_schema(), String::new(), &mut defaults);
    assert!(defaults.len() >= 12, "{defaults:?}");
    let mut wrong = Vec::new();
    for (pointer, default) in &defaults {
        match model.pointer(pointer) {
            Some(v) if v == default => {}
            other => wrong.push(format!(
                "{pointer}: schema default {default}, model {other:?}"
            )),
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}
