//! Every resource's Properties against its CloudFormation resource provider schema.
//!
//! The schemas are vendored under `schemas/resources/` (see its PROVENANCE.md) and embedded.
//! Each is compiled at most once per process, and only when a resource of its type is reviewed.
//! Like cfn-lint, the check is lenient where CloudFormation itself converts: an intrinsic
//! function stands for a value of any type, `"true"` is a boolean and `"5"` a number.

mod embedded;

use std::sync::{LazyLock, OnceLock};

use jsonschema::error::{TypeKind, ValidationErrorKind};
use jsonschema::types::JsonType;
use jsonschema::{ValidationError, Validator};
use serde_json::Value;

use super::Ctx;

static COMPILED: LazyLock<Vec<OnceLock<Result<Validator, String>>>> =
    LazyLock::new(|| embedded::SCHEMAS.iter().map(|_| OnceLock::new()).collect());

fn position(resource_type: &str) -> Option<usize> {
    embedded::SCHEMAS
        .binary_search_by(|(t, _)| (*t).cmp(resource_type))
        .ok()
}

/// The compiled schema of a type (compiled on first use), or `None` when none is vendored.
fn validator(resource_type: &str) -> Option<&'static Result<Validator, String>> {
    let i = position(resource_type)?;
    Some(COMPILED[i].get_or_init(|| compile(embedded::SCHEMAS[i].1)))
}

fn compile(text: &str) -> Result<Validator, String> {
    let schema: Value = serde_json::from_str(text).map_err(|e| e.to_string())?;
    jsonschema::draft7::options()
        .should_validate_formats(false)
        .build(&schema)
        .map_err(|e| e.to_string())
}

/// Types whose schema is vendored.
pub fn vendored() -> impl Iterator<Item = &'static str> {
    embedded::SCHEMAS.iter().map(|(t, _)| *t)
}

/// The vendored provider schema of a type, as text (with its create-only lists).
pub fn provider_schema(resource_type: &str) -> Option<&'static str> {
    position(resource_type).map(|i| embedded::SCHEMAS[i].1)
}

/// Where the vendored schemas come from, for outputs that rely on them.
pub const SOURCE: &str = embedded::SOURCE;

fn exists(resource_type: &str) -> bool {
    embedded::ALL_TYPES.lines().any(|t| t == resource_type)
}

fn is_custom(resource_type: &str) -> bool {
    resource_type.starts_with("Custom::") || resource_type == "AWS::CloudFormation::CustomResource"
}

/// SCHEMA_RESOURCE_TYPE_KNOWN: every resource has a Type CloudFormation knows. A real type
/// whose schema nbsynth does not carry is a notice (its properties go unchecked), not a failure.
pub fn type_known(ctx: &mut Ctx) {
    let resources = ctx.resources;
    for (id, r) in resources {
        match r.get("Type") {
            Some(Value::String(t)) if is_custom(t) || position(t).is_some() => {}
            Some(Value::String(t)) if exists(t) => {
                ctx.not_applicable(id);
                ctx.notice(
                    Some(id),
                    format!(
                        "/Resources/{}/Type",
                        crate::source::yaml::escape_pointer(id)
                    ),
                    format!("no schema for `{t}` is vendored; its properties were not checked"),
                );
            }
            Some(Value::String(t)) => {
                let near = nearest_type(t);
                let hint = near
                    .map(|n| format!(" (did you mean `{n}`?)"))
                    .unwrap_or_default();
                ctx.fail(
                    Some(id),
                    "Type",
                    format!("`{t}` is not a CloudFormation resource type{hint}"),
                );
            }
            _ => ctx.fail(Some(id), "", "the resource has no `Type` string"),
        }
    }
}

fn nearest_type(t: &str) -> Option<&'static str> {
    let lower = t.to_ascii_lowercase();
    embedded::ALL_TYPES
        .lines()
        .map(|c| (strsim_like(&lower, &c.to_ascii_lowercase()), c))
        .filter(|(d, _)| *d <= 3)
        .min()
        .map(|(_, c)| c)
}

/// Edit distance, small inputs only.
fn strsim_like(a: &str, b: &str) -> usize {
    if a.len().abs_diff(b.len()) > 3 {
        return usize::MAX;
    }
    strsim::levenshtein(a, b)
}

/// SCHEMA_PROPERTIES_VALID: unknown properties, missing required ones, wrong types, enums,
/// patterns and lengths, as the provider schema states them.
pub fn properties_valid(ctx: &mut Ctx) {
    let resources = ctx.resources;
    let empty = Value::Object(Default::default());
    for (id, r) in resources {
        let Some(t) = r.get("Type").and_then(Value::as_str) else {
            ctx.not_applicable(id);
            continue;
        };
        let Some(compiled) = validator(t) else {
            ctx.not_applicable(id);
            continue;
        };
        let validator = match compiled {
            Ok(v) => v,
            Err(e) => {
                ctx.fail(
                    Some(id),
                    "Type",
                    format!("the vendored schema of `{t}` does not compile: {e}"),
                );
                continue;
            }
        };
        let props = r.get("Properties").unwrap_or(&empty);
        if is_intrinsic(props) {
            continue;
        }
        for err in validator.iter_errors(props) {
            if let Some((pointer, message)) = judge(props, &err) {
                ctx.fail(Some(id), &pointer, message);
            }
        }
    }
}

/// Whether a value is an intrinsic function (`{"Ref": ..}`, `{"Fn::X": ..}`, `{"Condition": ..}`).
pub fn is_intrinsic(v: &Value) -> bool {
    match v.as_object() {
        Some(m) if m.len() == 1 => {
            let k = m.keys().next().expect("one key");
            k == "Ref" || k == "Condition" || k.starts_with("Fn::")
        }
        _ => false,
    }
}

