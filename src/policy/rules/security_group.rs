//! Security group egress to the world, including the allow-all rule AWS adds when a group
//! declares no egress of its own (guard cannot see an absent list as a rule).

use serde_json::Value;

use crate::policy::Ctx;

fn world(rule: &Value) -> bool {
    rule.get("CidrIp").and_then(Value::as_str) == Some("0.0.0.0/0")
        || rule.get("CidrIpv6").and_then(Value::as_str) == Some("::/0")
}

/// SG_NO_WORLD_EGRESS
pub fn no_world_egress(ctx: &mut Ctx) {
    let groups: Vec<(&str, &Value)> = ctx.of_type("AWS::EC2::SecurityGroup").collect();
    for (id, r) in groups {
        match r.get("Properties").and_then(|p| p.get("SecurityGroupEgress")) {
            None => ctx.fail(
                Some(id),
                "Properties",
                "the group declares no SecurityGroupEgress, so AWS adds allow-all egress to 0.0.0.0/0; list the egress it needs",
            ),
            Some(Value::Array(rules)) => {
                for (i, rule) in rules.iter().enumerate() {
                    if world(rule) {
                        ctx.fail(Some(id), &format!("Properties/SecurityGroupEgress/{i}"), "egress to the whole internet (0.0.0.0/0 or ::/0)");
                    }
                }
            }
            Some(_) => {}
        }
    }
    let standalone: Vec<(&str, &Value)> = ctx.of_type("AWS::EC2::SecurityGroupEgress").collect();
    for (id, r) in standalone {
        if r.get("Properties").is_some_and(world) {
            ctx.fail(
                Some(id),
                "Properties",
                "egress to the whole internet (0.0.0.0/0 or ::/0)",
            );
        }
    }
}

/// A TCP or UDP rule's port range (ICMP's FromPort/ToPort are a type and a code, not ports).
fn range(rule: &Value) -> Option<(i64, i64)> {
    let protocol = rule.get("IpProtocol").and_then(|p| {
        p.as_str()
            .map(str::to_ascii_lowercase)
            .or_else(|| p.as_i64().map(|n| n.to_string()))
    })?;
    if !matches!(protocol.as_str(), "tcp" | "udp" | "6" | "17") {
        return None;
    }
    let port = |k: &str| {
        rule.get(k)
            .and_then(|v| v.as_i64().or_else(|| v.as_str()?.parse().ok()))
    };
    let (from, to) = (port("FromPort")?, port("ToPort")?);
    (from != to).then_some((from, to))
}

/// SG_SINGLE_PORT
pub fn single_port(ctx: &mut Ctx) {
    let message = |(from, to): (i64, i64)| {
        format!(
            "a range of {} ports ({from}-{to}) instead of one",
            to - from + 1
        )
    };
    let groups: Vec<(&str, &Value)> = ctx.of_type("AWS::EC2::SecurityGroup").collect();
    for (id, r) in groups {
        for list in ["SecurityGroupIngress", "SecurityGroupEgress"] {
            let Some(Value::Array(rules)) = r.get("Properties").and_then(|p| p.get(list)) else {
                continue;
            };
            for (i, rule) in rules.iter().enumerate() {
                if let Some(ports) = range(rule) {
                    ctx.fail(Some(id), &format!("Properties/{list}/{i}"), message(ports));
                }
            }
        }
    }
    let standalone: Vec<(&str, &Value)> = ctx
        .of_type("AWS::EC2::SecurityGroupIngress")
        .chain(ctx.of_type("AWS::EC2::SecurityGroupEgress"))
        .collect();
    for (id, r) in standalone {
        if let Some(ports) = r.get("Properties").and_then(range) {
            ctx.fail(Some(id), "Properties", message(ports));
        }
    }
}
