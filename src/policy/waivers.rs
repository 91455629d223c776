//! Waivers: deliberate, reasoned exceptions carried by the template itself, so a template
//! reviewed by `nbsynth check` gets the verdicts `nbsynth build` gave it.
//!
//! ```yaml
//! Metadata:                       # template level: any resource, or only the listed ones
//!   nbsynth:
//!     waivers:
//!       - {rule: SG_NO_WORLD_EGRESS, reason: "no internet route exists", resources: [EndpointSg]}
//! Resources:
//!   NotebookAlice:
//!     Metadata:                   # resource level: this resource only
//!       nbsynth:
//!         waivers:
//!           - {rule: NOTEBOOK_ROOT_ACCESS_DISABLED, reason: needs docker for local mode}
//! ```
//! The same (rule, reason) on several resources (the build puts an owner's waiver on each of
//! that owner's resources) is one waiver; it is unused only if it covered none of them.

use std::collections::BTreeSet;

use serde_json::Value;

use super::{Error, find, suggest};

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase", tag = "scope", content = "resources")]
pub enum WaiverScope {
    /// Declared in the Metadata of these resources.
    Resources(Vec<String>),
    /// Declared in the template's Metadata; an empty list means every resource.
    Template(Vec<String>),
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Waiver {
    pub rule: String,
    pub reason: String,
    pub scope: WaiverScope,
    /// Where it is declared (the first place, for positions).
    pub pointer: String,
    /// Resources whose finding it covered (`(template)` for a template-wide finding).
    pub applied: BTreeSet<String>,
    /// Whether its rule ran (a waiver of a rule left out by `--select`/`--ignore` is not unused).
    #[serde(skip)]
    pub ran: bool,
}

pub const TEMPLATE: &str = "(template)";

/// Every waiver the template declares. Malformed waiver metadata is an error: a waiver that
/// silently did nothing would hide the very finding it was written for.
pub fn declared(template: &Value) -> Result<Vec<Waiver>, Error> {
    let mut out: Vec<Waiver> = Vec::new();
    if let Some(list) = waiver_list(template.get("Metadata"), "/Metadata")? {
        for (i, w) in list.iter().enumerate() {
            let pointer = format!("/Metadata/nbsynth/waivers/{i}");
            let (rule, reason) = rule_and_reason(w, &pointer, &["rule", "reason", "resources"])?;
            let resources = match w.get("resources") {
                None => Vec::new(),
                Some(Value::Array(a)) => a
                    .iter()
                    .map(|v| v.as_str().map(str::to_string))
                    .collect::<Option<Vec<_>>>()
                    .ok_or_else(|| {
                        Error(format!(
                            "{pointer}/resources: expected a list of logical ids"
                        ))
                    })?,
                Some(_) => {
                    return Err(Error(format!(
                        "{pointer}/resources: expected a list of logical ids"
                    )));
                }
            };
            let known = template.get("Resources").and_then(Value::as_object);
            if let Some(missing) = resources
                .iter()
                .find(|id| !known.is_some_and(|m| m.contains_key(*id)))
            {
                return Err(Error(format!(
                    "{pointer}: waiver names resource `{missing}`, which the template does not have"
                )));
            }
            out.push(Waiver {
                rule,
                reason,
                scope: WaiverScope::Template(resources),
                pointer,
                applied: BTreeSet::new(),
                ran: true,
            });
        }
    }
    if let Some(resources) = template.get("Resources").and_then(Value::as_object) {
        for (id, r) in resources {
            let base = format!(
                "/Resources/{}/Metadata",
                crate::source::yaml::escape_pointer(id)
            );
            let Some(list) = waiver_list(r.get("Metadata"), &base)? else {
                continue;
            };
            for (i, w) in list.iter().enumerate() {
                let pointer = format!("{base}/nbsynth/waivers/{i}");
                let (rule, reason) = rule_and_reason(w, &pointer, &["rule", "reason"])?;
                let existing = out.iter_mut().find(|x| {
                    x.rule == rule
                        && x.reason == reason
                        && matches!(x.scope, WaiverScope::Resources(_))
                });
                match existing {
                    Some(Waiver {
                        scope: WaiverScope::Resources(ids),
                        ..
                    }) => ids.push(id.clone()),
                    _ => out.push(Waiver {
                        rule,
                        reason,
                        scope: WaiverScope::Resources(vec![id.clone()]),
                        pointer,
                        applied: BTreeSet::new(),
                        ran: true,
                    }),
                }
            }
        }
    }
    for w in &mut out {
        if let WaiverScope::Resources(ids) = &mut w.scope {
            ids.sort();
        }
    }
    Ok(out)
}

fn waiver_list<'v>(metadata: Option<&'v Value>, at: &str) -> Result<Option<&'v Vec<Value>>, Error> {
    let Some(ours) = metadata.and_then(|m| m.get("nbsynth")) else {
        return Ok(None);
    };
    match ours.get("waivers") {
        None => Ok(None),
        Some(Value::Array(a)) => Ok(Some(a)),
        Some(_) => Err(Error(format!(
            "{at}/nbsynth/waivers: expected a list of {{rule, reason}}"
        ))),
    }
}

fn rule_and_reason(w: &Value, pointer: &str, allowed: &[&str]) -> Result<(String, String), Error> {
    let m = w.as_object().ok_or_else(|| {
        Error(format!(
            "{pointer}: expected a mapping with `rule` and `reason`"
        ))
    })?;
    if let Some(k) = m.keys().find(|k| !allowed.contains(&k.as_str())) {
        return Err(Error(format!(
            "{pointer}: unknown key `{k}` (allowed: {})",
            allowed.join(", ")
        )));
    }
    let rule = m
        .get("rule")
        .and_then(Value::as_str)
        .ok_or_else(|| Error(format!("{pointer}: `rule` is missing")))?;
    if find(rule).is_none() {
        let hint = suggest(rule);
        let hint = if hint.is_empty() {
            String::new()
        } else {
            format!(" (did you mean {}?)", hint.join(", "))
        };
        return Err(Error(format!(
            "{pointer}: waiver names unknown rule `{rule}`{hint}"
        )));
    }
    let reason = m
        .get("reason")
        .and_then(Value::as_str)
        .map(str::trim)
        .unwrap_or("");
    if reason.is_empty() {
        return Err(Error(format!(
            "{pointer}: a waiver needs a non-empty `reason`"
        )));
    }
    Ok((rule.to_string(), reason.to_string()))
}

/// The reason of the waiver covering (rule, resource), recording the use. Resource-level
/// waivers win over template-level ones.
pub(super) fn apply(waivers: &mut [Waiver], rule: &str, resource: Option<&str>) -> Option<String> {
    let covers = |w: &Waiver, resource_level: bool| {
        w.rule == rule
            && match (&w.scope, resource) {
                (WaiverScope::Resources(ids), Some(id)) => {
                    resource_level && ids.iter().any(|x| x == id)
                }
                (WaiverScope::Template(ids), Some(id)) => {
                    !resource_level && (ids.is_empty() || ids.iter().any(|x| x == id))
                }
                (WaiverScope::Template(ids), None) => !resource_level && ids.is_empty(),
                (WaiverScope::Resources(_), None) => false,
            }
    };
    let i = waivers
        .iter()
        .position(|w| covers(w, true))
        .or_else(|| waivers.iter().position(|w| covers(w, false)))?;
    let w = &mut waivers[i];
    w.applied.insert(resource.unwrap_or(TEMPLATE).to_string());
    Some(w.reason.clone())
}
