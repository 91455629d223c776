//! `nbsynth init [NAME]`: write a commented starter blueprint that builds as it is.
//!
//! The blueprint's first line points editors (the YAML language server in VS Code, Neovim and
//! others) at `blueprint-v1.schema.json` next to it, and `init` writes that file too: a local
//! copy works offline and always matches the installed nbsynth, where a URL would need the
//! network and could describe another version.

use std::io::Write;
use std::path::{Path, PathBuf};

use super::Outcome;
use crate::blueprint::schema::{SCHEMA_TEXT, schema};
use crate::source::io_reason;

/// The starter blueprint. It is itself a valid blueprint; `init` only replaces the name, the
/// owners and the file name in its first comment.
pub const TEMPLATE: &str = include_str!("../../assets/init/blueprint.yaml");

/// File name of the schema copy that the template's `$schema` line refers to.
pub const SCHEMA_FILE: &str = "blueprint-v1.schema.json";

const DEFAULT_NAME: &str = "notebooks";
const DEFAULT_FILE: &str = "blueprint.yaml";

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Blueprint name (the stack name and resource prefix); writes NAME.yaml. A path ending in
    /// .yaml or .yml is used as the file and its stem as the name. Without NAME: blueprint.yaml,
    /// named `notebooks`.
    #[arg(value_name = "NAME")]
    pub name: Option<String>,
    /// Owner of a notebook instance; repeat for several.
    #[arg(long = "owner", value_name = "OWNER", default_value = "alice")]
    pub owners: Vec<String>,
    /// Do not write blueprint-v1.schema.json next to the blueprint.
    #[arg(long)]
    pub no_schema: bool,
    /// Print nothing but problems.
    #[arg(long, short, conflicts_with = "verbose")]
    pub quiet: bool,
    /// Also explain what each written file is for.
    #[arg(long, short)]
    pub verbose: bool,
}

pub fn run(args: &Args) -> Outcome {
    match init(args) {
        Ok(()) => Outcome::Clean,
        Err(msg) => {
            for line in msg {
                eprintln!("{line}");
            }
            Outcome::BadInput
        }
    }
}

/// Problems are returned as the lines to print: `error: ...` then `  = help: ...` lines, the
/// shape of the build diagnostics that have no source position.
fn init(args: &Args) -> Result<(), Vec<String>> {
    let (path, name) = target(args.name.as_deref());
    check_value("name", &name, "blueprint name")?;
    for owner in &args.owners {
        check_value(
            "notebooks/properties/instances/items/properties/owner",
            owner,
            "owner",
        )?;
    }
    if let Some(dup) = args
        .owners
        .iter()
        .enumerate()
        .find_map(|(i, o)| args.owners[..i].contains(o).then_some(o))
    {
        return Err(vec![
            format!("error[E0007]: owner `{dup}` is given twice"),
            "  = help: each owner gets one notebook".into(),
        ]);
    }
    let text = render(&name, &args.owners, &file_name(&path));
    create_new(&path, &text).map_err(|e| {
        if e.kind() == std::io::ErrorKind::AlreadyExists {
            vec![
                format!(
                    "error[E0006]: {} already exists; nothing was written",
                    path.display()
                ),
                "  = help: give another NAME, or remove the file first (init never overwrites)"
                    .into(),
            ]
        } else {
            vec![format!(
                "error[E0005]: cannot write {}: {}",
                path.display(),
                io_reason(&e)
            )]
        }
    })?;
    let say = |line: String| {
        if !args.quiet {
            let _ = writeln!(std::io::stdout(), "{line}");
        }
    };
    say(format!("wrote {}", path.display()));
    if args.verbose {
        say("  a starter blueprint: every key left out keeps its secure default".into());
    }
    if !args.no_schema {
        let schema_path = path.parent().unwrap_or(Path::new("")).join(SCHEMA_FILE);
        match std::fs::read_to_string(&schema_path) {
            Ok(existing) if existing == SCHEMA_TEXT => {}
            Ok(_) => eprintln!(
                "warning: {} differs from this nbsynth's schema and was left alone; refresh it with `nbsynth schema > {0}`",
                schema_path.display()
            ),
            Err(_) => match create_new(&schema_path, SCHEMA_TEXT) {
                Ok(()) => {
                    say(format!("wrote {}", schema_path.display()));
                    if args.verbose {
                        say("  the blueprint JSON Schema: completion and hover docs in editors with the YAML language server".into());
                    }
                }
                Err(e) => eprintln!(
                    "warning: cannot write {}: {}",
                    schema_path.display(),
                    io_reason(&e)
                ),
            },
        }
    }
    say(format!("next: nbsynth build {}", path.display()));
    Ok(())
}

