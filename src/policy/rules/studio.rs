//! What a Studio domain must hold beyond single properties: one execution role and one security
//! group per user profile, none shared (with another profile or the domain's defaults), unique
//! POSIX identities in SageMaker's range, and a built-in lifecycle configuration for JupyterLab.

use std::collections::BTreeMap;

use serde_json::Value;

use super::target;
use crate::policy::Ctx;

const DOMAIN: &str = "AWS::SageMaker::Domain";
const PROFILE: &str = "AWS::SageMaker::UserProfile";
const LCC: &str = "AWS::SageMaker::StudioLifecycleConfig";

fn settings<'v>(r: &'v Value, key: &str) -> Option<&'v Value> {
    r.get("Properties")?.get(key)
}

/// STUDIO_USER_OWN_ROLE
pub fn user_own_role(ctx: &mut Ctx) {
    let domains: Vec<(&str, &Value)> = ctx.of_type(DOMAIN).collect();
    let defaults: Vec<String> = domains
        .iter()
        .filter_map(|(_, d)| settings(d, "DefaultUserSettings")?.get("ExecutionRole"))
        .map(Value::to_string)
        .collect();
    let profiles: Vec<(&str, &Value)> = ctx.of_type(PROFILE).collect();
    let mut seen: BTreeMap<String, &str> = BTreeMap::new();
    for (id, p) in profiles {
        let Some(role) = settings(p, "UserSettings").and_then(|s| s.get("ExecutionRole")) else {
            ctx.fail(
                Some(id),
                "Properties/UserSettings",
                "the profile names no ExecutionRole, so it runs with the domain's default role, shared by every such profile",
            );
            continue;
        };
        let key = role.to_string();
        if defaults.contains(&key) {
            ctx.fail(
                Some(id),
                "Properties/UserSettings/ExecutionRole",
                "the profile's execution role is the domain's default role, which every profile without its own shares",
            );
        }
        if let Some(other) = seen.insert(key, id) {
            ctx.fail(
                Some(id),
                "Properties/UserSettings/ExecutionRole",
                format!("profile `{other}` has the same execution role: each user needs their own"),
            );
        }
    }
}

/// The logical ids of the groups a list of security group ids names (`!GetAtt X.GroupId`, `!Ref X`).
fn groups(list: Option<&Value>) -> Vec<String> {
    list.and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|v| target(v).map_or_else(|| v.to_string(), |(id, _)| id.to_string()))
        .collect()
}

/// Whether group `g` admits traffic from itself (inline, or as a separate ingress resource).
fn self_referencing(ctx: &Ctx, g: &str) -> bool {
    let names_g = |v: Option<&Value>| v.and_then(target).is_some_and(|(id, _)| id == g);
    let inline = ctx
        .resources
        .get(g)
        .and_then(|r| settings(r, "SecurityGroupIngress"))
        .and_then(Value::as_array)
        .is_some_and(|rules| {
            rules
                .iter()
                .any(|r| names_g(r.get("SourceSecurityGroupId")))
        });
    inline
        || ctx.of_type("AWS::EC2::SecurityGroupIngress").any(|(_, r)| {
            let p = r.get("Properties");
            names_g(p.and_then(|p| p.get("GroupId")))
                && names_g(p.and_then(|p| p.get("SourceSecurityGroupId")))
        })
}

/// STUDIO_USER_OWN_SECURITY_GROUP
pub fn user_own_security_group(ctx: &mut Ctx) {
    let domains: Vec<(&str, &Value)> = ctx.of_type(DOMAIN).collect();
    let mut domain_groups = Vec::new();
    for (id, d) in &domains {
        let list = groups(settings(d, "DefaultUserSettings").and_then(|s| s.get("SecurityGroups")));
        for (i, g) in list.iter().enumerate() {
            if self_referencing(ctx, g) {
                ctx.fail(
                    Some(id),
                    &format!("Properties/DefaultUserSettings/SecurityGroups/{i}"),
                    format!("the domain's default group `{g}` admits itself; SageMaker adds it to every profile's apps, so every user's apps could reach every other's"),
                );
            }
        }
        domain_groups.extend(list);
    }
    let profiles: Vec<(&str, &Value)> = ctx.of_type(PROFILE).collect();
    let mut seen: BTreeMap<String, &str> = BTreeMap::new();
    for (id, p) in profiles {
        let list = groups(settings(p, "UserSettings").and_then(|s| s.get("SecurityGroups")));
        if list.is_empty() {
            ctx.fail(
                Some(id),
                "Properties/UserSettings",
                "the profile names no SecurityGroups of its own",
            );
        }
        for (i, g) in list.into_iter().enumerate() {
            let at = format!("Properties/UserSettings/SecurityGroups/{i}");
            if domain_groups.contains(&g) {
                ctx.fail(
                    Some(id),
                    &at,
                    format!("`{g}` is also the domain's default group"),
                );
            }
            if let Some(other) = seen.insert(g.clone(), id) {
                ctx.fail(
                    Some(id),
                    &at,
                    format!("profile `{other}` has group `{g}` too: a self-referencing group shared by two users lets their apps reach each other"),
                );
            }
        }
    }
}

