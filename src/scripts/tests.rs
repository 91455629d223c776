use std::io::{Read, Write};
use std::process::{Command, Stdio};

use super::*;

fn user_script(hook: &str) -> String {
    let mut s =
        format!("#!/bin/bash\n# {hook} script of the example blueprint\nset -euo pipefail\n");
    for i in 0..17 {
        s.push_str(&format!(
            "echo \"step {i}: preparing the environment for the team\"\n"
        ));
    }
    s
}

/// Every feature on, as in the largest example blueprint.
fn full() -> Settings {
    let facts = [
        ("VPC_ID", "${Vpc}"),
        ("SUBNET_IDS", "${SubnetA},${SubnetB}"),
        ("SECURITY_GROUP_IDS", "${NotebookSecurityGroup.GroupId}"),
        ("KMS_KEY_ARN", "${Key.Arn}"),
        ("REGION", "${AWS::Region}"),
        ("ACCOUNT_ID", "${AWS::AccountId}"),
        ("DATA_BUCKETS", "acme-ml-datasets,acme-ml-scratch"),
        ("ROLE_ARN", "${AliceRole.Arn}"),
    ];
    Settings {
        disable_download: true,
        idle_shutdown: 60,
        ignore_connections: false,
        root_access: false,
        pip_mirror: Some("https://pypi.internal.example.com/simple".into()),
        codeartifact: None,
        env_file: Some(EnvFacts {
            lines: facts
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        }),
        extra_on_create: Some(user_script("on_create")),
        extra_on_start: Some(user_script("on_start")),
    }
}

fn codeartifact() -> CodeArtifact {
    CodeArtifact {
        domain: "acme".into(),
        owner: "111122223333".into(),
        repository: "pypi-store".into(),
    }
}

/// Every feature on, with the CodeArtifact mirror instead of a URL.
fn full_codeartifact() -> Settings {
    Settings {
        pip_mirror: None,
        codeartifact: Some(codeartifact()),
        ..full()
    }
}

fn minimal() -> Settings {
    Settings {
        disable_download: false,
        idle_shutdown: 0,
        ignore_connections: false,
        root_access: true,
        pip_mirror: None,
        codeartifact: None,
        env_file: None,
        extra_on_create: None,
        extra_on_start: None,
    }
}

/// One settings value per feature switched on alone, plus all and none.
fn combinations() -> Vec<(&'static str, Settings)> {
    let none = minimal();
    let all = full();
    vec![
        ("minimal", none.clone()),
        ("full", all.clone()),
        (
            "full-ignore-connections",
            Settings {
                ignore_connections: true,
                ..all.clone()
            },
        ),
        (
            "download",
            Settings {
                disable_download: true,
                ..none.clone()
            },
        ),
        (
            "no-root",
            Settings {
                root_access: false,
                ..none.clone()
            },
        ),
        (
            "idle",
            Settings {
                idle_shutdown: 60,
                ..none.clone()
            },
        ),
        (
            "pip",
            Settings {
                pip_mirror: all.pip_mirror.clone(),
                ..none.clone()
            },
        ),
        (
            "codeartifact",
            Settings {
                codeartifact: Some(codeartifact()),
                ..none.clone()
            },
        ),
        ("full-codeartifact", full_codeartifact()),
        (
            "env",
            Settings {
                env_file: all.env_file.clone(),
                ..none.clone()
            },
        ),
        (
            "user",
            Settings {
                extra_on_start: all.extra_on_start.clone(),
                ..none
            },
        ),
    ]
}

