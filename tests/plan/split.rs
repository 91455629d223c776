//! A split stack (`stacks:`), in both layouts: `plan` is given the root (or base) template and
//! finds the shards beside it as `build` wrote them, compares stack by stack, and reports an
//! owner that changes stack (a new shard count) as remove + add with data loss.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::common::*;

const LAYOUTS: [&str; 2] = ["nested", "independent"];

/// `tests/plan/split/<name>.yaml` in `layout`, written into `dir`.
fn blueprint(dir: &Path, name: &str, layout: &str) -> PathBuf {
    let text =
        std::fs::read_to_string(root().join("tests/plan/split").join(format!("{name}.yaml")))
            .unwrap();
    let changed = text.replace("layout: nested", &format!("layout: {layout}"));
    assert!(changed.contains(&format!("layout: {layout}")));
    let path = dir.join(format!("{name}-{layout}.yaml"));
    std::fs::write(&path, changed).unwrap();
    path
}

/// Builds base.yaml in `layout` in a directory of the test's own; returns the directory and the
/// root template.
fn deployed(test: &str, layout: &str) -> (PathBuf, PathBuf) {
    let dir = fresh_dir(&format!("plan-split-{test}-{layout}"));
    let base = blueprint(&dir, "base", layout);
    let out = nbsynth(
        &dir,
        &["build", "-q", "-o", "deployed", base.to_str().unwrap()],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        dir.join("deployed/sharded/stacks/shard-01.template.yaml")
            .is_file()
    );
    let root = dir.join("deployed/sharded.template.yaml");
    (dir, root)
}

fn plan(dir: &Path, after: &Path, against: &Path) -> (Option<i32>, Value, String) {
    let out = nbsynth(
        dir,
        &[
            "plan",
            after.to_str().unwrap(),
            "--against",
            against.to_str().unwrap(),
            "--format",
            "json",
        ],
    );
    let stdout = text(&out.stdout);
    let v = serde_json::from_str(&stdout).unwrap_or(Value::Null);
    (out.status.code(), v, text(&out.stderr))
}

fn changes(p: &Value) -> &Vec<Value> {
    p["changes"].as_array().unwrap()
}

/// The stack name `plan` gives shard `label` in `layout`.
fn shard(layout: &str, label: &str) -> String {
    match layout {
        "nested" => format!("Shard{label}"),
        _ => format!("sharded-shard-{label}"),
    }
}

#[test]
fn nothing_changed_in_either_layout_is_exit_0() {
    for layout in LAYOUTS {
        let (dir, root) = deployed("unchanged", layout);
        let (code, p, err) = plan(&dir, &blueprint(&dir, "base", layout), &root);
        assert_eq!(code, Some(0), "{layout}: {p:#}{err}");
        assert!(changes(&p).is_empty(), "{layout}: {p:#}");
    }
}

#[test]
fn an_added_owner_changes_only_its_own_shard() {
    for layout in LAYOUTS {
        let (dir, root) = deployed("added", layout);
        let (code, p, err) = plan(&dir, &blueprint(&dir, "owner-added", layout), &root);
        assert_eq!(code, Some(3), "{layout}: {p:#}{err}");
        let ids: Vec<&str> = changes(&p)
            .iter()
            .map(|c| c["logical_id"].as_str().unwrap())
            .collect();
        assert_eq!(
            ids,
            ["ErinNotebook", "ErinPermissions", "ErinRole"],
            "{layout}"
        );
        for c in changes(&p) {
            assert_eq!(c["action"], "add", "{layout}: {c}");
            assert_eq!(c["data_loss"], false, "{layout}: {c}");
            assert_eq!(c["stack"], shard(layout, "01"), "{layout}: {c}");
        }
        // The other forms say the stack too.
        let after = blueprint(&dir, "owner-added", layout);
        let form = |format: &str| {
            let out = nbsynth(
                &dir,
                &[
                    "plan",
                    after.to_str().unwrap(),
                    "--against",
                    root.to_str().unwrap(),
                    "--format",
                    format,
                ],
            );
            text(&out.stdout)
        };
        let s = shard(layout, "01");
        let md = form("markdown");
        assert!(md.contains(&format!("| `ErinNotebook` | `{s}` |")), "{md}");
        let txt = form("text");
        assert!(
            txt.contains(&format!(
                "+ ErinNotebook (AWS::SageMaker::NotebookInstance) in {s} add"
            )),
            "{txt}"
        );
    }
}

