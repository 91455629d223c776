//! The blueprint's JSON Schema (`schemas/blueprint-v1.schema.json`), applied with `jsonschema`,
//! its errors turned into diagnostics that point at the offending key or value.

use std::sync::OnceLock;

use jsonschema::ValidationError;
use jsonschema::error::{TypeKind, ValidationErrorKind};
use serde_json::Value;

use crate::source::{Diagnostic, SourceFile, Span, Spans, yaml::escape_pointer};

pub const SCHEMA_TEXT: &str = include_str!("../../schemas/blueprint-v1.schema.json");

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

fn unknown_key_help(mut d: Diagnostic, key: &str, known: &[String]) -> Diagnostic {
    if key == "<<" {
        return d.help("YAML merge keys (`<<: *anchor`) are not supported; write the keys out");
    }
    if let Some(best) = closest(key, known) {
        d = d.help(format!("did you mean `{best}`?"));
    } else {
        let elsewhere: Vec<String> = key_paths()
            .iter()
            .filter_map(|p| p.strip_suffix(&format!(".{key}")).map(str::to_string))
            .collect();
        if !elsewhere.is_empty() {
            let places: Vec<String> = elsewhere.iter().map(|p| format!("`{p}`")).collect();
            d = d.help(format!("`{key}` is a key of {}", places.join(" and ")));
        }
    }
    if known.is_empty() {
        d
    } else {
        d.help(format!("expected one of: {}", known.join(", ")))
    }
}

/// Hints for values that parse as another type than the one expected: quotes to add or remove,
/// YAML 1.1 booleans.
fn type_help(d: Diagnostic, node: &Value, found: &Value) -> Diagnostic {
    let wants = |t: &str| {
        node.get("type").and_then(Value::as_str) == Some(t)
            || (t == "integer" && node.get("const").is_some_and(Value::is_i64))
    };
    match found {
        Value::String(s)
            if wants("boolean")
                && matches!(
                    s.to_ascii_lowercase().as_str(),
                    "yes" | "no" | "on" | "off" | "y" | "n"
                ) =>
        {
            d.help("write `true` or `false`: YAML 1.2 reads yes/no/on/off as strings")
        }
        Value::String(s) if wants("boolean") && s.parse::<bool>().is_ok() => {
            d.help(format!("remove the quotes: `{s}`"))
        }
        Value::String(s) if wants("integer") && s.trim().parse::<i64>().is_ok() => {
            d.help(format!("remove the quotes: `{}`", s.trim()))
        }
        // Quoting helps only if the quoted value is then valid.
        Value::Number(_) | Value::Bool(_)
            if wants("string") && valid_against(node, &Value::String(found.to_string())) =>
        {
            d.help(format!("quote it to make it a string: \"{found}\""))
        }
        Value::String(s) if wants("object") => match node
            .get("required")
            .and_then(Value::as_array)
            .map(Vec::as_slice)
        {
            Some([key]) => d.help(format!("did you mean `{}: {s}`?", plain(key))),
            _ => d,
        },
        _ => d,
    }
}

fn valid_against(node: &Value, v: &Value) -> bool {
    jsonschema::draft7::new(node).is_ok_and(|validator| validator.is_valid(v))
}

/// `type: integer` -> `integer`, `object` -> `mapping`: the words a YAML author uses.
fn type_word(t: &str) -> &'static str {
    match t {
        "object" => "mapping",
        "array" => "list",
        "string" => "string",
        "integer" => "integer",
        "number" => "number",
        "boolean" => "boolean",
        _ => "null",
    }
}

fn found_word(v: &Value) -> String {
    match v {
        Value::Null => "nothing (an empty value)".into(),
        Value::Bool(b) => format!("the boolean {b}"),
        Value::Number(n) => format!("the number {n}"),
        Value::String(s) => format!("the string {s:?}"),
        Value::Array(_) => "a list".into(),
        Value::Object(_) => "a mapping".into(),
    }
}

/// A value for a user: strings without JSON quotes.
fn plain(v: &Value) -> String {
    v.as_str().map_or_else(|| v.to_string(), str::to_string)
}

