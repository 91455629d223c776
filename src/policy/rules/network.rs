//! No way out of the VPC. A prohibition: the VPC itself passes when the template declares no
//! gateway to the internet, and each such gateway fails (guard, judging one resource at a time,
//! cannot give the VPC a verdict about other resources).

use crate::policy::Ctx;

const GATEWAYS: &[&str] = &[
    "AWS::EC2::InternetGateway",
    "AWS::EC2::NatGateway",
    "AWS::EC2::EgressOnlyInternetGateway",
];

/// NETWORK_NO_INTERNET_GATEWAY
pub fn no_internet_gateway(ctx: &mut Ctx) {
    let found: Vec<(&str, &str)> = ctx
        .resources
        .iter()
        .filter_map(|(id, r)| {
            let t = r.get("Type")?.as_str()?;
            GATEWAYS.contains(&t).then_some((id.as_str(), t))
        })
        .collect();
    for (id, t) in &found {
        ctx.fail(
            Some(id),
            "Type",
            format!("`{t}` opens a path between the VPC and the internet"),
        );
    }
    if !found.is_empty() {
        let vpcs: Vec<&str> = ctx.of_type("AWS::EC2::VPC").map(|(id, _)| id).collect();
        let names = found
            .iter()
            .map(|(id, _)| *id)
            .collect::<Vec<_>>()
            .join(", ");
        for vpc in vpcs {
            ctx.fail(
                Some(vpc),
                "",
                format!("the template gives this VPC a way to the internet ({names})"),
            );
        }
    }
}

/// NETWORK_VPC_FLOW_LOGS: every VPC the template creates is the resource of an
/// `AWS::EC2::FlowLog` (by `Ref`).
pub fn vpc_flow_logs(ctx: &mut Ctx) {
    let logged: Vec<&str> = ctx
        .of_type("AWS::EC2::FlowLog")
        .filter_map(|(_, r)| r.pointer("/Properties/ResourceId"))
        .filter_map(|v| match super::target(v) {
            Some((id, None)) => Some(id),
            _ => None,
        })
        .collect();
    let bare: Vec<&str> = ctx
        .of_type("AWS::EC2::VPC")
        .map(|(id, _)| id)
        .filter(|id| !logged.contains(id))
        .collect();
    for vpc in bare {
        ctx.fail(
            Some(vpc),
            "",
            "no AWS::EC2::FlowLog records this VPC's traffic",
        );
    }
}
