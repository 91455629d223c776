//! The network diagram of every example: the Mermaid and DOT text are snapshots
//! (`tests/diagram/snapshots/`, rewritten with `UPDATE_SNAPSHOTS=1`), within GitHub's limits; the
//! Mermaid is parsed and rendered by mermaid.js in headless Chromium (`render.mjs`, installed by
//! `.ci/setup-tools` with `npm ci`); the SVG that Graphviz draws has every cluster and edge.

#[path = "../common/mod.rs"]
mod common;

use std::path::{Path, PathBuf};

use common::*;

const EXAMPLES: &[&str] = &["byo-vpc", "minimal", "research", "team"];

fn snapshots() -> PathBuf {
    root().join("tests/diagram/snapshots")
}

fn diagram(args: &[&str]) -> String {
    let out = nbsynth(&root(), args);
    let stderr = text(&out.stderr);
    assert!(out.status.success(), "nbsynth {args:?} failed:\n{stderr}");
    text(&out.stdout)
}

fn template(name: &str) -> String {
    format!("out/{name}.template.yaml")
}

/// Edge lines of a Mermaid flowchart as nbsynth writes them.
fn mermaid_edges(text: &str) -> usize {
    text.lines()
        .filter(|l| {
            [" --> ", " -.- ", " -.-> ", "-->|", "-.->|"]
                .iter()
                .any(|a| l.contains(a))
        })
        .count()
}

fn mermaid_clusters(text: &str) -> usize {
    text.lines()
        .filter(|l| l.trim_start().starts_with("subgraph "))
        .count()
}

fn mermaid_nodes(text: &str) -> usize {
    text.lines()
        .skip(1)
        .map(str::trim)
        .filter(|l| {
            !["subgraph ", "end", "class ", "classDef ", "linkStyle "]
                .iter()
                .any(|k| l.starts_with(k))
                && mermaid_edges(l) == 0
        })
        .count()
}

fn check_snapshot(file: &str, actual: &str, failures: &mut Vec<String>) {
    let path = snapshots().join(file);
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
        std::fs::create_dir_all(snapshots()).unwrap();
        std::fs::write(&path, actual).unwrap();
        return;
    }
    match std::fs::read_to_string(&path) {
        Ok(expected) if expected == actual => {}
        Ok(expected) => failures.push(format!(
            "{file} differs (UPDATE_SNAPSHOTS=1 to accept)\n--- expected\n{expected}--- actual\n{actual}"
        )),
        Err(_) => failures.push(format!("no snapshot {file} (UPDATE_SNAPSHOTS=1 writes it)")),
    }
}

