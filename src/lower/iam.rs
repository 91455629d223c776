//! IAM: one role per owner trusted only by SageMaker, its least-privilege permissions as a
//! separate policy (so the KMS key policy can name the role without a dependency cycle), and
//! the optional access policy that lets a person open only their own notebook.
//! Also the policy-document builder shared with the S3 endpoint policy.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Value, json};

use super::naming::{ACCESS, Names, PERMISSIONS, ROLE, tags};
use super::{LowerError, Shared};
use crate::blueprint::Blueprint;
use crate::blueprint::model::Source;
use crate::cfn::{LogicalId, Pseudo, Resource, Template, r#ref, sub};

/// One policy statement; [`document`] sorts and de-duplicates.
pub struct Statement {
    pub sid: String,
    pub principal: Option<Value>,
    pub actions: Vec<&'static str>,
    pub resources: Vec<Value>,
    pub condition: Option<Value>,
}

/// A policy document with statements sorted by Sid, actions sorted, resources de-duplicated
/// and sorted; statements that grant nothing are dropped.
pub fn document(statements: Vec<Statement>) -> Value {
    let mut by_sid: BTreeMap<String, Value> = BTreeMap::new();
    for s in statements {
        if s.resources.is_empty() || s.actions.is_empty() {
            continue;
        }
        let actions: BTreeSet<&str> = s.actions.into_iter().collect();
        let mut resources: Vec<(String, Value)> = s
            .resources
            .into_iter()
            .map(|r| (r.to_string(), r))
            .collect();
        resources.sort_by(|a, b| a.0.cmp(&b.0));
        resources.dedup_by(|a, b| a.0 == b.0);
        let mut m = serde_json::Map::new();
        m.insert("Sid".into(), json!(s.sid));
        m.insert("Effect".into(), json!("Allow"));
        if let Some(p) = s.principal {
            m.insert("Principal".into(), p);
        }
        m.insert("Action".into(), json!(actions));
        let resources: Vec<Value> = resources.into_iter().map(|(_, v)| v).collect();
        m.insert(
            "Resource".into(),
            if resources.len() == 1 {
                resources[0].clone()
            } else {
                json!(resources)
            },
        );
        if let Some(c) = s.condition {
            m.insert("Condition".into(), c);
        }
        let previous = by_sid.insert(s.sid, Value::Object(m));
        debug_assert!(previous.is_none(), "duplicate Sid");
    }
    json!({"Version": "2012-10-17", "Statement": by_sid.into_values().collect::<Vec<_>>()})
}

/// S3 prefixes granted, by bucket, for the given owners (`{owner}` expanded).
pub struct DataGrants {
    pub read: BTreeMap<String, BTreeSet<String>>,
    pub write: BTreeMap<String, BTreeSet<String>>,
}

pub fn data_grants<'a>(
    bp: &Blueprint,
    owners: impl IntoIterator<Item = &'a str> + Clone,
) -> DataGrants {
    let mut g = DataGrants {
        read: BTreeMap::new(),
        write: BTreeMap::new(),
    };
    for b in &bp.data.buckets {
        for (prefixes, into) in [(&b.read, &mut g.read), (&b.write, &mut g.write)] {
            let set = into.entry(b.name.clone()).or_default();
            for p in prefixes {
                if p.contains("{owner}") {
                    set.extend(owners.clone().into_iter().map(|o| p.replace("{owner}", o)));
                } else {
                    set.insert(p.clone());
                }
            }
        }
    }
    // The lifecycle scripts' own prefix in `source: s3://` mode is readable too.
    if let Source::S3 { bucket, prefix } = bp.lifecycle.effective(None).source {
        g.read.entry(bucket).or_default().insert(prefix);
    }
    g.read.retain(|_, s| !s.is_empty());
    g.write.retain(|_, s| !s.is_empty());
    g
}

fn object_arn(bucket: &str, prefix: &str) -> Value {
    sub(format!("arn:${{AWS::Partition}}:s3:::{bucket}/{prefix}*"))
}

fn bucket_arn(bucket: &str) -> Value {
    sub(format!("arn:${{AWS::Partition}}:s3:::{bucket}"))
}

