//! The `studio:` section: its typed model and the checks the schema cannot express (unique
//! users and uids, idle settings CloudFormation can carry, hooks Studio does not have).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::model::{Blueprint, Lifecycle};
use crate::source::{Diagnostic, SourceFile, Spans};

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Studio {
    pub users: Vec<StudioUser>,
    #[serde(default)]
    pub defaults: StudioDefaults,
    #[serde(default = "default_apps")]
    pub apps: Vec<App>,
    #[serde(default)]
    pub home_efs: HomeEfs,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct StudioUser {
    pub user: String,
    pub posix: Option<Posix>,
    pub instance_type: Option<String>,
    pub lifecycle: Option<Lifecycle>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Posix {
    pub uid: u32,
    pub gid: u32,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct StudioDefaults {
    #[serde(default = "default_instance_type")]
    pub instance_type: String,
    #[serde(default = "default_volume_gb")]
    pub volume_gb: u32,
}

impl Default for StudioDefaults {
    fn default() -> Self {
        StudioDefaults {
            instance_type: default_instance_type(),
            volume_gb: default_volume_gb(),
        }
    }
}

fn default_instance_type() -> String {
    "ml.t3.medium".into()
}
fn default_volume_gb() -> u32 {
    5
}
fn default_apps() -> Vec<App> {
    vec![App::Jupyterlab]
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum App {
    Jupyterlab,
    Codeeditor,
}

impl App {
    /// The app type as SageMaker names it (`AppType`, `StudioLifecycleConfigAppType`).
    pub fn app_type(self) -> &'static str {
        match self {
            App::Jupyterlab => "JupyterLab",
            App::Codeeditor => "CodeEditor",
        }
    }

    /// The app type as it appears in app ARNs (`app/<domain>/<space>/<type>/<name>`).
    pub fn arn_segment(self) -> &'static str {
        match self {
            App::Jupyterlab => "jupyterlab",
            App::Codeeditor => "codeeditor",
        }
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum HomeEfs {
    #[default]
    Retain,
    Delete,
}

/// CloudFormation's smallest Studio idle timeout (`IdleTimeoutInMinutes`).
pub const MIN_IDLE_MINUTES: u32 = 60;

/// Studio users, or none when the blueprint has no `studio:`.
pub fn users(bp: &Blueprint) -> &[StudioUser] {
    bp.studio.as_ref().map_or(&[], |s| s.users.as_slice())
}

pub fn check(file: &SourceFile, bp: &Blueprint, spans: &Spans) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let val = |p: &str| spans.value(p);
    if bp.notebooks.instances.is_empty() && users(bp).is_empty() {
        out.push(
            Diagnostic::error(
                "E0240",
                "the blueprint has no notebook owner and no Studio user",
            )
            .at(file, crate::source::Span { start: 0, end: 1 })
            .label("nothing to build")
            .help("add `notebooks.instances` with an owner, or `studio.users` with a user"),
        );
    }
    let Some(studio) = &bp.studio else {
        return out;
    };
    // The users' groups reach the endpoints through the stack's endpoint group and S3 through
    // the generated network's egress rules; neither is modelled for someone else's network yet.
    if bp.network.existing.is_some() {
        out.push(
            Diagnostic::error(
                "E0246",
                "a Studio domain on an existing network is not supported yet",
            )
            .at(file, spans.key("/studio"))
            .label("needs the generated network")
            .help("leave out `network.existing` (the stack creates an isolated VPC), or build the notebooks alone"),
        );
    }
    let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
    let mut uids: BTreeMap<u32, usize> = BTreeMap::new();
    for (i, u) in studio.users.iter().enumerate() {
        let p = format!("/studio/users/{i}");
        if let Some(first) = seen.insert(&u.user, i) {
            out.push(
                Diagnostic::error("E0241", format!("Studio user `{}` is listed twice", u.user))
                    .at(file, val(&format!("{p}/user")))
                    .label("duplicate user")
                    .help(format!(
                        "first listed at studio.users[{first}]; each user gets one profile"
                    )),
            );
        }
        if let Some(posix) = u.posix
            && let Some(first) = uids.insert(posix.uid, i)
        {
            out.push(
                Diagnostic::error("E0242", format!("uid {} is given to two Studio users", posix.uid))
                    .at(file, val(&format!("{p}/posix/uid")))
                    .label("duplicate uid")
                    .help(format!(
                        "studio.users[{first}] (`{}`) has it too; a uid owns files on the shared home file system, so each user needs their own",
                        studio.users[first].user
                    )),
            );
        }
        let effective = bp.lifecycle.effective(u.lifecycle.as_ref());
        if (1..MIN_IDLE_MINUTES).contains(&effective.idle_shutdown) {
            let at = match u.lifecycle.as_ref().and_then(|l| l.idle_shutdown) {
                Some(_) => format!("{p}/lifecycle/idle_shutdown"),
                None => "/lifecycle/idle_shutdown".into(),
            };
            out.push(
                Diagnostic::error(
                    "E0243",
                    format!(
                        "Studio stops idle apps after at least {MIN_IDLE_MINUTES} minutes; `{}` would get {}",
                        u.user, effective.idle_shutdown
                    ),
                )
                .at(file, val(&at))
                .label("below Studio's minimum")
                .help(format!("use 0 (off) or {MIN_IDLE_MINUTES} and more for Studio users")),
            );
        }
        let domain_idle = bp.lifecycle.effective(None).idle_shutdown;
        if let Some(minutes) = u.lifecycle.as_ref().and_then(|l| l.idle_shutdown)
            && minutes != domain_idle
        {
            out.push(
                Diagnostic::error(
                    "E0244",
                    format!("`{}` overrides idle_shutdown, which Studio sets for the whole domain", u.user),
                )
                .at(file, val(&format!("{p}/lifecycle/idle_shutdown")))
                .label("per-user idle time")
                .help(format!(
                    "CloudFormation's UserProfile has no AppLifecycleManagement, so the domain's {domain_idle} minutes apply to every user; set lifecycle.idle_shutdown instead"
                )),
            );
        }
        for key in ["on_create", "source"] {
            let set = u.lifecycle.as_ref().is_some_and(|l| {
                if key == "on_create" {
                    l.on_create.is_some()
                } else {
                    l.source.is_some()
                }
            });
            if set {
                out.push(
                    Diagnostic::error("E0245", format!("`lifecycle.{key}` does not apply to Studio users"))
                        .at(file, val(&format!("{p}/lifecycle/{key}")))
                        .label("not for Studio")
                        .help("a Studio lifecycle configuration has one script, run at every app start, always embedded; use on_start"),
                );
            }
        }
    }
    out
}

/// Endpoints a VPC-only Studio domain cannot work without, with the reason.
pub fn required_endpoints() -> Vec<(&'static str, &'static str)> {
    vec![
        (
            "studio",
            "the Studio domain (VpcOnly: the browser's app traffic)",
        ),
        (
            "sagemaker-api",
            "the Studio domain (presigned URLs, apps, idle shutdown)",
        ),
        ("sagemaker-runtime", "the Studio domain"),
    ]
}
