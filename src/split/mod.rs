//! The split stage, between lowering and emitting: a blueprint with `stacks:` becomes a root
//! (or base) template with the shared resources and one template per non-empty shard of owners.
//! See the README section "Scale" for the design and the quotas it is checked against.

pub mod assignment;
pub mod quotas;
mod shards;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::blueprint::model::{Layout, Stacks};
use crate::cfn::LogicalId;
pub use shards::{Part, export_name};

/// Splits the whole lowered template. `root_path` is the root template's path relative to the
/// output directory; shards go to `<name>/stacks/shard-<NN>.template.<ext>` beside it.
pub fn split(
    template: &Value,
    name: &str,
    stacks: &Stacks,
    owner_resources: &BTreeMap<String, Vec<LogicalId>>,
    owner_outputs: &BTreeMap<String, Vec<LogicalId>>,
    extension: &str,
) -> Vec<Part> {
    let ids = |m: &'_ BTreeMap<String, Vec<LogicalId>>| -> BTreeMap<String, Vec<String>> {
        m.iter()
            .map(|(o, v)| {
                (
                    o.clone(),
                    v.iter().map(|i| i.as_str().to_string()).collect(),
                )
            })
            .collect()
    };
    let (res, outs) = (ids(owner_resources), ids(owner_outputs));
    let input = shards::Input {
        template,
        name,
        layout: stacks.layout,
        shards: stacks.shards,
        owner_resources: res
            .iter()
            .map(|(o, v)| (o.as_str(), v.iter().map(String::as_str).collect()))
            .collect(),
        owner_outputs: outs
            .iter()
            .map(|(o, v)| (o.as_str(), v.iter().map(String::as_str).collect()))
            .collect(),
    };
    shards::split(
        &input,
        |label| shard_path(name, label, extension),
        &format!("{name}.template.{extension}"),
    )
}

pub fn shard_path(name: &str, label: &str, extension: &str) -> String {
    format!("{name}/stacks/shard-{label}.template.{extension}")
}

/// The logical id of a shard's nested stack in the root (nested layout).
pub fn nested_stack_id(label: &str) -> String {
    format!("Shard{label}")
}

/// The stack name of a shard in the independent layout.
pub fn shard_stack(name: &str, label: &str) -> String {
    format!("{name}-shard-{label}")
}

/// The commands that deploy a split stack, in order (`BUCKET`: an S3 bucket for templates).
pub fn deploy_commands(name: &str, layout: Layout, parts: &[Part], out_dir: &Path) -> Vec<String> {
    let file = |p: &Part| out_dir.join(&p.path).display().to_string();
    match layout {
        Layout::Nested => vec![
            format!(
                "aws cloudformation package --template-file {} --s3-bucket BUCKET --output-template-file {name}.packaged.yaml",
                file(&parts[0])
            ),
            format!(
                "aws cloudformation deploy --template-file {name}.packaged.yaml --stack-name {name} --s3-bucket BUCKET --capabilities CAPABILITY_IAM"
            ),
        ],
        Layout::Independent => parts
            .iter()
            .map(|p| {
                let stack = p
                    .shard
                    .as_deref()
                    .map_or_else(|| name.to_string(), |s| shard_stack(name, s));
                format!(
                    "aws cloudformation deploy --template-file {} --stack-name {stack} --s3-bucket BUCKET --capabilities CAPABILITY_IAM",
                    file(p)
                )
            })
            .collect(),
    }
}

/// The local templates a template's nested stacks name (`TemplateURL` a relative path, as
/// `nbsynth build` writes them before `aws cloudformation package`), resolved against `dir`.
pub fn local_children(template: &Value, dir: &Path) -> Vec<PathBuf> {
    let Some(resources) = template.get("Resources").and_then(Value::as_object) else {
        return Vec::new();
    };
    resources
        .values()
        .filter(|r| r["Type"] == "AWS::CloudFormation::Stack")
        .filter_map(|r| r.pointer("/Properties/TemplateURL").and_then(Value::as_str))
        .filter(|u| !u.contains("://"))
        .map(|u| dir.join(u))
        .collect()
}