/// SageMaker's ranges for CustomPosixUserConfig.
const UIDS: std::ops::RangeInclusive<i64> = 10_000..=4_000_000;
const GIDS: std::ops::RangeInclusive<i64> = 1_001..=4_000_000;

/// STUDIO_POSIX_UID
pub fn posix_uid(ctx: &mut Ctx) {
    let profiles: Vec<(&str, &Value)> = ctx.of_type(PROFILE).collect();
    let mut seen: BTreeMap<i64, &str> = BTreeMap::new();
    for (id, p) in profiles {
        let Some(posix) = settings(p, "UserSettings").and_then(|s| s.get("CustomPosixUserConfig"))
        else {
            ctx.not_applicable(id);
            continue;
        };
        let base = "Properties/UserSettings/CustomPosixUserConfig";
        for (key, range) in [("Uid", UIDS), ("Gid", GIDS)] {
            match posix.get(key).and_then(Value::as_i64) {
                Some(n) if range.contains(&n) => {}
                Some(n) => ctx.fail(
                    Some(id),
                    &format!("{base}/{key}"),
                    format!("{key} {n} is outside {}..{}", range.start(), range.end()),
                ),
                None => ctx.fail(
                    Some(id),
                    &format!("{base}/{key}"),
                    format!("{key} must be a literal integer, so its uniqueness can be checked"),
                ),
            }
        }
        if let Some(uid) = posix.get("Uid").and_then(Value::as_i64)
            && let Some(other) = seen.insert(uid, id)
        {
            ctx.fail(
                Some(id),
                &format!("{base}/Uid"),
                format!(
                    "profile `{other}` has uid {uid} too: files of one would belong to the other"
                ),
            );
        }
    }
}

/// STUDIO_BUILTIN_LIFECYCLE
pub fn builtin_lifecycle(ctx: &mut Ctx) {
    let check = |ctx: &Ctx, v: Option<&Value>| -> Result<(), String> {
        let Some(v) = v else {
            return Err("no BuiltInLifecycleConfigArn: nothing enforces the download block and sudo removal at app start".into());
        };
        let Some((x, _)) = target(v) else {
            return Err("BuiltInLifecycleConfigArn must refer to a StudioLifecycleConfig of this stack (!GetAtt X.StudioLifecycleConfigArn)".into());
        };
        let app = ctx
            .resources
            .get(x)
            .filter(|r| r.get("Type").and_then(Value::as_str) == Some(LCC))
            .and_then(|r| settings(r, "StudioLifecycleConfigAppType"))
            .and_then(Value::as_str);
        match app {
            Some("JupyterLab") => Ok(()),
            Some(other) => Err(format!(
                "`{x}` is a {other} lifecycle configuration, not JupyterLab"
            )),
            None => Err(format!("`{x}` is not a StudioLifecycleConfig")),
        }
    };
    let domains: Vec<(&str, &Value)> = ctx.of_type(DOMAIN).collect();
    for (id, d) in domains {
        let v = settings(d, "DefaultUserSettings")
            .and_then(|s| s.get("JupyterLabAppSettings"))
            .and_then(|s| s.get("BuiltInLifecycleConfigArn"));
        if let Err(e) = check(ctx, v) {
            ctx.fail(
                Some(id),
                "Properties/DefaultUserSettings/JupyterLabAppSettings",
                e,
            );
        }
    }
    let profiles: Vec<(&str, &Value)> = ctx.of_type(PROFILE).collect();
    for (id, p) in profiles {
        // A profile inherits the domain's unless it names its own, which must then be as good.
        let v = settings(p, "UserSettings")
            .and_then(|s| s.get("JupyterLabAppSettings"))
            .and_then(|s| s.get("BuiltInLifecycleConfigArn"));
        if v.is_none() {
            ctx.not_applicable(id);
            continue;
        }
        if let Err(e) = check(ctx, v) {
            ctx.fail(Some(id), "Properties/UserSettings/JupyterLabAppSettings", e);
        }
    }
}
