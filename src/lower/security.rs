//! Security groups: notebooks may only speak HTTPS to the interface endpoints and to S3;
//! the endpoints accept HTTPS from the notebooks only and send nothing.
//!
//! S3 egress: no intrinsic returns the S3 gateway endpoint's prefix list id. The template takes
//! it as the optional parameter `S3PrefixListId`: given, egress goes only to that prefix list;
//! empty (the default, so the plain deploy command works), egress on 443 goes to 0.0.0.0/0,
//! which in these subnets reaches only S3 (the route tables have no other route out). The
//! review shows that branch as a deliberate exception.

use serde_json::json;

use super::Shared;
use super::naming::{Names, tags};
use crate::blueprint::Blueprint;
use crate::cfn::{LogicalId, Resource, Template, get_att};

pub const PREFIX_LIST_PARAMETER: &str = "S3PrefixListId";
pub const HAS_PREFIX_LIST: &str = "HasS3PrefixList";
pub const NO_PREFIX_LIST: &str = "NoS3PrefixList";

pub fn lower(bp: &Blueprint, names: &Names, t: &mut Template, shared: &mut Shared) {
    t.parameters.insert(
        PREFIX_LIST_PARAMETER.into(),
        json!({
            "Type": "String",
            "Default": "",
            "AllowedPattern": "^(pl-[0-9a-f]{8,17})?$",
            "Description": "Optional: the id of the S3 managed prefix list in this region (aws ec2 describe-managed-prefix-lists --filters Name=prefix-list-name,Values=com.amazonaws.REGION.s3). Given, notebooks may reach S3 only through it; empty, HTTPS egress is open to 0.0.0.0/0, which these isolated subnets route only to S3."
        }),
    );
    t.conditions.insert(
        NO_PREFIX_LIST.into(),
        json!({"Fn::Equals": [{"Ref": PREFIX_LIST_PARAMETER}, ""]}),
    );
    t.conditions.insert(
        HAS_PREFIX_LIST.into(),
        json!({"Fn::Not": [{"Condition": NO_PREFIX_LIST}]}),
    );
    let endpoint_sg = t.add(
        LogicalId::new(&["EndpointSecurityGroup"]),
        Resource::new(
            "AWS::EC2::SecurityGroup",
            json!({
                "GroupDescription": format!("{}: interface VPC endpoints, HTTPS from the notebooks only", names.stack),
                "VpcId": shared.vpc,
                "SecurityGroupEgress": [{
                    "IpProtocol": "icmp",
                    "FromPort": 252,
                    "ToPort": 86,
                    "CidrIp": "255.255.255.255/32",
                    "Description": "No outbound traffic: the endpoints only answer (an empty egress list would allow all)"
                }],
                "Tags": tags(bp, &[("Name", &format!("{}-endpoints", names.stack))]),
            }),
        ),
    );
    shared.endpoint_sg = Some(endpoint_sg.clone());
    // A Studio-only blueprint has no notebooks: its users' groups are made with their profiles.
    if bp.notebooks.instances.is_empty() {
        return;
    }
    let notebook_sg = t.add(
        LogicalId::new(&["NotebookSecurityGroup"]),
        Resource::new(
            "AWS::EC2::SecurityGroup",
            json!({
                "GroupDescription": format!("{}: notebook instances, HTTPS to the VPC endpoints and S3 only", names.stack),
                "VpcId": shared.vpc,
                "SecurityGroupEgress": [
                    {
                        "IpProtocol": "tcp",
                        "FromPort": 443,
                        "ToPort": 443,
                        "DestinationSecurityGroupId": get_att(&endpoint_sg, "GroupId"),
                        "Description": "HTTPS to the interface VPC endpoints"
                    }
                ],
                "Tags": tags(bp, &[("Name", &format!("{}-notebooks", names.stack))]),
            }),
        ),
    );
    t.add(
        LogicalId::new(&["EndpointIngressFromNotebooks"]),
        Resource::new(
            "AWS::EC2::SecurityGroupIngress",
            json!({
                "GroupId": get_att(&endpoint_sg, "GroupId"),
                "IpProtocol": "tcp",
                "FromPort": 443,
                "ToPort": 443,
                "SourceSecurityGroupId": get_att(&notebook_sg, "GroupId"),
                "Description": "HTTPS from the notebook instances"
            }),
        ),
    );
    // Exactly one of the two S3 egress rules exists, chosen by the parameter.
    let https_egress = |destination: (&str, serde_json::Value), description: &str| {
        let mut rule = json!({
            "GroupId": get_att(&notebook_sg, "GroupId"),
            "IpProtocol": "tcp",
            "FromPort": 443,
            "ToPort": 443,
        });
        rule[destination.0] = destination.1;
        rule["Description"] = json!(description);
        Resource::new("AWS::EC2::SecurityGroupEgress", rule)
    };
    t.add(
        LogicalId::new(&["NotebookEgressToS3PrefixList"]),
        https_egress(
            (
                "DestinationPrefixListId",
                json!({"Ref": PREFIX_LIST_PARAMETER}),
            ),
            "HTTPS to S3 through the gateway endpoint's prefix list",
        )
        .condition(HAS_PREFIX_LIST),
    );
    t.add(
        LogicalId::new(&["NotebookEgressToS3"]),
        https_egress(
            ("CidrIp", json!("0.0.0.0/0")),
            "HTTPS to S3 through the gateway endpoint: the isolated route tables have no other route out",
        )
        .condition(NO_PREFIX_LIST)
        // A deliberate, documented exception: the review report shows it with this reason.
        .metadata(json!({"nbsynth": {"waivers": [{
            "rule": "SG_NO_WORLD_EGRESS",
            "reason": "exists only while the S3PrefixListId parameter is empty; the isolated route tables route nothing but the S3 gateway prefix list, so 443 to 0.0.0.0/0 reaches S3 only (deploy with S3PrefixListId to remove it)"
        }]}})),
    );
    shared.notebook_sg = Some(notebook_sg);
}
