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
    pub notebooks: Notebooks,
    #[serde(default)]
    pub repositories: BTreeMap<String, Repository>,
    #[serde(default)]
    pub access: Option<Access>,
    #[serde(default)]
    pub stacks: Option<Stacks>,
    #[serde(default)]
    pub waivers: Vec<Waiver>,
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
}

impl Default for Network {
    fn default() -> Self {
        Network {
            cidr: default_cidr(),
            zones: default_zones(),
            existing: None,
            endpoints: Endpoints::default(),
        }
    }
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
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(untagged)]
pub enum Endpoints {
    #[default]
    #[serde(with = "auto")]
    Auto,
    List(Vec<String>),
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
    pub pip_mirror: Option<String>,
    pub env_file: Option<bool>,
    pub on_create: Option<String>,
    pub on_start: Option<String>,
    pub source: Option<String>,
}

/// Lifecycle settings with every default applied.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EffectiveLifecycle {
    pub disable_download: bool,
    pub idle_shutdown: u32,
    pub ignore_connections: bool,
    pub root_access: bool,
    pub pip_mirror: Option<String>,
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

#[derive(Debug, Clone, Deserialize, Serialize)]
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
    pub url: String,
    pub branch: Option<String>,
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
