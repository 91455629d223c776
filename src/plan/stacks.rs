//! A split stack (`stacks:`), compared stack by stack. The deployed side is TEMPLATE and the
//! templates found beside it as `build` wrote them: a root's nested stacks by their local
//! `TemplateURL`, or an independent layout's shards in `<dir>/<name>/stacks/`. The new side is
//! the compiler's split. A resource whose logical id leaves one stack and appears in another is
//! moved: CloudFormation deletes it in the one and creates a new one in the other.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde_json::{Value, json};

use super::cascade::{self, targets};
use super::compare::names_the_resource;
use super::load::{self, Unloadable};
use super::{Action, Change, Plan, data, replacement};
use crate::blueprint::model::Layout;
use crate::split::{self, Part};

/// One stack's template, named as the plan shows it.
#[derive(Debug, Clone)]
pub struct Stack {
    pub name: String,
    pub template: Value,
}

/// The deployed stacks: `root` (loaded from `path`) first, named `name` (the blueprint's, which
/// is its stack name), then its nested stacks (named by their logical ids in the root) or, when
/// it has none, the independent shards beside it (named by their stack names).
pub fn deployed(path: &Path, root: Value, name: &str) -> Result<Vec<Stack>, Unloadable> {
    let dir = path.parent().unwrap_or(Path::new(""));
    let mut stacks = Vec::new();
    let nested: Vec<(String, String)> = root
        .get("Resources")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .filter(|(_, r)| r["Type"] == "AWS::CloudFormation::Stack")
        .filter_map(|(id, r)| {
            let url = r.pointer("/Properties/TemplateURL")?.as_str()?;
            (!url.contains("://")).then(|| (id.clone(), url.to_string()))
        })
        .collect();
    for (id, url) in &nested {
        stacks.push(Stack {
            name: id.clone(),
            template: load::load(&dir.join(url))?,
        });
    }
    if nested.is_empty() {
        for (label, file) in shard_files(dir, name, path) {
            stacks.push(Stack {
                name: split::shard_stack(name, &label),
                template: load::load(&file)?,
            });
        }
    }
    stacks.insert(
        0,
        Stack {
            name: name.to_string(),
            template: root,
        },
    );
    Ok(stacks)
}

/// `<dir>/<name>/stacks/shard-<label>.template.<ext>` by label; where a label has templates in
/// more than one format, the one in the format of `root` (the file given).
fn shard_files(dir: &Path, name: &str, root: &Path) -> BTreeMap<String, std::path::PathBuf> {
    let ext = root.extension().map(|e| e.to_string_lossy().into_owned());
    let mut found: BTreeMap<String, std::path::PathBuf> = BTreeMap::new();
    let Ok(entries) = std::fs::read_dir(dir.join(name).join("stacks")) else {
        return found;
    };
    let mut files: Vec<std::path::PathBuf> = entries.flatten().map(|e| e.path()).collect();
    files.sort();
    for f in files {
        let file_name = f
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let Some((label, _)) = file_name
            .strip_prefix("shard-")
            .and_then(|r| r.split_once(".template."))
        else {
            continue;
        };
        let preferred = f.extension().map(|e| e.to_string_lossy().into_owned()) == ext;
        if preferred || !found.contains_key(label) {
            found.insert(label.to_string(), f.clone());
        }
    }
    found
}

/// The compiled stacks, named as [`deployed`] names them; one stack when not split.
pub fn compiled(name: &str, layout: Option<Layout>, parts: &[Part], whole: &Value) -> Vec<Stack> {
    let Some(layout) = layout.filter(|_| !parts.is_empty()) else {
        return vec![Stack {
            name: name.to_string(),
            template: whole.clone(),
        }];
    };
    parts
        .iter()
        .map(|p| Stack {
            name: match (&p.shard, layout) {
                (None, _) => name.to_string(),
                (Some(l), Layout::Nested) => split::nested_stack_id(l),
                (Some(l), Layout::Independent) => split::shard_stack(name, l),
            },
            template: p.template.clone(),
        })
        .collect()
}

/// CloudFormation does not change an export that another stack imports.
const EXPORT_IN_USE: &str = " (CloudFormation refuses to change an export that another stack imports: the base stack's update fails until no shard imports the old value)";

