//! IAM: trust, wildcard actions, wildcard resources on writes, iam:PassRole.

use std::collections::BTreeSet;

use serde_json::Value;

use super::{allows, policy_documents, statements, strings, target, text_of};
use crate::policy::Ctx;

const POLICY_TYPES: &[&str] = &[
    "AWS::IAM::Role",
    "AWS::IAM::Policy",
    "AWS::IAM::ManagedPolicy",
];

/// Every Allow statement of the policy documents of the given types: (resource, pointer, statement).
fn allow_statements<'t>(ctx: &Ctx<'t>, types: &[&str]) -> Vec<(&'t str, String, &'t Value)> {
    let mut out = Vec::new();
    for (id, r) in ctx.resources {
        let Some(t) = r.get("Type").and_then(Value::as_str) else {
            continue;
        };
        if !types.contains(&t) {
            continue;
        }
        for (doc_at, doc) in policy_documents(t, r) {
            for (at, s) in statements(doc) {
                if allows(s) {
                    out.push((id.as_str(), format!("{doc_at}/{at}"), s));
                }
            }
        }
    }
    out
}

/// `*`, `*:*` or `service:*`: every action of a service (or of all).
fn wildcard_action(action: &str) -> bool {
    action == "*" || action.split_once(':').is_some_and(|(_, verb)| verb == "*")
}

/// IAM_NO_WILDCARD_ACTION
pub fn no_wildcard_action(ctx: &mut Ctx) {
    let mut types = POLICY_TYPES.to_vec();
    types.push("AWS::EC2::VPCEndpoint");
    for (id, at, s) in allow_statements(ctx, &types) {
        // An interface endpoint's data perimeter allows every action of its service to this
        // account's principals only: what they may do is their own policies' business.
        if perimeter_statement(ctx, id, s) {
            continue;
        }
        let wild: Vec<&str> = strings(s.get("Action"))
            .into_iter()
            .filter(|a| wildcard_action(a))
            .collect();
        if !wild.is_empty() {
            ctx.fail(
                Some(id),
                &format!("{at}/Action"),
                format!("Allow of every action of a service: {}", wild.join(", ")),
            );
        }
        if s.get("NotAction").is_some() {
            ctx.fail(
                Some(id),
                &format!("{at}/NotAction"),
                "Allow with NotAction grants every action not listed, including future ones",
            );
        }
    }
}

/// A statement of an endpoint policy that admits only this account's principals
/// (`aws:PrincipalAccount` equal to `${AWS::AccountId}`), and no `NotAction`.
fn perimeter_statement(ctx: &Ctx, id: &str, s: &Value) -> bool {
    let endpoint = ctx
        .resources
        .get(id)
        .and_then(|r| r.get("Type"))
        .and_then(Value::as_str)
        == Some("AWS::EC2::VPCEndpoint");
    let account = s
        .pointer("/Condition/StringEquals/aws:PrincipalAccount")
        .and_then(text_of);
    endpoint && s.get("NotAction").is_none() && account.as_deref() == Some("${AWS::AccountId}")
}

/// Verbs that only read.
const READ_VERBS: &[&str] = &[
    "Get", "List", "Describe", "Head", "Search", "Query", "Scan", "Lookup", "BatchGet", "Select",
    "View",
];
/// Actions that have no resource-level permissions at all, so `*` is the only way to grant them
/// (lower case). The build waives IAM_NO_WILDCARD_RESOURCE_READ for statements made of these only.
pub const NO_RESOURCE_LEVEL: &[&str] = &[
    "cloudwatch:putmetricdata",
    "xray:puttracesegments",
    "xray:puttelemetryrecords",
    "ec2:describedhcpoptions",
    "ec2:describenetworkinterfaces",
    "ec2:describesecuritygroups",
    "ec2:describesubnets",
    "ec2:describevpcs",
    "sagemaker:listapps",
    "sagemaker:listspaces",
    "sts:getservicebearertoken",
];

/// Whether IAM accepts only `*` as the resource of this action.
pub fn no_resource_level(action: &str) -> bool {
    NO_RESOURCE_LEVEL.contains(&action.to_ascii_lowercase().as_str())
}

fn writes(action: &str) -> bool {
    let Some((service, verb)) = action.split_once(':') else {
        return false;
    };
    if wildcard_action(action) || format!("{service}:{verb}").eq_ignore_ascii_case("iam:PassRole") {
        // Wildcard actions and PassRole have rules of their own.
        return false;
    }
    !READ_VERBS.iter().any(|r| verb.starts_with(r)) && !no_resource_level(action)
}

fn on_everything(s: &Value) -> bool {
    strings(s.get("Resource")).contains(&"*")
}

