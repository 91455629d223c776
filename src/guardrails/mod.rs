//! Preventive guardrails for a stack, written to `out/NAME.guardrails/`: a service control
//! policy, the same Deny statements as a permissions boundary (for accounts without
//! Organizations), an optional AWS Config template, and a README on filling in and attaching
//! them. The stack's hardening is in its template; these keep anyone with console or API access
//! from creating a weaker notebook beside it or changing what CloudFormation set.

pub mod config;
pub mod policy;

use std::path::Path;

use serde_json::Value;

use crate::blueprint::model::Blueprint;
use crate::cfn::emit::{self, Format};
use crate::output::Planned;
pub use policy::Settings;

/// Organizations' limit on an SCP document, in characters (whitespace included).
pub const SCP_LIMIT: usize = 5_120;

/// Values stack outputs fill in (see the README written beside the policies).
const SUBNETS: &str = "${SubnetIds}";
const SECURITY_GROUP: &str = "${NotebookSecurityGroupId}";
const KMS_ARN: &str = "${KmsKeyArn}";
const KMS_ID: &str = "${KmsKeyId}";

/// Longest realistic values for the placeholders, to measure a filled SCP before deploying.
const SUBNET_ID: &str = "subnet-0123456789abcdef0";
const SG_ID: &str = "sg-0123456789abcdef0";
const KMS_KEY_ARN: &str =
    "arn:aws-us-gov:kms:us-gov-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";

impl Settings {
    pub fn of(b: &Blueprint) -> Settings {
        let subnets = match &b.network.existing {
            Some(e) => {
                let mut v = e.subnets.clone();
                v.sort();
                v
            }
            None => vec![SUBNETS.to_string()],
        };
        let kms_key = if b.encryption.kms_key.starts_with("arn:") {
            let id = b.encryption.kms_key.rsplit('/').next().unwrap_or_default();
            vec![b.encryption.kms_key.clone(), id.to_string()]
        } else {
            vec![KMS_ARN.to_string(), KMS_ID.to_string()]
        };
        let mut instance_types: Vec<String> = b
            .notebooks
            .instances
            .iter()
            .map(|i| {
                i.instance_type
                    .clone()
                    .unwrap_or_else(|| b.notebooks.defaults.instance_type.clone())
            })
            .collect();
        instance_types.sort();
        instance_types.dedup();
        let root_disabled = b
            .notebooks
            .instances
            .iter()
            .all(|i| !b.lifecycle.effective(i.lifecycle.as_ref()).root_access);
        Settings {
            name: b.name.clone(),
            subnets,
            security_groups: vec![SECURITY_GROUP.to_string()],
            kms_key,
            instance_types,
            root_disabled,
            deploy_role: b.guardrails.deploy_role.clone(),
        }
    }

    /// The settings with every placeholder replaced by the longest realistic value (one subnet
    /// per zone), for measuring.
    pub fn filled_for_size(&self, zones: usize) -> Settings {
        let mut s = self.clone();
        if s.subnets == [SUBNETS] {
            s.subnets = vec![SUBNET_ID.to_string(); zones];
        }
        s.security_groups = vec![SG_ID.to_string()];
        if s.kms_key[0] == KMS_ARN {
            s.kms_key = vec![
                KMS_KEY_ARN.to_string(),
                KMS_KEY_ARN
                    .rsplit('/')
                    .next()
                    .unwrap_or_default()
                    .to_string(),
            ];
        }
        s
    }
}

/// Characters of a policy as Organizations counts them after `jq -c` (no whitespace).
pub fn minified_len(policy: &Value) -> usize {
    serde_json::to_string(policy).map_or(0, |t| t.chars().count())
}

fn pretty(v: &Value) -> String {
    let mut t = serde_json::to_string_pretty(v).expect("a JSON value serialises");
    t.push('\n');
    t
}

