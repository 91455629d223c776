//! Policy-as-code: resource schemas, cfn-guard rules and Rust rules, run over a template's JSON.
//!
//! - [`registry`]: the one table of rules, with their docs and fixtures
//! - [`guard`]: cfn-guard in-process, one small payload per family of rules
//! - [`rules`]: the checks guard cannot express
//! - [`schema`]: every resource's Properties against its CloudFormation provider schema
//! - [`waivers`]: `Metadata.nbsynth.waivers` on resources and on the template
//! - [`report`]: text, Markdown, JSON and SARIF renderings of a [`Review`]
//!
//! [`review`] runs the selected rules over a template (guard families and Rust rules are
//! independent jobs spread over the cores) and gives every rule a verdict per resource.

pub mod counterparts;
pub mod guard;
pub mod registry;
pub mod report;
pub mod rules;
pub mod schema;
pub mod waivers;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Map, Value};

pub use registry::{Engine, RuleDoc, find, rules, suggest};
pub use report::{render_json, render_markdown, render_sarif, render_text};
pub use waivers::{Waiver, WaiverScope};

/// Which rules run: `select` empty means all; `ignore` removes rules from that set.
#[derive(Debug, Clone, Default)]
pub struct Options {
    pub select: Vec<String>,
    pub ignore: Vec<String>,
}

/// Why a review could not run. The text is for the user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error(pub String);

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Error {}

/// A rule's judgement of one resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    Pass,
    Fail,
    Waived,
    #[serde(rename = "n.a.")]
    NotApplicable,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Pass => "pass",
            Verdict::Fail => "fail",
            Verdict::Waived => "waived",
            Verdict::NotApplicable => "n.a.",
        }
    }
}

/// One failed check.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Finding {
    pub rule: &'static str,
    /// Logical id; `None` for a finding about the template as a whole (e.g. in Outputs).
    pub resource: Option<String>,
    /// JSON pointer into the template of what failed (for positions).
    pub pointer: String,
    pub message: String,
    /// The waiver's reason, when a waiver covers this finding.
    pub waived: Option<String>,
}

/// Something worth saying that is not a failure (e.g. a type whose schema is not vendored).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Notice {
    pub rule: &'static str,
    pub resource: Option<String>,
    pub pointer: String,
    pub message: String,
}

/// One rule's verdicts, one per resource it judges (sorted by logical id).
#[derive(Debug, Clone)]
pub struct RuleResult {
    pub rule: &'static RuleDoc,
    pub verdicts: Vec<(String, Verdict)>,
}

impl RuleResult {
    pub fn count(&self, v: Verdict) -> usize {
        self.verdicts.iter().filter(|(_, x)| *x == v).count()
    }
}

/// The outcome of [`review`].
#[derive(Debug, Clone, Default)]
pub struct Review {
    /// Every failed check, waived or not, in rule order then resource order.
    pub findings: Vec<Finding>,
    /// Every rule that ran, in registry order.
    pub results: Vec<RuleResult>,
    /// Every waiver the template declares, with what it covered.
    pub waivers: Vec<Waiver>,
    pub notices: Vec<Notice>,
    /// Logical id -> type, for reports.
    pub types: BTreeMap<String, String>,
    /// Wall time of each job and of the whole review (not part of any rendering but `--timings`).
    pub timings: Vec<(String, Duration)>,
}

impl Review {
    /// Whether any finding is not waived.
    pub fn failed(&self) -> bool {
        self.findings.iter().any(|f| f.waived.is_none())
    }

    /// Waivers that covered no finding (the build treats them as errors).
    pub fn unused_waivers(&self) -> Vec<&Waiver> {
        self.waivers
            .iter()
            .filter(|w| w.applied.is_empty() && w.ran)
            .collect()
    }

    pub fn unwaived(&self) -> impl Iterator<Item = &Finding> {
        self.findings.iter().filter(|f| f.waived.is_none())
    }

    pub fn rules_checked(&self) -> usize {
        self.results.len()
    }

    pub fn waived_count(&self) -> usize {
        self.findings.iter().filter(|f| f.waived.is_some()).count()
    }
}

