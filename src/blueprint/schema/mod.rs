//! The blueprint's JSON Schema (`schemas/blueprint-v1.schema.json`), applied with `jsonschema`,
//! its errors turned into diagnostics that point at the offending key or value.

use std::sync::OnceLock;

use jsonschema::ValidationError;
use jsonschema::error::{TypeKind, ValidationErrorKind};
use serde_json::Value;

use crate::source::{Diagnostic, SourceFile, Span, Spans, yaml::escape_pointer};

mod help;
mod keys;

pub use help::closest;
use help::{
    article, describe_form, found_word, keys_of, pattern_help, plain, plural, type_help, type_word,
    unknown_key_help, where_,
};
pub use keys::{closest_key, display_path, explain_key, key_paths};

pub const SCHEMA_TEXT: &str = include_str!("../../../schemas/blueprint-v1.schema.json");

pub fn schema() -> &'static Value {
    static SCHEMA: OnceLock<Value> = OnceLock::new();
    SCHEMA.get_or_init(|| {
        serde_json::from_str(SCHEMA_TEXT).expect("the blueprint schema is valid JSON")
    })
}

fn validator() -> &'static jsonschema::Validator {
    static VALIDATOR: OnceLock<jsonschema::Validator> = OnceLock::new();
    VALIDATOR
        .get_or_init(|| jsonschema::draft7::new(schema()).expect("the blueprint schema compiles"))
}

/// All schema errors of a blueprint, in source order.
pub fn validate(file: &SourceFile, value: &Value, spans: &Spans) -> Vec<Diagnostic> {
    let mut cx = Cx {
        file,
        spans,
        out: Vec::new(),
        reported: Vec::new(),
        unknown: Vec::new(),
        missing: Vec::new(),
        typos: Vec::new(),
    };
    for e in validator().iter_errors(value) {
        cx.error(&e);
    }
    // A missing key whose misspelling is there already is one mistake: the unknown key's
    // "did you mean" says it all.
    for (pointer, key, d) in std::mem::take(&mut cx.missing) {
        if !cx.typos.iter().any(|(p, k)| *p == pointer && *k == key) {
            cx.out.push(d);
        }
    }
    // JSON Schema counts 1.0 as an integer; the model (and every reader of an integer key)
    // does not. A whole number written with a decimal point is reported here, where the schema
    // had nothing to say, instead of failing later without a position.
    let mut floats = Vec::new();
    whole_floats(value, String::new(), &mut |pointer, n| {
        floats.push((pointer, n))
    });
    for (pointer, n) in floats {
        if cx.reported.contains(&pointer)
            || cx.unknown.iter().any(|u| pointer.starts_with(u.as_str()))
        {
            continue;
        }
        let d = Diagnostic::error(
            "E0103",
            format!(
                "`{}` must be a whole number without a decimal point, found {n:?}",
                display_path(&pointer)
            ),
        )
        .at(file, spans.value(&pointer))
        .label("expected an integer")
        .help(format!("write `{}`", n as i64));
        cx.out.push(d);
    }
    let mut out = cx.out;
    out.sort_by_key(|d| d.span.map(|s| s.start));
    out
}

/// Pointers of the nodes the schema rejects (an unknown key, a wrong value, a mapping missing a
/// required key, a whole number with a decimal point), without diagnostics: what
/// [`super::salvage`] cuts away to check the rest.
pub fn rejected(value: &Value) -> Vec<String> {
    let mut out = Vec::new();
    for e in validator().iter_errors(value) {
        let pointer = e.instance_path().as_str().to_string();
        match e.kind() {
            ValidationErrorKind::AdditionalProperties { unexpected } => out.extend(
                unexpected
                    .iter()
                    .map(|k| format!("{pointer}/{}", escape_pointer(k))),
            ),
            ValidationErrorKind::PropertyNames { error } => out.push(format!(
                "{pointer}/{}",
                escape_pointer(error.instance().as_str().unwrap_or_default())
            )),
            _ => out.push(pointer),
        }
    }
    whole_floats(value, String::new(), &mut |pointer, _| out.push(pointer));
    out
}

/// Turns schema errors into diagnostics, remembering where it reported so that the float check
/// does not say the same thing twice.
struct Cx<'a> {
    file: &'a SourceFile,
    spans: &'a Spans,
    out: Vec<Diagnostic>,
    reported: Vec<String>,
    /// `pointer/` of every unknown key: nothing under it is worth another message.
    unknown: Vec<String>,
    /// Missing required keys: (mapping, key, diagnostic), reported unless a typo explains them.
    missing: Vec<(String, String, Diagnostic)>,
    /// (mapping, known key) for every unknown key that looks like a misspelling.
    typos: Vec<(String, String)>,
}

