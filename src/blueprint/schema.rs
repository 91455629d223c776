//! The blueprint's JSON Schema (`schemas/blueprint-v1.schema.json`), applied with `jsonschema`,
//! its errors turned into diagnostics that point at the offending key or value.

use std::sync::OnceLock;

use jsonschema::error::{TypeKind, ValidationErrorKind};
use serde_json::Value;

use crate::source::{Diagnostic, SourceFile, Spans, yaml::escape_pointer};

pub const SCHEMA_TEXT: &str = include_str!("../../schemas/blueprint-v1.schema.json");

pub fn schema() -> &'static Value {
    static SCHEMA: OnceLock<Value> = OnceLock::new();
    SCHEMA.get_or_init(|| serde_json::from_str(SCHEMA_TEXT).expect("the blueprint schema is valid JSON"))
}

fn validator() -> &'static jsonschema::Validator {
    static VALIDATOR: OnceLock<jsonschema::Validator> = OnceLock::new();
    VALIDATOR.get_or_init(|| jsonschema::draft7::new(schema()).expect("the blueprint schema compiles"))
}

/// All schema errors of a blueprint, in source order.
pub fn validate(file: &SourceFile, value: &Value, spans: &Spans) -> Vec<Diagnostic> {
    let mut out: Vec<Diagnostic> = Vec::new();
    for e in validator().iter_errors(value) {
        let pointer = e.instance_path().as_str().to_string();
        let schema_path = e.schema_path().as_str().to_string();
        let described = description_at(&schema_path);
        let found = e.instance();
        let at = |d: Diagnostic, key: bool| {
            let span = if key { spans.key(&pointer) } else { spans.value(&pointer) };
            d.at(file, span)
        };
        let name = display_path(&pointer);
        match e.kind() {
            ValidationErrorKind::AdditionalProperties { unexpected } => {
                let known = known_keys(&schema_path);
                for key in unexpected {
                    let child = format!("{pointer}/{}", escape_pointer(key));
                    let mut d = Diagnostic::error("E0101", format!("unknown key `{key}` in {}", where_(&name)))
                        .at(file, spans.key(&child))
                        .label("not a key of the blueprint format");
                    if let Some(best) = closest(key, &known) {
                        d = d.help(format!("did you mean `{best}`?"));
                    }
                    if !known.is_empty() {
                        d = d.help(format!("expected one of: {}", known.join(", ")));
                    }
                    out.push(d);
                }
            }
            ValidationErrorKind::Required { property } => {
                let key = property.as_str().unwrap_or_default();
                let mut d = at(
                    Diagnostic::error("E0102", format!("missing required key `{key}` in {}", where_(&name))),
                    !pointer.is_empty(),
                )
                .label(format!("`{key}` is required here"));
                let child_schema = format!("{}/properties/{key}", schema_path.trim_end_matches("/required"));
                if let Some(desc) = description_at(&format!("{child_schema}/x")) {
                    d = d.help(format!("`{key}`: {desc}"));
                }
                out.push(d);
            }
            ValidationErrorKind::Type { kind } => {
                let expected = match kind {
                    TypeKind::Single(t) => t.to_string(),
                    TypeKind::Multiple(ts) => {
                        ts.iter().map(|t| t.to_string()).collect::<Vec<_>>().join(" or ")
                    }
                };
                let mut d = at(
                    Diagnostic::error(
                        "E0103",
                        format!("`{name}` must be {}, found {}", article(&expected), type_name(found)),
                    ),
                    false,
                )
                .label(format!("expected {expected}"));
                if let Some(desc) = described {
                    d = d.help(desc);
                }
                out.push(d);
            }
            ValidationErrorKind::Minimum { limit } | ValidationErrorKind::Maximum { limit } => {
                let bound = if matches!(e.kind(), ValidationErrorKind::Minimum { .. }) { "at least" } else { "at most" };
                let mut d = at(
                    Diagnostic::error("E0105", format!("`{name}` is {found}, but it must be {bound} {limit}")),
                    false,
                )
                .label("out of range");
                if let Some(desc) = described {
                    d = d.help(desc);
                }
                out.push(d);
            }
            ValidationErrorKind::MinItems { limit } | ValidationErrorKind::MaxItems { limit } => {
                let bound = if matches!(e.kind(), ValidationErrorKind::MinItems { .. }) { "at least" } else { "at most" };
                let n = found.as_array().map_or(0, Vec::len);
                out.push(
                    at(
                        Diagnostic::error(
                            "E0105",
                            format!("`{name}` has {n} item(s), but it must have {bound} {limit}"),
                        ),
                        false,
                    )
                    .label("wrong number of items"),
                );
            }
            ValidationErrorKind::Enum { options } => {
                let opts = options.as_array().map(|a| a.iter().map(|o| o.to_string()).collect::<Vec<_>>()).unwrap_or_default();
                let mut d = at(
                    Diagnostic::error("E0104", format!("`{name}` is {found}, which is not allowed")),
                    false,
                )
                .label("not one of the allowed values")
                .help(format!("expected one of: {}", opts.join(", ")));
                if let (Some(s), false) = (found.as_str(), opts.is_empty()) {
                    let plain: Vec<String> = opts.iter().map(|o| o.trim_matches('"').to_string()).collect();
                    if let Some(best) = closest(s, &plain) {
                        d = d.help(format!("did you mean `{best}`?"));
                    }
                }
                out.push(d);
            }
            ValidationErrorKind::Constant { expected_value } => out.push(
                at(Diagnostic::error("E0104", format!("`{name}` must be {expected_value}, found {found}")), false)
                    .label(format!("expected {expected_value}")),
            ),
            ValidationErrorKind::Pattern { .. } | ValidationErrorKind::Format { .. } => {
                let mut d = at(
                    Diagnostic::error("E0104", format!("`{name}` has an invalid value {found}")),
                    false,
                )
                .label("does not have the expected form");
                if let Some(desc) = described {
                    d = d.help(desc);
                }
                out.push(d);
            }
            ValidationErrorKind::PropertyNames { error } => {
                let key = error.instance().as_str().unwrap_or_default().to_string();
                let child = format!("{pointer}/{}", escape_pointer(&key));
                let mut d = Diagnostic::error("E0104", format!("`{key}` is not a valid name in {}", where_(&name)))
                    .at(file, spans.key(&child))
                    .label("invalid name");
                if let Some(desc) = description_at(&format!("{schema_path}/x")) {
                    d = d.help(desc);
                }
                out.push(d);
            }
            ValidationErrorKind::UniqueItems => out.push(
                at(Diagnostic::error("E0104", format!("`{name}` lists the same item twice")), false)
                    .label("duplicate items"),
            ),
            ValidationErrorKind::MinLength { limit } | ValidationErrorKind::MaxLength { limit } => {
                let bound = if matches!(e.kind(), ValidationErrorKind::MinLength { .. }) { "at least" } else { "at most" };
                out.push(
                    at(
                        Diagnostic::error("E0105", format!("`{name}` must be {bound} {limit} characters long")),
                        false,
                    )
                    .label("wrong length"),
                );
            }
            ValidationErrorKind::OneOfNotValid { .. } | ValidationErrorKind::AnyOf { .. } => {
                let mut d = at(Diagnostic::error("E0104", format!("`{name}` has an invalid value")), false)
                    .label("not a valid form");
                if let Some(desc) = description_at(&format!("{schema_path}/x")) {
                    d = d.help(desc);
                }
                out.push(d);
            }
            _ => out.push(at(Diagnostic::error("E0106", format!("`{name}`: {e}")), false)),
        }
    }
    out.sort_by_key(|d| d.span.map(|s| s.start));
    out
}

