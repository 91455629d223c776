//! The committed outputs under `out/` are what the current code produces, byte for byte;
//! builds are deterministic and do not depend on the order of owners or keys.

use std::path::{Path, PathBuf};

use nbsynth::cfn::emit::Format;
use nbsynth::pipeline::{Compiled, compile};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn blueprints() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(root().join("blueprints"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        // The 1,000-owner scale blueprint's outputs (65 templates) are built by tests/split.rs
        // and tests/python/scale, not committed.
        .filter(|p| !p.ends_with("scale.yaml"))
        .collect();
    v.sort();
    assert!(v.len() >= 4, "expected the example blueprints");
    v
}

fn build(path: &Path, out: &Path) -> Compiled {
    compile(path, out, Format::Yaml)
        .unwrap_or_else(|e| panic!("{} does not build: {e:?}", path.display()))
}

#[test]
fn committed_outputs_are_up_to_date() {
    let out = root().join("out");
    let mut stale = Vec::new();
    let mut expected_files = Vec::new();
    for bp in blueprints() {
        let c = build(&bp, &out);
        for f in &c.files {
            expected_files.push(f.path.clone());
            if std::fs::read_to_string(&f.path).ok().as_deref() != Some(f.text.as_str()) {
                stale.push(f.path.display().to_string());
            }
        }
    }
    // Nothing else under out/ either (a script of a lifecycle config that no longer exists).
    let mut extra = Vec::new();
    let mut dirs = vec![out.clone()];
    while let Some(d) = dirs.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            // The scale blueprint's outputs, if `build blueprints/*.yaml` wrote them, are not
            // committed (.gitignore) and not goldens.
            if p.strip_prefix(&out).is_ok_and(|r| {
                let r = r.to_string_lossy();
                r == "scale" || r.starts_with("scale.")
            }) {
                continue;
            }
            if p.is_dir() {
                dirs.push(p);
            } else if !expected_files.contains(&p) {
                extra.push(p.display().to_string());
            }
        }
    }
    assert!(
        stale.is_empty() && extra.is_empty(),
        "out/ is stale; run `cargo run -- build blueprints/*.yaml`.\nchanged: {stale:#?}\nnot produced any more: {extra:#?}"
    );
}

#[test]
fn two_builds_are_byte_identical() {
    for bp in blueprints() {
        let a = build(&bp, Path::new("o"));
        let b = build(&bp, Path::new("o"));
        let texts = |c: &Compiled| {
            c.files
                .iter()
                .map(|f| (f.path.clone(), f.text.clone()))
                .collect::<Vec<_>>()
        };
        assert_eq!(texts(&a), texts(&b), "{}", bp.display());
    }
}

/// Reverses every list of owners and every mapping's key order: the outputs must not change.
#[test]
fn reordering_owners_and_keys_changes_nothing() {
    let dir = tempdir();
    for bp in blueprints() {
        let text = std::fs::read_to_string(&bp).unwrap();
        let value: serde_json::Value = {
            let file = nbsynth::source::SourceFile::from_text(&bp, text);
            nbsynth::source::yaml::load(&file, nbsynth::source::TagMode::Reject)
                .unwrap()
                .value
        };
        let reordered = reverse(&value);
        // JSON is YAML: write the reordered blueprint next to the original's scripts.
        let copy = dir.join(bp.file_name().unwrap()).with_extension("json");
        copy_scripts(&bp, &dir);
        std::fs::write(&copy, serde_json::to_string_pretty(&reordered).unwrap()).unwrap();
        let a = build(&bp, Path::new("o"));
        let b = build(&copy, Path::new("o"));
        for (fa, fb) in a.files.iter().zip(&b.files) {
            assert_eq!(fa.path, fb.path);
            assert!(
                fa.text == fb.text,
                "{}: {} differs after reordering",
                bp.display(),
                fa.path.display()
            );
        }
    }
}

fn reverse(v: &serde_json::Value) -> serde_json::Value {
    use serde_json::Value;
    match v {
        Value::Object(m) => {
            let mut out = serde_json::Map::new();
            for (k, x) in m.iter().rev() {
                out.insert(k.clone(), reverse(x));
            }
            Value::Object(out)
        }
        Value::Array(a) => {
            let items: Vec<Value> = a.iter().map(reverse).collect();
            // Only lists whose order has no meaning: owners. Other lists (prefixes, repositories
            // of a notebook: the first is the default) keep their order.
            if items
                .iter()
                .all(|i| i.get("owner").is_some() && i.get("reason").is_none())
            {
                Value::Array(items.into_iter().rev().collect())
            } else {
                Value::Array(items)
            }
        }
        other => other.clone(),
    }
}

fn copy_scripts(bp: &Path, dir: &Path) {
    let scripts = bp.parent().unwrap().join("scripts");
    if let Ok(entries) = std::fs::read_dir(&scripts) {
        std::fs::create_dir_all(dir.join("scripts")).unwrap();
        for e in entries {
            let p = e.unwrap().path();
            std::fs::copy(&p, dir.join("scripts").join(p.file_name().unwrap())).unwrap();
        }
    }
}

fn tempdir() -> PathBuf {
    let d = std::env::temp_dir().join(format!("nbsynth-golden-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// `nbsynth check` on every committed template agrees with the build: no unwaived finding, the
/// same waivers, exit 0.
#[test]
fn committed_templates_pass_nbsynth_check() {
    let mut checked = 0;
    for e in std::fs::read_dir(root().join("out")).unwrap() {
        let p = e.unwrap().path();
        if !p.to_string_lossy().ends_with(".template.yaml") {
            continue;
        }
        let o = std::process::Command::new(env!("CARGO_BIN_EXE_nbsynth"))
            .args(["check", "--format", "json"])
            .arg(&p)
            .output()
            .unwrap();
        assert_eq!(
            o.status.code(),
            Some(0),
            "{}: {}",
            p.display(),
            String::from_utf8_lossy(&o.stdout)
        );
        let report: serde_json::Value = serde_json::from_slice(&o.stdout).expect("JSON report");
        let text = report.to_string();
        // A template on an existing network may carry no waiver at all.
        let declares = std::fs::read_to_string(&p).unwrap().contains("waivers:");
        assert!(
            !declares || text.contains("waived"),
            "{}: the build's waivers are visible to check",
            p.display()
        );
        checked += 1;
    }
    assert!(checked >= 4);
}
