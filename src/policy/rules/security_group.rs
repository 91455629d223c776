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
