//! The one table of rules. Every rule, whatever runs it, has an id, a family, a one-line summary
//! and docs (`schemas/rules/<family>/<ID>.md`, fixed sections) and PASS/FAIL fixtures
//! (`schemas/rules/<family>/<ID>-tests.yaml`); the tests in this file fail when one is missing.

use std::sync::LazyLock;

use super::rules::{self, RustRule};

/// What evaluates a rule.
#[derive(Clone, Copy)]
pub enum Engine {
    /// A cfn-guard rule file (its text).
    Guard(&'static str),
    /// A check written in Rust (for what guard cannot express).
    Rust(RustRule),
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl Engine {
    pub fn name(&self) -> &'static str {
        match self {
            Engine::Guard(_) => "cfn-guard",
            Engine::Rust(_) => "rust",
        }
    }
}

/// A rule as `nbsynth rules` and `nbsynth explain` show it.
#[derive(Debug)]
pub struct RuleDoc {
    pub id: &'static str,
    /// The folder under `schemas/rules/` (notebook, lifecycle, network, ...).
    pub family: &'static str,
    pub summary: &'static str,
    /// The whole Markdown page.
    pub docs: &'static str,
    pub engine: Engine,
    /// The resource types the rule judges; empty means every resource.
    pub types: Vec<&'static str>,
    /// The PASS/FAIL/SKIP cases (`-tests.yaml`, cfn-guard's test format), embedded so a
    /// missing file fails the build.
    pub fixtures: &'static str,
}

impl RuleDoc {
    /// Where the rule's files live, relative to the repository root.
    pub fn path(&self, suffix: &str) -> String {
        format!("schemas/rules/{}/{}{}", self.family, self.id, suffix)
    }

    pub fn applies_to(&self, resource_type: &str) -> bool {
        self.types.is_empty() || self.types.contains(&resource_type)
    }
}

struct Def {
    id: &'static str,
    family: &'static str,
    docs: &'static str,
    engine: Engine,
    types: &'static [&'static str],
    fixtures: &'static str,
}

macro_rules! guard {
    ($family:literal, $id:literal) => {
        Def {
            id: $id,
            family: $family,
            docs: include_str!(concat!("../../schemas/rules/", $family, "/", $id, ".md")),
            engine: Engine::Guard(include_str!(concat!(
                "../../schemas/rules/",
                $family,
                "/",
                $id,
                ".guard"
            ))),
            types: &[],
            fixtures: include_str!(concat!(
                "../../schemas/rules/",
                $family,
                "/",
                $id,
                "-tests.yaml"
            )),
        }
    };
}

macro_rules! rust {
    ($family:literal, $id:literal, $f:path, [$($t:literal),*]) => {
        Def {
            id: $id,
            family: $family,
            docs: include_str!(concat!("../../schemas/rules/", $family, "/", $id, ".md")),
            engine: Engine::Rust($f),
            types: &[$($t),*],
            fixtures: include_str!(concat!("../../schemas/rules/", $family, "/", $id, "-tests.yaml")),
        }
    };
}

