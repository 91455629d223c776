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
    // One diagnostic per file read, on the error path only: not worth a box in the signature.
    #[allow(clippy::result_large_err)]
    pub fn read(path: &Path) -> Result<SourceFile, Diagnostic> {
        // No span to point at: the message names the file.
        let shown = path.display();
        let fail = |msg: String| Diagnostic::error("E0001", msg).with_path(path);
        let unreadable = |e: std::io::Error| {
            let d = fail(format!("cannot read `{shown}`: {}", io_reason(&e)));
            if e.kind() == std::io::ErrorKind::NotFound {
                d.help("check the path; `nbsynth init` writes a starter blueprint")
            } else {
                d
            }
        };
        let meta = std::fs::metadata(path).map_err(unreadable)?;
        if meta.is_dir() {
            return Err(
                fail(format!("`{shown}` is a directory, not a blueprint file"))
                    .help("name the blueprint files: `nbsynth build DIR/*.yaml`"),
            );
        }
        if meta.len() > MAX_FILE_BYTES {
            return Err(fail(format!(
                "`{shown}` is {:.1} MiB; input files may be at most {} MiB",
                meta.len() as f64 / 1048576.0,
                MAX_FILE_BYTES / 1048576
            ))
            .help("a blueprint is a few dozen lines; is this the right file?"));
        }
        let bytes = std::fs::read(path).map_err(unreadable)?;
        let text = String::from_utf8(bytes).map_err(|e| {
            let bytes = e.as_bytes();
            if bytes.starts_with(&[0xFF, 0xFE]) || bytes.starts_with(&[0xFE, 0xFF]) {
                return fail(format!("`{shown}` is UTF-16 text; nbsynth reads UTF-8"))
                    .help("save the file as UTF-8 (in VS Code: the encoding in the status bar, then `Save with Encoding`)");
            }
            let offset = e.utf8_error().valid_up_to();
            let (line, col) = line_col_of_bytes(bytes, offset);
            let line_text = bytes.split(|&b| b == b'\n').nth(line - 1).unwrap_or_default();
            fail(format!(
                "`{shown}` is not UTF-8 text: byte 0x{:02X} at line {line}, column {col}",
                bytes[offset]
            ))
            .help(format!("line {line} reads `{}`", escape_invalid(line_text)))
            .help("save the file as UTF-8")
        })?;
        Ok(SourceFile {
            path: path.to_path_buf(),
            text,
        })
    }

    pub fn from_text(path: impl Into<PathBuf>, text: impl Into<String>) -> SourceFile {
        SourceFile {
            path: path.into(),
            text: text.into(),
        }
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
    let line_start = before
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |p| p + 1);
    let col = String::from_utf8_lossy(&before[line_start..])
        .chars()
        .count()
        + 1;
    (line, col)
}

/// A line with its invalid UTF-8 bytes written as `\xNN`.
fn escape_invalid(line: &[u8]) -> String {
    let mut out = String::new();
    for chunk in line.utf8_chunks() {
        out.push_str(chunk.valid());
        for b in chunk.invalid() {
            out.push_str(&format!("\\x{b:02X}"));
        }
    }
    out.trim_end_matches('\r').to_string()
}

pub fn io_reason(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file".into(),
        std::io::ErrorKind::PermissionDenied => "permission denied".into(),
        _ => e.to_string(),
    }
}
