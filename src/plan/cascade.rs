//! Cascades. A property whose text is unchanged still changes when it refers to a resource
//! that is replaced (a new physical id, a new ARN) or to a parameter whose value changes.
//! CloudFormation's change set reports such a dependent as `Replacement: Conditional`
//! (`Evaluation: Dynamic`); here the referenced resource's fate is known, so the dependent is
//! judged exactly: through a create-only property it is replaced too, through any other it is
//! updated in place. Replacement only ever grows the set, so judging until nothing new is
//! replaced terminates.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use super::{Action, Change, Plan, compare, data};
use crate::cfn::refs::sub_variables;

/// The same template with `{"Fn::GetAtt": "A.B"}` (the form a YAML `!GetAtt A.B` may be
/// converted to by other tools) as `{"Fn::GetAtt": ["A", "B"]}`, so that both spell alike.
pub fn normalize(v: &Value) -> Value {
    match v {
        Value::Object(m) => {
            if let (1, Some(Value::String(s))) = (m.len(), m.get("Fn::GetAtt"))
                && let Some((res, att)) = s.split_once('.')
            {
                return serde_json::json!({"Fn::GetAtt": [res, att]});
            }
            Value::Object(m.iter().map(|(k, x)| (k.clone(), normalize(x))).collect())
        }
        Value::Array(a) => Value::Array(a.iter().map(normalize).collect()),
        other => other.clone(),
    }
}

/// Names a value refers to: `Ref`, `Fn::GetAtt` and `Fn::Sub` variables (without the
/// variables a `Fn::Sub` defines itself).
pub fn targets(v: &Value, out: &mut BTreeSet<String>) {
    match v {
        Value::Object(m) => {
            if let Some(Value::String(r)) = m.get("Ref") {
                out.insert(r.clone());
            }
            // An import is named by its export: a shard of an independent layout refers to
            // the base stack's resources through one.
            if let Some(Value::String(e)) = m.get("Fn::ImportValue") {
                out.insert(e.clone());
            }
            if let Some(Value::Array(a)) = m.get("Fn::GetAtt")
                && let Some(Value::String(r)) = a.first()
            {
                out.insert(r.clone());
            }
            if let Some(sub) = m.get("Fn::Sub") {
                let (text, vars) = match sub {
                    Value::String(s) => (Some(s.as_str()), None),
                    Value::Array(a) => (a.first().and_then(Value::as_str), a.get(1)),
                    _ => (None, None),
                };
                let local: BTreeSet<&str> = vars
                    .and_then(Value::as_object)
                    .map(|m| m.keys().map(String::as_str).collect())
                    .unwrap_or_default();
                for var in text.into_iter().flat_map(sub_variables) {
                    if !local.contains(var) {
                        out.insert(var.to_string());
                    }
                }
                if let Some(vars) = vars {
                    targets(vars, out);
                }
            }
            for (k, x) in m {
                if k != "Ref" && k != "Fn::Sub" {
                    targets(x, out);
                }
            }
        }
        Value::Array(a) => a.iter().for_each(|x| targets(x, out)),
        _ => {}
    }
}

fn resources(t: &Value) -> BTreeMap<&str, &Value> {
    t.get("Resources")
        .and_then(Value::as_object)
        .map(|m| m.iter().map(|(k, v)| (k.as_str(), v)).collect())
        .unwrap_or_default()
}

/// Parameters whose default differs: a `Ref` to one changes value although its text does not
/// (what a deploy that passes no parameter values does).
fn changed_parameters(old: &Value, new: &Value) -> BTreeMap<String, String> {
    let defaults = |t: &Value| -> BTreeMap<String, Option<Value>> {
        t.get("Parameters")
            .and_then(Value::as_object)
            .map(|m| {
                m.iter()
                    .map(|(k, p)| (k.clone(), p.get("Default").cloned()))
                    .collect()
            })
            .unwrap_or_default()
    };
    let (o, n) = (defaults(old), defaults(new));
    n.iter()
        .filter(|(k, d)| o.get(*k).is_some_and(|od| od != *d))
        .map(|(k, _)| {
            (
                k.clone(),
                "the parameter's default value changes".to_string(),
            )
        })
        .collect()
}

