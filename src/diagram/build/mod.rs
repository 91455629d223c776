//! Builds the [`Diagram`] of a template, one resource family at a time (security groups in
//! [`security`], the boxes in [`layout`]). Every collection is
//! keyed and sorted, so the same template gives the same diagram byte for byte.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

mod layout;
mod security;

use layout::notebooks_in;

use super::model::{Edge, EdgeKind, Node, NodeKind};
use super::template::{Origin, describe, mark_parameters, sanitize, service_of, zone_of};

/// Ways out of a VPC, by what creates them: (what it is, resource types, route properties).
const WAYS_OUT: &[(&str, &[&str], &[&str])] = &[
    (
        "internet gateway",
        &["AWS::EC2::InternetGateway"],
        &["GatewayId"],
    ),
    ("NAT gateway", &["AWS::EC2::NatGateway"], &["NatGatewayId"]),
    (
        "egress-only internet gateway",
        &["AWS::EC2::EgressOnlyInternetGateway"],
        &["EgressOnlyInternetGatewayId"],
    ),
    (
        "VPC peering",
        &["AWS::EC2::VPCPeeringConnection"],
        &["VpcPeeringConnectionId"],
    ),
    (
        "transit gateway",
        &[
            "AWS::EC2::TransitGateway",
            "AWS::EC2::TransitGatewayAttachment",
            "AWS::EC2::TransitGatewayVpcAttachment",
        ],
        &["TransitGatewayId"],
    ),
    (
        "VPN gateway",
        &[
            "AWS::EC2::VPNGateway",
            "AWS::EC2::VPNGatewayRoutePropagation",
        ],
        &[],
    ),
];

/// A VPC that a template uses but does not create.
fn unnamed_vpc() -> Origin {
    Origin::External("VPC not named".into())
}

#[derive(Default)]
struct Subnet {
    zone: Option<String>,
    cidr: Option<String>,
    vpc: Option<Origin>,
    route_tables: BTreeSet<String>,
    notebooks: Vec<Notebook>,
}

struct Notebook {
    id: String,
    name: String,
    instance_type: String,
    direct_internet: bool,
    root: bool,
    /// Node ids of its security groups.
    groups: Vec<String>,
}

#[derive(Default)]
struct RouteTable {
    vpc: Option<Origin>,
    routes: Vec<String>,
    /// A route to one of [`WAYS_OUT`].
    out: bool,
}

pub struct Builder {
    /// The template's resources, `Ref`s to parameters marked (see [`mark_parameters`]).
    resources: Value,
    vpcs: BTreeMap<Origin, Vec<String>>,
    subnets: BTreeMap<Origin, Subnet>,
    route_tables: BTreeMap<Origin, RouteTable>,
    /// Nodes directly in a VPC: gateway endpoints, route tables, security groups.
    in_vpc: BTreeMap<Origin, Vec<Node>>,
    /// Interface endpoints of a VPC and the subnets they have interfaces in.
    endpoints: BTreeMap<Origin, (Vec<Node>, BTreeSet<String>)>,
    in_region: BTreeMap<String, Node>,
    outside: BTreeMap<String, Node>,
    /// Notebooks without a subnet: in SageMaker's own network.
    unplaced: Vec<Node>,
    edges: BTreeSet<Edge>,
    ways_out: BTreeSet<&'static str>,
}

impl Builder {
    pub fn new(template: &Value) -> Builder {
        let raw = template.get("Resources").cloned().unwrap_or(Value::Null);
        let ids: BTreeSet<String> = raw
            .as_object()
            .map(|m| m.keys().cloned().collect())
            .unwrap_or_default();
        let mut b = Builder {
            resources: mark_parameters(&raw, &ids),
            vpcs: BTreeMap::new(),
            subnets: BTreeMap::new(),
            route_tables: BTreeMap::new(),
            in_vpc: BTreeMap::new(),
            endpoints: BTreeMap::new(),
            in_region: BTreeMap::new(),
            outside: BTreeMap::new(),
            unplaced: Vec::new(),
            edges: BTreeSet::new(),
            ways_out: BTreeSet::new(),
        };
        b.vpcs_and_subnets();
        b.routes();
        b.vpc_endpoints();
        b.notebooks();
        b.security_groups();
        b
    }

