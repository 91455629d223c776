//! No input makes the compiler panic. Two parts:
//! - every file under `tests/fuzz/` (crashes the fuzzer found, kept as regressions) goes
//!   through the whole pipeline without a panic;
//! - a bounded, deterministic mutation run over the example blueprints (the cargo-fuzz target
//!   in `fuzz/` does the same, unbounded and coverage-guided). `NBSYNTH_FUZZ_CASES=N` runs
//!   longer.

mod common;

use nbsynth::blueprint;
use nbsynth::cfn::{self, emit::Format};
use nbsynth::source::{SourceFile, TagMode, yaml};

use common::root;

/// The same stages as `fuzz/fuzz_targets/compile.rs`: load, validate, lower, check references,
/// emit, and read the emitted YAML back.
fn compile(text: &str) {
    let file = SourceFile::from_text("/nonexistent-nbsynth-fuzz/blueprint.yaml", text);
    let rule_ids = nbsynth::policy::rule_ids();
    let loaded = match blueprint::load_source(file, &rule_ids) {
        Ok(loaded) => loaded,
        Err(invalid) => {
            // What the user sees must render too: spans inside the text, JSON for tools.
            let mut out = codespan_reporting::term::termcolor::NoColor::new(Vec::new());
            nbsynth::source::diagnostic::render(
                &mut out,
                invalid.file.as_ref(),
                &invalid.diagnostics,
            )
            .expect("diagnostics render");
            for d in &invalid.diagnostics {
                let _ = nbsynth::source::diagnostic::to_json(invalid.file.as_ref(), d);
            }
            return;
        }
    };
    let Ok(lowered) = nbsynth::lower::lower(&loaded, Default::default()) else {
        return;
    };
    let json = lowered.template.to_json();
    let dangling = cfn::refs::check(&json);
    assert!(dangling.is_empty(), "dangling references: {dangling:?}");
    let text = cfn::emit::to_text(&json, Format::Yaml);
    let back = yaml::load(
        &SourceFile::from_text("template.yaml", text.as_str()),
        TagMode::CloudFormation,
    )
    .unwrap_or_else(|e| panic!("emitted YAML does not parse: {e:?}"));
    assert_eq!(back.value, json, "emitted YAML reads back differently");
    let _ = cfn::emit::to_text(&json, Format::Json);
}

#[test]
fn fuzz_regressions() {
    let mut n = 0;
    for e in std::fs::read_dir(root().join("tests/fuzz"))
        .unwrap()
        .flatten()
    {
        let bytes = std::fs::read(e.path()).unwrap();
        if let Ok(text) = std::str::from_utf8(&bytes) {
            let result = std::panic::catch_unwind(|| compile(text));
            assert!(result.is_ok(), "{} panics", e.path().display());
            n += 1;
        }
    }
    assert!(n > 0);
}

/// xorshift64*: small, deterministic, no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// Tokens that keep mutants close to the format, so they get past the parser.
const TOKENS: &[&str] = &[
    "version: 1",
    "name: ",
    "- owner: ",
    "lifecycle:",
    "idle_shutdown: ",
    "root_access: true",
    "network:",
    "cidr: ",
    "10.0.0.0/16",
    "zones: ",
    "existing:",
    "vpc: vpc-0123456789abcdef0",
    "endpoints: ",
    "auto",
    "[sts, logs]",
    "data:",
    "buckets:",
    "- name: ",
    "read: ",
    "write: ",
    "\"{owner}/\"",
    "{owner}",
    "repositories:",
    "url: ",
    "https://git-codecommit.us-east-1.amazonaws.com/v1/repos/x",
    "access:",
    "source_cidrs: ",
    "principals:",
    "via_vpc_endpoint: true",
    "waivers:",
    "- rule: NOTEBOOK_ROOT_ACCESS_DISABLED",
    "reason: because of reasons",
    "source: s3://bucket-x/p/",
    "pip_mirror: https://x.codeartifact.y/simple",
    "pip_mirror: {codeartifact: {domain: acme, owner: \"111122223333\", repository: pypi}}",
    "codeartifact:",
    "owner: \"111122223333\"",
    "volume_gb: ",
    "platform: notebook-al2023-v1",
    "&a ",
    "*a",
    "!Ref ",
    "---",
    "\t",
    "\n",
    "  ",
    ": ",
    "- ",
    "\"",
    "'",
    "[",
    "]",
    "{",
    "}",
    ",",
    "#",
    "0",
    "-1",
    "16384",
    "1.0",
    "null",
    "~",
    "",
    "\u{feff}",
    "é",
    "\r\n",
];

