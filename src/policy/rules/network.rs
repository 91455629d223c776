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
