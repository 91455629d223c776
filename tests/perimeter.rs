//! What the notebooks can reach, as built: endpoint policies, flow logs and their waiver, an
//! existing network's endpoints and egress, repositories by CodeCommit name.

use std::path::PathBuf;

use nbsynth::cfn::emit::Format;
use nbsynth::pipeline::compile;
use serde_json::Value;

fn build(name: &str, blueprint: &str) -> (Value, nbsynth::policy::Review) {
    let dir = std::env::temp_dir().join(format!("nbsynth-perimeter-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("{name}.yaml"));
    std::fs::write(&path, blueprint).unwrap();
    let c = compile(&path, &dir.join("out"), Format::Json)
        .unwrap_or_else(|e| panic!("{name} does not build: {e:?}"));
    let template = c
        .files
        .iter()
        .find(|f| f.path.to_string_lossy().ends_with(".template.json"))
        .expect("a template");
    let json = serde_json::from_str(&template.text).unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    (json, c.review)
}

fn of_type<'t>(t: &'t Value, kind: &str) -> Vec<(&'t String, &'t Value)> {
    t["Resources"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(_, r)| r["Type"] == kind)
        .collect()
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn every_interface_endpoint_of_an_aws_service_keeps_to_the_account() {
    let (t, _) = build(
        "endpoints",
        "version: 1\nname: endpoints\naccess:\n  via_vpc_endpoint: true\nrepositories:\n  analysis:\n    codecommit: analysis\nnotebooks:\n  instances:\n    - owner: alice\n      repositories: [analysis]\n",
    );
    let mut checked = 0;
    for (id, r) in of_type(&t, "AWS::EC2::VPCEndpoint") {
        let p = &r["Properties"];
        let service = p["ServiceName"]["Fn::Sub"].as_str().unwrap();
        if p["VpcEndpointType"] == "Gateway" {
            continue;
        }
        if service.ends_with(".notebook") {
            assert!(
                p.get("PolicyDocument").is_none(),
                "{id}: browser sessions have no principal"
            );
            continue;
        }
        let cond = &p["PolicyDocument"]["Statement"][0]["Condition"];
        assert_eq!(
            cond["StringEquals"]["aws:PrincipalAccount"]["Fn::Sub"], "${AWS::AccountId}",
            "{id}"
        );
        assert_eq!(
            cond["StringEqualsIfExists"]["aws:ResourceAccount"]["Fn::Sub"], "${AWS::AccountId}",
            "{id}"
        );
        checked += 1;
    }
    // sagemaker-api, -runtime, sts, logs, kms, git-codecommit, codecommit
    assert_eq!(checked, 7);
    let url = &of_type(&t, "AWS::SageMaker::CodeRepository")[0].1["Properties"]["GitConfig"]["RepositoryUrl"];
    assert_eq!(
        url["Fn::Sub"],
        "https://git-codecommit.${AWS::Region}.amazonaws.com/v1/repos/analysis"
    );
}

#[test]
fn flow_logs_by_default_and_a_visible_waiver_without_them() {
    let (on, review) = build(
        "flowlogs-on",
        "version: 1\nname: flowlogs\nnotebooks:\n  instances:\n    - owner: alice\n",
    );
    let logs = of_type(&on, "AWS::EC2::FlowLog");
    assert_eq!(logs.len(), 1);
    assert_eq!(logs[0].1["Properties"]["ResourceId"]["Ref"], "Vpc");
    let group = &of_type(&on, "AWS::Logs::LogGroup")[0].1["Properties"];
    assert_eq!(group["RetentionInDays"], 365);
    assert_eq!(group["KmsKeyId"]["Fn::GetAtt"][0], "NotebookKey");
    let key = &of_type(&on, "AWS::KMS::Key")[0].1["Properties"]["KeyPolicy"]["Statement"];
    let logs_statement = key
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["Principal"]["Service"]["Fn::Sub"] == "logs.${AWS::Region}.amazonaws.com")
        .expect("the key admits CloudWatch Logs");
    assert!(
        logs_statement["Condition"]["ArnEquals"]["kms:EncryptionContext:aws:logs:arn"]["Fn::Sub"]
            .as_str()
            .unwrap()
            .ends_with(":log-group:/nbsynth/flowlogs/vpc-flow-logs")
    );
    assert!(
        !review
            .findings
            .iter()
            .any(|f| f.rule == "NETWORK_VPC_FLOW_LOGS")
    );

    let (off, review) = build(
        "flowlogs-off",
        "version: 1\nname: flowlogs\nnetwork:\n  flow_logs: false\nnotebooks:\n  instances:\n    - owner: alice\n",
    );
    assert!(of_type(&off, "AWS::EC2::FlowLog").is_empty());
    assert!(of_type(&off, "AWS::Logs::LogGroup").is_empty());
    let waived: Vec<_> = review
        .findings
        .iter()
        .filter(|f| f.rule == "NETWORK_VPC_FLOW_LOGS")
        .collect();
    assert_eq!(waived.len(), 1);
    assert_eq!(waived[0].resource.as_deref(), Some("Vpc"));
    assert!(waived[0].waived.as_deref().unwrap().contains("flow_logs"));
    assert_eq!(
        on["Resources"].as_object().unwrap().len() - off["Resources"].as_object().unwrap().len(),
        4
    );
}

#[test]
fn an_existing_network_with_its_endpoints_gets_none_and_no_world_egress() {
    let text = std::fs::read_to_string(root().join("blueprints/shared-vpc.yaml")).unwrap();
    let (t, _) = build("shared", &text);
    assert!(of_type(&t, "AWS::EC2::VPCEndpoint").is_empty());
    assert!(of_type(&t, "AWS::EC2::SecurityGroupEgress").is_empty());
    let sgs = of_type(&t, "AWS::EC2::SecurityGroup");
    assert_eq!(sgs.len(), 1, "no endpoint security group without endpoints");
    let egress = sgs[0].1["Properties"]["SecurityGroupEgress"]
        .as_array()
        .unwrap();
    let targets: Vec<String> = egress
        .iter()
        .map(|r| {
            r.get("CidrIp")
                .or(r.get("DestinationSecurityGroupId"))
                .or(r.get("DestinationPrefixListId"))
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(
        targets,
        [
            "\"sg-0123456789abcdef0\"",
            "{\"Ref\":\"S3PrefixListId\"}",
            "\"10.50.8.0/24\""
        ]
    );
    assert!(
        egress
            .iter()
            .all(|r| r["FromPort"] == 443 && r["ToPort"] == 443)
    );
    let param = &t["Parameters"]["S3PrefixListId"];
    assert_eq!(param["Default"], "pl-6da54004");
    assert!(
        t.get("Conditions")
            .is_none_or(|c| c.get("NoS3PrefixList").is_none())
    );
    // The flow log goes to the existing VPC.
    assert_eq!(
        of_type(&t, "AWS::EC2::FlowLog")[0].1["Properties"]["ResourceId"],
        "vpc-0123456789abcdef0"
    );
}

#[test]
fn only_the_missing_endpoints_are_created() {
    let (t, _) = build(
        "partial",
        "version: 1\nname: partial\nnetwork:\n  existing:\n    vpc: vpc-0123456789abcdef0\n    subnets: [subnet-0123456789abcdef0]\n    route_tables: [rtb-0123456789abcdef0]\n    s3_prefix_list: pl-6da54004\n    endpoints: [sts, logs]\n    endpoint_security_group: sg-0123456789abcdef0\n    s3_gateway: existing\nnotebooks:\n  instances:\n    - owner: alice\n",
    );
    let mut services: Vec<&str> = of_type(&t, "AWS::EC2::VPCEndpoint")
        .iter()
        .map(|(_, r)| r["Properties"]["ServiceName"]["Fn::Sub"].as_str().unwrap())
        .collect();
    services.sort();
    assert_eq!(
        services,
        [
            "com.amazonaws.${AWS::Region}.kms",
            "com.amazonaws.${AWS::Region}.sagemaker.api",
            "com.amazonaws.${AWS::Region}.sagemaker.runtime"
        ]
    );
}

#[test]
fn waived_findings_carry_the_other_tools_suppressions() {
    let (t, _) = build(
        "waived",
        "version: 1\nname: waived\nnotebooks:\n  instances:\n    - owner: alice\n",
    );
    let md = &t["Resources"]["NotebookEgressToS3"]["Metadata"];
    assert_eq!(
        md["guard"]["SuppressedRules"],
        serde_json::json!([
            "EC2_SECURITY_GROUP_EGRESS_OPEN_TO_WORLD_RULE",
            "SECURITY_GROUP_MISSING_EGRESS_RULE"
        ])
    );
    // Nothing else carries a suppression: only waived findings do.
    let suppressed = t["Resources"]
        .as_object()
        .unwrap()
        .values()
        .filter(|r| r["Metadata"].get("guard").is_some() || r["Metadata"].get("checkov").is_some())
        .count();
    assert_eq!(suppressed, 1);
}
