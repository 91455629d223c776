//! Runs cfn-guard rules in-process.
//!
//! cfn-guard's cost grows as rules x resources, and it re-parses whatever it is given (its value
//! type is private, so it takes text). So each family of guard rules gets its own small payload:
//! only the resources of the types its rules name, written once as compact JSON straight from
//! the borrowed template (no clone of the template). The families are independent jobs that
//! [`super::engine`] spreads over the cores.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Cursor;

use cfn_guard::commands::Executable;
use cfn_guard::commands::validate::{OutputFormatType, ShowSummaryType};
use cfn_guard::utils::reader::{ReadBuffer, Reader};
use cfn_guard::utils::writer::{WriteBuffer, Writer};
use cfn_guard::{CommandBuilder, ValidateBuilder};
use serde_json::{Map, Value};

use super::Error;

/// One failing check of a guard rule, attributed to a resource where its path allows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct GuardFailure {
    pub rule: String,
    /// Index of the data document it failed on.
    pub document: usize,
    pub resource: Option<String>,
    /// JSON pointer into the template of the value that failed (for the source position).
    pub pointer: String,
    pub message: String,
}

/// The resource types a guard rule concerns: the `'AWS::Service::Type'` literals in its text.
/// This is what filters the payload, so a rule that names no type would see nothing; the
/// registry test insists every guard rule names at least one.
pub(crate) fn types_named(source: &str) -> Vec<&str> {
    let mut out = BTreeSet::new();
    for (i, _) in source.match_indices("'AWS::") {
        let rest = &source[i + 1..];
        if let Some(end) = rest.find('\'') {
            let t = &rest[..end];
            if t.split("::").count() == 3 && !t.contains(char::is_whitespace) {
                out.insert(t);
            }
        }
    }
    out.into_iter().collect()
}

/// The words of a rule text: every key a rule can look at is one of them. A quoted key
/// (`'aws:PrincipalAccount'`) is a word whole, colon and all.
pub(crate) fn words(source: &str) -> BTreeSet<&str> {
    let quoted = source.split('\'').skip(1).step_by(2);
    source
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .chain(quoted)
        .filter(|w| !w.is_empty())
        .collect()
}

/// A resource as cfn-guard needs to see it: its Type and the parts of its Properties whose keys
/// the rules name. Intrinsic functions are kept whole. Two resources with the same view get the
/// same verdicts, which is what lets [`documents`] evaluate each distinct view once.
fn view(v: &Value, keep: &BTreeSet<&str>) -> Value {
    match v {
        Value::Object(m) if super::schema::is_intrinsic(v) => Value::Object(m.clone()),
        Value::Object(m) => Value::Object(
            m.iter()
                .filter(|(k, _)| keep.contains(k.as_str()))
                .map(|(k, c)| (k.clone(), view(c, keep)))
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(|c| view(c, keep)).collect()),
        other => other.clone(),
    }
}

/// The logical id the documents use; failures are re-attributed to each resource with that view.
pub(crate) const PLACEHOLDER: &str = "R";

