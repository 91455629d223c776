//! A SageMaker Studio domain in VPC-only mode, from `studio:`: the domain (domain.rs), per user
//! a profile, execution role, security group and private space (user.rs), the built-in
//! lifecycle configurations (lifecycle.rs) and the sign-in policies (access.rs).
//!
//! Logical IDs: `<User><Suffix>` with suffixes that neither end nor are ended by the notebook
//! suffixes (Notebook, Role, Permissions, Access), so a person may be both a notebook owner
//! and a Studio user, and no owner/user pair can collide.

mod access;
mod domain;
mod lifecycle;
mod user;

use serde_json::{Value, json};

use super::naming::Names;
use super::{LowerError, Shared};
use crate::blueprint::Loaded;
use crate::blueprint::studio::{Studio, users};
use crate::cfn::{LogicalId, Template, sub};

pub const EXECUTION: &str = "UserExecution";
pub const GRANTS: &str = "UserGrants";
pub const GROUP: &str = "UserGroup";
pub const PROFILE: &str = "UserProfile";
pub const SPACE: &str = "UserSpace";
pub const SIGN_IN: &str = "UserSignIn";
/// The security group's separate rules (self references cannot be inline).
pub const GROUP_RULES: &[&str] = &[
    "UserGroupNfsIn",
    "UserGroupAppsIn",
    "UserGroupNfsOut",
    "UserGroupAppsOut",
    "UserGroupToS3",
    "UserGroupToS3PrefixList",
    "UserGroupHttpsToEndpoints",
];

pub const DOMAIN: &str = "StudioDomain";

/// Execution roles by Studio user, created before the key so its policy can name them.
pub type StudioRoles = std::collections::BTreeMap<String, LogicalId>;

pub fn user_id(user: &str, suffix: &str) -> LogicalId {
    LogicalId::new(&[user, suffix])
}

/// The private space's name (unique in the domain, since user names are).
pub fn space_name(user: &str) -> String {
    format!("{user}-private")
}

/// Every resource that belongs to one Studio user (for waivers and the review report).
pub fn user_ids(loaded: &Loaded, user: &str) -> Vec<LogicalId> {
    let bp = &loaded.blueprint;
    if !users(bp).iter().any(|u| u.user == user) {
        return Vec::new();
    }
    let mut ids: Vec<LogicalId> = [EXECUTION, GRANTS, GROUP, PROFILE, SPACE]
        .iter()
        .chain(GROUP_RULES)
        .map(|s| user_id(user, s))
        .collect();
    if bp.access.is_some() {
        ids.push(user_id(user, SIGN_IN));
    }
    ids.sort();
    ids
}

/// ARN of a Studio resource in this stack's domain: `kind/<domain-id>/<rest>`.
pub fn arn(kind: &str, rest: &str) -> Value {
    sub(format!(
        "arn:${{AWS::Partition}}:sagemaker:${{AWS::Region}}:${{AWS::AccountId}}:{kind}/${{{DOMAIN}.DomainId}}/{rest}"
    ))
}

/// The trust policy of every Studio execution role: SageMaker only, with source identity so the
/// profile name reaches CloudTrail (`ExecutionRoleIdentityConfig: USER_PROFILE_NAME`).
pub fn trust() -> Value {
    json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": {"Service": "sagemaker.amazonaws.com"},
            "Action": ["sts:AssumeRole", "sts:SetSourceIdentity"]
        }]
    })
}

/// Roles first (the key policy names them); everything else after the key exists.
pub fn lower_roles(loaded: &Loaded, names: &Names, t: &mut Template) -> StudioRoles {
    let Some(studio) = &loaded.blueprint.studio else {
        return StudioRoles::new();
    };
    domain::lower_default_role(&loaded.blueprint, names, t);
    user::lower_roles(&loaded.blueprint, studio, t)
}

pub fn lower(
    loaded: &Loaded,
    names: &Names,
    t: &mut Template,
    shared: &Shared,
    roles: &StudioRoles,
    compress: bool,
) -> Result<Vec<super::ScriptFile>, LowerError> {
    let Some(studio) = &loaded.blueprint.studio else {
        return Ok(Vec::new());
    };
    let lccs = lifecycle::lower(loaded, names, t, shared, studio, compress)?;
    domain::lower(&loaded.blueprint, names, t, shared, studio, &lccs);
    user::lower(&loaded.blueprint, names, t, shared, studio, roles, &lccs);
    if let Some(a) = &loaded.blueprint.access {
        access::lower(studio, t, a, &loaded.blueprint);
    }
    outputs(studio, t);
    Ok(lccs.files)
}

fn outputs(studio: &Studio, t: &mut Template) {
    let domain = LogicalId::new(&[DOMAIN]);
    t.output(
        LogicalId::new(&["StudioDomainId"]),
        "Studio domain (VPC only, IAM authentication)",
        crate::cfn::get_att(&domain, "DomainId"),
    );
    for u in &studio.users {
        t.output(
            LogicalId::new(&[u.user.as_str(), "StudioSignIn"]),
            format!("How {} opens their private space", u.user),
            sub(format!(
                "aws sagemaker create-presigned-domain-url --domain-id ${{{DOMAIN}.DomainId}} --user-profile-name {} --space-name {} --session-expiration-duration-in-seconds {} --expires-in-seconds 30",
                u.user,
                space_name(&u.user),
                access::SESSION_SECONDS
            )),
        );
    }
    domain::home_efs_output(studio, t);
}