impl Cx<'_> {
    /// The value at `pointer`, cut to its first line: a caret under a whole multi-line mapping
    /// says less than one under its start.
    fn value_span(&self, pointer: &str) -> Span {
        let s = self.spans.value(pointer);
        let text =
            &self.file.text[s.start.min(self.file.text.len())..s.end.min(self.file.text.len())];
        match text.find('\n') {
            Some(i) => Span {
                start: s.start,
                end: s.start + text[..i].trim_end().len().max(1),
            },
            None => s,
        }
    }

    fn error(&mut self, e: &ValidationError) {
        let pointer = e.instance_path().as_str().to_string();
        self.reported.push(pointer.clone());
        let schema_path = e.schema_path().as_str().to_string();
        // The schema node that holds the failing keyword.
        let node_path = schema_path
            .rsplit_once('/')
            .map_or("", |(p, _)| p)
            .to_string();
        let node = schema().pointer(&node_path).cloned().unwrap_or(Value::Null);
        let described = node
            .get("description")
            .and_then(Value::as_str)
            .map(str::to_string);
        let found = e.instance();
        let name = display_path(&pointer);
        // `the blueprint` for the root, `` `network.cidr` `` elsewhere.
        let subject = where_(&name);
        let file = self.file;
        let at_value = |code: &'static str, message: String| {
            Diagnostic::error(code, message).at(file, self.value_span(&pointer))
        };
        let with_description = |d: Diagnostic| match &described {
            Some(desc) => d.help(desc.clone()),
            None => d,
        };
        let d = match e.kind() {
            ValidationErrorKind::AdditionalProperties { unexpected } => {
                let known = keys_of(&node);
                for key in unexpected {
                    let child = format!("{pointer}/{}", escape_pointer(key));
                    self.unknown.push(format!("{child}/"));
                    self.reported.push(child.clone());
                    let d = Diagnostic::error("E0101", format!("unknown key `{key}` in {subject}"))
                        .at(self.file, self.spans.key(&child))
                        .label("not a key of the blueprint format");
                    if let Some(best) = closest(key, &known) {
                        self.typos.push((pointer.clone(), best));
                    }
                    self.out.push(unknown_key_help(d, key, &known));
                }
                return;
            }
            ValidationErrorKind::Required { property } => {
                let key = property.as_str().unwrap_or_default();
                // Point at the key that names the incomplete mapping, or at its first line.
                let span = match self.spans.get(&pointer).and_then(|n| n.key) {
                    Some(k) => k,
                    None => self.value_span(&pointer),
                };
                let mut d = Diagnostic::error(
                    "E0102",
                    format!("missing required key `{key}` in {subject}"),
                )
                .at(self.file, span)
                .label(format!("`{key}` is required here"));
                let child = node.pointer(&format!("/properties/{}", escape_pointer(key)));
                if let Some(desc) = child
                    .and_then(|c| c.get("description"))
                    .and_then(Value::as_str)
                {
                    d = d.help(format!("`{key}`: {desc}"));
                }
                self.missing.push((pointer, key.to_string(), d));
                return;
            }
            ValidationErrorKind::Type { kind } => {
                let expected: Vec<&str> = match kind {
                    TypeKind::Single(t) => vec![type_word(&t.to_string())],
                    TypeKind::Multiple(ts) => {
                        ts.iter().map(|t| type_word(&t.to_string())).collect()
                    }
                };
                let expected = expected
                    .iter()
                    .map(|t| article(t))
                    .collect::<Vec<_>>()
                    .join(" or ");
                let d = at_value(
                    "E0103",
                    format!("{subject} must be {expected}, found {}", found_word(found)),
                )
                .label(format!("expected {expected}"));
                with_description(type_help(d, &node, found))
            }
            ValidationErrorKind::Minimum { .. } | ValidationErrorKind::Maximum { .. } => {
                let range = match (node.get("minimum"), node.get("maximum")) {
                    (Some(lo), Some(hi)) => format!("from {lo} to {hi}"),
                    (Some(lo), None) => format!("at least {lo}"),
                    (None, Some(hi)) => format!("at most {hi}"),
                    (None, None) => "in range".into(),
                };
                let d = at_value(
                    "E0105",
                    format!("`{name}` is {found}, but it must be {range}"),
                )
                .label("out of range");
                with_description(d)
            }
            ValidationErrorKind::MinItems { limit } | ValidationErrorKind::MaxItems { limit } => {
                let n = found.as_array().map_or(0, Vec::len);
                let message = match (e.kind(), n) {
                    (ValidationErrorKind::MinItems { .. }, 0) => format!(
                        "`{name}` is empty; it needs at least {limit} item{}",
                        plural(*limit)
                    ),
                    (ValidationErrorKind::MinItems { .. }, _) => format!(
                        "`{name}` has {n} item{}; it needs at least {limit}",
                        plural(n as u64)
                    ),
                    _ => format!(
                        "`{name}` has {n} item{}; at most {limit} are allowed",
                        plural(n as u64)
                    ),
                };
                with_description(at_value("E0105", message).label("wrong number of items"))
            }
            ValidationErrorKind::MaxProperties { limit } => {
                let n = found.as_object().map_or(0, |m| m.len());
                let d = Diagnostic::error(
                    "E0105",
                    format!("{subject} has {n} entries; at most {limit} are allowed"),
                )
                .at(self.file, self.spans.key(&pointer))
                .label("too many entries");
                with_description(d)
            }
            ValidationErrorKind::Enum { options } => {
                let opts: Vec<String> = options
                    .as_array()
                    .map(|a| a.iter().map(plain).collect())
                    .unwrap_or_default();
                let mut d = at_value(
                    "E0104",
                    format!("`{name}` is {found}, which is not one of the allowed values"),
                )
                .label("not an allowed value");
                if let Some(best) = found.as_str().and_then(|s| closest(s, &opts)) {
                    d = d.help(format!("did you mean `{best}`?"));
                }
                d.help(format!("expected one of: {}", opts.join(", ")))
            }
            ValidationErrorKind::Constant { expected_value } => {
                let d = at_value(
                    "E0104",
                    format!(
                        "`{name}` must be {expected_value}, found {}",
                        found_word(found)
                    ),
                )
                .label(format!("expected {expected_value}"));
                with_description(type_help(d, &node, found))
            }
            ValidationErrorKind::Pattern { .. } | ValidationErrorKind::Format { .. } => {
                let d = at_value("E0104", format!("invalid `{name}`: {found}"));
                pattern_help(d, &node, found, described.as_deref())
            }
            ValidationErrorKind::PropertyNames { error } => {
                let key = error.instance().as_str().unwrap_or_default().to_string();
                let child = format!("{pointer}/{}", escape_pointer(&key));
                self.unknown.push(format!("{child}/"));
                // The error's keyword is `propertyNames` or its inner `pattern`.
                let names = if node.get("pattern").is_some() {
                    node.clone()
                } else {
                    node.get("propertyNames").cloned().unwrap_or(Value::Null)
                };
                let d = Diagnostic::error(
                    "E0104",
                    format!("`{key}` is not a valid name in {}", where_(&name)),
                )
                .at(self.file, self.spans.key(&child));
                pattern_help(d, &names, error.instance(), None)
            }
            ValidationErrorKind::UniqueItems => {
                let items = found.as_array().cloned().unwrap_or_default();
                let dup = (1..items.len()).find(|&j| items[..j].contains(&items[j]));
                match dup {
                    Some(j) => Diagnostic::error(
                        "E0104",
                        format!("`{}` is listed twice in `{name}`", plain(&items[j])),
                    )
                    .at(self.file, self.value_span(&format!("{pointer}/{j}")))
                    .label("listed before")
                    .help("each item may appear once; remove this one"),
                    None => at_value("E0104", format!("`{name}` lists the same item twice"))
                        .label("duplicate items"),
                }
            }
            ValidationErrorKind::MinLength { limit } | ValidationErrorKind::MaxLength { limit } => {
                let n = found.as_str().map_or(0, |s| s.chars().count());
                let message = match e.kind() {
                    ValidationErrorKind::MinLength { .. } if *limit == 1 => {
                        format!("`{name}` must not be empty")
                    }
                    ValidationErrorKind::MinLength { .. } => {
                        format!("`{name}` is {n} characters long; it needs at least {limit}")
                    }
                    _ => format!("`{name}` is {n} characters long; at most {limit} are allowed"),
                };
                with_description(at_value("E0105", message).label("wrong length"))
            }
            ValidationErrorKind::OneOfNotValid { context }
            | ValidationErrorKind::AnyOf { context } => {
                // The alternative whose shape (type or constant) fits the value explains the
                // problem best; with none, say which shapes are allowed.
                let fitting: Vec<&Vec<ValidationError>> = context
                    .iter()
                    .filter(|errors| {
                        !errors.iter().any(|sub| {
                            sub.instance_path().as_str() == pointer
                                && matches!(
                                    sub.kind(),
                                    ValidationErrorKind::Type { .. }
                                        | ValidationErrorKind::Constant { .. }
                                )
                        })
                    })
                    .collect();
                if let [errors] = fitting.as_slice() {
                    for sub in errors.iter() {
                        self.error(sub);
                    }
                    return;
                }
                let branches = node
                    .get("oneOf")
                    .or_else(|| node.get("anyOf"))
                    .and_then(Value::as_array)
                    .cloned()
                    .unwrap_or_default();
                let forms: Vec<String> = branches.iter().map(describe_form).collect();
                let d = at_value(
                    "E0104",
                    format!(
                        "{subject} must be {}, found {}",
                        forms.join(" or "),
                        found_word(found)
                    ),
                )
                .label("not a valid form");
                with_description(d)
            }
            _ => at_value("E0106", format!("`{name}`: {e}")),
        };
        self.out.push(d);
    }
}

/// Floats with no fractional part, by JSON pointer.
fn whole_floats(v: &Value, pointer: String, f: &mut impl FnMut(String, f64)) {
    match v {
        Value::Number(n) if n.is_f64() => {
            if let Some(x) = n.as_f64().filter(|x| x.fract() == 0.0 && x.abs() < 1e15) {
                f(pointer, x);
            }
        }
        Value::Array(a) => a
            .iter()
            .enumerate()
            .for_each(|(i, x)| whole_floats(x, format!("{pointer}/{i}"), f)),
        Value::Object(m) => m
            .iter()
            .for_each(|(k, x)| whole_floats(x, format!("{pointer}/{}", escape_pointer(k)), f)),
        _ => {}
    }
}
