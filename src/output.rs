//! Writing outputs all-or-nothing: every file goes to a temporary sibling first, and only when
//! all are written are they renamed into place.

use std::io::Write;
use std::path::{Path, PathBuf};

/// A file to write and its contents.
#[derive(Debug)]
pub struct Planned {
    pub path: PathBuf,
    pub text: String,
}

/// Files under `dir` ending in `suffix` that are not in `keep`: stale outputs to remove.
pub fn stale(dir: &Path, suffix: &str, keep: &[PathBuf]) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut out: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.to_string_lossy().ends_with(suffix) && !keep.contains(p))
        .collect();
    out.sort();
    out
}

/// Which planned files differ from what is on disk (missing counts as different).
pub fn changed(files: &[Planned]) -> Vec<PathBuf> {
    files
        .iter()
        .filter(|f| std::fs::read_to_string(&f.path).ok().as_deref() != Some(f.text.as_str()))
        .map(|f| f.path.clone())
        .collect()
}

/// Writes every file, or none: on any error the temporary files are removed and nothing that
/// existed before is touched. Removes `obsolete` files after the renames.
pub fn write_all(files: &[Planned], obsolete: &[PathBuf]) -> std::io::Result<()> {
    let mut temps: Vec<(PathBuf, &Path)> = Vec::new();
    let result = (|| {
        for f in files {
            if let Some(parent) = f.path.parent().filter(|p| !p.as_os_str().is_empty()) {
                std::fs::create_dir_all(parent).map_err(|e| {
                    std::io::Error::new(e.kind(), format!("{}: {e}", parent.display()))
                })?;
            }
            let name = f
                .path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let tmp = f
                .path
                .with_file_name(format!(".{name}.{}.tmp", std::process::id()));
            let mut file = std::fs::File::create(&tmp)
                .map_err(|e| std::io::Error::new(e.kind(), format!("{}: {e}", tmp.display())))?;
            temps.push((tmp.clone(), &f.path));
            file.write_all(f.text.as_bytes())?;
            file.sync_all()?;
        }
        Ok(())
    })();
    if let Err(e) = result {
        for (tmp, _) in &temps {
            let _ = std::fs::remove_file(tmp);
        }
        return Err(e);
    }
    for (tmp, dest) in &temps {
        std::fs::rename(tmp, dest)?;
    }
    for p in obsolete {
        let _ = std::fs::remove_file(p);
    }
    Ok(())
}
