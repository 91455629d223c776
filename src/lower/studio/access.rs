//! Sign-in: per Studio user a managed policy that allows a presigned domain URL for their own
//! profile only, under the blueprint's access conditions, attached to their principal.

use serde_json::{Value, json};

use super::{SIGN_IN, arn, user_id};
use crate::blueprint::model::Access;
use crate::blueprint::semantic::endpoint_names;
use crate::blueprint::studio::Studio;
use crate::cfn::{LogicalId, Resource, Template, r#ref};
use crate::lower::access::{attachment, source_condition};
use crate::lower::iam::{Statement, document};

/// The session the sign-in command asks for (SessionExpirationDurationInSeconds: 1800..43200).
/// IAM has no condition key for it, so it is the shortest Studio allows, shown in the outputs.
pub const SESSION_SECONDS: u32 = 1800;

pub fn lower(studio: &Studio, t: &mut Template, access: &Access, bp: &crate::blueprint::Blueprint) {
    // The URL is made through the API endpoint; the app's requests, checked against the same
    // policy, arrive through the Studio endpoint.
    let condition = source_condition(access, || {
        ["sagemaker-api", "studio"]
            .iter()
            .filter(|e| endpoint_names(bp).contains(**e))
            .map(|e| r#ref(&LogicalId::new(&[*e, "Endpoint"])))
            .collect()
    });
    for u in &studio.users {
        let statement = Statement {
            sid: "OpenOwnStudioProfile".into(),
            principal: None,
            actions: vec![
                "sagemaker:CreatePresignedDomainUrl",
                "sagemaker:DescribeUserProfile",
            ],
            resources: vec![arn("user-profile", &u.user)],
            condition: condition.clone(),
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
            let (kind, name) = attachment(arn);
            props.insert(kind.into(), json!([name]));
        }
        t.add(
            user_id(&u.user, SIGN_IN),
            Resource::new("AWS::IAM::ManagedPolicy", Value::Object(props)),
        );
    }
}
