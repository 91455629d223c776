//! The whole compiler for one blueprint: load -> validate -> lower -> reference check ->
//! limits -> review -> emit. Returns the files to write; writing is the caller's.

use std::path::Path;
use std::time::{Duration, Instant};

use crate::blueprint::{self, Invalid};
use crate::cfn::{self, emit::Format};
use crate::lower;
use crate::output::Planned;
use crate::policy;
use crate::source::{Diagnostic, SourceFile};

/// Time spent in each stage.
#[derive(Debug, Default, Clone)]
pub struct Timings(pub Vec<(&'static str, Duration)>);

impl Timings {
    fn lap(&mut self, stage: &'static str, since: &mut Instant) {
        let now = Instant::now();
        self.0.push((stage, now - *since));
        *since = now;
    }
}

#[derive(Debug)]
pub struct Compiled {
    pub name: String,
    pub files: Vec<Planned>,
    /// Directory whose `*.sh` files are all produced by this build (others there are stale).
    pub scripts_dir: std::path::PathBuf,
    pub review: policy::Review,
    pub resources: usize,
    pub timings: Timings,
}

#[derive(Debug)]
pub enum Failure {
    /// The blueprint is invalid (exit 2).
    Invalid(Invalid),
    /// Rules failed that are not waived (exit 1): nothing is written.
    Findings { name: String, review: policy::Review },
}

fn invalid(file: &SourceFile, d: Diagnostic) -> Failure {
    Failure::Invalid(Invalid { file: Some(file.clone()), diagnostics: vec![d] })
}

pub fn compile(path: &Path, out_dir: &Path, format: Format) -> Result<Compiled, Failure> {
    let mut timings = Timings::default();
    let mut t0 = Instant::now();
    let rule_ids: Vec<String> = policy::rule_ids();
    let loaded = blueprint::load(path, &rule_ids).map_err(Failure::Invalid)?;
    timings.lap("load+validate", &mut t0);
    let file = &loaded.file;
    let lowered = lower::lower(&loaded).map_err(|e| {
        let mut d = Diagnostic::error("E0301", e.message).at(file, loaded.spans.value(&e.pointer));
        if let Some(h) = e.help {
            d = d.help(h);
        }
        invalid(file, d)
    })?;
    let json = lowered.template.to_json();
    timings.lap("lower", &mut t0);

    let dangling = cfn::refs::check(&json);
    assert!(dangling.is_empty(), "lowering produced dangling references: {dangling:?}");
    let resources = lowered.template.resources.len();
    let whole = crate::source::Span { start: 0, end: file.text.len().min(1) };
    if resources > cfn::MAX_RESOURCES {
        return Err(invalid(
            file,
            Diagnostic::error(
                "E0302",
                format!("the template would have {resources} resources; CloudFormation allows {}", cfn::MAX_RESOURCES),
            )
            .at(file, loaded.spans.key("/notebooks/instances"))
            .help(format!(
                "{} owners need about {} resources each; split the owners over several blueprints (nested stacks are planned)",
                lowered.owner_resources.len(),
                lowered.owner_resources.values().next().map_or(0, Vec::len)
            )),
        ));
    }
    if lowered.template.outputs.len() > cfn::MAX_OUTPUTS {
        return Err(invalid(
            file,
            Diagnostic::error(
                "E0302",
                format!("the template would have {} outputs; CloudFormation allows {}", lowered.template.outputs.len(), cfn::MAX_OUTPUTS),
            )
            .at(file, loaded.spans.key("/notebooks/instances"))
            .help("split the owners over several blueprints"),
        ));
    }

    let review = policy::review(&json, &policy::Options::default())
        .map_err(|e| invalid(file, Diagnostic::error("E0303", format!("the review could not run: {}", e.0)).at(file, whole)))?;
    timings.lap("review", &mut t0);
    let name = loaded.blueprint.name.clone();
    if review.failed() {
        return Err(Failure::Findings { name, review });
    }

    let text = cfn::emit::to_text(&json, format);
    if text.len() > cfn::MAX_TEMPLATE_BYTES {
        return Err(invalid(
            file,
            Diagnostic::error(
                "E0302",
                format!("the template would be {} bytes; CloudFormation allows {} (uploaded through S3)", text.len(), cfn::MAX_TEMPLATE_BYTES),
            )
            .at(file, loaded.spans.key("/notebooks/instances"))
            .help("split the owners over several blueprints"),
        ));
    }
    let scripts_dir = out_dir.join(&name);
    let mut files = vec![
        Planned { path: out_dir.join(format!("{name}.template.{}", format.extension())), text },
        Planned { path: out_dir.join(format!("{name}.review.md")), text: policy::render_markdown(&review, &name) },
    ];
    for s in &lowered.scripts {
        files.push(Planned { path: scripts_dir.join(&s.file), text: s.text.clone() });
    }
    timings.lap("emit", &mut t0);
    Ok(Compiled { name, files, scripts_dir, review, resources, timings })
}
