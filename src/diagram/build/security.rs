//! Security groups, and one edge per rule.

use serde_json::Value;

use super::{Builder, unnamed_vpc};
use crate::diagram::model::{Edge, EdgeKind, Node, NodeKind};
use crate::diagram::template::{Origin, blocks_all, describe, ports, sanitize, tag};

impl Builder {
    pub(super) fn security_groups(&mut self) {
        for (id, p, r) in self.of_type("AWS::EC2::SecurityGroup") {
            let sg = Origin::Resource(id.clone());
            let mut lines = vec![format!("security group {}", tag(&p, "Name").unwrap_or(&id))];
            for rule in p
                .get("SecurityGroupEgress")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                if blocks_all(rule) {
                    lines.push("no egress".into());
                } else {
                    self.rule(&sg, rule, true, &r);
                }
            }
            for rule in p
                .get("SecurityGroupIngress")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                self.rule(&sg, rule, false, &r);
            }
            let vpc = p
                .get("VpcId")
                .and_then(Origin::of)
                .unwrap_or_else(unnamed_vpc);
            self.in_vpc.entry(vpc).or_default().push(Node {
                id: sg.id("sg"),
                kind: NodeKind::SecurityGroup,
                lines,
            });
        }
        for (ty, egress) in [
            ("AWS::EC2::SecurityGroupEgress", true),
            ("AWS::EC2::SecurityGroupIngress", false),
        ] {
            for (_, p, r) in self.of_type(ty) {
                if let Some(sg) = p.get("GroupId").and_then(Origin::of) {
                    self.rule(&sg, &p, egress, &r);
                }
            }
        }
    }

    /// One edge for one rule of security group `sg`; its peer (another group, a prefix list,
    /// an address block) becomes a node if it is not one yet.
    fn rule(&mut self, sg: &Origin, rule: &Value, egress: bool, resource: &Value) {
        let side = if egress { "Destination" } else { "Source" };
        let peer = if let Some(g) = rule
            .get(format!("{side}SecurityGroupId"))
            .and_then(Origin::of)
        {
            g.id("sg")
        } else if let Some(pl) = rule.get(format!("{side}PrefixListId")) {
            let id = format!("pl_{}", sanitize(&describe(pl)));
            self.in_region.entry(id.clone()).or_insert(Node {
                id: id.clone(),
                kind: NodeKind::PrefixList,
                lines: vec![format!("prefix list {}", describe(pl))],
            });
            id
        } else if let Some(c) = rule.get("CidrIp").or_else(|| rule.get("CidrIpv6")) {
            let id = format!("cidr_{}", sanitize(&describe(c)));
            self.outside.entry(id.clone()).or_insert(Node {
                id: id.clone(),
                kind: NodeKind::Cidr,
                lines: vec![describe(c)],
            });
            id
        } else {
            return;
        };
        let mut label = format!("{} {}", ports(rule), if egress { "out" } else { "in" });
        if let Some(c) = resource.get("Condition").and_then(Value::as_str) {
            label.push_str(&format!(" if {c}"));
        }
        let (from, to) = if egress {
            (sg.id("sg"), peer)
        } else {
            (peer, sg.id("sg"))
        };
        self.edges.insert(Edge {
            from,
            to,
            label,
            kind: EdgeKind::Rule,
        });
    }
}