fn contains_intrinsic(v: &Value) -> bool {
    is_intrinsic(v)
        || match v {
            Value::Object(m) => m.values().any(contains_intrinsic),
            Value::Array(a) => a.iter().any(contains_intrinsic),
            _ => false,
        }
}

/// Keeps an error only when it is a real one: returns (pointer relative to the resource,
/// message), or `None` when an intrinsic or CloudFormation's own conversions explain it.
fn judge(props: &Value, err: &ValidationError) -> Option<(String, String)> {
    let path = err.instance_path().as_str();
    // The value, or any value above it, is an intrinsic: it resolves at deploy time.
    let ends = path
        .match_indices('/')
        .map(|(i, _)| i)
        .chain(std::iter::once(path.len()));
    for end in ends {
        if props.pointer(&path[..end]).is_some_and(is_intrinsic) {
            return None;
        }
    }
    let instance = err.instance();
    let pointer = format!("Properties{path}");
    match err.kind() {
        ValidationErrorKind::AnyOf { .. }
        | ValidationErrorKind::OneOfNotValid { .. }
        | ValidationErrorKind::OneOfMultipleValid { .. }
        | ValidationErrorKind::Not { .. }
            if contains_intrinsic(instance) =>
        {
            None
        }
        ValidationErrorKind::Type { kind } if converts(instance, kind) => None,
        ValidationErrorKind::Enum { options }
            if as_text(instance).is_some_and(|s| {
                options
                    .as_array()
                    .is_some_and(|o| o.iter().any(|x| x.as_str() == Some(s.as_str())))
            }) =>
        {
            None
        }
        ValidationErrorKind::AdditionalProperties { unexpected } => {
            let first = unexpected.first().cloned().unwrap_or_default();
            let names = unexpected
                .iter()
                .map(|u| format!("`{u}`"))
                .collect::<Vec<_>>()
                .join(", ");
            Some((
                format!("{pointer}/{}", crate::source::yaml::escape_pointer(&first)),
                format!(
                    "{}: unknown propert{} {names}",
                    display_path(path),
                    if unexpected.len() == 1 { "y" } else { "ies" }
                ),
            ))
        }
        ValidationErrorKind::Required { property } => Some((
            pointer,
            format!(
                "{}: required property {} is missing",
                display_path(path),
                property
            ),
        )),
        _ => Some((pointer, format!("{}: {err}", display_path(path)))),
    }
}

fn display_path(path: &str) -> String {
    format!("Properties{}", path.replace('/', "."))
}

/// CloudFormation turns scalars into the declared type: "true" -> true, "5" -> 5, 5 -> "5".
fn converts(instance: &Value, kind: &TypeKind) -> bool {
    let wants = |t: JsonType| match kind {
        TypeKind::Single(x) => *x == t,
        TypeKind::Multiple(set) => set.contains(t),
    };
    match instance {
        Value::String(s) => {
            (wants(JsonType::Boolean)
                && matches!(s.to_ascii_lowercase().as_str(), "true" | "false"))
                || ((wants(JsonType::Integer) && s.trim().parse::<i64>().is_ok())
                    || (wants(JsonType::Number) && s.trim().parse::<f64>().is_ok()))
        }
        Value::Number(_) | Value::Bool(_) => wants(JsonType::String),
        _ => false,
    }
}

fn as_text(v: &Value) -> Option<String> {
    match v {
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn every_vendored_schema_compiles() {
        for (t, _) in embedded::SCHEMAS {
            if let Err(e) = validator(t).expect("vendored") {
                panic!("{t}: {e}");
            }
        }
    }

    #[test]
    fn the_table_is_sorted_for_binary_search() {
        assert!(embedded::SCHEMAS.windows(2).all(|w| w[0].0 < w[1].0));
    }

    fn errors(t: &str, props: Value) -> Vec<String> {
        let v = validator(t).unwrap().as_ref().unwrap();
        v.iter_errors(&props)
            .filter_map(|e| judge(&props, &e))
            .map(|(p, m)| format!("{p} {m}"))
            .collect()
    }

    #[test]
    fn intrinsics_and_conversions_are_accepted() {
        let ok = json!({
            "CidrBlock": {"Fn::Select": ["0", {"Fn::Cidr": ["10.0.0.0/16", 2, 8]}]},
            "VpcId": {"Ref": "Vpc"},
            "MapPublicIpOnLaunch": "false",
            "AvailabilityZone": {"Fn::Select": [0, {"Fn::GetAZs": ""}]},
            "Tags": [{"Key": "a", "Value": {"Fn::Sub": "${AWS::StackName}"}}]
        });
        assert_eq!(errors("AWS::EC2::Subnet", ok), Vec::<String>::new());
    }

    #[test]
    fn real_errors_are_reported() {
        let bad = json!({"VpcId": {"Ref": "Vpc"}, "MapPublicIpOnLaunch": "maybe", "Bogus": 1});
        let e = errors("AWS::EC2::Subnet", bad);
        assert!(e.iter().any(|m| m.contains("Bogus")), "{e:?}");
        assert!(e.iter().any(|m| m.contains("MapPublicIpOnLaunch")), "{e:?}");
        let e = errors(
            "AWS::SageMaker::NotebookInstance",
            json!({"InstanceType": "ml.t3.medium"}),
        );
        assert!(e.iter().any(|m| m.contains("RoleArn")), "{e:?}");
    }
}
