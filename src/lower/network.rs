//! The VPC: isolated subnets, one per zone, sharing a route table that has no route out.
//! No internet gateway, NAT gateway or egress-only gateway is ever created.

use serde_json::{Value, json};

use super::naming::{Names, tags, zone_letter};
use crate::blueprint::Blueprint;
use crate::blueprint::semantic::{Cidr, subnet_prefix};
use crate::cfn::{LogicalId, Resource, Template, get_azs, r#ref, select};

/// Returns the VPC id, the subnet ids and the route table ids as template values.
pub fn lower(bp: &Blueprint, names: &Names, t: &mut Template) -> (Value, Vec<Value>, Vec<Value>) {
    if let Some(existing) = &bp.network.existing {
        let ids = |v: &[String]| v.iter().map(|s| json!(s)).collect();
        return (
            json!(existing.vpc),
            ids(&existing.subnets),
            ids(&existing.route_tables),
        );
    }
    let cidr = Cidr::parse(&bp.network.cidr).expect("validated CIDR");
    let vpc = t.add(
        LogicalId::new(&["Vpc"]),
        Resource::new(
            "AWS::EC2::VPC",
            json!({
                "CidrBlock": cidr.to_string(),
                "EnableDnsHostnames": true,
                "EnableDnsSupport": true,
                "Tags": tags(bp, &[("Name", &names.stack)]),
            }),
        ),
    );
    let prefix = subnet_prefix(cidr, bp.network.zones);
    // One route table for every subnet: it holds only the local route and the S3 gateway's,
    // so per-zone tables would differ in nothing and cost a resource each.
    let table = t.add(
        LogicalId::new(&["RouteTable"]),
        Resource::new(
            "AWS::EC2::RouteTable",
            json!({"VpcId": r#ref(&vpc), "Tags": tags(bp, &[("Name", &format!("{}-isolated", names.stack))])}),
        ),
    );
    let mut subnets = Vec::new();
    for i in 0..usize::from(bp.network.zones) {
        let zone = zone_letter(i);
        let label = format!("{}-isolated-{}", names.stack, zone.to_ascii_lowercase());
        let subnet = t.add(
            LogicalId::new(&[format!("Subnet{zone}")]),
            Resource::new(
                "AWS::EC2::Subnet",
                json!({
                    "VpcId": r#ref(&vpc),
                    "CidrBlock": cidr.subnet(prefix, i as u32).to_string(),
                    "AvailabilityZone": select(i, get_azs()),
                    "MapPublicIpOnLaunch": false,
                    "Tags": tags(bp, &[("Name", &label)]),
                }),
            ),
        );
        t.add(
            LogicalId::new(&[format!("RouteTableAssociation{zone}")]),
            Resource::new(
                "AWS::EC2::SubnetRouteTableAssociation",
                json!({"SubnetId": r#ref(&subnet), "RouteTableId": r#ref(&table)}),
            ),
        );
        subnets.push(r#ref(&subnet));
    }
    (r#ref(&vpc), subnets, vec![r#ref(&table)])
}