/// What a shard receives from the root (a nested stack's `Parameters`) or imports from the base
/// (its exports), whose value changes although the shard's text does not: by parameter or export
/// name, with why.
fn passed_down(
    old_root: &Value,
    new_root: &Value,
    replaced: &BTreeSet<String>,
    shard: &str,
) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut judge = |key: &str, old: Option<&Value>, new: &Value, by: &str, note: &str| {
        let mut names = BTreeSet::new();
        targets(new, &mut names);
        if let Some(r) = names.iter().find(|n| replaced.contains(*n)) {
            out.insert(
                key.to_string(),
                format!("is {by}, where {r} is replaced{note}"),
            );
        } else if old.is_some_and(|o| o != new) {
            out.insert(key.to_string(), format!("is {by} with a new value{note}"));
        }
    };
    let params = |t: &Value| {
        t.pointer(&format!("/Resources/{shard}/Properties/Parameters"))
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default()
    };
    let old_params = params(old_root);
    for (p, v) in &params(new_root) {
        judge(p, old_params.get(p), v, "passed down by the root stack", "");
    }
    let exports = |t: &Value| -> BTreeMap<String, Value> {
        t.get("Outputs")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
            .filter_map(|(_, o)| {
                Some((
                    o.pointer("/Export/Name")?.as_str()?.to_string(),
                    o.get("Value")?.clone(),
                ))
            })
            .collect()
    };
    let old_exports = exports(old_root);
    for (e, v) in &exports(new_root) {
        judge(
            e,
            old_exports.get(e),
            v,
            "exported by the base stack",
            EXPORT_IN_USE,
        );
    }
    out
}

/// Compares stack by stack, the root first (each `[0]`): what the root passes down changes the
/// shards' references; then marks the moves.
pub fn compare(old: &[Stack], new: &[Stack]) -> Plan {
    let empty = json!({"Resources": {}});
    let norm = |s: &[Stack]| -> BTreeMap<String, Value> {
        s.iter()
            .map(|x| (x.name.clone(), cascade::normalize(&x.template)))
            .collect()
    };
    let (olds, news) = (norm(old), norm(new));
    let root = new
        .first()
        .or(old.first())
        .map(|s| s.name.clone())
        .unwrap_or_default();
    let (old_root, new_root) = (
        olds.get(&root).unwrap_or(&empty),
        news.get(&root).unwrap_or(&empty),
    );
    let root_plan = cascade::plan(old_root, new_root, &BTreeMap::new());
    let replaced: BTreeSet<String> = root_plan
        .changes
        .iter()
        .filter(|c| c.action == Action::Replace)
        .map(|c| c.logical_id.clone())
        .collect();
    let mut changes = Vec::new();
    let mut errors = root_plan.errors;
    for mut c in root_plan.changes {
        c.stack = Some(root.clone());
        changes.push(c);
    }
    let shards: BTreeSet<&String> = olds
        .keys()
        .chain(news.keys())
        .filter(|n| **n != root)
        .collect();
    for s in shards {
        let outside = passed_down(old_root, new_root, &replaced, s);
        let p = cascade::plan(
            olds.get(s).unwrap_or(&empty),
            news.get(s).unwrap_or(&empty),
            &outside,
        );
        errors.extend(p.errors);
        changes.extend(p.changes.into_iter().map(|mut c| {
            c.stack = Some(s.clone());
            c
        }));
    }
    mark_moves(&mut changes, &olds);
    changes.sort_by(|a, b| (&a.logical_id, &a.stack).cmp(&(&b.logical_id, &b.stack)));
    Plan { changes, errors }
}

/// A logical id removed from one stack and added to another is one resource moved: both rows
/// say so, and a data holder loses its data on both (the new one starts empty).
fn mark_moves(changes: &mut [Change], olds: &BTreeMap<String, Value>) {
    let of = |action: Action, changes: &[Change]| -> BTreeMap<(String, String), String> {
        changes
            .iter()
            .filter(|c| c.action == action)
            .map(|c| {
                (
                    (c.logical_id.clone(), c.resource_type.clone()),
                    c.stack.clone().unwrap_or_default(),
                )
            })
            .collect()
    };
    let (removed, added) = (of(Action::Remove, changes), of(Action::Add, changes));
    for ((id, t), from) in &removed {
        let Some(to) = added.get(&(id.clone(), t.clone())) else {
            continue;
        };
        let holder = data::holder(t);
        let moved = format!(
            "moves from stack {from} to stack {to}: CloudFormation deletes it in {from} and creates a new one in {to}"
        );
        let old = olds
            .get(from)
            .and_then(|s| s.pointer(&format!("/Resources/{id}")));
        let fixed = fixed_name(t, old);
        for c in changes
            .iter_mut()
            .filter(|c| &c.logical_id == id && c.resource_type == *t)
        {
            let here = c.stack.as_deref().unwrap_or_default();
            if !(here == from && c.action == Action::Remove
                || here == to && c.action == Action::Add)
            {
                continue;
            }
            // An add's own reason ("new in the blueprint") would be wrong: the move says it.
            if c.action == Action::Add {
                c.reasons.retain(|r| !r.starts_with("new in the blueprint"));
            }
            c.reasons.insert(0, moved.clone());
            if let Some(f) = &fixed {
                c.reasons.push(f.clone());
            }
            if let Some(h) = holder.filter(|_| c.action == Action::Add) {
                c.data_loss = true;
                c.reasons.push(format!(
                    "data loss: the new one starts empty; nothing moves with it ({})",
                    h.loses
                ));
            }
        }
    }
}

