//! Cutting one lowered template into the root (nested) or base (independent) template and one
//! template per non-empty shard. Shared resources stay in the root; each owner's resources, and
//! copies of the lifecycle configurations they use, go to the owner's shard. What a shard needs
//! of the root arrives as a `String` parameter (nested) or an `Fn::ImportValue` (independent);
//! the root never reads anything back from a shard.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value, json};

use super::assignment;
use crate::blueprint::model::Layout;

const LIFECYCLE: &str = "AWS::SageMaker::NotebookInstanceLifecycleConfig";
const NESTED_STACK: &str = "AWS::CloudFormation::Stack";

/// Shared values the base stack exports whoever the owners are, so that removing an owner never
/// removes an export a shard still imports (the export "deadly embrace"): by resource type, and
/// by attribute (`None`: `Ref`).
const EXPORTED: &[(&str, Option<&str>)] = &[
    ("AWS::EC2::VPC", None),
    ("AWS::EC2::Subnet", None),
    ("AWS::EC2::SecurityGroup", Some("GroupId")),
    ("AWS::EC2::VPCEndpoint", None),
    ("AWS::KMS::Key", None),
    ("AWS::KMS::Key", Some("Arn")),
    ("AWS::SageMaker::CodeRepository", Some("CodeRepositoryName")),
];

pub struct Input<'a> {
    pub template: &'a Value,
    pub name: &'a str,
    pub layout: Layout,
    pub shards: u32,
    /// Each owner's resources and outputs.
    pub owner_resources: BTreeMap<&'a str, Vec<&'a str>>,
    pub owner_outputs: BTreeMap<&'a str, Vec<&'a str>>,
}

/// One template of the split stack.
#[derive(Debug, Clone)]
pub struct Part {
    /// Path of the template relative to the output directory, `/`-separated.
    pub path: String,
    /// `None` for the root / base template.
    pub shard: Option<String>,
    pub owners: Vec<String>,
    pub template: Value,
}

fn section(t: &Value, key: &str) -> Map<String, Value> {
    t.get(key)
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default()
}

/// `NotebookKey` + `Arn` -> `NotebookKeyArn`: a parameter / export name.
fn value_name(target: &str, attr: Option<&str>) -> String {
    let mut s = target.to_string();
    s.extend(
        attr.unwrap_or("")
            .chars()
            .filter(char::is_ascii_alphanumeric),
    );
    s
}

