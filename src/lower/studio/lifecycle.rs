//! Built-in Studio lifecycle configurations: one per distinct script, for the domain's default
//! settings and for each user (whose env file names their own security group). Every property
//! of the resource is create-only, so the name carries a hash of the content: a changed script
//! is a new configuration, never an in-place replacement under the same name.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::{GROUP, user_id};
use crate::blueprint::Loaded;
use crate::blueprint::model::PipMirror;
use crate::blueprint::studio::{App, Studio};
use crate::cfn::{LogicalId, Resource, Template, get_att};
use crate::lower::lifecycle::{ScriptFile, content};
use crate::lower::naming::{Names, stable_hash};
use crate::lower::{LowerError, Shared};
use crate::scripts::EnvFacts;
use crate::scripts::studio::{StudioSettings, render};

pub struct Lccs {
    pub domain: BTreeMap<App, LogicalId>,
    pub by_user: BTreeMap<(String, App), LogicalId>,
    pub files: Vec<ScriptFile>,
}

/// `${Id}` / `${Id.Attr}` for a `Ref` / `Fn::GetAtt` value, as `Fn::Sub` writes it.
fn placeholder(v: &Value) -> String {
    match crate::policy::rules::target(v) {
        Some((id, None)) => format!("${{{id}}}"),
        Some((id, Some(attr))) => format!("${{{id}.{attr}}}"),
        None => v.as_str().unwrap_or_default().to_string(),
    }
}

/// The env file's facts; `group` is the user's security group (none at domain level).
fn env_facts(loaded: &Loaded, shared: &Shared, group: Option<&LogicalId>) -> EnvFacts {
    let bp = &loaded.blueprint;
    let subnets: Vec<String> = shared.subnets.iter().map(placeholder).collect();
    let buckets: Vec<&str> = bp.data.buckets.iter().map(|b| b.name.as_str()).collect();
    let mut lines = vec![
        ("NBSYNTH_STACK".into(), bp.name.clone()),
        ("AWS_DEFAULT_REGION".into(), "${AWS::Region}".into()),
        ("NBSYNTH_VPC_ID".into(), placeholder(&shared.vpc)),
        ("NBSYNTH_SUBNET_IDS".into(), subnets.join(",")),
    ];
    if let Some(g) = group {
        lines.push((
            "NBSYNTH_SECURITY_GROUP_ID".into(),
            placeholder(&get_att(g, "GroupId")),
        ));
    }
    lines.push(("NBSYNTH_KMS_KEY_ARN".into(), placeholder(&shared.key_arn)));
    lines.push(("NBSYNTH_BUCKETS".into(), buckets.join(",")));
    EnvFacts { lines }
}

pub fn lower(
    loaded: &Loaded,
    names: &Names,
    t: &mut Template,
    shared: &Shared,
    studio: &Studio,
    compress: bool,
) -> Result<Lccs, LowerError> {
    let bp = &loaded.blueprint;
    let mut out = Lccs {
        domain: BTreeMap::new(),
        by_user: BTreeMap::new(),
        files: Vec::new(),
    };
    let mut scopes: Vec<(Option<usize>, Option<LogicalId>)> = vec![(None, None)];
    scopes.extend(
        studio
            .users
            .iter()
            .enumerate()
            .map(|(i, u)| (Some(i), Some(user_id(&u.user, GROUP)))),
    );
    for (index, group) in scopes {
        let user = index.map(|i| &studio.users[i]);
        let life = bp
            .lifecycle
            .effective(user.and_then(|u| u.lifecycle.as_ref()));
        let env = env_facts(loaded, shared, group.as_ref());
        // The token service of the CodeArtifact mirror is written for notebook instances
        // (systemd, root); a Studio space has neither.
        let pip_mirror = match &life.pip_mirror {
            None => None,
            Some(PipMirror::Url(url)) => Some(url.clone()),
            Some(PipMirror::CodeArtifact { .. }) => {
                return Err(LowerError {
                    message: "a CodeArtifact pip_mirror is not supported for Studio users yet"
                        .into(),
                    pointer: match index {
                        Some(i) => format!("/studio/users/{i}/lifecycle/pip_mirror"),
                        None => "/lifecycle/pip_mirror".into(),
                    },
                    help: Some(
                        "give the Studio users a pip_mirror URL in their own `lifecycle:`".into(),
                    ),
                });
            }
        };
        for app in &studio.apps {
            let script = render(&StudioSettings {
                app: app.app_type(),
                disable_download: life.disable_download && *app == App::Jupyterlab,
                root_access: life.root_access,
                pip_mirror: pip_mirror.clone(),
                env_file: life.env_file.then(|| env.clone()),
                extra_on_start: life.on_start.as_ref().map(|p| loaded.scripts[p].clone()),
            })
            .map_err(|e| LowerError {
                message: format!("cannot render the Studio lifecycle script: {}", e.0),
                pointer: String::new(),
                help: None,
            })?;
            let hash = format!(
                "{:08x}",
                stable_hash(&format!("{}\n{script}", app.app_type())) as u32
            );
            let name = names.lifecycle(&format!("studio-{hash}"));
            let pointer = match index {
                Some(i) => format!("/studio/users/{i}/lifecycle"),
                None => "/lifecycle".into(),
            };
            let encoded = content(&script, &env, compress).map_err(|size| LowerError {
                message: format!(
                    "the Studio lifecycle script is {size} characters after base64; CloudFormation allows {}",
                    crate::lower::lifecycle::MAX_CONTENT_CHARS
                ),
                pointer,
                help: Some("shorten the on_start script".into()),
            })?;
            let id = LogicalId::new(&["StudioLifecycle", &hash]);
            if !t.resources.contains_key(&id) {
                t.add(
                    id.clone(),
                    Resource::new(
                        "AWS::SageMaker::StudioLifecycleConfig",
                        json!({
                            "StudioLifecycleConfigName": name,
                            "StudioLifecycleConfigAppType": app.app_type(),
                            "StudioLifecycleConfigContent": encoded,
                        }),
                    ),
                );
                out.files.push(ScriptFile {
                    file: format!("{name}.studio-{}.sh", app.arn_segment()),
                    text: script,
                });
            }
            match user {
                Some(u) => out.by_user.insert((u.user.clone(), *app), id),
                None => out.domain.insert(*app, id),
            };
        }
    }
    Ok(out)
}