/// `outside`: names whose value changes for a reason outside this template (a parameter that
/// the root stack passes a replaced resource, an export of a replaced resource), with why.
pub fn plan(old: &Value, new: &Value, outside: &BTreeMap<String, String>) -> Plan {
    let (olds, news) = (resources(old), resources(new));
    let mut params = changed_parameters(old, new);
    params.extend(outside.iter().map(|(k, v)| (k.clone(), v.clone())));
    let mut replaced: BTreeSet<String> = BTreeSet::new();
    let mut errors;
    let mut judged: Vec<Change>;
    loop {
        let mut changed = params.clone();
        for id in &replaced {
            changed.insert(id.clone(), "is replaced".into());
        }
        errors = Vec::new();
        judged = olds
            .iter()
            .filter_map(|(id, o)| {
                let n = news.get(id)?;
                compare::judge(id, o, n, &changed, &mut errors)
            })
            .collect();
        let now: BTreeSet<String> = judged
            .iter()
            .filter(|c| c.action == Action::Replace)
            .map(|c| c.logical_id.clone())
            .collect();
        if now == replaced {
            break;
        }
        replaced = now;
    }
    for (id, o) in &olds {
        if !news.contains_key(id) {
            judged.push(removed(id, o));
        }
    }
    for (id, n) in &news {
        if !olds.contains_key(id) {
            judged.push(Change {
                logical_id: id.to_string(),
                resource_type: type_of(n),
                action: Action::Add,
                data_loss: false,
                interruption: false,
                reasons: vec!["new in the blueprint: created".into()],
                properties: Vec::new(),
                stack: None,
            });
        }
    }
    note_renames(&mut judged, &olds, &news);
    judged.sort_by(|a, b| a.logical_id.cmp(&b.logical_id));
    Plan {
        changes: judged,
        errors,
    }
}

/// A removed and an added resource with the same type and properties look like a renamed
/// logical id. CloudFormation still deletes one and creates the other; stack refactoring can
/// rename without that, so both say so (the verdict does not change: the plan is of a deploy).
fn note_renames(
    judged: &mut [Change],
    olds: &BTreeMap<&str, &Value>,
    news: &BTreeMap<&str, &Value>,
) {
    let same = |a: &Value, b: &Value| {
        a.get("Type") == b.get("Type") && a.get("Properties") == b.get("Properties")
    };
    let mut pairs = Vec::new();
    for c in judged.iter().filter(|c| c.action == Action::Remove) {
        let old = olds[c.logical_id.as_str()];
        let added = judged
            .iter()
            .filter(|a| a.action == Action::Add)
            .find(|a| same(old, news[a.logical_id.as_str()]));
        if let Some(a) = added {
            pairs.push((c.logical_id.clone(), a.logical_id.clone()));
        }
    }
    for (from, to) in pairs {
        let hint = format!(
            "{from} -> {to} looks like a renamed logical id: `aws cloudformation create-stack-refactor` can rename it without deleting anything; a deploy deletes and creates"
        );
        for c in judged
            .iter_mut()
            .filter(|c| c.logical_id == from || c.logical_id == to)
        {
            c.reasons.push(hint.clone());
        }
    }
}

pub fn type_of(resource: &Value) -> String {
    resource
        .get("Type")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string()
}

/// A resource that is no longer in the template: CloudFormation deletes it, unless its
/// (deployed) DeletionPolicy retains it. A renamed logical id is this plus an add: nothing
/// links the two.
fn removed(id: &str, old: &Value) -> Change {
    let t = type_of(old);
    let retained = matches!(
        old.get("DeletionPolicy").and_then(Value::as_str),
        Some("Retain" | "RetainExceptOnCreate")
    );
    let mut reasons = vec![if retained {
        "no longer in the blueprint: DeletionPolicy Retain keeps it, outside the stack (delete it by hand when it is no longer needed)".to_string()
    } else {
        "no longer in the blueprint: deleted".to_string()
    }];
    let holder = data::holder(&t);
    let data_loss = holder.is_some_and(|h| !(retained && h.retained_is_safe));
    if let Some(h) = holder {
        reasons.push(if data_loss {
            format!("data loss: {}", h.loses)
        } else {
            "retained: nothing it holds is lost".to_string()
        });
    }
    Change {
        logical_id: id.to_string(),
        resource_type: t,
        action: Action::Remove,
        data_loss,
        interruption: holder.is_some_and(|h| h.sessions),
        reasons,
        properties: Vec::new(),
        stack: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn finds_every_kind_of_reference_but_not_sub_locals() {
        let mut out = BTreeSet::new();
        targets(
            &json!({"a": {"Ref": "A"}, "b": {"Fn::GetAtt": ["B", "Arn"]},
                    "c": {"Fn::Sub": ["${C.Arn}/${x}/${!Lit}", {"x": {"Ref": "D"}}]},
                    "e": {"Fn::Sub": "${E}-${AWS::Region}"}}),
            &mut out,
        );
        let got: Vec<&str> = out.iter().map(String::as_str).collect();
        assert_eq!(got, ["A", "AWS::Region", "B", "C", "D", "E"]);
    }

    #[test]
    fn getatt_string_and_list_forms_compare_equal() {
        assert_eq!(
            normalize(&json!({"x": {"Fn::GetAtt": "A.Arn"}})),
            json!({"x": {"Fn::GetAtt": ["A", "Arn"]}})
        );
    }
}
