//! A newcomer's commands on the built binary: init, schema, explain, completions, man, and the
//! conventions every command keeps (quiet, verbose, no colour without a terminal, a closed pipe).

mod common;

use std::process::Stdio;

use common::*;

#[test]
fn init_writes_a_starter_that_builds() {
    let dir = fresh_dir("init-default");
    let out = nbsynth(&dir, &["init"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(
        listing(&dir),
        ["blueprint-v1.schema.json", "blueprint.yaml"]
    );
    let blueprint = std::fs::read_to_string(dir.join("blueprint.yaml")).unwrap();
    assert!(blueprint.starts_with("# yaml-language-server: $schema=./blueprint-v1.schema.json\n"));
    assert!(blueprint.contains("\nname: notebooks "), "{blueprint}");
    let schema = std::fs::read_to_string(dir.join("blueprint-v1.schema.json")).unwrap();
    assert_eq!(
        schema,
        std::fs::read_to_string(root().join("schemas/blueprint-v1.schema.json")).unwrap()
    );
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("wrote blueprint.yaml")
            && stdout.contains("next: nbsynth build blueprint.yaml"),
        "{stdout}"
    );

    let build = nbsynth(&dir, &["build", "blueprint.yaml", "--out", "out"]);
    assert_eq!(
        build.status.code(),
        Some(0),
        "the starter blueprint must build:\n{}",
        text(&build.stderr)
    );
    assert!(dir.join("out/notebooks.template.yaml").is_file());
}

#[test]
fn init_with_a_name_and_owners() {
    let dir = fresh_dir("init-named");
    let out = nbsynth(
        &dir,
        &[
            "init",
            "research",
            "--owner",
            "ana",
            "--owner",
            "ben",
            "--no-schema",
            "-q",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        out.stdout.is_empty() && out.stderr.is_empty(),
        "--quiet prints nothing"
    );
    assert_eq!(listing(&dir), ["research.yaml"]);
    let text_ = std::fs::read_to_string(dir.join("research.yaml")).unwrap();
    assert!(
        text_.contains("\nname: research ")
            && text_.contains("    - owner: ana\n    - owner: ben\n"),
        "{text_}"
    );
    assert!(text_.contains("`nbsynth build research.yaml`"));
    let check = nbsynth(&dir, &["build", "research.yaml", "--out", "out"]);
    assert_eq!(check.status.code(), Some(0), "{}", text(&check.stderr));

    let verbose = nbsynth(&dir, &["init", "other", "--verbose"]);
    assert!(
        text(&verbose.stdout).contains("completion and hover docs"),
        "{}",
        text(&verbose.stdout)
    );
}

#[test]
fn init_never_overwrites() {
    let dir = fresh_dir("init-exists");
    std::fs::write(dir.join("research.yaml"), "mine\n").unwrap();
    let out = nbsynth(&dir, &["init", "research"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    assert_no_panic(&stderr, "init over a file");
    assert_eq!(
        stderr,
        "error[E0006]: research.yaml already exists; nothing was written\n  = help: give another NAME, or remove the file first (init never overwrites)\n"
    );
    assert_eq!(
        std::fs::read_to_string(dir.join("research.yaml")).unwrap(),
        "mine\n"
    );
    assert_eq!(
        listing(&dir),
        ["research.yaml"],
        "not even the schema is written"
    );
}

#[test]
fn init_refuses_invalid_names_and_owners() {
    let dir = fresh_dir("init-invalid");
    for args in [
        &["init", "Research"][..],
        &["init", "ok-name", "--owner", "Bob"],
        &["init", "x", "--owner", "a"],
    ] {
        let out = nbsynth(&dir, args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let stderr = text(&out.stderr);
        assert!(stderr.starts_with("error[E0007]: "), "{args:?}: {stderr}");
        assert!(stderr.contains("= help: "), "{stderr}");
    }
    let dup = nbsynth(&dir, &["init", "team", "--owner", "ana", "--owner", "ana"]);
    assert!(text(&dup.stderr).contains("owner `ana` is given twice"));
    assert!(
        listing(&dir).is_empty(),
        "nothing written: {:?}",
        listing(&dir)
    );
}

#[test]
fn schema_prints_the_blueprint_schema() {
    let dir = fresh_dir("schema");
    let out = nbsynth(&dir, &["schema"]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        text(&out.stdout),
        std::fs::read_to_string(root().join("schemas/blueprint-v1.schema.json")).unwrap()
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["$schema"], "http://json-schema.org/draft-07/schema#");
}

#[test]
fn explain_keys_and_rules() {
    let dir = fresh_dir("explain");
    let out = nbsynth(&dir, &["explain", "lifecycle.idle_shutdown"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    for needle in [
        "lifecycle.idle_shutdown\n",
        "Minutes without",
        "integer, 0 to 10080",
        "default   60",
    ] {
        assert!(stdout.contains(needle), "{needle:?} in\n{stdout}");
    }
    let out = nbsynth(&dir, &["explain", "notebooks.defaults.platform"]);
    assert!(text(&out.stdout).contains("default   notebook-al2023-v1"));

    let typo = nbsynth(&dir, &["explain", "lifecycle.idle_shutdwon"]);
    assert_eq!(typo.status.code(), Some(2));
    assert!(
        text(&typo.stderr).contains("did you mean lifecycle.idle_shutdown?"),
        "{}",
        text(&typo.stderr)
    );

    let rule = nbsynth(&dir, &["explain", "notebook_root_access_disabled"]);
    assert_eq!(rule.status.code(), Some(0), "{}", text(&rule.stderr));
    assert!(text(&rule.stdout).contains("NOTEBOOK_ROOT_ACCESS_DISABLED"));
}

#[test]
fn completions_for_every_shell() {
    let dir = fresh_dir("completions");
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        let out = nbsynth(&dir, &["completions", shell]);
        assert_eq!(out.status.code(), Some(0), "{shell}: {}", text(&out.stderr));
        let script = text(&out.stdout);
        for word in ["nbsynth", "build", "init", "explain", "message-format"] {
            assert!(script.contains(word), "{shell} completions lack {word}");
        }
    }
    let bad = nbsynth(&dir, &["completions", "tcsh"]);
    assert_eq!(bad.status.code(), Some(2));
}

#[test]
fn man_pages() {
    let dir = fresh_dir("man");
    let out = nbsynth(&dir, &["man"]);
    assert_eq!(out.status.code(), Some(0));
    let page = text(&out.stdout);
    assert!(
        page.starts_with(".ie \\n(.g .ds Aq") || page.contains(".TH nbsynth 1"),
        "{}",
        &page[..200.min(page.len())]
    );
    assert!(
        page.contains("nbsynth\\-build(1)") || page.contains("build"),
        "subcommands listed"
    );

    let out = nbsynth(&dir, &["man", "--dir", ".", "-q"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(out.stdout.is_empty());
    let pages = listing(&dir);
    for p in [
        "nbsynth.1",
        "nbsynth-build.1",
        "nbsynth-init.1",
        "nbsynth-schema.1",
    ] {
        assert!(pages.contains(&p.to_string()), "{p} in {pages:?}");
    }
    let build = std::fs::read_to_string(dir.join("nbsynth-build.1")).unwrap();
    assert!(
        build.contains(".TH nbsynth-build 1") && build.contains("message\\-format"),
        "{build}"
    );
}

/// With colour off (NO_COLOR, or stderr not a terminal as here) no escape sequence is printed.
#[test]
fn no_colour_without_a_terminal() {
    let dir = fresh_dir("colour");
    std::fs::write(dir.join("bad.yaml"), "version: 2\n").unwrap();
    for nocolor in [true, false] {
        let mut cmd = command(&dir, &["build", "bad.yaml"]);
        if !nocolor {
            cmd.env_remove("NO_COLOR");
        }
        let out = cmd.output().unwrap();
        assert_eq!(out.status.code(), Some(2));
        assert!(
            !out.stderr.contains(&0x1b),
            "escape sequence in {:?}",
            text(&out.stderr)
        );
    }
    let help = nbsynth(&dir, &["--help"]);
    assert!(!help.stdout.contains(&0x1b));
}

/// `nbsynth ... | head -1`: the reader is gone before the output is written. Every command ends
/// quietly: no panic, no error message, exit 0 (or the command's own verdict).
#[test]
fn closed_pipe_is_quiet() {
    let dir = fresh_dir("pipe");
    std::fs::write(dir.join("bad.yaml"), "version: 2\n").unwrap();
    let cases: &[(&[&str], i32)] = &[
        (&["schema"], 0),
        (&["completions", "bash"], 0),
        (&["man"], 0),
        (&["explain", "network"], 0),
        (&["init", "piped"], 0),
        (&["rules"], 0),
        (&["--help"], 0),
        (&["build", "bad.yaml", "--message-format", "json"], 2),
    ];
    for (args, code) in cases {
        let mut child = command(&dir, args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // Close the read end before the command writes.
        drop(child.stdout.take());
        let out = child.wait_with_output().unwrap();
        let stderr = text(&out.stderr);
        assert_no_panic(&stderr, &format!("{args:?}"));
        assert!(!stderr.contains("Broken pipe"), "{args:?}: {stderr}");
        assert_eq!(out.status.code(), Some(*code), "{args:?}: {stderr}");
    }
}

#[test]
fn quiet_build_prints_only_problems() {
    let dir = fresh_dir("quiet");
    assert_eq!(nbsynth(&dir, &["init", "-q"]).status.code(), Some(0));
    let out = nbsynth(
        &dir,
        &["build", "blueprint.yaml", "--out", "out", "--quiet"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(out.stdout.is_empty(), "{}", text(&out.stdout));

    let out = nbsynth(
        &dir,
        &["build", "blueprint.yaml", "--out", "out", "--verbose"],
    );
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("  wrote out/notebooks.template.yaml\n")
            && stdout.contains("  wrote out/notebooks.review.md\n"),
        "{stdout}"
    );
}
