//! Checks of what the notebooks can reach: a pip mirror needs a path out of the isolated
//! subnets, a CodeCommit repository must not be tied to one region, and an existing network's
//! endpoints must be reachable from the notebooks.

use std::collections::BTreeSet;

use super::model::{Blueprint, ExistingEndpoints, PipMirror};
use crate::source::yaml::escape_pointer;
use crate::source::{Diagnostic, SourceFile, Spans};

pub fn check(file: &SourceFile, bp: &Blueprint, spans: &Spans) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    mirrors(file, bp, spans, &mut out);
    repositories(file, bp, spans, &mut out);
    existing_endpoints(file, bp, spans, &mut out);
    out
}

/// PrivateLink endpoint services through which pip mirrors are reached (one interface endpoint
/// each).
pub fn mirror_services(bp: &Blueprint) -> BTreeSet<String> {
    std::iter::once(&bp.lifecycle)
        .chain(
            bp.notebooks
                .instances
                .iter()
                .filter_map(|i| i.lifecycle.as_ref()),
        )
        .filter_map(|l| l.pip_mirror_reachable_through.clone())
        .collect()
}

/// A pip mirror on an AWS service endpoint the stack creates (CodeArtifact) is reachable as is.
pub fn mirror_is_aws_endpoint(url: &str) -> bool {
    let host = url
        .trim_start_matches("https://")
        .split(['/', ':'])
        .next()
        .unwrap_or("");
    host.contains(".codeartifact.") && host.ends_with(".amazonaws.com")
}

fn mirrors(file: &SourceFile, bp: &Blueprint, spans: &Spans, out: &mut Vec<Diagnostic>) {
    let egress = bp
        .network
        .existing
        .as_ref()
        .is_some_and(|e| !e.https_egress.is_empty());
    let mut reported = false;
    for (i, inst) in bp.notebooks.instances.iter().enumerate() {
        let l = inst.lifecycle.as_ref();
        let own = l.is_some_and(|l| l.pip_mirror.is_some());
        let Some(mirror) = l
            .and_then(|l| l.pip_mirror.as_ref())
            .or(bp.lifecycle.pip_mirror.as_ref())
        else {
            continue;
        };
        let through = l
            .and_then(|l| l.pip_mirror_reachable_through.as_ref())
            .or(bp.lifecycle.pip_mirror_reachable_through.as_ref());
        // The CodeArtifact form comes with its own interface endpoints.
        let reachable = match mirror {
            PipMirror::CodeArtifact { .. } => true,
            PipMirror::Url(url) => mirror_is_aws_endpoint(url),
        };
        if through.is_some() || egress || reachable {
            continue;
        }
        // One message per place the mirror is written.
        if !own && std::mem::replace(&mut reported, true) {
            continue;
        }
        let at = if own {
            format!("/notebooks/instances/{i}/lifecycle/pip_mirror")
        } else {
            "/lifecycle/pip_mirror".to_string()
        };
        let (why, help) = if bp.network.existing.is_some() {
            (
                "the notebooks' security group allows HTTPS only to the VPC endpoints and the S3 prefix list",
                "add the mirror's IPv4 block to `network.existing.https_egress`, or serve it through PrivateLink and set `pip_mirror_reachable_through: vpce-svc-...`",
            )
        } else {
            (
                "the generated VPC has no route out",
                "serve the mirror through PrivateLink and set `pip_mirror_reachable_through: vpce-svc-...`, use a CodeArtifact repository, or bring a network under `network.existing`",
            )
        };
        out.push(
            Diagnostic::error(
                "E0250",
                format!(
                    "pip mirror of `{}` is not reachable from the notebooks",
                    inst.owner
                ),
            )
            .at(file, spans.value(&at))
            .label("no path to this host")
            .help(format!("{why}; pip would find no package"))
            .help(help),
        );
    }
}

fn repositories(file: &SourceFile, bp: &Blueprint, spans: &Spans, out: &mut Vec<Diagnostic>) {
    for (name, repo) in &bp.repositories {
        let base = format!("/repositories/{}", escape_pointer(name));
        match (&repo.url, &repo.codecommit) {
            (Some(_), Some(_)) | (None, None) => {
                let d = Diagnostic::error(
                    "E0251",
                    format!("repository `{name}` needs exactly one of `url` and `codecommit`"),
                );
                let d = if repo.url.is_some() {
                    d.at(file, spans.key(&format!("{base}/codecommit")))
                        .label("given together with `url`")
                } else {
                    d.at(file, spans.key(&base)).label("no url or codecommit")
                };
                out.push(d.help("`codecommit: NAME` for a CodeCommit repository of the stack's region, `url:` for any other"));
            }
            (Some(url), None) => {
                if let Some(repo_name) = url
                    .strip_prefix("https://git-codecommit.")
                    .and_then(|r| r.split_once("/v1/repos/"))
                    .map(|(_, n)| n.trim_end_matches('/'))
                {
                    out.push(
                        Diagnostic::error(
                            "E0252",
                            format!("repository `{name}` is tied to one region by its URL"),
                        )
                        .at(file, spans.value(&format!("{base}/url")))
                        .label("region-locked CodeCommit URL")
                        .help("deployed in any other region, the clone goes to a repository the endpoints and roles do not cover")
                        .help(format!("write `codecommit: {repo_name}` instead: the URL is built from the stack's region")),
                    );
                }
            }
            (None, Some(_)) => {}
        }
    }
}

fn existing_endpoints(file: &SourceFile, bp: &Blueprint, spans: &Spans, out: &mut Vec<Diagnostic>) {
    let Some(ex) = &bp.network.existing else {
        return;
    };
    let any_existing = match &ex.endpoints {
        ExistingEndpoints::All => true,
        ExistingEndpoints::List(l) => !l.is_empty(),
    };
    if any_existing && ex.endpoint_security_group.is_none() {
        out.push(
            Diagnostic::error(
                "E0253",
                "existing endpoints need `network.existing.endpoint_security_group`",
            )
            .at(file, spans.value("/network/existing/endpoints"))
            .label("the notebooks cannot reach these without it")
            .help("name the security group of the existing interface endpoints (`endpoint_security_group: sg-...`); it must admit HTTPS from the notebooks' security group"),
        );
    }
    let via = bp.access.as_ref().is_some_and(|a| a.via_vpc_endpoint);
    if via && ex.endpoints.contains("notebook") {
        out.push(
            Diagnostic::error(
                "E0254",
                "`access.via_vpc_endpoint` needs the notebook endpoint this stack creates",
            )
            .at(file, spans.value("/network/existing/endpoints"))
            .label("`notebook` is an existing endpoint here")
            .help("the access policies name the endpoint by id (aws:SourceVpce); leave `notebook` out of the existing endpoints, or set `via_vpc_endpoint: false`"),
        );
    }
}
