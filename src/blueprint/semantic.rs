//! Checks the schema cannot express: uniqueness, references between sections, CIDR arithmetic,
//! `{owner}` placement, waivers that name a real rule and owner.

use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv4Addr;

use serde_json::Value;

use super::model::{Blueprint, Endpoints, PipMirror};
use super::schema::closest;
use crate::cfn::LogicalId;
use crate::source::{Diagnostic, SourceFile, Spans};

/// An IPv4 block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    pub base: u32,
    pub prefix: u8,
}

impl Cidr {
    pub fn parse(s: &str) -> Option<Cidr> {
        let (ip, prefix) = s.split_once('/')?;
        let ip: Ipv4Addr = ip.parse().ok()?;
        let prefix: u8 = prefix.parse().ok().filter(|p| *p <= 32)?;
        Some(Cidr {
            base: u32::from(ip),
            prefix,
        })
    }

    fn mask(prefix: u8) -> u32 {
        if prefix == 0 {
            0
        } else {
            u32::MAX << (32 - prefix)
        }
    }

    pub fn network(self) -> Cidr {
        Cidr {
            base: self.base & Self::mask(self.prefix),
            prefix: self.prefix,
        }
    }

    /// The `i`-th block of `prefix` inside this one.
    pub fn subnet(self, prefix: u8, i: u32) -> Cidr {
        Cidr {
            base: self.base + (i << (32 - prefix)),
            prefix,
        }
    }

    pub fn size(self) -> u64 {
        1u64 << (32 - self.prefix)
    }
}

impl std::fmt::Display for Cidr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", Ipv4Addr::from(self.base), self.prefix)
    }
}

/// Prefix of each subnet when a VPC block is split evenly into `zones` subnets.
pub fn subnet_prefix(vpc: Cidr, zones: u8) -> u8 {
    let bits = (u32::from(zones.max(1)) - 1)
        .checked_ilog2()
        .map_or(0, |b| b + 1) as u8;
    vpc.prefix + bits
}

/// AWS reserves five addresses in every subnet.
const RESERVED_PER_SUBNET: u64 = 5;