fn plural(n: u64) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// One alternative of a `oneOf`, in words: "`auto`", "a list".
fn describe_form(branch: &Value) -> String {
    if let Some(c) = branch.get("const") {
        return format!("`{}`", plain(c));
    }
    match branch.get("type").and_then(Value::as_str) {
        Some("array") => match branch.pointer("/items/enum").and_then(Value::as_array) {
            Some(e) => format!(
                "a list of: {}",
                e.iter().map(plain).collect::<Vec<_>>().join(", ")
            ),
            None => "a list".into(),
        },
        Some(t) => article(type_word(t)),
        None => "another form".into(),
    }
}

/// The form a pattern describes and an example, by the pattern's text (a test checks that
/// every pattern of the schema has one).
const FORMS: &[(&str, &str, &str)] = &[
    (
        "^[a-z][a-z0-9-]{1,22}[a-z0-9]$",
        "3 to 24 lower-case letters, digits and dashes, starting with a letter and not ending with a dash",
        "research",
    ),
    (
        "^(?!aws:)[A-Za-z0-9 _.:/=+@-]{1,128}$",
        "1 to 128 letters, digits, spaces and _.:/=+@-, not starting with `aws:`",
        "cost-center",
    ),
    (
        "^[A-Za-z0-9 _.:/=+@-]*$",
        "letters, digits, spaces and _.:/=+@-",
        "data-science",
    ),
    (
        "^(25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])(\\.(25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])){3}/([0-9]|[12][0-9]|3[0-2])$",
        "an IPv4 block: four numbers 0 to 255, a slash and a prefix length",
        "10.0.0.0/16",
    ),
    (
        "^vpc-([0-9a-f]{8}|[0-9a-f]{17})$",
        "a VPC id: vpc- and 8 or 17 hex digits",
        "vpc-0123456789abcdef0",
    ),
    (
        "^subnet-([0-9a-f]{8}|[0-9a-f]{17})$",
        "a subnet id: subnet- and 8 or 17 hex digits",
        "subnet-0123456789abcdef0",
    ),
    (
        "^rtb-([0-9a-f]{8}|[0-9a-f]{17})$",
        "a route table id: rtb- and 8 or 17 hex digits",
        "rtb-0123456789abcdef0",
    ),
    (
        "^(create|arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/(mrk-)?[0-9a-f-]{32,36})$",
        "`create`, or the ARN of a KMS key (not an alias)",
        "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab",
    ),
    (
        "^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$",
        "a bucket name: 3 to 63 lower-case letters, digits, dots and dashes (the name, not an ARN)",
        "acme-ml-datasets",
    ),
    (
        "^[^*?\\s]*$",
        "a key prefix without wildcards (* ?) or spaces",
        "datasets/",
    ),
    (
        "^https://[A-Za-z0-9.-]+(:[0-9]{1,5})?(/[^\\s'\\\"\\\\\\\\$`]*)?$",
        "an https URL without spaces, quotes, backslashes, $ or backticks",
        "https://pypi.example.com/simple",
    ),
    (
        "^(embed|s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]/([^\\s*?]*/)?)$",
        "`embed`, or s3://BUCKET/PREFIX/ ending in a slash",
        "s3://acme-lifecycle/scripts/",
    ),
    (
        "^ml\\.[a-z0-9]+\\.[a-z0-9]+$",
        "a SageMaker instance type: ml.FAMILY.SIZE",
        "ml.t3.medium",
    ),
    (
        "^[a-z]([a-z0-9-]{0,29}[a-z0-9])?$",
        "1 to 31 lower-case letters, digits and dashes, starting with a letter and not ending with a dash",
        "alice",
    ),
    (
        "^[a-z][a-z0-9-]{0,30}[a-z0-9]$",
        "2 to 32 lower-case letters, digits and dashes, starting with a letter and not ending with a dash",
        "analysis",
    ),
    (
        "^https://[^\\s]+$",
        "an https URL",
        "https://git-codecommit.us-east-1.amazonaws.com/v1/repos/analysis",
    ),
    (
        "^arn:aws[a-z-]*:iam::[0-9]{12}:(role|user)/([\\w+=,.@-]+/)*[\\w+=,.@-]{1,64}$",
        "the ARN of an IAM role or user",
        "arn:aws:iam::111122223333:role/alice",
    ),
    (
        "^pl-[0-9a-f]{8,17}$",
        "a managed prefix list id: pl- and 8 to 17 hex digits",
        "pl-6da54004",
    ),
    (
        "^sg-([0-9a-f]{8}|[0-9a-f]{17})$",
        "a security group id: sg- and 8 or 17 hex digits",
        "sg-0123456789abcdef0",
    ),
    (
        "^vpce-svc-[0-9a-f]{17}$",
        "a PrivateLink endpoint service id: vpce-svc- and 17 hex digits",
        "vpce-svc-0123456789abcdef0",
    ),
    (
        "^[\\w.-]{1,100}$",
        "a CodeCommit repository name: 1 to 100 letters, digits, _ . and -",
        "analysis",
    ),
    (
        "^[A-Z][A-Z0-9_]+$",
        "a rule id: upper-case letters, digits and underscores",
        "NOTEBOOK_ROOT_ACCESS_DISABLED",
    ),
];