/// The S3 statements for a set of grants. With `principal`, statements carry `Principal: *`
/// limited to this account's principals (for the endpoint policy).
pub fn s3_statements(g: &DataGrants, endpoint: bool) -> Vec<Statement> {
    let principal = endpoint.then(|| json!("*"));
    let account = |extra: Option<Value>| -> Option<Value> {
        let mut c = serde_json::Map::new();
        if endpoint {
            c.insert(
                "StringEquals".into(),
                json!({"aws:PrincipalAccount": Pseudo::AccountId.r#ref()}),
            );
        }
        if let Some(Value::Object(m)) = extra {
            c.extend(m);
        }
        (!c.is_empty()).then_some(Value::Object(c))
    };
    let mut out = Vec::new();
    let mut readable: Vec<Value> = Vec::new();
    let mut writable: Vec<Value> = Vec::new();
    let buckets: BTreeSet<&String> = g.read.keys().chain(g.write.keys()).collect();
    for bucket in buckets {
        let read = g.read.get(bucket).into_iter().flatten();
        let write: Vec<&String> = g.write.get(bucket).into_iter().flatten().collect();
        let listable: BTreeSet<&String> = read.chain(write.iter().copied()).collect();
        readable.extend(listable.iter().map(|p| object_arn(bucket, p)));
        writable.extend(write.iter().map(|p| object_arn(bucket, p)));
        let whole = listable.iter().any(|p| p.is_empty());
        let prefixes: Vec<String> = listable.iter().map(|p| format!("{p}*")).collect();
        out.push(Statement {
            sid: LogicalId::new(&["List", bucket.as_str()]).to_string(),
            principal: principal.clone(),
            actions: vec!["s3:ListBucket"],
            resources: vec![bucket_arn(bucket)],
            condition: account((!whole).then(|| json!({"StringLike": {"s3:prefix": prefixes}}))),
        });
    }
    out.push(Statement {
        sid: "ReadObjects".into(),
        principal: principal.clone(),
        actions: vec!["s3:GetObject"],
        resources: readable,
        condition: account(None),
    });
    out.push(Statement {
        sid: "WriteObjects".into(),
        principal,
        actions: vec!["s3:AbortMultipartUpload", "s3:DeleteObject", "s3:PutObject"],
        resources: writable,
        condition: account(None),
    });
    out
}

/// ARN of an owner's notebook instance.
pub fn notebook_arn(names: &Names, owner: &str) -> Value {
    sub(format!(
        "arn:${{AWS::Partition}}:sagemaker:${{AWS::Region}}:${{AWS::AccountId}}:notebook-instance/{}",
        names.notebook(owner)
    ))
}

/// Role IDs by owner.
pub type Roles = BTreeMap<String, LogicalId>;

pub fn lower_roles(bp: &Blueprint, names: &Names, t: &mut Template) -> Roles {
    let mut roles = Roles::new();
    for inst in &bp.notebooks.instances {
        let owner = &inst.owner;
        let id = t.add(
            names.owner_id(owner, ROLE),
            Resource::new(
                "AWS::IAM::Role",
                json!({
                    "Description": format!("Execution role of notebook {}", names.notebook(owner)),
                    "AssumeRolePolicyDocument": {
                        "Version": "2012-10-17",
                        "Statement": [{
                            "Effect": "Allow",
                            "Principal": {"Service": "sagemaker.amazonaws.com"},
                            "Action": "sts:AssumeRole"
                        }]
                    },
                    "Tags": tags(bp, &[("owner", owner)]),
                }),
            ),
        );
        roles.insert(owner.clone(), id);
    }
    roles
}

pub fn lower_policies(
    bp: &Blueprint,
    names: &Names,
    t: &mut Template,
    shared: &Shared,
    roles: &Roles,
) -> Result<(), LowerError> {
    principals_account(bp, t)?;
    for inst in &bp.notebooks.instances {
        let owner = inst.owner.as_str();
        let nb = names.notebook(owner);
        let mut statements = s3_statements(&data_grants(bp, [owner]), false);
        statements.push(Statement {
            sid: "StopOwnNotebookWhenIdle".into(),
            principal: None,
            actions: vec![
                "sagemaker:DescribeNotebookInstance",
                "sagemaker:StopNotebookInstance",
            ],
            resources: vec![notebook_arn(names, owner)],
            condition: None,
        });
        statements.push(Statement {
            sid: "UseNotebookKey".into(),
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
        });
        if shared.key_via_iam {
            // What the key policy grants the roles by name when the stack is one template.
            statements.push(Statement {
                sid: "GrantNotebookKeyToAwsServices".into(),
                principal: None,
                actions: vec!["kms:CreateGrant"],
                resources: vec![shared.key_arn.clone()],
                condition: Some(serde_json::json!({"Bool": {"kms:GrantIsForAWSResource": true}})),
            });
        }
        statements.push(Statement {
            sid: "WriteLifecycleLogs".into(),
            principal: None,
            actions: vec!["logs:CreateLogStream", "logs:DescribeLogStreams", "logs:PutLogEvents"],
            resources: vec![
                sub("arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:/aws/sagemaker/NotebookInstances"),
                sub(format!(
                    "arn:${{AWS::Partition}}:logs:${{AWS::Region}}:${{AWS::AccountId}}:log-group:/aws/sagemaker/NotebookInstances:log-stream:{nb}/*"
                )),
            ],
            condition: None,
        });
        statements.push(Statement {
            sid: "CreateLifecycleLogGroup".into(),
            principal: None,
            actions: vec!["logs:CreateLogGroup"],
            resources: vec![sub(
                "arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:/aws/sagemaker/NotebookInstances",
            )],
            condition: None,
        });
        let codecommit: Vec<Value> = inst
            .repositories
            .iter()
            .filter_map(|r| bp.repositories.get(r))
            .filter_map(|r| codecommit_repo(&r.url))
            .map(|name| {
                sub(format!(
                    "arn:${{AWS::Partition}}:codecommit:${{AWS::Region}}:${{AWS::AccountId}}:{name}"
                ))
            })
            .collect();
        statements.push(Statement {
            sid: "UseOwnRepositories".into(),
            principal: None,
            actions: vec!["codecommit:GitPull", "codecommit:GitPush"],
            resources: codecommit,
            condition: None,
        });
        t.add(
            names.owner_id(owner, PERMISSIONS),
            Resource::new(
                "AWS::IAM::Policy",
                json!({
                    "PolicyName": format!("{nb}-permissions"),
                    "Roles": [r#ref(&roles[owner])],
                    "PolicyDocument": document(statements),
                }),
            ),
        );
        if let Some(access) = &bp.access {
            lower_access(names, t, shared, owner, access);
        }
    }
    Ok(())
}

/// Access policies attach to principals by name (CloudFormation takes names, not ARNs), so a
/// deploy in another account would attach to whatever role there has that name. All principals
/// must be in one account, and the template refuses to deploy anywhere else.
fn principals_account(bp: &Blueprint, t: &mut Template) -> Result<(), LowerError> {
    let Some(access) = &bp.access else {
        return Ok(());
    };
    let account = |arn: &str| arn.split(':').nth(4).unwrap_or_default().to_string();
    let mut accounts: BTreeMap<String, &String> = BTreeMap::new();
    for (owner, arn) in &access.principals {
        accounts.entry(account(arn)).or_insert(owner);
    }
    let mut it = accounts.iter();
    let Some((first, _)) = it.next() else {
        return Ok(());
    };
    if let Some((other, owner)) = it.next() {
        return Err(LowerError {
            message: format!(
                "access.principals name principals in accounts {first} and {other}; a stack can attach policies in its own account only"
            ),
            pointer: format!(
                "/access/principals/{}",
                crate::source::yaml::escape_pointer(owner)
            ),
            help: Some("use one blueprint per account".into()),
        });
    }
    t.rules.insert(
        "PrincipalsAccount".into(),
        json!({"Assertions": [{
            "Assert": {"Fn::Equals": [Pseudo::AccountId.r#ref(), first]},
            "AssertDescription": format!("access.principals name IAM principals of account {first}: deploy this stack in that account")
        }]}),
    );
    Ok(())
}

fn lower_access(
    names: &Names,
    t: &mut Template,
    shared: &Shared,
    owner: &str,
    access: &crate::blueprint::model::Access,
) {
    let mut condition = serde_json::Map::new();
    if !access.source_cidrs.is_empty() {
        condition.insert(
            "IpAddress".into(),
            json!({"aws:SourceIp": access.source_cidrs}),
        );
    }
    if access.via_vpc_endpoint {
        let ids: Vec<Value> = shared.access_endpoints.iter().map(r#ref).collect();
        condition.insert("StringEquals".into(), json!({"aws:SourceVpce": ids}));
    }
    let statement = Statement {
        sid: "OpenOwnNotebook".into(),
        principal: None,
        actions: vec![
            "sagemaker:CreatePresignedNotebookInstanceUrl",
            "sagemaker:DescribeNotebookInstance",
        ],
        resources: vec![notebook_arn(names, owner)],
        condition: (!condition.is_empty()).then_some(Value::Object(condition)),
    };
    let mut props = serde_json::Map::new();
    props.insert(
        "Description".into(),
        json!(format!(
            "Lets {owner} open notebook {} and nothing else",
            names.notebook(owner)
        )),
    );
    props.insert("PolicyDocument".into(), document(vec![statement]));
    if let Some(arn) = access.principals.get(owner) {
        // arn:aws:iam::123456789012:role/path/name -> attach by name.
        let (kind, rest) = arn
            .split_once(":role/")
            .map(|(_, r)| ("Roles", r))
            .or_else(|| arn.split_once(":user/").map(|(_, r)| ("Users", r)))
            .expect("schema-checked principal ARN");
        let name = rest.rsplit('/').next().unwrap_or(rest);
        props.insert(kind.into(), json!([name]));
    }
    t.add(
        names.owner_id(owner, ACCESS),
        Resource::new("AWS::IAM::ManagedPolicy", Value::Object(props)),
    );
}

/// The repository name of a CodeCommit HTTPS URL.
pub fn codecommit_repo(url: &str) -> Option<String> {
    let rest = url.strip_prefix("https://git-codecommit.")?;
    let (_, path) = rest.split_once("/v1/repos/")?;
    Some(path.trim_end_matches('/').to_string())
}