pub fn check(
    file: &SourceFile,
    bp: &Blueprint,
    raw: &Value,
    spans: &Spans,
    rule_ids: &[String],
) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let key = |p: &str| spans.key(p);
    let val = |p: &str| spans.value(p);

    // Owners: unique, and distinct after turning into resource names.
    let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
    let mut ids: BTreeMap<LogicalId, &str> = BTreeMap::new();
    for (i, inst) in bp.notebooks.instances.iter().enumerate() {
        let p = format!("/notebooks/instances/{i}/owner");
        if let Some(first) = seen.insert(&inst.owner, i) {
            out.push(
                Diagnostic::error("E0201", format!("owner `{}` is listed twice", inst.owner))
                    .at(file, val(&p))
                    .label("duplicate owner")
                    .help(format!(
                        "first listed at notebooks.instances[{first}]; each owner gets one notebook"
                    )),
            );
            continue;
        }
        let id = LogicalId::new(&[&inst.owner]);
        if let Some(other) = ids.insert(id.clone(), &inst.owner) {
            out.push(
                Diagnostic::error(
                    "E0211",
                    format!(
                        "owners `{other}` and `{}` give the same resource names ({id})",
                        inst.owner
                    ),
                )
                .at(file, val(&p))
                .label("clashes with another owner")
                .help("owner names must differ in more than their dashes"),
            );
        }
    }
    let owners: Vec<String> = bp
        .notebooks
        .instances
        .iter()
        .map(|i| i.owner.clone())
        .collect();
    // Waivers and access principals may name Studio users as well as notebook owners.
    let mut people = owners.clone();
    people.extend(super::studio::users(bp).iter().map(|u| u.user.clone()));
    out.extend(super::studio::check(file, bp, spans));

    // Repositories referenced by notebooks exist.
    let repo_names: Vec<String> = bp.repositories.keys().cloned().collect();
    for (i, inst) in bp.notebooks.instances.iter().enumerate() {
        for (j, r) in inst.repositories.iter().enumerate() {
            if !bp.repositories.contains_key(r) {
                let mut d = Diagnostic::error("E0202", format!("repository `{r}` is not defined"))
                    .at(
                        file,
                        val(&format!("/notebooks/instances/{i}/repositories/{j}")),
                    )
                    .label("no such repository");
                d = match closest(r, &repo_names) {
                    Some(best) => d.help(format!("did you mean `{best}`?")),
                    None if repo_names.is_empty() => {
                        d.help("define it under `repositories:` with its url")
                    }
                    None => d.help(format!("defined repositories: {}", repo_names.join(", "))),
                };
                out.push(d);
            }
        }
    }

    // Without an internet route, notebooks can clone only through the CodeCommit endpoint; on
    // an existing network, through the HTTPS egress the blueprint opens.
    let egress = bp
        .network
        .existing
        .as_ref()
        .map(|e| !e.https_egress.is_empty());
    if egress != Some(true) {
        for (name, repo) in &bp.repositories {
            let Some(url) = &repo.url else { continue };
            if !url.starts_with("https://git-codecommit.") {
                let p = format!(
                    "/repositories/{}/url",
                    crate::source::yaml::escape_pointer(name)
                );
                let help = if egress.is_some() {
                    "the notebooks' security group allows HTTPS only to the VPC endpoints and S3; add the Git server's IPv4 block to `network.existing.https_egress`, or name a CodeCommit repository with `codecommit: NAME`"
                } else {
                    "the generated VPC has no route out; name a CodeCommit repository with `codecommit: NAME`, or bring a network that reaches it under `network.existing`"
                };
                out.push(
                    Diagnostic::error(
                        "E0214",
                        format!("repository `{name}` is not reachable from the isolated network"),
                    )
                    .at(file, val(&p))
                    .label("needs the internet")
                    .help(help),
                );
            }
        }
    }

    // Network.
    let net = raw.get("network");
    let has = |k: &str| net.and_then(|n| n.get(k)).is_some();
    if has("existing") {
        for k in ["cidr", "zones"] {
            if has(k) {
                out.push(
                    Diagnostic::error(
                        "E0203",
                        format!("`network.{k}` cannot be combined with `network.existing`"),
                    )
                    .at(file, key(&format!("/network/{k}")))
                    .label("ignored with an existing network")
                    .help("remove it, or remove `existing` to create a new VPC"),
                );
            }
        }
    } else if let Some(cidr) = Cidr::parse(&bp.network.cidr) {
        let p = "/network/cidr";
        if !(16..=24).contains(&cidr.prefix) {
            out.push(
                Diagnostic::error("E0204", format!("VPC block /{} is outside /16 to /24", cidr.prefix))
                    .at(file, val(p))
                    .label("unsupported prefix length")
                    .help("AWS allows VPC blocks from /16 (65,536 addresses) to /28; nbsynth needs at least /24"),
            );
        } else if cidr.network() != cidr {
            out.push(
                Diagnostic::error("E0204", format!("`{}` has host bits set", bp.network.cidr))
                    .at(file, val(p))
                    .label("not a network address")
                    .help(format!("did you mean `{}`?", cidr.network())),
            );
        } else {
            let prefix = subnet_prefix(cidr, bp.network.zones);
            let per_subnet = Cidr { base: 0, prefix }.size() - RESERVED_PER_SUBNET;
            let endpoints =
                (endpoint_names(bp).len() + super::perimeter::mirror_services(bp).len()) as u64;
            let zones = u64::from(bp.network.zones);
            let notebooks = (owners.len() as u64).div_ceil(zones);
            // Notebooks land in subnets by a hash of their owner: allow twice the even share.
            // Studio takes 2 to 4 addresses per user, in whichever subnet the domain picks.
            let studio_ips = 4 * super::studio::users(bp).len() as u64;
            let needed = endpoints + (2 * notebooks).min(owners.len() as u64) + studio_ips;
            if needed > per_subnet {
                out.push(
                    Diagnostic::error(
                        "E0205",
                        format!(
                            "{} split into {} subnets gives /{prefix} subnets with {per_subnet} usable addresses; {needed} are needed ({endpoints} endpoint interfaces and up to {} notebooks per subnet{})",
                            bp.network.cidr,
                            bp.network.zones,
                            needed - endpoints - studio_ips,
                            if studio_ips > 0 {
                                format!(", {studio_ips} for Studio apps")
                            } else {
                                String::new()
                            }
                        ),
                    )
                    .at(file, val(p))
                    .label("too small")
                    .help("use a larger block (a smaller prefix) or more zones"),
                );
            }
        }
    }

    // `{owner}` is only allowed in data prefixes.
    find_placeholders(raw, "", &mut |pointer, s| {
        let in_prefix = (pointer.starts_with("/data/buckets/")
            && (pointer.contains("/read/") || pointer.contains("/write/")))
            || pointer == "/jobs/output";
        for name in placeholders(s) {
            if !in_prefix {
                out.push(
                    Diagnostic::error("E0206", format!("`{{{name}}}` is not allowed here"))
                        .at(file, val(pointer))
                        .label("placeholder outside a data prefix")
                        .help("`{owner}` may only appear in data.buckets[].read and data.buckets[].write prefixes and jobs.output"),
                );
            } else if name != "owner" {
                out.push(
                    Diagnostic::error("E0206", format!("unknown placeholder `{{{name}}}`"))
                        .at(file, val(pointer))
                        .label("not a placeholder")
                        .help("the only placeholder is `{owner}`"),
                );
            }
        }
    });

    // Buckets listed once.
    let mut buckets = BTreeSet::new();
    for (i, b) in bp.data.buckets.iter().enumerate() {
        if !buckets.insert(&b.name) {
            out.push(
                Diagnostic::error("E0213", format!("bucket `{}` is listed twice", b.name))
                    .at(file, val(&format!("/data/buckets/{i}/name")))
                    .label("duplicate bucket")
                    .help("merge the read and write prefixes into one entry"),
            );
        }
    }

    // Waivers name a real rule and owner.
    for (i, w) in bp.waivers.iter().enumerate() {
        if !rule_ids.contains(&w.rule) {
            let mut d =
                Diagnostic::error("E0207", format!("waiver names unknown rule `{}`", w.rule))
                    .at(file, val(&format!("/waivers/{i}/rule")))
                    .label("no such rule");
            if let Some(best) = closest(&w.rule, rule_ids) {
                d = d.help(format!("did you mean `{best}`?"));
            }
            out.push(d.help("`nbsynth rules` lists the rules"));
        }
        if let Some(o) = w.owner.as_ref().filter(|o| !people.contains(o)) {
            out.push(owner_error(
                file,
                val(&format!("/waivers/{i}/owner")),
                o,
                &people,
                "E0208",
            ));
        }
    }

    // Client networks are exact blocks: with host bits set, the block the user meant is a guess.
    if let Some(access) = &bp.access {
        for (i, s) in access.source_cidrs.iter().enumerate() {
            if let Some(c) = Cidr::parse(s).filter(|c| c.network() != *c) {
                out.push(
                    Diagnostic::error("E0204", format!("`{s}` has host bits set"))
                        .at(file, val(&format!("/access/source_cidrs/{i}")))
                        .label("not a network address")
                        .help(format!(
                            "did you mean `{}`? For this one address, write `{}/32`",
                            c.network(),
                            s.split('/').next().unwrap_or(s)
                        )),
                );
            }
        }
    }

    // Access principals name owners.
    if let Some(access) = &bp.access {
        for o in access.principals.keys() {
            if !people.contains(o) {
                let p = format!(
                    "/access/principals/{}",
                    crate::source::yaml::escape_pointer(o)
                );
                out.push(owner_error(file, key(&p), o, &people, "E0209"));
            }
        }
    }

    // Platforms AWS retired, and instance types a platform does not run.
    super::platform::check(file, bp, spans, &mut out);
    out.extend(super::perimeter::check(file, bp, spans));

    // An explicit endpoint list must contain what the features need.
    if let Endpoints::List(list) = &bp.network.endpoints {
        for (needed, why) in required_endpoints(bp) {
            if !list.iter().any(|e| e == needed) {
                out.push(
                    Diagnostic::error(
                        "E0210",
                        format!("endpoint `{needed}` is missing from `network.endpoints`"),
                    )
                    .at(file, val("/network/endpoints"))
                    .label(format!("{why} needs `{needed}`"))
                    .help("add it, or use `endpoints: auto`"),
                );
            }
        }
    }
    out
}

