//! VPC endpoints: the S3 gateway endpoint (always) with a policy that allows only the granted
//! buckets and prefixes, and the interface endpoints the features need, each with private DNS
//! in every subnet behind the endpoint security group.

use serde_json::json;

use super::Shared;
use super::iam::{data_grants, document, s3_statements};
use super::naming::Names;
use crate::blueprint::Blueprint;
use crate::blueprint::semantic::endpoint_names;
use crate::cfn::{LogicalId, Resource, Template, get_att, sub};

/// Service name of an interface endpoint, by its short name in the blueprint.
pub fn service_name(short: &str) -> String {
    match short {
        // The notebook and Studio endpoints alone live outside the com.amazonaws namespace.
        "notebook" => "aws.sagemaker.${AWS::Region}.notebook".into(),
        "studio" => "aws.sagemaker.${AWS::Region}.studio".into(),
        "sagemaker-api" => "com.amazonaws.${AWS::Region}.sagemaker.api".into(),
        "sagemaker-runtime" => "com.amazonaws.${AWS::Region}.sagemaker.runtime".into(),
        "codeartifact-api" => "com.amazonaws.${AWS::Region}.codeartifact.api".into(),
        "codeartifact-repositories" => {
            "com.amazonaws.${AWS::Region}.codeartifact.repositories".into()
        }
        other => format!("com.amazonaws.${{AWS::Region}}.{other}"),
    }
}

pub fn lower(bp: &Blueprint, _names: &Names, t: &mut Template, shared: &mut Shared) {
    let owners: Vec<&str> = bp
        .notebooks
        .instances
        .iter()
        .map(|i| i.owner.as_str())
        .chain(
            crate::blueprint::studio::users(bp)
                .iter()
                .map(|u| u.user.as_str()),
        )
        .collect();
    let grants = data_grants(bp, owners.iter().copied());
    let statements = s3_statements(&grants, true);
    let policy = if statements.iter().all(|s| s.resources.is_empty()) {
        // No data access at all: a policy needs a statement (EC2 rejects an empty one), so
        // deny the object and listing actions everywhere.
        json!({
            "Version": "2012-10-17",
            "Statement": [{
                "Sid": "NoDataAccess",
                "Effect": "Deny",
                "Principal": "*",
                "Action": ["s3:GetObject", "s3:PutObject", "s3:ListBucket", "s3:DeleteObject"],
                "Resource": [sub("arn:${AWS::Partition}:s3:::*"), sub("arn:${AWS::Partition}:s3:::*/*")]
            }]
        })
    } else {
        document(statements)
    };
    let s3 = t.add(
        LogicalId::new(&["S3GatewayEndpoint"]),
        Resource::new(
            "AWS::EC2::VPCEndpoint",
            json!({
                "ServiceName": sub("com.amazonaws.${AWS::Region}.s3"),
                "VpcEndpointType": "Gateway",
                "VpcId": shared.vpc,
                "RouteTableIds": shared.route_tables,
                "PolicyDocument": policy,
            }),
        ),
    );
    shared.interface_endpoints.push(s3);
    let sg = shared
        .endpoint_sg
        .clone()
        .expect("security groups are lowered first");
    for short in endpoint_names(bp) {
        let id = t.add(
            LogicalId::new(&[short.as_str(), "Endpoint"]),
            Resource::new(
                "AWS::EC2::VPCEndpoint",
                json!({
                    "ServiceName": sub(service_name(&short)),
                    "VpcEndpointType": "Interface",
                    "PrivateDnsEnabled": true,
                    "VpcId": shared.vpc,
                    "SubnetIds": shared.subnets,
                    "SecurityGroupIds": [get_att(&sg, "GroupId")],
                }),
            ),
        );
        if short == "notebook" || short == "sagemaker-api" {
            shared.access_endpoints.push(id.clone());
        }
        shared.interface_endpoints.push(id);
    }
}
