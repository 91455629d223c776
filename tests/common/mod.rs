//! Running the built binary as a user does: in a fresh directory, without a terminal, with
//! colours off and no inherited configuration.

#![allow(dead_code)] // each test file uses a different part

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

pub const BIN: &str = env!("CARGO_BIN_EXE_nbsynth");

/// The repository root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A fresh, empty directory under cargo's per-target temp dir, named after the test.
pub fn fresh_dir(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("nbsynth-tests")
        .join(name);
    if dir.exists() {
        std::fs::remove_dir_all(&dir).expect("remove the previous run's directory");
    }
    std::fs::create_dir_all(&dir).expect("create the test directory");
    dir
}

/// `nbsynth ARGS` in `dir`, stdin closed, NO_COLOR set, nothing else inherited that changes
/// output.
pub fn nbsynth(dir: &Path, args: &[&str]) -> Output {
    command(dir, args).output().expect("run nbsynth")
}

pub fn command(dir: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .env("NO_COLOR", "1")
        .env_remove("RUST_BACKTRACE")
        .env_remove("RUST_LIB_BACKTRACE")
        .env_remove("CLICOLOR_FORCE")
        .env("COLUMNS", "100");
    cmd
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Every file and directory under `dir`, relative, sorted: to prove a failed command wrote
/// nothing.
pub fn listing(dir: &Path) -> Vec<String> {
    fn walk(base: &Path, dir: &Path, out: &mut Vec<String>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for e in entries.flatten() {
            let p = e.path();
            out.push(p.strip_prefix(base).unwrap().display().to_string());
            if p.is_dir() {
                walk(base, &p, out);
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

/// Copies a directory tree (the corpus' helper scripts).
pub fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap().flatten() {
        let dest = to.join(e.file_name());
        if e.path().is_dir() {
            copy_tree(&e.path(), &dest);
        } else {
            std::fs::copy(e.path(), dest).unwrap();
        }
    }
}

/// Panic or crash traces that must never reach a user.
pub fn assert_no_panic(stderr: &str, context: &str) {
    for needle in [
        "panicked",
        "RUST_BACKTRACE",
        "stack overflow",
        "thread 'main'",
    ] {
        assert!(
            !stderr.contains(needle),
            "{context}: `{needle}` in stderr:\n{stderr}"
        );
    }
}
