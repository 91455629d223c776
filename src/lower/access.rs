//! The access policy of one owner: what a person needs to open, stop and start *their own*
//! notebook, and nothing for anyone else's.
//!
//! `StartNotebookInstance` runs with the caller's rights for more than the notebook: SageMaker
//! passes the notebook's role, creates the network interface in the stack's subnet and security
//! group, and has the volume key grant it use of the key. The person's direct calls carry the
//! blueprint's source conditions (`aws:SourceIp`, `aws:SourceVpce`); the steps SageMaker takes
//! on their behalf do not, because those requests reach IAM, EC2 and KMS from SageMaker (no VPC
//! endpoint in the path, and the source address is SageMaker's whenever the service calls with
//! its own session). Those statements are bounded by their own keys instead: the role may only
//! be passed to SageMaker, the interface only created in the stack's subnets with its group,
//! and the key only granted to an AWS service through SageMaker or EC2.

use serde_json::{Value, json};

use super::Shared;
use super::iam::{Statement, document, notebook_arn};
use super::naming::{ACCESS, Names, ROLE};
use crate::blueprint::model::Access;
use crate::cfn::{Resource, Template, get_att, r#ref, sub};

pub fn lower(names: &Names, t: &mut Template, shared: &Shared, owner: &str, access: &Access) {
    let mut props = serde_json::Map::new();
    props.insert(
        "Description".into(),
        json!(format!(
            "Lets {owner} open, stop and start notebook {} and nothing else",
            names.notebook(owner)
        )),
    );
    props.insert(
        "PolicyDocument".into(),
        document(statements(names, shared, owner, access)),
    );
    let mut on_user = false;
    if let Some(arn) = access.principals.get(owner) {
        let (kind, name) = attachment(arn);
        props.insert(kind.into(), json!([name]));
        on_user = kind == "Users";
    }
    let mut policy = Resource::new("AWS::IAM::ManagedPolicy", Value::Object(props));
    if on_user {
        // The blueprint names an IAM user the stack does not own: a group of the stack's would
        // have to take over that user's memberships, so the grant goes to the user, visibly.
        policy = policy.metadata(json!({"nbsynth": {"waivers": [{
            "rule": "IAM_NO_POLICY_ON_USER",
            "reason": format!("access.principals names {owner} as an IAM user the stack does not manage; this policy grants only {owner}'s own notebook, so it is attached to that user instead of a group the stack would make it join")
        }]}}));
    }
    t.add(names.owner_id(owner, ACCESS), policy);
}

/// An `access.principals` ARN as the policy property that attaches by name:
/// `arn:aws:iam::123456789012:role/path/name` -> ("Roles", "name").
pub(super) fn attachment(arn: &str) -> (&'static str, &str) {
    let (kind, rest) = arn
        .split_once(":role/")
        .map(|(_, r)| ("Roles", r))
        .or_else(|| arn.split_once(":user/").map(|(_, r)| ("Users", r)))
        .expect("schema-checked principal ARN");
    (kind, rest.rsplit('/').next().unwrap_or(rest))
}

/// `access.source_cidrs` and `via_vpc_endpoint` as a condition; `endpoints` are the interface
/// endpoints people come through (asked for only with `via_vpc_endpoint`).
pub(super) fn source_condition(
    access: &Access,
    endpoints: impl FnOnce() -> Vec<Value>,
) -> Option<Value> {
    let mut condition = serde_json::Map::new();
    if !access.source_cidrs.is_empty() {
        condition.insert(
            "IpAddress".into(),
            json!({"aws:SourceIp": access.source_cidrs}),
        );
    }
    if access.via_vpc_endpoint {
        condition.insert(
            "StringEquals".into(),
            json!({"aws:SourceVpce": endpoints()}),
        );
    }
    (!condition.is_empty()).then_some(Value::Object(condition))
}

fn statements(names: &Names, shared: &Shared, owner: &str, access: &Access) -> Vec<Statement> {
    let ec2 = |kind: &str, id: Value| -> Value {
        json!({"Fn::Join": ["", [
            sub(format!("arn:${{AWS::Partition}}:ec2:${{AWS::Region}}:${{AWS::AccountId}}:{kind}/")),
            id
        ]]})
    };
    let mut interface_resources = vec![sub(
        "arn:${AWS::Partition}:ec2:${AWS::Region}:${AWS::AccountId}:network-interface/*",
    )];
    interface_resources.extend(shared.subnets.iter().map(|s| ec2("subnet", s.clone())));
    if let Some(sg) = &shared.notebook_sg {
        interface_resources.push(ec2("security-group", get_att(sg, "GroupId")));
    }
    vec![
        Statement {
            sid: "UseOwnNotebook".into(),
            principal: None,
            actions: vec![
                "sagemaker:CreatePresignedNotebookInstanceUrl",
                "sagemaker:DescribeNotebookInstance",
                "sagemaker:StartNotebookInstance",
                "sagemaker:StopNotebookInstance",
            ],
            resources: vec![notebook_arn(names, owner)],
            condition: source_condition(access, || {
                shared.access_endpoints.iter().map(r#ref).collect()
            }),
        },
        Statement {
            sid: "PassOwnNotebookRole".into(),
            principal: None,
            actions: vec!["iam:PassRole"],
            resources: vec![get_att(&names.owner_id(owner, ROLE), "Arn")],
            condition: Some(
                json!({"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}}),
            ),
        },
        Statement {
            sid: "CreateNotebookInterface".into(),
            principal: None,
            actions: vec!["ec2:CreateNetworkInterface"],
            resources: interface_resources,
            condition: None,
        },
        Statement {
            // The Describe actions have no resource-level permissions: `*` is the only form.
            sid: "DescribeNotebookNetwork".into(),
            principal: None,
            actions: vec![
                "ec2:DescribeNetworkInterfaces",
                "ec2:DescribeSecurityGroups",
                "ec2:DescribeSubnets",
                "ec2:DescribeVpcs",
            ],
            resources: vec![json!("*")],
            condition: None,
        },
        Statement {
            sid: "GrantVolumeKeyToSageMaker".into(),
            principal: None,
            actions: vec!["kms:CreateGrant"],
            resources: vec![shared.key_arn.clone()],
            condition: Some(json!({
                "Bool": {"kms:GrantIsForAWSResource": "true"},
                "StringEquals": {"kms:ViaService": [
                    sub("sagemaker.${AWS::Region}.amazonaws.com"),
                    sub("ec2.${AWS::Region}.amazonaws.com")
                ]}
            })),
        },
        Statement {
            sid: "DescribeVolumeKey".into(),
            principal: None,
            actions: vec!["kms:DescribeKey"],
            resources: vec![shared.key_arn.clone()],
            condition: None,
        },
    ]
}
