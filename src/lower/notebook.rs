//! Notebook instances, one per owner, and the code repositories they use.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::Shared;
use super::iam::Roles;
use super::naming::{NOTEBOOK, Names, PERMISSIONS, stable_hash, tags};
use crate::blueprint::Blueprint;
use crate::cfn::{LogicalId, Resource, Template, get_att};

pub fn lower(
    bp: &Blueprint,
    names: &Names,
    t: &mut Template,
    shared: &Shared,
    roles: &Roles,
    lifecycles: &BTreeMap<String, LogicalId>,
) {
    let mut repos = BTreeMap::new();
    for (name, repo) in &bp.repositories {
        let mut git = serde_json::Map::new();
        // A repository named by CodeCommit name follows the stack's region.
        let url = match &repo.url {
            Some(url) => json!(url),
            None => crate::cfn::sub(repo.clone_url()),
        };
        git.insert("RepositoryUrl".into(), url);
        if let Some(b) = &repo.branch {
            git.insert("Branch".into(), json!(b));
        }
        let id = t.add(
            LogicalId::new(&[name.as_str(), "Repository"]),
            Resource::new(
                "AWS::SageMaker::CodeRepository",
                json!({"CodeRepositoryName": names.code_repository(name), "GitConfig": git}),
            ),
        );
        repos.insert(name.clone(), id);
    }
    let Some(sg) = shared.notebook_sg.clone() else {
        return; // no notebook instances
    };
    for inst in &bp.notebooks.instances {
        let owner = inst.owner.as_str();
        let d = &bp.notebooks.defaults;
        let life = bp.lifecycle.effective(inst.lifecycle.as_ref());
        // Subnet by a hash of the owner, not by position: adding or reordering owners never
        // moves (and so never replaces) another owner's notebook.
        let subnet =
            shared.subnets[(stable_hash(owner) % shared.subnets.len() as u64) as usize].clone();
        let mut p = serde_json::Map::new();
        p.insert("NotebookInstanceName".into(), json!(names.notebook(owner)));
        p.insert(
            "InstanceType".into(),
            json!(inst.instance_type.as_ref().unwrap_or(&d.instance_type)),
        );
        p.insert(
            "PlatformIdentifier".into(),
            json!(inst.platform.as_ref().unwrap_or(&d.platform)),
        );
        p.insert(
            "VolumeSizeInGB".into(),
            json!(inst.volume_gb.unwrap_or(d.volume_gb)),
        );
        p.insert("RoleArn".into(), get_att(&roles[owner], "Arn"));
        p.insert("DirectInternetAccess".into(), json!("Disabled"));
        p.insert(
            "RootAccess".into(),
            json!(if life.root_access {
                "Enabled"
            } else {
                "Disabled"
            }),
        );
        p.insert("KmsKeyId".into(), shared.key_id.clone());
        p.insert("SubnetId".into(), subnet);
        p.insert("SecurityGroupIds".into(), json!([get_att(&sg, "GroupId")]));
        p.insert(
            "InstanceMetadataServiceConfiguration".into(),
            json!({"MinimumInstanceMetadataServiceVersion": "2"}),
        );
        p.insert(
            "LifecycleConfigName".into(),
            get_att(&lifecycles[owner], "NotebookInstanceLifecycleConfigName"),
        );
        let mut rs = inst
            .repositories
            .iter()
            .map(|r| get_att(&repos[r], "CodeRepositoryName"));
        if let Some(first) = rs.next() {
            p.insert("DefaultCodeRepository".into(), first);
            let rest: Vec<Value> = rs.collect();
            if !rest.is_empty() {
                p.insert("AdditionalCodeRepositories".into(), json!(rest));
            }
        }
        p.insert("Tags".into(), tags(bp, &[("owner", owner)]));
        // The lifecycle script needs the role's permissions and the endpoints at first start.
        let mut deps = vec![names.owner_id(owner, PERMISSIONS)];
        deps.extend(shared.interface_endpoints.iter().cloned());
        t.add(
            names.owner_id(owner, NOTEBOOK),
            Resource::new("AWS::SageMaker::NotebookInstance", Value::Object(p)).depends_on(deps),
        );
    }
}