/// The file to write and the blueprint name, from the optional NAME argument.
fn target(arg: Option<&str>) -> (PathBuf, String) {
    let Some(arg) = arg else {
        return (PathBuf::from(DEFAULT_FILE), DEFAULT_NAME.into());
    };
    let as_path = Path::new(arg);
    let has_ext = matches!(
        as_path.extension().and_then(|e| e.to_str()),
        Some("yaml" | "yml")
    );
    if has_ext || arg.contains(std::path::MAIN_SEPARATOR) {
        let path = if has_ext {
            as_path.to_path_buf()
        } else {
            as_path.with_extension("yaml")
        };
        let stem = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        (path, stem)
    } else {
        (PathBuf::from(format!("{arg}.yaml")), arg.to_string())
    }
}

fn file_name(path: &Path) -> String {
    path.display().to_string()
}

/// Checks a value against the schema at `properties/<key>`, so init accepts exactly what the
/// blueprint does.
fn check_value(key: &str, value: &str, what: &str) -> Result<(), Vec<String>> {
    let pointer = format!("/properties/{key}");
    let sub = schema()
        .pointer(&pointer)
        .expect("the schema describes the key");
    let valid = jsonschema::draft7::new(sub)
        .map(|v| v.is_valid(&value.into()))
        .unwrap_or(false);
    if valid {
        return Ok(());
    }
    let mut lines = vec![format!("error[E0007]: `{value}` is not a valid {what}")];
    if let Some(desc) = sub.get("description").and_then(|d| d.as_str()) {
        lines.push(format!("  = help: {desc}"));
    }
    Err(lines)
}

/// The template with the name, the owners and the file name filled in.
pub fn render(name: &str, owners: &[String], file: &str) -> String {
    let mut out = String::with_capacity(TEMPLATE.len());
    for line in TEMPLATE.lines() {
        if let Some(comment) = line.strip_prefix("name: notebooks") {
            // Keep the comment in its column when the name is short enough.
            let comment = comment.trim_start();
            let column = line.len() - comment.len();
            let head = format!("name: {name} ");
            out.push_str(&format!("{head:<column$}{comment}"));
        } else if line == "    - owner: alice" {
            let owners: Vec<String> = owners.iter().map(|o| format!("    - owner: {o}")).collect();
            out.push_str(&owners.join("\n"));
        } else {
            out.push_str(&line.replace("@FILE@", file));
        }
        out.push('\n');
    }
    out
}

/// Creates `path` with `text`, failing if it exists (no window between check and write).
fn create_new(path: &Path, text: &str) -> std::io::Result<()> {
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)?;
    f.write_all(text.as_bytes())?;
    f.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn template_has_the_lines_init_replaces() {
        assert_eq!(
            TEMPLATE
                .lines()
                .filter(|l| l.starts_with("name: notebooks"))
                .count(),
            1
        );
        assert_eq!(
            TEMPLATE
                .lines()
                .filter(|l| *l == "    - owner: alice")
                .count(),
            1
        );
        assert!(TEMPLATE.contains("@FILE@"));
        assert!(TEMPLATE.starts_with(&format!(
            "# yaml-language-server: $schema=./{SCHEMA_FILE}\n"
        )));
    }

    #[test]
    fn targets() {
        assert_eq!(
            target(None),
            (PathBuf::from("blueprint.yaml"), "notebooks".into())
        );
        assert_eq!(
            target(Some("research")),
            (PathBuf::from("research.yaml"), "research".into())
        );
        assert_eq!(
            target(Some("envs/research.yml")),
            (PathBuf::from("envs/research.yml"), "research".into())
        );
        assert_eq!(
            target(Some("envs/research")),
            (PathBuf::from("envs/research.yaml"), "research".into())
        );
    }

    #[test]
    fn rendered_blueprint_is_valid() {
        let text = render("research", &["ana".into(), "ben".into()], "research.yaml");
        assert!(text.contains("name: research "));
        assert!(text.contains("    - owner: ana\n    - owner: ben\n"));
        let file = crate::source::SourceFile::from_text("research.yaml", text);
        let loaded =
            crate::blueprint::load_source(file, &crate::policy::rule_ids()).expect("valid");
        assert_eq!(loaded.blueprint.notebooks.instances.len(), 2);
    }
}
