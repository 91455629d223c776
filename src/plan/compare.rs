//! One resource that is in both templates: which properties changed (down to the leaf, so
//! that deep create-only paths are found), and what CloudFormation does about it.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use super::cascade::{targets, type_of};
use super::replacement::{self, Path, Settled, display, touches};
use super::{Action, Change, data};

/// Resource attributes besides `Properties` whose change CloudFormation reports. `DependsOn`
/// only orders operations; it changes nothing by itself.
const ATTRIBUTES: &[&str] = &[
    "Condition",
    "CreationPolicy",
    "DeletionPolicy",
    "Metadata",
    "UpdatePolicy",
    "UpdateReplacePolicy",
];

/// A changed property, and the referenced name that changes it when its text is the same.
struct Changed {
    path: Path,
    via: Option<String>,
}

fn is_intrinsic(m: &serde_json::Map<String, Value>) -> bool {
    m.len() == 1
        && m.keys()
            .next()
            .is_some_and(|k| k == "Ref" || k.starts_with("Fn::") || k == "Condition")
}

fn diff(
    old: Option<&Value>,
    new: Option<&Value>,
    path: &mut Path,
    changed: &BTreeMap<String, String>,
    out: &mut Vec<Changed>,
) {
    match (old, new) {
        (None, None) => {}
        (Some(Value::Object(o)), Some(Value::Object(n)))
            if !is_intrinsic(o) && !is_intrinsic(n) =>
        {
            let keys: BTreeSet<&String> = o.keys().chain(n.keys()).collect();
            for k in keys {
                path.push(k.clone());
                diff(o.get(k), n.get(k), path, changed, out);
                path.pop();
            }
        }
        (Some(a), Some(b)) if a == b => {
            let mut names = BTreeSet::new();
            targets(a, &mut names);
            if let Some(name) = names.into_iter().find(|n| changed.contains_key(n)) {
                out.push(Changed {
                    path: path.clone(),
                    via: Some(name),
                });
            }
        }
        _ => out.push(Changed {
            path: path.clone(),
            via: None,
        }),
    }
}

fn at<'a>(v: Option<&'a Value>, path: &[String]) -> Option<&'a Value> {
    path.iter().try_fold(v?, |v, k| v.get(k))
}

/// A short value for a reason (a reference as `Ref X` or `X.Attr`), or `None` when it would
/// not help (long, structured).
fn short(v: Option<&Value>) -> Option<String> {
    let s = match v? {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Object(m) if m.len() == 1 => match (m.get("Ref"), m.get("Fn::GetAtt")) {
            (Some(Value::String(r)), _) => format!("Ref {r}"),
            (_, Some(Value::Array(a))) => {
                let parts: Vec<&str> = a.iter().filter_map(Value::as_str).collect();
                parts.join(".")
            }
            _ => return None,
        },
        _ => return None,
    };
    (s.len() <= 60).then_some(s)
}

fn describe(
    c: &Changed,
    old: Option<&Value>,
    new: Option<&Value>,
    changed: &BTreeMap<String, String>,
) -> String {
    let p = display(&c.path);
    if let Some(name) = &c.via {
        return format!("{p} refers to {name}, which {}", changed[name]);
    }
    let (o, n) = (at(old, &c.path), at(new, &c.path));
    match (o, n) {
        (None, _) => format!("{p} added"),
        (_, None) => format!("{p} removed"),
        _ => match (short(o), short(n)) {
            (Some(a), Some(b)) => format!("{p}: {a} -> {b}"),
            _ => format!("{p} changed"),
        },
    }
}

