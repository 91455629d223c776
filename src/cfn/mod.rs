//! The CloudFormation model: a template, its resources, intrinsic functions as values, and the
//! emitters. Lowering builds a [`Template`]; everything after works on its JSON form.

pub mod emit;
pub mod expr;
pub mod policy_size;
pub mod refs;

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

pub use expr::{Pseudo, base64, get_att, get_azs, join, r#ref, select, sub};

/// CloudFormation's hard limits that a generated template must stay within.
pub const MAX_RESOURCES: usize = 500;
pub const MAX_TEMPLATE_BYTES: usize = 1_000_000;
pub const MAX_OUTPUTS: usize = 200;
pub const MAX_PARAMETERS: usize = 200;

/// A logical ID: only `[A-Za-z0-9]`, at most 255 characters.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LogicalId(String);

impl LogicalId {
    /// Joins words into PascalCase: `["Notebook", "data-sci"]` -> `NotebookDataSci`.
    pub fn new<S: AsRef<str>>(parts: &[S]) -> LogicalId {
        let mut id = String::new();
        for part in parts {
            for word in part.as_ref().split(|c: char| !c.is_ascii_alphanumeric()) {
                let mut chars = word.chars();
                if let Some(first) = chars.next() {
                    id.push(first.to_ascii_uppercase());
                    id.extend(chars);
                }
            }
        }
        LogicalId(id)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for LogicalId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retain {
    /// Keep the physical resource when the stack deletes or replaces it.
    Retain,
}

#[derive(Debug, Clone)]
pub struct Resource {
    pub kind: &'static str,
    pub properties: Map<String, Value>,
    pub depends_on: Vec<LogicalId>,
    pub retain: Option<Retain>,
    pub condition: Option<String>,
    pub metadata: Option<Value>,
}

impl Resource {
    pub fn new(kind: &'static str, properties: Value) -> Resource {
        let Value::Object(properties) = properties else {
            panic!("properties of {kind} must be an object")
        };
        Resource {
            kind,
            properties,
            depends_on: Vec::new(),
            retain: None,
            condition: None,
            metadata: None,
        }
    }

    pub fn depends_on(mut self, ids: impl IntoIterator<Item = LogicalId>) -> Self {
        self.depends_on.extend(ids);
        self.depends_on.sort();
        self.depends_on.dedup();
        self
    }

    /// Created only when the template condition `name` holds.
    pub fn condition(mut self, name: &str) -> Self {
        self.condition = Some(name.to_string());
        self
    }

    pub fn retain(mut self) -> Self {
        self.retain = Some(Retain::Retain);
        self
    }

    pub fn metadata(mut self, metadata: Value) -> Self {
        self.metadata = Some(metadata);
        self
    }
}

#[derive(Debug, Clone)]
pub struct Output {
    pub description: String,
    pub value: Value,
}

/// A whole template. Maps are ordered by logical ID, so output order never depends on the
/// order things were added in.
#[derive(Debug, Default, Clone)]
pub struct Template {
    pub description: Option<String>,
    pub metadata: Option<Value>,
    pub parameters: BTreeMap<String, Value>,
    /// Assertions CloudFormation checks before it changes anything.
    pub rules: BTreeMap<String, Value>,
    pub conditions: BTreeMap<String, Value>,
    pub resources: BTreeMap<LogicalId, Resource>,
    pub outputs: BTreeMap<LogicalId, Output>,
}

impl Template {
    /// Adds a resource and returns its ID for references. Adding the same ID twice is a bug in
    /// lowering, caught by the naming checks before lowering runs.
    pub fn add(&mut self, id: LogicalId, resource: Resource) -> LogicalId {
        let previous = self.resources.insert(id.clone(), resource);
        assert!(previous.is_none(), "logical id {id} added twice");
        id
    }

    pub fn output(&mut self, id: LogicalId, description: impl Into<String>, value: Value) {
        self.outputs.insert(
            id,
            Output {
                description: description.into(),
                value,
            },
        );
    }

    /// The template as CloudFormation JSON, keys in the conventional order. Borrowing form, for
    /// callers that still need the template afterwards; the pipeline uses [`Template::into_json`].
    pub fn to_json(&self) -> Value {
        self.clone().into_json()
    }

    /// The template as CloudFormation JSON, keys in the conventional order. Consumes the template
    /// so that properties, metadata and outputs move into the JSON instead of being deep-copied
    /// (the copy was about half of the lowering stage at 100 owners).
    pub fn into_json(self) -> Value {
        let mut top = Map::new();
        top.insert("AWSTemplateFormatVersion".into(), json!("2010-09-09"));
        if let Some(d) = self.description {
            top.insert("Description".into(), Value::String(d));
        }
        if let Some(m) = self.metadata {
            top.insert("Metadata".into(), m);
        }
        if !self.parameters.is_empty() {
            top.insert(
                "Parameters".into(),
                Value::Object(self.parameters.into_iter().collect()),
            );
        }
        if !self.rules.is_empty() {
            top.insert(
                "Rules".into(),
                Value::Object(self.rules.into_iter().collect()),
            );
        }
        if !self.conditions.is_empty() {
            top.insert(
                "Conditions".into(),
                Value::Object(self.conditions.into_iter().collect()),
            );
        }
        let mut resources = Map::new();
        for (id, r) in self.resources {
            let mut m = Map::new();
            m.insert("Type".into(), json!(r.kind));
            if let Some(c) = r.condition {
                m.insert("Condition".into(), Value::String(c));
            }
            if r.retain.is_some() {
                m.insert("DeletionPolicy".into(), json!("Retain"));
                m.insert("UpdateReplacePolicy".into(), json!("Retain"));
            }
            if !r.depends_on.is_empty() {
                let ids: Vec<Value> = r
                    .depends_on
                    .into_iter()
                    .map(|id| Value::String(id.0))
                    .collect();
                m.insert("DependsOn".into(), Value::Array(ids));
            }
            if let Some(md) = r.metadata {
                m.insert("Metadata".into(), md);
            }
            m.insert("Properties".into(), Value::Object(r.properties));
            resources.insert(id.0, Value::Object(m));
        }
        top.insert("Resources".into(), Value::Object(resources));
        if !self.outputs.is_empty() {
            let mut outputs = Map::new();
            for (id, o) in self.outputs {
                let mut m = Map::new();
                m.insert("Description".into(), Value::String(o.description));
                m.insert("Value".into(), o.value);
                outputs.insert(id.0, Value::Object(m));
            }
            top.insert("Outputs".into(), Value::Object(outputs));
        }
        Value::Object(top)
    }
}
