//! VPC endpoints: the S3 gateway, interface endpoint types, service names.

use serde_json::Value;

use super::text_of;
use crate::policy::Ctx;

const ENDPOINT: &str = "AWS::EC2::VPCEndpoint";

/// A service name taken apart: `com.amazonaws.<region>.<service>` or `aws.sagemaker.<region>.<service>`.
struct Service {
    /// `com.amazonaws` or `aws.sagemaker`.
    prefix: &'static str,
    name: String,
}

fn service(r: &Value) -> Option<Service> {
    let text = text_of(r.get("Properties")?.get("ServiceName")?)?;
    for prefix in ["com.amazonaws", "aws.sagemaker"] {
        if let Some(rest) = text.strip_prefix(prefix).and_then(|s| s.strip_prefix('.')) {
            let (_region, name) = rest.split_once('.')?;
            return Some(Service {
                prefix,
                name: name.to_string(),
            });
        }
    }
    None
}

fn endpoint_type(r: &Value) -> Option<&str> {
    r.get("Properties")?.get("VpcEndpointType")?.as_str()
}

fn has(r: &Value, property: &str) -> bool {
    match r.get("Properties").and_then(|p| p.get(property)) {
        None | Some(Value::Null) => false,
        Some(Value::Array(a)) => !a.is_empty(),
        Some(_) => true,
    }
}

fn endpoints<'t>(ctx: &Ctx<'t>) -> Vec<(&'t str, &'t Value)> {
    ctx.of_type(ENDPOINT).collect()
}

/// ENDPOINT_S3_GATEWAY
pub fn s3_gateway(ctx: &mut Ctx) {
    for (id, r) in endpoints(ctx) {
        match service(r) {
            Some(s) if s.prefix == "com.amazonaws" && s.name == "s3" => {}
            _ => {
                ctx.not_applicable(id);
                continue;
            }
        }
        if let Some(t) = endpoint_type(r).filter(|t| *t != "Gateway") {
            ctx.fail(Some(id), "Properties/VpcEndpointType", format!("the S3 endpoint is `{t}`; use a Gateway endpoint (no cost, routes through the route tables)"));
        }
        if !has(r, "RouteTableIds") {
            ctx.fail(
                Some(id),
                "Properties",
                "the S3 gateway endpoint has no RouteTableIds, so no subnet reaches S3 through it",
            );
        }
        if !has(r, "PolicyDocument") {
            ctx.fail(Some(id), "Properties", "the S3 endpoint has no PolicyDocument; without one it allows every bucket in every account");
        }
    }
}

/// ENDPOINT_INTERFACE_TYPE
pub fn interface_type(ctx: &mut Ctx) {
    for (id, r) in endpoints(ctx) {
        if endpoint_type(r).is_some() || has(r, "VpcEndpointType") {
            continue;
        }
        match service(r) {
            Some(s) if s.prefix == "com.amazonaws" && (s.name == "s3" || s.name == "dynamodb") => ctx.not_applicable(id),
            Some(s) => ctx.fail(
                Some(id),
                "Properties",
                format!("`{}` is an interface service but VpcEndpointType is missing, so CloudFormation makes a Gateway endpoint; set VpcEndpointType: Interface", s.name),
            ),
            None if has(r, "SubnetIds") => ctx.fail(
                Some(id),
                "Properties",
                "the endpoint has SubnetIds but no VpcEndpointType, so CloudFormation makes a Gateway endpoint; set VpcEndpointType: Interface",
            ),
            None => ctx.not_applicable(id),
        }
    }
}

/// ENDPOINT_SERVICE_NAME
pub fn service_name(ctx: &mut Ctx) {
    for (id, r) in endpoints(ctx) {
        let Some(s) = service(r) else {
            ctx.not_applicable(id);
            continue;
        };
        let problem = match (s.prefix, s.name.as_str()) {
            ("com.amazonaws", "notebook" | "sagemaker.notebook") => {
                Some("the notebook endpoint's service is `aws.sagemaker.${AWS::Region}.notebook`".to_string())
            }
            ("com.amazonaws", "sagemaker") => Some(
                "`sagemaker` is not an endpoint service; use `sagemaker.api` (control plane) or `sagemaker.runtime`".to_string(),
            ),
            ("aws.sagemaker", "notebook" | "studio") => None,
            ("aws.sagemaker", other) => Some(format!(
                "`aws.sagemaker.<region>.{other}` does not exist; API endpoints are `com.amazonaws.${{AWS::Region}}.sagemaker.{other}`"
            )),
            _ => None,
        };
        if let Some(p) = problem {
            ctx.fail(Some(id), "Properties/ServiceName", p);
        }
    }
}
