//! Security groups: notebooks may only speak HTTPS to the interface endpoints and to S3;
//! the endpoints accept HTTPS from the notebooks only and send nothing.
//!
//! S3 egress: no intrinsic returns the S3 gateway endpoint's prefix list id. The template takes
//! it as the parameter `S3PrefixListId`. On the generated network it is optional: given, egress
//! goes only to that prefix list; empty (the default, so the plain deploy command works), egress
//! on 443 goes to 0.0.0.0/0, which in these subnets reaches only S3 (the route tables have no
//! other route out), and the review shows that branch as a deliberate exception. On an existing
//! network nobody checked the routes, so the blueprint must name the prefix list and there is
//! no 0.0.0.0/0 branch at all.

use serde_json::{Value, json};

use super::Shared;
use super::naming::{Names, tags};
use crate::blueprint::Blueprint;
use crate::cfn::{LogicalId, Resource, Template, get_att};

pub const PREFIX_LIST_PARAMETER: &str = "S3PrefixListId";
pub const HAS_PREFIX_LIST: &str = "HasS3PrefixList";
pub const NO_PREFIX_LIST: &str = "NoS3PrefixList";

pub fn lower(bp: &Blueprint, names: &Names, t: &mut Template, shared: &mut Shared) {
    let existing = bp.network.existing.as_ref();
    match existing {
        // Someone else's network: nobody checked its routes, so S3 is reached only through
        // the prefix list, which the blueprint must name (the parameter defaults to it).
        Some(ex) => {
            t.parameters.insert(
                PREFIX_LIST_PARAMETER.into(),
                json!({
                    "Type": "String",
                    "Default": ex.s3_prefix_list,
                    "AllowedPattern": "^pl-[0-9a-f]{8,17}$",
                    "Description": "The id of the S3 managed prefix list in this region (aws ec2 describe-managed-prefix-lists --filters Name=prefix-list-name,Values=com.amazonaws.REGION.s3). Notebooks reach S3 only through it."
                }),
            );
        }
        None => {
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
        }
    }
    // The endpoint security group exists only for endpoints this stack creates.
    let endpoint_sg = super::endpoints::creates_interface_endpoints(bp).then(|| {
        t.add(
            LogicalId::new(&["EndpointSecurityGroup"]),
            Resource::new(
                "AWS::EC2::SecurityGroup",
                json!({
                    "GroupDescription": format!("{}: interface VPC endpoints, HTTPS from the notebooks only", names.stack),
                    "VpcId": shared.vpc,
                    "SecurityGroupEgress": [no_egress("No outbound traffic: the endpoints only answer (an empty egress list would allow all)")],
                    "Tags": tags(bp, &[("Name", &format!("{}-endpoints", names.stack))]),
                }),
            ),
        )
    });
    let https = |destination: (&str, Value), description: &str| {
        let mut rule = json!({"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443});
        rule[destination.0] = destination.1;
        rule["Description"] = json!(description);
        rule
    };
    let mut egress = Vec::new();
    if let Some(sg) = &endpoint_sg {
        egress.push(https(
            ("DestinationSecurityGroupId", get_att(sg, "GroupId")),
            "HTTPS to the interface VPC endpoints",
        ));
    }
    if let Some(ex) = existing {
        if let Some(sg) = &ex.endpoint_security_group {
            egress.push(https(
                ("DestinationSecurityGroupId", json!(sg)),
                "HTTPS to the interface VPC endpoints the network already has",
            ));
        }
        egress.push(https(
            (
                "DestinationPrefixListId",
                json!({"Ref": PREFIX_LIST_PARAMETER}),
            ),
            "HTTPS to S3 through the gateway endpoint's prefix list",
        ));
        for block in &ex.https_egress {
            egress.push(https(
                ("CidrIp", json!(block)),
                "HTTPS to a host the blueprint declares reachable (network.existing.https_egress)",
            ));
        }
    }
    // A Studio-only blueprint has no notebooks: its users' groups are made with their profiles.
    if bp.notebooks.instances.is_empty() {
        shared.endpoint_sg = endpoint_sg;
        return;
    }
    let notebook_sg = t.add(
        LogicalId::new(&["NotebookSecurityGroup"]),
        Resource::new(
            "AWS::EC2::SecurityGroup",
            json!({
                "GroupDescription": format!("{}: notebook instances, HTTPS to the VPC endpoints and S3 only", names.stack),
                "VpcId": shared.vpc,
                "SecurityGroupEgress": egress,
                "Tags": tags(bp, &[("Name", &format!("{}-notebooks", names.stack))]),
            }),
        ),
    );
    if let Some(sg) = &endpoint_sg {
        t.add(
            LogicalId::new(&["EndpointIngressFromNotebooks"]),
            Resource::new(
                "AWS::EC2::SecurityGroupIngress",
                json!({
                    "GroupId": get_att(sg, "GroupId"),
                    "IpProtocol": "tcp",
                    "FromPort": 443,
                    "ToPort": 443,
                    "SourceSecurityGroupId": get_att(&notebook_sg, "GroupId"),
                    "Description": "HTTPS from the notebook instances"
                }),
            ),
        );
    }
    if existing.is_none() {
        s3_egress(t, &notebook_sg);
    }
    shared.notebook_sg = Some(notebook_sg);
    shared.endpoint_sg = endpoint_sg;
}

/// The egress rule of a group that sends nothing (an empty egress list would allow all): one
/// "port", an unassigned ICMP type and code, to the broadcast address, so no packet matches it.
/// A single port (From = To) is what the Guard Rules Registry's
/// SECURITY_GROUP_EGRESS_PORT_RANGE_RULE accepts.
pub fn no_egress(description: &str) -> Value {
    json!({
        "IpProtocol": "icmp",
        "FromPort": 252,
        "ToPort": 252,
        "CidrIp": "255.255.255.255/32",
        "Description": description
    })
}

/// On the generated network exactly one of two S3 egress rules exists, chosen by the parameter.
fn s3_egress(t: &mut Template, notebook_sg: &LogicalId) {
    let https_egress = |destination: (&str, Value), description: &str| {
        let mut rule = json!({
            "GroupId": get_att(notebook_sg, "GroupId"),
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
}