/// Snapshots, limits, and the same diagram from the blueprint, its template and its review.
#[test]
fn snapshots_and_limits() {
    let mut failures = Vec::new();
    for name in EXAMPLES {
        let mermaid = diagram(&["diagram", &template(name), "--format", "mermaid"]);
        let dot = diagram(&["diagram", &template(name), "--format", "dot"]);
        check_snapshot(&format!("{name}.mmd"), &mermaid, &mut failures);
        check_snapshot(&format!("{name}.dot"), &dot, &mut failures);
        let (chars, edges) = (mermaid.chars().count(), mermaid_edges(&mermaid));
        eprintln!("{name}: mermaid {chars} characters, {edges} edges");
        assert!(
            chars < 50_000 && edges < 500,
            "{name}: {chars} chars, {edges} edges"
        );
        assert_eq!(
            dot.matches(" -> ").count(),
            edges,
            "{name}: DOT and Mermaid draw the same edges"
        );

        // A blueprint draws the network of the template it compiles to.
        let from_blueprint = diagram(&["diagram", &format!("blueprints/{name}.yaml")]);
        assert_eq!(
            from_blueprint, mermaid,
            "{name}: blueprint and template differ"
        );
        // The review report embeds it.
        let review = std::fs::read_to_string(root().join(format!("out/{name}.review.md"))).unwrap();
        assert!(
            review.contains(&format!("```mermaid\n{mermaid}```\n")),
            "{name}: out/{name}.review.md does not embed the diagram"
        );
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// What the examples must show: the computed ways out, one edge per rule, the boxes.
#[test]
fn examples_show_the_isolation() {
    let research = diagram(&["diagram", &template("research")]);
    assert!(research.contains("<br>no internet gateway<br>no NAT gateway<br>no egress-only internet gateway<br>no VPC peering<br>no transit gateway<br>no VPN gateway"));
    let review = std::fs::read_to_string(root().join("out/research.review.md")).unwrap();
    assert!(review.contains("Ways out, from the template: not in this template: internet gateway, NAT gateway, egress-only internet gateway, VPC peering, transit gateway, VPN gateway."));
    assert!(research.contains("rt_RouteTable -.->|\"no route\"| internet"));
    assert!(
        research.contains("sg_NotebookSecurityGroup -->|\"tcp/443 out\"| sg_EndpointSecurityGroup")
    );
    assert!(
        research.contains("sg_NotebookSecurityGroup -->|\"tcp/443 in\"| sg_EndpointSecurityGroup")
    );
    assert!(research.contains("subgraph region[") && research.contains("subgraph vpc_Vpc["));
    assert!(research.contains("subgraph subnet_SubnetA["));
    let team = diagram(&["diagram", &template("team")]);
    assert!(
        team.contains("7 notebooks"),
        "team's notebooks are counted per subnet"
    );
    // A brought network: the template cannot know its routes, and says so.
    let byo = diagram(&["diagram", &template("byo-vpc")]);
    assert!(byo.contains("routes of vpc-0123456789abcdef0: outside the template"));
    assert!(byo.contains("routes unknown here") && !byo.contains("\"no route\""));
}

fn node_modules() -> PathBuf {
    let dir = root().join("tests/diagram/node_modules");
    assert!(
        dir.join("mermaid").is_dir() && dir.join("playwright-core").is_dir(),
        "mermaid and playwright-core are not installed: run .ci/setup-tools (npm ci in tests/diagram)"
    );
    dir
}

fn render(files: &[PathBuf]) -> (bool, Vec<serde_json::Value>) {
    node_modules();
    let out = std::process::Command::new("node")
        .arg(root().join("tests/diagram/render.mjs"))
        .args(files)
        .output()
        .expect("run node");
    let results = text(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    assert!(
        out.stderr.is_empty() || out.status.success(),
        "render.mjs: {}",
        text(&out.stderr)
    );
    (out.status.success(), results)
}

/// mermaid.js parses and renders every example to SVG with every box, node and edge; and it
/// rejects a broken diagram, so a pass means something.
#[test]
fn mermaid_parses_and_renders() {
    let dir = fresh_dir("diagram/mermaid");
    let mut files = Vec::new();
    for name in EXAMPLES {
        let text = diagram(&["diagram", &template(name)]);
        let path = dir.join(format!("{name}.mmd"));
        std::fs::write(&path, &text).unwrap();
        files.push((path, text));
    }
    let paths: Vec<PathBuf> = files.iter().map(|(p, _)| p.clone()).collect();
    let (ok, results) = render(&paths);
    assert!(ok, "{results:#?}");
    for ((path, text), r) in files.iter().zip(&results) {
        assert_eq!(r["ok"], true, "{r}");
        assert_eq!(r["error"], serde_json::Value::Null, "{r}");
        assert_eq!(
            r["clusters"],
            mermaid_clusters(text),
            "{}: {r}",
            path.display()
        );
        assert_eq!(r["nodes"], mermaid_nodes(text), "{}: {r}", path.display());
        assert_eq!(r["edges"], mermaid_edges(text), "{}: {r}", path.display());
        let svg = std::fs::read_to_string(path.with_extension("svg")).unwrap();
        assert!(
            svg.starts_with("<svg") && svg.contains("Internet"),
            "{}",
            path.display()
        );
    }

    // Control: an unescaped quote in a label is a parse error.
    let broken = dir.join("broken.mmd");
    let text = std::fs::read_to_string(&paths[2]).unwrap();
    std::fs::write(&broken, text.replacen("Internet", "Inter\"net", 1)).unwrap();
    let (ok, results) = render(std::slice::from_ref(&broken));
    assert!(!ok && results[0]["ok"] == false, "{results:?}");
}

fn svg_titles(svg: &str, class: &str) -> Vec<String> {
    let marker = format!("class=\"{class}\"");
    svg.split("<g ")
        .filter(|g| g.starts_with("id=") && g.contains(&marker))
        .filter_map(|g| {
            let t = g.split("<title>").nth(1)?.split("</title>").next()?;
            Some(t.replace("&#45;", "-").replace("&gt;", ">"))
        })
        .collect()
}

/// Graphviz draws every cluster (Region, VPC, zones, subnets, endpoints) and every edge.
#[test]
fn svg_has_the_clusters_and_edges() {
    for name in EXAMPLES {
        let dot = diagram(&["diagram", &template(name), "--format", "dot"]);
        let svg = diagram(&["diagram", &template(name), "--format", "svg"]);
        let clusters = svg_titles(&svg, "cluster");
        let edges = svg_titles(&svg, "edge");
        assert_eq!(
            clusters.len(),
            dot.matches("subgraph cluster_").count(),
            "{name}"
        );
        assert_eq!(edges.len(), dot.matches(" -> ").count(), "{name}");
        assert!(
            clusters.contains(&"cluster_region".to_string()),
            "{name}: {clusters:?}"
        );
        assert!(
            edges.iter().any(|e| e.ends_with("->internet")),
            "{name}: {edges:?}"
        );
    }
    let svg = diagram(&["diagram", &template("research"), "--format", "svg"]);
    let edges = svg_titles(&svg, "edge");
    assert!(
        edges.contains(&"rt_RouteTable->internet".to_string()),
        "{edges:?}"
    );
    assert!(svg_titles(&svg, "cluster").contains(&"cluster_subnet_SubnetB".to_string()));
}

/// Without Graphviz: a message that says what to install, exit 2, nothing on stdout.
#[test]
fn svg_without_graphviz() {
    let out = command(
        &root(),
        &["diagram", &template("minimal"), "--format", "svg"],
    )
    .env("NBSYNTH_DOT", Path::new("/nonexistent/dot"))
    .output()
    .unwrap();
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(out.stdout.is_empty());
    assert!(
        stderr.contains("needs Graphviz `dot`, which is not installed")
            && stderr.contains("apt-get install graphviz"),
        "{stderr}"
    );
}

/// The limits nbsynth keeps to are mermaid's own: at them a diagram renders, one past them it
/// does not (measured with the library, not taken from its documentation).
#[test]
fn mermaid_limits_are_the_ones_checked() {
    use nbsynth::diagram::mermaid::{MAX_CHARS, MAX_EDGES};
    let dir = fresh_dir("diagram/limits");
    let sized = |n: usize| {
        let (pre, post) = ("flowchart LR\n  a[\"", "\"]\n");
        format!("{pre}{}{post}", "x".repeat(n - pre.len() - post.len()))
    };
    let edges = |n: usize| {
        let mut t = String::from("flowchart LR\n");
        for i in 0..n {
            t.push_str(&format!("  a{i} --> b{i}\n"));
        }
        t
    };
    let cases = [
        ("chars-at", sized(MAX_CHARS), true),
        ("chars-over", sized(MAX_CHARS + 1), false),
        ("edges-at", edges(MAX_EDGES), true),
        ("edges-over", edges(MAX_EDGES + 1), false),
    ];
    let mut paths = Vec::new();
    for (name, text, _) in &cases {
        let p = dir.join(format!("{name}.mmd"));
        std::fs::write(&p, text).unwrap();
        paths.push(p);
    }
    let (_, results) = render(&paths);
    for ((name, _, renders), r) in cases.iter().zip(&results) {
        let rendered = r["ok"] == true && r["error"].is_null();
        assert_eq!(rendered, *renders, "{name}: {r}");
    }
}
