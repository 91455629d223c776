//! Split stacks (`stacks:`): stable assignment of owners to shards, quotas, and `check`
//! following a root template's nested stacks.

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use common::*;
use serde_json::Value;

/// A blueprint of `owners` with mixed overrides (decided by the name, not the position).
fn blueprint(owners: &[String], layout: &str, shards: u32) -> String {
    let mut s = format!(
        "version: 1\nname: big\nnetwork:\n  zones: 3\ndata:\n  buckets:\n    - name: big-data\n      read: [shared/]\n      write: [\"users/{{owner}}/\"]\nstacks:\n  layout: {layout}\n  shards: {shards}\nnotebooks:\n  instances:\n"
    );
    for o in owners {
        s.push_str(&format!("    - owner: {o}\n"));
        let h: u32 = o.bytes().map(u32::from).sum();
        if h.is_multiple_of(5) {
            s.push_str("      volume_gb: 100\n");
        }
        if h.is_multiple_of(7) {
            s.push_str("      lifecycle:\n        idle_shutdown: 240\n");
        }
    }
    s
}

fn names(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("u{i:04}")).collect()
}

/// Builds (JSON format) and returns every template by path relative to the output directory.
fn build(dir: &Path, blueprint: &str) -> BTreeMap<String, Value> {
    std::fs::write(dir.join("big.yaml"), blueprint).unwrap();
    let out = nbsynth(
        dir,
        &[
            "build", "-q", "big.yaml", "--out", "out", "--format", "json",
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let mut all = BTreeMap::new();
    let root = dir.join("out");
    for p in std::iter::once(root.join("big.template.json")).chain(
        std::fs::read_dir(root.join("big/stacks"))
            .unwrap()
            .map(|e| e.unwrap().path()),
    ) {
        let v: Value = serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap();
        all.insert(p.strip_prefix(&root).unwrap().display().to_string(), v);
    }
    all
}

/// Owner -> (template path, its resources), from the shards.
fn owners_of(all: &BTreeMap<String, Value>) -> BTreeMap<String, (String, BTreeMap<String, Value>)> {
    let mut out: BTreeMap<String, (String, BTreeMap<String, Value>)> = BTreeMap::new();
    for (path, t) in all.iter().filter(|(p, _)| p.contains("shard-")) {
        for (id, r) in t["Resources"].as_object().unwrap() {
            if let Some(owner) = r
                .pointer("/Properties/Tags")
                .and_then(Value::as_array)
                .and_then(|tags| {
                    tags.iter()
                        .find(|t| t["Key"] == "owner")
                        .and_then(|t| t["Value"].as_str())
                })
            {
                let e = out
                    .entry(owner.to_string())
                    .or_insert_with(|| (path.clone(), BTreeMap::new()));
                assert_eq!(&e.0, path, "{owner} is in two shards");
                e.1.insert(id.clone(), r.clone());
            }
        }
    }
    out
}

fn stability(layout: &str, n: usize, shards: u32) {
    let dir = fresh_dir(&format!("split-stability-{layout}"));
    let before_names = names(n);
    let before = build(&dir, &blueprint(&before_names, layout, shards));
    // Reordering the owners changes nothing at all.
    let mut reversed = before_names.clone();
    reversed.reverse();
    assert_eq!(
        before,
        build(&dir, &blueprint(&reversed, layout, shards)),
        "reordering owners changed the output"
    );

    let (added, removed) = ("newcomer".to_string(), before_names[n / 3].clone());
    let mut after_names = before_names.clone();
    after_names.insert(n / 2, added.clone());
    after_names.retain(|o| *o != removed);
    let after = build(&dir, &blueprint(&after_names, layout, shards));

    let (ob, oa) = (owners_of(&before), owners_of(&after));
    assert_eq!(ob.len(), n);
    assert!(oa.contains_key(&added) && !oa.contains_key(&removed));
    let touched = [ob[&removed].0.clone(), oa[&added].0.clone()];
    for (owner, (path, resources)) in &ob {
        if *owner == removed {
            continue;
        }
        let (path_after, resources_after) = &oa[owner];
        assert_eq!(path, path_after, "{owner} moved to another shard");
        assert_eq!(resources, resources_after, "{owner}'s resources changed");
    }
    for (path, t) in before.iter().filter(|(p, _)| p.contains("shard-")) {
        if touched.contains(path) {
            continue;
        }
        assert_eq!(
            Some(t),
            after.get(path),
            "{path} changed though neither owner is in it"
        );
    }
    for (path, t) in after.iter().filter(|(p, _)| p.contains("shard-")) {
        let mut params = t.get("Parameters").cloned();
        if !touched.contains(path) {
            assert_eq!(Some(t), before.get(path));
        } else if let Some(p) = params.take() {
            // A touched shard's parameters are the shared values its owners use: none renamed.
            for k in p.as_object().unwrap().keys() {
                assert!(!k.contains("u0"), "owner-dependent parameter {k}");
            }
        }
    }
    // The root: the same resources and exports, apart from the touched shards' nested stacks and
    // the S3 endpoint policy, which lists each owner's own prefix.
    let root = "big.template.json";
    let (rb, ra) = (&before[root]["Resources"], &after[root]["Resources"]);
    let touched_stacks: Vec<String> = touched
        .iter()
        .map(|p| {
            format!(
                "Shard{}",
                p.split("shard-").nth(1).unwrap().split('.').next().unwrap()
            )
        })
        .collect();
    for (id, r) in rb.as_object().unwrap() {
        if id == "S3GatewayEndpoint" || touched_stacks.contains(id) {
            continue;
        }
        assert_eq!(Some(r), ra.get(id), "root resource {id} changed");
    }
    assert_eq!(
        before[root]["Outputs"], after[root]["Outputs"],
        "the root's outputs/exports changed"
    );
}

#[test]
fn adding_removing_and_reordering_owners_moves_nobody_else_nested() {
    stability("nested", 160, 16);
}

#[test]
fn adding_removing_and_reordering_owners_moves_nobody_else_independent() {
    stability("independent", 300, 64);
}

#[test]
fn nested_templates_are_found_by_check_and_by_package_paths() {
    let dir = fresh_dir("split-check-follows");
    let all = build(&dir, &blueprint(&names(170), "nested", 8));
    let root = &all["big.template.json"];
    let mut urls = Vec::new();
    for r in root["Resources"].as_object().unwrap().values() {
        if r["Type"] == "AWS::CloudFormation::Stack" {
            let url = r["Properties"]["TemplateURL"].as_str().unwrap();
            assert!(dir.join("out").join(url).is_file(), "{url} does not exist");
            urls.push(url.to_string());
            for (k, v) in r["Properties"]["Parameters"].as_object().unwrap() {
                assert!(
                    v.get("Ref").is_some() || v.get("Fn::GetAtt").is_some(),
                    "{k}: {v}"
                );
            }
        }
    }
    assert_eq!(
        urls.len(),
        all.len() - 1,
        "one nested stack per shard template"
    );
    // The key policy names no role: the roles live in the shards.
    let key = root["Resources"]["NotebookKey"].to_string();
    assert!(!key.contains("Role"), "{key}");
    let out = nbsynth(&dir, &["check", "out/big.template.json"]);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", text(&out.stderr));
    assert!(
        stdout.contains(&format!("{} file(s)", all.len())),
        "{stdout}"
    );
    // And a review report with every template's counts.
    let md = std::fs::read_to_string(dir.join("out/big.review.md")).unwrap();
    assert!(
        md.contains("## Stacks (nested layout)") && md.contains("aws cloudformation package"),
        "{md}"
    );
}

#[test]
fn a_hierarchy_past_the_per_operation_cap_is_refused_with_the_count() {
    let dir = fresh_dir("split-per-operation");
    std::fs::write(dir.join("big.yaml"), blueprint(&names(900), "nested", 64)).unwrap();
    let out = nbsynth(&dir, &["build", "big.yaml", "--out", "out"]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("error[E0304]")
            && stderr.contains("in one operation; CloudFormation allows 2500"),
        "{stderr}"
    );
    assert!(stderr.contains("stacks.layout: independent"), "{stderr}");
    assert!(!dir.join("out").exists(), "nothing is written");
    // The same team fits as independent stacks.
    let out = nbsynth(&dir, &["build", "-q", "big.yaml", "--out", "out2"]);
    assert_eq!(out.status.code(), Some(2));
    std::fs::write(
        dir.join("big.yaml"),
        blueprint(&names(900), "independent", 64),
    )
    .unwrap();
    let out = nbsynth(&dir, &["build", "big.yaml", "--out", "out3"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("--stack-name big-shard-00 "),
        "{}",
        text(&out.stdout)
    );
}

#[test]
fn the_base_exports_the_same_values_whoever_the_owners_are() {
    // Otherwise removing the last owner who uses a value would remove an export a shard still
    // imports, and CloudFormation refuses the base's update (the export "deadly embrace").
    let dir = fresh_dir("split-exports");
    let exports = |owners: &[String]| -> Vec<String> {
        let all = build(&dir, &blueprint(owners, "independent", 64));
        let outputs = all["big.template.json"]["Outputs"]
            .as_object()
            .unwrap()
            .clone();
        outputs
            .into_iter()
            .filter_map(|(_, o)| {
                o.pointer("/Export/Name")
                    .and_then(Value::as_str)
                    .map(String::from)
            })
            .collect()
    };
    let one = exports(&names(1));
    assert!(one.contains(&"big-SubnetC".to_string()), "{one:?}");
    assert_eq!(one, exports(&names(120)));
}