/// Starts paying the review's one-time costs on another thread, so that they overlap with the
/// caller's loading (or lowering) instead of adding to it. Call it as early as the caller knows
/// a review will run; [`review`] works the same without it. A no-op on a single core, where the
/// warm-up would only compete with the caller.
pub fn warm_up() {
    if std::thread::available_parallelism().map_or(1, |n| n.get()) > 1 {
        // Detached: the review waits for any one-time initialisation still under way, and a
        // process that ends first (an invalid blueprint) need not wait for it.
        let _ = std::thread::Builder::new()
            .name("warm-up".into())
            .spawn(guard::warm_up);
    }
}

/// The ids of every rule (the build checks that blueprint waivers name one).
pub fn rule_ids() -> Vec<String> {
    rules().iter().map(|r| r.id.to_string()).collect()
}

/// What a rule's evaluation produces before waivers are applied.
#[derive(Debug, Default)]
pub(crate) struct Sink {
    pub failures: Vec<(&'static str, Option<String>, String, String)>,
    pub not_applicable: BTreeSet<(&'static str, String)>,
    pub notices: Vec<Notice>,
}

/// A Rust rule's view of the template, with a place to put what it finds.
pub struct Ctx<'t> {
    pub template: &'t Value,
    pub resources: &'t Map<String, Value>,
    rule: &'static str,
    sink: Sink,
}

impl<'t> Ctx<'t> {
    fn new(template: &'t Value, resources: &'t Map<String, Value>, rule: &'static str) -> Self {
        Ctx {
            template,
            resources,
            rule,
            sink: Sink::default(),
        }
    }

    /// Resources of one type: (logical id, resource).
    pub fn of_type<'a>(&'a self, t: &'a str) -> impl Iterator<Item = (&'t str, &'t Value)> + 'a {
        self.resources
            .iter()
            .filter(move |(_, r)| r.get("Type").and_then(Value::as_str) == Some(t))
            .map(|(id, r)| (id.as_str(), r))
    }

    pub fn type_of(&self, id: &str) -> Option<&'t str> {
        self.resources.get(id)?.get("Type")?.as_str()
    }

    /// Records a failure of the current rule at `pointer` (relative to the resource when it
    /// does not start with `/`).
    pub fn fail(&mut self, resource: Option<&str>, pointer: &str, message: impl Into<String>) {
        let pointer = match (resource, pointer.starts_with('/')) {
            (Some(id), false) => {
                let base = format!("/Resources/{}", source_escape(id));
                if pointer.is_empty() {
                    base
                } else {
                    format!("{base}/{pointer}")
                }
            }
            _ => pointer.to_string(),
        };
        self.sink.failures.push((
            self.rule,
            resource.map(str::to_string),
            pointer,
            message.into(),
        ));
    }

    /// Records that the current rule does not apply to a resource of a type it judges.
    pub fn not_applicable(&mut self, resource: &str) {
        self.sink
            .not_applicable
            .insert((self.rule, resource.to_string()));
    }

    pub fn notice(&mut self, resource: Option<&str>, pointer: String, message: impl Into<String>) {
        self.sink.notices.push(Notice {
            rule: self.rule,
            resource: resource.map(str::to_string),
            pointer,
            message: message.into(),
        });
    }
}

fn source_escape(id: &str) -> String {
    crate::source::yaml::escape_pointer(id)
}

