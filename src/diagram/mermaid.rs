//! The diagram as a Mermaid `flowchart`, the form GitHub renders in Markdown.

use std::fmt::Write;

use super::model::{Diagram, EdgeKind, Group, Node, NodeKind};

/// GitHub renders Mermaid with the library's defaults, which a diagram cannot raise: past
/// these it shows an error instead of the diagram.
pub const MAX_CHARS: usize = 50_000;
pub const MAX_EDGES: usize = 500;

pub fn render(d: &Diagram) -> String {
    let mut o = String::new();
    o.push_str("flowchart LR\n");
    for g in &d.groups {
        group(&mut o, g, 1);
    }
    for n in &d.nodes {
        node(&mut o, n, 1);
    }
    let mut styles = Vec::new();
    for (i, e) in d.edges.iter().enumerate() {
        let arrow = match e.kind {
            EdgeKind::Member => "-.-",
            EdgeKind::NoRoute | EdgeKind::Internet => "-.->",
            EdgeKind::Rule | EdgeKind::Route => "-->",
        };
        if e.label.is_empty() {
            let _ = writeln!(o, "  {} {arrow} {}", e.from, e.to);
        } else {
            let _ = writeln!(o, "  {} {arrow}|\"{}\"| {}", e.from, escape(&e.label), e.to);
        }
        match e.kind {
            EdgeKind::NoRoute => styles.push(format!(
                "  linkStyle {i} stroke:#c00,stroke-width:2px,color:#c00"
            )),
            EdgeKind::Internet => {
                styles.push(format!("  linkStyle {i} stroke:#f90,stroke-width:2px"))
            }
            _ => {}
        }
    }
    o.push_str("  classDef internet fill:#fee,stroke:#c00,color:#900\n");
    o.push_str("  classDef note fill:#fff,stroke:#999,stroke-dasharray:3 3\n");
    o.push_str("  classDef sg fill:#eef,stroke:#669\n");
    for n in &d.nodes {
        let class = match n.kind {
            NodeKind::Internet => "internet",
            NodeKind::Note => "note",
            _ => continue,
        };
        let _ = writeln!(o, "  class {} {class}", n.id);
    }
    let sgs: Vec<&str> = all_nodes(d)
        .into_iter()
        .filter(|n| n.kind == NodeKind::SecurityGroup)
        .map(|n| n.id.as_str())
        .collect();
    if !sgs.is_empty() {
        let _ = writeln!(o, "  class {} sg", sgs.join(","));
    }
    for s in styles {
        o.push_str(&s);
        o.push('\n');
    }
    o
}

fn all_nodes(d: &Diagram) -> Vec<&Node> {
    fn walk<'a>(g: &'a Group, out: &mut Vec<&'a Node>) {
        out.extend(&g.nodes);
        g.groups.iter().for_each(|c| walk(c, out));
    }
    let mut out: Vec<&Node> = d.nodes.iter().collect();
    d.groups.iter().for_each(|g| walk(g, &mut out));
    out
}

fn group(o: &mut String, g: &Group, depth: usize) {
    let pad = "  ".repeat(depth);
    let _ = writeln!(o, "{pad}subgraph {}[\"{}\"]", g.id, lines(&g.lines));
    for c in &g.groups {
        group(o, c, depth + 1);
    }
    for n in &g.nodes {
        node(o, n, depth + 1);
    }
    let _ = writeln!(o, "{pad}end");
}

fn node(o: &mut String, n: &Node, depth: usize) {
    let pad = "  ".repeat(depth);
    let text = lines(&n.lines);
    let shape = match n.kind {
        NodeKind::Internet => format!("((\"{text}\"))"),
        NodeKind::Service => format!("[(\"{text}\")]"),
        NodeKind::SecurityGroup => format!("{{{{\"{text}\"}}}}"),
        NodeKind::InterfaceEndpoint | NodeKind::GatewayEndpoint => format!("([\"{text}\"])"),
        NodeKind::RouteTable | NodeKind::PrefixList | NodeKind::Cidr => format!("[/\"{text}\"/]"),
        NodeKind::Notebook | NodeKind::Note => format!("[\"{text}\"]"),
    };
    let _ = writeln!(o, "{pad}{}{shape}", n.id);
}

fn lines(ls: &[String]) -> String {
    ls.iter()
        .map(|l| escape(l))
        .collect::<Vec<_>>()
        .join("<br>")
}

/// Label text as Mermaid reads it inside quotes: entity codes for the characters that end a
/// label or that Mermaid 11 reads as Markdown or HTML.
fn escape(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        match c {
            '"' => out.push_str("#quot;"),
            '`' => out.push_str("#96;"),
            '<' => out.push_str("#lt;"),
            '>' => out.push_str("#gt;"),
            '#' => out.push_str("#35;"),
            '*' => out.push_str("#42;"),
            '_' => out.push_str("#95;"),
            c => out.push(c),
        }
    }
    out
}