fn where_(name: &str) -> String {
    if name.is_empty() { "the blueprint".into() } else { format!("`{name}`") }
}

/// `/notebooks/instances/0/owner` -> `notebooks.instances[0].owner`
pub fn display_path(pointer: &str) -> String {
    let mut out = String::new();
    for seg in pointer.split('/').skip(1) {
        let seg = seg.replace("~1", "/").replace("~0", "~");
        if seg.chars().all(|c| c.is_ascii_digit()) && !seg.is_empty() {
            out.push_str(&format!("[{seg}]"));
        } else {
            if !out.is_empty() {
                out.push('.');
            }
            out.push_str(&seg);
        }
    }
    out
}

fn article(t: &str) -> String {
    match t.chars().next() {
        Some('a' | 'e' | 'i' | 'o' | 'u') => format!("an {t}"),
        _ => format!("a {t}"),
    }
}

fn type_name(v: &Value) -> String {
    match v {
        Value::Null => "nothing (null)".into(),
        Value::Bool(b) => format!("the boolean {b}"),
        Value::Number(n) => format!("the number {n}"),
        Value::String(s) => format!("the string {s:?}"),
        Value::Array(_) => "a list".into(),
        Value::Object(_) => "a mapping".into(),
    }
}

/// The description of the schema node that owns the keyword at `schema_path`.
fn description_at(schema_path: &str) -> Option<String> {
    let parent = schema_path.rsplit_once('/').map_or("", |(p, _)| p);
    schema().pointer(parent)?.get("description")?.as_str().map(str::to_string)
}

fn known_keys(schema_path: &str) -> Vec<String> {
    let parent = schema_path.rsplit_once('/').map_or("", |(p, _)| p);
    schema()
        .pointer(parent)
        .and_then(|s| s.get("properties"))
        .and_then(Value::as_object)
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default()
}

/// The candidate closest to `word`, if it is close enough to be a likely typo.
pub fn closest(word: &str, candidates: &[String]) -> Option<String> {
    candidates
        .iter()
        .map(|c| (strsim::damerau_levenshtein(word, c), c))
        .filter(|(d, c)| *d <= (c.len() / 3).max(2))
        .min()
        .map(|(_, c)| c.clone())
}
