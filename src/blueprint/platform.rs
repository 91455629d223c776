//! Notebook platforms (`PlatformIdentifier`) and what AWS still allows on each: one table, so the
//! next retirement is one line. The schema's enum lists every identifier of the table (a test
//! checks it), so a retired one passes the schema and is refused here with its reason.

use super::model::Blueprint;
use crate::source::{Diagnostic, SourceFile, Spans};

pub struct Platform {
    pub id: &'static str,
    /// `Some((date, reason))` once AWS no longer creates or starts instances on it.
    pub retired: Option<(&'static str, &'static str)>,
    /// Instance families (`ml.<family>.<size>`) the platform does not run on.
    pub unsupported_families: &'static [&'static str],
}

/// Dates and families from the SageMaker developer guide, pages "Amazon Linux 2 notebook
/// instances" and "AL2023 notebook instances".
pub const PLATFORMS: &[Platform] = &[
    Platform {
        id: "notebook-al1-v1",
        retired: Some((
            "2024-03-31",
            "Amazon Linux 1 notebook instances reached end of life: they can be neither created nor restarted",
        )),
        unsupported_families: &[],
    },
    Platform {
        id: "notebook-al2-v1",
        retired: Some((
            "2026-07-01",
            "Amazon Linux 2 notebook instances can be neither created nor restarted since then (JupyterLab 1 could not be created since 2025-06-30)",
        )),
        unsupported_families: &["p2"],
    },
    Platform {
        id: "notebook-al2-v2",
        retired: Some((
            "2026-07-01",
            "Amazon Linux 2 notebook instances can be neither created nor restarted since then (JupyterLab 3 could not be created since 2025-06-30)",
        )),
        unsupported_families: &["p2"],
    },
    Platform {
        id: "notebook-al2-v3",
        retired: Some((
            "2026-07-01",
            "Amazon Linux 2 notebook instances can be neither created nor restarted since then",
        )),
        unsupported_families: &["p2"],
    },
    Platform {
        id: "notebook-al2023-v1",
        retired: None,
        unsupported_families: &["p2", "p3", "p3dn", "inf1", "g3"],
    },
];

/// The platform new blueprints get: the newest one that is not retired.
pub const DEFAULT: &str = "notebook-al2023-v1";

pub fn find(id: &str) -> Option<&'static Platform> {
    PLATFORMS.iter().find(|p| p.id == id)
}

/// The family of `ml.<family>.<size>`.
fn family(instance_type: &str) -> Option<&str> {
    let mut parts = instance_type.split('.');
    match (parts.next(), parts.next(), parts.next()) {
        (Some("ml"), Some(f), Some(_)) => Some(f),
        _ => None,
    }
}

/// Retired platforms, and instance types the effective platform does not run, at the line and
/// column where each is written.
pub fn check(file: &SourceFile, bp: &Blueprint, spans: &Spans, out: &mut Vec<Diagnostic>) {
    let d = &bp.notebooks.defaults;
    let mut places = vec![("/notebooks/defaults/platform".to_string(), &d.platform)];
    for (i, inst) in bp.notebooks.instances.iter().enumerate() {
        if let Some(p) = &inst.platform {
            places.push((format!("/notebooks/instances/{i}/platform"), p));
        }
    }
    for (pointer, id) in places {
        let Some((date, why)) = find(id).and_then(|p| p.retired) else {
            continue;
        };
        out.push(
            Diagnostic::error("E0230", format!("platform `{id}` was retired by AWS on {date}"))
                .at(file, spans.value(&pointer))
                .label("retired platform")
                .help(why.to_string())
                .help(format!(
                    "use `{DEFAULT}` (Amazon Linux 2023, JupyterLab 4), the default: set it or remove the key"
                )),
        );
    }
    // Each instance type where it is written (an owner's own or the defaults'), once.
    let mut seen = std::collections::BTreeSet::new();
    for (i, inst) in bp.notebooks.instances.iter().enumerate() {
        let platform = inst.platform.as_ref().unwrap_or(&d.platform);
        let (pointer, ty) = match &inst.instance_type {
            Some(t) => (format!("/notebooks/instances/{i}/instance_type"), t),
            None => (
                "/notebooks/defaults/instance_type".to_string(),
                &d.instance_type,
            ),
        };
        let Some(p) = find(platform) else { continue };
        let Some(f) = family(ty).filter(|f| p.unsupported_families.contains(f)) else {
            continue;
        };
        if !seen.insert((pointer.clone(), platform.clone())) {
            continue;
        }
        let families: Vec<String> = p
            .unsupported_families
            .iter()
            .map(|f| format!("ml.{f}"))
            .collect();
        out.push(
            Diagnostic::error(
                "E0231",
                format!("instance type `{ty}` does not run on platform `{platform}`"),
            )
            .at(file, spans.value(&pointer))
            .label(format!("ml.{f} is not supported there"))
            .help(format!(
                "`{platform}` does not support {}; choose another family (for a GPU, ml.g4dn or ml.g5)",
                families.join(", ")
            )),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_is_current_and_every_other_entry_is_known() {
        let default = find(DEFAULT).expect("the default is in the table");
        assert!(default.retired.is_none());
        let mut ids: Vec<&str> = PLATFORMS.iter().map(|p| p.id).collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), PLATFORMS.len(), "each platform once");
        assert_eq!(family("ml.p3dn.24xlarge"), Some("p3dn"));
        assert_eq!(family("t3.medium"), None);
    }

    /// The schema's enum is the table, and its default is [`DEFAULT`], at both places a
    /// platform can be written.
    #[test]
    fn the_schema_lists_the_table() {
        let schema = super::super::schema::schema();
        let mut table: Vec<&str> = PLATFORMS.iter().map(|p| p.id).collect();
        table.sort();
        let defaults =
            &schema["properties"]["notebooks"]["properties"]["defaults"]["properties"]["platform"];
        let instance = &schema["properties"]["notebooks"]["properties"]["instances"]["items"]["properties"]
            ["platform"];
        for node in [defaults, instance] {
            let mut listed: Vec<&str> = node["enum"]
                .as_array()
                .expect("an enum")
                .iter()
                .filter_map(|v| v.as_str())
                .collect();
            listed.sort();
            assert_eq!(listed, table);
        }
        assert_eq!(defaults["default"], DEFAULT);
    }
}
