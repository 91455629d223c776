//! Which property changes replace a resource: the `createOnlyProperties` and
//! `conditionalCreateOnlyProperties` of the vendored provider schemas, and how `plan` settles
//! the conditional ones instead of leaving them "Conditional".

use std::collections::HashMap;
use std::sync::LazyLock;

use serde_json::Value;

use crate::policy::schema;

/// A property path below `Properties`, as segments (`["GitConfig", "RepositoryUrl"]`).
pub type Path = Vec<String>;

#[derive(Debug)]
pub struct Rules {
    pub create_only: Vec<Path>,
    pub conditional: Vec<Path>,
    /// False when no schema is vendored for the type: then nothing is known to replace.
    pub known: bool,
}

static RULES: LazyLock<HashMap<&'static str, Rules>> = LazyLock::new(|| {
    schema::vendored()
        .filter_map(|t| {
            let v: Value = serde_json::from_str(schema::provider_schema(t)?).ok()?;
            Some((
                t,
                Rules {
                    create_only: paths(&v, "createOnlyProperties"),
                    conditional: paths(&v, "conditionalCreateOnlyProperties"),
                    known: true,
                },
            ))
        })
        .collect()
});

static UNKNOWN: Rules = Rules {
    create_only: Vec::new(),
    conditional: Vec::new(),
    known: false,
};

/// The replacement rules of a type.
pub fn rules(resource_type: &str) -> &'static Rules {
    RULES.get(resource_type).unwrap_or(&UNKNOWN)
}

fn paths(schema: &Value, key: &str) -> Vec<Path> {
    schema
        .get(key)
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .filter_map(|p| p.strip_prefix("/properties/"))
                .map(|p| p.split('/').map(str::to_string).collect())
                .collect()
        })
        .unwrap_or_default()
}

/// A changed path touches a schema path when one is a prefix of the other: changing
/// `GitConfig` as a whole touches `GitConfig/RepositoryUrl`, and changing `GitConfig/Branch`
/// touches a create-only `GitConfig`. `*` in a schema path matches any one segment.
pub fn touches(changed: &[String], schema_path: &[String]) -> bool {
    changed
        .iter()
        .zip(schema_path)
        .all(|(c, s)| s == "*" || c == s)
}

pub fn display(path: &[String]) -> String {
    path.join("/")
}

/// How a change to a conditional create-only property is settled.
pub enum Settled {
    Replace(String),
    InPlace(String),
}

/// Settles the conditional create-only properties that nbsynth's types have, from their
/// documentation; any other is taken to replace (the safe reading) and says so.
pub fn settle(
    resource_type: &str,
    path: &[String],
    old: Option<&Value>,
    new: Option<&Value>,
) -> Settled {
    let prop = display(path);
    match (resource_type, prop.as_str()) {
        // UpdateDomain changes VpcId only to give a domain created without a VPC one.
        ("AWS::SageMaker::Domain", "VpcId") if old.is_none() && new.is_some() => Settled::InPlace(
            "VpcId added to a domain that had none: UpdateDomain applies it in place".into(),
        ),
        ("AWS::SageMaker::Domain", "VpcId") => Settled::Replace(
            "VpcId changed: UpdateDomain can only add a VPC to a domain created without one, so this replaces".into(),
        ),
        // Only dedicated -> default is an update; every other tenancy change replaces the VPC.
        ("AWS::EC2::VPC", "InstanceTenancy")
            if old.and_then(Value::as_str) == Some("dedicated")
                && new.and_then(Value::as_str).is_none_or(|n| n == "default") =>
        {
            Settled::InPlace("InstanceTenancy dedicated -> default: updated in place".into())
        }
        _ => Settled::Replace(format!(
            "{prop} changed: conditional create-only in the schema (may replace); taken as a replacement"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn p(s: &str) -> Path {
        s.split('/').map(str::to_string).collect()
    }

    #[test]
    fn notebook_create_only_properties_come_from_the_vendored_schema() {
        let r = rules("AWS::SageMaker::NotebookInstance");
        assert!(r.known);
        for name in [
            "PlatformIdentifier",
            "SubnetId",
            "SecurityGroupIds",
            "KmsKeyId",
        ] {
            assert!(r.create_only.contains(&p(name)), "{name}");
        }
        assert!(!r.create_only.contains(&p("InstanceType")));
        assert!(!r.create_only.contains(&p("VolumeSizeInGB")));
        assert!(
            rules("AWS::SageMaker::Domain")
                .conditional
                .contains(&p("VpcId"))
        );
        assert!(!rules("AWS::Made::Up").known);
    }

    #[test]
    fn deep_paths_match_both_ways() {
        assert!(touches(&p("GitConfig"), &p("GitConfig/RepositoryUrl")));
        assert!(touches(
            &p("GitConfig/RepositoryUrl"),
            &p("GitConfig/RepositoryUrl")
        ));
        assert!(!touches(
            &p("GitConfig/SecretArn"),
            &p("GitConfig/RepositoryUrl")
        ));
        assert!(touches(&p("A/x/B"), &p("A/*/B")));
    }

    #[test]
    fn conditional_properties_are_settled() {
        let vpc = json!("vpc-1");
        assert!(matches!(
            settle("AWS::SageMaker::Domain", &p("VpcId"), None, Some(&vpc)),
            Settled::InPlace(_)
        ));
        assert!(matches!(
            settle(
                "AWS::SageMaker::Domain",
                &p("VpcId"),
                Some(&json!("vpc-0")),
                Some(&vpc)
            ),
            Settled::Replace(_)
        ));
        assert!(matches!(
            settle(
                "AWS::EC2::VPC",
                &p("InstanceTenancy"),
                Some(&json!("dedicated")),
                Some(&json!("default"))
            ),
            Settled::InPlace(_)
        ));
        assert!(matches!(
            settle(
                "AWS::EC2::VPC",
                &p("InstanceTenancy"),
                Some(&json!("default")),
                Some(&json!("dedicated"))
            ),
            Settled::Replace(_)
        ));
    }
}
