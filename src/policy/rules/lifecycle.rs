//! Lifecycle configuration content: base64, within SageMaker's size limit, Unix line ends.

use serde_json::Value;

use super::{decode_base64, text_of};
use crate::policy::Ctx;

const LCC: &str = "AWS::SageMaker::NotebookInstanceLifecycleConfig";
/// SageMaker's limit on each `Content`, counted in base64 characters.
pub const MAX_CONTENT: usize = 16_384;

/// What a Content value holds, as far as the template tells.
enum Content {
    /// `Fn::Base64` of a literal or of a `Fn::Sub` string (the script text, `${...}` unexpanded).
    Encoded { script: String, substituted: bool },
    /// A literal string that is valid base64, decoded.
    Literal { encoded_len: usize, script: Vec<u8> },
    /// Script text without `Fn::Base64` (a literal that is not base64, or a bare `Fn::Sub`).
    Raw,
    /// Something only known at deploy time (a parameter, an import...).
    Unknown,
}

fn classify(v: &Value) -> Content {
    if let Some(inner) = v
        .get("Fn::Base64")
        .filter(|_| v.as_object().is_some_and(|m| m.len() == 1))
    {
        let substituted = inner.is_object();
        return match text_of(inner) {
            Some(script) if !matches!(inner, Value::Object(m) if m.contains_key("Ref")) => {
                Content::Encoded {
                    script,
                    substituted,
                }
            }
            _ => Content::Unknown,
        };
    }
    match v {
        Value::String(s) => match decode_base64(s) {
            Some(script) => Content::Literal {
                encoded_len: s.len(),
                script,
            },
            None => Content::Raw,
        },
        Value::Object(m) if m.contains_key("Fn::Sub") || m.contains_key("Fn::Join") => Content::Raw,
        _ => Content::Unknown,
    }
}

/// Every (pointer relative to the resource, Content value) of a lifecycle config.
fn contents(r: &Value) -> Vec<(String, &Value)> {
    let mut out = Vec::new();
    for hook in ["OnCreate", "OnStart"] {
        if let Some(Value::Array(items)) = r.get("Properties").and_then(|p| p.get(hook)) {
            for (i, item) in items.iter().enumerate() {
                if let Some(c) = item.get("Content") {
                    out.push((format!("Properties/{hook}/{i}/Content"), c));
                }
            }
        }
    }
    out
}

fn each(ctx: &mut Ctx, mut judge: impl FnMut(&mut Ctx, &str, &str, Content) -> bool) {
    let configs: Vec<(&str, &Value)> = ctx.of_type(LCC).collect();
    for (id, r) in configs {
        let mut judged = false;
        for (pointer, v) in contents(r) {
            judged |= judge(ctx, id, &pointer, classify(v));
        }
        if !judged {
            ctx.not_applicable(id);
        }
    }
}

/// LIFECYCLE_CONTENT_BASE64
pub fn content_base64(ctx: &mut Ctx) {
    each(ctx, |ctx, id, pointer, c| match c {
        Content::Raw => {
            ctx.fail(
                Some(id),
                pointer,
                format!("{pointer} is script text, not base64; wrap it in Fn::Base64"),
            );
            true
        }
        Content::Unknown => false,
        _ => true,
    });
}

/// Longest value a `${...}` can take, for an upper bound of the script's size.
fn longest(var: &str) -> usize {
    match var {
        "AWS::Region" => 14,
        "AWS::AccountId" => 12,
        "AWS::Partition" => 10,
        "AWS::URLSuffix" => 16,
        "AWS::StackName" => 128,
        "AWS::StackId" => 256,
        // A resource's name, id or ARN: ARNs of the resources a script names stay below this.
        _ => 128,
    }
}

fn upper_bound(script: &str) -> usize {
    let mut len = script.len();
    for var in crate::cfn::refs::sub_variables(script) {
        // sub_variables yields the resource part; the placeholder is at least `${var}`.
        len = len - (var.len() + 3).min(len) + longest(var);
    }
    // `${!Literal}` is written as `${Literal}`: one character less each.
    len - script.matches("${!").count()
}

/// LIFECYCLE_CONTENT_SIZE
pub fn content_size(ctx: &mut Ctx) {
    each(ctx, |ctx, id, pointer, c| {
        let (encoded, how) = match c {
            Content::Encoded {
                script,
                substituted,
            } => {
                let bytes = if substituted {
                    upper_bound(&script)
                } else {
                    script.len()
                };
                let how = if substituted { "at most " } else { "" };
                (bytes.div_ceil(3) * 4, format!("a {how}{bytes}-byte script"))
            }
            Content::Literal {
                encoded_len,
                script,
            } => (encoded_len, format!("a {}-byte script", script.len())),
            Content::Raw | Content::Unknown => return false,
        };
        if encoded > MAX_CONTENT {
            ctx.fail(
                Some(id),
                pointer,
                format!("{pointer} is {encoded} base64 characters ({how}); SageMaker allows {MAX_CONTENT}"),
            );
        }
        true
    });
}

/// LIFECYCLE_SCRIPT_LINE_ENDINGS
pub fn line_endings(ctx: &mut Ctx) {
    each(ctx, |ctx, id, pointer, c| {
        let script = match c {
            Content::Encoded { script, .. } => script.into_bytes(),
            Content::Literal { script, .. } => script,
            Content::Raw | Content::Unknown => return false,
        };
        if script.windows(2).any(|w| w == b"\r\n") {
            ctx.fail(
                Some(id),
                pointer,
                format!("{pointer}: the script has CRLF line ends; `#!/bin/bash\\r` fails with \"bad interpreter\""),
            );
        }
        true
    });
}