fn form_of(node: &Value) -> Option<(&'static str, &'static str)> {
    let pattern = node.get("pattern")?.as_str()?;
    FORMS
        .iter()
        .find(|(p, _, _)| *p == pattern)
        .map(|(_, form, example)| (*form, *example))
}

/// Label, likely fix and example for a value that does not match its pattern.
fn pattern_help(d: Diagnostic, node: &Value, found: &Value, described: Option<&str>) -> Diagnostic {
    let mut d = match form_of(node) {
        Some((form, _)) => d.label(format!("expected {form}")),
        None => d.label("does not have the expected form"),
    };
    if let (Some(s), Some(pattern)) = (found.as_str(), node.get("pattern")) {
        // The usual slips: capitals, underscores, http instead of https.
        let guesses = [
            s.to_lowercase().replace('_', "-"),
            s.replacen("http://", "https://", 1),
        ];
        let fits = |c: &str| {
            jsonschema::draft7::new(&serde_json::json!({ "pattern": pattern }))
                .is_ok_and(|v| v.is_valid(&Value::from(c)))
        };
        if let Some(fix) = guesses.iter().find(|c| c.as_str() != s && fits(c)) {
            d = d.help(format!("did you mean `{fix}`?"));
        }
    }
    if let Some((_, example)) = form_of(node) {
        d = d.help(format!("for example: `{example}`"));
    }
    match described {
        Some(desc) => d.help(desc),
        None => d,
    }
}

fn keys_of(node: &Value) -> Vec<String> {
    node.get("properties")
        .and_then(Value::as_object)
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default()
}

/// Every key the format knows, as dotted paths: `lifecycle.idle_shutdown`,
/// `notebooks.instances[].owner`, `repositories.<name>.url`.
pub fn key_paths() -> &'static [String] {
    static PATHS: OnceLock<Vec<String>> = OnceLock::new();
    PATHS.get_or_init(|| {
        fn walk(node: &Value, path: &str, out: &mut Vec<String>) {
            if let Some(props) = node.get("properties").and_then(Value::as_object) {
                for (k, child) in props {
                    let p = if path.is_empty() {
                        k.clone()
                    } else {
                        format!("{path}.{k}")
                    };
                    out.push(p.clone());
                    walk(child, &p, out);
                }
            }
            if let Some(items) = node.get("items").filter(|i| i.get("properties").is_some()) {
                walk(items, &format!("{path}[]"), out);
            }
            if let Some(extra) = node
                .get("additionalProperties")
                .filter(|a| a.get("properties").is_some())
            {
                walk(extra, &format!("{path}.<name>"), out);
            }
        }
        let mut out = Vec::new();
        walk(schema(), "", &mut out);
        out
    })
}

