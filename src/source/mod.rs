//! Reading input files: text, positions, and the diagnostics that point into them.

pub mod diagnostic;
pub mod yaml;

use std::path::{Path, PathBuf};

pub use diagnostic::{Diagnostic, Severity};
pub use yaml::{Document, Spans, TagMode};

/// A file's name as the user gave it, and its text.
#[derive(Debug, Clone)]
pub struct SourceFile {
    pub path: PathBuf,
    pub text: String,
}

/// A byte range in a [`SourceFile`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Span {
    pub start: usize,
    pub end: usize,
}

/// Files larger than this are refused before parsing: a blueprint is tens of lines and a
/// CloudFormation template is at most 1 MB; anything far larger is a mistake or an attack.
pub const MAX_FILE_BYTES: u64 = 8 * 1024 * 1024;

impl SourceFile {
    /// Reads a file, refusing directories, oversized files and text that is not UTF-8.
    pub fn read(path: &Path) -> Result<SourceFile, Diagnostic> {
        let fail = |msg: String| Diagnostic::error("E0001", msg).with_path(path);
        let meta = std::fs::metadata(path).map_err(|e| fail(format!("cannot read file: {}", io_reason(&e))))?;
        if meta.is_dir() {
            return Err(fail("expected a file, found a directory".into()));
        }
        if meta.len() > MAX_FILE_BYTES {
            return Err(fail(format!(
                "file is {} bytes; the limit is {} bytes",
                meta.len(),
                MAX_FILE_BYTES
            )));
        }
        let bytes = std::fs::read(path).map_err(|e| fail(format!("cannot read file: {}", io_reason(&e))))?;
        let text = String::from_utf8(bytes).map_err(|e| {
            let offset = e.utf8_error().valid_up_to();
            let (line, col) = line_col_of_bytes(e.as_bytes(), offset);
            fail(format!("file is not valid UTF-8 (first invalid byte at line {line}, column {col})"))
        })?;
        Ok(SourceFile { path: path.to_path_buf(), text })
    }

    pub fn from_text(path: impl Into<PathBuf>, text: impl Into<String>) -> SourceFile {
        SourceFile { path: path.into(), text: text.into() }
    }

    pub fn name(&self) -> String {
        self.path.display().to_string()
    }

    /// 1-based line and column (in characters) of a byte offset.
    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        line_col_of_bytes(self.text.as_bytes(), offset.min(self.text.len()))
    }
}

fn line_col_of_bytes(bytes: &[u8], offset: usize) -> (usize, usize) {
    let before = &bytes[..offset];
    let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
    let line_start = before.iter().rposition(|&b| b == b'\n').map_or(0, |p| p + 1);
    let col = String::from_utf8_lossy(&before[line_start..]).chars().count() + 1;
    (line, col)
}

pub fn io_reason(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file".into(),
        std::io::ErrorKind::PermissionDenied => "permission denied".into(),
        _ => e.to_string(),
    }
}
