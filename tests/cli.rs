//! The built binary as a user runs it: exit codes, messages, and nothing written on failure.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn nbsynth(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_nbsynth"))
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .output()
        .expect("the binary runs")
}

fn tempdir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("nbsynth-cli-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p)
            } else {
                out.push(p)
            }
        }
    }
    out.sort();
    out
}

const MINIMAL: &str = "version: 1\nname: demo\nnotebooks:\n  instances:\n    - owner: alice\n";

#[test]
fn build_writes_template_review_and_scripts() {
    let d = tempdir("ok");
    std::fs::write(d.join("demo.yaml"), MINIMAL).unwrap();
    let o = nbsynth(&d, &["build", "demo.yaml"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let files = files_under(&d.join("out"));
    let names: Vec<String> = files
        .iter()
        .map(|p| p.strip_prefix(&d).unwrap().display().to_string())
        .collect();
    assert!(
        names.contains(&"out/demo.template.yaml".to_string()),
        "{names:?}"
    );
    assert!(
        names.contains(&"out/demo.review.md".to_string()),
        "{names:?}"
    );
    assert!(
        names
            .iter()
            .any(|n| n.starts_with("out/demo/") && n.ends_with(".on-start.sh")),
        "{names:?}"
    );
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(
        stdout.contains("demo:") && stdout.contains("resources"),
        "{stdout}"
    );

    // --check on fresh output: clean; after a change: exit 1 naming the file, nothing written.
    assert_eq!(
        nbsynth(&d, &["build", "--check", "demo.yaml"])
            .status
            .code(),
        Some(0)
    );
    std::fs::write(d.join("out/demo.template.yaml"), "changed").unwrap();
    let o = nbsynth(&d, &["build", "--check", "demo.yaml"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stdout).contains("out/demo.template.yaml"));
    assert_eq!(
        std::fs::read_to_string(d.join("out/demo.template.yaml")).unwrap(),
        "changed"
    );

    // JSON format.
    let o = nbsynth(
        &d,
        &["build", "--format", "json", "--out", "j", "demo.yaml"],
    );
    assert!(o.status.success());
    let t: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(d.join("j/demo.template.json")).unwrap())
            .unwrap();
    assert!(t["Resources"]["AliceNotebook"].is_object());
}

#[test]
fn invalid_blueprint_exits_2_with_position_and_writes_nothing() {
    let d = tempdir("invalid");
    std::fs::write(
        d.join("bad.yaml"),
        "version: 1\nname: demo\nlifecycle:\n  idle_shutdwn: 30\nnotebooks:\n  instances:\n    - owner: alice\n",
    )
    .unwrap();
    let o = nbsynth(&d, &["build", "bad.yaml"]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("bad.yaml:4:3"), "{err}");
    assert!(err.contains("unknown key `idle_shutdwn`"), "{err}");
    assert!(err.contains("did you mean `idle_shutdown`?"), "{err}");
    assert!(!d.join("out").exists(), "nothing may be written");
}

#[test]
fn every_error_of_a_file_is_reported_at_once() {
    let d = tempdir("many");
    std::fs::write(
        d.join("bad.yaml"),
        "version: 2\nname: Demo\nnotebooks:\n  instances:\n    - owner: alice\n      volume_gb: 2\n",
    )
    .unwrap();
    let o = nbsynth(&d, &["build", "--message-format", "json", "bad.yaml"]);
    assert_eq!(o.status.code(), Some(2));
    let lines: Vec<serde_json::Value> = String::from_utf8_lossy(&o.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let at: Vec<(u64, u64)> = lines
        .iter()
        .map(|l| (l["line"].as_u64().unwrap(), l["column"].as_u64().unwrap()))
        .collect();
    assert_eq!(at, vec![(1, 10), (2, 7), (6, 18)], "{lines:#?}");
}

#[test]
fn unreadable_inputs_and_unwritable_outputs() {
    let d = tempdir("io");
    let o = nbsynth(&d, &["build", "missing.yaml"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("missing.yaml"));
    assert!(String::from_utf8_lossy(&o.stderr).contains("no such file"));

    std::fs::create_dir(d.join("adir")).unwrap();
    let o = nbsynth(&d, &["build", "adir"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("directory"));

    // An output directory that cannot be created (its parent is a file): exit 2, nothing left.
    std::fs::write(d.join("demo.yaml"), MINIMAL).unwrap();
    std::fs::write(d.join("blocker"), "").unwrap();
    let o = nbsynth(&d, &["build", "--out", "blocker/out", "demo.yaml"]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("cannot write") && err.contains("nothing was written"),
        "{err}"
    );
    let left: Vec<_> = files_under(&d)
        .into_iter()
        .filter(|p| p.to_string_lossy().contains(".tmp"))
        .collect();
    assert!(left.is_empty(), "temporary files left: {left:?}");
}

#[test]
fn a_script_too_large_for_its_hook_even_compressed_is_refused_naming_the_owner() {
    let d = tempdir("large");
    // Pseudo-random lines: gzip cannot shrink them below the limit.
    let mut x: u64 = 7;
    let big: String = (0..1500)
        .map(|_| {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            format!("echo {x:016x}{:016x}\n", x.rotate_left(23))
        })
        .collect();
    std::fs::write(d.join("big.sh"), format!("#!/bin/bash\n{big}")).unwrap();
    std::fs::write(
        d.join("demo.yaml"),
        "version: 1\nname: demo\nnotebooks:\n  instances:\n    - owner: alice\n    - owner: bob\n      lifecycle:\n        on_start: big.sh\n",
    )
    .unwrap();
    let o = nbsynth(&d, &["build", "demo.yaml"]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("owner `bob`") && err.contains("16384"),
        "{err}"
    );
    assert!(err.contains("demo.yaml:8:19"), "{err}");
    assert!(!d.join("out").exists());
}

#[test]
fn a_large_but_compressible_script_is_compressed_and_builds() {
    let d = tempdir("compressible");
    let big: String = (0..700)
        .map(|i| format!("echo 'line {i} of a long user script padding padding'\n"))
        .collect();
    std::fs::write(d.join("big.sh"), format!("#!/bin/bash\n{big}")).unwrap();
    std::fs::write(
        d.join("demo.yaml"),
        "version: 1\nname: demo\nlifecycle:\n  on_start: big.sh\nnotebooks:\n  instances:\n    - owner: alice\n",
    )
    .unwrap();
    let o = nbsynth(&d, &["build", "--format", "json", "demo.yaml"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let t: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(d.join("out/demo.template.json")).unwrap())
            .unwrap();
    let content = &t["Resources"]["LifecycleDefault"]["Properties"]["OnStart"][0]["Content"]["Fn::Base64"]
        ["Fn::Sub"];
    let text = content.as_str().expect("a Sub string");
    assert!(text.contains("gunzip"), "compressed form expected");
    assert!(
        text.contains("|${NotebookSecurityGroup.GroupId}|g"),
        "stack values stay outside the payload"
    );
    // The review copy is the readable script.
    let plain = std::fs::read_to_string(d.join("out/demo/demo-default.on-start.sh")).unwrap();
    assert!(plain.contains("line 699 of a long user script"));
}

#[test]
fn too_many_owners_is_refused_naming_the_limit() {
    let d = tempdir("limit");
    let owners: String = (0..200)
        .map(|i| format!("    - owner: user{i}\n"))
        .collect();
    std::fs::write(
        d.join("big.yaml"),
        format!("version: 1\nname: big\nnetwork:\n  cidr: 10.0.0.0/16\nnotebooks:\n  instances:\n{owners}"),
    )
    .unwrap();
    let o = nbsynth(&d, &["build", "big.yaml"]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("resources; CloudFormation allows 500"),
        "{err}"
    );
    assert!(!d.join("out").exists());
}

#[test]
fn a_waiver_that_matches_nothing_is_an_error() {
    let d = tempdir("unused-waiver");
    std::fs::write(
        d.join("demo.yaml"),
        "version: 1\nname: demo\nnotebooks:\n  instances:\n    - owner: alice\nwaivers:\n  - rule: NOTEBOOK_ROOT_ACCESS_DISABLED\n    owner: alice\n    reason: left over from an old experiment\n",
    )
    .unwrap();
    let o = nbsynth(&d, &["build", "demo.yaml"]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("the waiver of NOTEBOOK_ROOT_ACCESS_DISABLED matches nothing"),
        "{err}"
    );
    assert!(err.contains("demo.yaml:7:5"), "{err}");
    assert!(!d.join("out").exists());
}

#[test]
fn root_access_without_a_waiver_fails_the_review_and_writes_nothing() {
    let d = tempdir("root");
    std::fs::write(
        d.join("demo.yaml"),
        "version: 1\nname: demo\nlifecycle:\n  root_access: true\nnotebooks:\n  instances:\n    - owner: alice\n",
    )
    .unwrap();
    let o = nbsynth(&d, &["build", "demo.yaml"]);
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("NOTEBOOK_ROOT_ACCESS_DISABLED") && err.contains("AliceNotebook"),
        "{err}"
    );
    assert!(!d.join("out").exists());
}

#[test]
fn access_principals_pin_the_stack_to_their_account() {
    let d = tempdir("principals");
    let bp = |principals: &str| {
        format!(
            "version: 1\nname: demo\nnotebooks:\n  instances:\n    - owner: alice\n    - owner: bob\naccess:\n  source_cidrs: [203.0.113.0/24]\n  principals:\n{principals}"
        )
    };
    std::fs::write(
        d.join("one.yaml"),
        bp("    alice: arn:aws:iam::111122223333:role/alice\n    bob: arn:aws:iam::111122223333:user/bob\n"),
    )
    .unwrap();
    let o = nbsynth(&d, &["build", "--format", "json", "one.yaml"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let t: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(d.join("out/demo.template.json")).unwrap())
            .unwrap();
    assert_eq!(
        t["Rules"]["PrincipalsAccount"]["Assertions"][0]["Assert"],
        serde_json::json!({"Fn::Equals": [{"Ref": "AWS::AccountId"}, "111122223333"]})
    );
    assert_eq!(
        t["Resources"]["AliceAccess"]["Properties"]["Roles"],
        serde_json::json!(["alice"])
    );
    assert_eq!(
        t["Resources"]["BobAccess"]["Properties"]["Users"],
        serde_json::json!(["bob"])
    );

    std::fs::write(
        d.join("two.yaml"),
        bp("    alice: arn:aws:iam::111122223333:role/alice\n    bob: arn:aws:iam::444455556666:role/bob\n"),
    )
    .unwrap();
    let o = nbsynth(&d, &["build", "--out", "two", "two.yaml"]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("accounts 111122223333 and 444455556666"),
        "{err}"
    );
    assert!(!d.join("two").exists());
}
