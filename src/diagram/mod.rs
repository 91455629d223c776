//! The network diagram of a template: one model ([`model`]) drawn as Mermaid for the review
//! report and as Graphviz DOT (and SVG through `dot`) for `nbsynth diagram`.

mod build;
pub mod dot;
pub mod mermaid;
pub mod model;
mod template;

use std::io::Write;
use std::process::{Command, Stdio};

use serde_json::Value;

pub use model::Diagram;

/// The review report's network section: a Mermaid block within what GitHub renders. A diagram
/// over the limits is drawn again with every subnet's notebooks in one node and without the
/// security-group membership lines; still over, the section says so instead.
pub fn markdown_section(template: &Value, title: &str) -> String {
    let mut d = model::build(template, title, model::AGGREGATE_ABOVE);
    let mut text = mermaid::render(&d);
    let fits = |d: &Diagram, text: &str| {
        text.chars().count() <= mermaid::MAX_CHARS && d.edge_count() <= mermaid::MAX_EDGES
    };
    let mut note = String::new();
    if !fits(&d, &text) {
        d = model::build(template, title, 0);
        d.edges.retain(|e| e.kind != model::EdgeKind::Member);
        text = mermaid::render(&d);
        note = "\nNotebooks are counted per subnet and security-group membership is left out, to stay within what GitHub renders.\n".into();
    }
    let mut o = String::from("\n## Network\n\n");
    o.push_str(&format!(
        "Ways out, from the template: {}.\n",
        d.egress_line()
    ));
    if fits(&d, &text) {
        o.push_str(&note);
        o.push_str("\n```mermaid\n");
        o.push_str(&text);
        o.push_str("```\n");
    } else {
        o.push_str(&format!(
            "\nThe diagram has {} characters and {} edges, over what GitHub renders ({} and {}): `nbsynth diagram --format svg` draws it.\n",
            text.chars().count(),
            d.edge_count(),
            mermaid::MAX_CHARS,
            mermaid::MAX_EDGES
        ));
    }
    o
}

/// Why an SVG could not be made.
#[derive(Debug)]
pub enum SvgError {
    /// Graphviz is not installed.
    NoDot,
    Failed(String),
}

/// SVG from DOT text, through Graphviz `dot` (`$NBSYNTH_DOT` names another binary).
pub fn svg(dot_text: &str) -> Result<String, SvgError> {
    let bin = std::env::var("NBSYNTH_DOT").unwrap_or_else(|_| "dot".into());
    let mut child = match Command::new(&bin)
        .arg("-Tsvg")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
    {
        Ok(c) => c,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(SvgError::NoDot),
        Err(e) => return Err(SvgError::Failed(format!("cannot run `{bin}`: {e}"))),
    };
    if let Some(mut stdin) = child.stdin.take() {
        stdin
            .write_all(dot_text.as_bytes())
            .map_err(|e| SvgError::Failed(format!("cannot write to `{bin}`: {e}")))?;
    }
    let out = child
        .wait_with_output()
        .map_err(|e| SvgError::Failed(format!("`{bin}` failed: {e}")))?;
    if !out.status.success() {
        return Err(SvgError::Failed(format!(
            "`{bin}` failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    String::from_utf8(out.stdout).map_err(|_| SvgError::Failed(format!("`{bin}` wrote no UTF-8")))
}