/// The parts of the blueprint each check reads, as JSON pointers (`*` for any one key or index).
/// When the schema rejected part of a blueprint, a finding is reported only if none of what its
/// check reads was cut away (see `salvage`). A code not listed reads everything.
pub fn reads(code: &str) -> &'static [&'static str] {
    match code {
        // The help names the first owner's index, which a cut item would shift.
        "E0201" => &["/notebooks/instances"],
        "E0202" => &["/repositories"],
        "E0203" | "E0206" | "E0207" | "E0211" | "E0212" | "E0213" => &[],
        "E0204" | "E0214" => &["/network/existing"],
        "E0208" | "E0209" => &["/notebooks/instances/*/owner"],
        _ => &[""],
    }
}

fn owner_error(
    file: &SourceFile,
    span: crate::source::Span,
    o: &str,
    owners: &[String],
    code: &'static str,
) -> Diagnostic {
    let mut d = Diagnostic::error(code, format!("`{o}` is not an owner of this blueprint"))
        .at(file, span)
        .label("unknown owner");
    if let Some(best) = closest(o, owners) {
        d = d.help(format!("did you mean `{best}`?"));
    }
    d
}

/// Endpoints without which an enabled feature breaks, with the feature's name.
pub fn required_endpoints(bp: &Blueprint) -> Vec<(&'static str, &'static str)> {
    let mut out = vec![
        ("sts", "the AWS SDK on the notebook"),
        ("logs", "lifecycle logging"),
    ];
    let any_idle = bp
        .notebooks
        .instances
        .iter()
        .any(|i| bp.lifecycle.effective(i.lifecycle.as_ref()).idle_shutdown > 0);
    if any_idle {
        out.push(("sagemaker-api", "idle_shutdown"));
    }
    let via_endpoint = bp.access.as_ref().is_some_and(|a| a.via_vpc_endpoint);
    if via_endpoint && !bp.notebooks.instances.is_empty() {
        out.push(("notebook", "access.via_vpc_endpoint"));
    }
    // The notebook creates and watches jobs through the SageMaker API; job data goes through
    // the S3 gateway endpoint, and SageMaker pulls its images outside the VPC.
    if bp.jobs.is_some() && !out.iter().any(|(name, _)| *name == "sagemaker-api") {
        out.push(("sagemaker-api", "jobs"));
    }
    if bp.pip_mirrors().any(PipMirror::uses_codeartifact) {
        out.push(("codeartifact-api", "the CodeArtifact pip_mirror"));
        out.push(("codeartifact-repositories", "the CodeArtifact pip_mirror"));
    }
    if bp.studio.is_some() {
        out.extend(super::studio::required_endpoints());
    }
    out
}

