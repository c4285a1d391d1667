//! The profile's `[[scale]]` entries: what `opsctl scale TARGET` may change, on
//! which hosts, within which bounds. Three kinds: a gunicorn master's workers
//! (TTIN/TTOU), a systemd template's instances (`app@8001` ...), and the `server`
//! lines of an nginx upstream include file (backends drained before removal).

use serde::{Deserialize, Serialize};

use super::app::Argv;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScaleTarget {
    /// The TARGET of `opsctl scale TARGET +N`.
    pub name: String,
    pub kind: ScaleKind,
    /// The profile hosts it runs on; with `roles`, both count.
    #[serde(default)]
    pub hosts: Vec<String>,
    #[serde(default)]
    pub roles: Vec<String>,
    /// A plan that leaves fewer (per host for workers and instances, per load
    /// balancer for backends) is refused.
    #[serde(default = "default_min")]
    pub min: u32,
    /// A plan that leaves more is refused.
    pub max: Option<u32>,
    /// gunicorn: the master's pid file (relative to `[app] path` unless absolute);
    /// nginx: the master's pid file (to see its old workers drain).
    pub pid_file: Option<String>,
    /// systemd: the template unit, `{instance}` replaced (`shop@{instance}.service`).
    pub unit: Option<String>,
    /// systemd: the instances that may run, in the order they are started.
    #[serde(default)]
    pub instances: Vec<String>,
    /// nginx: the include file of the upstream's `server` lines.
    pub upstream_file: Option<String>,
    /// nginx: checks the configuration with the new file in place.
    #[serde(default = "default_nginx_test")]
    pub test: Argv,
    /// nginx: the graceful reload.
    #[serde(default = "default_nginx_reload")]
    pub reload: Argv,
    /// nginx: the backends that may be added, as hosts of this role at `backend_port`.
    pub backends_role: Option<String>,
    #[serde(default = "default_backend_port")]
    pub backend_port: u16,
    /// nginx: parameters of an added `server` line (`max_fails=2 fail_timeout=5s`).
    #[serde(default)]
    pub server_params: String,
    /// Bound on reaching the new count (workers, instances), on a reload.
    #[serde(default = "default_timeout")]
    pub timeout_secs: f64,
    /// nginx: how long a removed backend's in-flight requests may take to end.
    #[serde(default = "default_drain")]
    pub drain_timeout_secs: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ScaleKind {
    Gunicorn,
    Systemd,
    NginxUpstream,
}

impl ScaleKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ScaleKind::Gunicorn => "gunicorn",
            ScaleKind::Systemd => "systemd",
            ScaleKind::NginxUpstream => "nginx-upstream",
        }
    }

    /// What one unit of this target is called.
    pub fn unit_word(self) -> &'static str {
        match self {
            ScaleKind::Gunicorn => "workers",
            ScaleKind::Systemd => "instances",
            ScaleKind::NginxUpstream => "backends",
        }
    }
}

impl ScaleTarget {
    /// gunicorn's pid file on `host`, absolute (`app_path` is the app's path there).
    pub fn pid_file_on(&self, app_path: Option<&str>, host: &str) -> Option<String> {
        let f = self.pid_file.as_deref()?.replace("{host}", host);
        if f.starts_with('/') {
            return Some(f);
        }
        app_path.map(|p| format!("{}/{f}", p.trim_end_matches('/')))
    }

    pub fn upstream_file_on(&self, host: &str) -> Option<String> {
        self.upstream_file
            .as_deref()
            .map(|f| f.replace("{host}", host))
    }

    /// The argv of `test` or `reload` with `{host}` replaced.
    pub fn argv_on(argv: &[String], host: &str) -> Vec<String> {
        argv.iter().map(|a| a.replace("{host}", host)).collect()
    }

    pub fn unit_of(&self, instance: &str) -> Option<String> {
        self.unit
            .as_deref()
            .map(|u| u.replace("{instance}", instance))
    }
}

fn default_min() -> u32 {
    1
}
fn default_nginx_test() -> Argv {
    vec!["nginx".into(), "-t".into()]
}
fn default_nginx_reload() -> Argv {
    vec!["nginx".into(), "-s".into(), "reload".into()]
}
fn default_backend_port() -> u16 {
    8000
}
fn default_timeout() -> f64 {
    30.0
}
fn default_drain() -> f64 {
    60.0
}
