//! Per Studio user: an execution role with the same data grants as a notebook owner and rights
//! to their own space and apps only; a security group that admits only itself (NFS to the home
//! EFS, app-to-app ports) and reaches only the endpoints and S3; the user profile; and a private
//! JupyterLab space with remote access off.

use serde_json::{Value, json};

use super::lifecycle::Lccs;
use super::{
    DOMAIN, EXECUTION, GRANTS, GROUP, PROFILE, SPACE, StudioRoles, arn, space_name, trust, user_id,
};
use crate::blueprint::Blueprint;
use crate::blueprint::studio::{App, Studio, StudioUser};
use crate::cfn::{LogicalId, Resource, Template, get_att, r#ref, sub};
use crate::lower::Shared;
use crate::lower::iam::{Statement, data_grants, document, s3_statements};
use crate::lower::naming::{Names, tags};
use crate::lower::security::{HAS_PREFIX_LIST, NO_PREFIX_LIST, PREFIX_LIST_PARAMETER};

pub fn lower_roles(bp: &Blueprint, studio: &Studio, t: &mut Template) -> StudioRoles {
    let mut roles = StudioRoles::new();
    for u in &studio.users {
        let id = t.add(
            user_id(&u.user, EXECUTION),
            Resource::new(
                "AWS::IAM::Role",
                json!({
                    "Description": format!("Studio execution role of {}", u.user),
                    "AssumeRolePolicyDocument": trust(),
                    "Tags": tags(bp, &[("owner", &u.user)]),
                }),
            ),
        );
        roles.insert(u.user.clone(), id);
    }
    roles
}

pub fn lower(
    bp: &Blueprint,
    names: &Names,
    t: &mut Template,
    shared: &Shared,
    studio: &Studio,
    roles: &StudioRoles,
    lccs: &Lccs,
) {
    for u in &studio.users {
        grants(bp, t, shared, studio, u, &roles[&u.user]);
        let group = security_group(bp, names, t, shared, &u.user);
        profile(bp, t, studio, u, &roles[&u.user], &group, lccs);
        space(bp, t, studio, u);
    }
}

fn grants(
    bp: &Blueprint,
    t: &mut Template,
    shared: &Shared,
    studio: &Studio,
    u: &StudioUser,
    role: &LogicalId,
) {
    let user = u.user.as_str();
    let space = space_name(user);
    let apps: Vec<Value> = studio
        .apps
        .iter()
        .map(|a| arn("app", &format!("{space}/{}/*", a.arn_segment())))
        .collect();
    let logs = "arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:/aws/sagemaker/studio";
    let mut statements = s3_statements(&data_grants(bp, [user]), false);
    statements.extend([
        Statement {
            sid: "DescribeOwnStudio".into(),
            principal: None,
            actions: vec![
                "sagemaker:DescribeDomain",
                "sagemaker:DescribeSpace",
                "sagemaker:DescribeUserProfile",
            ],
            resources: vec![
                get_att(&LogicalId::new(&[DOMAIN]), "DomainArn"),
                arn("user-profile", user),
                arn("space", &space),
            ],
            condition: None,
        },
        Statement {
            sid: "ListStudio".into(),
            principal: None,
            // List actions have no resource type: they need "*".
            actions: vec!["sagemaker:ListApps", "sagemaker:ListSpaces"],
            resources: vec![json!("*")],
            condition: None,
        },
        Statement {
            sid: "OpenOwnProfile".into(),
            principal: None,
            actions: vec!["sagemaker:CreatePresignedDomainUrl"],
            resources: vec![arn("user-profile", user)],
            condition: None,
        },
        Statement {
            sid: "RunOwnApps".into(),
            principal: None,
            actions: vec![
                "sagemaker:CreateApp",
                "sagemaker:DeleteApp",
                "sagemaker:DescribeApp",
            ],
            resources: apps.clone(),
            condition: None,
        },
        Statement {
            // Studio tags what it creates; tagging is allowed only as part of a create.
            sid: "TagOwnAppsOnCreate".into(),
            principal: None,
            actions: vec!["sagemaker:AddTags"],
            resources: apps,
            condition: Some(json!({"Null": {"sagemaker:TaggingAction": "false"}})),
        },
        Statement {
            sid: "UpdateOwnSpaceWithoutRemoteAccess".into(),
            principal: None,
            actions: vec!["sagemaker:UpdateSpace"],
            resources: vec![arn("space", &space)],
            condition: Some(json!({"StringNotEquals": {"sagemaker:RemoteAccess": "ENABLED"}})),
        },
        Statement {
            sid: "UseStudioKey".into(),
            principal: None,
            actions: vec![
                "kms:Decrypt",
                "kms:DescribeKey",
                "kms:Encrypt",
                "kms:GenerateDataKey",
                "kms:ReEncryptFrom",
                "kms:ReEncryptTo",
            ],
            resources: vec![shared.key_arn.clone()],
            condition: None,
        },
        Statement {
            sid: "WriteOwnAppLogs".into(),
            principal: None,
            actions: vec![
                "logs:CreateLogStream",
                "logs:DescribeLogStreams",
                "logs:PutLogEvents",
            ],
            resources: vec![
                sub(logs),
                sub(format!(
                    "{logs}:log-stream:${{{DOMAIN}.DomainId}}/{space}/*"
                )),
            ],
            condition: None,
        },
        Statement {
            sid: "CreateStudioLogGroup".into(),
            principal: None,
            actions: vec!["logs:CreateLogGroup"],
            resources: vec![sub(logs)],
            condition: None,
        },
    ]);
    t.add(
        user_id(user, GRANTS),
        Resource::new(
            "AWS::IAM::Policy",
            json!({
                "PolicyName": format!("{}-studio-{user}-permissions", bp.name),
                "Roles": [r#ref(role)],
                "PolicyDocument": document(statements),
            }),
        ),
    );
}

/// The user's own group. SageMaker puts it on the user's private space apps; nothing else in the
/// domain has it, so no other user's app can reach this user's.
fn security_group(
    bp: &Blueprint,
    names: &Names,
    t: &mut Template,
    shared: &Shared,
    user: &str,
) -> LogicalId {
    let endpoint_sg = shared
        .endpoint_sg
        .clone()
        .expect("security groups are lowered first");
    let group = t.add(
        user_id(user, GROUP),
        Resource::new(
            "AWS::EC2::SecurityGroup",
            json!({
                "GroupDescription": format!("{}: Studio apps of {user}, reachable from themselves only", names.stack),
                "VpcId": shared.vpc,
                "SecurityGroupEgress": [{
                    "IpProtocol": "tcp",
                    "FromPort": 443,
                    "ToPort": 443,
                    "DestinationSecurityGroupId": get_att(&endpoint_sg, "GroupId"),
                    "Description": "HTTPS to the interface VPC endpoints"
                }],
                "Tags": tags(bp, &[("Name", &format!("{}-studio-{user}", names.stack)), ("owner", user)]),
            }),
        ),
    );
    let gid = get_att(&group, "GroupId");
    let rule = |kind: &'static str, from: u16, to: u16, peer: (&str, Value), why: &str| {
        let mut r = json!({
            "GroupId": gid,
            "IpProtocol": "tcp",
            "FromPort": from,
            "ToPort": to,
            "Description": why,
        });
        r[peer.0] = peer.1;
        Resource::new(kind, r)
    };
    // SageMaker documents that apps of one group talk on TCP 8192-65535: the range is needed.
    let apps_range_waiver = || {
        json!({"nbsynth": {"waivers": [{
            "rule": "SG_SINGLE_PORT",
            "reason": "Studio apps talk to each other on TCP 8192-65535 (the range SageMaker documents for a VPC-only domain), and only within this user's own group"
        }]}})
    };
    let ingress = "AWS::EC2::SecurityGroupIngress";
    let egress = "AWS::EC2::SecurityGroupEgress";
    let own = |k: &'static str| (k, gid.clone());
    t.add(
        user_id(user, "UserGroupNfsIn"),
        rule(
            ingress,
            2049,
            2049,
            own("SourceSecurityGroupId"),
            "NFS to the home EFS, from this user's apps only",
        ),
    );
    t.add(
        user_id(user, "UserGroupAppsIn"),
        rule(
            ingress,
            8192,
            65535,
            own("SourceSecurityGroupId"),
            "Studio app-to-app traffic, from this user's apps only",
        )
        .metadata(apps_range_waiver()),
    );
    t.add(
        user_id(user, "UserGroupNfsOut"),
        rule(
            egress,
            2049,
            2049,
            own("DestinationSecurityGroupId"),
            "NFS to the home EFS, within this user's group",
        ),
    );
    t.add(
        user_id(user, "UserGroupAppsOut"),
        rule(
            egress,
            8192,
            65535,
            own("DestinationSecurityGroupId"),
            "Studio app-to-app traffic, within this user's group",
        )
        .metadata(apps_range_waiver()),
    );
    t.add(
        user_id(user, "UserGroupToS3PrefixList"),
        rule(
            egress,
            443,
            443,
            (
                "DestinationPrefixListId",
                json!({"Ref": PREFIX_LIST_PARAMETER}),
            ),
            "HTTPS to S3 through the gateway endpoint's prefix list",
        )
        .condition(HAS_PREFIX_LIST),
    );
    t.add(
        user_id(user, "UserGroupToS3"),
        rule(
            egress,
            443,
            443,
            ("CidrIp", json!("0.0.0.0/0")),
            "HTTPS to S3 through the gateway endpoint: the isolated route tables have no other route out",
        )
        .condition(NO_PREFIX_LIST)
        .metadata(json!({"nbsynth": {"waivers": [{
            "rule": "SG_NO_WORLD_EGRESS",
            "reason": "exists only while the S3PrefixListId parameter is empty; the isolated route tables route nothing but the S3 gateway prefix list, so 443 to 0.0.0.0/0 reaches S3 only (deploy with S3PrefixListId to remove it)"
        }]}})),
    );
    t.add(
        user_id(user, "UserGroupHttpsToEndpoints"),
        Resource::new(
            ingress,
            json!({
                "GroupId": get_att(&endpoint_sg, "GroupId"),
                "IpProtocol": "tcp",
                "FromPort": 443,
                "ToPort": 443,
                "SourceSecurityGroupId": gid,
                "Description": format!("HTTPS from the Studio apps of {user}"),
            }),
        ),
    );
    group
}

fn profile(
    bp: &Blueprint,
    t: &mut Template,
    studio: &Studio,
    u: &StudioUser,
    role: &LogicalId,
    group: &LogicalId,
    lccs: &Lccs,
) {
    let mut settings = serde_json::Map::new();
    settings.insert("ExecutionRole".into(), get_att(role, "Arn"));
    settings.insert("SecurityGroups".into(), json!([get_att(group, "GroupId")]));
    if let Some(p) = u.posix {
        settings.insert(
            "CustomPosixUserConfig".into(),
            json!({"Uid": p.uid, "Gid": p.gid}),
        );
    }
    for app in &studio.apps {
        let key = match app {
            App::Jupyterlab => "JupyterLabAppSettings",
            App::Codeeditor => "CodeEditorAppSettings",
        };
        let lcc = &lccs.by_user[&(u.user.clone(), *app)];
        settings.insert(
            key.into(),
            json!({"BuiltInLifecycleConfigArn": get_att(lcc, "StudioLifecycleConfigArn")}),
        );
    }
    t.add(
        user_id(&u.user, PROFILE),
        Resource::new(
            "AWS::SageMaker::UserProfile",
            json!({
                "DomainId": get_att(&LogicalId::new(&[DOMAIN]), "DomainId"),
                "UserProfileName": u.user,
                "UserSettings": settings,
                "Tags": tags(bp, &[("owner", &u.user)]),
            }),
        )
        // The role must hold its permissions before the first app starts in the profile.
        .depends_on([user_id(&u.user, GRANTS)]),
    );
}

fn space(bp: &Blueprint, t: &mut Template, studio: &Studio, u: &StudioUser) {
    let instance_type = u
        .instance_type
        .as_ref()
        .unwrap_or(&studio.defaults.instance_type);
    t.add(
        user_id(&u.user, SPACE),
        Resource::new(
            "AWS::SageMaker::Space",
            json!({
                "DomainId": get_att(&LogicalId::new(&[DOMAIN]), "DomainId"),
                "SpaceName": space_name(&u.user),
                "SpaceDisplayName": format!("{} (private)", u.user),
                "OwnershipSettings": {"OwnerUserProfileName": u.user},
                "SpaceSharingSettings": {"SharingType": "Private"},
                "SpaceSettings": {
                    "AppType": "JupyterLab",
                    "RemoteAccess": "DISABLED",
                    "JupyterLabAppSettings": {"DefaultResourceSpec": {"InstanceType": instance_type}},
                    "SpaceStorageSettings": {"EbsStorageSettings": {"EbsVolumeSizeInGb": studio.defaults.volume_gb}},
                },
                "Tags": tags(bp, &[("owner", &u.user)]),
            }),
        )
        .depends_on([user_id(&u.user, PROFILE)]),
    );
}
