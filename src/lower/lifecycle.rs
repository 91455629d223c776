//! Lifecycle configurations: one per distinct set of effective lifecycle settings, with the
//! rendered scripts embedded as `Fn::Base64` (of `Fn::Sub` when the env file needs stack
//! values), or, in `source: s3://` mode, a loader that fetches the same scripts at boot.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Value, json};

use super::naming::{Names, stable_hash};
use super::{LowerError, Shared};
use crate::blueprint::Loaded;
use crate::blueprint::model::{EffectiveLifecycle, PipMirror, Source};
use crate::cfn::{LogicalId, Resource, Template, base64, get_att, sub};
use crate::scripts::{self, EnvFacts, Settings};

/// CloudFormation's limit on a lifecycle hook's Content (base64 characters).
pub const MAX_CONTENT_CHARS: usize = 16_384;

/// Placeholders are resolved at deploy time; count each as this many characters when sizing.
const PLACEHOLDER_WORST_CASE: usize = 128;

/// A script as a reviewer (or the S3 upload) sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScriptFile {
    /// File name under `out/<name>/`.
    pub file: String,
    pub text: String,
}

pub struct Lifecycles {
    pub by_owner: BTreeMap<String, LogicalId>,
    pub files: Vec<ScriptFile>,
}

pub fn lower(
    loaded: &Loaded,
    names: &Names,
    t: &mut Template,
    shared: &Shared,
    compress: bool,
) -> Result<Lifecycles, LowerError> {
    let bp = &loaded.blueprint;
    let default = bp.lifecycle.effective(None);
    // Group owners by their effective settings; BTreeMap keeps the groups in a stable order.
    let mut groups: BTreeMap<EffectiveLifecycle, Vec<(usize, String)>> = BTreeMap::new();
    for (i, inst) in bp.notebooks.instances.iter().enumerate() {
        groups
            .entry(bp.lifecycle.effective(inst.lifecycle.as_ref()))
            .or_default()
            .push((i, inst.owner.clone()));
    }
    let env = env_facts(loaded, shared);
    let mut by_owner = BTreeMap::new();
    let mut files = Vec::new();
    for (settings, owners) in groups {
        let tag = if settings == default {
            "default".to_string()
        } else {
            format!("{:08x}", stable_hash(&format!("{settings:?}")) as u32)
        };
        let lcc_name = names.lifecycle(&tag);
        let rendered = scripts::render(&Settings {
            disable_download: settings.disable_download,
            idle_shutdown: settings.idle_shutdown,
            ignore_connections: settings.ignore_connections,
            root_access: settings.root_access,
            pip_mirror: match &settings.pip_mirror {
                Some(PipMirror::Url(url)) => Some(url.clone()),
                _ => None,
            },
            codeartifact: settings
                .pip_mirror
                .as_ref()
                .and_then(PipMirror::codeartifact)
                .cloned(),
            env_file: settings.env_file.then(|| env.clone()),
            extra_on_create: settings
                .on_create
                .as_ref()
                .map(|p| loaded.scripts[p].clone()),
            extra_on_start: settings
                .on_start
                .as_ref()
                .map(|p| loaded.scripts[p].clone()),
        })
        .map_err(|e| LowerError {
            message: format!(
                "cannot render the lifecycle scripts of {}: {}",
                describe(&owners),
                e.0
            ),
            pointer: String::new(),
            help: None,
        })?;
        let mut props = serde_json::Map::new();
        props.insert(
            "NotebookInstanceLifecycleConfigName".into(),
            json!(lcc_name),
        );
        let hooks = [
            ("OnCreate", "on-create", rendered.on_create),
            ("OnStart", "on-start", Some(rendered.on_start)),
        ];
        for (key, hook, script) in hooks {
            let Some(script) = script else { continue };
            let file = format!("{lcc_name}.{hook}.sh");
            let embedded = match &settings.source {
                Source::Embed => script.clone(),
                Source::S3 { bucket, prefix } => {
                    scripts::s3_loader(&format!("s3://{bucket}/{prefix}"), &file)
                }
            };
            let content = content(&embedded, &env, compress).map_err(|size| LowerError {
                message: format!(
                    "the {hook} lifecycle script of {} is {size} characters after base64; CloudFormation allows {MAX_CONTENT_CHARS}",
                    describe(&owners)
                ),
                pointer: script_pointer(&owners, hook, bp),
                help: Some("even compressed it does not fit; shorten the extra script, or use `lifecycle.source: s3://bucket/prefix/` to fetch the scripts at boot".into()),
            })?;
            props.insert(key.into(), json!([{"Content": content}]));
            files.push(ScriptFile { file, text: script });
        }
        let id = t.add(
            LogicalId::new(&["Lifecycle", &tag]),
            Resource::new(
                "AWS::SageMaker::NotebookInstanceLifecycleConfig",
                Value::Object(props),
            ),
        );
        for (_, owner) in owners {
            by_owner.insert(owner, id.clone());
        }
    }
    Ok(Lifecycles { by_owner, files })
}