    /// `(logical id, properties, resource)` of every resource of type `t`, sorted by id.
    fn of_type(&self, t: &str) -> Vec<(String, Value, Value)> {
        let Some(m) = self.resources.as_object() else {
            return Vec::new();
        };
        let mut out: Vec<(String, Value, Value)> = m
            .iter()
            .filter(|(_, r)| r.get("Type").and_then(Value::as_str) == Some(t))
            .map(|(id, r)| {
                let p = r.get("Properties").cloned().unwrap_or(Value::Null);
                (id.clone(), p, r.clone())
            })
            .collect();
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out
    }

    fn vpcs_and_subnets(&mut self) {
        for (id, p, _) in self.of_type("AWS::EC2::VPC") {
            let mut lines = vec![format!("VPC {id}")];
            lines.extend(
                p.get("CidrBlock")
                    .and_then(Value::as_str)
                    .map(str::to_string),
            );
            self.vpcs.insert(Origin::Resource(id), lines);
        }
        for (id, p, _) in self.of_type("AWS::EC2::Subnet") {
            let subnet = Subnet {
                zone: zone_of(p.get("AvailabilityZone")),
                cidr: p
                    .get("CidrBlock")
                    .and_then(Value::as_str)
                    .map(str::to_string),
                vpc: p.get("VpcId").and_then(Origin::of),
                ..Subnet::default()
            };
            self.subnets.insert(Origin::Resource(id), subnet);
        }
        for (_, p, _) in self.of_type("AWS::EC2::SubnetRouteTableAssociation") {
            if let (Some(s), Some(rt)) = (
                p.get("SubnetId").and_then(Origin::of),
                p.get("RouteTableId").and_then(Origin::of),
            ) && let Some(s) = self.subnets.get_mut(&s)
            {
                s.route_tables.insert(rt.name().to_string());
            }
        }
    }

    /// A subnet the template names without creating it, placed in `vpc` once that is known.
    fn named_subnet(&mut self, s: Origin, vpc: Option<Origin>) {
        let subnet = self.subnets.entry(s).or_default();
        if subnet.vpc.is_none() {
            subnet.vpc = vpc;
        }
    }

    /// Route tables with their routes, and every resource that is a way out.
    fn routes(&mut self) {
        for (id, p, _) in self.of_type("AWS::EC2::RouteTable") {
            let rt = RouteTable {
                vpc: p.get("VpcId").and_then(Origin::of),
                routes: vec!["local".into()],
                out: false,
            };
            self.route_tables.insert(Origin::Resource(id), rt);
        }
        for (id, p, _) in self.of_type("AWS::EC2::Route") {
            let Some(rt) = p.get("RouteTableId").and_then(Origin::of) else {
                continue;
            };
            let dest = p
                .get("DestinationCidrBlock")
                .or_else(|| p.get("DestinationIpv6CidrBlock"))
                .or_else(|| p.get("DestinationPrefixListId"))
                .map_or_else(|| "?".to_string(), describe);
            let way = WAYS_OUT
                .iter()
                .find(|(_, _, props)| props.iter().any(|k| p.get(*k).is_some()))
                .map(|(what, _, _)| *what);
            let entry = self.route_tables.entry(rt).or_default();
            entry.routes.push(format!(
                "{dest} via {} ({id})",
                way.unwrap_or("another target")
            ));
            if let Some(w) = way {
                entry.out = true;
                self.ways_out.insert(w);
            }
        }
        for (what, types, _) in WAYS_OUT {
            if types.iter().any(|t| !self.of_type(t).is_empty()) {
                self.ways_out.insert(what);
            }
        }
    }