/// The templates, root first. `shard_path` gives a shard's path from its label.
pub fn split(input: &Input, shard_path: impl Fn(&str) -> String, root_path: &str) -> Vec<Part> {
    let t = input.template;
    let resources = section(t, "Resources");
    let owner_of: BTreeMap<&str, &str> = input
        .owner_resources
        .iter()
        .flat_map(|(o, ids)| ids.iter().map(move |id| (*id, *o)))
        .collect();
    let owner_output_ids: BTreeSet<&str> =
        input.owner_outputs.values().flatten().copied().collect();
    let mut shared: Map<String, Value> = resources
        .iter()
        .filter(|(id, _)| !owner_of.contains_key(id.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    // Lifecycle configurations that only owners use travel with them, so the root does not
    // change (nor export anything) when the set of overrides in use changes.
    let mut used_by_shared = BTreeSet::new();
    for v in shared.values() {
        collect_targets(v, &mut used_by_shared);
    }
    for (id, o) in section(t, "Outputs") {
        if !owner_output_ids.contains(id.as_str()) {
            collect_targets(&o, &mut used_by_shared);
        }
    }
    let movable: BTreeSet<String> = shared
        .iter()
        .filter(|(id, r)| r["Type"] == LIFECYCLE && !used_by_shared.contains(id.as_str()))
        .map(|(id, _)| id.clone())
        .collect();
    for id in &movable {
        shared.remove(id);
    }
    for (id, r) in &shared {
        let mut targets = BTreeSet::new();
        collect_targets(r, &mut targets);
        let to_owner: Vec<&String> = targets
            .iter()
            .filter(|x| owner_of.contains_key(x.as_str()))
            .collect();
        assert!(
            to_owner.is_empty(),
            "shared resource {id} refers to owner resources {to_owner:?}: it cannot be split"
        );
    }

    let parameters = section(t, "Parameters");
    let conditions = section(t, "Conditions");
    let outputs = section(t, "Outputs");
    let assigned = assignment::assign(input.owner_resources.keys().copied(), input.shards);
    let mut parts = Vec::new();
    let mut root_resources = shared.clone();
    let mut exports: BTreeMap<String, Value> = BTreeMap::new();
    for (id, r) in &shared {
        let kind = r["Type"].as_str().unwrap_or("");
        for (_, attr) in EXPORTED.iter().filter(|(k, _)| *k == kind) {
            exports.insert(value_name(id, *attr), root_value(id, *attr));
        }
    }
    for (shard, owners) in &assigned {
        let label = assignment::label(*shard, input.shards);
        let mut rw = Rewriter {
            shared: &shared,
            parameters: &parameters,
            layout: input.layout,
            name: input.name,
            externals: BTreeMap::new(),
            params_used: BTreeSet::new(),
            conditions_used: BTreeSet::new(),
            depends: BTreeSet::new(),
        };
        let mut local: Map<String, Value> = Map::new();
        for o in owners {
            for id in &input.owner_resources[o.as_str()] {
                local.insert((*id).to_string(), resources[*id].clone());
            }
        }
        let mut lifecycles = BTreeSet::new();
        for r in local.values() {
            collect_targets(r, &mut lifecycles);
        }
        for id in lifecycles.intersection(&movable) {
            let mut copy = resources[id].clone();
            if let Some(Value::String(n)) =
                copy.pointer_mut("/Properties/NotebookInstanceLifecycleConfigName")
            {
                // Physical names are per account and Region: one copy per shard.
                n.push_str(&format!("-s{label}"));
            }
            local.insert(id.clone(), copy);
        }
        let local_ids: BTreeSet<String> = local.keys().cloned().collect();
        for r in local.values_mut() {
            rw.resource(r, &local_ids);
        }
        let mut child_conditions = Map::new();
        while let Some(c) = rw
            .conditions_used
            .iter()
            .find(|c| !child_conditions.contains_key(c.as_str()))
            .cloned()
        {
            let mut body = conditions.get(&c).cloned().unwrap_or(Value::Null);
            rw.rewrite(&mut body, &local_ids);
            child_conditions.insert(c, body);
        }
        let mut child_params = Map::new();
        let mut passed = Map::new();
        for p in &rw.params_used {
            let def = parameters[p].clone();
            let list = def["Type"].as_str().is_some_and(|k| k.contains("List"));
            passed.insert(
                p.clone(),
                if list {
                    json!({"Fn::Join": [",", {"Ref": p}]})
                } else {
                    json!({"Ref": p})
                },
            );
            child_params.insert(p.clone(), def);
        }
        if input.layout == Layout::Nested {
            for (p, v) in &rw.externals {
                child_params.insert(
                    p.clone(),
                    json!({"Type": "String", "Description": format!("{} of the root stack", describe(v))}),
                );
                passed.insert(p.clone(), v.clone());
            }
        } else {
            for (p, v) in &rw.externals {
                exports.insert(p.clone(), v.clone());
            }
        }
        let child_outputs: Map<String, Value> = owners
            .iter()
            .flat_map(|o| input.owner_outputs.get(o.as_str()).into_iter().flatten())
            .map(|id| ((*id).to_string(), outputs[*id].clone()))
            .collect();
        let path = shard_path(&label);
        let mut child = Map::new();
        child.insert("AWSTemplateFormatVersion".into(), json!("2010-09-09"));
        let description = format!(
            "{} - shard {label} of {}",
            t["Description"].as_str().unwrap_or(input.name),
            input.shards
        );
        child.insert("Description".into(), json!(description));
        if let Some(md) = t.get("Metadata") {
            child.insert("Metadata".into(), md.clone());
        }
        for (key, m) in [
            ("Parameters", child_params),
            ("Conditions", child_conditions),
            ("Resources", local),
            ("Outputs", child_outputs),
        ] {
            if !m.is_empty() {
                child.insert(key.into(), Value::Object(m));
            }
        }
        if input.layout == Layout::Nested {
            let mut stack = json!({
                "Type": NESTED_STACK,
                "Properties": {"TemplateURL": relative(root_path, &path)},
                // cfn-lint warns that a local TemplateURL needs `aws cloudformation package`:
                // that is the documented way to deploy this layout (the README, the build's output).
                "Metadata": {"cfn-lint": {"config": {"ignore_checks": ["W3002"]}}},
            });
            if !passed.is_empty() {
                stack["Properties"]["Parameters"] = Value::Object(passed);
            }
            // A dependency the parameters already imply would be an obsolete `DependsOn`.
            let implied: BTreeSet<String> = rw
                .externals
                .values()
                .map(describe)
                .map(|d| d.split('.').next().unwrap_or("").to_string())
                .collect();
            let deps: Vec<&String> = rw.depends.difference(&implied).collect();
            if !deps.is_empty() {
                stack["DependsOn"] = json!(deps);
            }
            root_resources.insert(super::nested_stack_id(&label), stack);
        }
        parts.push(Part {
            path,
            shard: Some(label),
            owners: owners.clone(),
            template: Value::Object(child),
        });
    }

    let mut root = t.clone();
    root["Resources"] = Value::Object(root_resources);
    let mut root_outputs: Map<String, Value> = outputs
        .into_iter()
        .filter(|(id, _)| !owner_output_ids.contains(id.as_str()))
        .collect();
    if input.layout == Layout::Independent {
        for (p, v) in exports {
            root_outputs.insert(
                format!("Export{p}"),
                json!({
                    "Description": format!("{} for the shard stacks", describe(&v)),
                    "Value": v,
                    "Export": {"Name": export_name(input.name, &p)},
                }),
            );
        }
    }
    match root.as_object_mut() {
        Some(m) if root_outputs.is_empty() => {
            m.remove("Outputs");
        }
        Some(_) => root["Outputs"] = Value::Object(root_outputs),
        None => {}
    }
    parts.insert(
        0,
        Part {
            path: root_path.to_string(),
            shard: None,
            owners: Vec::new(),
            template: root,
        },
    );
    parts
}

/// The export a shard imports: named after the blueprint, which is unique per account and
/// Region like the stack names are.
pub fn export_name(name: &str, value: &str) -> String {
    format!("{name}-{value}")
}

fn root_value(target: &str, attr: Option<&str>) -> Value {
    match attr {
        None => json!({"Ref": target}),
        Some(a) => json!({"Fn::GetAtt": [target, a]}),
    }
}

fn describe(v: &Value) -> String {
    match (v.get("Ref"), v.get("Fn::GetAtt")) {
        (Some(Value::String(r)), _) => r.clone(),
        (_, Some(Value::Array(a))) => a
            .iter()
            .filter_map(Value::as_str)
            .collect::<Vec<_>>()
            .join("."),
        _ => v.to_string(),
    }
}

/// `to` relative to the directory of `from` (both `/`-separated, relative to one directory).
fn relative(from: &str, to: &str) -> String {
    let depth = from.matches('/').count();
    "../".repeat(depth) + to
}

/// Every resource a value refers to (`Ref`, `Fn::GetAtt`, `Fn::Sub` variables, `DependsOn`).
fn collect_targets(v: &Value, out: &mut BTreeSet<String>) {
    match v {
        Value::Object(m) => {
            if let Some(d) = m.get("DependsOn") {
                match d {
                    Value::String(s) => {
                        out.insert(s.clone());
                    }
                    Value::Array(a) => {
                        out.extend(a.iter().filter_map(Value::as_str).map(String::from))
                    }
                    _ => {}
                }
            }
            if m.len() == 1 {
                let (k, arg) = m.iter().next().expect("one entry");
                match (k.as_str(), arg) {
                    ("Ref", Value::String(t)) => {
                        out.insert(t.clone());
                    }
                    ("Fn::GetAtt", Value::Array(a)) => {
                        out.extend(a.first().and_then(Value::as_str).map(String::from));
                    }
                    ("Fn::GetAtt", Value::String(s)) => {
                        out.insert(s.split('.').next().unwrap_or(s).to_string());
                    }
                    ("Fn::Sub", Value::String(s)) => {
                        out.extend(sub_vars(s).map(|(t, _)| t.to_string()))
                    }
                    ("Fn::Sub", Value::Array(a)) => {
                        if let Some(s) = a.first().and_then(Value::as_str) {
                            out.extend(sub_vars(s).map(|(t, _)| t.to_string()));
                        }
                    }
                    _ => {}
                }
            }
            m.values().for_each(|c| collect_targets(c, out));
        }
        Value::Array(a) => a.iter().for_each(|c| collect_targets(c, out)),
        _ => {}
    }
}

/// `${Target}` / `${Target.Attr}` variables of a `Fn::Sub` string (not `${!Literal}`, not
/// pseudo parameters), as (target, attribute).
fn sub_vars(s: &str) -> impl Iterator<Item = (&str, Option<&str>)> {
    s.match_indices("${").filter_map(move |(i, _)| {
        let rest = &s[i + 2..];
        let var = &rest[..rest.find('}')?];
        if var.starts_with('!') || var.starts_with("AWS::") {
            return None;
        }
        Some(match var.split_once('.') {
            Some((t, a)) => (t, Some(a)),
            None => (var, None),
        })
    })
}

struct Rewriter<'a> {
    shared: &'a Map<String, Value>,
    parameters: &'a Map<String, Value>,
    layout: Layout,
    name: &'a str,
    /// Parameter or export name -> its value in the root.
    externals: BTreeMap<String, Value>,
    params_used: BTreeSet<String>,
    conditions_used: BTreeSet<String>,
    /// Shared resources the shard's resources depended on (the nested stack depends on them).
    depends: BTreeSet<String>,
}

impl Rewriter<'_> {
    fn resource(&mut self, r: &mut Value, local: &BTreeSet<String>) {
        if let Some(m) = r.as_object_mut() {
            if let Some(d) = m.remove("DependsOn") {
                let all: Vec<String> = match d {
                    Value::String(s) => vec![s],
                    Value::Array(a) => a
                        .into_iter()
                        .filter_map(|x| x.as_str().map(String::from))
                        .collect(),
                    _ => Vec::new(),
                };
                let (keep, away): (Vec<String>, Vec<String>) =
                    all.into_iter().partition(|x| local.contains(x));
                self.depends.extend(away);
                if !keep.is_empty() {
                    m.insert("DependsOn".into(), json!(keep));
                }
            }
            if let Some(Value::String(c)) = m.get("Condition") {
                self.conditions_used.insert(c.clone());
            }
        }
        self.rewrite(r, local);
    }

    /// The value that replaces a reference to a shared resource in a shard.
    fn external(&mut self, target: &str, attr: Option<&str>) -> (String, Value) {
        let name = value_name(target, attr);
        self.externals
            .insert(name.clone(), root_value(target, attr));
        let v = match self.layout {
            Layout::Nested => json!({"Ref": name}),
            Layout::Independent => json!({"Fn::ImportValue": export_name(self.name, &name)}),
        };
        (name, v)
    }

    fn is_external(&self, target: &str, local: &BTreeSet<String>) -> bool {
        self.shared.contains_key(target) && !local.contains(target)
    }

    fn rewrite(&mut self, v: &mut Value, local: &BTreeSet<String>) {
        match v {
            Value::Object(m) => {
                if m.len() == 1 {
                    let (k, arg) = m.iter_mut().next().expect("one entry");
                    match (k.as_str(), arg) {
                        ("Ref", Value::String(t)) => {
                            if self.is_external(t, local) {
                                let t = t.clone();
                                *v = self.external(&t, None).1;
                                return;
                            }
                            if self.parameters.contains_key(t.as_str()) {
                                self.params_used.insert(t.clone());
                            }
                        }
                        ("Fn::GetAtt", arg) => {
                            let (t, a) = match &*arg {
                                Value::Array(x) => (
                                    x.first().and_then(Value::as_str).unwrap_or("").to_string(),
                                    x.get(1).and_then(Value::as_str).map(String::from),
                                ),
                                Value::String(s) => match s.split_once('.') {
                                    Some((t, a)) => (t.to_string(), Some(a.to_string())),
                                    None => (s.clone(), None),
                                },
                                _ => (String::new(), None),
                            };
                            if self.is_external(&t, local) {
                                *v = self.external(&t, a.as_deref()).1;
                                return;
                            }
                        }
                        ("Condition", Value::String(c)) => {
                            self.conditions_used.insert(c.clone());
                        }
                        ("Fn::If", Value::Array(a)) => {
                            if let Some(c) = a.first().and_then(Value::as_str) {
                                self.conditions_used.insert(c.to_string());
                            }
                        }
                        ("Fn::Sub", arg) => {
                            self.sub(arg, local);
                        }
                        _ => {}
                    }
                }
                for child in m.values_mut() {
                    self.rewrite(child, local);
                }
            }
            Value::Array(a) => a.iter_mut().for_each(|c| self.rewrite(c, local)),
            _ => {}
        }
    }

    /// Renames the `Fn::Sub` variables that name shared resources to the shard's parameter
    /// (nested) or to a local variable bound to the import (independent).
    fn sub(&mut self, arg: &mut Value, local: &BTreeSet<String>) {
        let (mut text, mut vars) = match arg.take() {
            Value::String(s) => (s, Map::new()),
            Value::Array(mut a) if a.len() == 2 => {
                let vars = a
                    .pop()
                    .and_then(|x| x.as_object().cloned())
                    .unwrap_or_default();
                (
                    a.pop()
                        .and_then(|x| x.as_str().map(String::from))
                        .unwrap_or_default(),
                    vars,
                )
            }
            other => {
                *arg = other;
                return;
            }
        };
        let found: Vec<(String, Option<String>)> = sub_vars(&text)
            .filter(|(t, _)| !vars.contains_key(*t))
            .map(|(t, a)| (t.to_string(), a.map(String::from)))
            .collect();
        for (t, a) in found {
            if self.is_external(&t, local) {
                let (name, value) = self.external(&t, a.as_deref());
                let var = match &a {
                    Some(a) => format!("${{{t}.{a}}}"),
                    None => format!("${{{t}}}"),
                };
                text = text.replace(&var, &format!("${{{name}}}"));
                if self.layout == Layout::Independent {
                    vars.insert(name, value);
                }
            } else if self.parameters.contains_key(&t) {
                self.params_used.insert(t);
            }
        }
        *arg = if vars.is_empty() {
            Value::String(text)
        } else {
            json!([text, vars])
        };
    }
}
