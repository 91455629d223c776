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
use crate::split;

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
    /// Template size, and whether the lifecycle hooks were compressed to fit it inline.
    pub template_bytes: usize,
    pub compressed_for_size: bool,
    /// Split stacks (`stacks:`): every template's counts, root first, and the deploy commands.
    pub stacks: Vec<split::quotas::Counts>,
    pub deploy: Vec<String>,
    /// The whole template as JSON, before any split (what `nbsynth plan` compares).
    pub template: serde_json::Value,
    /// Split stacks: the layout and the templates as JSON, root first (`nbsynth plan` compares
    /// them stack by stack); empty without `stacks:`.
    pub layout: Option<crate::blueprint::model::Layout>,
    pub parts: Vec<split::Part>,
}

/// The largest template `aws cloudformation deploy --template-file` sends inline; larger ones
/// need `--s3-bucket`.
pub const INLINE_TEMPLATE_BYTES: usize = 51_200;

#[derive(Debug)]
pub enum Failure {
    /// The blueprint is invalid (exit 2).
    Invalid(Invalid),
    /// Rules failed that are not waived (exit 1): nothing is written.
    Findings {
        name: String,
        review: Box<policy::Review>,
    },
}

fn invalid(file: &SourceFile, d: Diagnostic) -> Failure {
    Failure::Invalid(Invalid {
        file: Some(file.clone()),
        diagnostics: vec![d],
    })
}

/// Compiles a blueprint into the files `build` writes under `out_dir`. When a template of an
/// earlier build is there, the review report gains a "Changes since the last build" section.
pub fn compile(path: &Path, out_dir: &Path, format: Format) -> Result<Compiled, Failure> {
    compile_with(path, out_dir, format, Previous::Compare)
}

/// Whether to compare with the template an earlier build left in the output directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Previous {
    Compare,
    Ignore,
}

pub fn compile_with(
    path: &Path,
    out_dir: &Path,
    format: Format,
    previous: Previous,
) -> Result<Compiled, Failure> {
    let mut timings = Timings::default();
    let mut t0 = Instant::now();
    policy::warm_up();
    let rule_ids: Vec<String> = policy::rule_ids();
    let loaded = blueprint::load(path, &rule_ids).map_err(Failure::Invalid)?;
    timings.lap("load+validate", &mut t0);
    let split = loaded.blueprint.stacks.is_some();
    let options = lower::Options {
        split,
        ..lower::Options::default()
    };
    let mut stage = lower_review_emit(&loaded, options, format, &mut timings)?;
    // Over the inline limit, compressed hooks may bring the template under it, so that the
    // plain `aws cloudformation deploy --template-file` works; the plain scripts stay in out/.
    let mut compressed_for_size = false;
    let script_bytes: usize = stage.lowered.scripts.iter().map(|s| s.text.len()).sum();
    let root_bytes = stage.templates[0].text.len();
    if !split
        && root_bytes > INLINE_TEMPLATE_BYTES
        && root_bytes < INLINE_TEMPLATE_BYTES + script_bytes / 2
    {
        let options = lower::Options {
            compress_scripts: true,
            split,
        };
        let smaller = lower_review_emit(&loaded, options, format, &mut timings)?;
        if smaller.templates[0].text.len() <= INLINE_TEMPLATE_BYTES {
            stage = smaller;
            compressed_for_size = true;
        }
    }
    // The "files" lap starts here: `t0` was last reset before lowering.
    t0 = Instant::now();
    let Stage {
        lowered,
        resources,
        review,
        templates,
        diagram,
        parts,
        json,
    } = stage;
    let name = loaded.blueprint.name.clone();
    let scripts_dir = out_dir.join(&name);
    let template_bytes = templates[0].text.len();
    let stacks: Vec<split::quotas::Counts> =
        templates.iter().filter_map(|t| t.counts.clone()).collect();
    let deploy = match (&loaded.blueprint.stacks, parts.is_empty()) {
        (Some(s), false) => split::deploy_commands(&name, s.layout, &parts, out_dir),
        _ => Vec::new(),
    };
    let mut report = policy::render_markdown(&review, &name);
    if let Some(s) = &loaded.blueprint.stacks {
        report.push_str(&split_section(s.layout, &stacks, &deploy));
    }
    // The network section before "Changes since the last build", which must stay last (a rebuild
    // of an unchanged template keeps that section from the previous report's heading to its end).
    report.push_str(&diagram);
    let template_path = out_dir.join(&templates[0].path);
    let review_path = out_dir.join(format!("{name}.review.md"));
    // A split stack's root holds no owner: the comparison is for one-template stacks.
    if previous == Previous::Compare && loaded.blueprint.stacks.is_none() {
        report.push_str(&since_last_build(
            &name,
            &template_path,
            &review_path,
            &templates[0].text,
            &json,
        ));
    }
    // The stack policy protects what the (root) stack itself holds.
    let stack_policy = match parts.first() {
        Some(root) => crate::plan::protect::stack_policy(&root.template),
        None => crate::plan::protect::stack_policy(&json),
    };
    let mut files: Vec<Planned> = templates
        .into_iter()
        .map(|t| Planned {
            path: out_dir.join(&t.path),
            text: t.text,
        })
        .collect();
    files.insert(
        1,
        Planned {
            path: review_path,
            text: report,
        },
    );
    files.insert(
        2,
        Planned {
            path: out_dir.join(format!("{name}.stack-policy.json")),
            text: stack_policy,
        },
    );
    files.extend(crate::guardrails::files(
        &loaded.blueprint,
        &out_dir.join(format!("{name}.guardrails")),
    ));
    for s in &lowered.scripts {
        files.push(Planned {
            path: scripts_dir.join(&s.file),
            text: s.text.clone(),
        });
    }
    timings.lap("files", &mut t0);
    Ok(Compiled {
        name,
        files,
        scripts_dir,
        review,
        resources,
        timings,
        template_bytes,
        compressed_for_size,
        stacks,
        deploy,
        template: json,
        layout: loaded.blueprint.stacks.as_ref().map(|s| s.layout),
        parts,
    })
}

