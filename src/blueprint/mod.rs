//! Load and validate a blueprint: YAML with positions -> JSON Schema -> typed model -> semantic
//! checks -> extra scripts read from disk. Every stage reports all of its errors at once and the
//! next stage runs only on a clean result, except that schema errors come with the semantic
//! errors of the parts the schema accepted (`salvage`).

pub mod model;
pub mod perimeter;
pub mod platform;
mod salvage;
pub mod schema;
pub mod semantic;
pub mod studio;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub use model::Blueprint;

use crate::source::{self, Diagnostic, SourceFile, Spans, TagMode};

/// A blueprint that passed every check, with what lowering needs besides the model.
#[derive(Debug)]
pub struct Loaded {
    pub file: SourceFile,
    pub blueprint: Blueprint,
    pub spans: Spans,
    /// Text of the `on_create` / `on_start` scripts, by the path written in the blueprint.
    pub scripts: BTreeMap<String, String>,
}

/// Why a blueprint was refused: the file (when it could be read) and every problem found.
#[derive(Debug)]
pub struct Invalid {
    pub file: Option<SourceFile>,
    pub diagnostics: Vec<Diagnostic>,
}

/// User scripts larger than this are refused: the whole lifecycle hook must fit in 16 KiB.
const MAX_USER_SCRIPT_BYTES: u64 = 64 * 1024;

pub fn load(path: &Path, rule_ids: &[String]) -> Result<Loaded, Invalid> {
    let file = SourceFile::read(path).map_err(|d| Invalid {
        file: None,
        diagnostics: vec![d],
    })?;
    load_source(file, rule_ids)
}

pub fn load_source(file: SourceFile, rule_ids: &[String]) -> Result<Loaded, Invalid> {
    let doc = match source::yaml::load(&file, TagMode::Reject) {
        Ok(doc) => doc,
        Err(diagnostics) => {
            return Err(Invalid {
                file: Some(file),
                diagnostics,
            });
        }
    };
    let mut errors = schema::validate(&file, &doc.value, &doc.spans);
    if !errors.is_empty() {
        // The other parts' semantic errors too: all of a file's problems in one run.
        errors.extend(salvage::check(&file, &doc.value, &doc.spans, rule_ids));
        errors.sort_by_key(|d| d.span.map(|s| s.start));
        return Err(Invalid {
            file: Some(file),
            diagnostics: errors,
        });
    }
    let blueprint: Blueprint = match serde_json::from_value(doc.value.clone()) {
        Ok(b) => b,
        Err(e) => {
            // The schema accepted it, so this is a disagreement between schema and model.
            let d = Diagnostic::error("E0106", format!("blueprint does not fit the model: {e}"))
                .at(&file, crate::source::Span { start: 0, end: 1 });
            return Err(Invalid {
                file: Some(file),
                diagnostics: vec![d],
            });
        }
    };
    let mut errors = semantic::check(&file, &blueprint, &doc.value, &doc.spans, rule_ids);
    let scripts = read_scripts(&file, &blueprint, &doc.spans, &mut errors);
    if !errors.is_empty() {
        return Err(Invalid {
            file: Some(file),
            diagnostics: errors,
        });
    }
    Ok(Loaded {
        file,
        blueprint,
        spans: doc.spans,
        scripts,
    })
}

fn read_scripts(
    file: &SourceFile,
    bp: &Blueprint,
    spans: &Spans,
    errors: &mut Vec<Diagnostic>,
) -> BTreeMap<String, String> {
    let base: PathBuf = file
        .path
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default();
    let mut wanted: Vec<(String, String)> = Vec::new();
    let mut push = |pointer: String, p: &Option<String>| {
        if let Some(p) = p {
            wanted.push((pointer, p.clone()));
        }
    };
    push("/lifecycle/on_create".into(), &bp.lifecycle.on_create);
    push("/lifecycle/on_start".into(), &bp.lifecycle.on_start);
    for (i, inst) in bp.notebooks.instances.iter().enumerate() {
        if let Some(l) = &inst.lifecycle {
            push(
                format!("/notebooks/instances/{i}/lifecycle/on_create"),
                &l.on_create,
            );
            push(
                format!("/notebooks/instances/{i}/lifecycle/on_start"),
                &l.on_start,
            );
        }
    }
    for (i, u) in studio::users(bp).iter().enumerate() {
        if let Some(l) = &u.lifecycle {
            push(format!("/studio/users/{i}/lifecycle/on_start"), &l.on_start);
        }
    }
    let mut out = BTreeMap::new();
    for (pointer, rel) in wanted {
        if out.contains_key(&rel) {
            continue;
        }
        let full = base.join(&rel);
        let fail = |msg: String| {
            Diagnostic::error("E0212", msg)
                .at(file, spans.value(&pointer))
                .label("script path, relative to the blueprint")
        };
        match std::fs::metadata(&full) {
            Ok(m) if m.is_dir() => errors.push(fail(format!("`{rel}` is a directory, expected a script"))),
            Ok(m) if m.len() > MAX_USER_SCRIPT_BYTES => {
                errors.push(fail(format!("`{rel}` is {} bytes; the limit is {MAX_USER_SCRIPT_BYTES}", m.len())))
            }
            Ok(_) => match std::fs::read(&full).map(String::from_utf8) {
                Ok(Ok(text)) if text.contains('\r') => errors.push(
                    fail(format!("`{rel}` has CRLF line ends"))
                        .help("convert it to LF line ends: a lifecycle script with CR fails with \"bad interpreter\""),
                ),
                Ok(Ok(text)) => {
                    out.insert(rel, text);
                }
                Ok(Err(_)) => errors.push(fail(format!("`{rel}` is not UTF-8 text"))),
                Err(e) => errors.push(fail(format!("cannot read `{rel}`: {}", source::io_reason(&e)))),
            },
            Err(e) => errors.push(fail(format!("cannot read `{rel}`: {}", source::io_reason(&e)))),
        }
    }
    out
}
