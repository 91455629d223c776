//! What `build` puts into its outputs against data loss, driven by the data-holding table:
//!
//! - `DeletionPolicy: Retain` and `UpdateReplacePolicy: Retain` on every data-holding resource.
//!   A removed or replaced notebook instance, domain or profile is then kept outside the stack
//!   with its volume (and still billed) instead of deleted; a removed key is kept instead of
//!   scheduled for deletion. It cannot help a replacement that never happens: a notebook with
//!   a fixed `NotebookInstanceName` is not replaced at all (the update fails), and a retained
//!   instance still loses its volume when someone deletes it by hand.
//! - a stack policy (`out/<name>.stack-policy.json`) that denies `Update:Replace` and
//!   `Update:Delete` on the same resources by logical id, so that even a deploy nobody
//!   planned cannot replace or remove them; everything else may be updated.

use serde_json::{Value, json};

use super::data;
use crate::cfn::Template;

/// Marks every data-holding resource of a lowered template to be retained.
pub fn retain_data(t: &mut Template) {
    for r in t.resources.values_mut() {
        if data::holder(r.kind).is_some() {
            r.retain = Some(crate::cfn::Retain::Retain);
        }
    }
}

/// The logical ids of the data-holding resources of a template (JSON form), sorted.
pub fn protected_ids(template: &Value) -> Vec<String> {
    let mut ids: Vec<String> = template
        .get("Resources")
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .filter(|(_, r)| {
                    r.get("Type")
                        .and_then(Value::as_str)
                        .is_some_and(|t| data::holder(t).is_some())
                })
                .map(|(id, _)| id.clone())
                .collect()
        })
        .unwrap_or_default();
    ids.sort();
    ids
}

/// The stack policy for a template, as the text of `out/<name>.stack-policy.json`.
pub fn stack_policy(template: &Value) -> String {
    let mut statements = vec![json!({
        "Sid": "UpdatesAllowed",
        "Effect": "Allow",
        "Principal": "*",
        "Action": "Update:*",
        "Resource": "*"
    })];
    let ids = protected_ids(template);
    if !ids.is_empty() {
        let resources: Vec<String> = ids
            .iter()
            .map(|id| format!("LogicalResourceId/{id}"))
            .collect();
        statements.push(json!({
            "Sid": "DataHoldingResourcesAreNeverReplacedOrDeleted",
            "Effect": "Deny",
            "Principal": "*",
            "Action": ["Update:Replace", "Update:Delete"],
            "Resource": resources
        }));
    }
    let mut text = serde_json::to_string_pretty(&json!({ "Statement": statements }))
        .expect("a JSON value serializes");
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_policy_names_exactly_the_data_holding_resources() {
        let t = json!({"Resources": {
            "BNotebook": {"Type": "AWS::SageMaker::NotebookInstance"},
            "Key": {"Type": "AWS::KMS::Key"},
            "Sg": {"Type": "AWS::EC2::SecurityGroup"},
            "Profile": {"Type": "AWS::SageMaker::UserProfile"}
        }});
        let p: Value = serde_json::from_str(&stack_policy(&t)).unwrap();
        assert_eq!(
            p["Statement"][1]["Resource"],
            json!([
                "LogicalResourceId/BNotebook",
                "LogicalResourceId/Key",
                "LogicalResourceId/Profile"
            ])
        );
        assert_eq!(
            p["Statement"][1]["Action"],
            json!(["Update:Replace", "Update:Delete"])
        );
    }
}
