//! The network diagram of a template: one model ([`model`]) drawn as Mermaid for the review
//! report and as Graphviz DOT (and SVG through `dot`) for `nbsynth diagram`.

mod build;
pub mod dot;
pub mod mermaid;
pub mod model;
mod template;

use std::io::Write;
use std::process::{Command, Stdio};

use serde_json::Value;

pub use model::Diagram;

/// The review report's network section: a Mermaid block within what GitHub renders. A diagram
/// over the limits is drawn again with every subnet's notebooks in one node and without the
/// security-group membership lines; still over, the section says so instead.
pub fn markdown_section(template: &Value, title: &str) -> String {
    let mut d = model::build(template, title, model::AGGREGATE_ABOVE);
    let mut text = mermaid::render(&d);
    let fits = |d: &Diagram, text: &str| {
        text.chars().count() <= mermaid::MAX_CHARS && d.edge_count() <= mermaid::MAX_EDGES
    };
    let mut note = String::new();
    if !fits(&d, &text) {
        d = model::build(template, title, 0);
        d.edges.retain(|e| e.kind != model::EdgeKind::Member);
        text = mermaid::render(&d);
        note = "\nNotebooks are counted per subnet and security-group membership is left out, to stay within what GitHub renders.\n".into();
    }
    let mut o = String::from("\n## Network\n\n");
    o.push_str(&format!(
        "Ways out, from the template: {}.\n",
        d.egress_line()
    ));
    if fits(&d, &text) {
        o.push_str(&note);
        o.push_str("\n```mermaid\n");
        o.push_str(&text);
        o.push_str("```\n");
    } else {
        o.push_str(&format!(
            "\nThe diagram has {} characters and {} edges, over what GitHub renders ({} and {}): `nbsynth diagram --format svg` draws it.\n",
            text.chars().count(),
            d.edge_count(),
            mermaid::MAX_CHARS,
            mermaid::MAX_EDGES
        ));
    }
    o
}

/// Why an SVG could not be made.
#[derive(Debug)]
pub enum SvgError {
    /// Graphviz is not installed.
    NoDot,
    Failed(String),
}