/// The distinct documents cfn-guard evaluates for the resources of `types`, each with the
/// resources that share it. A document is `{"Resources": {"R": {"Type": .., "Properties": view}}}`:
/// one resource per document so cfn-guard reports a status per rule and resource, and only the
/// keys the rules name so the 100 notebooks of 100 owners are one or a few documents, not 100.
pub(crate) fn documents<'t>(
    resources: &'t Map<String, Value>,
    types: &BTreeSet<&str>,
    keep: &BTreeSet<&str>,
) -> Vec<(String, Vec<&'t str>)> {
    let mut index: BTreeMap<String, usize> = BTreeMap::new();
    let mut out: Vec<(String, Vec<&'t str>)> = Vec::new();
    for (id, r) in resources {
        let t = r.get("Type").and_then(Value::as_str).unwrap_or("");
        if !types.contains(t) {
            continue;
        }
        let props = r.get("Properties").map(|p| view(p, keep));
        let mut resource = Map::new();
        resource.insert("Type".into(), Value::String(t.to_string()));
        if let Some(p) = props {
            resource.insert("Properties".into(), p);
        }
        let mut doc = String::with_capacity(512);
        doc.push_str("{\"Resources\":{\"");
        doc.push_str(PLACEHOLDER);
        doc.push_str("\":");
        doc.push_str(&serde_json::to_string(&resource).expect("a JSON value serialises"));
        doc.push_str("}}");
        match index.get(&doc) {
            Some(&i) => out[i].1.push(id),
            None => {
                index.insert(doc.clone(), out.len());
                out.push((doc, vec![id]));
            }
        }
    }
    out
}

/// Pays cfn-guard's one-time start-up costs now. When a rule looks up a key that a document lacks,
/// cfn-guard retries it in seven other letter cases, and the first such retry compiles about 30
/// Unicode regexes (its singularizer): about 6 ms, taken while holding a lock that every guard job
/// then waits on. Run on a spare core while the caller is still loading or lowering, that cost is
/// off the critical path; the verdicts are unchanged because the same evaluation happens anyway.
pub(crate) fn warm_up() {
    let rule = "rule NBSYNTH_WARM_UP { Resources.*.Properties.Absent exists }";
    let data = r#"{"Resources":{"R":{"Type":"AWS::EC2::VPC"}}}"#;
    let _ = run(&[rule], &[data]);
}

/// What cfn-guard said about each data document.
#[derive(Debug, Default)]
pub(crate) struct Outcome {
    pub failures: Vec<GuardFailure>,
    /// (rule, index of the data document) for rules that did not apply to it.
    pub not_applicable: Vec<(String, usize)>,
}

/// Evaluates rule files (each one named rule) against data documents.
pub(crate) fn run(rules: &[&str], data: &[&str]) -> Result<Outcome, Error> {
    #[derive(serde::Serialize)]
    struct Payload<'a> {
        rules: &'a [&'a str],
        data: &'a [&'a str],
    }
    let input = serde_json::to_vec(&Payload { rules, data }).expect("strings serialise");
    let mut reader = Reader::new(ReadBuffer::Cursor(Cursor::new(input)));
    let mut writer =
        Writer::new_with_err(WriteBuffer::Vec(Vec::new()), WriteBuffer::Vec(Vec::new()))
            .map_err(|e| Error(format!("cfn-guard writer: {e}")))?;
    let cmd = ValidateBuilder::default()
        .payload(true)
        .structured(true)
        .output_format(OutputFormatType::JSON)
        .show_summary(vec![ShowSummaryType::None])
        .try_build()
        .map_err(|e| Error(format!("cfn-guard: {e}")))?;
    let code = cmd
        .execute(&mut writer, &mut reader)
        .map_err(|e| Error(format!("cfn-guard: {e}")))?;
    // 0 = all pass, 19 = a rule failed; anything else (5: a rule file did not parse) is our bug.
    if code != 0 && code != 19 {
        let err = writer.err_to_stripped().unwrap_or_default();
        return Err(Error(format!(
            "cfn-guard exited with {code}: {}",
            err.trim()
        )));
    }
    let out = writer
        .into_string()
        .map_err(|e| Error(format!("cfn-guard output: {e}")))?;
    let report: Value = serde_json::from_str(&out)
        .map_err(|e| Error(format!("cfn-guard report is not JSON: {e}")))?;
    Ok(outcome(&report))
}

/// The failures in cfn-guard's structured report (per failing rule, every check's paths
/// `/Resources/<id>/...` and its custom message) and the rules that did not apply, per document.
fn outcome(report: &Value) -> Outcome {
    let mut out = Outcome::default();
    let files = report.as_array().map(Vec::as_slice).unwrap_or_default();
    for (index, file) in files.iter().enumerate() {
        if let Some(na) = file.get("not_applicable").and_then(Value::as_array) {
            out.not_applicable.extend(
                na.iter()
                    .filter_map(Value::as_str)
                    .map(|r| (r.to_string(), index)),
            );
        }
        let Some(items) = file.get("not_compliant").and_then(Value::as_array) else {
            continue;
        };
        for item in items {
            let Some(rule) = item.get("Rule") else {
                continue;
            };
            let name = rule
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or("?")
                .to_string();
            // resource -> (deepest pointer, messages)
            let mut per: BTreeMap<Option<String>, (String, BTreeSet<String>)> = BTreeMap::new();
            collect(rule.get("checks").unwrap_or(&Value::Null), None, &mut per);
            if per.is_empty() {
                per.insert(None, (String::new(), BTreeSet::new()));
            }
            for (resource, (pointer, messages)) in per {
                let message = if messages.is_empty() {
                    format!("rule {name} failed")
                } else {
                    messages.into_iter().collect::<Vec<_>>().join("; ")
                };
                out.failures.push(GuardFailure {
                    rule: name.clone(),
                    document: index,
                    resource,
                    pointer,
                    message,
                });
            }
        }
    }
    out
}

type PerResource = BTreeMap<Option<String>, (String, BTreeSet<String>)>;