#[test]
fn a_new_shard_count_moves_owners_remove_plus_add_with_data_loss() {
    for layout in LAYOUTS {
        let (dir, root) = deployed("moved", layout);
        let (code, p, err) = plan(&dir, &blueprint(&dir, "shards-changed", layout), &root);
        assert_eq!(code, Some(4), "{layout}: {p:#}{err}");
        // hash(owner) mod 2 -> mod 3: alice 01 -> 02, carol 00 -> 01, dave 01 -> 00; bob stays.
        for (owner, from, to) in [
            ("Alice", "01", "02"),
            ("Carol", "00", "01"),
            ("Dave", "01", "00"),
        ] {
            for kind in ["Notebook", "Role", "Permissions"] {
                let id = format!("{owner}{kind}");
                let rows: Vec<&Value> = changes(&p)
                    .iter()
                    .filter(|c| c["logical_id"] == id)
                    .collect();
                let got: Vec<(&str, &str)> = rows
                    .iter()
                    .map(|c| (c["action"].as_str().unwrap(), c["stack"].as_str().unwrap()))
                    .collect();
                let (from, to) = (shard(layout, from), shard(layout, to));
                let mut want = vec![("remove", from.as_str()), ("add", to.as_str())];
                want.sort_by_key(|w| w.1);
                assert_eq!(got, want, "{layout}: {id}");
                let moved = format!("moves from stack {from} to stack {to}");
                for c in &rows {
                    assert!(
                        c["reasons"][0].as_str().unwrap().starts_with(&moved),
                        "{layout}: {c}"
                    );
                    assert_eq!(c["data_loss"], kind == "Notebook", "{layout}: {c}");
                }
            }
        }
        assert!(
            !changes(&p)
                .iter()
                .any(|c| c["logical_id"].as_str().unwrap().starts_with("Bob")),
            "{layout}: bob stays in shard 00: {p:#}"
        );
        assert_eq!(p["summary"]["data_loss"], 6, "{layout}");
    }
}

#[test]
fn a_replaced_subnet_in_the_root_replaces_the_notebooks_in_the_shards() {
    for layout in LAYOUTS {
        let (dir, root) = deployed("cidr", layout);
        let (code, p, err) = plan(&dir, &blueprint(&dir, "cidr", layout), &root);
        assert_eq!(code, Some(4), "{layout}: {p:#}{err}");
        let notebooks: Vec<&Value> = changes(&p)
            .iter()
            .filter(|c| c["type"] == "AWS::SageMaker::NotebookInstance")
            .collect();
        assert_eq!(notebooks.len(), 4, "{layout}: {p:#}");
        for c in notebooks {
            assert_eq!(
                (c["action"].as_str(), c["data_loss"].as_bool()),
                (Some("replace"), Some(true)),
                "{layout}: {c}"
            );
            assert_ne!(c["stack"], "sharded", "{layout}: {c}");
        }
    }
}

#[test]
fn a_nested_root_without_its_children_is_refused_and_an_independent_base_alone_sees_no_shards() {
    // Control: the shards' templates are read, not assumed.
    for layout in LAYOUTS {
        let (dir, root) = deployed("alone", layout);
        let alone = dir.join("alone");
        std::fs::create_dir_all(&alone).unwrap();
        let copy = alone.join("sharded.template.yaml");
        std::fs::copy(&root, &copy).unwrap();
        let (code, p, err) = plan(&dir, &blueprint(&dir, "base", layout), &copy);
        if layout == "nested" {
            assert_eq!(code, Some(2), "{p:#}{err}");
            assert!(err.contains("shard-00.template.yaml"), "{err}");
        } else {
            // Every owner looks new (4 x 3 resources, and each shard's lifecycle copy): the base
            // holds none of them.
            assert_eq!(code, Some(3), "{p:#}{err}");
            assert_eq!(p["summary"]["add"], changes(&p).len());
            assert_eq!(p["summary"]["add"], 14, "{p:#}");
        }
    }
}