const SINCE_HEADING: &str = "\n## Changes since the last build\n";

/// The review report's section comparing this build with the template already in the output
/// directory (read before anything is written). When the template is the same, the section
/// of the previous report is kept, so that building twice changes nothing.
fn since_last_build(
    name: &str,
    template_path: &Path,
    review_path: &Path,
    text: &str,
    json: &serde_json::Value,
) -> String {
    let Ok(old_text) = std::fs::read_to_string(template_path) else {
        return String::new();
    };
    if old_text == text {
        let old_review = std::fs::read_to_string(review_path).unwrap_or_default();
        return old_review
            .find(SINCE_HEADING)
            .map(|i| old_review[i..].to_string())
            .unwrap_or_default();
    }
    let Ok(old) = crate::plan::load::load(template_path) else {
        return String::new();
    };
    let plan = crate::plan::compare(&old, json);
    let shown = template_path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    format!(
        "{SINCE_HEADING}\n{}",
        crate::plan::render::markdown(&plan, name, &format!("previous {shown}"), 3)
    )
}

/// The review report's section on the split stack: each template's counts against the quotas
/// (the review above covers the whole hierarchy: it ran on the template before the split).
fn split_section(
    layout: crate::blueprint::model::Layout,
    stacks: &[split::quotas::Counts],
    deploy: &[String],
) -> String {
    use crate::cfn::{MAX_OUTPUTS, MAX_PARAMETERS, MAX_RESOURCES, MAX_TEMPLATE_BYTES};
    let mut s = format!(
        "\n## Stacks ({} layout)\n\n| Template | Shard | Owners | Resources (max {MAX_RESOURCES}) | Parameters (max {MAX_PARAMETERS}) | Outputs (max {MAX_OUTPUTS}) | Bytes (max {MAX_TEMPLATE_BYTES}) |\n|---|---|---|---|---|---|---|\n",
        match layout {
            crate::blueprint::model::Layout::Nested => "nested",
            crate::blueprint::model::Layout::Independent => "independent",
        }
    );
    for c in stacks {
        s.push_str(&format!(
            "| `{}` | {} | {} | {} | {} | {} | {} |\n",
            c.path,
            c.shard
                .as_deref()
                .unwrap_or(split::quotas::root_word(layout)),
            c.owners,
            c.resources,
            c.parameters,
            c.outputs,
            c.bytes
        ));
    }
    let total: usize = stacks.iter().map(|c| c.resources).sum();
    s.push_str(&format!(
        "\n{total} resources in {} templates. Deploy, in this order:\n\n```sh\n",
        stacks.len()
    ));
    for d in deploy {
        s.push_str(d);
        s.push('\n');
    }
    s.push_str("```\n");
    s
}