/// IAM_NO_WILDCARD_RESOURCE_WRITE
pub fn no_wildcard_resource_write(ctx: &mut Ctx) {
    for (id, at, s) in allow_statements(ctx, POLICY_TYPES) {
        if !on_everything(s) {
            continue;
        }
        let w: Vec<&str> = strings(s.get("Action"))
            .into_iter()
            .filter(|a| writes(a))
            .collect();
        if !w.is_empty() {
            ctx.fail(
                Some(id),
                &format!("{at}/Resource"),
                format!("write actions on every resource (`*`): {}", w.join(", ")),
            );
        }
    }
}

/// IAM_NO_WILDCARD_RESOURCE_READ: what IAM_NO_WILDCARD_RESOURCE_WRITE lets through on `*`
/// (reads, actions without resource-level permissions) is still a grant on everything, so each
/// one must be a waived exception that says why.
pub fn no_wildcard_resource_read(ctx: &mut Ctx) {
    for (id, at, s) in allow_statements(ctx, POLICY_TYPES) {
        if !on_everything(s) {
            continue;
        }
        let r: Vec<&str> = strings(s.get("Action"))
            .into_iter()
            .filter(|a| {
                a.contains(':')
                    && !wildcard_action(a)
                    && !a.eq_ignore_ascii_case("iam:PassRole")
                    && !writes(a)
            })
            .collect();
        if !r.is_empty() {
            ctx.fail(
                Some(id),
                &format!("{at}/Resource"),
                format!(
                    "reads or resource-less actions on every resource (`*`): {}",
                    r.join(", ")
                ),
            );
        }
    }
}

/// IAM_NO_POLICY_ON_USER
pub fn no_policy_on_user(ctx: &mut Ctx) {
    let policies: Vec<(&str, &Value)> = ctx
        .of_type("AWS::IAM::Policy")
        .chain(ctx.of_type("AWS::IAM::ManagedPolicy"))
        .collect();
    for (id, r) in policies {
        let users = r.pointer("/Properties/Users");
        if users
            .and_then(Value::as_array)
            .is_some_and(|u| !u.is_empty())
        {
            ctx.fail(
                Some(id),
                "Properties/Users",
                "the policy is attached to IAM users directly; attach it to a group or role",
            );
        }
    }
}

/// IAM_PASSROLE_SCOPED
pub fn passrole_scoped(ctx: &mut Ctx) {
    for (id, at, s) in allow_statements(ctx, POLICY_TYPES) {
        let passes = strings(s.get("Action"))
            .iter()
            .any(|a| a.eq_ignore_ascii_case("iam:PassRole"));
        if passes && on_everything(s) {
            ctx.fail(Some(id), &format!("{at}/Resource"), "iam:PassRole on every role (`*`) lets the holder hand any role, including admin ones, to a service");
        }
    }
}

/// Roles a notebook runs as: `RoleArn: !GetAtt Role.Arn` (or a `Fn::Sub` of `${Role.Arn}`).
fn notebook_roles(ctx: &Ctx) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for (_, nb) in ctx.of_type("AWS::SageMaker::NotebookInstance") {
        let Some(v) = nb.get("Properties").and_then(|p| p.get("RoleArn")) else {
            continue;
        };
        if let Some((x, _)) = target(v) {
            out.insert(x.to_string());
        } else if let Some(text) = text_of(v) {
            out.extend(crate::cfn::refs::sub_variables(&text).map(str::to_string));
        }
    }
    out
}

/// IAM_ROLE_TRUST_SCOPED
pub fn role_trust_scoped(ctx: &mut Ctx) {
    let notebook_roles = notebook_roles(ctx);
    let roles: Vec<(&str, &Value)> = ctx.of_type("AWS::IAM::Role").collect();
    for (id, r) in roles {
        let Some(doc) = r
            .get("Properties")
            .and_then(|p| p.get("AssumeRolePolicyDocument"))
            .filter(|d| d.is_object())
        else {
            continue;
        };
        let for_notebook = notebook_roles.contains(id);
        for (at, s) in statements(doc) {
            if !allows(s) {
                continue;
            }
            let pointer = format!("Properties/AssumeRolePolicyDocument/{at}/Principal");
            if super::kms::wildcard_principal(s) {
                ctx.fail(Some(id), &pointer, "the role trusts any principal (`*`)");
                continue;
            }
            if !for_notebook {
                continue;
            }
            let principal = s.get("Principal");
            let services = strings(principal.and_then(|p| p.get("Service")));
            let others: Vec<&String> = principal
                .and_then(Value::as_object)
                .map(|m| m.keys().filter(|k| *k != "Service").collect())
                .unwrap_or_default();
            if services != ["sagemaker.amazonaws.com"] || !others.is_empty() {
                ctx.fail(
                    Some(id),
                    &pointer,
                    format!("a notebook runs as this role, so only sagemaker.amazonaws.com may assume it; it trusts {}", principal.map_or("nothing".into(), Value::to_string)),
                );
            }
        }
    }
}