/// Walks a check tree. A check's own message belongs to the paths found inside it.
fn collect(v: &Value, message: Option<&str>, per: &mut PerResource) {
    match v {
        Value::Object(m) => {
            let own = m
                .get("messages")
                .and_then(|ms| ms.get("custom_message"))
                .and_then(Value::as_str)
                .map(str::trim)
                .filter(|s| !s.is_empty());
            let message = own.or(message);
            if let Some(Value::String(path)) = m.get("path")
                && let Some(id) = resource_of(path)
            {
                let entry = per.entry(Some(id.to_string())).or_default();
                if path.len() > entry.0.len() {
                    entry.0 = path.clone();
                }
                if let Some(msg) = message {
                    entry.1.insert(msg.to_string());
                }
            }
            for (k, child) in m {
                if k != "messages" {
                    collect(child, message, per);
                }
            }
        }
        Value::Array(a) => a.iter().for_each(|c| collect(c, message, per)),
        _ => {}
    }
}

fn resource_of(path: &str) -> Option<&str> {
    let rest = path.strip_prefix("/Resources/")?;
    Some(rest.split('/').next().unwrap_or(rest)).filter(|s| !s.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_are_the_quoted_type_literals() {
        let src = "let x = Resources.*[ Type == 'AWS::EC2::Route' ]\n# 'AWS::Not a type'\nrule R { Type in ['AWS::EC2::NatGateway', 'AWS::EC2::Route'] }";
        assert_eq!(
            types_named(src),
            vec!["AWS::EC2::NatGateway", "AWS::EC2::Route"]
        );
    }

    #[test]
    fn documents_keep_named_types_and_keys_and_share_equal_views() {
        let t: Value = serde_json::json!({
            "A": {"Type": "X::Y::Z"},
            "B": {"Type": "AWS::EC2::VPC", "Properties": {"CidrBlock": "10.0.0.0/16", "Tags": [{"Key": "a"}]}},
            "C": {"Type": "AWS::EC2::VPC", "Properties": {"CidrBlock": "10.0.0.0/16", "Tags": [{"Key": "b"}]}},
            "D": {"Type": "AWS::EC2::VPC", "Properties": {"CidrBlock": {"Ref": "Cidr"}}}
        });
        let types = BTreeSet::from(["AWS::EC2::VPC"]);
        let docs = documents(
            t.as_object().unwrap(),
            &types,
            &BTreeSet::from(["CidrBlock"]),
        );
        assert_eq!(docs.len(), 2);
        assert_eq!(docs[0], (r#"{"Resources":{"R":{"Type":"AWS::EC2::VPC","Properties":{"CidrBlock":"10.0.0.0/16"}}}}"#.to_string(), vec!["B", "C"]));
        assert_eq!(
            docs[1].0,
            r#"{"Resources":{"R":{"Type":"AWS::EC2::VPC","Properties":{"CidrBlock":{"Ref":"Cidr"}}}}}"#
        );
        assert!(
            documents(
                t.as_object().unwrap(),
                &BTreeSet::from(["None"]),
                &BTreeSet::new()
            )
            .is_empty()
        );
    }

    #[test]
    fn failures_name_the_resource_and_message() {
        let rule = "let nb = Resources.*[ Type == 'AWS::SageMaker::NotebookInstance' ]\nrule NB_TEST when %nb !empty {\n  %nb.Properties.RootAccess == 'Disabled' <<root access must be Disabled>>\n}\n";
        let good = r#"{"Resources":{"Good":{"Type":"AWS::SageMaker::NotebookInstance","Properties":{"RootAccess":"Disabled"}}}}"#;
        let bad = r#"{"Resources":{"Bad":{"Type":"AWS::SageMaker::NotebookInstance","Properties":{"RootAccess":"Enabled"}}}}"#;
        let other = r#"{"Resources":{"V":{"Type":"AWS::EC2::VPC"}}}"#;
        let out = run(&[rule], &[good, bad, other]).unwrap();
        assert_eq!(out.not_applicable, vec![("NB_TEST".to_string(), 2)]);
        let f = out.failures;
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!(f[0].rule, "NB_TEST");
        assert_eq!(f[0].resource.as_deref(), Some("Bad"));
        assert_eq!(f[0].pointer, "/Resources/Bad/Properties/RootAccess");
        assert_eq!(f[0].message, "root access must be Disabled");
    }

    #[test]
    fn a_rule_that_does_not_parse_is_an_error() {
        assert!(run(&["rule broken {"], &[r#"{"Resources":{}}"#]).is_err());
    }
}
