//! Rules written in Rust, for what cfn-guard cannot express: decoding and measuring scripts,
//! reading service names out of `Fn::Sub`/`Fn::Join`, following references between resources,
//! and pattern matching inside strings. One module per family; each rule is a function over a
//! [`Ctx`] registered in [`super::registry`].

pub mod condition_keys;
pub mod endpoint;
pub mod iam;
pub mod kms;
pub mod lifecycle;
pub mod network;
pub mod notebook;
pub mod security_group;
pub mod studio;
pub mod template;

use serde_json::Value;

use super::Ctx;

/// A Rust rule: looks at the template through the context and records failures there.
pub type RustRule = fn(&mut Ctx);

/// The text a string-valued property will have, with `${...}` where CloudFormation fills in a
/// value: a literal, `Fn::Sub` (either form) or `Fn::Join` of literals and `Ref`s.
pub fn text_of(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Object(m) if m.len() == 1 => {
            let (k, arg) = m.iter().next().expect("one entry");
            match (k.as_str(), arg) {
                ("Fn::Sub", Value::String(s)) => Some(s.clone()),
                ("Fn::Sub", Value::Array(a)) => {
                    a.first().and_then(Value::as_str).map(str::to_string)
                }
                ("Ref", Value::String(name)) => Some(format!("${{{name}}}")),
                ("Fn::Join", Value::Array(a)) if a.len() == 2 => {
                    let sep = a[0].as_str()?;
                    let parts: Option<Vec<String>> = a[1].as_array()?.iter().map(text_of).collect();
                    Some(parts?.join(sep))
                }
                _ => None,
            }
        }
        _ => None,
    }
}

/// A string or a list of them, as IAM writes `Action`, `Resource` and principals.
pub fn strings(v: Option<&Value>) -> Vec<&str> {
    match v {
        Some(Value::String(s)) => vec![s.as_str()],
        Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    }
}

/// The statements of a policy document, with their pointers relative to the document.
pub fn statements(doc: &Value) -> Vec<(String, &Value)> {
    match doc.get("Statement") {
        Some(Value::Array(a)) => a
            .iter()
            .enumerate()
            .map(|(i, s)| (format!("Statement/{i}"), s))
            .collect(),
        Some(s @ Value::Object(_)) => vec![("Statement".to_string(), s)],
        _ => Vec::new(),
    }
}

/// The IAM policy documents of a resource (not trust policies), with pointers relative to it.
pub fn policy_documents<'v>(resource_type: &str, r: &'v Value) -> Vec<(String, &'v Value)> {
    let Some(props) = r.get("Properties") else {
        return Vec::new();
    };
    let mut out = Vec::new();
    match resource_type {
        "AWS::IAM::Role" | "AWS::IAM::User" | "AWS::IAM::Group" => {
            if let Some(Value::Array(ps)) = props.get("Policies") {
                for (i, p) in ps.iter().enumerate() {
                    if let Some(d) = p.get("PolicyDocument").filter(|d| d.is_object()) {
                        out.push((format!("Properties/Policies/{i}/PolicyDocument"), d));
                    }
                }
            }
        }
        "AWS::IAM::Policy" | "AWS::IAM::ManagedPolicy" | "AWS::EC2::VPCEndpoint" => {
            if let Some(d) = props.get("PolicyDocument").filter(|d| d.is_object()) {
                out.push(("Properties/PolicyDocument".to_string(), d));
            }
        }
        _ => {}
    }
    out
}

/// Whether a statement allows (IAM's default is deny, so only an explicit Allow grants).
pub fn allows(statement: &Value) -> bool {
    statement.get("Effect").and_then(Value::as_str) == Some("Allow")
}

/// The logical id an intrinsic names: `{"Ref": X}`, `{"Fn::GetAtt": [X, A]}` or `"X.A"`, with the
/// attribute (None for Ref).
pub fn target(v: &Value) -> Option<(&str, Option<&str>)> {
    let m = v.as_object().filter(|m| m.len() == 1)?;
    match m.iter().next()? {
        (k, Value::String(x)) if k == "Ref" => Some((x.as_str(), None)),
        (k, Value::Array(a)) if k == "Fn::GetAtt" => {
            Some((a.first()?.as_str()?, a.get(1).and_then(Value::as_str)))
        }
        (k, Value::String(s)) if k == "Fn::GetAtt" => {
            let (x, attr) = s.split_once('.')?;
            Some((x, Some(attr)))
        }
        _ => None,
    }
}

/// Standard base64 (what `Fn::Base64` produces and SageMaker expects), strictly: the
/// alphabet, padding and length; `None` if the text is not base64.
pub fn decode_base64(s: &str) -> Option<Vec<u8>> {
    use base64::Engine;
    if s.is_empty() {
        return None;
    }
    base64::engine::general_purpose::STANDARD.decode(s).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn base64_round_trips_and_rejects_plain_text() {
        assert_eq!(decode_base64("IyEvYmluL2Jhc2gK").unwrap(), b"#!/bin/bash\n");
        assert_eq!(decode_base64("YQ==").unwrap(), b"a");
        assert!(decode_base64("#!/bin/bash").is_none());
        assert!(decode_base64("YQ==YQ==").is_none());
    }

    #[test]
    fn text_of_reads_sub_and_join() {
        assert_eq!(
            text_of(&json!({"Fn::Sub": "com.amazonaws.${AWS::Region}.s3"})).unwrap(),
            "com.amazonaws.${AWS::Region}.s3"
        );
        let join = json!({"Fn::Join": ["", ["com.amazonaws.", {"Ref": "AWS::Region"}, ".s3"]]});
        assert_eq!(text_of(&join).unwrap(), "com.amazonaws.${AWS::Region}.s3");
    }
}