fn shellcheck(name: &str, script: &str) {
    let mut child = Command::new("shellcheck")
        .args(["--shell=bash", "--severity=style", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| {
            panic!("shellcheck is required for this test (apt package shellcheck): {e}")
        });
    child
        .stdin
        .take()
        .unwrap()
        .write_all(script.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "shellcheck on {name}:\n{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

#[test]
fn every_rendered_script_is_shellcheck_clean() {
    for (name, settings) in combinations() {
        let r = render(&settings).unwrap();
        shellcheck(&format!("{name} on-start"), &r.on_start);
        if let Some(c) = &r.on_create {
            shellcheck(&format!("{name} on-create"), c);
        }
    }
    shellcheck(
        "s3 loader",
        &s3_loader("s3://acme-lcc/research/", "on-start.sh"),
    );
    shellcheck(
        "compressed",
        &compress(&render(&full()).unwrap().on_start, &[]),
    );
}

#[test]
fn scripts_are_strict_lf_and_deterministic() {
    for (name, settings) in combinations() {
        let r = render(&settings).unwrap();
        assert_eq!(r, render(&settings).unwrap(), "{name}");
        for s in [Some(&r.on_start), r.on_create.as_ref()]
            .into_iter()
            .flatten()
        {
            assert!(
                s.starts_with("#!/bin/bash\n") && s.contains("\nset -euo pipefail\n"),
                "{name}"
            );
            assert!(!s.contains('\r') && s.ends_with('\n'), "{name}");
        }
    }
}

#[test]
fn features_appear_only_when_asked() {
    let min = render(&minimal()).unwrap();
    assert!(min.on_create.is_none());
    for marker in [
        "sudoers",
        "idle.py",
        "pip.conf",
        ".nbsynth/env",
        "jupyter",
        "NBSYNTH_USER_EOF",
    ] {
        assert!(
            !min.on_start.contains(marker),
            "minimal script mentions {marker}"
        );
    }
    let full = render(&full()).unwrap();
    for marker in [
        "sudoers",
        "idle.py 60\n",
        "index-url = https://",
        "VPC_ID=${Vpc}\n",
        "NBSYNTH_USER_EOF",
    ] {
        assert!(full.on_start.contains(marker), "full script lacks {marker}");
    }
    assert!(!full.on_start.contains("idle.py 60 --ignore-connections"));
    assert!(
        full.on_create
            .unwrap()
            .contains("on_create script of the example")
    );
}

#[test]
fn the_codeartifact_mirror_installs_its_token_service_and_no_fixed_index() {
    let r = render(&full_codeartifact()).unwrap().on_start;
    for marker in [
        "ExecStart=/usr/bin/python3 -I /opt/nbsynth/codeartifact.py acme 111122223333 pypi-store\n",
        "OnUnitActiveSec=5min\n",
        "systemctl enable --now nbsynth-codeartifact.timer\n",
        "systemctl start nbsynth-codeartifact.service ||",
        "def credentials():",
        "channels: [] #!final",
    ] {
        assert!(r.contains(marker), "lacks {marker}");
    }
    assert!(
        !r.contains("index-url = https://"),
        "pip.conf is the token service's"
    );
    // The shared AWS code is rendered before each program that uses it.
    assert_eq!(r.matches("def call(").count(), 2);
    let alone = render(&Settings {
        codeartifact: Some(codeartifact()),
        ..minimal()
    })
    .unwrap()
    .on_start;
    assert_eq!(alone.matches("def call(").count(), 1);
    assert!(!alone.contains("idle.py"));
}

#[test]
fn unsafe_inputs_are_refused() {
    let bad_repository = Settings {
        codeartifact: Some(CodeArtifact {
            repository: "x --y\nz".into(),
            ..codeartifact()
        }),
        ..minimal()
    };
    assert!(render(&bad_repository).is_err());
    let bad_mirror = Settings {
        pip_mirror: Some("https://x/simple\nextra-index-url = y".into()),
        ..minimal()
    };
    assert!(render(&bad_mirror).is_err());
    let bad_key = Settings {
        env_file: Some(EnvFacts {
            lines: vec![("vpc id".into(), "x".into())],
        }),
        ..minimal()
    };
    assert!(render(&bad_key).is_err());
    let bad_value = Settings {
        env_file: Some(EnvFacts {
            lines: vec![("VPC".into(), "a\nEOF\nrm -rf /".into())],
        }),
        ..minimal()
    };
    assert!(render(&bad_value).is_err());
    let marker = Settings {
        extra_on_start: Some("echo\nNBSYNTH_USER_EOF\necho\n".into()),
        ..minimal()
    };
    assert!(render(&marker).is_err());
    let crlf = Settings {
        extra_on_start: Some("echo a\r\necho b".into()),
        ..minimal()
    };
    assert!(
        render(&crlf)
            .unwrap()
            .on_start
            .contains("echo a\necho b\nNBSYNTH_USER_EOF")
    );
}

#[test]
fn s3_loader_quotes_its_source() {
    let s = s3_loader("s3://b/it's/", "on-start.sh");
    assert!(s.contains(r"'s3://b/it'\''s/on-start.sh'"), "{s}");
    assert!(s3_loader("s3://b/p", "x.sh").contains("'s3://b/p/x.sh'"));
}

#[test]
fn base64_matches_the_standard() {
    assert_eq!(base64(b""), "");
    assert_eq!(base64(b"f"), "Zg==");
    assert_eq!(base64(b"fo"), "Zm8=");
    assert_eq!(base64(b"foobar"), "Zm9vYmFy");
    assert_eq!(base64_len(4), 8);
}

#[test]
fn compression_is_deterministic_and_round_trips() {
    let script = render(&full()).unwrap().on_start;
    let packed = compress(&script, &[]);
    assert_eq!(packed, compress(&script, &[]));
    let payload: String = packed
        .split("<<'EOF' | gunzip >\"$t\"\n")
        .nth(1)
        .and_then(|rest| rest.split("EOF\n").next())
        .unwrap()
        .lines()
        .collect();
    let out = Command::new("base64")
        .arg("-d")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn();
    let mut child = out.expect("base64 (coreutils) is required");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(payload.as_bytes())
        .unwrap();
    let gz = child.wait_with_output().unwrap().stdout;
    let mut unpacked = String::new();
    flate2::read::GzDecoder::new(&gz[..])
        .read_to_string(&mut unpacked)
        .unwrap();
    assert_eq!(unpacked, script);
}

/// Prints the sizes the issue asks for (`cargo test --lib scripts::tests::sizes -- --nocapture`)
/// and holds the line: every hook fits as deployed (compressed only when it must be).
#[test]
fn sizes() {
    for (name, settings) in [("full", full()), ("minimal", minimal())] {
        let r = render(&settings).unwrap();
        for (hook, s) in [
            ("on-start", Some(&r.on_start)),
            ("on-create", r.on_create.as_ref()),
        ] {
            if let Some(s) = s {
                let packed = compress(s, &[]);
                println!(
                    "{name} {hook}: {} bytes, {} base64; compressed {} bytes, {} base64",
                    s.len(),
                    base64_len(s.len()),
                    packed.len(),
                    base64_len(packed.len())
                );
                // As deployed: plain when it fits, else compressed (lower::lifecycle decides).
                assert!(
                    base64_len(s.len()).min(base64_len(packed.len())) <= MAX_BASE64,
                    "{name} {hook} does not fit even compressed"
                );
            }
        }
    }
    // With every feature and the CodeArtifact mirror the hook is compressed, and fits.
    let s = render(&full_codeartifact()).unwrap().on_start;
    let packed = compress(&s, &[]);
    println!(
        "full-codeartifact on-start: {} bytes, {} base64; compressed {} bytes, {} base64",
        s.len(),
        base64_len(s.len()),
        packed.len(),
        base64_len(packed.len())
    );
    assert!(base64_len(packed.len()) <= MAX_BASE64);
}

#[test]
fn the_compressed_form_runs_the_script_or_nothing() {
    let run = |script: &str| {
        Command::new("bash")
            .arg("-c")
            .arg(script)
            .env("NBSYNTH_ROOT", "/sandbox")
            .output()
            .expect("bash is required")
    };
    let packed = compress(
        "#!/bin/bash\necho \"ran in ${NBSYNTH_ROOT:-}\"\nexit 3\n",
        &[],
    );
    let out = run(&packed);
    assert_eq!(out.status.code(), Some(3));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "ran in /sandbox\n");
    // A damaged payload fails before anything of it runs.
    let damaged = packed.replacen("H4sI", "H4sX", 1);
    let out = run(&damaged);
    assert!(!out.status.success());
    assert!(out.stdout.is_empty());
}

/// `compact_shell` drops comment lines of the on-start template; none may sit inside a heredoc,
/// where it would be content.
#[test]
fn no_heredoc_of_the_on_start_template_holds_a_comment_line() {
    let source = include_str!("../../assets/lifecycle/on_start.sh");
    let mut end: Option<String> = None;
    for line in source.lines() {
        match &end {
            // `{{ text }}MARKER`, `{% endfor %}MARKER`: the inserted text ends with a newline.
            Some(marker) if line == marker || line.ends_with(&format!("}}{marker}")) => end = None,
            Some(_) => {
                let t = line.trim_start();
                assert!(
                    t != "#" && !t.starts_with("# "),
                    "comment in a heredoc: {line}"
                );
            }
            None => {
                if let Some(i) = line.find("<<") {
                    let word = line[i + 2..].trim_start_matches('-').trim_start();
                    let word: String = word
                        .trim_start_matches('\'')
                        .chars()
                        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                        .collect();
                    if !word.is_empty() {
                        end = Some(word);
                    }
                }
            }
        }
    }
    assert!(end.is_none(), "unterminated heredoc");
}
