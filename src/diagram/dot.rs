//! The diagram in Graphviz DOT: nested `cluster_` subgraphs, one edge per rule.

use std::fmt::Write;

use super::model::{BoxKind, Diagram, EdgeKind, Group, Node, NodeKind};

pub fn render(d: &Diagram) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "digraph network {{");
    let _ = writeln!(
        o,
        "  graph [rankdir=LR, compound=true, newrank=true, fontname=\"Helvetica\", fontsize=12, labelloc=t, label=\"{}\"];",
        escape(&format!("{}\nWays out: {}", d.title, d.egress_line()))
    );
    o.push_str("  node [shape=box, style=\"rounded,filled\", fillcolor=white, fontname=\"Helvetica\", fontsize=10];\n");
    o.push_str("  edge [fontname=\"Helvetica\", fontsize=9];\n");
    for g in &d.groups {
        group(&mut o, g, 1);
    }
    for n in d.nodes.iter().filter(|n| n.kind != NodeKind::Note) {
        node(&mut o, n, 1);
    }
    for e in &d.edges {
        let mut attrs = Vec::new();
        if !e.label.is_empty() {
            attrs.push(format!("label=\"{}\"", escape(&e.label)));
        }
        match e.kind {
            EdgeKind::Member => attrs.push("style=dotted, arrowhead=none".into()),
            EdgeKind::NoRoute => attrs.push(
                "style=dashed, color=\"#cc0000\", fontcolor=\"#cc0000\", constraint=false".into(),
            ),
            EdgeKind::Internet => {
                attrs.push("style=dashed, color=\"#ff9900\", constraint=false".into())
            }
            EdgeKind::Rule | EdgeKind::Route => {}
        }
        let _ = writeln!(o, "  {} -> {} [{}];", e.from, e.to, attrs.join(", "));
    }
    o.push_str("}\n");
    o
}

fn group(o: &mut String, g: &Group, depth: usize) {
    let pad = "  ".repeat(depth);
    let style = match g.kind {
        BoxKind::Region => "style=rounded; color=\"#999999\"",
        BoxKind::Vpc => "style=\"rounded,bold\"; color=\"#336699\"",
        BoxKind::Zone => "style=dashed; color=\"#999999\"",
        BoxKind::Subnet => "style=\"rounded,filled\"; fillcolor=\"#eef5ee\"; color=\"#669966\"",
        BoxKind::Endpoints => "style=\"rounded,filled\"; fillcolor=\"#f5f0fa\"; color=\"#886699\"",
    };
    let _ = writeln!(o, "{pad}subgraph cluster_{} {{", g.id);
    let _ = writeln!(
        o,
        "{pad}  label=\"{}\"; {style};",
        escape(&g.lines.join("\n"))
    );
    for c in &g.groups {
        group(o, c, depth + 1);
    }
    for n in &g.nodes {
        node(o, n, depth + 1);
    }
    // Graphviz leaves out a cluster without nodes; an empty subnet is still a subnet.
    if g.nodes.is_empty() && g.groups.is_empty() {
        let _ = writeln!(
            o,
            "{pad}  {}_empty [label=\"\", shape=point, style=invis];",
            g.id
        );
    }
    let _ = writeln!(o, "{pad}}}");
}

fn node(o: &mut String, n: &Node, depth: usize) {
    let pad = "  ".repeat(depth);
    let shape = match n.kind {
        NodeKind::Internet => {
            "shape=ellipse, color=\"#cc0000\", fontcolor=\"#990000\", fillcolor=\"#ffeeee\""
        }
        NodeKind::Service => "shape=cylinder",
        NodeKind::SecurityGroup => "shape=hexagon, fillcolor=\"#eeeeff\"",
        NodeKind::InterfaceEndpoint | NodeKind::GatewayEndpoint => "shape=component",
        NodeKind::RouteTable | NodeKind::PrefixList | NodeKind::Cidr => "shape=parallelogram",
        NodeKind::Notebook | NodeKind::Note => "shape=box",
    };
    let _ = writeln!(
        o,
        "{pad}{} [label=\"{}\", {shape}];",
        n.id,
        escape(&n.lines.join("\n"))
    );
}

fn escape(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}
