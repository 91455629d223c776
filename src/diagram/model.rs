//! The network a CloudFormation template describes, as nested boxes, nodes and edges, built
//! from the template alone: the same code draws a generated VPC, a brought-your-own network
//! (whose VPC, subnets and route tables are ids the template only names) and any template
//! `nbsynth check` reads. Everything is sorted, so the same template gives the same diagram.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

/// Notebooks in one subnet past this count become one node ("12 notebooks").
pub const AGGREGATE_ABOVE: usize = 6;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum BoxKind {
    Region,
    Vpc,
    Zone,
    Subnet,
    Endpoints,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum NodeKind {
    Notebook,
    InterfaceEndpoint,
    GatewayEndpoint,
    RouteTable,
    SecurityGroup,
    PrefixList,
    Cidr,
    Service,
    Internet,
    Note,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum EdgeKind {
    /// One security-group rule, labelled with its protocol and ports.
    Rule,
    /// A node is in a security group.
    Member,
    /// A route table sends a prefix list to a gateway endpoint, which reaches a service.
    Route,
    /// The template gives no path to the internet.
    NoRoute,
    /// A path to the internet exists, or may exist outside the template.
    Internet,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Node {
    pub id: String,
    pub kind: NodeKind,
    /// First line is the name; the rest are facts.
    pub lines: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Group {
    pub id: String,
    pub kind: BoxKind,
    pub lines: Vec<String>,
    pub groups: Vec<Group>,
    pub nodes: Vec<Node>,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Edge {
    pub from: String,
    pub to: String,
    pub label: String,
    pub kind: EdgeKind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagram {
    pub title: String,
    /// The computed line about the ways out: what the template lacks, has, or cannot know.
    pub egress: String,
    pub groups: Vec<Group>,
    /// Nodes outside every box: the Internet, addresses, the legend.
    pub nodes: Vec<Node>,
    pub edges: Vec<Edge>,
}

impl Diagram {
    pub fn edge_count(&self) -> usize {
        self.edges.len()
    }
}

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
        &["AWS::EC2::VPNGateway", "AWS::EC2::VPNGatewayRoutePropagation"],
        &[],
    ),
];

/// Where a subnet, VPC or route table comes from: a resource of the template, or an id (or a
/// parameter) naming one that exists outside it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Origin {
    Resource(String),
    External(String),
}

impl Origin {
    fn of(v: &Value) -> Option<Origin> {
        if let Some(id) = target(v) {
            return Some(Origin::Resource(id.to_string()));
        }
        if let Some(p) = v.get("Parameter").and_then(Value::as_str) {
            return Some(Origin::External(format!("parameter {p}")));
        }
        v.as_str().map(|s| Origin::External(s.to_string()))
    }

    fn name(&self) -> &str {
        match self {
            Origin::Resource(s) | Origin::External(s) => s,
        }
    }

    fn id(&self, prefix: &str) -> String {
        format!("{prefix}_{}", sanitize(self.name()))
    }
}

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
}

/// The model of `template`'s network. `aggregate_above`: notebooks per subnet shown one by one.
pub fn build(template: &Value, title: &str, aggregate_above: usize) -> Diagram {
    let raw = template.get("Resources").cloned().unwrap_or(Value::Null);
    let ids: BTreeSet<String> = raw
        .as_object()
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default();
    let marked = mark_parameters(&raw, &ids);
    let empty = serde_json::Map::new();
    let resources: BTreeMap<&String, &Value> =
        marked.as_object().unwrap_or(&empty).iter().collect();
    let of_type = |t: &'static str| {
        resources
            .iter()
            .filter(move |(_, r)| r.get("Type").and_then(Value::as_str) == Some(t))
            .map(|(id, r)| (id.as_str(), r.get("Properties").unwrap_or(&Value::Null), *r))
    };

    // VPCs and subnets, those of the template and those it names.
    let mut vpcs: BTreeMap<Origin, Vec<String>> = BTreeMap::new();
    for (id, p, _) in of_type("AWS::EC2::VPC") {
        let mut lines = vec![format!("VPC {id}")];
        lines.extend(p.get("CidrBlock").and_then(Value::as_str).map(str::to_string));
        vpcs.insert(Origin::Resource(id.into()), lines);
    }
    let mut subnets: BTreeMap<Origin, Subnet> = BTreeMap::new();
    for (id, p, _) in of_type("AWS::EC2::Subnet") {
        subnets.insert(
            Origin::Resource(id.into()),
            Subnet {
                zone: zone_of(p.get("AvailabilityZone")),
                cidr: p.get("CidrBlock").and_then(Value::as_str).map(str::to_string),
                vpc: p.get("VpcId").and_then(Origin::of),
                route_tables: BTreeSet::new(),
                notebooks: Vec::new(),
            },
        );
    }
    let mut external_subnet = |subnets: &mut BTreeMap<Origin, Subnet>, o: Origin, vpc: Option<Origin>| {
        let s = subnets.entry(o).or_insert(Subnet {
            zone: None,
            cidr: None,
            vpc: None,
            route_tables: BTreeSet::new(),
            notebooks: Vec::new(),
        });
        if s.vpc.is_none() {
            s.vpc = vpc;
        }
    };
    for (_, p, _) in of_type("AWS::EC2::SubnetRouteTableAssociation") {
        if let (Some(s), Some(rt)) = (
            p.get("SubnetId").and_then(Origin::of),
            p.get("RouteTableId").and_then(Origin::of),
        ) && let Some(s) = subnets.get_mut(&s)
        {
            s.route_tables.insert(rt.name().to_string());
        }
    }

    let mut nodes_in_vpc: BTreeMap<Origin, Vec<Node>> = BTreeMap::new();
    let mut endpoints_in_vpc: BTreeMap<Origin, (Vec<Node>, BTreeSet<String>)> = BTreeMap::new();
    let mut region_nodes: BTreeMap<String, Node> = BTreeMap::new();
    let mut top_nodes: BTreeMap<String, Node> = BTreeMap::new();
    let mut edges: BTreeSet<Edge> = BTreeSet::new();
    let mut member = |edges: &mut BTreeSet<Edge>, node: &str, sgs: Option<&Value>| {
        for sg in sgs.and_then(Value::as_array).into_iter().flatten() {
            if let Some(sg) = Origin::of(sg) {
                edges.insert(Edge {
                    from: node.to_string(),
                    to: sg.id("sg"),
                    label: String::new(),
                    kind: EdgeKind::Member,
                });
            }
        }
    };

    // Route tables, with the routes the template gives them.
    let mut route_tables: BTreeMap<Origin, (Option<Origin>, Vec<String>)> = BTreeMap::new();
    for (id, p, _) in of_type("AWS::EC2::RouteTable") {
        route_tables.insert(
            Origin::Resource(id.into()),
            (p.get("VpcId").and_then(Origin::of), vec!["local".into()]),
        );
    }
    let mut ways_out: BTreeSet<&'static str> = BTreeSet::new();
    for (id, p, _) in of_type("AWS::EC2::Route") {
        let Some(rt) = p.get("RouteTableId").and_then(Origin::of) else {
            continue;
        };
        let dest = p
            .get("DestinationCidrBlock")
            .or_else(|| p.get("DestinationIpv6CidrBlock"))
            .or_else(|| p.get("DestinationPrefixListId"))
            .map_or_else(|| "?".to_string(), describe);
        let via = WAYS_OUT
            .iter()
            .find(|(_, _, props)| props.iter().any(|k| p.get(*k).is_some()))
            .map_or("another target", |(what, _, _)| *what);
        if via != "another target" {
            ways_out.insert(via);
        }
        let entry = route_tables
            .entry(rt)
            .or_insert_with(|| (None, vec!["local".into()]));
        entry.1.push(format!("{dest} via {via} ({id})"));
    }
    for (what, types, _) in WAYS_OUT {
        if types.iter().any(|t| of_type(t).next().is_some()) {
            ways_out.insert(what);
        }
    }

    // Endpoints.
    for (id, p, _) in of_type("AWS::EC2::VPCEndpoint") {
        let service = service_of(p.get("ServiceName"));
        let vpc = p
            .get("VpcId")
            .and_then(Origin::of)
            .unwrap_or(Origin::External("VPC not named".into()));
        let node_id = format!("ep_{}", sanitize(id));
        // CloudFormation's default endpoint type is Gateway.
        let interface = p.get("VpcEndpointType").and_then(Value::as_str) == Some("Interface");
        let mut lines = vec![service.clone()];
        if let Some(n) = p
            .pointer("/PolicyDocument/Statement")
            .and_then(Value::as_array)
            .map(Vec::len)
        {
            lines.push(format!("policy: {n} statement{}", if n == 1 { "" } else { "s" }));
        }
        if interface {
            if p.get("PrivateDnsEnabled") == Some(&Value::Bool(true)) {
                lines.push("private DNS".into());
            }
            let e = endpoints_in_vpc.entry(vpc.clone()).or_default();
            for s in p.get("SubnetIds").and_then(Value::as_array).into_iter().flatten() {
                if let Some(s) = Origin::of(s) {
                    e.1.insert(s.name().to_string());
                    external_subnet(&mut subnets, s, Some(vpc.clone()));
                }
            }
            e.0.push(Node {
                id: node_id.clone(),
                kind: NodeKind::InterfaceEndpoint,
                lines,
            });
            member(&mut edges, &node_id, p.get("SecurityGroupIds"));
        } else {
            lines[0] = format!("{service} gateway endpoint");
            nodes_in_vpc.entry(vpc.clone()).or_default().push(Node {
                id: node_id.clone(),
                kind: NodeKind::GatewayEndpoint,
                lines,
            });
            let svc_id = format!("svc_{}", sanitize(&service));
            region_nodes.insert(
                svc_id.clone(),
                Node {
                    id: svc_id.clone(),
                    kind: NodeKind::Service,
                    lines: vec![format!("Amazon {}", service.to_uppercase())],
                },
            );
            edges.insert(Edge {
                from: node_id.clone(),
                to: svc_id,
                label: String::new(),
                kind: EdgeKind::Route,
            });
            for rt in p.get("RouteTableIds").and_then(Value::as_array).into_iter().flatten() {
                if let Some(rt) = Origin::of(rt) {
                    let entry = route_tables
                        .entry(rt.clone())
                        .or_insert_with(|| (Some(vpc.clone()), Vec::new()));
                    entry.1.push(format!("{service} prefix list via {id}"));
                    edges.insert(Edge {
                        from: rt.id("rt"),
                        to: node_id.clone(),
                        label: format!("{service} prefix list"),
                        kind: EdgeKind::Route,
                    });
                }
            }
        }
    }

    // Notebooks, in their subnets.
    let mut unplaced: Vec<Node> = Vec::new();
    for (id, p, _) in of_type("AWS::SageMaker::NotebookInstance") {
        let enabled = |k: &str| p.get(k).and_then(Value::as_str) != Some("Disabled");
        let nb = Notebook {
            id: format!("nb_{}", sanitize(id)),
            name: p
                .get("NotebookInstanceName")
                .and_then(Value::as_str)
                .unwrap_or(id)
                .to_string(),
            instance_type: p
                .get("InstanceType")
                .map_or_else(|| "?".into(), describe),
            // SageMaker's defaults for both are Enabled.
            direct_internet: enabled("DirectInternetAccess"),
            root: enabled("RootAccess"),
        };
        member(&mut edges, &nb.id, p.get("SecurityGroupIds"));
        if nb.direct_internet {
            ways_out.insert("SageMaker direct internet access");
            edges.insert(Edge {
                from: nb.id.clone(),
                to: "internet".into(),
                label: "direct internet access".into(),
                kind: EdgeKind::Internet,
            });
        }
        match p.get("SubnetId").and_then(Origin::of) {
            Some(s) => {
                external_subnet(&mut subnets, s.clone(), None);
                if let Some(sub) = subnets.get_mut(&s) {
                    sub.notebooks.push(nb);
                }
            }
            None => unplaced.push(notebook_node(&nb)),
        }
    }

    // Security groups and one edge per rule.
    for (id, p, r) in of_type("AWS::EC2::SecurityGroup") {
        let sg = Origin::Resource(id.into());
        let name = tag(p, "Name").unwrap_or(id);
        let mut lines = vec![format!("security group {name}")];
        let egress = p.get("SecurityGroupEgress").and_then(Value::as_array);
        for rule in egress.into_iter().flatten() {
            if blocks_all(rule) {
                lines.push("no egress".into());
            } else {
                rule_edge(&mut edges, &mut top_nodes, &mut region_nodes, &sg, rule, true, r);
            }
        }
        for rule in p.get("SecurityGroupIngress").and_then(Value::as_array).into_iter().flatten() {
            rule_edge(&mut edges, &mut top_nodes, &mut region_nodes, &sg, rule, false, r);
        }
        let vpc = p
            .get("VpcId")
            .and_then(Origin::of)
            .unwrap_or(Origin::External("VPC not named".into()));
        nodes_in_vpc.entry(vpc).or_default().push(Node {
            id: sg.id("sg"),
            kind: NodeKind::SecurityGroup,
            lines,
        });
    }
    for (ty, egress) in [
        ("AWS::EC2::SecurityGroupEgress", true),
        ("AWS::EC2::SecurityGroupIngress", false),
    ] {
        for (_, p, r) in of_type(ty) {
            if let Some(sg) = p.get("GroupId").and_then(Origin::of) {
                rule_edge(&mut edges, &mut top_nodes, &mut region_nodes, &sg, p, egress, r);
            }
        }
    }

    // The internet, and whether anything leads there.
    top_nodes.insert(
        "internet".into(),
        Node {
            id: "internet".into(),
            kind: NodeKind::Internet,
            lines: vec!["Internet".into()],
        },
    );
    let absent: Vec<&str> = WAYS_OUT
        .iter()
        .map(|(w, _, _)| *w)
        .filter(|w| !ways_out.contains(w))
        .collect();
    let externals: Vec<String> = vpcs_named(&subnets, &route_tables, &nodes_in_vpc, &endpoints_in_vpc)
        .into_iter()
        .filter_map(|o| match o {
            Origin::External(s) => Some(s),
            Origin::Resource(_) => None,
        })
        .collect();
    let mut egress = if absent.is_empty() {
        String::new()
    } else {
        format!("not in this template: {}", absent.join(", "))
    };
    if !ways_out.is_empty() {
        let present: Vec<&str> = ways_out.iter().copied().collect();
        egress = join_clauses(&format!("in this template: {}", present.join(", ")), &egress);
    }
    if !externals.is_empty() {
        egress = join_clauses(
            &egress,
            &format!(
                "the routes of {} are outside this template",
                externals.join(", ")
            ),
        );
    }
    for (rt, (_, routes)) in &route_tables {
        let (label, kind) = match rt {
            Origin::External(_) => ("routes unknown here", EdgeKind::Internet),
            Origin::Resource(_) if routes.iter().any(|r| WAYS_OUT.iter().any(|(w, _, _)| r.contains(&format!("via {w}")))) => {
                ("route out", EdgeKind::Internet)
            }
            Origin::Resource(_) => ("no route", EdgeKind::NoRoute),
        };
        edges.insert(Edge {
            from: rt.id("rt"),
            to: "internet".into(),
            label: label.into(),
            kind,
        });
    }
    top_nodes.insert(
        "egress".into(),
        Node {
            id: "egress".into(),
            kind: NodeKind::Note,
            lines: vec![format!("Ways out: {egress}")],
        },
    );

    // Containment: Region > VPC > zone > subnet.
    for (rt, (vpc, routes)) in &route_tables {
        let mut lines = vec![format!("route table {}", rt.name())];
        lines.extend(routes.iter().cloned());
        let vpc = vpc.clone().unwrap_or(Origin::External("VPC not named".into()));
        nodes_in_vpc.entry(vpc).or_default().push(Node {
            id: rt.id("rt"),
            kind: NodeKind::RouteTable,
            lines,
        });
    }
    let mut vpc_groups: Vec<Group> = Vec::new();
    let all_vpcs = vpcs_named(&subnets, &route_tables, &nodes_in_vpc, &endpoints_in_vpc);
    for vpc in all_vpcs {
        let lines = vpcs.get(&vpc).cloned().unwrap_or_else(|| {
            vec![
                format!("existing VPC {}", vpc.name()),
                "not defined in this template".into(),
            ]
        });
        let mut zones: BTreeMap<Option<String>, Vec<Group>> = BTreeMap::new();
        for (s, sub) in subnets.iter().filter(|(_, s)| s.vpc.as_ref() == Some(&vpc) || (s.vpc.is_none() && matches!(vpc, Origin::External(_)))) {
            let mut lines = vec![match s {
                Origin::Resource(id) => format!("subnet {id}"),
                Origin::External(id) => format!("existing subnet {id}"),
            }];
            lines.extend(sub.cidr.clone());
            for rt in &sub.route_tables {
                lines.push(format!("route table {rt}"));
            }
            zones.entry(sub.zone.clone()).or_default().push(Group {
                id: s.id("subnet"),
                kind: BoxKind::Subnet,
                lines,
                groups: Vec::new(),
                nodes: notebooks_in(&sub.notebooks, aggregate_above, &s.id("nbs")),
            });
        }
        let mut groups: Vec<Group> = Vec::new();
        for (zone, subs) in zones {
            match zone {
                Some(z) => groups.push(Group {
                    id: format!("{}_{}", vpc.id("az"), sanitize(&z)),
                    kind: BoxKind::Zone,
                    lines: vec![z],
                    groups: subs,
                    nodes: Vec::new(),
                }),
                None => groups.extend(subs),
            }
        }
        if let Some((nodes, subs)) = endpoints_in_vpc.get(&vpc) {
            let subs: Vec<&str> = subs.iter().map(String::as_str).collect();
            groups.push(Group {
                id: vpc.id("endpoints"),
                kind: BoxKind::Endpoints,
                lines: vec![
                    "interface endpoints".into(),
                    format!("an interface in each of {}", subs.join(", ")),
                ],
                groups: Vec::new(),
                nodes: nodes.clone(),
            });
        }
        vpc_groups.push(Group {
            id: vpc.id("vpc"),
            kind: BoxKind::Vpc,
            lines,
            groups,
            nodes: nodes_in_vpc.get(&vpc).cloned().unwrap_or_default(),
        });
    }
    let mut region = Group {
        id: "region".into(),
        kind: BoxKind::Region,
        lines: vec!["Region of the stack".into()],
        groups: vpc_groups,
        nodes: region_nodes.into_values().chain(unplaced).collect(),
    };
    sort_group(&mut region);
    Diagram {
        title: title.to_string(),
        egress,
        groups: vec![region],
        nodes: top_nodes.into_values().collect(),
        edges: edges.into_iter().collect(),
    }
}

fn join_clauses(a: &str, b: &str) -> String {
    match (a.is_empty(), b.is_empty()) {
        (true, _) => b.to_string(),
        (_, true) => a.to_string(),
        _ => format!("{a}; {b}"),
    }
}

/// Every VPC something is placed in, sorted.
fn vpcs_named(
    subnets: &BTreeMap<Origin, Subnet>,
    route_tables: &BTreeMap<Origin, (Option<Origin>, Vec<String>)>,
    nodes: &BTreeMap<Origin, Vec<Node>>,
    endpoints: &BTreeMap<Origin, (Vec<Node>, BTreeSet<String>)>,
) -> BTreeSet<Origin> {
    let mut out: BTreeSet<Origin> = BTreeSet::new();
    out.extend(subnets.values().filter_map(|s| s.vpc.clone()));
    out.extend(route_tables.values().filter_map(|(v, _)| v.clone()));
    out.extend(nodes.keys().cloned());
    out.extend(endpoints.keys().cloned());
    if subnets.values().any(|s| s.vpc.is_none()) && !out.iter().any(|o| matches!(o, Origin::External(_))) {
        out.insert(Origin::External("VPC not named".into()));
    }
    out
}

fn sort_group(g: &mut Group) {
    g.nodes.sort();
    g.groups.iter_mut().for_each(sort_group);
    g.groups.sort_by(|a, b| a.id.cmp(&b.id));
}

fn notebook_node(nb: &Notebook) -> Node {
    let mut lines = vec![nb.name.clone(), nb.instance_type.clone()];
    lines.push(flags(nb.root, nb.direct_internet));
    Node {
        id: nb.id.clone(),
        kind: NodeKind::Notebook,
        lines,
    }
}

fn flags(root: bool, direct: bool) -> String {
    format!(
        "root {}, direct internet {}",
        if root { "ON" } else { "off" },
        if direct { "ON" } else { "off" }
    )
}

/// The notebooks of one subnet: one node each, or one node for all past `aggregate_above`.
fn notebooks_in(nbs: &[Notebook], aggregate_above: usize, group_id: &str) -> Vec<Node> {
    if nbs.len() <= aggregate_above {
        return nbs.iter().map(notebook_node).collect();
    }
    let mut types: BTreeMap<&str, usize> = BTreeMap::new();
    for nb in nbs {
        *types.entry(&nb.instance_type).or_default() += 1;
    }
    let types: Vec<String> = types.iter().map(|(t, n)| format!("{n} × {t}")).collect();
    let mut lines = vec![format!("{} notebooks", nbs.len()), types.join(", ")];
    let root = nbs.iter().filter(|n| n.root).count();
    let direct = nbs.iter().filter(|n| n.direct_internet).count();
    lines.push(format!("root ON: {root}, direct internet ON: {direct}"));
    vec![Node {
        id: group_id.to_string(),
        kind: NodeKind::Notebook,
        lines,
    }]
}

/// One edge for one rule of security group `sg`; its peer (another group, a prefix list, an
/// address block) becomes a node if it is not one yet.
fn rule_edge(
    edges: &mut BTreeSet<Edge>,
    top: &mut BTreeMap<String, Node>,
    region: &mut BTreeMap<String, Node>,
    sg: &Origin,
    rule: &Value,
    egress: bool,
    resource: &Value,
) {
    let peer_key = if egress { "Destination" } else { "Source" };
    let peer = if let Some(g) = rule
        .get(format!("{peer_key}SecurityGroupId"))
        .and_then(Origin::of)
    {
        g.id("sg")
    } else if let Some(pl) = rule.get(format!("{peer_key}PrefixListId")) {
        let id = format!("pl_{}", sanitize(&describe(pl)));
        region.entry(id.clone()).or_insert(Node {
            id: id.clone(),
            kind: NodeKind::PrefixList,
            lines: vec![format!("prefix list {}", describe(pl))],
        });
        id
    } else if let Some(c) = rule.get("CidrIp").or_else(|| rule.get("CidrIpv6")) {
        let id = format!("cidr_{}", sanitize(&describe(c)));
        top.entry(id.clone()).or_insert(Node {
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
    edges.insert(Edge {
        from,
        to,
        label,
        kind: EdgeKind::Rule,
    });
}

/// `tcp/443`, `tcp/1024-65535`, `all traffic`.
fn ports(rule: &Value) -> String {
    let proto = rule.get("IpProtocol").map_or_else(|| "?".into(), describe);
    let port = |k: &str| rule.get(k).map(describe);
    match (proto.as_str(), port("FromPort"), port("ToPort")) {
        ("-1", _, _) => "all traffic".into(),
        (p, Some(a), Some(b)) if a == b => format!("{p}/{a}"),
        (p, Some(a), Some(b)) if p == "icmp" => format!("icmp type {a} code {b}"),
        (p, Some(a), Some(b)) => format!("{p}/{a}-{b}"),
        (p, _, _) => p.to_string(),
    }
}

/// The rule CloudFormation templates use to remove a group's default allow-all egress: ICMP to
/// the broadcast address only, which no traffic matches.
fn blocks_all(rule: &Value) -> bool {
    rule.get("CidrIp").and_then(Value::as_str) == Some("255.255.255.255/32")
}

/// The logical id a `Ref` or `Fn::GetAtt` names (after [`mark_parameters`], a `Ref` names a
/// resource).
fn target(v: &Value) -> Option<&str> {
    match v.get("Fn::GetAtt") {
        Some(Value::Array(a)) => a.first().and_then(Value::as_str),
        Some(Value::String(s)) => s.split('.').next(),
        _ => v.get("Ref").and_then(Value::as_str),
    }
}

/// `resources` with every `Ref` to something that is not a resource (a parameter, a pseudo
/// parameter) rewritten to `{"Parameter": name}`, so that a `Ref` always names a resource.
fn mark_parameters(v: &Value, resources: &BTreeSet<String>) -> Value {
    match v {
        Value::Object(m) => {
            if let Some(r) = m.get("Ref").and_then(Value::as_str).filter(|r| m.len() == 1 && !resources.contains(*r)) {
                return serde_json::json!({ "Parameter": r });
            }
            Value::Object(
                m.iter()
                    .map(|(k, x)| (k.clone(), mark_parameters(x, resources)))
                    .collect(),
            )
        }
        Value::Array(a) => Value::Array(a.iter().map(|x| mark_parameters(x, resources)).collect()),
        _ => v.clone(),
    }
}

/// A value in words: a literal, `parameter X`, `X.Attr`.
fn describe(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        _ => {
            if let Some(r) = v.get("Parameter").and_then(Value::as_str) {
                format!("parameter {r}")
            } else if let Some(s) = v.get("Fn::Sub").and_then(Value::as_str) {
                s.to_string()
            } else {
                "a computed value".into()
            }
        }
    }
}

/// `com.amazonaws.${AWS::Region}.sagemaker.api` -> `sagemaker.api`.
fn service_of(v: Option<&Value>) -> String {
    let s = v.map(describe).unwrap_or_default();
    if let Some((_, rest)) = s.split_once("${AWS::Region}.") {
        return rest.to_string();
    }
    // com.amazonaws.REGION.SERVICE
    s.splitn(4, '.').nth(3).unwrap_or(&s).to_string()
}

/// `Fn::Select [i, Fn::GetAZs]` -> `zone i+1`; a literal zone as written.
fn zone_of(v: Option<&Value>) -> Option<String> {
    let v = v?;
    if let Some(s) = v.as_str() {
        return Some(s.to_string());
    }
    let sel = v.get("Fn::Select")?.as_array()?;
    let i: u64 = match sel.first()? {
        Value::String(s) => s.parse().ok()?,
        Value::Number(n) => n.as_u64()?,
        _ => return None,
    };
    Some(format!("availability zone {}", i + 1))
}

fn tag<'a>(p: &'a Value, key: &str) -> Option<&'a str> {
    p.get("Tags")?
        .as_array()?
        .iter()
        .find(|t| t.get("Key").and_then(Value::as_str) == Some(key))?
        .get("Value")?
        .as_str()
}

/// An id safe in Mermaid and DOT: ASCII letters, digits and underscores.
pub fn sanitize(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect()
}
