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

/// Checks a template's JSON form.
pub fn check(template: &Value) -> Vec<Dangling> {
    let names = |key: &str| -> BTreeSet<String> {
        template
            .get(key)
            .and_then(Value::as_object)
            .map(|m| m.keys().cloned().collect())
            .unwrap_or_default()
    };
    let resources = names("Resources");
    let parameters = names("Parameters");
    let mut out = Vec::new();
    let mut visit = |pointer: String, target: &str, resource_only: bool| {
        let known = resources.contains(target)
            || (!resource_only && (parameters.contains(target) || PSEUDO.contains(&target)));
        if !known {
            out.push(Dangling {
                pointer,
                target: target.to_string(),
            });
        }
    };
    if let Some(res) = template.get("Resources").and_then(Value::as_object) {
        for (id, r) in res {
            match r.get("DependsOn") {
                Some(Value::String(s)) => visit(format!("/Resources/{id}/DependsOn"), s, true),
                Some(Value::Array(a)) => {
                    for (i, s) in a.iter().enumerate() {
                        if let Some(s) = s.as_str() {
                            visit(format!("/Resources/{id}/DependsOn/{i}"), s, true);
                        }
                    }
                }
                _ => {}
            }
        }
    }
    for section in ["Resources", "Outputs", "Conditions"] {
        if let Some(v) = template.get(section) {
            walk(v, &format!("/{section}"), &mut visit);
        }
    }
    out
}

fn walk(v: &Value, pointer: &str, visit: &mut impl FnMut(String, &str, bool)) {
    match v {
        Value::Object(m) => {
            if m.len() == 1 {
                let (k, arg) = m.iter().next().expect("one entry");
                match (k.as_str(), arg) {
                    ("Ref", Value::String(t)) => visit(format!("{pointer}/Ref"), t, false),
                    ("Fn::GetAtt", Value::Array(a)) => {
                        if let Some(t) = a.first().and_then(Value::as_str) {
                            visit(format!("{pointer}/Fn::GetAtt"), t, true);
                        }
                    }
                    ("Fn::GetAtt", Value::String(s)) => {
                        let t = s.split('.').next().unwrap_or(s);
                        visit(format!("{pointer}/Fn::GetAtt"), t, true);
                    }
                    ("Fn::Sub", Value::String(s)) => {
                        for t in sub_variables(s) {
                            visit(format!("{pointer}/Fn::Sub"), t, false);
                        }
                    }
                    ("Fn::Sub", Value::Array(a)) => {
                        let local: BTreeSet<&str> = a
                            .get(1)
                            .and_then(Value::as_object)
                            .map(|m| m.keys().map(String::as_str).collect())
                            .unwrap_or_default();
                        if let Some(s) = a.first().and_then(Value::as_str) {
                            for t in sub_variables(s).filter(|t| !local.contains(t)) {
                                visit(format!("{pointer}/Fn::Sub"), t, false);
                            }
                        }
                    }
                    _ => {}
                }
            }
            for (k, child) in m {
                walk(
                    child,
                    &format!("{pointer}/{}", k.replace('~', "~0").replace('/', "~1")),
                    visit,
                );
            }
        }
        Value::Array(a) => {
            for (i, child) in a.iter().enumerate() {
                walk(child, &format!("{pointer}/{i}"), visit);
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
