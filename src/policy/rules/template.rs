//! Template-wide checks: nothing tied to one partition, account or region, and every reference
//! resolves.

use serde_json::Value;

use crate::policy::Ctx;

/// Calls `judge` on every string in resources' Properties and in Outputs; a `Some(message)`
/// becomes a failure at that string. Pointers are only built for failures: most strings pass.
fn scan(ctx: &mut Ctx, judge: impl Fn(&[&str], &str) -> Option<String>) {
    let mut hits: Vec<(Option<&str>, String, String)> = Vec::new();
    let mut path: Vec<&str> = Vec::with_capacity(16);
    for (id, r) in ctx.resources {
        if let Some(p) = r.get("Properties") {
            path.clear();
            path.extend(["Resources", id.as_str(), "Properties"]);
            walk(p, &mut path, &mut |path, s| {
                if let Some(m) = judge(path, s) {
                    hits.push((Some(id.as_str()), pointer(path), m));
                }
            });
        }
    }
    if let Some(outputs) = ctx.template.get("Outputs") {
        path.clear();
        path.push("Outputs");
        walk(outputs, &mut path, &mut |path, s| {
            if let Some(m) = judge(path, s) {
                hits.push((None, pointer(path), m));
            }
        });
    }
    for (resource, at, message) in hits {
        ctx.fail(resource, &at, message);
    }
}

fn pointer(path: &[&str]) -> String {
    path.iter()
        .map(|p| format!("/{}", crate::source::yaml::escape_pointer(p)))
        .collect()
}

fn walk<'v>(v: &'v Value, path: &mut Vec<&'v str>, f: &mut impl FnMut(&[&str], &str)) {
    match v {
        Value::String(s) => f(path, s),
        Value::Array(a) => {
            for (i, c) in a.iter().enumerate() {
                // Array indexes are rare in hits; keep them as text only when walking into one.
                let idx: &'v str = INDEXES.get(i).copied().unwrap_or("*");
                path.push(idx);
                walk(c, path, f);
                path.pop();
            }
        }
        Value::Object(m) => {
            for (k, c) in m {
                path.push(k);
                walk(c, path, f);
                path.pop();
            }
        }
        _ => {}
    }
}

/// Static index names, so the path can borrow them (lists in templates are short).
const INDEXES: [&str; 64] = [
    "0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11", "12", "13", "14", "15", "16",
    "17", "18", "19", "20", "21", "22", "23", "24", "25", "26", "27", "28", "29", "30", "31", "32",
    "33", "34", "35", "36", "37", "38", "39", "40", "41", "42", "43", "44", "45", "46", "47", "48",
    "49", "50", "51", "52", "53", "54", "55", "56", "57", "58", "59", "60", "61", "62", "63",
];

/// The fields of each ARN inside a string: (partition, service, region, account). A `${...}`
/// stands for one field (its `::` is not a separator).
fn arns(s: &str) -> Vec<[String; 4]> {
    let mut flat = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find("${") {
        flat.push_str(&rest[..i]);
        match rest[i..].find('}') {
            Some(j) => {
                flat.push_str("${}");
                rest = &rest[i + j + 1..];
            }
            None => {
                rest = &rest[i..];
                break;
            }
        }
    }
    flat.push_str(rest);
    flat.match_indices("arn:")
        .filter_map(|(i, _)| {
            let mut parts = flat[i + 4..].splitn(5, ':');
            let f =
                [parts.next()?, parts.next()?, parts.next()?, parts.next()?].map(str::to_string);
            parts.next().map(|_| f)
        })
        .collect()
}

/// TEMPLATE_NO_HARDCODED_PARTITION
pub fn no_hardcoded_partition(ctx: &mut Ctx) {
    scan(ctx, |_, s| {
        if !s.contains("arn:") {
            return None;
        }
        let a = arns(s).into_iter().find(|a| {
            matches!(
                a[0].as_str(),
                "aws" | "aws-cn" | "aws-us-gov" | "aws-iso" | "aws-iso-b"
            )
        })?;
        Some(format!(
            "hard-coded partition `arn:{}:`; use arn:${{AWS::Partition}}: in a Fn::Sub",
            a[0]
        ))
    });
}

