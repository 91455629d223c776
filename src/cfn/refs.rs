//! The final pass: every `Ref`, `Fn::GetAtt`, `Fn::Sub` variable and `DependsOn` must name a
//! resource or parameter of the template (or a pseudo parameter).

use std::collections::BTreeSet;

use serde_json::Value;

/// A reference to something that does not exist.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dangling {
    /// JSON pointer of the intrinsic.
    pub pointer: String,
    pub target: String,
}

const PSEUDO: &[&str] = &[
    "AWS::AccountId",
    "AWS::NotificationARNs",
    "AWS::NoValue",
    "AWS::Partition",
    "AWS::Region",
    "AWS::StackId",
    "AWS::StackName",
    "AWS::URLSuffix",
];

/// Checks a template's JSON form. Linear in the template's size: the pointer of the node being
/// visited is kept in one buffer (pushed and truncated on the way down and up), and a pointer is
/// copied out only for a dangling reference.
pub fn check(template: &Value) -> Vec<Dangling> {
    let names = |key: &str| -> BTreeSet<&str> {
        template
            .get(key)
            .and_then(Value::as_object)
            .map(|m| m.keys().map(String::as_str).collect())
            .unwrap_or_default()
    };
    let resources = names("Resources");
    let parameters = names("Parameters");
    let mut out = Vec::new();
    let mut visit = |pointer: &str, target: &str, resource_only: bool| {
        let known = resources.contains(target)
            || (!resource_only && (parameters.contains(target) || PSEUDO.contains(&target)));
        if !known {
            out.push(Dangling {
                pointer: pointer.to_string(),
                target: target.to_string(),
            });
        }
    };
    if let Some(res) = template.get("Resources").and_then(Value::as_object) {
        for (id, r) in res {
            match r.get("DependsOn") {
                Some(Value::String(s)) => visit(&format!("/Resources/{id}/DependsOn"), s, true),
                Some(Value::Array(a)) => {
                    for (i, s) in a.iter().enumerate() {
                        if let Some(s) = s.as_str() {
                            visit(&format!("/Resources/{id}/DependsOn/{i}"), s, true);
                        }
                    }
                }
                _ => {}
            }
        }
    }
    let mut pointer = String::with_capacity(256);
    for section in ["Resources", "Outputs", "Conditions"] {
        if let Some(v) = template.get(section) {
            pointer.clear();
            pointer.push('/');
            pointer.push_str(section);
            walk(v, &mut pointer, &mut visit);
        }
    }
    out
}

/// Appends `/segment` (escaped as a JSON pointer segment) to `pointer`.
fn push_segment(pointer: &mut String, segment: &str) {
    pointer.push('/');
    if segment.contains(['~', '/']) {
        pointer.push_str(&segment.replace('~', "~0").replace('/', "~1"));
    } else {
        pointer.push_str(segment);
    }
}

fn walk(v: &Value, pointer: &mut String, visit: &mut impl FnMut(&str, &str, bool)) {
    let len = pointer.len();
    match v {
        Value::Object(m) => {
            if m.len() == 1 {
                let (k, arg) = m.iter().next().expect("one entry");
                match (k.as_str(), arg) {
                    ("Ref", Value::String(t)) => {
                        pointer.push_str("/Ref");
                        visit(pointer, t, false);
                    }
                    ("Fn::GetAtt", Value::Array(a)) => {
                        if let Some(t) = a.first().and_then(Value::as_str) {
                            pointer.push_str("/Fn::GetAtt");
                            visit(pointer, t, true);
                        }
                    }
                    ("Fn::GetAtt", Value::String(s)) => {
                        let t = s.split('.').next().unwrap_or(s);
                        pointer.push_str("/Fn::GetAtt");
                        visit(pointer, t, true);
                    }
                    ("Fn::Sub", Value::String(s)) => {
                        pointer.push_str("/Fn::Sub");
                        for t in sub_variables(s) {
                            visit(pointer, t, false);
                        }
                    }
                    ("Fn::Sub", Value::Array(a)) => {
                        let local: BTreeSet<&str> = a
                            .get(1)
                            .and_then(Value::as_object)
                            .map(|m| m.keys().map(String::as_str).collect())
                            .unwrap_or_default();
                        if let Some(s) = a.first().and_then(Value::as_str) {
                            pointer.push_str("/Fn::Sub");
                            for t in sub_variables(s).filter(|t| !local.contains(t)) {
                                visit(pointer, t, false);
                            }
                        }
                    }
                    _ => {}
                }
                pointer.truncate(len);
            }
            for (k, child) in m {
                push_segment(pointer, k);
                walk(child, pointer, visit);
                pointer.truncate(len);
            }
        }
        Value::Array(a) => {
            for (i, child) in a.iter().enumerate() {
                use std::fmt::Write;
                let _ = write!(pointer, "/{i}");
                walk(child, pointer, visit);
                pointer.truncate(len);
            }
        }
        _ => {}
    }
}

/// The names a `Fn::Sub` string refers to: `${Name}` and `${Name.Attr}`, not `${!Literal}`.
pub fn sub_variables(s: &str) -> impl Iterator<Item = &str> {
    s.match_indices("${").filter_map(move |(i, _)| {
        let rest = &s[i + 2..];
        let end = rest.find('}')?;
        let var = &rest[..end];
        if var.starts_with('!') {
            return None;
        }
        Some(if var.starts_with("AWS::") {
            var
        } else {
            var.split('.').next().unwrap_or(var)
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn finds_dangling_references_of_every_kind() {
        let t = json!({
            "Parameters": {"P": {"Type": "String"}},
            "Resources": {
                "A": {"Type": "X", "DependsOn": ["Gone"], "Properties": {
                    "ok": {"Ref": "P"}, "ok2": {"Ref": "AWS::Region"},
                    "bad": {"Ref": "Missing"},
                    "att": {"Fn::GetAtt": ["P", "Arn"]},
                    "sub": {"Fn::Sub": "${A.Arn}-${Nope}-${!Literal}-${AWS::AccountId}"}
                }}
            }
        });
        let mut targets: Vec<String> = check(&t).into_iter().map(|d| d.target).collect();
        targets.sort();
        assert_eq!(targets, vec!["Gone", "Missing", "Nope", "P"]);
    }
}
