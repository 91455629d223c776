//! VPC endpoints: the S3 gateway endpoint with a policy that allows only the granted buckets
//! and prefixes, and the interface endpoints the features need, each with private DNS in every
//! subnet behind the endpoint security group and a policy that keeps it to this account. On an
//! existing network, the endpoints it already has are not created again (a second interface
//! endpoint with private DNS fails with "conflicting DNS domain", a second S3 gateway on a
//! route table fails too).

use std::collections::BTreeSet;

use serde_json::json;

use super::Shared;
use super::iam::{data_grants, document, s3_statements};
use super::naming::Names;
use crate::blueprint::Blueprint;
use crate::blueprint::model::S3Gateway;
use crate::blueprint::perimeter::mirror_services;
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

/// The S3 gateway endpoint, unless the route tables have one already.
///
/// Its policy is the network perimeter: which buckets and prefixes this VPC reaches at all.
/// Each role's own policy keeps an owner to their own prefixes, so here a `{owner}` segment
/// becomes one `*` for every owner (`scratch/*/` rather than one entry per owner): the policy
/// stays the same size whatever the owner count, below EC2's limit on endpoint policies.
pub fn lower_gateway(bp: &Blueprint, _names: &Names, t: &mut Template, shared: &mut Shared) {
    let has_owners =
        !bp.notebooks.instances.is_empty() || !crate::blueprint::studio::users(bp).is_empty();
    let mut grants = data_grants(bp, has_owners.then_some("*"));
    for prefixes in grants.read.values_mut().chain(grants.write.values_mut()) {
        drop_covered(prefixes);
    }
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
    if bp
        .network
        .existing
        .as_ref()
        .is_some_and(|e| e.s3_gateway == S3Gateway::Existing)
    {
        return;
    }
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
}

/// Drops the prefixes that another, literal prefix of the same set already covers
/// (`models/*/` under the whole bucket `""`, `raw/2024/` under `raw/`).
fn drop_covered(prefixes: &mut BTreeSet<String>) {
    let literal: Vec<String> = prefixes
        .iter()
        .filter(|p| !p.contains('*'))
        .cloned()
        .collect();
    prefixes.retain(|p| !literal.iter().any(|q| q != p && p.starts_with(q.as_str())));
}

/// Interface endpoints, by short name, that this stack creates: what the features need, less
/// what an existing network already has.
pub fn created_endpoints(bp: &Blueprint) -> BTreeSet<String> {
    let existing = bp.network.existing.as_ref().map(|e| &e.endpoints);
    endpoint_names(bp)
        .into_iter()
        .filter(|e| !existing.is_some_and(|x| x.contains(e)))
        .collect()
}

pub fn creates_interface_endpoints(bp: &Blueprint) -> bool {
    !created_endpoints(bp).is_empty() || !mirror_services(bp).is_empty()
}

/// The data perimeter of an AWS service's interface endpoint: only this account's principals,
/// and (where the request names a resource) only this account's resources. Actions stay with
/// the roles' own policies. `None` where a policy cannot apply: the notebook endpoint carries
/// the browser's Jupyter session, which is not a signed AWS request and has no principal.
pub fn endpoint_policy(short: &str) -> Option<serde_json::Value> {
    let mut condition = serde_json::Map::new();
    condition.insert(
        "StringEquals".into(),
        json!({"aws:PrincipalAccount": sub("${AWS::AccountId}")}),
    );
    match short {
        "notebook" => return None,
        // A CodeArtifact domain may belong to another account of the organisation.
        "codeartifact-api" | "codeartifact-repositories" => {}
        // Requests without a resource (sts:GetCallerIdentity, the List calls) carry no
        // aws:ResourceAccount, hence IfExists.
        _ => {
            condition.insert(
                "StringEqualsIfExists".into(),
                json!({"aws:ResourceAccount": sub("${AWS::AccountId}")}),
            );
        }
    }
    Some(json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "ThisAccountOnly",
            "Effect": "Allow",
            "Principal": "*",
            "Action": "*",
            "Resource": "*",
            "Condition": condition
        }]
    }))
}

pub fn lower_interfaces(bp: &Blueprint, t: &mut Template, shared: &mut Shared) {
    let Some(sg) = shared.endpoint_sg.clone() else {
        return;
    };
    let mut add = |id: LogicalId, service: String, policy: Option<serde_json::Value>| {
        let mut props = json!({
            "ServiceName": sub(service),
            "VpcEndpointType": "Interface",
            "PrivateDnsEnabled": true,
            "VpcId": shared.vpc,
            "SubnetIds": shared.subnets,
            "SecurityGroupIds": [get_att(&sg, "GroupId")],
        });
        if let Some(p) = policy {
            props["PolicyDocument"] = p;
        }
        t.add(id.clone(), Resource::new("AWS::EC2::VPCEndpoint", props));
        shared.interface_endpoints.push(id.clone());
        id
    };
    for short in created_endpoints(bp) {
        let id = add(
            LogicalId::new(&[short.as_str(), "Endpoint"]),
            service_name(&short),
            endpoint_policy(&short),
        );
        if short == "notebook" || short == "sagemaker-api" {
            shared.access_endpoints.push(id);
        }
    }
    // Endpoints to other owners' services take no policy (EC2 allows full access to them).
    for svc in mirror_services(bp) {
        add(
            LogicalId::new(&["PipMirror", svc.as_str(), "Endpoint"]),
            format!("com.amazonaws.vpce.${{AWS::Region}}.{svc}"),
            None,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn covered_prefixes_are_dropped() {
        let mut set: BTreeSet<String> = ["", "models/*/", "raw/"].map(String::from).into();
        drop_covered(&mut set);
        assert_eq!(set, BTreeSet::from([String::new()]));
        let mut set: BTreeSet<String> = ["raw/", "raw/2024/", "rawer/", "users/*/", "users/*/x/"]
            .map(String::from)
            .into();
        drop_covered(&mut set);
        let kept: Vec<&str> = set.iter().map(String::as_str).collect();
        // `users/*/x/` stays: only literal prefixes count as covering.
        assert_eq!(kept, ["raw/", "rawer/", "users/*/", "users/*/x/"]);
    }
}
