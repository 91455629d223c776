//! The guardrail policy: Deny statements that keep every notebook instance of the account on
//! this stack's settings, using only condition keys the Service Authorization Reference lists
//! for each action (checked by IAM_DENY_CONDITION_KEY_APPLIES's table).
//!
//! Operator choice, per key: a Deny on `CreateNotebookInstance` uses `StringNotEquals`, which is
//! also true when the request omits the key, because an omitted setting takes the weak default
//! (RootAccess defaults to Enabled, DirectInternetAccess to Enabled). List keys get a `Null`
//! statement (no subnet, no key) and a `ForAnyValue:StringNotEquals` one (any other value); a
//! single statement cannot say both, since the operators of one condition are ANDed (and
//! `ForAnyValue` over an absent list is false). A Deny on
//! `UpdateNotebookInstance` uses `StringEquals` the weak value, so updates that leave the
//! setting alone (the key is absent) still pass.

use serde_json::{Value, json};

/// What the stack's notebooks are created with. `None` for a value the stack creates: the
/// policy then holds a `${Output}` placeholder naming the stack output to fill it from.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Stack (and resource-name prefix).
    pub name: String,
    /// Subnet ids, or `["${SubnetIds}"]`.
    pub subnets: Vec<String>,
    /// Security group ids, or `["${NotebookSecurityGroupId}"]`.
    pub security_groups: Vec<String>,
    /// The forms `sagemaker:VolumeKmsKeyArn` may take for the stack's key: its ARN and its id
    /// (the stack passes the id of a key it creates).
    pub kms_key: Vec<String>,
    /// Instance types the stack uses, sorted.
    pub instance_types: Vec<String>,
    /// True when no owner has root access (a waived owner makes the root guard impossible).
    pub root_disabled: bool,
    /// The principal allowed to change what no condition key guards.
    pub deploy_role: Option<String>,
}

const CREATE: &str = "sagemaker:CreateNotebookInstance";
const UPDATE: &str = "sagemaker:UpdateNotebookInstance";

fn deny(sid: &str, actions: &[&str], condition: Value) -> Value {
    let action = match actions {
        [one] => json!(one),
        many => json!(many),
    };
    json!({"Sid": sid, "Effect": "Deny", "Action": action, "Resource": "*", "Condition": condition})
}

/// The Deny statements, in a fixed order.
pub fn statements(s: &Settings) -> Vec<Value> {
    let mut out = vec![deny(
        "NbNoInternet",
        &[CREATE],
        json!({"StringNotEquals": {"sagemaker:DirectInternetAccess": "Disabled"}}),
    )];
    if s.root_disabled {
        out.push(deny(
            "NbNoRoot",
            &[CREATE],
            json!({"StringNotEquals": {"sagemaker:RootAccess": "Disabled"}}),
        ));
        out.push(deny(
            "NbNoRootOnUpdate",
            &[UPDATE],
            json!({"StringEquals": {"sagemaker:RootAccess": "Enabled"}}),
        ));
    }
    out.push(deny(
        "NbImdsV2",
        &[CREATE],
        json!({"StringNotEquals": {"sagemaker:MinimumInstanceMetadataServiceVersion": "2"}}),
    ));
    out.push(deny(
        "NbImdsV2OnUpdate",
        &[UPDATE],
        json!({"StringEquals": {"sagemaker:MinimumInstanceMetadataServiceVersion": "1"}}),
    ));
    // Absent or another key; StringNotEquals is true for both (a single-valued key).
    out.push(deny(
        "NbKmsKeyOfStack",
        &[CREATE],
        json!({"StringNotEquals": {"sagemaker:VolumeKmsKeyArn": s.kms_key}}),
    ));
    for (sid, key, values) in [
        ("Subnets", "sagemaker:VpcSubnets", &s.subnets),
        (
            "SecurityGroups",
            "sagemaker:VpcSecurityGroupIds",
            &s.security_groups,
        ),
    ] {
        out.push(deny(
            &format!("Nb{sid}Present"),
            &[CREATE],
            json!({"Null": {key: "true"}}),
        ));
        out.push(deny(
            &format!("Nb{sid}OfStack"),
            &[CREATE],
            json!({"ForAnyValue:StringNotEquals": {key: values}}),
        ));
    }
    // The stack's lifecycle configurations (idle shutdown, download blocking) are the only
    // ones a notebook may run, at creation and on update; none at all is also a weakening.
    let ours = format!(
        "arn:*:sagemaker:*:*:notebook-instance-lifecycle-config/{}-*",
        s.name
    );
    out.push(deny(
        "NbLifecyclePresent",
        &[CREATE],
        json!({"Null": {"sagemaker:NotebookInstanceLifecycleConfigArns": "true"}}),
    ));
    out.push(deny(
        "NbLifecycleOfStack",
        &[CREATE, UPDATE],
        json!({"ForAnyValue:ArnNotLike": {"sagemaker:NotebookInstanceLifecycleConfigArns": ours}}),
    ));
    out.push(deny(
        "NbInstanceTypes",
        &[CREATE, UPDATE],
        json!({"ForAnyValue:StringNotEquals": {"sagemaker:InstanceTypes": s.instance_types}}),
    ));
    // Studio, for when the blueprint has domains: only VPC-only networking.
    out.push(deny(
        "DomainVpcOnly",
        &["sagemaker:CreateDomain"],
        json!({"StringNotEquals": {"sagemaker:AppNetworkAccessType": "VpcOnly"}}),
    ));
    out.push(deny(
        "DomainVpcOnlyOnUpdate",
        &["sagemaker:UpdateDomain"],
        json!({"StringEquals": {"sagemaker:AppNetworkAccessType": "PublicInternetOnly"}}),
    ));
    if let Some(role) = &s.deploy_role {
        let only_deployer = json!({"ArnNotLike": {"aws:PrincipalArn": role}});
        // No key says that an update detaches the lifecycle configuration (or changes the role
        // or code repositories), nor what a configuration's script does; tags are what owner
        // scoping rests on.
        let mut tamper = deny(
            "NbOnlyDeployerChangesStack",
            &[UPDATE, "sagemaker:AddTags", "sagemaker:DeleteTags"],
            only_deployer.clone(),
        );
        tamper["Resource"] = json!([
            format!("arn:*:sagemaker:*:*:notebook-instance/{}-*", s.name),
            format!(
                "arn:*:sagemaker:*:*:notebook-instance-lifecycle-config/{}-*",
                s.name
            ),
        ]);
        out.push(tamper);
        // Any new or changed lifecycle configuration runs as root with a notebook's role.
        out.push(deny(
            "NbOnlyDeployerChangesLifecycle",
            &[
                "sagemaker:CreateNotebookInstanceLifecycleConfig",
                "sagemaker:UpdateNotebookInstanceLifecycleConfig",
                "sagemaker:DeleteNotebookInstanceLifecycleConfig",
            ],
            only_deployer,
        ));
    }
    out
}

/// The service control policy: Deny statements only (SCPs grant nothing).
pub fn scp(s: &Settings) -> Value {
    json!({"Version": "2012-10-17", "Statement": statements(s)})
}

/// The same as a permissions boundary: a boundary is the most an identity may do, so it starts
/// with allowing everything and the Deny statements cut it down.
pub fn boundary(s: &Settings) -> Value {
    let mut all = vec![
        json!({"Sid": "AllowWithinBoundary", "Effect": "Allow", "Action": "*", "Resource": "*"}),
    ];
    all.extend(statements(s));
    json!({"Version": "2012-10-17", "Statement": all})
}
