//! IAM_DENY_CONDITION_KEY_APPLIES: a Deny whose condition key its action never carries in the
//! request context does nothing (`StringEquals`, `Null: false`) or denies every call
//! (`StringNotEquals`, `Null: true`); either way the statement is not the guardrail it reads as.
//! The table of which keys each action supports is generated from the Service Authorization
//! Reference (`schemas/iam/gen-condition-keys.py`) and embedded.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::LazyLock;

use serde_json::Value;

use super::{policy_documents, statements, strings};
use crate::policy::Ctx;

/// action (lower case) -> its condition keys (lower case, `${TagKey}` cut to the `/`).
static TABLE: LazyLock<BTreeMap<String, BTreeSet<String>>> = LazyLock::new(|| {
    include_str!("../../../schemas/iam/condition-keys.tsv")
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.split_once('\t'))
        .map(|(action, keys)| {
            let keys = keys.split_whitespace().map(normal_key).collect();
            (action.to_ascii_lowercase(), keys)
        })
        .collect()
});

/// Keys every request carries (or may carry) whatever the action: the IAM User Guide's global
/// condition context keys, less the tag keys, which only some actions support.
const GLOBAL: &[&str] = &[
    "aws:calledvia",
    "aws:calledviafirst",
    "aws:calledvialast",
    "aws:chatbotsourcearn",
    "aws:currenttime",
    "aws:ec2instancesourceprivateipv4",
    "aws:ec2instancesourcevpc",
    "aws:epochtime",
    "aws:federatedprovider",
    "aws:multifactorauthage",
    "aws:multifactorauthpresent",
    "aws:principalaccount",
    "aws:principalarn",
    "aws:principalisawsservice",
    "aws:principalorgid",
    "aws:principalorgpaths",
    "aws:principalservicename",
    "aws:principalservicenameslist",
    "aws:principaltag/",
    "aws:principaltype",
    "aws:referer",
    "aws:requestedregion",
    "aws:resourceaccount",
    "aws:resourceorgid",
    "aws:resourceorgpaths",
    "aws:securetransport",
    "aws:sourceaccount",
    "aws:sourcearn",
    "aws:sourceidentity",
    "aws:sourceip",
    "aws:sourceorgid",
    "aws:sourceorgpaths",
    "aws:sourcevpc",
    "aws:sourcevpcarn",
    "aws:sourcevpce",
    "aws:tokenissuetime",
    "aws:useragent",
    "aws:userid",
    "aws:username",
    "aws:viaawsservice",
    "aws:vpcsourceip",
];

/// `aws:ResourceTag/${TagKey}` and `aws:ResourceTag/owner` both become `aws:resourcetag/`.
fn normal_key(key: &str) -> String {
    let k = key.to_ascii_lowercase();
    match k.split_once('/') {
        Some((head, _)) => format!("{head}/"),
        None => k,
    }
}

/// The table's actions an `Action` entry names (`sagemaker:Create*` names several).
fn expand(action: &str) -> Vec<&'static BTreeSet<String>> {
    let a = action.to_ascii_lowercase();
    match a.split_once('*') {
        None => TABLE.get(&a).into_iter().collect(),
        Some(_) => TABLE
            .iter()
            .filter(|(name, _)| glob(&a, name))
            .map(|(_, keys)| keys)
            .collect(),
    }
}

/// IAM's action wildcards: `*` any run of characters, `?` one character.
fn glob(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    let (mut pi, mut ti, mut star, mut mark) = (0, 0, None, 0);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

/// The condition keys of a statement (the keys under each operator).
fn condition_keys(statement: &Value) -> Vec<&str> {
    let Some(Value::Object(ops)) = statement.get("Condition") else {
        return Vec::new();
    };
    ops.values()
        .filter_map(Value::as_object)
        .flat_map(|m| m.keys().map(String::as_str))
        .collect()
}

/// The problems of one policy document's Deny statements: (pointer relative to the document,
/// message). Actions the table does not know are not judged.
pub fn mismatches(doc: &Value) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (at, s) in statements(doc) {
        if s.get("Effect").and_then(Value::as_str) != Some("Deny") {
            continue;
        }
        let keys: Vec<&str> = condition_keys(s)
            .into_iter()
            .filter(|k| !GLOBAL.contains(&normal_key(k).as_str()))
            .collect();
        if keys.is_empty() {
            continue;
        }
        for action in strings(s.get("Action")) {
            let known = expand(action);
            if known.is_empty() {
                continue;
            }
            let unsupported: Vec<&str> = keys
                .iter()
                .copied()
                .filter(|k| !known.iter().any(|set| set.contains(&normal_key(k))))
                .collect();
            if !unsupported.is_empty() {
                out.push((
                    format!("{at}/Condition"),
                    format!(
                        "{action} never carries {} in its request context, so this Deny does not guard what it says",
                        unsupported.join(", ")
                    ),
                ));
            }
        }
    }
    out
}

