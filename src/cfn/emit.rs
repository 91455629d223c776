//! Writing a template as YAML (default) or JSON: deterministic text, a trailing newline.

use serde_json::Value;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Format {
    #[default]
    Yaml,
    Json,
}

impl Format {
    pub fn extension(self) -> &'static str {
        match self {
            Format::Yaml => "yaml",
            Format::Json => "json",
        }
    }
}

pub fn to_text(template: &Value, format: Format) -> String {
    match format {
        Format::Json => {
            let mut s = serde_json::to_string_pretty(template).expect("a JSON value serializes");
            s.push('\n');
            s
        }
        Format::Yaml => {
            // Quote every string that a YAML 1.1 reader (PyYAML in cfn-lint and checkov) could
            // read as something else ("2012-10-17" as a date, "on" as a bool); scripts and other
            // multi-line strings become literal blocks; long lines are never folded.
            let mut options = serde_saphyr::SerializerOptions::default();
            options.folded_wrap_chars = usize::MAX / 2;
            options.min_fold_chars = usize::MAX / 2;
            let mut s = serde_saphyr::to_string_with_options(template, options)
                .expect("a JSON value serializes as YAML");
            if !s.ends_with('\n') {
                s.push('\n');
            }
            s
        }
    }
}
