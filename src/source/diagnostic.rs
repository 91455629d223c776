//! A problem in an input file, rendered like a compiler error.

use std::path::{Path, PathBuf};

use codespan_reporting::diagnostic::{Diagnostic as CsDiagnostic, Label};
use codespan_reporting::files::SimpleFiles;
use codespan_reporting::term::{self, termcolor::WriteColor};
use serde::Serialize;

use super::{SourceFile, Span};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
}

/// One problem: a code, a message, where it is, and how to fix it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    pub severity: Severity,
    pub code: &'static str,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<PathBuf>,
    #[serde(skip)]
    pub span: Option<Span>,
    /// Text under the caret.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub help: Vec<String>,
}

impl Diagnostic {
    pub fn error(code: &'static str, message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Error,
            code,
            message: message.into(),
            path: None,
            span: None,
            label: None,
            help: Vec::new(),
        }
    }

    pub fn with_path(mut self, path: &Path) -> Self {
        self.path = Some(path.to_path_buf());
        self
    }

    pub fn at(mut self, file: &SourceFile, span: Span) -> Self {
        self.path = Some(file.path.clone());
        self.span = Some(span);
        self
    }

    pub fn label(mut self, label: impl Into<String>) -> Self {
        self.label = Some(label.into());
        self
    }

    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help.push(help.into());
        self
    }

    /// `file:line:col` of the primary location, for one-line output.
    pub fn location(&self, file: Option<&SourceFile>) -> String {
        match (&self.path, self.span, file) {
            (Some(p), Some(s), Some(f)) => {
                let (l, c) = f.line_col(s.start);
                format!("{}:{l}:{c}", p.display())
            }
            (Some(p), _, _) => p.display().to_string(),
            _ => String::new(),
        }
    }
}

/// Renders diagnostics as `error[CODE]: message`, `--> file:line:col`, the source line with a caret
/// and `help:` lines. `file` is the source the spans point into.
pub fn render(
    out: &mut dyn WriteColor,
    file: Option<&SourceFile>,
    diagnostics: &[Diagnostic],
) -> std::io::Result<()> {
    let mut files = SimpleFiles::new();
    let id = file.map(|f| files.add(f.name(), f.text.as_str()));
    let config = term::Config::default();
    for d in diagnostics {
        let mut cs = match d.severity {
            Severity::Error => CsDiagnostic::error(),
            Severity::Warning => CsDiagnostic::warning(),
        }
        .with_code(d.code)
        .with_message(&d.message);
        match (id, d.span, file) {
            (Some(id), Some(span), Some(f)) => {
                let mut label = Label::primary(id, clamp(&f.text, span));
                if let Some(text) = &d.label {
                    label = label.with_message(text);
                }
                cs = cs.with_labels(vec![label]);
            }
            _ => {
                // Without a position, name the file unless the message already does.
                if let Some(p) = d
                    .path
                    .as_ref()
                    .filter(|p| !d.message.contains(&format!("`{}`", p.display())))
                {
                    cs = cs.with_notes(vec![format!("in {}", p.display())]);
                }
            }
        }
        let notes: Vec<String> = d.help.iter().map(|h| format!("help: {h}")).collect();
        if !notes.is_empty() {
            let mut all = cs.notes.clone();
            all.extend(notes);
            cs = cs.with_notes(all);
        }
        term::emit_to_write_style(out, &config, &files, &cs).map_err(std::io::Error::other)?;
    }
    Ok(())
}

/// A span the renderer can slice: inside the text, on character boundaries, never reversed.
fn clamp(text: &str, span: Span) -> std::ops::Range<usize> {
    let floor = |mut i: usize| {
        i = i.min(text.len());
        while !text.is_char_boundary(i) {
            i -= 1;
        }
        i
    };
    let start = floor(span.start);
    start..floor(span.end).max(start)
}

/// One JSON object per diagnostic, with 1-based line and column, for tools.
pub fn to_json(file: Option<&SourceFile>, d: &Diagnostic) -> serde_json::Value {
    let mut v = serde_json::to_value(d).expect("diagnostic serializes");
    if let (Some(f), Some(span)) = (file, d.span) {
        let (line, column) = f.line_col(span.start);
        let (end_line, end_column) = f.line_col(span.end);
        v["line"] = line.into();
        v["column"] = column.into();
        v["end_line"] = end_line.into();
        v["end_column"] = end_column.into();
    }
    v
}
