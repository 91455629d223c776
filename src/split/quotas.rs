//! CloudFormation's quotas ("Understand CloudFormation quotas"), checked on every template of a
//! split stack and on the whole hierarchy before anything is written.

use crate::blueprint::model::Layout;
use crate::cfn;

/// Resources one operation may create, update or delete across a nested-stack hierarchy.
pub const MAX_PER_OPERATION: usize = 2_500;
/// Stacks per account and Region (adjustable): an independent layout is one stack per shard.
pub const MAX_STACKS: usize = 2_000;

/// The counts of one emitted template.
#[derive(Debug, Clone)]
pub struct Counts {
    pub path: String,
    pub shard: Option<String>,
    pub owners: usize,
    pub resources: usize,
    pub parameters: usize,
    pub outputs: usize,
    pub bytes: usize,
}

impl Counts {
    pub fn of(
        path: &str,
        shard: Option<String>,
        owners: usize,
        template: &serde_json::Value,
        text: &str,
    ) -> Counts {
        let n = |k: &str| {
            template
                .get(k)
                .and_then(|v| v.as_object())
                .map_or(0, |m| m.len())
        };
        Counts {
            path: path.to_string(),
            shard,
            owners,
            resources: n("Resources"),
            parameters: n("Parameters"),
            outputs: n("Outputs"),
            bytes: text.len(),
        }
    }
}

/// A quota a template or the hierarchy would exceed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exceeded {
    pub message: String,
    pub help: String,
}

/// Every quota every template and the hierarchy would exceed (all at once).
pub fn check(all: &[Counts], layout: Layout) -> Vec<Exceeded> {
    let mut out = Vec::new();
    for c in all {
        let which = match &c.shard {
            Some(s) => format!("shard {s} ({}, {} owners)", c.path, c.owners),
            None => format!("the {} template ({})", root_word(layout), c.path),
        };
        let help = match &c.shard {
            Some(_) => "raise `stacks.shards` so that fewer owners share a shard; that moves most owners to another shard, and a move deletes and re-creates the notebook and its volume (`nbsynth plan` lists every move): back up first, or split the team over several blueprints".to_string(),
            None if layout == Layout::Nested => "lower `stacks.shards` (fewer nested stacks in the root) or use `stacks.layout: independent`".to_string(),
            None => "the shared resources grew with the team: the S3 gateway endpoint policy lists each owner's own prefix (`{owner}` in `data.buckets[].write`); use a shared prefix, or split the team over several blueprints".to_string(),
        };
        for (what, count, max) in [
            ("resources", c.resources, cfn::MAX_RESOURCES),
            ("parameters", c.parameters, cfn::MAX_PARAMETERS),
            ("outputs", c.outputs, cfn::MAX_OUTPUTS),
            ("bytes", c.bytes, cfn::MAX_TEMPLATE_BYTES),
        ] {
            if count > max {
                out.push(Exceeded {
                    message: format!("{which} would have {count} {what}; CloudFormation allows {max} per template"),
                    help: help.clone(),
                });
            }
        }
    }
    match layout {
        Layout::Nested => {
            // The nested-stack resources count too: they are created in the same operation.
            let total: usize = all.iter().map(|c| c.resources).sum();
            if total > MAX_PER_OPERATION {
                out.push(Exceeded {
                    message: format!("the nested-stack hierarchy would create {total} resources in one operation; CloudFormation allows {MAX_PER_OPERATION}"),
                    help: "use `stacks.layout: independent`: each shard is then its own stack and its own operation (changing the layout moves every owner: do it before the first deployment)".into(),
                });
            }
        }
        Layout::Independent => {
            if all.len() > MAX_STACKS {
                out.push(Exceeded {
                    message: format!("the layout would need {} stacks; CloudFormation allows {MAX_STACKS} per account and Region by default", all.len()),
                    help: "lower `stacks.shards`, or ask AWS to raise the stack quota".into(),
                });
            }
        }
    }
    out
}

pub fn root_word(layout: Layout) -> &'static str {
    match layout {
        Layout::Nested => "root",
        Layout::Independent => "base",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counts(shard: Option<&str>, resources: usize) -> Counts {
        Counts {
            path: "x.template.yaml".into(),
            shard: shard.map(String::from),
            owners: resources / 3,
            resources,
            parameters: 5,
            outputs: 5,
            bytes: 10_000,
        }
    }

    #[test]
    fn a_full_shard_is_named_with_its_count_and_the_limit() {
        let e = check(
            &[counts(None, 40), counts(Some("07"), 501)],
            Layout::Independent,
        );
        assert_eq!(e.len(), 1);
        assert!(
            e[0].message.contains("shard 07")
                && e[0].message.contains("501 resources")
                && e[0].message.contains("500"),
            "{e:?}"
        );
        assert!(e[0].help.contains("stacks.shards"));
    }

    #[test]
    fn the_hierarchy_is_capped_per_operation_when_nested_only() {
        let parts: Vec<Counts> = std::iter::once(counts(None, 100))
            .chain((0..6).map(|_| counts(Some("01"), 450)))
            .collect();
        let nested = check(&parts, Layout::Nested);
        assert!(
            nested
                .iter()
                .any(|e| e.message.contains("2800 resources in one operation")),
            "{nested:?}"
        );
        assert!(check(&parts, Layout::Independent).is_empty());
    }
}
