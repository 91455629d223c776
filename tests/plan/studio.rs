//! Studio (Domain, UserProfile, Space) on hand-written template pairs: the compiler does not
//! emit Studio yet, but the data-holding table, the create-only knowledge and the cascades
//! are driven by resource types, so they must already judge these right.

use serde_json::{Value, json};

use nbsynth::plan::{Action, Change, Plan, Verdict, compare};

fn base() -> Value {
    json!({
        "Parameters": {"Uid": {"Type": "Number", "Default": 200001}},
        "Resources": {
            "Key": {"Type": "AWS::KMS::Key", "DeletionPolicy": "Retain", "UpdateReplacePolicy": "Retain",
                    "Properties": {"KeyPolicy": {}}},
            "OtherKey": {"Type": "AWS::KMS::Key", "Properties": {"KeyPolicy": {}}},
            "StudioSg": {"Type": "AWS::EC2::SecurityGroup",
                         "Properties": {"GroupDescription": "studio apps", "VpcId": "vpc-0123456789abcdef0"}},
            "Domain": {"Type": "AWS::SageMaker::Domain", "Properties": {
                "DomainName": "research", "AuthMode": "IAM",
                "VpcId": "vpc-0123456789abcdef0", "SubnetIds": ["subnet-0123456789abcdef0"],
                "KmsKeyId": {"Ref": "Key"},
                "DefaultUserSettings": {
                    "ExecutionRole": "arn:aws:iam::123456789012:role/studio",
                    "SecurityGroups": [{"Fn::GetAtt": ["StudioSg", "GroupId"]}]
                }
            }},
            "AliceProfile": {"Type": "AWS::SageMaker::UserProfile", "Properties": {
                "DomainId": {"Fn::GetAtt": ["Domain", "DomainId"]}, "UserProfileName": "alice",
                "UserSettings": {"CustomPosixUserConfig": {"Uid": 200001, "Gid": 1001}}
            }},
            "AliceSpace": {"Type": "AWS::SageMaker::Space", "Properties": {
                "DomainId": {"Fn::GetAtt": ["Domain", "DomainId"]}, "SpaceName": "alice-space",
                "OwnershipSettings": {"OwnerUserProfileName": {"Fn::GetAtt": ["AliceProfile", "UserProfileName"]}}
            }}
        }
    })
}

/// `base()` with `edit` applied to it.
fn after(edit: impl FnOnce(&mut Value)) -> Value {
    let mut v = base();
    edit(&mut v);
    v
}

fn get<'a>(plan: &'a Plan, id: &str) -> &'a Change {
    plan.changes
        .iter()
        .find(|c| c.logical_id == id)
        .unwrap_or_else(|| panic!("no change of {id}: {plan:#?}"))
}

fn resources(v: &mut Value) -> &mut serde_json::Map<String, Value> {
    v["Resources"].as_object_mut().unwrap()
}

#[test]
fn the_same_template_plans_nothing() {
    assert_eq!(compare(&base(), &base()).verdict(), Verdict::NoChange);
}

#[test]
fn a_user_added_is_an_add_only() {
    let new = after(|v| {
        let mut bob = v["Resources"]["AliceProfile"].clone();
        bob["Properties"]["UserProfileName"] = json!("bob");
        resources(v).insert("BobProfile".into(), bob);
    });
    let plan = compare(&base(), &new);
    assert_eq!(plan.verdict(), Verdict::Changes);
    assert_eq!(plan.changes.len(), 1);
    assert_eq!(get(&plan, "BobProfile").action, Action::Add);
}

#[test]
fn a_user_removed_strands_their_home() {
    let new = after(|v| {
        resources(v).remove("AliceProfile");
        resources(v).remove("AliceSpace");
    });
    let plan = compare(&base(), &new);
    assert_eq!(plan.verdict(), Verdict::DataLoss);
    let p = get(&plan, "AliceProfile");
    assert_eq!(
        (p.action, p.data_loss, p.interruption),
        (Action::Remove, true, true)
    );
    assert!(
        p.reasons.iter().any(|r| r.contains("home directory")),
        "{:?}",
        p.reasons
    );
    assert!(get(&plan, "AliceSpace").data_loss);
}

#[test]
fn a_changed_uid_is_in_place_but_orphans_the_files() {
    let new = after(|v| {
        v["Resources"]["AliceProfile"]["Properties"]["UserSettings"]["CustomPosixUserConfig"]["Uid"] =
            json!(200002);
    });
    let plan = compare(&base(), &new);
    let p = get(&plan, "AliceProfile");
    assert_eq!(
        p.action,
        Action::Modify,
        "CloudFormation updates the uid without replacement"
    );
    assert!(
        p.data_loss,
        "files owned by the old uid are no longer the user's"
    );
    assert_eq!(p.properties, ["UserSettings/CustomPosixUserConfig/Uid"]);
    assert!(p.reasons.iter().any(|r| r.starts_with("data access:")));
    assert_eq!(plan.verdict(), Verdict::DataLoss);
    assert_eq!(
        plan.changes.len(),
        1,
        "the space refers to the profile's name, which stays"
    );
}

#[test]
fn a_replaced_domain_replaces_every_profile_and_space() {
    // KmsKeyId is create-only on the domain; DomainId is create-only on profiles and spaces.
    let new = after(|v| {
        v["Resources"]["Domain"]["Properties"]["KmsKeyId"] = json!({"Ref": "OtherKey"});
    });
    let plan = compare(&base(), &new);
    for id in ["Domain", "AliceProfile", "AliceSpace"] {
        let c = get(&plan, id);
        assert_eq!(
            (c.action, c.data_loss),
            (Action::Replace, true),
            "{id}: {:?}",
            c.reasons
        );
    }
    assert!(
        get(&plan, "AliceProfile")
            .reasons
            .iter()
            .any(|r| r == "DomainId refers to Domain, which is replaced (create-only: replaces)")
    );
    // The space's owner is the profile's name (the same literal text), replaced with it.
    assert!(
        get(&plan, "AliceSpace")
            .reasons
            .iter()
            .any(|r| r.contains("OwnershipSettings/OwnerUserProfileName refers to AliceProfile"))
    );
    assert_eq!(plan.verdict(), Verdict::DataLoss);
}

