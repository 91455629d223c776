//! Waivers other tools honour. A reviewer who also runs the AWS Guard Rules Registry, checkov or
//! cfn-lint should see nbsynth's deliberate exceptions as exceptions there too, with the same
//! reason, not as failures. For each nbsynth rule this table names the checks of those tools
//! that fail on the same defect; a waived finding puts the matching suppressions in the
//! resource's Metadata:
//!
//! ```yaml
//! Metadata:
//!   guard: {SuppressedRules: [EC2_SECURITY_GROUP_EGRESS_OPEN_TO_WORLD_RULE]}
//!   checkov: {skip: [{id: CKV_AWS_23, comment: "<the waiver's reason>"}]}
//!   cfn-lint: {config: {ignore_checks: [W3010]}}
//! ```
//!
//! Guard's suppression carries no reason; the nbsynth waiver beside it does. A tool's check
//! belongs here only if it fails on what the nbsynth rule fails on.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Value, json};

use super::Review;

/// The other tools' checks that judge what an nbsynth rule judges.
#[derive(Debug, Clone, Copy)]
pub struct Counterpart {
    pub rule: &'static str,
    /// Rule names of the AWS Guard Rules Registry (`Metadata.guard.SuppressedRules`).
    pub guard: &'static [&'static str],
    /// checkov check ids for CloudFormation (`Metadata.checkov.skip`).
    pub checkov: &'static [&'static str],
    /// cfn-lint rule ids (`Metadata.cfn-lint.config.ignore_checks`).
    pub cfn_lint: &'static [&'static str],
}

const fn c(
    rule: &'static str,
    guard: &'static [&'static str],
    checkov: &'static [&'static str],
    cfn_lint: &'static [&'static str],
) -> Counterpart {
    Counterpart {
        rule,
        guard,
        checkov,
        cfn_lint,
    }
}

/// The one mapping table, from nbsynth's rule to the checks that fail on the same defect in the
/// policy corpus (`tests/policy/corpus/RULE--*.yaml`); a test runs the real tools on the corpus
/// and fails if a listed check does not fire there. Rules not listed have no known counterpart.
pub const COUNTERPARTS: &[Counterpart] = &[
    c(
        "NOTEBOOK_DIRECT_INTERNET_DISABLED",
        &["SAGEMAKER_NOTEBOOK_NO_DIRECT_INTERNET_ACCESS"],
        &[],
        &[],
    ),
    c(
        "NOTEBOOK_KMS_ENCRYPTED",
        &["SAGEMAKER_NOTEBOOK_INSTANCE_KMS_KEY_CONFIGURED"],
        &["CKV_AWS_187"],
        &[],
    ),
    c("NOTEBOOK_IMDSV2", &[], &["CKV_AWS_371"], &[]),
    c(
        "NETWORK_SUBNET_NO_PUBLIC_IP",
        &["SUBNET_AUTO_ASSIGN_PUBLIC_IP_DISABLED"],
        &[],
        &[],
    ),
    c(
        "SG_RULE_DESCRIPTION",
        &["SECURITY_GROUP_DESCRIPTION_RULE"],
        &["CKV_AWS_23"],
        &[],
    ),
    c(
        "SG_NO_WORLD_INGRESS",
        &["EC2_SECURITY_GROUP_INGRESS_OPEN_TO_WORLD_RULE"],
        &[],
        &[],
    ),
    c(
        "SG_NO_WORLD_EGRESS",
        &[
            "EC2_SECURITY_GROUP_EGRESS_OPEN_TO_WORLD_RULE",
            "SECURITY_GROUP_MISSING_EGRESS_RULE",
        ],
        &[],
        &[],
    ),
    c(
        "SG_SINGLE_PORT",
        &[
            "SECURITY_GROUP_INGRESS_PORT_RANGE_RULE",
            "SECURITY_GROUP_EGRESS_PORT_RANGE_RULE",
        ],
        &[],
        &[],
    ),
    c(
        "IAM_NO_WILDCARD_ACTION",
        &["IAM_MANAGEDPOLICY_NO_STATEMENTS_WITH_FULL_ACCESS"],
        &[],
        &[],
    ),
    c(
        "IAM_NO_WILDCARD_RESOURCE_WRITE",
        &["IAM_POLICYDOCUMENT_NO_WILDCARD_RESOURCE"],
        &["CKV_AWS_111"],
        &[],
    ),
    c(
        "IAM_NO_WILDCARD_RESOURCE_READ",
        &["IAM_POLICYDOCUMENT_NO_WILDCARD_RESOURCE"],
        &[],
        &[],
    ),
    c(
        "IAM_NO_POLICY_ON_USER",
        &["IAM_NO_POLICY_ON_USER"],
        &[],
        &[],
    ),
    c(
        "IAM_PASSROLE_SCOPED",
        &[
            "IAM_POLICYDOCUMENT_NO_WILDCARD_RESOURCE",
            "IAM_POLICY_NO_WILDCARD_RESOURCE_ON_PASSROLE",
        ],
        &["CKV_AWS_109"],
        &[],
    ),
    c("IAM_ROLE_TRUST_SCOPED", &[], &["CKV_AWS_60"], &[]),
    c(
        "KMS_KEY_ROTATION",
        &["CMK_BACKING_KEY_ROTATION_ENABLED"],
        &["CKV_AWS_7"],
        &[],
    ),
    c(
        "KMS_KEY_POLICY_PRINCIPAL",
        &["KMS_NO_WILDCARD_PRINCIPAL"],
        &["CKV_AWS_33"],
        &[],
    ),
    // cfn-lint's W3010 reports a hard-coded availability zone.
    c("TEMPLATE_NO_HARDCODED_REGION", &[], &[], &["W3010"]),
];

