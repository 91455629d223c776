//! The blueprint as typed data. Defaults here must equal the `default`s of
//! `schemas/blueprint-v1.schema.json` (a test compares them).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Blueprint {
    pub version: u32,
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
    #[serde(default)]
    pub network: Network,
    #[serde(default)]
    pub encryption: Encryption,
    #[serde(default)]
    pub data: Data,
    #[serde(default)]
    pub lifecycle: Lifecycle,
    /// Optional when `studio:` is present (semantic check: at least one owner or user).
    #[serde(default)]
    pub notebooks: Notebooks,
    #[serde(default)]
    pub repositories: BTreeMap<String, Repository>,
    #[serde(default)]
    pub access: Option<Access>,
    #[serde(default)]
    pub guardrails: Guardrails,
    pub jobs: Option<Jobs>,
    pub stacks: Option<Stacks>,
    #[serde(default)]
    pub waivers: Vec<Waiver>,
    #[serde(default)]
    pub studio: Option<super::studio::Studio>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Network {
    #[serde(default = "default_cidr")]
    pub cidr: String,
    #[serde(default = "default_zones")]
    pub zones: u8,
    #[serde(default)]
    pub existing: Option<ExistingNetwork>,
    #[serde(default)]
    pub endpoints: Endpoints,
    #[serde(default = "default_true")]
    pub flow_logs: bool,
}

impl Default for Network {
    fn default() -> Self {
        Network {
            cidr: default_cidr(),
            zones: default_zones(),
            existing: None,
            endpoints: Endpoints::default(),
            flow_logs: true,
        }
    }
}

fn default_true() -> bool {
    true
}