#[test]
fn a_replaced_security_group_only_updates_the_domain() {
    // DefaultUserSettings/SecurityGroups is not create-only: the new group id is an update.
    let new = after(|v| {
        v["Resources"]["StudioSg"]["Properties"]["GroupDescription"] = json!("studio apps v2");
    });
    let plan = compare(&base(), &new);
    assert_eq!(get(&plan, "StudioSg").action, Action::Replace);
    let d = get(&plan, "Domain");
    assert_eq!((d.action, d.data_loss), (Action::Modify, false));
    assert_eq!(d.properties, ["DefaultUserSettings/SecurityGroups"]);
    assert_eq!(plan.verdict(), Verdict::Changes);
}

#[test]
fn the_conditional_vpc_id_is_settled() {
    let changed = after(|v| {
        v["Resources"]["Domain"]["Properties"]["VpcId"] = json!("vpc-0fedcba9876543210");
    });
    let plan = compare(&base(), &changed);
    assert_eq!(get(&plan, "Domain").action, Action::Replace);
    // Adding a VPC to a domain created without one is the one in-place case.
    let without = after(|v| {
        v["Resources"]["Domain"]["Properties"]
            .as_object_mut()
            .unwrap()
            .remove("VpcId");
    });
    let plan = compare(&without, &base());
    let d = get(&plan, "Domain");
    assert_eq!(d.action, Action::Modify, "{:?}", d.reasons);
}

#[test]
fn a_retained_key_that_is_removed_loses_nothing_and_an_unretained_one_does() {
    let new = after(|v| {
        resources(v).remove("OtherKey");
    });
    let plan = compare(&base(), &new);
    assert!(get(&plan, "OtherKey").data_loss, "deletion is scheduled");
    let new = after(|v| {
        resources(v).remove("Key");
        v["Resources"]["Domain"]["Properties"]["KmsKeyId"] = json!({"Ref": "OtherKey"});
    });
    let plan = compare(&base(), &new);
    assert!(
        !get(&plan, "Key").data_loss,
        "DeletionPolicy Retain keeps the key"
    );
    assert!(get(&plan, "Domain").data_loss);
}

#[test]
fn a_parameter_default_change_reaches_what_refers_to_it() {
    let old = after(|v| {
        v["Resources"]["AliceProfile"]["Properties"]["UserSettings"]["CustomPosixUserConfig"]["Uid"] =
            json!({"Ref": "Uid"});
    });
    let new = after(|v| {
        v["Parameters"]["Uid"]["Default"] = json!(200009);
        v["Resources"]["AliceProfile"]["Properties"]["UserSettings"]["CustomPosixUserConfig"]["Uid"] =
            json!({"Ref": "Uid"});
    });
    let plan = compare(&old, &new);
    let p = get(&plan, "AliceProfile");
    assert_eq!((p.action, p.data_loss), (Action::Modify, true));
}

#[test]
fn a_renamed_logical_id_is_a_remove_and_an_add() {
    let new = after(|v| {
        let p = resources(v).remove("AliceProfile").unwrap();
        resources(v).insert("AliceUserProfile".into(), p);
        v["Resources"]["AliceSpace"]["Properties"]["OwnershipSettings"]["OwnerUserProfileName"] =
            json!({"Fn::GetAtt": ["AliceUserProfile", "UserProfileName"]});
    });
    let plan = compare(&base(), &new);
    let old = get(&plan, "AliceProfile");
    assert_eq!((old.action, old.data_loss), (Action::Remove, true));
    assert_eq!(get(&plan, "AliceUserProfile").action, Action::Add);
    assert!(
        old.reasons
            .iter()
            .any(|r| r
                .starts_with("AliceProfile -> AliceUserProfile looks like a renamed logical id")),
        "{:?}",
        old.reasons
    );
    // The space's owner now names another resource: OwnershipSettings is create-only.
    assert_eq!(get(&plan, "AliceSpace").action, Action::Replace);
}

#[test]
fn adding_a_create_only_key_replaces_even_when_it_restates_the_default() {
    let nb = |extra: Option<(&str, &str)>| {
        let mut p =
            json!({"InstanceType": "ml.t3.medium", "RoleArn": "arn:aws:iam::123456789012:role/r"});
        if let Some((k, v)) = extra {
            p[k] = json!(v);
        }
        json!({"Resources": {"Nb": {"Type": "AWS::SageMaker::NotebookInstance", "Properties": p}}})
    };
    // `Enabled` is SageMaker's default for DirectInternetAccess, yet CloudFormation replaces.
    let plan = compare(&nb(None), &nb(Some(("DirectInternetAccess", "Enabled"))));
    let c = get(&plan, "Nb");
    assert_eq!((c.action, c.data_loss), (Action::Replace, true));
    assert_eq!(
        c.reasons[0],
        "DirectInternetAccess added (create-only: replaces)"
    );
    let plan = compare(&nb(Some(("DirectInternetAccess", "Enabled"))), &nb(None));
    assert_eq!(get(&plan, "Nb").action, Action::Replace);
    // Control: a key that is not create-only is an update.
    let plan = compare(&nb(None), &nb(Some(("RootAccess", "Enabled"))));
    assert_eq!(get(&plan, "Nb").action, Action::Modify);
}
