//! The deployed template, in any form it comes in: `out/<name>.template.yaml` (YAML with short
//! forms), a JSON template, or what `aws cloudformation get-template` prints: the whole
//! response (`{"TemplateBody": ...}`), or `--query TemplateBody` alone, where a template that
//! was deployed as YAML comes back as one JSON string holding the YAML text.

use std::path::Path;

use serde_json::Value;

use crate::source::{Diagnostic, SourceFile, TagMode, yaml};

/// A template that could not be loaded, with the file the diagnostics point into.
#[derive(Debug)]
pub struct Unloadable {
    pub file: Option<SourceFile>,
    pub diagnostics: Vec<Diagnostic>,
}

pub fn load(path: &Path) -> Result<Value, Unloadable> {
    let file = SourceFile::read(path).map_err(|d| Unloadable {
        file: None,
        diagnostics: vec![d],
    })?;
    parse(&file, true)
}

/// `quoted`: the text may be a JSON string holding the template (once, not again).
fn parse(file: &SourceFile, quoted: bool) -> Result<Value, Unloadable> {
    let doc = yaml::load(file, TagMode::CloudFormation).map_err(|ds| Unloadable {
        file: Some(file.clone()),
        diagnostics: ds,
    })?;
    let mut value = doc.value;
    if let Some(body) = value.get("TemplateBody") {
        value = body.clone();
    }
    if let (true, Value::String(text)) = (quoted, &value) {
        // The body of a YAML template, quoted once more by the AWS CLI.
        return parse(
            &SourceFile::from_text(file.path.clone(), text.clone()),
            false,
        );
    }
    if !value.get("Resources").is_some_and(Value::is_object) {
        let whole = crate::source::Span {
            start: 0,
            end: file.text.find('\n').unwrap_or(file.text.len()),
        };
        return Err(Unloadable {
            file: Some(file.clone()),
            diagnostics: vec![
                Diagnostic::error("E0601", "this is not a CloudFormation template: it has no `Resources` mapping")
                    .at(file, whole)
                    .help("pass the deployed template: `out/<name>.template.yaml`, or the output of `aws cloudformation get-template --stack-name NAME --query TemplateBody`"),
            ],
        });
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load_text(text: &str) -> Result<Value, Unloadable> {
        parse(&SourceFile::from_text("t.yaml", text), true)
    }

    #[test]
    fn short_forms_json_and_get_template_output_all_load_alike() {
        let yaml = "Resources:\n  A:\n    Type: X\n    Properties:\n      P: !GetAtt B.Arn\n";
        let a = load_text(yaml).unwrap();
        let b = load_text(r#"{"Resources": {"A": {"Type": "X", "Properties": {"P": {"Fn::GetAtt": ["B", "Arn"]}}}}}"#).unwrap();
        assert_eq!(a, b);
        let quoted = serde_json::to_string(&Value::String(yaml.into())).unwrap();
        assert_eq!(load_text(&quoted).unwrap(), a);
        let response = format!(r#"{{"TemplateBody": {quoted}, "StagesAvailable": ["Original"]}}"#);
        assert_eq!(load_text(&response).unwrap(), a);
    }

    #[test]
    fn a_file_without_resources_is_refused() {
        let e = load_text("name: research\nversion: 1\n").unwrap_err();
        assert_eq!(e.diagnostics[0].code, "E0601");
        // A string that holds a string is refused too, not unwrapped without end.
        let e = load_text("changed").unwrap_err();
        assert_eq!(e.diagnostics[0].code, "E0601");
    }
}