    /// Dotted lines from a node to each security group it is in.
    fn member(&mut self, node: &str, groups: Option<&Value>) {
        for sg in groups.and_then(Value::as_array).into_iter().flatten() {
            if let Some(sg) = Origin::of(sg) {
                self.edges.insert(Edge {
                    from: node.to_string(),
                    to: sg.id("sg"),
                    label: String::new(),
                    kind: EdgeKind::Member,
                });
            }
        }
    }

    fn vpc_endpoints(&mut self) {
        for (id, p, _) in self.of_type("AWS::EC2::VPCEndpoint") {
            let service = service_of(p.get("ServiceName"));
            let vpc = p
                .get("VpcId")
                .and_then(Origin::of)
                .unwrap_or_else(unnamed_vpc);
            let node_id = format!("ep_{}", sanitize(&id));
            let mut lines = vec![service.clone()];
            if let Some(n) = p
                .pointer("/PolicyDocument/Statement")
                .and_then(Value::as_array)
                .map(Vec::len)
            {
                lines.push(format!(
                    "policy: {n} statement{}",
                    if n == 1 { "" } else { "s" }
                ));
            }
            // CloudFormation's default endpoint type is Gateway.
            if p.get("VpcEndpointType").and_then(Value::as_str) == Some("Interface") {
                if p.get("PrivateDnsEnabled") == Some(&Value::Bool(true)) {
                    lines.push("private DNS".into());
                }
                for s in p
                    .get("SubnetIds")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    if let Some(s) = Origin::of(s) {
                        let e = self.endpoints.entry(vpc.clone()).or_default();
                        e.1.insert(s.name().to_string());
                        self.named_subnet(s, Some(vpc.clone()));
                    }
                }
                let e = self.endpoints.entry(vpc.clone()).or_default();
                e.0.push(Node {
                    id: node_id.clone(),
                    kind: NodeKind::InterfaceEndpoint,
                    lines,
                });
                self.member(&node_id, p.get("SecurityGroupIds"));
            } else {
                lines[0] = format!("{service} gateway endpoint");
                self.gateway_endpoint(&id, node_id, &service, lines, vpc, &p);
            }
        }
    }

    /// A gateway endpoint, the service behind it, and the route tables that route to it.
    fn gateway_endpoint(
        &mut self,
        id: &str,
        node_id: String,
        service: &str,
        lines: Vec<String>,
        vpc: Origin,
        p: &Value,
    ) {
        self.in_vpc.entry(vpc.clone()).or_default().push(Node {
            id: node_id.clone(),
            kind: NodeKind::GatewayEndpoint,
            lines,
        });
        let svc_id = format!("svc_{}", sanitize(service));
        self.in_region.insert(
            svc_id.clone(),
            Node {
                id: svc_id.clone(),
                kind: NodeKind::Service,
                lines: vec![format!("Amazon {}", service.to_uppercase())],
            },
        );
        self.edges.insert(Edge {
            from: node_id.clone(),
            to: svc_id,
            label: String::new(),
            kind: EdgeKind::Route,
        });
        for rt in p
            .get("RouteTableIds")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let Some(rt) = Origin::of(rt) else { continue };
            let entry = self.route_tables.entry(rt.clone()).or_default();
            if entry.vpc.is_none() {
                entry.vpc = Some(vpc.clone());
            }
            entry.routes.push(format!("{service} prefix list via {id}"));
            self.edges.insert(Edge {
                from: rt.id("rt"),
                to: node_id.clone(),
                label: format!("{service} prefix list"),
                kind: EdgeKind::Route,
            });
        }
    }

    fn notebooks(&mut self) {
        for (id, p, _) in self.of_type("AWS::SageMaker::NotebookInstance") {
            // SageMaker's default for both is Enabled.
            let enabled = |k: &str| p.get(k).and_then(Value::as_str) != Some("Disabled");
            let nb = Notebook {
                id: format!("nb_{}", sanitize(&id)),
                name: p
                    .get("NotebookInstanceName")
                    .and_then(Value::as_str)
                    .unwrap_or(&id)
                    .to_string(),
                instance_type: p.get("InstanceType").map_or_else(|| "?".into(), describe),
                direct_internet: enabled("DirectInternetAccess"),
                root: enabled("RootAccess"),
                groups: p
                    .get("SecurityGroupIds")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter_map(Origin::of)
                    .map(|sg| sg.id("sg"))
                    .collect(),
            };
            if nb.direct_internet {
                self.ways_out.insert("SageMaker direct internet access");
            }
            match p.get("SubnetId").and_then(Origin::of) {
                Some(s) => {
                    self.named_subnet(s.clone(), None);
                    if let Some(sub) = self.subnets.get_mut(&s) {
                        sub.notebooks.push(nb);
                    }
                }
                None => {
                    let nodes = notebooks_in(std::slice::from_ref(&nb), 1, &nb.id, &mut self.edges);
                    self.unplaced.extend(nodes);
                }
            }
        }
    }

    /// Every VPC something is placed in, sorted.
    fn all_vpcs(&self) -> BTreeSet<Origin> {
        let mut out: BTreeSet<Origin> = self.vpcs.keys().cloned().collect();
        out.extend(self.route_tables.values().filter_map(|r| r.vpc.clone()));
        out.extend(self.in_vpc.keys().cloned());
        out.extend(self.endpoints.keys().cloned());
        out.extend(self.subnets.values().filter_map(|s| s.vpc.clone()));
        if self.subnets.values().any(|s| s.vpc.is_none()) {
            out.insert(unnamed_vpc());
        }
        out
    }

    /// The Internet node, an edge to it from every route table, and the ways-out clauses.
    fn internet(&mut self) -> Vec<String> {
        self.outside.insert(
            "internet".into(),
            Node {
                id: "internet".into(),
                kind: NodeKind::Internet,
                lines: vec!["Internet".into()],
            },
        );
        let mut clauses = Vec::new();
        let absent: Vec<&str> = WAYS_OUT
            .iter()
            .map(|(w, _, _)| *w)
            .filter(|w| !self.ways_out.contains(w))
            .collect();
        if !absent.is_empty() {
            clauses.push(format!("not in this template: {}", absent.join(", ")));
        }
        if !self.ways_out.is_empty() {
            let present: Vec<&str> = self.ways_out.iter().copied().collect();
            clauses.push(format!("in this template: {}", present.join(", ")));
        }
        let outside: Vec<String> = self
            .all_vpcs()
            .into_iter()
            .filter(|v| matches!(v, Origin::External(_)))
            .map(|v| v.name().to_string())
            .collect();
        if !outside.is_empty() {
            clauses.push(format!(
                "the routes of {} are outside this template",
                outside.join(", ")
            ));
        }
        for (rt, table) in &self.route_tables {
            let (label, kind) = match rt {
                Origin::External(_) => ("routes unknown here", EdgeKind::Internet),
                Origin::Resource(_) if table.out => ("route out", EdgeKind::Internet),
                Origin::Resource(_) => ("no route", EdgeKind::NoRoute),
            };
            self.edges.insert(Edge {
                from: rt.id("rt"),
                to: "internet".into(),
                label: label.into(),
                kind,
            });
        }
        // One fact a line: a narrow note reads better than a wrapped sentence.
        let mut lines = vec!["Ways out, from the template:".to_string()];
        lines.extend(absent.iter().map(|w| format!("no {w}")));
        lines.extend(self.ways_out.iter().map(|w| format!("HAS {w}")));
        lines.extend(
            outside
                .iter()
                .map(|v| format!("routes of {v}: outside the template")),
        );
        self.outside.insert(
            "egress".into(),
            Node {
                id: "egress".into(),
                kind: NodeKind::Note,
                lines,
            },
        );
        clauses
    }
}
