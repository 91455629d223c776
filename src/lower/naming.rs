//! Names of physical resources and logical IDs, in one place.

use crate::blueprint::Blueprint;
use crate::cfn::LogicalId;

/// Suffixes of per-owner logical IDs. None of them ends another, so `<Owner><Suffix>` is unique.
pub const NOTEBOOK: &str = "Notebook";
pub const ROLE: &str = "Role";
pub const PERMISSIONS: &str = "Permissions";
pub const ACCESS: &str = "Access";
pub const JOB_ROLE: &str = "JobExecution";
pub const JOB_POLICY: &str = "JobPolicy";

pub struct Names {
    pub stack: String,
    has_access: bool,
    has_jobs: bool,
}

impl Names {
    pub fn new(bp: &Blueprint) -> Names {
        Names {
            stack: bp.name.clone(),
            has_access: bp.access.is_some(),
            has_jobs: bp.jobs.is_some(),
        }
    }

    /// The notebook instance's name (and the last part of its ARN).
    pub fn notebook(&self, owner: &str) -> String {
        format!("{}-{owner}", self.stack)
    }

    pub fn code_repository(&self, repo: &str) -> String {
        format!("{}-{repo}", self.stack)
    }

    pub fn lifecycle(&self, tag: &str) -> String {
        format!("{}-{tag}", self.stack)
    }

    pub fn owner_id(&self, owner: &str, suffix: &str) -> LogicalId {
        LogicalId::new(&[owner, suffix])
    }

    /// Every resource that belongs to one owner.
    pub fn owner_ids(&self, owner: &str) -> Vec<LogicalId> {
        let mut ids = vec![
            self.owner_id(owner, NOTEBOOK),
            self.owner_id(owner, ROLE),
            self.owner_id(owner, PERMISSIONS),
        ];
        if self.has_access {
            ids.push(self.owner_id(owner, ACCESS));
        }
        if self.has_jobs {
            ids.push(self.owner_id(owner, JOB_ROLE));
            ids.push(self.owner_id(owner, JOB_POLICY));
        }
        ids.sort();
        ids
    }
}

/// Zone letters for subnet and route table IDs: `SubnetA`, `SubnetB`, ...
pub fn zone_letter(i: usize) -> char {
    (b'A' + i as u8) as char
}

/// FNV-1a: a stable 64-bit hash for content-derived names (std's hasher is not stable).
pub fn stable_hash(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// The blueprint's tags plus `extra` (for example `Name` or `owner`), sorted by key.
pub fn tags(bp: &Blueprint, extra: &[(&str, &str)]) -> serde_json::Value {
    let mut all: std::collections::BTreeMap<&str, &str> = bp
        .tags
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    all.extend(extra.iter().copied());
    all.into_iter()
        .map(|(k, v)| serde_json::json!({"Key": k, "Value": v}))
        .collect()
}
