//! Words for schema errors: the hints a diagnostic carries (quotes to add, a likely typo, the
//! form a pattern wants with an example) and the phrases they are built from.

use serde_json::Value;

use super::keys::key_paths;
use crate::source::Diagnostic;

pub(super) fn unknown_key_help(mut d: Diagnostic, key: &str, known: &[String]) -> Diagnostic {
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
pub(super) fn type_help(d: Diagnostic, node: &Value, found: &Value) -> Diagnostic {
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
pub(super) fn type_word(t: &str) -> &'static str {
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

pub(super) fn found_word(v: &Value) -> String {
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
pub(super) fn plain(v: &Value) -> String {
    v.as_str().map_or_else(|| v.to_string(), str::to_string)
}

pub(super) fn plural(n: u64) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// One alternative of a `oneOf`, in words: "`auto`", "a list".
pub(super) fn describe_form(branch: &Value) -> String {
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
        r"^s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]/([A-Za-z0-9!_.'()-]+/)*\{owner\}/([A-Za-z0-9!_.'()-]+/)*$",
        "s3://BUCKET/PREFIX/ with a `{owner}/` segment, ending in a slash",
        "s3://acme-ml-jobs/outputs/{owner}/",
    ),
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
        "^[a-z][a-z0-9-]{0,48}[a-z0-9]$",
        "a CodeArtifact domain name: 2 to 50 lower-case letters, digits and dashes, starting with a letter",
        "acme",
    ),
    (
        "^[0-9]{12}$",
        "a 12-digit AWS account id (quote it in YAML: \"111122223333\")",
        "111122223333",
    ),
    (
        "^[A-Za-z0-9][A-Za-z0-9._-]{1,99}$",
        "a CodeArtifact repository name: 2 to 100 letters, digits and ._-, starting with a letter or digit",
        "pypi-store",
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

pub(super) fn form_of(node: &Value) -> Option<(&'static str, &'static str)> {
    let pattern = node.get("pattern")?.as_str()?;
    FORMS
        .iter()
        .find(|(p, _, _)| *p == pattern)
        .map(|(_, form, example)| (*form, *example))
}

/// Label, likely fix and example for a value that does not match its pattern.
pub(super) fn pattern_help(
    d: Diagnostic,
    node: &Value,
    found: &Value,
    described: Option<&str>,
) -> Diagnostic {
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

pub(super) fn keys_of(node: &Value) -> Vec<String> {
    node.get("properties")
        .and_then(Value::as_object)
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default()
}
pub(super) fn where_(name: &str) -> String {
    if name.is_empty() {
        "the blueprint".into()
    } else {
        format!("`{name}`")
    }
}

pub(super) fn article(t: &str) -> String {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::blueprint::schema::schema;

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
}