struct Stage {
    /// Its template has been moved into the JSON; `resources` is the count it had.
    lowered: lower::Lowered,
    resources: usize,
    review: policy::Review,
    /// The template, or the root template and the shards' templates.
    templates: Vec<Emitted>,
    parts: Vec<split::Part>,
    /// The review report's network section.
    diagram: String,
    /// The whole template, before any split.
    json: serde_json::Value,
}

struct Emitted {
    /// Relative to the output directory.
    path: String,
    text: String,
    /// Set for the templates of a split stack.
    counts: Option<split::quotas::Counts>,
}

/// Lower, check references and limits, review, emit.
fn lower_review_emit(
    loaded: &blueprint::Loaded,
    options: lower::Options,
    format: Format,
    timings: &mut Timings,
) -> Result<Stage, Failure> {
    let mut t0 = Instant::now();
    let file = &loaded.file;
    let mut lowered = lower::lower(loaded, options).map_err(|e| {
        let mut d = Diagnostic::error("E0301", e.message).at(file, loaded.spans.value(&e.pointer));
        if let Some(h) = e.help {
            d = d.help(h);
        }
        invalid(file, d)
    })?;
    crate::plan::protect::retain_data(&mut lowered.template);
    let resources = lowered.template.resources.len();
    let outputs = lowered.template.outputs.len();
    // Moved, not cloned: nothing after this reads the template itself.
    let mut json = std::mem::take(&mut lowered.template).into_json();
    timings.lap("lower", &mut t0);

    let dangling = cfn::refs::check(&json);
    assert!(
        dangling.is_empty(),
        "lowering produced dangling references: {dangling:?}"
    );
    let limit = |what: &str, count: usize, max: usize| {
        invalid(
            file,
            Diagnostic::error("E0302", format!("the template would have {count} {what}; CloudFormation allows {max}"))
                .at(file, loaded.spans.key("/notebooks/instances"))
                .help(format!(
                    "{} owners need {} resources each besides the shared ones; add `stacks: {{}}` to split the stack (before the first deployment: splitting later moves every owner into another stack)",
                    lowered.owner_resources.len(),
                    lowered.owner_resources.values().next().map_or(0, Vec::len)
                )),
        )
    };
    let stacks = loaded.blueprint.stacks.as_ref();
    if stacks.is_none() && resources > cfn::MAX_RESOURCES {
        return Err(limit("resources", resources, cfn::MAX_RESOURCES));
    }
    if stacks.is_none() && outputs > cfn::MAX_OUTPUTS {
        return Err(limit("outputs", outputs, cfn::MAX_OUTPUTS));
    }

    let oversized = endpoint_policies_too_large(&json, loaded);
    if !oversized.is_empty() {
        return Err(Failure::Invalid(Invalid {
            file: Some(file.clone()),
            diagnostics: oversized,
        }));
    }

    let review = policy::review(&json, &policy::Options::default()).map_err(|e| {
        let whole = crate::source::Span {
            start: 0,
            end: file.text.len().min(1),
        };
        invalid(
            file,
            Diagnostic::error("E0303", format!("the review could not run: {}", e.0))
                .at(file, whole),
        )
    })?;
    timings.lap("review", &mut t0);
    if review.failed() {
        return Err(Failure::Findings {
            name: loaded.blueprint.name.clone(),
            review: Box::new(review),
        });
    }
    let unused: Vec<Diagnostic> = review
        .unused_waivers()
        .into_iter()
        .map(|w| {
            let at = loaded
                .blueprint
                .waivers
                .iter()
                .position(|b| b.rule == w.rule && b.reason == w.reason);
            let pointer = at.map_or(String::from("/waivers"), |i| format!("/waivers/{i}"));
            Diagnostic::error("E0216", format!("the waiver of {} matches nothing", w.rule))
                .at(file, loaded.spans.value(&pointer))
                .label("this rule passes on every resource the waiver covers")
                .help("remove the waiver: a stale exception hides the next real one")
        })
        .collect();
    if !unused.is_empty() {
        return Err(Failure::Invalid(Invalid {
            file: Some(file.clone()),
            diagnostics: unused,
        }));
    }

    // The waivers the review used, as the other scanners' own suppressions.
    policy::counterparts::annotate(&mut json, &review);
    let diagram = crate::diagram::markdown_section(&json, &loaded.blueprint.name);
    let name = &loaded.blueprint.name;
    let Some(stacks) = stacks else {
        let text = cfn::emit::to_text(&json, format);
        if text.len() > cfn::MAX_TEMPLATE_BYTES {
            return Err(limit("bytes", text.len(), cfn::MAX_TEMPLATE_BYTES));
        }
        timings.lap("emit", &mut t0);
        let path = format!("{name}.template.{}", format.extension());
        return Ok(Stage {
            lowered,
            resources,
            review,
            templates: vec![Emitted {
                path,
                text,
                counts: None,
            }],
            parts: Vec::new(),
            diagram,
            json,
        });
    };
    let parts = split::split(
        &json,
        name,
        stacks,
        &lowered.owner_resources,
        &lowered.owner_outputs,
        format.extension(),
    );
    timings.lap("split", &mut t0);
    let templates: Vec<Emitted> = parts
        .iter()
        .map(|p| {
            let text = cfn::emit::to_text(&p.template, format);
            let counts = split::quotas::Counts::of(
                &p.path,
                p.shard.clone(),
                p.owners.len(),
                &p.template,
                &text,
            );
            Emitted {
                path: p.path.clone(),
                text,
                counts: Some(counts),
            }
        })
        .collect();
    let all: Vec<split::quotas::Counts> =
        templates.iter().filter_map(|t| t.counts.clone()).collect();
    let exceeded = split::quotas::check(&all, stacks.layout);
    if !exceeded.is_empty() {
        let at = loaded.spans.value("/stacks");
        return Err(Failure::Invalid(Invalid {
            file: Some(file.clone()),
            diagnostics: exceeded
                .into_iter()
                .map(|e| {
                    Diagnostic::error("E0304", e.message)
                        .at(file, at)
                        .help(e.help)
                })
                .collect(),
        }));
    }
    timings.lap("emit", &mut t0);
    Ok(Stage {
        lowered,
        resources,
        review,
        templates,
        parts,
        diagram,
        json,
    })
}

