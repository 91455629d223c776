//! The Studio domain: VPC only, IAM authentication, the stack's subnets and key, the profile name
//! as source identity, no Docker, only the blueprint's apps visible, the built-in lifecycle
//! configurations and idle shutdown for every user, notebook sharing off.

use serde_json::{Value, json};

use super::lifecycle::Lccs;
use super::{DOMAIN, trust};
use crate::blueprint::Blueprint;
use crate::blueprint::studio::{App, HomeEfs, MIN_IDLE_MINUTES, Studio};
use crate::cfn::{LogicalId, Resource, Template, get_att, sub};
use crate::lower::Shared;
use crate::lower::naming::{Names, tags};

pub const DEFAULT_ROLE: &str = "StudioDefaultRole";
pub const BASE_GROUP: &str = "StudioDefaultSecurityGroup";

/// Every app type the Studio web portal knows (the schema's `AppType`); all but the blueprint's
/// apps are hidden.
const APP_TYPES: &[&str] = &[
    "Canvas",
    "CodeEditor",
    "DetailedProfiler",
    "JupyterLab",
    "JupyterServer",
    "RStudioServerPro",
    "TensorBoard",
];

/// Every ML tool the portal shows (the schema's `MlTools`): none is needed to use a space.
const ML_TOOLS: &[&str] = &[
    "AutoMl",
    "Comet",
    "DataWrangler",
    "DeepchecksLLMEvaluation",
    "EmrClusters",
    "Endpoints",
    "Experiments",
    "FeatureStore",
    "Fiddler",
    "HyperPodClusters",
    "InferenceOptimization",
    "InferenceRecommender",
    "JumpStart",
    "LakeraGuard",
    "ModelEvaluation",
    "Models",
    "PerformanceEvaluation",
    "Pipelines",
    "Projects",
    "Training",
];

/// The domain requires a default execution role. It has no permissions: every profile names its
/// own role, so this one only serves profiles made outside the stack, which can then do nothing.
pub fn lower_default_role(bp: &Blueprint, names: &Names, t: &mut Template) {
    t.add(
        LogicalId::new(&[DEFAULT_ROLE]),
        Resource::new(
            "AWS::IAM::Role",
            json!({
                "Description": format!("Default execution role of Studio domain {}: no permissions", names.stack),
                "AssumeRolePolicyDocument": trust(),
                "Tags": tags(bp, &[]),
            }),
        ),
    );
}

/// Idle shutdown as the domain's built-in setting: users may pick a shorter time, not a longer.
pub fn idle(minutes: u32) -> Value {
    if minutes == 0 {
        return json!({"IdleSettings": {"LifecycleManagement": "DISABLED"}});
    }
    json!({"IdleSettings": {
        "LifecycleManagement": "ENABLED",
        "IdleTimeoutInMinutes": minutes,
        "MinIdleTimeoutInMinutes": MIN_IDLE_MINUTES,
        "MaxIdleTimeoutInMinutes": minutes,
    }})
}