enum Job {
    Guard {
        family: &'static str,
        rules: Vec<&'static RuleDoc>,
    },
    Rust(&'static RuleDoc),
}

/// Reviews a template (its JSON form; YAML short forms already turned into long forms).
pub fn review(template: &Value, options: &Options) -> Result<Review, Error> {
    let started = Instant::now();
    let resources = template
        .get("Resources")
        .and_then(Value::as_object)
        .ok_or_else(|| Error("the template has no `Resources` mapping".into()))?;
    if let Some((id, _)) = resources.iter().find(|(_, r)| !r.is_object()) {
        return Err(Error(format!("resource `{id}` is not a mapping")));
    }
    let selected = select(options)?;
    let declared = waivers::declared(template)?;

    // Guard rules of one family share a payload; each Rust rule is its own job.
    let mut jobs: Vec<Job> = Vec::new();
    let mut families: BTreeMap<&'static str, Vec<&'static RuleDoc>> = BTreeMap::new();
    for r in &selected {
        match r.engine {
            Engine::Guard(_) => families.entry(r.family).or_default().push(r),
            Engine::Rust(_) => jobs.push(Job::Rust(r)),
        }
    }
    // Guard families first: they are the long jobs, and starting them first balances the cores.
    let guard_jobs: Vec<Job> = families
        .into_iter()
        .map(|(family, rules)| Job::Guard { family, rules })
        .collect();
    jobs.splice(0..0, guard_jobs);

    let results: Mutex<Vec<(Sink, String, Duration)>> = Mutex::new(Vec::new());
    let errors: Mutex<Vec<Error>> = Mutex::new(Vec::new());
    let next = AtomicUsize::new(0);
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .clamp(1, 4)
        .min(jobs.len().max(1));
    let work = || {
        loop {
            let i = next.fetch_add(1, Ordering::Relaxed);
            let Some(job) = jobs.get(i) else { break };
            let t = Instant::now();
            match run_job(job, template, resources) {
                Ok((sink, name)) => {
                    results
                        .lock()
                        .expect("no panics while locked")
                        .push((sink, name, t.elapsed()))
                }
                Err(e) => errors.lock().expect("no panics while locked").push(e),
            }
        }
    };
    if threads > 1 {
        std::thread::scope(|s| {
            for _ in 1..threads {
                s.spawn(work);
            }
            work();
        });
    } else {
        work();
    }
    if let Some(e) = errors
        .into_inner()
        .expect("threads joined")
        .into_iter()
        .next()
    {
        return Err(e);
    }
    let mut sink = Sink::default();
    let mut timings = Vec::new();
    let mut parts = results.into_inner().expect("threads joined");
    parts.sort_by(|a, b| a.1.cmp(&b.1));
    for (part, name, took) in parts {
        sink.failures.extend(part.failures);
        sink.not_applicable.extend(part.not_applicable);
        sink.notices.extend(part.notices);
        timings.push((name, took));
    }
    let mut review = assemble(&selected, resources, sink, declared);
    timings.push(("review (wall)".into(), started.elapsed()));
    review.timings = timings;
    Ok(review)
}

fn select(options: &Options) -> Result<Vec<&'static RuleDoc>, Error> {
    for id in options.select.iter().chain(&options.ignore) {
        if find(id).is_none() {
            let hint = suggest(id);
            let hint = if hint.is_empty() {
                String::new()
            } else {
                format!(" (did you mean {}?)", hint.join(", "))
            };
            return Err(Error(format!(
                "unknown rule `{id}`{hint}; `nbsynth rules` lists them"
            )));
        }
    }
    Ok(rules()
        .iter()
        .filter(|r| options.select.is_empty() || options.select.iter().any(|s| s == r.id))
        .filter(|r| !options.ignore.iter().any(|s| s == r.id))
        .collect())
}

