//! Lifecycle scripts: rendered from the templates under `assets/lifecycle/` with minijinja.
//!
//! The on-start script hardens the instance on every start (download block, sudo removal, idle
//! stop, package index, env file); the blueprint's own scripts run after it, each as a separate
//! bash process. Everything here is deterministic text: the lowering wraps it in `Fn::Sub` and
//! `Fn::Base64`, calling [`compress`] when the base64 would exceed [`MAX_BASE64`].

use std::io::Write;

use minijinja::{Environment, context};

use crate::blueprint::model::CodeArtifact;

/// CloudFormation's limit on a lifecycle hook's `Content` (characters of base64).
pub const MAX_BASE64: usize = 16_384;

/// Network and KMS facts written to the user's env file. Values may contain CloudFormation
/// `${LogicalId}` / `${LogicalId.Attr}` placeholders that the stack resolves with `Fn::Sub`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EnvFacts {
    pub lines: Vec<(String, String)>,
}

/// The effective lifecycle settings of one group of owners.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Settings {
    pub disable_download: bool,
    /// Minutes; 0 disables the idle stop.
    pub idle_shutdown: u32,
    pub ignore_connections: bool,
    pub root_access: bool,
    /// A package index URL written into pip.conf as it is.
    pub pip_mirror: Option<String>,
    /// A CodeArtifact repository: pip.conf is written (and its token refreshed) on the instance.
    pub codeartifact: Option<CodeArtifact>,
    pub env_file: Option<EnvFacts>,
    /// The blueprint's on_create script text.
    pub extra_on_create: Option<String>,
    /// The blueprint's on_start script text.
    pub extra_on_start: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    /// Only present when the blueprint has an on_create script: everything generated must run on
    /// every start, because the root volume (all but ~/SageMaker) is fresh at each start.
    pub on_create: Option<String>,
    pub on_start: String,
}

#[derive(Debug)]
pub struct Error(pub String);

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Error {}

const TEMPLATES: &[(&str, &str)] = &[
    ("head.sh", include_str!("../../assets/lifecycle/head.sh")),
    ("user.sh", include_str!("../../assets/lifecycle/user.sh")),
    (
        "on_start.sh",
        include_str!("../../assets/lifecycle/on_start.sh"),
    ),
    (
        "on_create.sh",
        include_str!("../../assets/lifecycle/on_create.sh"),
    ),
    (
        "s3_loader.sh",
        include_str!("../../assets/lifecycle/s3_loader.sh"),
    ),
    (
        "compressed.sh",
        include_str!("../../assets/lifecycle/compressed.sh"),
    ),
    (
        "codeartifact.sh",
        include_str!("../../assets/lifecycle/codeartifact.sh"),
    ),
];
pub(crate) const JUPYTER_CONFIG: &str =
    include_str!("../../assets/lifecycle/jupyter_server_config.py");
const IDLE_PY: &str = include_str!("../../assets/lifecycle/idle.py");
/// The signed AWS calls both Python programs make, put before each (each runs on its own).
const AWS_PY: &str = include_str!("../../assets/lifecycle/aws.py");
const CODEARTIFACT_PY: &str = include_str!("../../assets/lifecycle/codeartifact.py");

/// The JupyterLab 4 / Notebook 7 plugins that download or export a file (Notebook 7 reuses Lab's).
pub const DOWNLOAD_PLUGINS: &[&str] = &[
    "@jupyterlab/docmanager-extension:download",
    "@jupyterlab/docmanager-extension:open-browser-tab",
    "@jupyterlab/filebrowser-extension:download",
    "@jupyterlab/filebrowser-extension:open-browser-tab",
    "@jupyterlab/notebook-extension:export",
];

/// The entries of `disabledExtensions` and `lockedExtensions` in page_config.json.
pub(crate) fn page_plugins() -> String {
    DOWNLOAD_PLUGINS
        .iter()
        .map(|p| format!("\"{p}\":true"))
        .collect::<Vec<_>>()
        .join(",")
}

