//! Reading CloudFormation values for the diagram: what a `Ref` names, a value in words, the
//! service of an endpoint, the zone of a subnet, the ports of a rule.

use std::collections::BTreeSet;

use serde_json::Value;

/// Where a subnet, VPC, route table or group comes from: a resource of the template, or an id
/// (or a parameter) naming one that exists outside it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Origin {
    Resource(String),
    External(String),
}

impl Origin {
    pub fn of(v: &Value) -> Option<Origin> {
        if let Some(id) = target(v) {
            return Some(Origin::Resource(id.to_string()));
        }
        if let Some(p) = v.get("Parameter").and_then(Value::as_str) {
            return Some(Origin::External(format!("parameter {p}")));
        }
        v.as_str().map(|s| Origin::External(s.to_string()))
    }

    pub fn name(&self) -> &str {
        match self {
            Origin::Resource(s) | Origin::External(s) => s,
        }
    }

    pub fn id(&self, prefix: &str) -> String {
        format!("{prefix}_{}", sanitize(self.name()))
    }
}

/// `tcp/443`, `tcp/1024-65535`, `all traffic`.
pub fn ports(rule: &Value) -> String {
    let proto = rule.get("IpProtocol").map_or_else(|| "?".into(), describe);
    let port = |k: &str| rule.get(k).map(describe);
    match (proto.as_str(), port("FromPort"), port("ToPort")) {
        ("-1", _, _) => "all traffic".into(),
        (p, Some(a), Some(b)) if a == b => format!("{p}/{a}"),
        ("icmp", Some(a), Some(b)) => format!("icmp type {a} code {b}"),
        (p, Some(a), Some(b)) => format!("{p}/{a}-{b}"),
        (p, _, _) => p.to_string(),
    }
}

/// The rule CloudFormation templates use to remove a group's default allow-all egress: ICMP to
/// the broadcast address only, which no traffic matches.
pub fn blocks_all(rule: &Value) -> bool {
    rule.get("CidrIp").and_then(Value::as_str) == Some("255.255.255.255/32")
}

/// The logical id a `Ref` or `Fn::GetAtt` names (after [`mark_parameters`], a `Ref` names a
/// resource).
fn target(v: &Value) -> Option<&str> {
    match v.get("Fn::GetAtt") {
        Some(Value::Array(a)) => a.first().and_then(Value::as_str),
        Some(Value::String(s)) => s.split('.').next(),
        _ => v.get("Ref").and_then(Value::as_str),
    }
}

/// `resources` with every `Ref` to something that is not a resource (a parameter, a pseudo
/// parameter) rewritten to `{"Parameter": name}`, so that a `Ref` always names a resource.
pub fn mark_parameters(v: &Value, resources: &BTreeSet<String>) -> Value {
    match v {
        Value::Object(m) => {
            if let Some(r) = m
                .get("Ref")
                .and_then(Value::as_str)
                .filter(|r| m.len() == 1 && !resources.contains(*r))
            {
                return serde_json::json!({ "Parameter": r });
            }
            Value::Object(
                m.iter()
                    .map(|(k, x)| (k.clone(), mark_parameters(x, resources)))
                    .collect(),
            )
        }
        Value::Array(a) => Value::Array(a.iter().map(|x| mark_parameters(x, resources)).collect()),
        _ => v.clone(),
    }
}

/// A value in words: a literal, `parameter X`, `X.Attr`.
pub fn describe(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        _ => {
            if let Some(r) = v.get("Parameter").and_then(Value::as_str) {
                format!("parameter {r}")
            } else if let Some(s) = v.get("Fn::Sub").and_then(Value::as_str) {
                s.to_string()
            } else {
                "a computed value".into()
            }
        }
    }
}

/// `com.amazonaws.${AWS::Region}.sagemaker.api` -> `sagemaker.api`.
pub fn service_of(v: Option<&Value>) -> String {
    let s = v.map(describe).unwrap_or_default();
    if let Some((_, rest)) = s.split_once("${AWS::Region}.") {
        return rest.to_string();
    }
    // com.amazonaws.REGION.SERVICE
    s.splitn(4, '.').nth(3).unwrap_or(&s).to_string()
}

/// `Fn::Select [i, Fn::GetAZs]` -> `zone i+1`; a literal zone as written.
pub fn zone_of(v: Option<&Value>) -> Option<String> {
    let v = v?;
    if let Some(s) = v.as_str() {
        return Some(s.to_string());
    }
    let sel = v.get("Fn::Select")?.as_array()?;
    let i: u64 = match sel.first()? {
        Value::String(s) => s.parse().ok()?,
        Value::Number(n) => n.as_u64()?,
        _ => return None,
    };
    Some(format!("availability zone {}", i + 1))
}

pub fn tag<'a>(p: &'a Value, key: &str) -> Option<&'a str> {
    p.get("Tags")?
        .as_array()?
        .iter()
        .find(|t| t.get("Key").and_then(Value::as_str) == Some(key))?
        .get("Value")?
        .as_str()
}

/// An id safe in Mermaid and DOT: ASCII letters, digits and underscores.
pub fn sanitize(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect()
}
