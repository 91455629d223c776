//! `nbsynth plan`: what deploying a blueprint does to the stack a template describes, resource
//! by resource, and which changes destroy a user's data.
//!
//! - [`load`]: the deployed template (YAML with short forms, JSON, or `get-template` output)
//! - [`replacement`]: create-only knowledge from the vendored provider schemas
//! - [`compare`]: one resource's old and new definitions -> add / modify / replace / remove
//! - [`cascade`]: references, so that replacing a subnet replaces the notebooks in it
//! - [`data`]: the data-holding types and what losing one means
//! - [`protect`]: what `build` emits against data loss (Retain policies, the stack policy)
//! - [`render`]: text, markdown (for a pull-request comment), JSON
//! - [`stacks`]: a split stack, compared stack by stack; an owner that changes stack is moved

pub mod cascade;
pub mod compare;
pub mod data;
pub mod load;
pub mod protect;
pub mod render;
pub mod replacement;
pub mod stacks;

use serde_json::Value;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Action {
    Add,
    Modify,
    Replace,
    Remove,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Add => "add",
            Action::Modify => "modify",
            Action::Replace => "replace",
            Action::Remove => "remove",
        }
    }
}

/// What happens to one resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub logical_id: String,
    pub resource_type: String,
    pub action: Action,
    pub data_loss: bool,
    pub interruption: bool,
    pub reasons: Vec<String>,
    /// Changed property paths (`GitConfig/RepositoryUrl`) and resource attributes
    /// (`DeletionPolicy`, `Metadata`).
    pub properties: Vec<String>,
    /// The stack it is in, when the stack is split (`stacks:`): the root or base stack's name,
    /// a nested stack's logical id in the root, or an independent shard's stack name.
    pub stack: Option<String>,
}

/// The whole comparison.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// Sorted by logical id.
    pub changes: Vec<Change>,
    /// Changes that cannot be deployed at all (a notebook volume made smaller).
    pub errors: Vec<String>,
}

/// The verdict, which is also the exit status of `nbsynth plan`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    NoChange,
    Changes,
    DataLoss,
    Undeployable,
}

impl Verdict {
    pub fn code(self) -> u8 {
        match self {
            Verdict::NoChange => 0,
            Verdict::Undeployable => 2,
            Verdict::Changes => 3,
            Verdict::DataLoss => 4,
        }
    }
}

impl Plan {
    pub fn verdict(&self) -> Verdict {
        if !self.errors.is_empty() {
            Verdict::Undeployable
        } else if self.changes.iter().any(|c| c.data_loss) {
            Verdict::DataLoss
        } else if self.changes.is_empty() {
            Verdict::NoChange
        } else {
            Verdict::Changes
        }
    }

    pub fn count(&self, action: Action) -> usize {
        self.changes.iter().filter(|c| c.action == action).count()
    }
}

/// Compares the deployed template `old` with the template the blueprint compiles to, `new`.
pub fn compare(old: &Value, new: &Value) -> Plan {
    let old = cascade::normalize(old);
    let new = cascade::normalize(new);
    cascade::plan(&old, &new, &Default::default())
}
