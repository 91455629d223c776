//! What a notebook role needs to read one CodeArtifact repository with pip, and nothing more:
//! a token for the repository's domain, the repository's endpoint and its packages, and the STS
//! bearer token that GetAuthorizationToken obtains on the caller's behalf, for CodeArtifact only
//! and no longer-lived than the token the instance asks for.

use serde_json::json;

use super::LowerError;
use super::iam::Statement;
use crate::blueprint::model::CodeArtifact;
use crate::cfn::{LogicalId, Template, sub};

/// Seconds a token lives: the instance's refresher asks for exactly this (`codeartifact.py`).
pub const TOKEN_SECONDS: u32 = 21_600;

/// The domain and repository are named by their owner account, which may be another account
/// (a shared-services domain); the region is the stack's, where the endpoints are. The account
/// is a template parameter (the template itself holds no account id), pinned to the blueprint's
/// value because the on-start script names the same account.
/// `at` points at the blueprint's `pip_mirror` that names it, for errors.
pub fn statements(
    t: &mut Template,
    ca: &CodeArtifact,
    at: &str,
) -> Result<Vec<Statement>, LowerError> {
    let param = LogicalId::new(&["CodeArtifact", &ca.domain, "Owner"]).to_string();
    let spec = json!({
        "Type": "String",
        "Default": ca.owner,
        "AllowedValues": [ca.owner],
        "Description": format!("Account that owns the CodeArtifact domain {} (fixed by the blueprint: the notebooks' token service asks that account)", ca.domain),
    });
    if let Some(other) = t.parameters.get(&param).filter(|p| **p != spec) {
        return Err(LowerError {
            message: format!(
                "CodeArtifact domain `{}` is named with two owner accounts ({} and {})",
                ca.domain,
                other["Default"].as_str().unwrap_or_default(),
                ca.owner
            ),
            pointer: at.into(),
            help: Some("a domain has one owner account; use the same `owner` for every mirror in that domain".into()),
        });
    }
    t.parameters.insert(param.clone(), spec);
    let arn = |rest: String| {
        sub(format!(
            "arn:${{AWS::Partition}}:codeartifact:${{AWS::Region}}:${{{param}}}:{rest}"
        ))
    };
    Ok(vec![
        Statement {
            sid: "CodeArtifactToken".into(),
            principal: None,
            actions: vec!["codeartifact:GetAuthorizationToken"],
            resources: vec![arn(format!("domain/{}", ca.domain))],
            condition: None,
        },
        Statement {
            sid: "CodeArtifactRead".into(),
            principal: None,
            actions: vec![
                "codeartifact:GetRepositoryEndpoint",
                "codeartifact:ReadFromRepository",
            ],
            resources: vec![arn(format!("repository/{}/{}", ca.domain, ca.repository))],
            condition: None,
        },
        Statement {
            sid: "CodeArtifactBearerToken".into(),
            principal: None,
            actions: vec!["sts:GetServiceBearerToken"],
            // The action has no resource type: `*` is the only resource it takes.
            resources: vec![json!("*")],
            condition: Some(json!({
                "StringEquals": {"sts:AWSServiceName": "codeartifact.amazonaws.com"},
                // A string: IAM reads condition values as strings (and moto refuses a JSON number).
                "NumericLessThanEquals": {"sts:DurationSeconds": TOKEN_SECONDS.to_string()},
            })),
        },
    ])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lower::iam::document;

    fn acme() -> CodeArtifact {
        CodeArtifact {
            domain: "acme".into(),
            owner: "111122223333".into(),
            repository: "pypi-store".into(),
        }
    }

    #[test]
    fn least_privilege_on_the_domain_and_repository() {
        let mut t = Template::default();
        let doc = document(statements(&mut t, &acme(), "/lifecycle/pip_mirror").unwrap());
        assert_eq!(
            t.parameters["CodeArtifactAcmeOwner"]["AllowedValues"],
            json!(["111122223333"])
        );
        assert_eq!(
            doc,
            json!({"Version": "2012-10-17", "Statement": [
                {
                    "Sid": "CodeArtifactBearerToken",
                    "Effect": "Allow",
                    "Action": ["sts:GetServiceBearerToken"],
                    "Resource": "*",
                    "Condition": {
                        "StringEquals": {"sts:AWSServiceName": "codeartifact.amazonaws.com"},
                        "NumericLessThanEquals": {"sts:DurationSeconds": "21600"}
                    }
                },
                {
                    "Sid": "CodeArtifactRead",
                    "Effect": "Allow",
                    "Action": ["codeartifact:GetRepositoryEndpoint", "codeartifact:ReadFromRepository"],
                    "Resource": {"Fn::Sub": "arn:${AWS::Partition}:codeartifact:${AWS::Region}:${CodeArtifactAcmeOwner}:repository/acme/pypi-store"}
                },
                {
                    "Sid": "CodeArtifactToken",
                    "Effect": "Allow",
                    "Action": ["codeartifact:GetAuthorizationToken"],
                    "Resource": {"Fn::Sub": "arn:${AWS::Partition}:codeartifact:${AWS::Region}:${CodeArtifactAcmeOwner}:domain/acme"}
                }
            ]})
        );
    }

    #[test]
    fn one_domain_has_one_owner() {
        let mut t = Template::default();
        statements(&mut t, &acme(), "/lifecycle/pip_mirror").unwrap();
        statements(
            &mut t,
            &CodeArtifact {
                repository: "other".into(),
                ..acme()
            },
            "/x",
        )
        .unwrap();
        let e = statements(
            &mut t,
            &CodeArtifact {
                owner: "444455556666".into(),
                ..acme()
            },
            "/notebooks/instances/1/lifecycle/pip_mirror",
        )
        .err()
        .unwrap();
        assert!(e.message.contains("two owner accounts"), "{}", e.message);
        assert_eq!(e.pointer, "/notebooks/instances/1/lifecycle/pip_mirror");
    }

    #[test]
    fn the_role_may_not_mint_longer_tokens_than_the_instance_asks_for() {
        let script = include_str!("../../assets/lifecycle/codeartifact.py");
        assert!(
            script.contains(&format!("DURATION = {TOKEN_SECONDS} ")),
            "codeartifact.py and the role's sts:DurationSeconds limit disagree"
        );
        const {
            assert!(
                TOKEN_SECONDS <= 43_200,
                "CodeArtifact tokens last at most 12 h"
            )
        };
    }
}
