//! The format's keys as dotted paths: the list behind "did you mean" and `nbsynth explain KEY`.

use std::sync::OnceLock;

use serde_json::Value;

use super::help::{closest, describe_form, form_of, plain, plural, type_word};
use super::schema;
use crate::source::yaml::escape_pointer;

/// Every key the format knows, as dotted paths: `lifecycle.idle_shutdown`,
/// `notebooks.instances[].owner`, `repositories.<name>.url`.
pub fn key_paths() -> &'static [String] {
    static PATHS: OnceLock<Vec<String>> = OnceLock::new();
    PATHS.get_or_init(|| {
        fn walk(node: &Value, path: &str, out: &mut Vec<String>) {
            if let Some(props) = node.get("properties").and_then(Value::as_object) {
                for (k, child) in props {
                    let p = if path.is_empty() {
                        k.clone()
                    } else {
                        format!("{path}.{k}")
                    };
                    out.push(p.clone());
                    walk(child, &p, out);
                }
            }
            if let Some(items) = node.get("items").filter(|i| i.get("properties").is_some()) {
                walk(items, &format!("{path}[]"), out);
            }
            if let Some(extra) = node
                .get("additionalProperties")
                .filter(|a| a.get("properties").is_some())
            {
                walk(extra, &format!("{path}.<name>"), out);
            }
        }
        let mut out = Vec::new();
        walk(schema(), "", &mut out);
        out
    })
}

/// `/notebooks/instances/0/owner` -> `notebooks.instances[0].owner`
pub fn display_path(pointer: &str) -> String {
    let mut out = String::new();
    for seg in pointer.split('/').skip(1) {
        let seg = seg.replace("~1", "/").replace("~0", "~");
        if seg.chars().all(|c| c.is_ascii_digit()) && !seg.is_empty() {
            out.push_str(&format!("[{seg}]"));
        } else {
            if !out.is_empty() {
                out.push('.');
            }
            out.push_str(&seg);
        }
    }
    out
}

/// The schema node for a dotted key path (`lifecycle.idle_shutdown`,
/// `notebooks.instances[].owner`, `notebooks.instances[0].owner`, `repositories.analysis.url`),
/// with the path in its canonical form and whether the key is required where it sits.
fn node_for_key(path: &str) -> Option<(String, &'static Value, bool)> {
    let mut node = schema();
    let mut canonical = String::new();
    let mut required = false;
    for raw in path.trim().split('.').filter(|s| !s.is_empty()) {
        let (seg, indexed) = match raw.find('[') {
            Some(i) if raw.ends_with(']') => (&raw[..i], true),
            Some(_) => return None,
            None => (raw, false),
        };
        // A key under a list names a key of its items: `notebooks.instances.owner`.
        if node.get("items").is_some() && !seg.is_empty() {
            node = node.get("items")?;
            canonical.push_str("[]");
        }
        // A key of one form of a `oneOf` (pip_mirror's `codeartifact`): that form describes it.
        let key = format!("/properties/{}", escape_pointer(seg));
        if let Some(form) = node
            .get("oneOf")
            .and_then(Value::as_array)
            .and_then(|forms| forms.iter().find(|f| f.pointer(&key).is_some()))
        {
            node = form;
        }
        if !seg.is_empty() {
            let (next, name) = match node.pointer(&key) {
                Some(n) => (n, seg.to_string()),
                None => (
                    node.get("additionalProperties").filter(|a| a.is_object())?,
                    "<name>".to_string(),
                ),
            };
            required = node
                .get("required")
                .and_then(Value::as_array)
                .is_some_and(|r| r.iter().any(|k| k == seg));
            if !canonical.is_empty() {
                canonical.push('.');
            }
            canonical.push_str(&name);
            node = next;
        }
        if indexed {
            node = node.get("items")?;
            canonical.push_str("[]");
        }
    }
    (!canonical.is_empty()).then_some((canonical, node, required))
}

/// What `nbsynth explain KEY` prints for a blueprint key: its description, type, default,
/// allowed values or form, and the keys under it. `None` if the format has no such key.
pub fn explain_key(path: &str) -> Option<String> {
    let (canonical, node, required) = node_for_key(path)?;
    let mut out = format!("{canonical}\n\n");
    if let Some(desc) = node.get("description").and_then(Value::as_str) {
        out.push_str(&format!("{desc}\n\n"));
    }
    let mut facts: Vec<(&str, String)> = Vec::new();
    facts.push(("type", describe_type(node)));
    facts.push((
        "required",
        if required { "yes".into() } else { "no".into() },
    ));
    if let Some(d) = node.get("default") {
        facts.push(("default", plain(d)));
    }
    if let Some(values) = node.get("enum").and_then(Value::as_array) {
        facts.push((
            "allowed",
            values.iter().map(plain).collect::<Vec<_>>().join(", "),
        ));
    }
    if let Some(branches) = node.get("oneOf").and_then(Value::as_array) {
        facts.push((
            "allowed",
            branches
                .iter()
                .map(describe_form)
                .collect::<Vec<_>>()
                .join("; or "),
        ));
    }
    if let Some((form, example)) = form_of(node).or_else(|| node.get("items").and_then(form_of)) {
        facts.push(("form", form.to_string()));
        facts.push(("example", example.to_string()));
    }
    for (k, v) in facts {
        out.push_str(&format!("  {k:<9} {v}\n"));
    }
    let keys_node = node.get("items").unwrap_or(node);
    let keys_node = keys_node
        .get("additionalProperties")
        .filter(|a| a.get("properties").is_some())
        .unwrap_or(keys_node);
    if let Some(props) = keys_node.get("properties").and_then(Value::as_object) {
        out.push_str("\nkeys:\n");
        let width = props.keys().map(String::len).max().unwrap_or(0);
        for (k, child) in props {
            let desc = child
                .get("description")
                .and_then(Value::as_str)
                .unwrap_or("");
            // The first sentence is enough in a list; `nbsynth explain` on the key gives the rest.
            let first = desc
                .split(". ")
                .next()
                .unwrap_or(desc)
                .trim_end_matches('.');
            out.push_str(&format!("  {k:<width$}  {first}\n"));
        }
    }
    Some(out)
}

