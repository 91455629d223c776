//! The invalid-blueprint corpus: every file under `tests/invalid/` has exactly one defect (the
//! `mixed-*` cases several in different stages, all reported in one run). For
//! each, the built binary must exit 2, write nothing, never panic, and print exactly the
//! committed `<case>.stderr` (what a user sees). `UPDATE_SNAPSHOTS=1 cargo test` rewrites the
//! snapshots; review the diff as you would a change to the messages themselves.

mod common;

use std::path::{Path, PathBuf};

use common::*;

/// Cases whose input cannot be committed: made by the test in the case's directory.
const GENERATED: &[(&str, &str)] = &[
    ("file-missing", "missing.yaml"),
    ("file-directory", "directory.yaml"),
    ("file-huge", "huge.yaml"),
];

fn corpus_dir() -> PathBuf {
    root().join("tests/invalid")
}

/// Committed cases: `(case name, file name)`.
fn committed_cases() -> Vec<(String, String)> {
    let mut cases: Vec<(String, String)> = std::fs::read_dir(corpus_dir())
        .unwrap()
        .flatten()
        .filter(|e| e.path().is_file())
        .filter_map(|e| {
            let file = e.file_name().to_string_lossy().into_owned();
            let (stem, ext) = file.rsplit_once('.')?;
            matches!(ext, "yaml" | "yml" | "json").then(|| (stem.to_string(), file.clone()))
        })
        .collect();
    cases.sort();
    cases
}

fn generate(name: &str, dir: &Path, file: &str) {
    let path = dir.join(file);
    match name {
        "file-missing" => {}
        "file-directory" => std::fs::create_dir(&path).unwrap(),
        "file-huge" => {
            // About 50 MB of a valid blueprint padded with comments: refused by size, unread.
            let line = format!("# {}\n", "x".repeat(1022));
            let mut text = String::from(
                "version: 1\nname: research\nnotebooks:\n  instances:\n    - owner: alice\n",
            );
            text.push_str(&line.repeat(50 * 1024));
            std::fs::write(&path, text).unwrap();
        }
        other => panic!("unknown generated case {other}"),
    }
}

struct Result {
    case: String,
    problem: String,
}

fn run_case(case: &str, file: &str, committed: bool, update: bool) -> Option<Result> {
    let dir = fresh_dir(&format!("invalid/{case}"));
    copy_tree(&corpus_dir().join("scripts"), &dir.join("scripts"));
    if committed {
        std::fs::copy(corpus_dir().join(file), dir.join(file)).unwrap();
    } else {
        generate(case, &dir, file);
    }
    let before = listing(&dir);
    let fail = |problem: String| {
        Some(Result {
            case: case.to_string(),
            problem,
        })
    };

    let out = nbsynth(&dir, &["build", file, "--out", "out"]);
    let stderr = text(&out.stderr);
    assert_no_panic(&stderr, case);
    if out.status.code() != Some(2) {
        return fail(format!(
            "exit {:?}, expected 2\n{stderr}",
            out.status.code()
        ));
    }
    if !out.stdout.is_empty() {
        return fail(format!("unexpected stdout:\n{}", text(&out.stdout)));
    }
    if listing(&dir) != before {
        return fail(format!("files were written: {:?}", listing(&dir)));
    }

    // The same problems for tools: one JSON object per line, each with a code.
    let json = nbsynth(
        &dir,
        &["build", file, "--out", "out", "--message-format", "json"],
    );
    assert_no_panic(&text(&json.stderr), case);
    if json.status.code() != Some(2) {
        return fail(format!(
            "--message-format json: exit {:?}",
            json.status.code()
        ));
    }
    let lines = text(&json.stdout);
    if lines.lines().count() == 0 {
        return fail("--message-format json printed nothing".into());
    }
    for line in lines.lines() {
        let v: serde_json::Value = match serde_json::from_str(line) {
            Ok(v) => v,
            Err(e) => return fail(format!("--message-format json: not JSON ({e}): {line}")),
        };
        if !v["code"].as_str().is_some_and(|c| c.starts_with('E')) {
            return fail(format!("--message-format json: no code: {line}"));
        }
    }

    let snapshot = corpus_dir().join(format!("{case}.stderr"));
    if update {
        std::fs::write(&snapshot, &stderr).unwrap();
        return None;
    }
    match std::fs::read_to_string(&snapshot) {
        Ok(expected) if expected == stderr => None,
        Ok(expected) => fail(format!(
            "stderr differs from {}\n--- expected\n{expected}--- actual\n{stderr}",
            snapshot.display()
        )),
        Err(_) => fail(format!(
            "no snapshot {} (bless with UPDATE_SNAPSHOTS=1)\n{stderr}",
            snapshot.display()
        )),
    }
}

#[test]
fn invalid_blueprints() {
    let update = std::env::var_os("UPDATE_SNAPSHOTS").is_some();
    let committed = committed_cases();
    let mut names: Vec<String> = Vec::new();
    let mut failures = Vec::new();
    for (case, file) in &committed {
        names.push(case.clone());
        failures.extend(run_case(case, file, true, update));
    }
    for (case, file) in GENERATED {
        names.push(case.to_string());
        failures.extend(run_case(case, file, false, update));
    }
    assert!(
        names.len() >= 100,
        "the corpus has {} cases; it should have at least 100",
        names.len()
    );

    // Every snapshot belongs to a case, so a renamed case leaves nothing stale behind.
    for e in std::fs::read_dir(corpus_dir()).unwrap().flatten() {
        let file = e.file_name().to_string_lossy().into_owned();
        if let Some(stem) = file
            .strip_suffix(".stderr")
            .filter(|stem| !names.iter().any(|n| n == stem))
        {
            failures.push(Result {
                case: stem.into(),
                problem: format!("snapshot {file} has no case"),
            });
        }
    }
    if !failures.is_empty() {
        let report: Vec<String> = failures
            .iter()
            .map(|f| format!("== {}\n{}", f.case, f.problem))
            .collect();
        panic!(
            "{} of {} cases failed:\n{}",
            failures.len(),
            names.len(),
            report.join("\n")
        );
    }
}
