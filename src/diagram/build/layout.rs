//! Containment: Region > VPC > zone > subnet, and the notebooks in each subnet.

use std::collections::{BTreeMap, BTreeSet};

use super::{Builder, Notebook, Subnet, unnamed_vpc};
use crate::diagram::model::{BoxKind, Diagram, Edge, EdgeKind, Group, Node, NodeKind};
use crate::diagram::template::{Origin, sanitize};

impl Builder {
    /// Containment: Region > VPC > zone > subnet.
    pub fn finish(mut self, title: &str, aggregate_above: usize) -> Diagram {
        let egress = self.internet();
        for (rt, table) in std::mem::take(&mut self.route_tables) {
            let mut lines = vec![format!("route table {}", rt.name())];
            lines.extend(table.routes);
            let vpc = table.vpc.unwrap_or_else(unnamed_vpc);
            self.in_vpc.entry(vpc).or_default().push(Node {
                id: rt.id("rt"),
                kind: NodeKind::RouteTable,
                lines,
            });
        }
        let mut vpc_groups = Vec::new();
        let mut edges = BTreeSet::new();
        for vpc in self.all_vpcs() {
            vpc_groups.push(self.vpc_group(&vpc, aggregate_above, &mut edges));
        }
        self.edges.extend(edges);
        let mut region = Group {
            id: "region".into(),
            kind: BoxKind::Region,
            lines: vec!["Region of the stack".into()],
            groups: vpc_groups,
            nodes: std::mem::take(&mut self.in_region)
                .into_values()
                .chain(std::mem::take(&mut self.unplaced))
                .collect(),
        };
        sort_group(&mut region);
        Diagram {
            title: title.to_string(),
            egress,
            groups: vec![region],
            nodes: self.outside.into_values().collect(),
            edges: self.edges.into_iter().collect(),
        }
    }

    /// A VPC's box; the edges of its notebooks go to `edges`.
    fn vpc_group(&self, vpc: &Origin, aggregate_above: usize, edges: &mut BTreeSet<Edge>) -> Group {
        let lines = self.vpcs.get(vpc).cloned().unwrap_or_else(|| {
            vec![
                format!("existing VPC {}", vpc.name()),
                "not defined in this template".into(),
            ]
        });
        let mut zones: BTreeMap<Option<String>, Vec<Group>> = BTreeMap::new();
        let here = |s: &Subnet| match &s.vpc {
            Some(v) => v == vpc,
            None => *vpc == unnamed_vpc(),
        };
        for (s, sub) in self.subnets.iter().filter(|(_, s)| here(s)) {
            let mut lines = vec![match s {
                Origin::Resource(id) => format!("subnet {id}"),
                Origin::External(id) => format!("existing subnet {id}"),
            }];
            lines.extend(sub.cidr.clone());
            lines.extend(
                sub.route_tables
                    .iter()
                    .map(|rt| format!("route table {rt}")),
            );
            zones.entry(sub.zone.clone()).or_default().push(Group {
                id: s.id("subnet"),
                kind: BoxKind::Subnet,
                lines,
                groups: Vec::new(),
                nodes: notebooks_in(&sub.notebooks, aggregate_above, &s.id("nbs"), edges),
            });
        }
        let mut groups: Vec<Group> = Vec::new();
        for (zone, subnets) in zones {
            match zone {
                Some(z) => groups.push(Group {
                    id: format!("{}_{}", vpc.id("az"), sanitize(&z)),
                    kind: BoxKind::Zone,
                    lines: vec![z],
                    groups: subnets,
                    nodes: Vec::new(),
                }),
                // Subnets the template only names: their zone is not known here.
                None => groups.extend(subnets),
            }
        }
        if let Some((nodes, subnets)) = self.endpoints.get(vpc) {
            let subnets: Vec<&str> = subnets.iter().map(String::as_str).collect();
            groups.push(Group {
                id: vpc.id("endpoints"),
                kind: BoxKind::Endpoints,
                lines: vec![
                    "interface endpoints".into(),
                    format!("an interface in each of {}", subnets.join(", ")),
                ],
                groups: Vec::new(),
                nodes: nodes.clone(),
            });
        }
        Group {
            id: vpc.id("vpc"),
            kind: BoxKind::Vpc,
            lines,
            groups,
            nodes: self.in_vpc.get(vpc).cloned().unwrap_or_default(),
        }
    }
}

fn sort_group(g: &mut Group) {
    g.nodes.sort();
    g.groups.iter_mut().for_each(sort_group);
    g.groups.sort_by(|a, b| a.id.cmp(&b.id));
}

fn notebook_node(nb: &Notebook) -> Node {
    Node {
        id: nb.id.clone(),
        kind: NodeKind::Notebook,
        lines: vec![
            nb.name.clone(),
            nb.instance_type.clone(),
            format!(
                "root {}, direct internet {}",
                if nb.root { "ON" } else { "off" },
                if nb.direct_internet { "ON" } else { "off" }
            ),
        ],
    }
}

/// The notebooks of one subnet: one node each, or one node `id` for all past
/// `aggregate_above`; their security-group and direct-internet edges go to `edges`.
pub(super) fn notebooks_in(
    nbs: &[Notebook],
    aggregate_above: usize,
    id: &str,
    edges: &mut BTreeSet<Edge>,
) -> Vec<Node> {
    let mut link = |from: &str, nbs: &[&Notebook]| {
        for sg in nbs.iter().flat_map(|n| &n.groups) {
            edges.insert(Edge {
                from: from.to_string(),
                to: sg.clone(),
                label: String::new(),
                kind: EdgeKind::Member,
            });
        }
        if nbs.iter().any(|n| n.direct_internet) {
            edges.insert(Edge {
                from: from.to_string(),
                to: "internet".into(),
                label: "direct internet access".into(),
                kind: EdgeKind::Internet,
            });
        }
    };
    if nbs.len() <= aggregate_above {
        for nb in nbs {
            link(&nb.id, &[nb]);
        }
        return nbs.iter().map(notebook_node).collect();
    }
    link(id, &nbs.iter().collect::<Vec<_>>());
    let mut types: BTreeMap<&str, usize> = BTreeMap::new();
    for nb in nbs {
        *types.entry(&nb.instance_type).or_default() += 1;
    }
    let types: Vec<String> = types.iter().map(|(t, n)| format!("{n} × {t}")).collect();
    let root = nbs.iter().filter(|n| n.root).count();
    let direct = nbs.iter().filter(|n| n.direct_internet).count();
    vec![Node {
        id: id.to_string(),
        kind: NodeKind::Notebook,
        lines: vec![
            format!("{} notebooks", nbs.len()),
            types.join(", "),
            format!("root ON: {root}, direct internet ON: {direct}"),
        ],
    }]
}