/// The known key closest to a misspelled path, for "did you mean".
pub fn closest_key(path: &str) -> Option<String> {
    let wanted = path.replace(|c: char| c == '[' || c == ']' || c.is_ascii_digit(), "");
    let candidates: Vec<String> = key_paths().iter().map(|p| p.replace("[]", "")).collect();
    closest(&wanted, &candidates).and_then(|best| {
        key_paths()
            .iter()
            .find(|p| p.replace("[]", "") == best)
            .cloned()
    })
}

fn describe_type(node: &Value) -> String {
    if let Some(c) = node.get("const") {
        return format!("the constant {}", plain(c));
    }
    if node.get("oneOf").is_some() {
        return "one of several forms".into();
    }
    if node.get("enum").is_some() {
        return "string".into();
    }
    let t = node.get("type").and_then(Value::as_str).unwrap_or("any");
    let range = match (node.get("minimum"), node.get("maximum")) {
        (Some(lo), Some(hi)) => format!(", {lo} to {hi}"),
        _ => String::new(),
    };
    match t {
        "array" => {
            let item = node
                .get("items")
                .map(describe_type)
                .unwrap_or_else(|| "any".into());
            let count = match (node.get("minItems"), node.get("maxItems")) {
                (Some(lo), Some(hi)) => format!(", {lo} to {hi} items"),
                (Some(lo), None) => {
                    format!(", at least {lo} item{}", plural(lo.as_u64().unwrap_or(0)))
                }
                (None, Some(hi)) => format!(", at most {hi} items"),
                (None, None) => String::new(),
            };
            // `list of strings`, `list of mappings`
            let item = if item.contains(' ') {
                item
            } else {
                format!("{item}s")
            };
            format!("list of {item}{count}")
        }
        "object"
            if node
                .get("additionalProperties")
                .is_some_and(Value::is_object) =>
        {
            format!(
                "mapping of names to {}",
                node.get("additionalProperties")
                    .map(describe_type)
                    .unwrap_or_default()
            )
        }
        other => format!("{}{range}", type_word(other)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn explain_keys() {
        let idle = explain_key("lifecycle.idle_shutdown").unwrap();
        assert!(idle.starts_with("lifecycle.idle_shutdown\n"), "{idle}");
        assert!(
            idle.contains("integer, 0 to 10080") && idle.contains("default   60"),
            "{idle}"
        );
        let owner = explain_key("notebooks.instances[0].owner").unwrap();
        assert!(
            owner.starts_with("notebooks.instances[].owner\n") && owner.contains("required  yes"),
            "{owner}"
        );
        assert!(owner.contains("example   alice"), "{owner}");
        assert_eq!(explain_key("notebooks.instances.owner"), Some(owner));
        let platform = explain_key("notebooks.defaults.platform").unwrap();
        assert!(
            platform.contains("default   notebook-al2023-v1"),
            "{platform}"
        );
        assert!(
            explain_key("repositories.analysis.url")
                .unwrap()
                .starts_with("repositories.<name>.url\n")
        );
        assert!(explain_key("network").unwrap().contains("\nkeys:\n  cidr "));
        assert!(
            explain_key("network.endpoints")
                .unwrap()
                .contains("`auto`; or a list of: sagemaker-api")
        );
        // Keys of one form of a `oneOf`.
        let ca = explain_key("lifecycle.pip_mirror.codeartifact").unwrap();
        assert!(ca.contains("\nkeys:\n  domain "), "{ca}");
        let owner =
            explain_key("notebooks.instances[0].lifecycle.pip_mirror.codeartifact.owner").unwrap();
        assert!(owner.contains("12-digit AWS account id"), "{owner}");
        assert_eq!(explain_key("lifecycle.idle"), None);
        assert_eq!(explain_key(""), None);
        assert_eq!(
            closest_key("lifecycle.idle_shutdwon").as_deref(),
            Some("lifecycle.idle_shutdown")
        );
        assert_eq!(
            closest_key("notebooks.instances[0].onwer").as_deref(),
            Some("notebooks.instances[].owner")
        );
    }
}
