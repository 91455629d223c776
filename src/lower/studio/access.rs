//! Sign-in: per Studio user a managed policy that allows a presigned domain URL for their own
//! profile only, under the blueprint's access conditions, attached to their principal.

use serde_json::{Value, json};

use super::{SIGN_IN, arn, user_id};
use crate::blueprint::model::Access;
use crate::blueprint::semantic::endpoint_names;
use crate::blueprint::studio::Studio;
use crate::cfn::{LogicalId, Resource, Template, r#ref};
use crate::lower::iam::{Statement, document};

/// The session the sign-in command asks for (SessionExpirationDurationInSeconds: 1800..43200).
/// IAM has no condition key for it, so it is the shortest Studio allows, shown in the outputs.
pub const SESSION_SECONDS: u32 = 1800;

pub fn lower(studio: &Studio, t: &mut Template, access: &Access, bp: &crate::blueprint::Blueprint) {
    let mut condition = serde_json::Map::new();
    if !access.source_cidrs.is_empty() {
        condition.insert(
            "IpAddress".into(),
            json!({"aws:SourceIp": access.source_cidrs}),
        );
    }
    if access.via_vpc_endpoint {
        // The URL is made through the API endpoint; the app's requests, checked against the
        // same policy, arrive through the Studio endpoint.
        let ids: Vec<Value> = ["sagemaker-api", "studio"]
            .iter()
            .filter(|e| endpoint_names(bp).contains(**e))
            .map(|e| r#ref(&LogicalId::new(&[*e, "Endpoint"])))
            .collect();
        condition.insert("StringEquals".into(), json!({"aws:SourceVpce": ids}));
    }
    for u in &studio.users {
        let statement = Statement {
            sid: "OpenOwnStudioProfile".into(),
            principal: None,
            actions: vec![
                "sagemaker:CreatePresignedDomainUrl",
                "sagemaker:DescribeUserProfile",
            ],
            resources: vec![arn("user-profile", &u.user)],
            condition: (!condition.is_empty()).then(|| Value::Object(condition.clone())),
        };
        let mut props = serde_json::Map::new();
        props.insert(
            "Description".into(),
            json!(format!(
                "Lets {} open their own Studio profile and nothing else",
                u.user
            )),
        );
        props.insert("PolicyDocument".into(), document(vec![statement]));
        if let Some(arn) = access.principals.get(&u.user) {
            let (kind, rest) = arn
                .split_once(":role/")
                .map(|(_, r)| ("Roles", r))
                .or_else(|| arn.split_once(":user/").map(|(_, r)| ("Users", r)))
                .expect("schema-checked principal ARN");
            let name = rest.rsplit('/').next().unwrap_or(rest);
            props.insert(kind.into(), json!([name]));
        }
        t.add(
            user_id(&u.user, SIGN_IN),
            Resource::new("AWS::IAM::ManagedPolicy", Value::Object(props)),
        );
    }
}