/// The interface endpoints the stack gets, by short name, sorted.
pub fn endpoint_names(bp: &Blueprint) -> BTreeSet<String> {
    match &bp.network.endpoints {
        Endpoints::List(l) => l.iter().cloned().collect(),
        Endpoints::Auto => {
            let mut s: BTreeSet<String> =
                ["sagemaker-api", "sagemaker-runtime", "sts", "logs", "kms"]
                    .iter()
                    .map(|s| s.to_string())
                    .collect();
            for (name, _) in required_endpoints(bp) {
                s.insert(name.to_string());
            }
            if bp
                .repositories
                .values()
                .any(|r| r.clone_url().contains("git-codecommit."))
            {
                s.insert("git-codecommit".into());
                s.insert("codecommit".into());
            }
            s
        }
    }
}

fn find_placeholders(v: &Value, pointer: &str, f: &mut impl FnMut(&str, &str)) {
    match v {
        Value::String(s) => f(pointer, s),
        Value::Array(a) => a
            .iter()
            .enumerate()
            .for_each(|(i, x)| find_placeholders(x, &format!("{pointer}/{i}"), f)),
        Value::Object(m) => m.iter().for_each(|(k, x)| {
            find_placeholders(
                x,
                &format!("{pointer}/{}", crate::source::yaml::escape_pointer(k)),
                f,
            )
        }),
        _ => {}
    }
}

/// `{name}` occurrences in a string.
fn placeholders(s: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = s;
    while let Some(i) = rest.find('{') {
        let Some(j) = rest[i..].find('}') else { break };
        let name = &rest[i + 1..i + j];
        if !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        {
            out.push(name);
        }
        rest = &rest[i + j + 1..];
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subnet_split() {
        let c = Cidr::parse("10.0.0.0/16").unwrap();
        assert_eq!(subnet_prefix(c, 1), 16);
        assert_eq!(subnet_prefix(c, 2), 17);
        assert_eq!(subnet_prefix(c, 3), 18);
        assert_eq!(subnet_prefix(c, 4), 18);
        assert_eq!(subnet_prefix(c, 6), 19);
        assert_eq!(c.subnet(17, 1).to_string(), "10.0.128.0/17");
        assert_eq!(
            Cidr::parse("10.0.0.1/16").unwrap().network().to_string(),
            "10.0.0.0/16"
        );
    }
}