/// SVG from DOT text, through Graphviz `dot` (`$NBSYNTH_DOT` names another binary).
pub fn svg(dot_text: &str) -> Result<String, SvgError> {
    let bin = std::env::var("NBSYNTH_DOT").unwrap_or_else(|_| "dot".into());
    let mut child = match Command::new(&bin)
        .arg("-Tsvg")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
    {
        Ok(c) => c,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(SvgError::NoDot),
        Err(e) => return Err(SvgError::Failed(format!("cannot run `{bin}`: {e}"))),
    };
    if let Some(mut stdin) = child.stdin.take() {
        stdin
            .write_all(dot_text.as_bytes())
            .map_err(|e| SvgError::Failed(format!("cannot write to `{bin}`: {e}")))?;
    }
    let out = child
        .wait_with_output()
        .map_err(|e| SvgError::Failed(format!("`{bin}` failed: {e}")))?;
    if !out.status.success() {
        return Err(SvgError::Failed(format!(
            "`{bin}` failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    String::from_utf8(out.stdout).map_err(|_| SvgError::Failed(format!("`{bin}` wrote no UTF-8")))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::model::{EdgeKind, build};
    use super::*;

    /// A VPC with one subnet and `n` notebooks in it, each in the notebook group, and
    /// `extra` more resources.
    fn template(n: usize, extra: serde_json::Value) -> Value {
        let mut resources = json!({
            "Vpc": {"Type": "AWS::EC2::VPC", "Properties": {"CidrBlock": "10.0.0.0/16"}},
            "Subnet": {"Type": "AWS::EC2::Subnet", "Properties": {
                "VpcId": {"Ref": "Vpc"}, "CidrBlock": "10.0.0.0/24",
                "AvailabilityZone": {"Fn::Select": ["0", {"Fn::GetAZs": ""}]}}},
            "Table": {"Type": "AWS::EC2::RouteTable", "Properties": {"VpcId": {"Ref": "Vpc"}}},
            "Sg": {"Type": "AWS::EC2::SecurityGroup", "Properties": {"VpcId": {"Ref": "Vpc"}}},
        });
        let m = resources.as_object_mut().unwrap();
        for i in 0..n {
            m.insert(
                format!("Nb{i:04}"),
                json!({"Type": "AWS::SageMaker::NotebookInstance", "Properties": {
                    "InstanceType": "ml.t3.medium", "SubnetId": {"Ref": "Subnet"},
                    "SecurityGroupIds": [{"Fn::GetAtt": ["Sg", "GroupId"]}],
                    "DirectInternetAccess": "Disabled", "RootAccess": "Disabled"}}),
            );
        }
        for (k, v) in extra.as_object().unwrap() {
            m.insert(k.clone(), v.clone());
        }
        json!({ "Resources": resources })
    }

    #[test]
    fn no_route_out_is_computed() {
        let d = build(&template(1, json!({})), "t", 6);
        assert!(
            d.egress_line()
                .starts_with("not in this template: internet gateway, NAT gateway")
        );
        assert!(
            d.edges
                .iter()
                .any(|e| e.kind == EdgeKind::NoRoute && e.from == "rt_Table")
        );

        // With an internet gateway and a default route to it, the diagram says so.
        let igw = template(
            1,
            json!({
                "Igw": {"Type": "AWS::EC2::InternetGateway"},
                "Default": {"Type": "AWS::EC2::Route", "Properties": {
                    "RouteTableId": {"Ref": "Table"}, "DestinationCidrBlock": "0.0.0.0/0",
                    "GatewayId": {"Ref": "Igw"}}},
            }),
        );
        let d = build(&igw, "t", 6);
        assert!(
            d.egress_line()
                .contains("in this template: internet gateway"),
            "{}",
            d.egress_line()
        );
        assert!(
            !d.egress_line()
                .contains("not in this template: internet gateway")
        );
        assert!(!d.edges.iter().any(|e| e.kind == EdgeKind::NoRoute));
        assert!(mermaid::render(&d).contains("rt_Table -.->|\"route out\"| internet"));
        assert!(mermaid::render(&d).contains("0.0.0.0/0 via internet gateway (Default)"));
    }

    #[test]
    fn direct_internet_access_is_a_way_out() {
        let t = template(
            0,
            json!({"Open": {"Type": "AWS::SageMaker::NotebookInstance", "Properties": {
                "InstanceType": "ml.t3.medium"}}}),
        );
        let d = build(&t, "t", 6);
        assert!(d.egress_line().contains("SageMaker direct internet access"));
        let text = mermaid::render(&d);
        assert!(
            text.contains("nb_Open -.->|\"direct internet access\"| internet"),
            "{text}"
        );
        assert!(text.contains("root ON, direct internet ON"), "{text}");
    }

    #[test]
    fn notebooks_are_counted_past_a_handful() {
        let six = mermaid::render(&build(&template(6, json!({})), "t", model::AGGREGATE_ABOVE));
        assert_eq!(
            six.matches("nb_Nb").count(),
            12,
            "six nodes, six membership lines"
        );
        let seven = mermaid::render(&build(&template(7, json!({})), "t", model::AGGREGATE_ABOVE));
        assert!(
            seven.contains("nbs_Subnet[\"7 notebooks<br>7 × ml.t3.medium"),
            "{seven}"
        );
        assert!(!seven.contains("nb_Nb"));
    }

    /// Past GitHub's 500 edges the section draws a smaller diagram; past everything it says so.
    #[test]
    fn the_review_section_stays_within_githubs_limits() {
        let mut extra = serde_json::Map::new();
        // 100 subnets of 5 notebooks: 500 membership lines drawn one by one.
        for s in 0..100 {
            extra.insert(
                format!("S{s:03}"),
                json!({"Type": "AWS::EC2::Subnet", "Properties": {
                "VpcId": {"Ref": "Vpc"}, "CidrBlock": "10.0.0.0/28"}}),
            );
            for i in 0..5 {
                extra.insert(format!("N{s:03}x{i}"), json!({"Type": "AWS::SageMaker::NotebookInstance",
                    "Properties": {"InstanceType": "ml.t3.medium", "SubnetId": {"Ref": format!("S{s:03}")},
                        "SecurityGroupIds": [{"Ref": "Sg"}],
                        "DirectInternetAccess": "Disabled", "RootAccess": "Disabled"}}));
            }
        }
        let t = template(0, Value::Object(extra));
        assert!(build(&t, "t", model::AGGREGATE_ABOVE).edge_count() > mermaid::MAX_EDGES);
        let section = markdown_section(&t, "t");
        assert!(section.contains("```mermaid"), "{section}");
        assert!(section.contains("Notebooks are counted per subnet"));
        let block = section.split("```mermaid\n").nth(1).unwrap();
        assert!(block.len() < mermaid::MAX_CHARS && block.matches(" -.- ").count() == 0);

        // 3,000 subnets do not fit however drawn: the section says how to get the picture.
        let mut extra = serde_json::Map::new();
        for s in 0..3000 {
            extra.insert(
                format!("S{s:04}"),
                json!({"Type": "AWS::EC2::Subnet", "Properties": {
                "VpcId": {"Ref": "Vpc"}, "CidrBlock": "10.0.0.0/28"}}),
            );
        }
        let section = markdown_section(&template(0, Value::Object(extra)), "t");
        assert!(!section.contains("```mermaid"));
        assert!(
            section.contains("`nbsynth diagram --format svg` draws it"),
            "{section}"
        );
    }
}
