//! The size of a VPC endpoint policy as EC2 counts it, for the check that a generated policy
//! fits before a deployment finds out.

use serde_json::Value;

/// Characters per VPC endpoint policy, white space included; AWS PrivateLink quotas list it as
/// not adjustable.
pub const MAX_ENDPOINT_POLICY_CHARS: usize = 20_480;

/// The longest value a pseudo parameter takes, so the count holds in every partition and
/// Region (`aws-us-gov` is the longest partition, an account ID has 12 digits, a stack name at
/// most 128 characters).
fn longest(pseudo: &str) -> Option<usize> {
    Some(match pseudo {
        "AWS::Partition" => "aws-us-gov".len(),
        "AWS::AccountId" => 12,
        "AWS::Region" => "ap-southeast-5".len(),
        "AWS::URLSuffix" => "amazonaws.com.cn".len(),
        "AWS::StackName" => 128,
        _ => return None,
    })
}

/// `text` with each `${AWS::...}` replaced by a stand-in of its longest value.
fn substitute(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        let Some(len) = rest[start..].find('}') else {
            break;
        };
        let name = &rest[start + 2..start + len];
        out.push_str(&rest[..start]);
        match longest(name) {
            Some(n) => out.push_str(&"x".repeat(n)),
            None => out.push_str(&rest[start..=start + len]),
        }
        rest = &rest[start + len + 1..];
    }
    out.push_str(rest);
    out
}

/// The policy as the string EC2 receives: intrinsics on pseudo parameters resolved to their
/// longest values; any other intrinsic counts as its own JSON text.
fn resolve(v: &Value) -> Value {
    match v {
        Value::Object(m) if m.len() == 1 => match (m.get("Fn::Sub"), m.get("Ref")) {
            (Some(Value::String(s)), _) => Value::String(substitute(s)),
            (_, Some(Value::String(r))) if longest(r).is_some() => {
                Value::String(substitute(&format!("${{{r}}}")))
            }
            _ => Value::Object(m.iter().map(|(k, x)| (k.clone(), resolve(x))).collect()),
        },
        Value::Object(m) => Value::Object(m.iter().map(|(k, x)| (k.clone(), resolve(x))).collect()),
        Value::Array(a) => Value::Array(a.iter().map(resolve).collect()),
        other => other.clone(),
    }
}

/// Characters of the policy serialised without white space, as CloudFormation passes it on.
pub fn endpoint_policy_chars(policy: &Value) -> usize {
    resolve(policy).to_string().chars().count()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn pseudo_parameters_count_at_their_longest() {
        let p = json!({"Resource": {"Fn::Sub": "arn:${AWS::Partition}:s3:::b/*"},
                       "Account": {"Ref": "AWS::AccountId"}});
        // {"Account":"<12>","Resource":"arn:<10>:s3:::b/*"}
        let expected = r#"{"Account":"xxxxxxxxxxxx","Resource":"arn:xxxxxxxxxx:s3:::b/*"}"#;
        assert_eq!(endpoint_policy_chars(&p), expected.len());
    }

    #[test]
    fn other_references_count_as_written() {
        let p = json!({"R": {"Fn::Sub": "${Bucket}/x"}, "B": {"Ref": "Bucket"}});
        assert_eq!(
            endpoint_policy_chars(&p),
            r#"{"B":{"Ref":"Bucket"},"R":"${Bucket}/x"}"#.len()
        );
    }
}