/// The files of `dir` (`out/NAME.guardrails`).
pub fn files(b: &Blueprint, dir: &Path) -> Vec<Planned> {
    let s = Settings::of(b);
    let scp = policy::scp(&s);
    let boundary = policy::boundary(&s);
    for doc in [&scp, &boundary] {
        let wrong = crate::policy::rules::condition_keys::mismatches(doc);
        assert!(
            wrong.is_empty(),
            "guardrail with a condition key its action lacks: {wrong:?}"
        );
    }
    let zones = b
        .network
        .existing
        .as_ref()
        .map_or(usize::from(b.network.zones), |e| e.subnets.len());
    let size = minified_len(&policy::scp(&s.filled_for_size(zones)));
    vec![
        Planned {
            path: dir.join("scp.json"),
            text: pretty(&scp),
        },
        Planned {
            path: dir.join("boundary.json"),
            text: pretty(&boundary),
        },
        Planned {
            path: dir.join("config-rules.template.yaml"),
            text: emit::to_text(&config::template(&s), Format::Yaml),
        },
        Planned {
            path: dir.join("fill.jq"),
            text: include_str!("../../assets/guardrails/fill.jq").to_string(),
        },
        Planned {
            path: dir.join("README.md"),
            text: readme(&s, size),
        },
    ]
}