/// The registry, in the order reports list rules.
fn table() -> Vec<Def> {
    vec![
        guard!("notebook", "NOTEBOOK_DIRECT_INTERNET_DISABLED"),
        guard!("notebook", "NOTEBOOK_ROOT_ACCESS_DISABLED"),
        guard!("notebook", "NOTEBOOK_KMS_ENCRYPTED"),
        guard!("notebook", "NOTEBOOK_IN_VPC"),
        guard!("notebook", "NOTEBOOK_IMDSV2"),
        rust!(
            "notebook",
            "NOTEBOOK_LIFECYCLE_BY_NAME",
            rules::notebook::lifecycle_by_name,
            ["AWS::SageMaker::NotebookInstance"]
        ),
        rust!(
            "notebook",
            "NOTEBOOK_CODE_REPOSITORY_BY_NAME",
            rules::notebook::code_repository_by_name,
            ["AWS::SageMaker::NotebookInstance"]
        ),
        rust!(
            "lifecycle",
            "LIFECYCLE_CONTENT_BASE64",
            rules::lifecycle::content_base64,
            ["AWS::SageMaker::NotebookInstanceLifecycleConfig"]
        ),
        rust!(
            "lifecycle",
            "LIFECYCLE_CONTENT_SIZE",
            rules::lifecycle::content_size,
            ["AWS::SageMaker::NotebookInstanceLifecycleConfig"]
        ),
        rust!(
            "lifecycle",
            "LIFECYCLE_SCRIPT_LINE_ENDINGS",
            rules::lifecycle::line_endings,
            ["AWS::SageMaker::NotebookInstanceLifecycleConfig"]
        ),
        rust!(
            "network",
            "NETWORK_NO_INTERNET_GATEWAY",
            rules::network::no_internet_gateway,
            [
                "AWS::EC2::VPC",
                "AWS::EC2::InternetGateway",
                "AWS::EC2::NatGateway",
                "AWS::EC2::EgressOnlyInternetGateway"
            ]
        ),
        guard!("network", "NETWORK_NO_DEFAULT_ROUTE"),
        guard!("network", "NETWORK_SUBNET_NO_PUBLIC_IP"),
        rust!(
            "network",
            "NETWORK_VPC_FLOW_LOGS",
            rules::network::vpc_flow_logs,
            ["AWS::EC2::VPC", "AWS::EC2::FlowLog"]
        ),
        rust!(
            "endpoint",
            "ENDPOINT_S3_GATEWAY",
            rules::endpoint::s3_gateway,
            ["AWS::EC2::VPCEndpoint"]
        ),
        guard!("endpoint", "ENDPOINT_GATEWAY_NO_SUBNETS"),
        rust!(
            "endpoint",
            "ENDPOINT_INTERFACE_TYPE",
            rules::endpoint::interface_type,
            ["AWS::EC2::VPCEndpoint"]
        ),
        guard!("endpoint", "ENDPOINT_INTERFACE_PRIVATE_DNS"),
        guard!("endpoint", "ENDPOINT_INTERFACE_PLACEMENT"),
        rust!(
            "endpoint",
            "ENDPOINT_SERVICE_NAME",
            rules::endpoint::service_name,
            ["AWS::EC2::VPCEndpoint"]
        ),
        guard!("endpoint", "ENDPOINT_POLICY_VERSION"),
        guard!("endpoint", "ENDPOINT_POLICY_PRINCIPAL"),
        guard!("endpoint", "ENDPOINT_INTERFACE_POLICY"),
        guard!("security-group", "SG_RULE_DESCRIPTION"),
        guard!("security-group", "SG_NO_WORLD_INGRESS"),
        rust!(
            "security-group",
            "SG_NO_WORLD_EGRESS",
            rules::security_group::no_world_egress,
            ["AWS::EC2::SecurityGroup", "AWS::EC2::SecurityGroupEgress"]
        ),
        rust!(
            "security-group",
            "SG_SINGLE_PORT",
            rules::security_group::single_port,
            [
                "AWS::EC2::SecurityGroup",
                "AWS::EC2::SecurityGroupIngress",
                "AWS::EC2::SecurityGroupEgress"
            ]
        ),
        rust!(
            "iam",
            "IAM_ROLE_TRUST_SCOPED",
            rules::iam::role_trust_scoped,
            ["AWS::IAM::Role"]
        ),
        rust!(
            "iam",
            "IAM_NO_WILDCARD_ACTION",
            rules::iam::no_wildcard_action,
            [
                "AWS::IAM::Role",
                "AWS::IAM::Policy",
                "AWS::IAM::ManagedPolicy",
                "AWS::EC2::VPCEndpoint"
            ]
        ),
        rust!(
            "iam",
            "IAM_NO_WILDCARD_RESOURCE_WRITE",
            rules::iam::no_wildcard_resource_write,
            [
                "AWS::IAM::Role",
                "AWS::IAM::Policy",
                "AWS::IAM::ManagedPolicy"
            ]
        ),
        rust!(
            "iam",
            "IAM_NO_WILDCARD_RESOURCE_READ",
            rules::iam::no_wildcard_resource_read,
            [
                "AWS::IAM::Role",
                "AWS::IAM::Policy",
                "AWS::IAM::ManagedPolicy"
            ]
        ),
        rust!(
            "iam",
            "IAM_NO_POLICY_ON_USER",
            rules::iam::no_policy_on_user,
            ["AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"]
        ),
        rust!(
            "iam",
            "IAM_PASSROLE_SCOPED",
            rules::iam::passrole_scoped,
            [
                "AWS::IAM::Role",
                "AWS::IAM::Policy",
                "AWS::IAM::ManagedPolicy"
            ]
        ),
        rust!(
            "iam",
            "IAM_DENY_CONDITION_KEY_APPLIES",
            rules::condition_keys::deny_condition_key_applies,
            [
                "AWS::IAM::Role",
                "AWS::IAM::Policy",
                "AWS::IAM::ManagedPolicy",
                "AWS::EC2::VPCEndpoint",
                "AWS::Organizations::Policy"
            ]
        ),
        guard!("iam", "IAM_POLICY_VERSION"),
        guard!("studio", "STUDIO_DOMAIN_VPC_ONLY"),
        guard!("studio", "STUDIO_DOMAIN_KMS_ENCRYPTED"),
        guard!("studio", "STUDIO_SPACE_PRIVATE_NO_REMOTE_ACCESS"),
        rust!(
            "studio",
            "STUDIO_USER_OWN_ROLE",
            rules::studio::user_own_role,
            ["AWS::SageMaker::UserProfile"]
        ),
        rust!(
            "studio",
            "STUDIO_USER_OWN_SECURITY_GROUP",
            rules::studio::user_own_security_group,
            ["AWS::SageMaker::Domain", "AWS::SageMaker::UserProfile"]
        ),
        rust!(
            "studio",
            "STUDIO_POSIX_UID",
            rules::studio::posix_uid,
            ["AWS::SageMaker::UserProfile"]
        ),
        rust!(
            "studio",
            "STUDIO_BUILTIN_LIFECYCLE",
            rules::studio::builtin_lifecycle,
            ["AWS::SageMaker::Domain", "AWS::SageMaker::UserProfile"]
        ),
        guard!("kms", "KMS_KEY_ROTATION"),
        rust!(
            "kms",
            "KMS_KEY_POLICY_PRINCIPAL",
            rules::kms::key_policy_principal,
            ["AWS::KMS::Key"]
        ),
        rust!(
            "template",
            "TEMPLATE_NO_HARDCODED_PARTITION",
            rules::template::no_hardcoded_partition,
            []
        ),
        rust!(
            "template",
            "TEMPLATE_NO_HARDCODED_ACCOUNT",
            rules::template::no_hardcoded_account,
            []
        ),
        rust!(
            "template",
            "TEMPLATE_NO_HARDCODED_REGION",
            rules::template::no_hardcoded_region,
            []
        ),
        rust!(
            "template",
            "TEMPLATE_REFERENCES_RESOLVE",
            rules::template::references_resolve,
            []
        ),
        rust!(
            "schema",
            "SCHEMA_RESOURCE_TYPE_KNOWN",
            super::schema::type_known,
            []
        ),
        rust!(
            "schema",
            "SCHEMA_PROPERTIES_VALID",
            super::schema::properties_valid,
            []
        ),
    ]
}