fn where_(name: &str) -> String {
    if name.is_empty() {
        "the blueprint".into()
    } else {
        format!("`{name}`")
    }
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

/// The candidate closest to `word`, if it is close enough to be a likely typo.
pub fn closest(word: &str, candidates: &[String]) -> Option<String> {
    candidates
        .iter()
        .map(|c| (strsim::damerau_levenshtein(word, c), c))
        .filter(|(d, c)| *d <= (c.len() / 3).max(2))
        .min()
        .map(|(_, c)| c.clone())
}

/// The schema node for a dotted key path (`lifecycle.idle_shutdown`,
/// `notebooks.instances[].owner`, `notebooks.instances[0].owner`, `repositories.analysis.url`),
/// with the path in its canonical form and whether the key is required where it sits.
fn node_for_key(path: &str) -> Option<(String, &'static Value, bool)> {
    let mut node = schema();
    let mut canonical = String::new();
    let mut required = false;
    for raw in path.trim().split('.').filter(|s| !s.is_empty()) {
        let (seg, indexed) = match raw.find('[') {
            Some(i) if raw.ends_with(']') => (&raw[..i], true),
            Some(_) => return None,
            None => (raw, false),
        };
        // A key under a list names a key of its items: `notebooks.instances.owner`.
        if node.get("items").is_some() && !seg.is_empty() {
            node = node.get("items")?;
            canonical.push_str("[]");
        }
        if !seg.is_empty() {
            let (next, name) = match node.pointer(&format!("/properties/{}", escape_pointer(seg))) {
                Some(n) => (n, seg.to_string()),
                None => (
                    node.get("additionalProperties").filter(|a| a.is_object())?,
                    "<name>".to_string(),
                ),
            };
            required = node
                .get("required")
                .and_then(Value::as_array)
                .is_some_and(|r| r.iter().any(|k| k == seg));
            if !canonical.is_empty() {
                canonical.push('.');
            }
            canonical.push_str(&name);
            node = next;
        }
        if indexed {
            node = node.get("items")?;
            canonical.push_str("[]");
        }
    }
    (!canonical.is_empty()).then_some((canonical, node, required))
}

/// What `nbsynth explain KEY` prints for a blueprint key: its description, type, default,
/// allowed values or form, and the keys under it. `None` if the format has no such key.
pub fn explain_key(path: &str) -> Option<String> {
    let (canonical, node, required) = node_for_key(path)?;
    let mut out = format!("{canonical}\n\n");
    if let Some(desc) = node.get("description").and_then(Value::as_str) {
        out.push_str(&format!("{desc}\n\n"));
    }
    let mut facts: Vec<(&str, String)> = Vec::new();
    facts.push(("type", describe_type(node)));
    facts.push((
        "required",
        if required { "yes".into() } else { "no".into() },
    ));
    if let Some(d) = node.get("default") {
        facts.push(("default", plain(d)));
    }
    if let Some(values) = node.get("enum").and_then(Value::as_array) {
        facts.push((
            "allowed",
            values.iter().map(plain).collect::<Vec<_>>().join(", "),
        ));
    }
    if let Some(branches) = node.get("oneOf").and_then(Value::as_array) {
        facts.push((
            "allowed",
            branches
                .iter()
                .map(describe_form)
                .collect::<Vec<_>>()
                .join("; or "),
        ));
    }
    if let Some((form, example)) = form_of(node).or_else(|| node.get("items").and_then(form_of)) {
        facts.push(("form", form.to_string()));
        facts.push(("example", example.to_string()));
    }
    for (k, v) in facts {
        out.push_str(&format!("  {k:<9} {v}\n"));
    }
    let keys_node = node.get("items").unwrap_or(node);
    let keys_node = keys_node
        .get("additionalProperties")
        .filter(|a| a.get("properties").is_some())
        .unwrap_or(keys_node);
    if let Some(props) = keys_node.get("properties").and_then(Value::as_object) {
        out.push_str("\nkeys:\n");
        let width = props.keys().map(String::len).max().unwrap_or(0);
        for (k, child) in props {
            let desc = child
                .get("description")
                .and_then(Value::as_str)
                .unwrap_or("");
            // The first sentence is enough in a list; `nbsynth explain` on the key gives the rest.
            let first = desc
                .split(". ")
                .next()
                .unwrap_or(desc)
                .trim_end_matches('.');
            out.push_str(&format!("  {k:<width$}  {first}\n"));
        }
    }
    Some(out)
}

/// The known key closest to a misspelled path, for "did you mean".
pub fn closest_key(path: &str) -> Option<String> {
    let wanted = path.replace(|c: char| c == '[' || c == ']' || c.is_ascii_digit(), "");
    let candidates: Vec<String> = key_paths().iter().map(|p| p.replace("[]", "")).collect();
    closest(&wanted, &candidates).and_then(|best| {
        key_paths()
            .iter()
            .find(|p| p.replace("[]", "") == best)
            .cloned()
    })
}

fn describe_type(node: &Value) -> String {
    if let Some(c) = node.get("const") {
        return format!("the constant {}", plain(c));
    }
    if node.get("oneOf").is_some() {
        return "one of several forms".into();
    }
    if node.get("enum").is_some() {
        return "string".into();
    }
    let t = node.get("type").and_then(Value::as_str).unwrap_or("any");
    let range = match (node.get("minimum"), node.get("maximum")) {
        (Some(lo), Some(hi)) => format!(", {lo} to {hi}"),
        _ => String::new(),
    };
    match t {
        "array" => {
            let item = node
                .get("items")
                .map(describe_type)
                .unwrap_or_else(|| "any".into());
            let count = match (node.get("minItems"), node.get("maxItems")) {
                (Some(lo), Some(hi)) => format!(", {lo} to {hi} items"),
                (Some(lo), None) => {
                    format!(", at least {lo} item{}", plural(lo.as_u64().unwrap_or(0)))
                }
                (None, Some(hi)) => format!(", at most {hi} items"),
                (None, None) => String::new(),
            };
            // `list of strings`, `list of mappings`
            let item = if item.contains(' ') {
                item
            } else {
                format!("{item}s")
            };
            format!("list of {item}{count}")
        }
        "object"
            if node
                .get("additionalProperties")
                .is_some_and(Value::is_object) =>
        {
            format!(
                "mapping of names to {}",
                node.get("additionalProperties")
                    .map(describe_type)
                    .unwrap_or_default()
            )
        }
        other => format!("{}{range}", type_word(other)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every pattern of the schema has a form and an example in [`FORMS`], and the example fits.
    #[test]
    fn every_pattern_has_a_form() {
        fn walk(v: &Value, out: &mut Vec<String>) {
            match v {
                Value::Object(m) => {
                    if let Some(p) = m.get("pattern").and_then(Value::as_str) {
                        out.push(p.to_string());
                    }
                    m.values().for_each(|x| walk(x, out));
                }
                Value::Array(a) => a.iter().for_each(|x| walk(x, out)),
                _ => {}
            }
        }
        let mut patterns = Vec::new();
        walk(schema(), &mut patterns);
        for p in patterns {
            let node = serde_json::json!({ "pattern": p });
            let (_, example) =
                form_of(&node).unwrap_or_else(|| panic!("no entry in FORMS for {p}"));
            assert!(
                valid_against(&node, &Value::from(example)),
                "example {example} does not fit {p}"
            );
        }
    }

    #[test]
    fn explain_keys() {
        let idle = explain_key("lifecycle.idle_shutdown").unwrap();
        assert!(idle.starts_with("lifecycle.idle_shutdown\n"), "{idle}");
        assert!(
            idle.contains("integer, 0 to 10080") && idle.contains("default   60"),
            "{idle}"
        );
        let owner = explain_key("notebooks.instances[0].owner").unwrap();
        assert!(
            owner.starts_with("notebooks.instances[].owner\n") && owner.contains("required  yes"),
            "{owner}"
        );
        assert!(owner.contains("example   alice"), "{owner}");
        assert_eq!(explain_key("notebooks.instances.owner"), Some(owner));
        let platform = explain_key("notebooks.defaults.platform").unwrap();
        assert!(
            platform.contains("allowed   notebook-al2-v2, notebook-al2-v3"),
            "{platform}"
        );
        assert!(
            explain_key("repositories.analysis.url")
                .unwrap()
                .starts_with("repositories.<name>.url\n")
        );
        assert!(explain_key("network").unwrap().contains("\nkeys:\n  cidr "));
        assert!(
            explain_key("network.endpoints")
                .unwrap()
                .contains("`auto`; or a list of: sagemaker-api")
        );
        assert_eq!(explain_key("lifecycle.idle"), None);
        assert_eq!(explain_key(""), None);
        assert_eq!(
            closest_key("lifecycle.idle_shutdwon").as_deref(),
            Some("lifecycle.idle_shutdown")
        );
        assert_eq!(
            closest_key("notebooks.instances[0].onwer").as_deref(),
            Some("notebooks.instances[].owner")
        );
    }
}
