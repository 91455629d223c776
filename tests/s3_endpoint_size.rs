//! The S3 gateway endpoint policy is the perimeter, not the per-owner separation: its size must
//! not grow with the team, or EC2 refuses it (20,480 characters) long before the owner count
//! CloudFormation can hold.

use nbsynth::cfn::emit::Format;
use nbsynth::cfn::policy_size::{MAX_ENDPOINT_POLICY_CHARS, endpoint_policy_chars};
use nbsynth::pipeline::compile;
use serde_json::Value;

fn blueprint(owners: usize) -> String {
    let mut s = String::from(
        "version: 1\nname: size\ndata:\n  buckets:\n    - name: acme-ml-data\n      read: [datasets/]\n      write: [\"scratch/{owner}/\"]\njobs:\n  output: \"s3://acme-ml-jobs/outputs/{owner}/\"\nnotebooks:\n  instances:\n",
    );
    for i in 0..owners {
        s.push_str(&format!("    - owner: user{i:03}\n"));
    }
    s
}

fn s3_policy(owners: usize) -> Value {
    let dir = std::env::temp_dir().join(format!("nbsynth-s3size-{owners}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("size.yaml");
    std::fs::write(&path, blueprint(owners)).unwrap();
    let c = compile(&path, &dir.join("out"), Format::Json)
        .unwrap_or_else(|e| panic!("{owners} owners do not build: {e:?}"));
    let text = &c
        .files
        .iter()
        .find(|f| f.path.to_string_lossy().ends_with(".template.json"))
        .expect("a template")
        .text;
    let t: Value = serde_json::from_str(text).unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    t["Resources"]["S3GatewayEndpoint"]["Properties"]["PolicyDocument"].clone()
}

#[test]
fn the_s3_endpoint_policy_is_the_same_for_two_owners_and_twelve() {
    let two = s3_policy(2);
    let twelve = s3_policy(12);
    assert_eq!(two, twelve, "the endpoint policy depends on the owners");
    let text = two.to_string();
    for owner_prefix in ["acme-ml-data/scratch/*/*", "acme-ml-jobs/outputs/*/*"] {
        assert!(
            text.contains(owner_prefix),
            "{owner_prefix} missing: {text}"
        );
    }
    assert!(
        !text.contains("user0"),
        "an owner's name in the perimeter: {text}"
    );
    let size = endpoint_policy_chars(&two);
    assert!(size < MAX_ENDPOINT_POLICY_CHARS / 10, "{size} characters");
}