pub fn lower(
    bp: &Blueprint,
    names: &Names,
    t: &mut Template,
    shared: &Shared,
    studio: &Studio,
    lccs: &Lccs,
) {
    let idle_minutes = bp.lifecycle.effective(None).idle_shutdown;
    let hidden: Vec<&str> = APP_TYPES
        .iter()
        .copied()
        .filter(|a| !studio.apps.iter().any(|app| app.app_type() == *a))
        .collect();
    // Older API references require DefaultUserSettings.SecurityGroups for a VpcOnly domain.
    // SageMaker adds the domain's groups to every app, so this one admits nothing and sends nothing.
    let base_group = t.add(
        LogicalId::new(&[BASE_GROUP]),
        Resource::new(
            "AWS::EC2::SecurityGroup",
            json!({
                "GroupDescription": format!("{}: Studio domain default, admits and sends nothing (each user has their own group)", names.stack),
                "VpcId": shared.vpc,
                "SecurityGroupEgress": [crate::lower::security::no_egress("No outbound traffic (an empty egress list would allow all)")],
                "Tags": tags(bp, &[("Name", &format!("{}-studio-default", names.stack))]),
            }),
        ),
    );
    let mut user = serde_json::Map::new();
    user.insert(
        "ExecutionRole".into(),
        get_att(&LogicalId::new(&[DEFAULT_ROLE]), "Arn"),
    );
    user.insert(
        "SecurityGroups".into(),
        json!([get_att(&base_group, "GroupId")]),
    );
    user.insert("StudioWebPortal".into(), json!("ENABLED"));
    user.insert("DefaultLandingUri".into(), json!("studio::"));
    user.insert(
        "StudioWebPortalSettings".into(),
        json!({"HiddenAppTypes": hidden, "HiddenMlTools": ML_TOOLS}),
    );
    user.insert(
        "SharingSettings".into(),
        json!({"NotebookOutputOption": "Disabled"}),
    );
    user.insert(
        "SpaceStorageSettings".into(),
        json!({"DefaultEbsStorageSettings": {
            "DefaultEbsVolumeSizeInGb": studio.defaults.volume_gb,
            "MaximumEbsVolumeSizeInGb": studio.defaults.volume_gb,
        }}),
    );
    for app in &studio.apps {
        let mut settings = json!({
            "AppLifecycleManagement": idle(idle_minutes),
            "BuiltInLifecycleConfigArn": get_att(&lccs.domain[app], "StudioLifecycleConfigArn"),
        });
        if *app == App::Jupyterlab {
            settings["DefaultResourceSpec"] =
                json!({"InstanceType": studio.defaults.instance_type});
        }
        let key = match app {
            App::Jupyterlab => "JupyterLabAppSettings",
            App::Codeeditor => "CodeEditorAppSettings",
        };
        user.insert(key.into(), settings);
    }
    t.add(
        LogicalId::new(&[DOMAIN]),
        Resource::new(
            "AWS::SageMaker::Domain",
            json!({
                "DomainName": names.stack,
                "AuthMode": "IAM",
                "AppNetworkAccessType": "VpcOnly",
                "VpcId": shared.vpc,
                "SubnetIds": shared.subnets,
                "KmsKeyId": shared.key_id,
                "DomainSettings": {
                    "ExecutionRoleIdentityConfig": "USER_PROFILE_NAME",
                    "DockerSettings": {"EnableDockerAccess": "DISABLED"},
                },
                "DefaultUserSettings": user,
                "Tags": tags(bp, &[]),
            }),
        ),
    );
}

/// CloudFormation deletes a domain without a RetentionPolicy, so the API's default (Retain) keeps
/// the home EFS. The output says where it is and, for `home_efs: delete`, how to remove it.
pub fn home_efs_output(studio: &Studio, t: &mut Template) {
    let (description, value) = match studio.home_efs {
        HomeEfs::Retain => (
            "Home EFS of the Studio domain (kept when the domain is deleted)",
            sub(format!("${{{DOMAIN}.HomeEfsFileSystemId}}")),
        ),
        HomeEfs::Delete => (
            "Run after deleting the stack: removes the home EFS that CloudFormation cannot delete with the domain",
            sub(format!(
                "for m in $(aws efs describe-mount-targets --file-system-id ${{{DOMAIN}.HomeEfsFileSystemId}} --query 'MountTargets[].MountTargetId' --output text); do aws efs delete-mount-target --mount-target-id $m; done; while [ -n \"$(aws efs describe-mount-targets --file-system-id ${{{DOMAIN}.HomeEfsFileSystemId}} --query 'MountTargets[].MountTargetId' --output text)\" ]; do sleep 10; done; aws efs delete-file-system --file-system-id ${{{DOMAIN}.HomeEfsFileSystemId}}"
            )),
        ),
    };
    t.output(LogicalId::new(&["StudioHomeEfs"]), description, value);
}