/// E0305: an endpoint policy past EC2's size limit, which no quota increase lifts. The S3
/// gateway's lists every granted bucket and prefix (`{owner}` prefixes once, as `*`), so only
/// many literal prefixes or buckets reach it.
fn endpoint_policies_too_large(
    json: &serde_json::Value,
    loaded: &blueprint::Loaded,
) -> Vec<Diagnostic> {
    use cfn::policy_size::{MAX_ENDPOINT_POLICY_CHARS, endpoint_policy_chars};
    let resources = json.get("Resources").and_then(|r| r.as_object());
    resources
        .into_iter()
        .flatten()
        .filter(|(_, r)| r["Type"] == "AWS::EC2::VPCEndpoint")
        .filter_map(|(id, r)| {
            let size = endpoint_policy_chars(r.pointer("/Properties/PolicyDocument")?);
            (size > MAX_ENDPOINT_POLICY_CHARS).then(|| {
                Diagnostic::error(
                    "E0305",
                    format!("the policy of endpoint {id} would have {size} characters; a VPC endpoint policy allows {MAX_ENDPOINT_POLICY_CHARS}"),
                )
                .at(&loaded.file, loaded.spans.key("/data"))
                .help("the S3 endpoint policy names every granted bucket and prefix once (`{owner}` prefixes as one wildcard); grant fewer, broader prefixes: a prefix covers every key below it")
            })
        })
        .collect()
}