fn default_cidr() -> String {
    "10.0.0.0/16".into()
}
fn default_zones() -> u8 {
    2
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ExistingNetwork {
    pub vpc: String,
    pub subnets: Vec<String>,
    pub route_tables: Vec<String>,
    /// The region's S3 managed prefix list: on someone else's network, HTTPS egress goes only
    /// there (and to the endpoints), never to 0.0.0.0/0.
    pub s3_prefix_list: String,
    #[serde(default)]
    pub endpoints: ExistingEndpoints,
    #[serde(default)]
    pub s3_gateway: S3Gateway,
    /// The security group of the interface endpoints already in the VPC.
    #[serde(default)]
    pub endpoint_security_group: Option<String>,
    /// Blocks the notebooks may reach over HTTPS besides endpoints and S3.
    #[serde(default)]
    pub https_egress: Vec<String>,
}

/// Interface endpoints the VPC already has (private DNS on): the stack creates none of them.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(untagged)]
pub enum ExistingEndpoints {
    /// Every endpoint the features need is there.
    #[serde(with = "existing")]
    All,
    List(Vec<String>),
}

impl Default for ExistingEndpoints {
    fn default() -> Self {
        ExistingEndpoints::List(Vec::new())
    }
}

impl ExistingEndpoints {
    pub fn contains(&self, short: &str) -> bool {
        match self {
            ExistingEndpoints::All => true,
            ExistingEndpoints::List(l) => l.iter().any(|e| e == short),
        }
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum S3Gateway {
    #[default]
    Create,
    Existing,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(untagged)]
pub enum Endpoints {
    #[default]
    #[serde(with = "auto")]
    Auto,
    List(Vec<String>),
}

mod existing {
    use serde::{Deserialize, Deserializer, Serializer, de::Error};

    pub fn serialize<S: Serializer>(s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str("existing")
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<(), D::Error> {
        let s = String::deserialize(d)?;
        if s == "existing" {
            Ok(())
        } else {
            Err(D::Error::custom("expected `existing`"))
        }
    }
}

mod auto {
    use serde::{Deserialize, Deserializer, Serializer, de::Error};

    pub fn serialize<S: Serializer>(s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str("auto")
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<(), D::Error> {
        let s = String::deserialize(d)?;
        if s == "auto" {
            Ok(())
        } else {
            Err(D::Error::custom("expected `auto`"))
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Encryption {
    #[serde(default = "default_kms_key")]
    pub kms_key: String,
}

impl Default for Encryption {
    fn default() -> Self {
        Encryption {
            kms_key: default_kms_key(),
        }
    }
}

fn default_kms_key() -> String {
    "create".into()
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Data {
    #[serde(default)]
    pub buckets: Vec<Bucket>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Bucket {
    pub name: String,
    #[serde(default)]
    pub read: Vec<String>,
    #[serde(default)]
    pub write: Vec<String>,
}

/// Lifecycle keys. Every field is optional so the same type serves the blueprint-wide defaults
/// and the per-owner overrides; [`Lifecycle::effective`] fills in the defaults.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Lifecycle {
    pub disable_download: Option<bool>,
    pub idle_shutdown: Option<u32>,
    pub ignore_connections: Option<bool>,
    pub root_access: Option<bool>,
    pub pip_mirror: Option<PipMirror>,
    /// The PrivateLink endpoint service through which the notebooks reach a pip mirror that is
    /// not an AWS endpoint.
    pub pip_mirror_reachable_through: Option<String>,
    pub env_file: Option<bool>,
    pub on_create: Option<String>,
    pub on_start: Option<String>,
    pub source: Option<String>,
}

/// `lifecycle.pip_mirror`: a package index URL, or a CodeArtifact repository that the stack
/// reaches through its endpoints and reads with a token the instance refreshes itself.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize, Serialize)]
#[serde(untagged)]
pub enum PipMirror {
    Url(String),
    CodeArtifact { codeartifact: CodeArtifact },
}

/// A URL prints as the plain string it was before the object form existed: lifecycle
/// configurations are named by a hash of their settings' Debug text, and must keep their names.
impl std::fmt::Debug for PipMirror {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PipMirror::Url(url) => url.fmt(f),
            PipMirror::CodeArtifact { codeartifact } => codeartifact.fmt(f),
        }
    }
}

impl PipMirror {
    /// Whether pip reaches a CodeArtifact repository (either form): the stack needs its endpoints.
    pub fn uses_codeartifact(&self) -> bool {
        match self {
            PipMirror::Url(url) => url.contains(".codeartifact."),
            PipMirror::CodeArtifact { .. } => true,
        }
    }

    pub fn codeartifact(&self) -> Option<&CodeArtifact> {
        match self {
            PipMirror::CodeArtifact { codeartifact } => Some(codeartifact),
            PipMirror::Url(_) => None,
        }
    }
}

impl Blueprint {
    /// Every `pip_mirror` the blueprint sets: blueprint-wide, then each owner's and Studio user's
    /// override.
    pub fn pip_mirrors(&self) -> impl Iterator<Item = &PipMirror> {
        std::iter::once(self.lifecycle.pip_mirror.as_ref())
            .chain(
                self.notebooks
                    .instances
                    .iter()
                    .map(|i| i.lifecycle.as_ref().and_then(|l| l.pip_mirror.as_ref())),
            )
            .chain(
                super::studio::users(self)
                    .iter()
                    .map(|u| u.lifecycle.as_ref().and_then(|l| l.pip_mirror.as_ref())),
            )
            .flatten()
    }
}

/// A CodeArtifact repository in the stack's region.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct CodeArtifact {
    pub domain: String,
    /// The 12-digit account that owns the domain.
    pub owner: String,
    pub repository: String,
}

/// Lifecycle settings with every default applied.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EffectiveLifecycle {
    pub disable_download: bool,
    pub idle_shutdown: u32,
    pub ignore_connections: bool,
    pub root_access: bool,
    pub pip_mirror: Option<PipMirror>,
    pub env_file: bool,
    pub on_create: Option<String>,
    pub on_start: Option<String>,
    pub source: Source,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Source {
    Embed,
    /// `s3://bucket/prefix/`: bucket and prefix (ending in `/`, or empty).
    S3 {
        bucket: String,
        prefix: String,
    },
}

impl Lifecycle {
    /// `self` overridden by `owner`, defaults applied.
    pub fn effective(&self, owner: Option<&Lifecycle>) -> EffectiveLifecycle {
        let o = owner.cloned().unwrap_or_default();
        let source = self.source.as_deref().unwrap_or("embed");
        EffectiveLifecycle {
            disable_download: o.disable_download.or(self.disable_download).unwrap_or(true),
            idle_shutdown: o.idle_shutdown.or(self.idle_shutdown).unwrap_or(60),
            ignore_connections: o
                .ignore_connections
                .or(self.ignore_connections)
                .unwrap_or(false),
            root_access: o.root_access.or(self.root_access).unwrap_or(false),
            pip_mirror: o.pip_mirror.or_else(|| self.pip_mirror.clone()),
            env_file: o.env_file.or(self.env_file).unwrap_or(true),
            on_create: o.on_create.or_else(|| self.on_create.clone()),
            on_start: o.on_start.or_else(|| self.on_start.clone()),
            source: match source.strip_prefix("s3://") {
                Some(rest) => {
                    let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
                    Source::S3 {
                        bucket: bucket.into(),
                        prefix: prefix.into(),
                    }
                }
                None => Source::Embed,
            },
        }
    }
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Notebooks {
    #[serde(default)]
    pub defaults: NotebookDefaults,
    pub instances: Vec<Instance>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct NotebookDefaults {
    #[serde(default = "default_instance_type")]
    pub instance_type: String,
    #[serde(default = "default_volume_gb")]
    pub volume_gb: u32,
    #[serde(default = "default_platform")]
    pub platform: String,
}

impl Default for NotebookDefaults {
    fn default() -> Self {
        NotebookDefaults {
            instance_type: default_instance_type(),
            volume_gb: default_volume_gb(),
            platform: default_platform(),
        }
    }
}

fn default_instance_type() -> String {
    "ml.t3.medium".into()
}
fn default_volume_gb() -> u32 {
    20
}
fn default_platform() -> String {
    super::platform::DEFAULT.into()
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Instance {
    pub owner: String,
    pub instance_type: Option<String>,
    pub volume_gb: Option<u32>,
    pub platform: Option<String>,
    #[serde(default)]
    pub repositories: Vec<String>,
    pub lifecycle: Option<Lifecycle>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Repository {
    pub url: Option<String>,
    /// A CodeCommit repository of the stack's account and region, by name.
    pub codecommit: Option<String>,
    pub branch: Option<String>,
}

impl Repository {
    /// The clone URL; a repository given by CodeCommit name gets `${AWS::Region}` (for Fn::Sub).
    pub fn clone_url(&self) -> String {
        match (&self.url, &self.codecommit) {
            (Some(url), _) => url.clone(),
            (None, Some(name)) => {
                format!("https://git-codecommit.${{AWS::Region}}.amazonaws.com/v1/repos/{name}")
            }
            (None, None) => String::new(),
        }
    }
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Access {
    #[serde(default)]
    pub source_cidrs: Vec<String>,
    #[serde(default)]
    pub via_vpc_endpoint: bool,
    #[serde(default)]
    pub principals: BTreeMap<String, String>,
}

/// What the preventive guardrails (`out/NAME.guardrails/`) need beyond the stack itself.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Guardrails {
    pub deploy_role: Option<String>,
}

/// SageMaker training and processing jobs launched from the notebooks.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Jobs {
    /// `s3://bucket/.../{owner}/...`: where each owner's jobs write.
    pub output: String,
    #[serde(default)]
    pub network_isolation: bool,
}

impl Jobs {
    /// Bucket and prefix of one owner's job output.
    pub fn output_of(&self, owner: &str) -> (String, String) {
        let rest = self.output.trim_start_matches("s3://");
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        (bucket.into(), prefix.replace("{owner}", owner))
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Waiver {
    pub rule: String,
    pub owner: Option<String>,
    pub reason: String,
}

/// How a stack too large for one template is split (see `src/split`).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Stacks {
    #[serde(default)]
    pub layout: Layout,
    #[serde(default = "default_shards")]
    pub shards: u32,
}

impl Default for Stacks {
    fn default() -> Self {
        Stacks {
            layout: Layout::default(),
            shards: default_shards(),
        }
    }
}

/// A fixed number of hash buckets: owners never move as the team grows, only when this changes.
fn default_shards() -> u32 {
    64
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Layout {
    #[default]
    Nested,
    Independent,
}