/// The embedded Python without comments, docstrings and blank lines, indented by one space per
/// level: the commented source stays in `assets/lifecycle/`, and the hook stays under 16 KiB.
pub(crate) fn compact_python(source: &str) -> String {
    let mut out = String::new();
    for (i, line) in source.lines().enumerate() {
        let text = line.trim_start();
        let docstring = text.starts_with("\"\"\"") && text.len() > 6 && text.ends_with("\"\"\"");
        if i > 0 && (text.is_empty() || text.starts_with('#') || docstring) {
            continue;
        }
        let indent = (line.len() - text.len()) / 4;
        out.push_str(&" ".repeat(indent));
        out.push_str(text);
        out.push('\n');
    }
    out
}

fn environment() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_syntax(
        minijinja::syntax::SyntaxConfig::builder()
            .trim_blocks(true)
            .keep_trailing_newline(true)
            .build()
            .expect("default delimiters are valid"),
    );
    for (name, source) in TEMPLATES {
        let source = if *name == "on_start.sh" {
            compact_shell(source)
        } else {
            source.to_string()
        };
        env.add_template_owned(*name, source)
            .expect("embedded lifecycle templates parse");
    }
    env
}

/// The on-start template without its full-line comments: the commented source stays in
/// `assets/lifecycle/`, and the full hook stays under 16 KiB without compression. Its heredocs
/// hold no line that starts with `#` (a test checks that every heredoc survives).
fn compact_shell(source: &str) -> String {
    source
        .lines()
        .filter(|l| {
            let t = l.trim_start();
            !(t == "#" || t.starts_with("# "))
        })
        .map(|l| format!("{l}\n"))
        .collect()
}

fn render_template(name: &str, ctx: minijinja::Value) -> Result<String, Error> {
    environment()
        .get_template(name)
        .and_then(|t| t.render(ctx))
        .map_err(|e| Error(format!("rendering {name}: {e}")))
}

/// Text that goes inside a quoted heredoc must not contain the heredoc's end marker as a line.
pub(crate) fn check_heredoc(what: &str, text: &str, marker: &str) -> Result<(), Error> {
    if text.lines().any(|l| l == marker) {
        return Err(Error(format!(
            "{what} contains a line `{marker}`, which nbsynth reserves"
        )));
    }
    Ok(())
}

/// A single-line value written verbatim into a config file.
pub(crate) fn check_value(what: &str, value: &str) -> Result<(), Error> {
    if value.is_empty() || value.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err(Error(format!(
            "{what} must be one word without spaces or control characters: {value:?}"
        )));
    }
    Ok(())
}

/// Scripts written by users on Windows would fail with "bad interpreter"; end every script with LF.
pub(crate) fn normalize(script: &str) -> String {
    let mut s = script.replace("\r\n", "\n");
    if !s.ends_with('\n') {
        s.push('\n');
    }
    s
}