static RULES: LazyLock<Vec<RuleDoc>> = LazyLock::new(|| {
    table()
        .into_iter()
        .map(|d| {
            let types = match d.engine {
                Engine::Guard(src) => super::guard::types_named(src),
                Engine::Rust(_) => d.types.to_vec(),
            };
            RuleDoc {
                id: d.id,
                family: d.family,
                summary: summary(d.docs),
                docs: d.docs,
                engine: d.engine,
                types,
                fixtures: d.fixtures,
            }
        })
        .collect()
});

/// Every rule, in report order.
pub fn rules() -> &'static [RuleDoc] {
    &RULES
}

pub fn find(id: &str) -> Option<&'static RuleDoc> {
    rules().iter().find(|r| r.id == id)
}

/// The first paragraph after the title is the summary.
fn summary(docs: &'static str) -> &'static str {
    docs.lines()
        .skip_while(|l| l.starts_with('#') || l.trim().is_empty())
        .find(|l| !l.trim().is_empty())
        .map_or("", str::trim)
}

/// The fixed sections every rule's docs have, in this order.
pub const SECTIONS: &[&str] = &[
    "What it checks",
    "Why it matters",
    "Example",
    "Fix",
    "References",
];

/// The closest rule ids to a mistyped one (for "did you mean").
pub fn suggest(id: &str) -> Vec<&'static str> {
    let wanted = id.to_ascii_uppercase();
    let mut scored: Vec<(usize, &'static str)> = rules()
        .iter()
        .map(|r| (edit_distance(&wanted, r.id), r.id))
        .filter(|(d, rid)| {
            *d <= rid.len() / 3 || rid.contains(wanted.as_str()) && wanted.len() >= 4
        })
        .collect();
    scored.sort();
    scored.into_iter().take(3).map(|(_, id)| id).collect()
}

fn edit_distance(a: &str, b: &str) -> usize {
    strsim::levenshtein(a, b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_and_shaped() {
        let mut seen = std::collections::BTreeSet::new();
        for r in rules() {
            assert!(seen.insert(r.id), "duplicate rule id {}", r.id);
            assert!(
                r.id.chars()
                    .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_'),
                "{}",
                r.id
            );
        }
    }

    #[test]
    fn every_rule_has_docs_with_the_fixed_sections() {
        for r in rules() {
            assert!(
                r.docs.starts_with(&format!("# {}\n", r.id)),
                "{}: docs must start with `# {}`",
                r.path(".md"),
                r.id
            );
            assert!(
                !r.summary.is_empty() && r.summary.len() <= 100,
                "{}: one-line summary (<= 100 chars) missing",
                r.id
            );
            let mut at = 0;
            for s in SECTIONS {
                let heading = format!("\n## {s}\n");
                let found = r.docs[at..].find(&heading).unwrap_or_else(|| {
                    panic!(
                        "{}: section `## {s}` missing or out of order",
                        r.path(".md")
                    )
                });
                at += found + heading.len();
                let body = r.docs[at..].split("\n## ").next().unwrap_or("");
                assert!(body.trim().len() > 10, "{}: section `{s}` is empty", r.id);
            }
        }
    }

    #[test]
    fn every_guard_rule_names_its_types_and_is_named_like_its_file() {
        for r in rules() {
            if let Engine::Guard(src) = r.engine {
                assert!(
                    !r.types.is_empty(),
                    "{}: a guard rule must name the resource types it judges",
                    r.id
                );
                assert!(
                    src.contains(&format!("rule {} ", r.id))
                        || src.contains(&format!("rule {}\n", r.id)),
                    "{}: the guard file must define `rule {}`",
                    r.id,
                    r.id
                );
            }
        }
    }

    #[test]
    fn suggestions_find_near_misses() {
        assert_eq!(
            suggest("NOTEBOOK_ROOT_ACCES_DISABLED").first(),
            Some(&"NOTEBOOK_ROOT_ACCESS_DISABLED")
        );
        assert!(suggest("COMPLETELY_DIFFERENT_THING_XYZ").is_empty());
    }
}