fn number(v: Option<&Value>) -> Option<f64> {
    match v? {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

/// Judges one resource present in both templates; `None` when nothing about it changes.
/// Undeployable changes are pushed to `errors`.
pub fn judge(
    id: &str,
    old: &Value,
    new: &Value,
    changed: &BTreeMap<String, String>,
    errors: &mut Vec<String>,
) -> Option<Change> {
    let t = type_of(old);
    let holder = data::holder(&t);
    if t != type_of(new) {
        let mut reasons = vec![format!(
            "type changed to {}: CloudFormation deletes the old resource and creates the new one",
            type_of(new)
        )];
        reasons.extend(holder.map(|h| format!("data loss: {}", h.loses)));
        return Some(Change {
            logical_id: id.to_string(),
            resource_type: t,
            action: Action::Replace,
            data_loss: holder.is_some(),
            interruption: holder.is_some_and(|h| h.sessions),
            reasons,
            properties: vec!["Type".into()],
            stack: None,
        });
    }
    let (op, np) = (old.get("Properties"), new.get("Properties"));
    let empty = Value::Object(Default::default());
    let mut found = Vec::new();
    diff(
        Some(op.unwrap_or(&empty)),
        Some(np.unwrap_or(&empty)),
        &mut Vec::new(),
        changed,
        &mut found,
    );
    let attributes: Vec<&str> = ATTRIBUTES
        .iter()
        .copied()
        .filter(|a| old.get(a) != new.get(a))
        .collect();
    if found.is_empty() && attributes.is_empty() {
        return None;
    }
    let rules = replacement::rules(&t);
    let mut replace = Vec::new();
    let mut in_place = Vec::new();
    let mut interruption = false;
    let mut orphans = false;
    for c in &found {
        let text = describe(c, op, np, changed);
        if rules.create_only.iter().any(|s| touches(&c.path, s)) {
            replace.push(format!("{text} (create-only: replaces)"));
        } else if rules.conditional.iter().any(|s| touches(&c.path, s)) {
            match replacement::settle(&t, &c.path, at(op, &c.path), at(np, &c.path)) {
                Settled::Replace(why) => replace.push(why),
                Settled::InPlace(why) => in_place.push(why),
            }
        } else {
            in_place.push(format!("{text} (updated in place)"));
            interruption |= data::update_interrupts(&t, &c.path);
            orphans |= data::orphans_files(&t, &c.path);
        }
        if t == "AWS::SageMaker::NotebookInstance" && c.path == ["VolumeSizeInGB"] {
            let (o, n) = (number(at(op, &c.path)), number(at(np, &c.path)));
            if let (Some(o), Some(n)) = (o, n)
                && n < o
            {
                errors.push(format!(
                    "{id}: VolumeSizeInGB {o} -> {n}: SageMaker can grow a notebook's volume but never shrink it; the update would fail and roll back"
                ));
            }
        }
    }
    if !rules.known && !found.is_empty() {
        in_place.push(format!(
            "no provider schema is vendored for {t}: whether this replaces it is unknown"
        ));
    }
    for a in &attributes {
        in_place.push(format!(
            "{a} changed (a resource attribute: the resource itself is not touched)"
        ));
    }
    let mut properties: Vec<String> = found.iter().map(|c| display(&c.path)).collect();
    properties.extend(attributes.iter().map(|a| a.to_string()));
    properties.sort();
    properties.dedup();
    let action = if replace.is_empty() {
        Action::Modify
    } else {
        Action::Replace
    };
    let mut reasons = Vec::new();
    let data_loss = match action {
        Action::Replace => {
            reasons.extend(fixed_names(&t, op, np));
            let retained = matches!(
                old.get("UpdateReplacePolicy").and_then(Value::as_str),
                Some("Retain")
            );
            let loss = holder.is_some_and(|h| !(retained && h.retained_is_safe));
            if let Some(h) = holder {
                interruption |= h.sessions;
                reasons.push(match (loss, retained) {
                    (true, true) => format!(
                        "data loss: the replacement starts empty; the old one is kept (UpdateReplacePolicy Retain) outside the stack with {}",
                        h.loses
                    ),
                    (true, false) => format!("data loss: {}", h.loses),
                    (false, _) => "the old one is kept (UpdateReplacePolicy Retain): nothing it holds is lost".into(),
                });
            }
            loss
        }
        _ => {
            if interruption {
                reasons.push(
                    "interruption: SageMaker updates a notebook instance only while it is stopped; CloudFormation stops it and starts it again (running kernels and terminals end)"
                        .into(),
                );
            }
            if orphans {
                reasons.push("data access: the POSIX uid/gid changes in place, so the files in the user's home that belong to the old uid/gid are no longer the user's".into());
            }
            orphans
        }
    };
    let mut all = replace;
    all.extend(in_place);
    all.extend(reasons);
    Some(Change {
        logical_id: id.to_string(),
        resource_type: t,
        action,
        data_loss,
        interruption,
        reasons: all,
        properties,
        stack: None,
    })
}

/// Whether a property is the resource's own physical name: `<Kind>Name` where the type ends
/// with `<Kind>` (`NotebookInstanceName`, `GroupName` of a security group, `RoleName`), not a
/// name of something else (`ServiceName` of an endpoint).
pub(super) fn names_the_resource(t: &str, property: &str) -> bool {
    property.strip_suffix("Name").is_some_and(|kind| {
        !kind.is_empty() && t.rsplit("::").next().is_some_and(|k| k.ends_with(kind))
    })
}

/// A replaced resource whose create-only name stays the same cannot be replaced at all:
/// CloudFormation refuses to replace a custom-named resource and rolls the update back.
fn fixed_names(t: &str, old: Option<&Value>, new: Option<&Value>) -> Vec<String> {
    replacement::rules(t)
        .create_only
        .iter()
        .filter(|p| p.len() == 1 && names_the_resource(t, &p[0]))
        .filter_map(|p| {
            let (o, n) = (at(old, p), at(new, p));
            (o.is_some() && o == n).then(|| {
                format!(
                    "{} stays {}: CloudFormation does not replace a custom-named resource, so this update fails and rolls back until the name changes too (and a new name is a new resource)",
                    p[0],
                    short(o).unwrap_or_else(|| "the same".into())
                )
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_resource_s_own_name_is_a_custom_name() {
        assert!(names_the_resource(
            "AWS::SageMaker::NotebookInstance",
            "NotebookInstanceName"
        ));
        assert!(names_the_resource("AWS::EC2::SecurityGroup", "GroupName"));
        assert!(names_the_resource("AWS::IAM::Role", "RoleName"));
        assert!(!names_the_resource("AWS::EC2::VPCEndpoint", "ServiceName"));
        assert!(!names_the_resource(
            "AWS::SageMaker::NotebookInstance",
            "LifecycleConfigName"
        ));
    }
}