/// The policy documents of a resource this rule reads: IAM policies, endpoint policies, and an
/// Organizations policy's `Content`.
fn documents<'v>(resource_type: &str, r: &'v Value) -> Vec<(String, &'v Value)> {
    match resource_type {
        "AWS::Organizations::Policy" => r
            .get("Properties")
            .and_then(|p| p.get("Content"))
            .filter(|c| c.is_object())
            .map(|c| ("Properties/Content".to_string(), c))
            .into_iter()
            .collect(),
        _ => policy_documents(resource_type, r),
    }
}

/// IAM_DENY_CONDITION_KEY_APPLIES
pub fn deny_condition_key_applies(ctx: &mut Ctx) {
    let mut failures = Vec::new();
    for (id, r) in ctx.resources {
        let Some(t) = r.get("Type").and_then(Value::as_str) else {
            continue;
        };
        for (doc_at, doc) in documents(t, r) {
            for (at, message) in mismatches(doc) {
                failures.push((id.as_str(), format!("{doc_at}/{at}"), message));
            }
        }
    }
    for (id, at, message) in failures {
        ctx.fail(Some(id), &at, message);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn deny(action: &str, op: &str, key: &str) -> Value {
        json!({"Statement": [{"Effect": "Deny", "Action": action, "Resource": "*",
            "Condition": {op: {key: "x"}}}]})
    }

    #[test]
    fn the_table_knows_the_notebook_keys() {
        let create = &TABLE["sagemaker:createnotebookinstance"];
        for k in [
            "sagemaker:directinternetaccess",
            "sagemaker:rootaccess",
            "sagemaker:vpcsubnets",
            "sagemaker:volumekmskeyarn",
            "sagemaker:notebookinstancelifecycleconfigarns",
            "sagemaker:minimuminstancemetadataserviceversion",
        ] {
            assert!(create.contains(k), "{k}");
        }
        let update = &TABLE["sagemaker:updatenotebookinstance"];
        assert!(update.contains("sagemaker:rootaccess"));
        assert!(!update.contains("sagemaker:directinternetaccess"));
        // Deprecated in the reference (replaced by VolumeKmsKeyArn) and no longer on the action.
        assert!(!create.contains("sagemaker:volumekmskey"));
    }

    #[test]
    fn a_key_the_action_lacks_is_reported() {
        let bad = deny(
            "sagemaker:UpdateNotebookInstance",
            "StringNotEquals",
            "sagemaker:DirectInternetAccess",
        );
        assert_eq!(mismatches(&bad).len(), 1);
        let good = deny(
            "sagemaker:CreateNotebookInstance",
            "StringNotEquals",
            "sagemaker:DirectInternetAccess",
        );
        assert!(mismatches(&good).is_empty());
        // Tag keys: a resource's tags are there, request tags only where the action takes tags.
        let tags = deny(
            "sagemaker:UpdateNotebookInstanceLifecycleConfig",
            "StringEquals",
            "aws:ResourceTag/owner",
        );
        assert!(mismatches(&tags).is_empty());
        let request_tags = deny(
            "sagemaker:UpdateNotebookInstanceLifecycleConfig",
            "StringEquals",
            "aws:RequestTag/owner",
        );
        assert_eq!(mismatches(&request_tags).len(), 1);
        let global = deny(
            "sagemaker:UpdateNotebookInstanceLifecycleConfig",
            "ArnNotLike",
            "aws:PrincipalArn",
        );
        assert!(mismatches(&global).is_empty());
    }

    #[test]
    fn wildcards_pass_when_one_action_supports_the_key_and_unknown_actions_are_not_judged() {
        assert!(glob(
            "sagemaker:create*",
            "sagemaker:createnotebookinstance"
        ));
        assert!(!glob("sagemaker:create*", "sagemaker:deletetags"));
        let some = deny("sagemaker:Create*", "Null", "sagemaker:VpcSubnets");
        assert!(mismatches(&some).is_empty());
        let none = deny("sagemaker:Delete*", "Null", "sagemaker:VpcSubnets");
        assert_eq!(mismatches(&none).len(), 1);
        let unknown = deny("madeup:Thing", "StringEquals", "madeup:Key");
        assert!(mismatches(&unknown).is_empty());
    }
}