fn readme(s: &Settings, size: usize) -> String {
    let name = &s.name;
    let mut t = format!(
        "# Guardrails for `{name}` (generated by nbsynth; do not edit)\n\n\
         - `scp.json`: a service control policy (Deny statements only). Attach it to the account's OU or the account.\n\
         - `boundary.json`: the same statements after an `Allow *`, for accounts without Organizations: set it as the\n  \
           permissions boundary of the people and roles that use SageMaker.\n\
         - `config-rules.template.yaml`: optional AWS Config managed rules that report notebook instances without these settings.\n\n\
         They deny, in the account they are attached to, creating a notebook instance with direct internet access, \
         {root}without IMDSv2, outside the stack's subnets and security group, without the stack's KMS key, without \
         one of the stack's lifecycle configurations, or of an instance type the stack does not use (and updates that \
         attach another lifecycle configuration, enable root access, allow IMDSv1 or change the instance type to another); and creating or updating a Studio domain that is not VpcOnly.\n\n",
        root = if s.root_disabled {
            "with root access, "
        } else {
            ""
        }
    );
    if !s.root_disabled {
        t.push_str("Root access is not guarded: an owner of this blueprint has `root_access: true` (a waiver), so the stack itself creates a notebook with root access.\n\n");
    }
    match &s.deploy_role {
        Some(role) => t.push_str(&format!(
            "Only `{role}` (the deploy role) may update the stack's notebook instances, change their tags and create, \
             update or delete lifecycle configurations: no condition key says that an update detaches the lifecycle \
             configuration or changes the role, nor what a configuration's script does. Deploy the stack with that role (as the caller or as the \
             CloudFormation service role).\n\n"
        )),
        None => t.push_str(
            "No `guardrails.deploy_role` in the blueprint: updates of notebook instances, lifecycle configuration \
             changes and tag changes are NOT denied, because no condition key can guard them and denying them to \
             everyone would lock out CloudFormation too. Name the deploy role to guard them.\n\n",
        ),
    }
    t.push_str(&format!(
        "## Fill in the stack's ids\n\n\
         Values the stack creates are placeholders named after its outputs (`${{SubnetIds}}`, `${{NotebookSecurityGroupId}}`, \
         `${{KmsKeyArn}}`, `${{KmsKeyId}}`). After deploying the stack:\n\n\
         ```sh\n\
         aws cloudformation describe-stacks --stack-name {name} --query 'Stacks[0].Outputs' > outputs.json\n\
         jq -c --slurpfile o outputs.json -f {name}.guardrails/fill.jq {name}.guardrails/scp.json > scp.filled.json\n\
         aws organizations create-policy --type SERVICE_CONTROL_POLICY --name {name}-notebooks \\\n  \
           --description 'nbsynth guardrails for {name}' --content file://scp.filled.json\n\
         ```\n\n\
         The same for `boundary.json`. Filled and minified, the SCP is about {size} characters with one \
         subnet per zone (the limit is {SCP_LIMIT}).\n\n\
         The lifecycle-configuration guard matches names starting with `{name}-`: give other stacks in the account \
         names that do not start with it.\n\n\
         Redeploying the stack with new subnets, security group or key changes these ids: fill and update the policy again.\n"
    ));
    if size > SCP_LIMIT {
        t.push_str(&format!(
            "\n**Over the limit**: {size} characters do not fit one SCP. Split the statements over two policies \
             (an account or OU takes up to five), or use fewer instance types.\n"
        ));
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn blueprint(extra: Value) -> Blueprint {
        let mut b =
            json!({"version": 1, "name": "demo", "notebooks": {"instances": [{"owner": "alice"}]}});
        for (k, v) in extra.as_object().unwrap() {
            b[k] = v.clone();
        }
        serde_json::from_value(b).expect("a valid blueprint")
    }

    fn sids(p: &Value) -> Vec<&str> {
        p["Statement"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["Sid"].as_str().unwrap())
            .collect()
    }

    fn deploy() -> Value {
        json!({"guardrails": {"deploy_role": "arn:aws:iam::111122223333:role/deploy"}})
    }

    #[test]
    fn the_deploy_role_decides_whether_unguardable_changes_are_denied() {
        let without = policy::scp(&Settings::of(&blueprint(json!({}))));
        assert!(
            !sids(&without)
                .iter()
                .any(|s| s.starts_with("NbOnlyDeployer"))
        );
        let with = policy::scp(&Settings::of(&blueprint(deploy())));
        assert!(sids(&with).contains(&"NbOnlyDeployerChangesStack"));
        assert!(sids(&with).contains(&"NbOnlyDeployerChangesLifecycle"));
        assert!(with.to_string().contains("notebook-instance/demo-*"));
    }

    #[test]
    fn a_waived_root_access_drops_the_root_guard_and_says_so() {
        let b = blueprint(json!({"lifecycle": {"root_access": true}}));
        assert!(!sids(&policy::scp(&Settings::of(&b))).contains(&"NbNoRoot"));
        let files = files(&b, Path::new("g"));
        let readme = &files
            .iter()
            .find(|f| f.path.ends_with("README.md"))
            .unwrap()
            .text;
        assert!(readme.contains("Root access is not guarded"), "{readme}");
    }

    #[test]
    fn a_large_filled_scp_fits_the_limit() {
        // Six zones, a deploy role with a path, eight instance types, a long name.
        let types = [
            "ml.t3.medium",
            "ml.t3.large",
            "ml.t3.xlarge",
            "ml.m5.xlarge",
            "ml.m5.2xlarge",
            "ml.g4dn.xlarge",
            "ml.g5.xlarge",
            "ml.p3.2xlarge",
        ];
        let instances: Vec<Value> = types
            .iter()
            .enumerate()
            .map(|(i, t)| json!({"owner": format!("o{i}"), "instance_type": t}))
            .collect();
        let b: Blueprint = serde_json::from_value(json!({
            "version": 1, "name": "a-rather-long-stack-name",
            "network": {"zones": 6},
            "notebooks": {"instances": instances},
            "guardrails": {"deploy_role": "arn:aws:iam::111122223333:role/platform/deployers/notebooks-deploy"},
        }))
        .unwrap();
        let filled = policy::scp(&Settings::of(&b).filled_for_size(6));
        let n = minified_len(&filled);
        assert!(n <= SCP_LIMIT, "{n}");
        assert!(!filled.to_string().contains("${"));
    }

    #[test]
    fn an_scp_over_the_limit_is_flagged_in_the_readme() {
        let instances: Vec<Value> = (0..200)
            .map(|i| json!({"owner": format!("o{i}"), "instance_type": format!("ml.x{i}.large")}))
            .collect();
        let b: Blueprint = serde_json::from_value(json!({
            "version": 1, "name": "many", "notebooks": {"instances": instances},
        }))
        .unwrap();
        let files = files(&b, Path::new("g"));
        let readme = &files
            .iter()
            .find(|f| f.path.ends_with("README.md"))
            .unwrap()
            .text;
        assert!(readme.contains("**Over the limit**"), "{readme}");
        let small = files_readme(&blueprint(json!({})));
        assert!(!small.contains("Over the limit"));
    }

    fn files_readme(b: &Blueprint) -> String {
        files(b, Path::new("g"))
            .into_iter()
            .find(|f| f.path.ends_with("README.md"))
            .unwrap()
            .text
    }

    #[test]
    fn every_key_applies_to_its_action() {
        let s = Settings::of(&blueprint(deploy()));
        for doc in [policy::scp(&s), policy::boundary(&s)] {
            assert!(crate::policy::rules::condition_keys::mismatches(&doc).is_empty());
        }
        // Control: the check is not vacuous on these statements.
        let mut bad = policy::scp(&s);
        bad["Statement"][0]["Action"] = Value::from("sagemaker:UpdateNotebookInstance");
        assert!(!crate::policy::rules::condition_keys::mismatches(&bad).is_empty());
    }
}