pub fn render(settings: &Settings) -> Result<Rendered, Error> {
    if let Some(mirror) = &settings.pip_mirror {
        check_value("pip_mirror", mirror)?;
    }
    if let Some(ca) = &settings.codeartifact {
        for (what, v) in [
            ("domain", &ca.domain),
            ("owner", &ca.owner),
            ("repository", &ca.repository),
        ] {
            check_value(&format!("pip_mirror.codeartifact.{what}"), v)?;
        }
    }
    let mut env_lines = Vec::new();
    if let Some(facts) = &settings.env_file {
        for (key, value) in &facts.lines {
            let key_ok = key.starts_with(|c: char| c.is_ascii_uppercase() || c == '_')
                && key
                    .chars()
                    .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_');
            if !key_ok {
                return Err(Error(format!(
                    "env file key {key:?} is not an upper-case shell variable name"
                )));
            }
            if value.contains(['\n', '\r']) {
                return Err(Error(format!("env file value of {key} spans lines")));
            }
            env_lines.push(vec![key.clone(), value.clone()]);
        }
    }
    let user = |hook: &str, text: &Option<String>| -> Result<Option<String>, Error> {
        match text {
            None => Ok(None),
            Some(t) => {
                let t = normalize(t);
                check_heredoc(&format!("the {hook} script"), &t, "NBSYNTH_USER_EOF")?;
                Ok(Some(t))
            }
        }
    };
    let extra_start = user("on_start", &settings.extra_on_start)?;
    let extra_create = user("on_create", &settings.extra_on_create)?;

    let on_start = render_template(
        "on_start.sh",
        context! {
            any_feature => settings.disable_download || !settings.root_access
                || settings.idle_shutdown > 0 || settings.pip_mirror.is_some()
                || settings.codeartifact.is_some() || !env_lines.is_empty(),
            disable_download => settings.disable_download,
            root_access => settings.root_access,
            idle_minutes => settings.idle_shutdown,
            ignore_connections => settings.ignore_connections,
            pip_mirror => settings.pip_mirror.clone(),
            env_lines => env_lines,
            jupyter_config => compact_python(JUPYTER_CONFIG),
            page_plugins => page_plugins(),
            idle_py => compact_python(&format!("{AWS_PY}{IDLE_PY}")),
            codeartifact => settings.codeartifact.as_ref().map(|c| {
                std::collections::BTreeMap::from([
                    ("domain", c.domain.clone()),
                    ("owner", c.owner.clone()),
                    ("repository", c.repository.clone()),
                ])
            }),
            codeartifact_py => compact_python(&format!("{AWS_PY}{CODEARTIFACT_PY}")),
            hook => "on_start",
            user_script => extra_start,
        },
    )?;
    let on_create = match extra_create {
        None => None,
        Some(script) => Some(render_template(
            "on_create.sh",
            context! { hook => "on_create", user_script => script },
        )?),
    };
    Ok(Rendered {
        on_create,
        on_start,
    })
}

/// Quotes a word for bash (single quotes, embedded ones spliced in).
fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// The small script embedded in `source: s3://...` mode: fetches `file` from `uri` and runs it.
pub fn s3_loader(uri: &str, file: &str) -> String {
    let sep = if uri.ends_with('/') { "" } else { "/" };
    let source = shell_quote(&format!("{uri}{sep}{file}"));
    render_template("s3_loader.sh", context! { source => source })
        .expect("the s3 loader template renders with any source")
}

/// The length of `bytes` after base64 encoding (what CloudFormation counts).
pub fn base64_len(bytes: usize) -> usize {
    bytes.div_ceil(3) * 4
}

fn base64(data: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(data)
}

/// A self-extracting form of `script`: gzip (mtime 0, no name, so byte-identical across builds)
/// in base64 lines of 76, decoded in full before it runs. For hooks over [`MAX_BASE64`].
///
/// `keep` lists text (CloudFormation `${...}` placeholders) that must stay visible to
/// `Fn::Sub`: each is replaced in the payload by a token, and a `sed` line outside the payload
/// puts the resolved value back after decoding. Values must not contain `|`, `&` or `\`
/// (resource ids and ARNs never do).
pub fn compress(script: &str, keep: &[&str]) -> String {
    let mut payload_text = script.to_string();
    let mut substitutions = Vec::new();
    for (i, k) in keep.iter().enumerate() {
        let token = format!("@NBSYNTH_VALUE_{i}@");
        payload_text = payload_text.replace(k, &token);
        substitutions.push(vec![token, (*k).to_string()]);
    }
    let mut gz = flate2::GzBuilder::new()
        .mtime(0)
        .write(Vec::new(), flate2::Compression::best());
    gz.write_all(payload_text.as_bytes())
        .expect("writing to memory");
    let packed = gz.finish().expect("writing to memory");
    let mut payload = String::new();
    for line in base64(&packed).as_bytes().chunks(76) {
        payload.push_str(std::str::from_utf8(line).expect("base64 is ASCII"));
        payload.push('\n');
    }
    render_template(
        "compressed.sh",
        context! { payload => payload, substitutions => substitutions },
    )
    .expect("the compression template renders with any payload")
}

pub mod studio;

#[cfg(test)]
mod tests;