pub fn of(rule: &str) -> Option<&'static Counterpart> {
    COUNTERPARTS.iter().find(|c| c.rule == rule)
}

/// The lines `nbsynth explain RULE` adds about the other tools.
pub fn describe(rule: &str) -> String {
    let Some(c) = of(rule) else {
        return "Counterparts: none known in the Guard Rules Registry, checkov or cfn-lint\n"
            .into();
    };
    let list = |ids: &[&str]| {
        if ids.is_empty() {
            "none".to_string()
        } else {
            ids.join(", ")
        }
    };
    format!(
        "Counterparts (suppressed with the same reason where this rule is waived):\n  Guard Rules Registry  {}\n  checkov               {}\n  cfn-lint              {}\n",
        list(c.guard),
        list(c.checkov),
        list(c.cfn_lint)
    )
}

/// Puts the counterpart suppressions of every waived finding on its resource. Findings about
/// the template as a whole have no resource to carry them; cfn-lint's template-level config
/// takes those.
pub fn annotate(template: &mut Value, review: &Review) {
    // resource (None = template) -> (guard rules, checkov (id -> reason), cfn-lint ids)
    type Marks = (
        BTreeSet<&'static str>,
        BTreeMap<&'static str, String>,
        BTreeSet<&'static str>,
    );
    let mut marks: BTreeMap<Option<&str>, Marks> = BTreeMap::new();
    for f in &review.findings {
        let (Some(reason), Some(c)) = (&f.waived, of(f.rule)) else {
            continue;
        };
        let m = marks.entry(f.resource.as_deref()).or_default();
        m.0.extend(c.guard);
        for id in c.checkov {
            m.1.entry(id).or_insert_with(|| reason.clone());
        }
        m.2.extend(c.cfn_lint);
    }
    for (resource, (guard, checkov, cfn_lint)) in marks {
        let target = match resource {
            Some(id) => template.pointer_mut(&format!(
                "/Resources/{}",
                crate::source::yaml::escape_pointer(id)
            )),
            None => Some(&mut *template),
        };
        let Some(Value::Object(target)) = target else {
            continue;
        };
        let mut add = serde_json::Map::new();
        // Guard and checkov read suppressions from resources only.
        if resource.is_some() && !guard.is_empty() {
            add.insert("guard".into(), json!({"SuppressedRules": guard}));
        }
        if resource.is_some() && !checkov.is_empty() {
            let skip: Vec<Value> = checkov
                .iter()
                .map(|(id, reason)| json!({"id": id, "comment": reason}))
                .collect();
            add.insert("checkov".into(), json!({"skip": skip}));
        }
        if !cfn_lint.is_empty() {
            add.insert(
                "cfn-lint".into(),
                json!({"config": {"ignore_checks": cfn_lint}}),
            );
        }
        if add.is_empty() {
            continue;
        }
        if let Value::Object(metadata) = target.entry("Metadata").or_insert_with(|| json!({})) {
            metadata.extend(add);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_counterpart_names_a_rule_once() {
        let mut seen = BTreeSet::new();
        for c in COUNTERPARTS {
            assert!(super::super::find(c.rule).is_some(), "{}", c.rule);
            assert!(seen.insert(c.rule), "{} listed twice", c.rule);
            assert!(
                !(c.guard.is_empty() && c.checkov.is_empty() && c.cfn_lint.is_empty()),
                "{} has no counterpart",
                c.rule
            );
        }
    }

    #[test]
    fn explain_lists_the_counterparts() {
        let text = describe("SG_NO_WORLD_EGRESS");
        assert!(
            text.contains("EC2_SECURITY_GROUP_EGRESS_OPEN_TO_WORLD_RULE"),
            "{text}"
        );
        assert!(describe("LIFECYCLE_CONTENT_BASE64").contains("none known"));
    }
}
