//! KMS key policies: no principal beyond the account.

use serde_json::Value;

use super::{allows, statements, strings};
use crate::policy::Ctx;

/// Condition keys that pin a wildcard principal to one account or organisation.
const PINNING: &[&str] = &[
    "kms:calleraccount",
    "aws:principalaccount",
    "aws:sourceaccount",
    "aws:principalorgid",
];

fn pinned(statement: &Value) -> bool {
    statement
        .get("Condition")
        .and_then(Value::as_object)
        .is_some_and(|ops| {
            ops.values().filter_map(Value::as_object).any(|keys| {
                keys.keys()
                    .any(|k| PINNING.contains(&k.to_ascii_lowercase().as_str()))
            })
        })
}

pub fn wildcard_principal(statement: &Value) -> bool {
    match statement.get("Principal") {
        Some(Value::String(s)) => s == "*",
        Some(Value::Object(m)) => m
            .get("AWS")
            .is_some_and(|v| strings(Some(v)).contains(&"*")),
        _ => false,
    }
}

/// KMS_KEY_POLICY_PRINCIPAL
pub fn key_policy_principal(ctx: &mut Ctx) {
    let keys: Vec<(&str, &Value)> = ctx.of_type("AWS::KMS::Key").collect();
    for (id, r) in keys {
        let Some(policy) = r
            .get("Properties")
            .and_then(|p| p.get("KeyPolicy"))
            .filter(|p| p.is_object())
        else {
            continue;
        };
        for (at, s) in statements(policy) {
            if allows(s) && wildcard_principal(s) && !pinned(s) {
                ctx.fail(
                    Some(id),
                    &format!("Properties/KeyPolicy/{at}/Principal"),
                    "the key policy allows any AWS principal (`*`) without a kms:CallerAccount or aws:PrincipalAccount condition",
                );
            }
        }
    }
}
