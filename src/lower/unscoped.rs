//! Grants IAM cannot scope. Some actions the stack needs (ec2:Describe* for the notebook's
//! network, sagemaker:ListApps, sts:GetServiceBearerToken) have no resource-level permissions:
//! `*` is the only resource IAM accepts for them. Such a statement is a deliberate exception,
//! so the build waives IAM_NO_WILDCARD_RESOURCE_READ on its resource with the reason; the review
//! shows it and the counterpart table turns it into the Guard Rules Registry's suppression.
//! A statement on `*` with any action that could be scoped gets no waiver and fails the review.

use serde_json::{Value, json};

use crate::cfn::Template;
use crate::policy::rules::iam::no_resource_level;

const RULE: &str = "IAM_NO_WILDCARD_RESOURCE_READ";

fn documents(kind: &str, properties: &serde_json::Map<String, Value>) -> Vec<Value> {
    match kind {
        "AWS::IAM::Policy" | "AWS::IAM::ManagedPolicy" => properties
            .get("PolicyDocument")
            .cloned()
            .into_iter()
            .collect(),
        "AWS::IAM::Role" => properties
            .get("Policies")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|p| p.get("PolicyDocument").cloned())
            .collect(),
        _ => Vec::new(),
    }
}

fn texts(v: Option<&Value>) -> Vec<&str> {
    match v {
        Some(Value::String(s)) => vec![s.as_str()],
        Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    }
}

/// The actions of the Allow statements on `*` that consist only of actions without
/// resource-level permissions.
fn unscopable(doc: &Value) -> Vec<String> {
    let statements = match doc.get("Statement") {
        Some(Value::Array(a)) => a.iter().collect(),
        Some(s) => vec![s],
        None => Vec::new(),
    };
    let mut out = Vec::new();
    for s in statements {
        let actions = texts(s.get("Action"));
        if s.get("Effect").and_then(Value::as_str) == Some("Allow")
            && texts(s.get("Resource")).contains(&"*")
            && !actions.is_empty()
            && actions.iter().all(|a| no_resource_level(a))
        {
            out.extend(actions.iter().map(|a| a.to_string()));
        }
    }
    out
}

pub fn waive(t: &mut Template) {
    for r in t.resources.values_mut() {
        let mut actions: Vec<String> = documents(r.kind, &r.properties)
            .iter()
            .flat_map(unscopable)
            .collect();
        if actions.is_empty() {
            continue;
        }
        actions.sort();
        actions.dedup();
        let waiver = json!({
            "rule": RULE,
            "reason": format!(
                "{} have no resource-level permissions: IAM accepts only `*` as their resource",
                actions.join(", ")
            )
        });
        let md = r.metadata.get_or_insert_with(|| json!({}));
        let list = md
            .as_object_mut()
            .map(|m| m.entry("nbsynth").or_insert_with(|| json!({})))
            .and_then(Value::as_object_mut)
            .map(|m| m.entry("waivers").or_insert_with(|| json!([])));
        if let Some(Value::Array(list)) = list {
            list.push(waiver);
        }
    }
}