fn run_job(
    job: &Job,
    template: &Value,
    resources: &Map<String, Value>,
) -> Result<(Sink, String), Error> {
    match job {
        Job::Rust(rule) => {
            let Engine::Rust(f) = rule.engine else {
                unreachable!("rust jobs hold rust rules")
            };
            let mut ctx = Ctx::new(template, resources, rule.id);
            f(&mut ctx);
            Ok((ctx.sink, rule.id.to_string()))
        }
        Job::Guard { family, rules } => {
            let name = format!("guard:{family}");
            let types: BTreeSet<&str> =
                rules.iter().flat_map(|r| r.types.iter().copied()).collect();
            let mut sink = Sink::default();
            let sources: Vec<&str> = rules
                .iter()
                .map(|r| {
                    if let Engine::Guard(s) = r.engine {
                        s
                    } else {
                        ""
                    }
                })
                .collect();
            let keep: BTreeSet<&str> = sources.iter().flat_map(|s| guard::words(s)).collect();
            let docs = guard::documents(resources, &types, &keep);
            if docs.is_empty() {
                return Ok((sink, name));
            }
            let data: Vec<&str> = docs.iter().map(|(d, _)| d.as_str()).collect();
            let rule_named = |id: &str| {
                rules
                    .iter()
                    .find(|r| r.id == id)
                    .ok_or_else(|| Error(format!("cfn-guard reported an unknown rule `{id}`")))
            };
            let outcome = guard::run(&sources, &data)?;
            for (rule, index) in outcome.not_applicable {
                let rule = rule_named(&rule)?;
                for id in &docs[index].1 {
                    sink.not_applicable.insert((rule.id, id.to_string()));
                }
            }
            let placeholder = format!("/Resources/{}", guard::PLACEHOLDER);
            for f in outcome.failures {
                let rule = rule_named(&f.rule)?;
                let rest = f.pointer.strip_prefix(&placeholder).unwrap_or("");
                for id in &docs[f.document].1 {
                    let pointer = format!("/Resources/{}{rest}", source_escape(id));
                    sink.failures
                        .push((rule.id, Some(id.to_string()), pointer, f.message.clone()));
                }
            }
            Ok((sink, name))
        }
    }
}

/// Turns raw failures into verdicts per rule and resource, applying waivers.
fn assemble(
    selected: &[&'static RuleDoc],
    resources: &Map<String, Value>,
    sink: Sink,
    mut declared: Vec<Waiver>,
) -> Review {
    let types: BTreeMap<String, String> = resources
        .iter()
        .map(|(id, r)| {
            (
                id.clone(),
                r.get("Type")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string(),
            )
        })
        .collect();
    let ran: BTreeSet<&str> = selected.iter().map(|r| r.id).collect();
    for w in &mut declared {
        w.ran = ran.contains(w.rule.as_str());
    }
    let mut findings: Vec<Finding> = Vec::new();
    let mut seen = BTreeSet::new();
    for (rule, resource, pointer, message) in sink.failures {
        if !seen.insert((rule, resource.clone(), pointer.clone(), message.clone())) {
            continue;
        }
        let waived = waivers::apply(&mut declared, rule, resource.as_deref());
        findings.push(Finding {
            rule,
            resource,
            pointer,
            message,
            waived,
        });
    }
    let order: BTreeMap<&str, usize> = selected
        .iter()
        .enumerate()
        .map(|(i, r)| (r.id, i))
        .collect();
    findings.sort_by(|a, b| {
        (order.get(a.rule), &a.resource, &a.pointer, &a.message).cmp(&(
            order.get(b.rule),
            &b.resource,
            &b.pointer,
            &b.message,
        ))
    });

    let mut results = Vec::new();
    for rule in selected {
        let mut verdicts: BTreeMap<String, Verdict> = types
            .iter()
            .filter(|(_, t)| rule.applies_to(t))
            .map(|(id, _)| {
                let v = if sink.not_applicable.contains(&(rule.id, id.clone())) {
                    Verdict::NotApplicable
                } else {
                    Verdict::Pass
                };
                (id.clone(), v)
            })
            .collect();
        for f in findings.iter().filter(|f| f.rule == rule.id) {
            let Some(id) = &f.resource else { continue };
            let v = if f.waived.is_some() {
                Verdict::Waived
            } else {
                Verdict::Fail
            };
            let slot = verdicts.entry(id.clone()).or_insert(v);
            // Fail wins over waived, waived over pass / n.a.
            if *slot != Verdict::Fail {
                *slot = v;
            }
        }
        results.push(RuleResult {
            rule,
            verdicts: verdicts.into_iter().collect(),
        });
    }
    let mut notices = sink.notices;
    notices
        .sort_by(|a, b| (&a.resource, a.rule, &a.message).cmp(&(&b.resource, b.rule, &b.message)));
    Review {
        findings,
        results,
        waivers: declared,
        notices,
        types,
        timings: Vec::new(),
    }
}

#[cfg(test)]
mod tests;