fn account_id(s: &str) -> bool {
    s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit())
}

/// TEMPLATE_NO_HARDCODED_ACCOUNT
pub fn no_hardcoded_account(ctx: &mut Ctx) {
    scan(ctx, |_, s| {
        let hit = account_id(s.trim())
            || (s.contains("arn:") && arns(s).iter().any(|a| account_id(&a[3])));
        hit.then(|| "hard-coded 12-digit account id; use ${AWS::AccountId}".to_string())
    });
}

const AREAS: &[&str] = &["us", "eu", "ap", "sa", "ca", "me", "af", "il", "mx", "cn"];
const DIRECTIONS: &[&str] = &[
    "north",
    "south",
    "east",
    "west",
    "central",
    "northeast",
    "southeast",
    "northwest",
    "southwest",
];

/// `us-east-1`, `us-gov-west-1`, `eu-central-2`, or an availability zone `us-east-1a`.
fn region_like(token: &str) -> bool {
    let parts: Vec<&str> = token.split('-').collect();
    let (area, rest) = match parts.as_slice() {
        [area, "gov" | "iso" | "isob", rest @ ..] | [area, rest @ ..] => (*area, rest),
        [] => return false,
    };
    let [direction, number] = rest else {
        return false;
    };
    let digits = number.trim_end_matches(|c: char| c.is_ascii_lowercase());
    AREAS.contains(&area)
        && DIRECTIONS.contains(direction)
        && !digits.is_empty()
        && digits.len() <= 2
        && digits.bytes().all(|b| b.is_ascii_digit())
        && number.len() - digits.len() <= 1
}

/// TEMPLATE_NO_HARDCODED_REGION. A Git URL outside AWS names where a repository lives, not
/// where the stack runs, so only `AWS::SageMaker::CodeRepository` URLs of AWS endpoints
/// (CodeCommit) are judged.
pub fn no_hardcoded_region(ctx: &mut Ctx) {
    scan(ctx, |path, s| {
        if path.ends_with(&["GitConfig", "RepositoryUrl"]) && !aws_host(s) {
            return None;
        }
        let region = s
            .split(|c: char| !(c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'))
            .find(|t| region_like(t))?;
        Some(format!(
            "hard-coded region `{region}`; use ${{AWS::Region}} (or Fn::GetAZs for zones)"
        ))
    });
}

/// Whether a URL's host is an AWS endpoint.
fn aws_host(url: &str) -> bool {
    let host = url
        .split_once("://")
        .map_or(url, |(_, rest)| rest)
        .split(['/', ':'])
        .next()
        .unwrap_or("");
    host.ends_with(".amazonaws.com") || host.ends_with(".amazonaws.com.cn")
}

/// TEMPLATE_REFERENCES_RESOLVE
pub fn references_resolve(ctx: &mut Ctx) {
    for d in crate::cfn::refs::check(ctx.template) {
        let resource = d
            .pointer
            .strip_prefix("/Resources/")
            .and_then(|r| r.split('/').next())
            .map(str::to_string);
        ctx.fail(
            resource.as_deref(),
            &d.pointer,
            format!(
                "refers to `{}`, which is not a resource or parameter of the template",
                d.target
            ),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regions_and_zones_are_recognised() {
        for t in [
            "us-east-1",
            "eu-central-2",
            "us-gov-west-1",
            "ap-southeast-4",
            "us-east-1a",
        ] {
            assert!(region_like(t), "{t}");
        }
        for t in [
            "us-east",
            "east-1",
            "my-east-1",
            "us-east-1ab",
            "ml-t3-medium",
            "notebook-al2-v3",
        ] {
            assert!(!region_like(t), "{t}");
        }
    }

    #[test]
    fn arn_fields() {
        assert_eq!(arns("arn:aws:iam::123456789012:root")[0][3], "123456789012");
        let a = arns("x arn:${AWS::Partition}:iam::123456789012:root");
        assert_eq!(
            (a[0][0].as_str(), a[0][3].as_str()),
            ("${}", "123456789012")
        );
    }
}
