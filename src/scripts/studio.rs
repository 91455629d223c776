//! The Studio built-in lifecycle script (`assets/lifecycle/studio_on_start.sh`): the notebook
//! download block (the same `jupyter_server_config.py` and plugin list), sudo removal for the
//! SageMaker Distribution image's user, the package index and the env file. Idle shutdown is
//! the domain's own setting, so it has no part here.

use minijinja::{Environment, context};

use super::{
    EnvFacts, Error, JUPYTER_CONFIG, check_heredoc, check_value, compact_python, normalize,
    page_plugins,
};

const TEMPLATE: &str = include_str!("../../assets/lifecycle/studio_on_start.sh");
const USER: &str = include_str!("../../assets/lifecycle/user.sh");

/// The effective lifecycle settings of one Studio user, for one app type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StudioSettings {
    /// `JupyterLab` or `CodeEditor`, for the script's header.
    pub app: &'static str,
    /// Only JupyterLab has a download block; Code Editor's is false.
    pub disable_download: bool,
    pub root_access: bool,
    pub pip_mirror: Option<String>,
    pub env_file: Option<EnvFacts>,
    /// The blueprint's on_start script text, run as the image's user after the hardening.
    pub extra_on_start: Option<String>,
}

pub fn render(s: &StudioSettings) -> Result<String, Error> {
    if let Some(mirror) = &s.pip_mirror {
        check_value("pip_mirror", mirror)?;
    }
    let mut env_lines = Vec::new();
    for (key, value) in s.env_file.iter().flat_map(|f| &f.lines) {
        if value.contains(['\n', '\r']) {
            return Err(Error(format!("env file value of {key} spans lines")));
        }
        env_lines.push(vec![key.clone(), value.clone()]);
    }
    let user_script = match &s.extra_on_start {
        None => None,
        Some(t) => {
            let t = normalize(t);
            check_heredoc("the on_start script", &t, "NBSYNTH_USER_EOF")?;
            Some(t)
        }
    };
    let mut env = Environment::new();
    env.set_syntax(
        minijinja::syntax::SyntaxConfig::builder()
            .trim_blocks(true)
            .keep_trailing_newline(true)
            .build()
            .expect("default delimiters are valid"),
    );
    env.add_template("studio_on_start.sh", TEMPLATE)
        .expect("embedded Studio template parses");
    env.add_template("user.sh", USER)
        .expect("embedded user template parses");
    env.get_template("studio_on_start.sh")
        .and_then(|t| {
            t.render(context! {
                app => s.app,
                any_root => s.disable_download || !s.root_access || s.pip_mirror.is_some() || !env_lines.is_empty(),
                disable_download => s.disable_download,
                root_access => s.root_access,
                pip_mirror => s.pip_mirror.clone(),
                env_lines => env_lines,
                jupyter_config => compact_python(JUPYTER_CONFIG),
                page_plugins => page_plugins(),
                hook => "on_start",
                user_script => user_script,
            })
        })
        .map_err(|e| Error(format!("rendering studio_on_start.sh: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> StudioSettings {
        StudioSettings {
            app: "JupyterLab",
            disable_download: true,
            root_access: false,
            pip_mirror: None,
            env_file: None,
            extra_on_start: None,
        }
    }

    #[test]
    fn the_download_block_reuses_the_notebook_config() {
        let s = render(&settings()).unwrap();
        assert!(s.contains("ContentsManager.get_extra_handlers"), "{s}");
        assert!(s.contains("@jupyterlab/docmanager-extension:download"));
        assert!(s.contains("activate.d/zz-nbsynth.sh"));
        assert!(s.contains("removing passwordless sudo"));
    }

    #[test]
    fn root_access_and_no_download_block_leave_nothing_for_root() {
        let s = render(&StudioSettings {
            app: "CodeEditor",
            disable_download: false,
            root_access: true,
            ..settings()
        })
        .unwrap();
        assert!(!s.contains("sudo -n"), "{s}");
        assert!(!s.contains("jupyter_server_config"), "{s}");
    }

    #[test]
    fn the_user_script_runs_after_the_hardening() {
        let s = render(&StudioSettings {
            extra_on_start: Some("echo hello\r\n".into()),
            ..settings()
        })
        .unwrap();
        let hardening = s.find("sudo -n bash").unwrap();
        let user = s.find("echo hello\n").unwrap();
        assert!(hardening < user, "{s}");
    }
}
