//! The network a CloudFormation template describes, as nested boxes, nodes and edges, built
//! from the template alone: the same code draws a generated VPC, a brought-your-own network
//! (whose VPC, subnets and route tables are ids the template only names) and any template
//! `nbsynth check` reads. Everything is sorted, so the same template gives the same diagram.

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
    /// What is known about the ways out, computed from the template: what it lacks, what it
    /// has, what lies outside it.
    pub egress: Vec<String>,
    pub groups: Vec<Group>,
    /// Nodes outside every box: the Internet, addresses, the legend.
    pub nodes: Vec<Node>,
    pub edges: Vec<Edge>,
}

impl Diagram {
    pub fn edge_count(&self) -> usize {
        self.edges.len()
    }

    /// The ways out in one line.
    pub fn egress_line(&self) -> String {
        self.egress.join("; ")
    }
}

/// The model of `template`'s network; each subnet's notebooks are drawn one by one up to
/// `aggregate_above`, and as one counted node past it.
pub fn build(template: &Value, title: &str, aggregate_above: usize) -> Diagram {
    super::build::Builder::new(template).finish(title, aggregate_above)
}
