//! In-process stages at sizes past CloudFormation's limits, to show growth is linear in owners.
//! Prints `owners  resources  stage  median_ms` lines (tab-separated).
//!
//!     cargo run --release --example scale -- 100 1000 10000

use std::time::{Duration, Instant};

use nbsynth::blueprint;
use nbsynth::cfn::emit::{Format, to_text};
use nbsynth::source::SourceFile;

fn blueprint_text(n: usize) -> String {
    let mut s = String::from(
        "version: 1\nname: scale\nnetwork:\n  cidr: 10.0.0.0/16\n  zones: 6\ndata:\n  buckets:\n    - name: nbsynth-example-data\n      read: [datasets/]\n      write: [\"users/{owner}/\"]\nnotebooks:\n  instances:\n",
    );
    for i in 0..n {
        s.push_str(&format!("    - owner: user-{i}\n"));
    }
    s
}

fn median(mut v: Vec<Duration>) -> f64 {
    v.sort();
    v[v.len() / 2].as_secs_f64() * 1000.0
}

fn main() {
    let sizes: Vec<usize> = std::env::args()
        .skip(1)
        .map(|a| a.parse().expect("a number of owners"))
        .collect();
    let rules = nbsynth::policy::rule_ids();
    for n in sizes {
        let text = blueprint_text(n);
        let runs = if n >= 10_000 { 3 } else { 7 };
        let mut stages: Vec<(&str, Vec<Duration>)> = vec![
            ("load+validate", vec![]),
            ("lower", vec![]),
            ("review", vec![]),
            ("emit", vec![]),
        ];
        let mut resources = 0;
        for _ in 0..runs {
            let t = Instant::now();
            let loaded =
                blueprint::load_source(SourceFile::from_text("scale.yaml", text.clone()), &rules)
                    .unwrap_or_else(|e| panic!("{:?}", e.diagnostics));
            stages[0].1.push(t.elapsed());
            let t = Instant::now();
            let lowered = nbsynth::lower::lower(&loaded, Default::default()).expect("lowers");
            resources = lowered.template.resources.len();
            let json = lowered.template.into_json();
            stages[1].1.push(t.elapsed());
            let t = Instant::now();
            let review = nbsynth::policy::review(&json, &nbsynth::policy::Options::default())
                .expect("review runs");
            stages[2].1.push(t.elapsed());
            assert!(!review.failed(), "the generated stack passes its own rules");
            let t = Instant::now();
            let _ = std::hint::black_box(to_text(&json, Format::Yaml));
            stages[3].1.push(t.elapsed());
        }
        for (stage, times) in stages {
            println!("{n}\t{resources}\t{stage}\t{:.2}", median(times));
        }
    }
}