/// A moved resource whose physical name stays the same: the name is still taken in the old
/// stack when the new stack creates it.
fn fixed_name(t: &str, old: Option<&Value>) -> Option<String> {
    replacement::rules(t)
        .create_only
        .iter()
        .filter(|p| p.len() == 1 && names_the_resource(t, &p[0]))
        .find_map(|p| {
            let v = old?.pointer(&format!("/Properties/{}", p[0]))?.as_str()?;
            Some(format!(
                "{} {v} stays the same: the create fails while the old one still holds the name (CloudFormation deletes a removed resource only after the update, and never a retained one), so delete the old one by hand before deploying"
            , p[0]))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stack(name: &str, t: Value) -> Stack {
        Stack {
            name: name.into(),
            template: t,
        }
    }

    #[test]
    fn a_notebook_that_changes_stack_is_removed_and_added_with_data_loss() {
        let nb = json!({"Type": "AWS::SageMaker::NotebookInstance", "Properties": {"NotebookInstanceName": "t-bob", "InstanceType": "ml.t3.medium", "RoleArn": "r"}});
        let old = [
            stack("t", json!({"Resources": {}})),
            stack("Shard00", json!({"Resources": {"BobNotebook": nb}})),
        ];
        let new = [
            stack("t", json!({"Resources": {}})),
            stack("Shard01", json!({"Resources": {"BobNotebook": nb}})),
        ];
        let plan = compare(&old, &new);
        assert_eq!(plan.changes.len(), 2, "{plan:#?}");
        for c in &plan.changes {
            assert!(c.data_loss, "{c:#?}");
            assert!(
                c.reasons[0].contains("moves from stack Shard00 to stack Shard01"),
                "{c:#?}"
            );
            assert!(
                c.reasons
                    .iter()
                    .any(|r| r.contains("NotebookInstanceName t-bob")),
                "{c:#?}"
            );
        }
        assert_eq!(
            plan.changes
                .iter()
                .map(|c| (c.action, c.stack.as_deref().unwrap()))
                .collect::<Vec<_>>(),
            [(Action::Remove, "Shard00"), (Action::Add, "Shard01")]
        );
    }

    #[test]
    fn a_parameter_passed_a_replaced_subnet_replaces_the_shard_s_notebook() {
        let root = |cidr: &str| {
            json!({"Resources": {
                "SubnetA": {"Type": "AWS::EC2::Subnet", "Properties": {"CidrBlock": cidr, "VpcId": "v"}},
                "Shard00": {"Type": "AWS::CloudFormation::Stack", "Properties": {"TemplateURL": "x", "Parameters": {"SubnetA": {"Ref": "SubnetA"}}}}
            }})
        };
        let shard = json!({"Parameters": {"SubnetA": {"Type": "String"}}, "Resources": {"BobNotebook": {"Type": "AWS::SageMaker::NotebookInstance", "Properties": {"SubnetId": {"Ref": "SubnetA"}}}}});
        let old = [
            stack("t", root("10.0.0.0/24")),
            stack("Shard00", shard.clone()),
        ];
        let new = [stack("t", root("10.0.1.0/24")), stack("Shard00", shard)];
        let plan = compare(&old, &new);
        let nb = plan
            .changes
            .iter()
            .find(|c| c.logical_id == "BobNotebook")
            .expect("the notebook changes");
        assert_eq!(
            (nb.action, nb.data_loss),
            (Action::Replace, true),
            "{nb:#?}"
        );
        assert!(
            nb.reasons[0].contains("passed down by the root stack, where SubnetA is replaced"),
            "{nb:#?}"
        );
    }

    #[test]
    fn an_import_of_a_replaced_resource_cascades_into_an_independent_shard() {
        let base = |cidr: &str| {
            json!({"Resources": {"SubnetA": {"Type": "AWS::EC2::Subnet", "Properties": {"CidrBlock": cidr, "VpcId": "v"}}},
                   "Outputs": {"ExportSubnetA": {"Value": {"Ref": "SubnetA"}, "Export": {"Name": "t-SubnetA"}}}})
        };
        let shard = json!({"Resources": {"BobNotebook": {"Type": "AWS::SageMaker::NotebookInstance", "Properties": {"SubnetId": {"Fn::ImportValue": "t-SubnetA"}}}}});
        let old = [
            stack("t", base("10.0.0.0/24")),
            stack("t-shard-00", shard.clone()),
        ];
        let new = [stack("t", base("10.0.1.0/24")), stack("t-shard-00", shard)];
        let plan = compare(&old, &new);
        let nb = plan
            .changes
            .iter()
            .find(|c| c.logical_id == "BobNotebook")
            .expect("the notebook changes");
        assert_eq!(
            (nb.action, nb.data_loss),
            (Action::Replace, true),
            "{nb:#?}"
        );
    }
}