fn mutate(rng: &mut Rng, text: &str) -> String {
    let mut s = text.to_string();
    for _ in 0..1 + rng.below(4) {
        let len = s.len();
        let at = |rng: &mut Rng, s: &str| {
            let mut i = rng.below(s.len() + 1);
            while !s.is_char_boundary(i) {
                i -= 1;
            }
            i
        };
        match rng.below(6) {
            0 => {
                let i = at(rng, &s);
                s.insert_str(i, TOKENS[rng.below(TOKENS.len())]);
            }
            1 if len > 0 => {
                let i = at(rng, &s);
                let j = at(rng, &s[i..]) + i;
                let j = (i + (j - i).min(12)).min(s.len());
                let j = (j..=s.len())
                    .find(|&k| s.is_char_boundary(k))
                    .unwrap_or(s.len());
                s.replace_range(i..j, "");
            }
            2 => {
                // Duplicate or move a line: repeated keys, owners, list items.
                let lines: Vec<&str> = s.lines().collect();
                if !lines.is_empty() {
                    let a = rng.below(lines.len());
                    let b = rng.below(lines.len());
                    let mut v: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
                    let line = v[a].clone();
                    v.insert(b, line);
                    s = v.join("\n");
                }
            }
            3 => {
                // Change one line's indentation.
                let mut v: Vec<String> = s.lines().map(str::to_string).collect();
                if !v.is_empty() {
                    let i = rng.below(v.len());
                    v[i] = if rng.below(2) == 0 {
                        format!("  {}", v[i])
                    } else {
                        v[i].trim_start().to_string()
                    };
                    s = v.join("\n");
                }
            }
            4 => {
                // Replace a value after `: ` with a token.
                if let Some(i) = s.match_indices(": ").map(|(i, _)| i).nth(rng.below(20)) {
                    let end = s[i..].find('\n').map_or(s.len(), |e| i + e);
                    s.replace_range(i + 2..end, TOKENS[rng.below(TOKENS.len())]);
                }
            }
            _ => {
                let i = at(rng, &s);
                let j = at(rng, &s);
                let (i, j) = (i.min(j), i.max(j));
                let piece = s[i..j].to_string();
                let k = at(rng, &s);
                s.insert_str(k, &piece);
            }
        }
    }
    s
}

#[test]
fn mutated_blueprints_never_panic() {
    let cases: usize = std::env::var("NBSYNTH_FUZZ_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(400);
    let mut seeds: Vec<String> = Vec::new();
    for e in std::fs::read_dir(root().join("fuzz/seeds"))
        .unwrap()
        .flatten()
    {
        seeds.push(std::fs::read_to_string(e.path()).unwrap());
    }
    seeds.sort();
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    for i in 0..cases {
        let seed = &seeds[i % seeds.len()];
        let text = mutate(&mut rng, seed);
        if std::panic::catch_unwind(|| compile(&text)).is_err() {
            let path = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
                .join(format!("fuzz-crash-{i}.yaml"));
            std::fs::write(&path, &text).unwrap();
            panic!(
                "case {i} panics; input kept in {} (add it to tests/fuzz/)",
                path.display()
            );
        }
    }
}
