//! The VPC: isolated subnets, one per zone, with route tables that have no route out.
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
        return (json!(existing.vpc), ids(&existing.subnets), ids(&existing.route_tables));
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
    let mut subnets = Vec::new();
    let mut route_tables = Vec::new();
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
        let table = t.add(
            LogicalId::new(&[format!("RouteTable{zone}")]),
            Resource::new(
                "AWS::EC2::RouteTable",
                json!({"VpcId": r#ref(&vpc), "Tags": tags(bp, &[("Name", &label)])}),
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
        route_tables.push(r#ref(&table));
    }
    (r#ref(&vpc), subnets, route_tables)
}
