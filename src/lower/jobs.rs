//! `jobs:` SageMaker training and processing jobs launched from the notebooks.
//!
//! Each owner gets a job execution role (trusted by SageMaker only) that reads what the owner
//! reads and writes only under the owner's `jobs.output` prefix. The owner's notebook role may
//! create jobs only when the request names the stack's subnets and security group (and nothing
//! else), the stack's key for both the volume and the output, network isolation where the
//! blueprint asks for it, and the owner tag; it may pass only the owner's job role, and describe
//! or stop only jobs tagged with its owner. No SageMaker condition key carries the S3 output
//! path, so the output prefix is enforced by the job role's own S3 permissions (the job writes
//! as that role).

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Value, json};

use super::Shared;
use super::iam::{DataGrants, Statement, data_grants, document, log_statements, s3_statements};
use super::naming::{JOB_POLICY, JOB_ROLE, Names, tags};
use crate::blueprint::Blueprint;
use crate::blueprint::model::Jobs;
use crate::cfn::{Resource, Template, get_att, r#ref, sub};

/// The job kinds an owner may create, with their ARN resource type and log group.
const KINDS: &[(&str, &str, &str)] = &[
    ("TrainingJob", "training-job", "TrainingJobs"),
    ("ProcessingJob", "processing-job", "ProcessingJobs"),
];

fn sagemaker_arn(kind: &str) -> Value {
    sub(format!(
        "arn:${{AWS::Partition}}:sagemaker:${{AWS::Region}}:${{AWS::AccountId}}:{kind}/*"
    ))
}

fn ec2_arn(kind: &str, id: Value) -> Value {
    json!({"Fn::Join": ["", [
        sub(format!("arn:${{AWS::Partition}}:ec2:${{AWS::Region}}:${{AWS::AccountId}}:{kind}/")),
        id
    ]]})
}

fn security_group(shared: &Shared) -> Value {
    get_att(
        shared
            .notebook_sg
            .as_ref()
            .expect("security groups are lowered first"),
        "GroupId",
    )
}

/// What the owner's notebook role may do with jobs.
pub fn notebook_statements(
    _bp: &Blueprint,
    names: &Names,
    shared: &Shared,
    owner: &str,
    jobs: &Jobs,
) -> Vec<Statement> {
    let mut condition = json!({
        // ForAllValues alone holds for a request without the key (an empty set), so Null makes
        // a job without a VPC configuration fail the statement.
        "ForAllValues:StringEquals": {
            "sagemaker:VpcSubnets": shared.subnets,
            "sagemaker:VpcSecurityGroupIds": [security_group(shared)]
        },
        "Null": {
            "sagemaker:VpcSubnets": "false",
            "sagemaker:VpcSecurityGroupIds": "false"
        },
        // Single-valued: a request without the key does not match, so it is denied.
        "ArnEquals": {
            "sagemaker:VolumeKmsKeyArn": shared.key_arn,
            "sagemaker:OutputKmsKeyArn": shared.key_arn
        },
        "StringEquals": {"aws:RequestTag/owner": owner}
    });
    if jobs.network_isolation {
        condition["Bool"] = json!({"sagemaker:NetworkIsolation": "true"});
    }
    let creates: Vec<&'static str> = vec![
        "sagemaker:CreateProcessingJob",
        "sagemaker:CreateTrainingJob",
    ];
    let job_arns: Vec<Value> = KINDS
        .iter()
        .map(|(_, kind, _)| sagemaker_arn(kind))
        .collect();
    vec![
        Statement {
            sid: "CreateJobsInStackNetworkWithStackKey".into(),
            principal: None,
            actions: creates,
            resources: job_arns.clone(),
            condition: Some(condition),
        },
        Statement {
            // Tags given with a create need AddTags, but only as part of that create.
            sid: "TagJobsOnCreate".into(),
            principal: None,
            actions: vec!["sagemaker:AddTags"],
            resources: job_arns.clone(),
            condition: Some(json!({
                "StringEquals": {
                    "sagemaker:TaggingAction": ["CreateProcessingJob", "CreateTrainingJob"],
                    "aws:RequestTag/owner": owner
                }
            })),
        },
        Statement {
            sid: "ManageOwnJobs".into(),
            principal: None,
            actions: vec![
                "sagemaker:DescribeProcessingJob",
                "sagemaker:DescribeTrainingJob",
                "sagemaker:StopProcessingJob",
                "sagemaker:StopTrainingJob",
            ],
            resources: job_arns,
            condition: Some(json!({"StringEquals": {"aws:ResourceTag/owner": owner}})),
        },
        Statement {
            sid: "PassOwnJobRole".into(),
            principal: None,
            actions: vec!["iam:PassRole"],
            resources: vec![get_att(&names.owner_id(owner, JOB_ROLE), "Arn")],
            condition: Some(
                json!({"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}}),
            ),
        },
        Statement {
            // Job outputs are written with the stack key: reading them (and staging inputs the
            // same way) needs the data keys, through S3 only.
            sid: "UseKeyForJobData".into(),
            principal: None,
            actions: vec!["kms:Decrypt", "kms:DescribeKey", "kms:GenerateDataKey"],
            resources: vec![shared.key_arn.clone()],
            condition: Some(
                json!({"StringEquals": {"kms:ViaService": sub("s3.${AWS::Region}.amazonaws.com")}}),
            ),
        },
    ]
}

/// What a job role may touch: the owner's readable data, and writes only to the job output.
fn job_grants(bp: &Blueprint, owner: &str, jobs: &Jobs) -> DataGrants {
    let own = data_grants(bp, [owner]);
    let mut read: BTreeMap<String, BTreeSet<String>> = own.read;
    for (bucket, prefixes) in own.write {
        read.entry(bucket).or_default().extend(prefixes);
    }
    let (bucket, prefix) = jobs.output_of(owner);
    let write = BTreeMap::from([(bucket, BTreeSet::from([prefix]))]);
    DataGrants { read, write }
}

pub fn lower(bp: &Blueprint, names: &Names, t: &mut Template, shared: &Shared) {
    let Some(jobs) = &bp.jobs else { return };
    let sg = security_group(shared);
    for inst in &bp.notebooks.instances {
        let owner = inst.owner.as_str();
        let prefix = names.notebook(owner);
        let mut statements = s3_statements(&job_grants(bp, owner, jobs), false);
        for (_, _, group) in KINDS {
            statements.extend(log_statements(group, "*", group));
        }
        let mut interface = vec![sub(
            "arn:${AWS::Partition}:ec2:${AWS::Region}:${AWS::AccountId}:network-interface/*",
        )];
        interface.extend(shared.subnets.iter().map(|s| ec2_arn("subnet", s.clone())));
        interface.push(ec2_arn("security-group", sg.clone()));
        statements.push(Statement {
            sid: "CreateJobInterfaces".into(),
            principal: None,
            actions: vec!["ec2:CreateNetworkInterface"],
            resources: interface,
            condition: None,
        });
        statements.push(Statement {
            sid: "ManageJobInterfaces".into(),
            principal: None,
            actions: vec![
                "ec2:CreateNetworkInterfacePermission",
                "ec2:DeleteNetworkInterface",
                "ec2:DeleteNetworkInterfacePermission",
            ],
            resources: vec![sub(
                "arn:${AWS::Partition}:ec2:${AWS::Region}:${AWS::AccountId}:network-interface/*",
            )],
            condition: None,
        });
        statements.push(Statement {
            // These Describe actions have no resource-level permissions.
            sid: "DescribeJobNetwork".into(),
            principal: None,
            actions: vec![
                "ec2:DescribeDhcpOptions",
                "ec2:DescribeNetworkInterfaces",
                "ec2:DescribeSecurityGroups",
                "ec2:DescribeSubnets",
                "ec2:DescribeVpcs",
            ],
            resources: vec![json!("*")],
            condition: None,
        });
        statements.push(Statement {
            sid: "GrantKeyToSageMaker".into(),
            principal: None,
            actions: vec!["kms:CreateGrant"],
            resources: vec![shared.key_arn.clone()],
            condition: Some(json!({"Bool": {"kms:GrantIsForAWSResource": "true"}})),
        });
        statements.push(Statement {
            sid: "UseKeyForVolumesAndOutputs".into(),
            principal: None,
            actions: vec!["kms:Decrypt", "kms:DescribeKey", "kms:GenerateDataKey"],
            resources: vec![shared.key_arn.clone()],
            condition: None,
        });
        let role = t.add(
            names.owner_id(owner, JOB_ROLE),
            Resource::new(
                "AWS::IAM::Role",
                json!({
                    "Description": format!("Execution role of {owner}'s SageMaker jobs"),
                    "AssumeRolePolicyDocument": {
                        "Version": "2012-10-17",
                        "Statement": [{
                            "Effect": "Allow",
                            "Principal": {"Service": "sagemaker.amazonaws.com"},
                            "Action": "sts:AssumeRole"
                        }]
                    },
                    "Tags": tags(bp, &[("owner", owner)]),
                }),
            ),
        );
        t.add(
            names.owner_id(owner, JOB_POLICY),
            Resource::new(
                "AWS::IAM::Policy",
                json!({
                    "PolicyName": format!("{prefix}-jobs"),
                    "Roles": [r#ref(&role)],
                    "PolicyDocument": document(statements),
                }),
            ),
        );
    }
}
