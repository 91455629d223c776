//! VPC flow logs: every accepted and rejected flow of the notebooks' VPC goes to a CloudWatch
//! log group encrypted with the stack's key and kept a year, delivered by a role only the flow
//! logs service of this account may assume. `network.flow_logs: false` leaves them out and puts
//! a waiver in the template, so the review (and the other scanners) show the choice.
//!
//! Logical IDs avoid the owner suffixes (`...Role`, `...Notebook`, ...), so no owner's name can
//! produce one of them.

use serde_json::{Value, json};

use super::Shared;
use super::naming::{Names, tags};
use crate::blueprint::Blueprint;
use crate::cfn::{LogicalId, Resource, Template, get_att, r#ref, sub};

/// A year: long enough for an investigation after the fact, bounded for cost.
pub const RETENTION_DAYS: u32 = 365;

/// The waived rule when flow logs are off.
pub const RULE: &str = "NETWORK_VPC_FLOW_LOGS";

/// The log group's name: fixed, so the key policy can name it without a circular reference.
pub fn log_group_name(names: &Names) -> String {
    format!("/nbsynth/{}/vpc-flow-logs", names.stack)
}

/// The key policy statement that lets CloudWatch Logs use the stack's key for this log group
/// only (the encryption context names the group's ARN).
fn key_statement(names: &Names) -> Value {
    json!({
        "Sid": "CloudWatchLogsEncryptsFlowLogs",
        "Effect": "Allow",
        "Principal": {"Service": sub("logs.${AWS::Region}.amazonaws.com")},
        // The documented statement's wildcards (Encrypt*, Decrypt*, ReEncrypt*, GenerateDataKey*,
        // Describe*) spelled out as the actions of a symmetric key that take an encryption context:
        // DescribeKey has none, so under this condition it could never be allowed anyway.
        "Action": [
            "kms:Decrypt",
            "kms:Encrypt",
            "kms:GenerateDataKey",
            "kms:GenerateDataKeyWithoutPlaintext",
            "kms:ReEncryptFrom",
            "kms:ReEncryptTo"
        ],
        "Resource": "*",
        "Condition": {"ArnEquals": {"kms:EncryptionContext:aws:logs:arn": sub(format!(
            "arn:${{AWS::Partition}}:logs:${{AWS::Region}}:${{AWS::AccountId}}:log-group:{}",
            log_group_name(names)
        ))}}
    })
}

pub fn lower(bp: &Blueprint, names: &Names, t: &mut Template, shared: &Shared) {
    if !bp.network.flow_logs {
        // Only a VPC the stack creates is judged; an existing one is its owner's to log.
        if let Some(vpc) = t.resources.get_mut(&LogicalId::new(&["Vpc"])) {
            vpc.metadata = Some(json!({"nbsynth": {"waivers": [{
                "rule": RULE,
                "reason": "network.flow_logs is false in the blueprint"
            }]}}));
        }
        return;
    }
    // The stack's own key admits CloudWatch Logs for this group; an existing key's policy is its
    // owner's (the README says what it must allow).
    if let Some(key) = &shared.key_resource {
        let statements = t
            .resources
            .get_mut(key)
            .and_then(|r| r.properties.get_mut("KeyPolicy"))
            .and_then(|p| p.get_mut("Statement"))
            .and_then(Value::as_array_mut)
            .expect("the key is lowered with a policy");
        statements.push(key_statement(names));
    }
    let group = t.add(
        LogicalId::new(&["FlowLogGroup"]),
        Resource::new(
            "AWS::Logs::LogGroup",
            json!({
                "LogGroupName": log_group_name(names),
                "KmsKeyId": shared.key_arn,
                "RetentionInDays": RETENTION_DAYS,
                "Tags": tags(bp, &[("Name", &format!("{}-vpc-flow-logs", names.stack))]),
            }),
        )
        .retain(),
    );
    let delivery = t.add(
        LogicalId::new(&["FlowLogDelivery"]),
        Resource::new(
            "AWS::IAM::Role",
            json!({
                "Description": format!("{}: delivers the VPC flow logs to their log group", names.stack),
                "AssumeRolePolicyDocument": {
                    "Version": "2012-10-17",
                    "Statement": [{
                        "Effect": "Allow",
                        "Principal": {"Service": "vpc-flow-logs.amazonaws.com"},
                        "Action": "sts:AssumeRole",
                        "Condition": {
                            "StringEquals": {"aws:SourceAccount": sub("${AWS::AccountId}")},
                            "ArnLike": {"aws:SourceArn": sub("arn:${AWS::Partition}:ec2:${AWS::Region}:${AWS::AccountId}:vpc-flow-log/*")}
                        }
                    }]
                },
                "Tags": tags(bp, &[("Name", &format!("{}-flow-log-delivery", names.stack))]),
            }),
        ),
    );
    // A policy of its own, not inline: the Guard Rules Registry refuses inline role policies.
    let permissions = t.add(
        LogicalId::new(&["FlowLogDeliveryPolicy"]),
        Resource::new(
            "AWS::IAM::Policy",
            json!({
                "PolicyName": format!("{}-deliver-flow-logs", names.stack),
                "Roles": [r#ref(&delivery)],
                "PolicyDocument": {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Sid": "WriteFlowLogGroup",
                            "Effect": "Allow",
                            "Action": ["logs:CreateLogStream", "logs:DescribeLogStreams", "logs:PutLogEvents"],
                            "Resource": get_att(&group, "Arn")
                        },
                        {
                            "Sid": "FindFlowLogGroup",
                            "Effect": "Allow",
                            "Action": "logs:DescribeLogGroups",
                            "Resource": sub("arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:*")
                        }
                    ]
                }
            }),
        ),
    );
    t.add(
        LogicalId::new(&["VpcFlowLog"]),
        Resource::new(
            "AWS::EC2::FlowLog",
            json!({
                "ResourceId": shared.vpc,
                "ResourceType": "VPC",
                "TrafficType": "ALL",
                "LogDestinationType": "cloud-watch-logs",
                "LogGroupName": r#ref(&group),
                "DeliverLogsPermissionArn": get_att(&delivery, "Arn"),
                "MaxAggregationInterval": 60,
                "Tags": tags(bp, &[("Name", &format!("{}-vpc", names.stack))]),
            }),
        )
        // The role must hold its permissions before the service first delivers.
        .depends_on([permissions]),
    );
}
