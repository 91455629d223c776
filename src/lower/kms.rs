//! The customer managed key that encrypts the notebooks' volumes: rotation on, kept when the
//! stack is deleted, administered by the account, usable by the notebook roles only.
//! An existing key is taken as the parameter `KmsKeyArn` (default: the blueprint's ARN), so
//! the template itself holds no account id.

use serde_json::json;

use super::Shared;
use super::iam::Roles;
use super::naming::{Names, tags};
use crate::blueprint::Blueprint;
use crate::cfn::{LogicalId, Resource, Template, get_att, r#ref, sub};

pub const KEY_PARAMETER: &str = "KmsKeyArn";

pub fn lower(bp: &Blueprint, names: &Names, t: &mut Template, shared: &mut Shared, roles: &Roles) {
    if bp.encryption.kms_key != "create" {
        t.parameters.insert(
            KEY_PARAMETER.into(),
            json!({
                "Type": "String",
                "Default": bp.encryption.kms_key,
                "AllowedPattern": "^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/(mrk-)?[0-9a-f-]{32,36}$",
                "Description": "ARN of the existing KMS key that encrypts the notebooks' volumes"
            }),
        );
        let key = json!({"Ref": KEY_PARAMETER});
        shared.key_id = key.clone();
        shared.key_arn = key;
        return;
    }
    let role_arns: Vec<_> = roles.values().map(|r| get_att(r, "Arn")).collect();
    let mut statements = vec![json!({
        "Sid": "AccountAdministers",
        "Effect": "Allow",
        "Principal": {"AWS": sub("arn:${AWS::Partition}:iam::${AWS::AccountId}:root")},
        "Action": "kms:*",
        "Resource": "*"
    })];
    if !shared.key_via_iam {
        statements.push(json!({
            "Sid": "NotebookRolesUse",
            "Effect": "Allow",
            "Principal": {"AWS": role_arns},
            "Action": ["kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey", "kms:ReEncryptFrom", "kms:ReEncryptTo"],
            "Resource": "*"
        }));
        statements.push(json!({
            "Sid": "NotebookRolesGrantToAwsServices",
            "Effect": "Allow",
            "Principal": {"AWS": role_arns},
            "Action": "kms:CreateGrant",
            "Resource": "*",
            "Condition": {"Bool": {"kms:GrantIsForAWSResource": true}}
        }));
    }
    let key = t.add(
        LogicalId::new(&["NotebookKey"]),
        Resource::new(
            "AWS::KMS::Key",
            json!({
                "Description": format!("{}: encrypts the notebook instances' volumes", names.stack),
                "EnableKeyRotation": true,
                "KeyPolicy": {"Version": "2012-10-17", "Statement": statements},
                "Tags": tags(bp, &[("Name", &names.stack)]),
            }),
        )
        .retain(),
    );
    t.add(
        LogicalId::new(&["NotebookKeyAlias"]),
        Resource::new(
            "AWS::KMS::Alias",
            json!({"AliasName": format!("alias/nbsynth/{}", names.stack), "TargetKeyId": r#ref(&key)}),
        ),
    );
    shared.key_id = r#ref(&key);
    shared.key_arn = get_att(&key, "Arn");
    shared.key_resource = Some(key);
}