fn describe(owners: &[(usize, String)]) -> String {
    let names: Vec<&str> = owners.iter().map(|(_, o)| o.as_str()).collect();
    match names.as_slice() {
        [one] => format!("owner `{one}`"),
        many => format!(
            "owners {}",
            many.iter()
                .map(|o| format!("`{o}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

fn script_pointer(
    owners: &[(usize, String)],
    hook: &str,
    bp: &crate::blueprint::Blueprint,
) -> String {
    let key = if hook == "on-create" {
        "on_create"
    } else {
        "on_start"
    };
    for (i, _) in owners {
        if bp.notebooks.instances[*i]
            .lifecycle
            .as_ref()
            .is_some_and(|l| {
                if key == "on_create" {
                    l.on_create.is_some()
                } else {
                    l.on_start.is_some()
                }
            })
        {
            return format!("/notebooks/instances/{i}/lifecycle/{key}");
        }
    }
    format!("/lifecycle/{key}")
}

/// The hook's Content: `Fn::Base64` of the script, through `Fn::Sub` when it carries stack
/// values. In the Sub form every `${` of the script is escaped as `${!` except the env
/// placeholders. A script over the limit (or any, with `always_compress`) is compressed
/// (placeholders kept outside the payload);
/// errs with the worst-case size when even that does not fit.
pub(crate) fn content(script: &str, env: &EnvFacts, always_compress: bool) -> Result<Value, usize> {
    let placeholders: BTreeSet<&str> = env
        .lines
        .iter()
        .flat_map(|(_, v)| placeholder_tokens(v))
        .filter(|p| script.contains(p))
        .collect();
    let worst_case = |text: &str| -> usize {
        let resolved: usize = placeholders
            .iter()
            .map(|p| text.matches(p).count() * PLACEHOLDER_WORST_CASE.saturating_sub(p.len()))
            .sum();
        (text.len() + resolved).div_ceil(3) * 4
    };
    let mut text = script.to_string();
    let too_large = worst_case(&text) > MAX_CONTENT_CHARS;
    if always_compress || too_large {
        let keep: Vec<&str> = placeholders.iter().copied().collect();
        let packed = scripts::compress(script, &keep);
        // A short hook grows when compressed: keep it as it is unless it must shrink.
        if too_large || packed.len() < text.len() {
            text = packed;
        }
        if worst_case(&text) > MAX_CONTENT_CHARS {
            return Err(worst_case(&text));
        }
    }
    if placeholders.is_empty() {
        return Ok(base64(json!(text)));
    }
    let mut escaped = text.replace("${", "${!");
    for p in &placeholders {
        escaped = escaped.replace(&p.replacen("${", "${!", 1), p);
    }
    Ok(base64(sub(escaped)))
}

/// The `${...}` tokens of an env value, as written.
fn placeholder_tokens(v: &str) -> Vec<&str> {
    v.match_indices("${")
        .filter_map(|(i, _)| v[i..].find('}').map(|j| &v[i..i + j + 1]))
        .collect()
}

/// The facts a user needs to launch jobs in the same network, as stack values.
fn env_facts(loaded: &Loaded, shared: &Shared) -> EnvFacts {
    let bp = &loaded.blueprint;
    let placeholder = |v: &Value| -> String {
        match v {
            Value::String(s) => s.clone(),
            Value::Object(m) => match (m.get("Ref"), m.get("Fn::GetAtt")) {
                (Some(Value::String(id)), _) => format!("${{{id}}}"),
                (_, Some(Value::Array(a))) => format!(
                    "${{{}.{}}}",
                    a[0].as_str().unwrap_or_default(),
                    a[1].as_str().unwrap_or_default()
                ),
                _ => String::new(),
            },
            _ => String::new(),
        }
    };
    let subnets: Vec<String> = shared.subnets.iter().map(placeholder).collect();
    let sg = shared
        .notebook_sg
        .as_ref()
        .map(|id| placeholder(&get_att(id, "GroupId")))
        .unwrap_or_default();
    let buckets: Vec<&str> = bp.data.buckets.iter().map(|b| b.name.as_str()).collect();
    let mut lines = vec![
        ("NBSYNTH_STACK".into(), bp.name.clone()),
        ("AWS_DEFAULT_REGION".into(), "${AWS::Region}".into()),
        ("NBSYNTH_VPC_ID".into(), placeholder(&shared.vpc)),
        ("NBSYNTH_SUBNET_IDS".into(), subnets.join(",")),
        ("NBSYNTH_SECURITY_GROUP_ID".into(), sg),
        ("NBSYNTH_KMS_KEY_ARN".into(), placeholder(&shared.key_arn)),
        ("NBSYNTH_BUCKETS".into(), buckets.join(",")),
    ];
    if let Some(jobs) = &bp.jobs {
        // What a job request must name; each owner passes the role listed under their name.
        // Sorted by owner, so reordering the blueprint's owners changes nothing.
        let owners: std::collections::BTreeSet<&str> = bp
            .notebooks
            .instances
            .iter()
            .map(|i| i.owner.as_str())
            .collect();
        let roles: Vec<String> = owners
            .into_iter()
            .map(|owner| {
                let id = LogicalId::new(&[owner, super::naming::JOB_ROLE]);
                format!("{owner}=${{{id}.Arn}}")
            })
            .collect();
        lines.push(("NBSYNTH_JOB_ROLES".into(), roles.join(",")));
        lines.push(("NBSYNTH_JOB_OUTPUT".into(), jobs.output.clone()));
        lines.push((
            "NBSYNTH_JOB_NETWORK_ISOLATION".into(),
            jobs.network_isolation.to_string(),
        ));
    }
    EnvFacts { lines }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env() -> EnvFacts {
        EnvFacts {
            lines: vec![
                ("NBSYNTH_VPC_ID".into(), "${Vpc}".into()),
                (
                    "NBSYNTH_SECURITY_GROUP_ID".into(),
                    "${NotebookSecurityGroup.GroupId}".into(),
                ),
                ("NBSYNTH_STACK".into(), "demo".into()),
            ],
        }
    }

    #[test]
    fn bash_expansions_are_escaped_and_stack_values_substituted() {
        let script = "#!/bin/bash\necho \"${HOME}\" ${#x[@]}\ncat <<'EOF'\nNBSYNTH_VPC_ID=${Vpc}\nNBSYNTH_SECURITY_GROUP_ID=${NotebookSecurityGroup.GroupId}\nEOF\n";
        let v = content(script, &env(), false).unwrap();
        let sub = v["Fn::Base64"]["Fn::Sub"].as_str().unwrap();
        assert!(sub.contains("echo \"${!HOME}\" ${!#x[@]}"), "{sub}");
        assert!(sub.contains("NBSYNTH_VPC_ID=${Vpc}\n"), "{sub}");
        assert!(sub.contains("=${NotebookSecurityGroup.GroupId}\n"), "{sub}");
        let vars: Vec<&str> = crate::cfn::refs::sub_variables(sub).collect();
        assert_eq!(vars, vec!["Vpc", "NotebookSecurityGroup"]);
    }

    #[test]
    fn a_script_without_stack_values_is_embedded_as_it_is() {
        let v = content("#!/bin/bash\necho ${HOME}\n", &env(), false).unwrap();
        assert_eq!(
            v["Fn::Base64"].as_str(),
            Some("#!/bin/bash\necho ${HOME}\n")
        );
    }

    #[test]
    fn an_oversized_script_is_compressed_with_stack_values_kept_outside() {
        // Fits as written, but not once ${Vpc} resolves at its worst case: compressed.
        let filler = "echo padding padding padding\n".repeat(12_200 / 29);
        let script = format!("#!/bin/bash\n{filler}cat <<'EOF'\nNBSYNTH_VPC_ID=${{Vpc}}\nEOF\n");
        assert!(script.len().div_ceil(3) * 4 <= MAX_CONTENT_CHARS);
        let v = content(&script, &env(), false).unwrap();
        let sub = v["Fn::Base64"]["Fn::Sub"].as_str().unwrap();
        assert!(
            sub.len() < script.len() / 4,
            "compressed: {} bytes",
            sub.len()
        );
        assert!(
            sub.contains("sed -i 's|@NBSYNTH_VALUE_0@|${Vpc}|g'"),
            "{sub}"
        );
        assert_eq!(
            crate::cfn::refs::sub_variables(sub).collect::<Vec<_>>(),
            vec!["Vpc"]
        );
    }

    #[test]
    fn a_script_that_does_not_fit_even_compressed_is_refused() {
        // Incompressible: distinct pseudo-random lines.
        let mut x: u64 = 1;
        let lines: String = (0..2500)
            .map(|_| {
                x = x
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                format!("echo {x:016x}{:016x}\n", x.rotate_left(17))
            })
            .collect();
        assert!(content(&format!("#!/bin/bash\n{lines}"), &env(), false).is_err());
    }
}
