//! The profile's `[app]` section: what `opsctl deploy` and `rollback` deploy, where,
//! and how they know it worked. Capistrano's layout on each host: `PATH/releases/<id>`,
//! `PATH/shared`, `PATH/current -> releases/<id>`, `PATH/revisions.log`, and a bare
//! mirror of the repository in `PATH/repo`.

use serde::{Deserialize, Serialize};

/// An argv: a program and its arguments, never a shell string.
pub type Argv = Vec<String>;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AppSettings {
    pub name: String,
    /// The app's directory on each host; `{host}` becomes the host's name.
    pub path: String,
    /// The profile hosts it runs on, in deploy order; with `roles`, both count.
    #[serde(default)]
    pub hosts: Vec<String>,
    #[serde(default)]
    pub roles: Vec<String>,
    /// A git URL or a path: as the hosts reach it (they fetch it themselves), or,
    /// with `push`, as this machine reaches it.
    pub repository: String,
    /// The hosts cannot reach the repository: opsctl keeps a mirror of it here and
    /// uploads each release's tree (a `git archive` of the revision) to the hosts.
    #[serde(default)]
    pub push: bool,
    /// The ref a deploy without REV takes.
    #[serde(default = "default_branch")]
    pub branch: String,
    #[serde(default = "default_keep")]
    pub keep_releases: usize,
    /// Files and directories of `shared/` linked into each release (`.env`, `log`).
    #[serde(default)]
    pub linked_files: Vec<String>,
    #[serde(default)]
    pub linked_dirs: Vec<String>,
    /// Run in the new release's directory on every host before anything switches.
    #[serde(default)]
    pub build: Vec<Argv>,
    /// Run once, on the first host, in the new release, before the first switch.
    #[serde(default)]
    pub migrate: Vec<Argv>,
    /// Files whose list tells the releases' migrations apart (a glob on paths
    /// inside the release, `*` crossing `/`).
    #[serde(default = "default_migrations")]
    pub migrations: String,
    #[serde(default)]
    pub restart: RestartSettings,
    pub health: AppHealth,
    /// Hosts switched at once; a failed batch switches back every host.
    #[serde(default = "default_batch")]
    pub batch_size: usize,
    /// Bound on each build or migrate step.
    #[serde(default = "default_step_timeout")]
    pub step_timeout_secs: f64,
    pub watch: Option<WatchSettings>,
}

/// How the app picks up a new release once `current` points at it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RestartSettings {
    #[serde(default)]
    pub strategy: RestartStrategy,
    /// gunicorn's master pid file, relative to the app's path unless absolute.
    #[serde(default = "default_pid_file")]
    pub pid_file: String,
    /// The systemd unit (`systemd-restart`, `systemd-reload`).
    pub unit: Option<String>,
    /// The command (`command`), run in the app's path.
    #[serde(default)]
    pub argv: Argv,
    /// Bound on the whole restart of one host.
    #[serde(default = "default_restart_timeout")]
    pub timeout_secs: f64,
    /// gunicorn-usr2: how long the new master's workers must stay up before the
    /// old master is stopped.
    #[serde(default = "default_settle")]
    pub settle_secs: f64,
    /// Starts the app when no master runs (`{host}` becomes the host's name); used
    /// to put a host back when its app died during a deploy.
    #[serde(default)]
    pub start: Argv,
}

impl Default for RestartSettings {
    fn default() -> Self {
        RestartSettings {
            strategy: RestartStrategy::default(),
            pid_file: default_pid_file(),
            unit: None,
            argv: Vec::new(),
            timeout_secs: default_restart_timeout(),
            settle_secs: default_settle(),
            start: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RestartStrategy {
    /// USR2 starts a new master on the new release beside the old one; once its
    /// workers are up, the old master gets WINCH and TERM. A new master that dies
    /// leaves the old one serving.
    #[default]
    GunicornUsr2,
    /// HUP: new workers on the new code, same master.
    GunicornHup,
    SystemdRestart,
    SystemdReload,
    Command,
    /// Nothing to restart (static files, a server that reads `current` per request).
    None,
}

/// The health gate each host passes after its switch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AppHealth {
    /// `{address}` and `{host}` become the host's address and name.
    pub url: String,
    #[serde(default = "default_status")]
    pub expect_status: u16,
    pub expect_body: Option<String>,
    #[serde(default = "default_health_timeout")]
    pub timeout_secs: f64,
    /// Attempts before the gate closes.
    #[serde(default = "default_retries")]
    pub retries: u32,
    #[serde(default = "default_interval")]
    pub interval_secs: f64,
    pub ca_file: Option<String>,
}

/// After the last switch: probe the hosts for a while, and roll back by itself on
/// a regression.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WatchSettings {
    #[serde(default = "default_watch_secs")]
    pub duration_secs: f64,
    /// Paths probed on every host (on the health URL's origin); default the health URL.
    #[serde(default)]
    pub paths: Vec<String>,
    #[serde(default = "default_watch_interval")]
    pub interval_secs: f64,
    /// A share of probes answered 5xx (or not at all) above this rolls back.
    #[serde(default = "default_error_rate")]
    pub max_error_rate: f64,
    /// p95 latency above this rolls back.
    pub max_p95_ms: Option<f64>,
    /// p95 latency above this multiple of the p95 measured before the deploy rolls back.
    #[serde(default = "default_p95_ratio")]
    pub max_p95_ratio: f64,
    /// The app's access log on each host (relative to the app's path unless
    /// absolute), combined format with the request time after the user agent:
    /// the real traffic's 5xx rate and p95 are judged by the same thresholds,
    /// against the same log's requests before the deploy.
    pub access_log: Option<String>,
    /// The unit of that request time (`seconds`: nginx `$request_time`, gunicorn
    /// `%(L)s`; `microseconds`: Apache `%D`).
    #[serde(default)]
    pub access_log_time_unit: TimeUnit,
    /// Requests the access logs need in the watch before they may roll back (a
    /// quiet site's three requests are no verdict).
    #[serde(default = "default_min_requests")]
    pub min_requests: usize,
}

/// The unit of an access log's request time, the first field after the
/// combined format's user agent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TimeUnit {
    /// nginx `$request_time`, gunicorn `%(L)s`.
    #[default]
    Seconds,
    Milliseconds,
    /// Apache `%D`.
    Microseconds,
}

fn default_branch() -> String {
    "main".into()
}
fn default_keep() -> usize {
    5
}
fn default_migrations() -> String {
    "*/migrations/[0-9]*.py".into()
}
fn default_batch() -> usize {
    1
}
fn default_step_timeout() -> f64 {
    600.0
}
fn default_pid_file() -> String {
    "shared/tmp/gunicorn.pid".into()
}
fn default_restart_timeout() -> f64 {
    60.0
}
fn default_settle() -> f64 {
    5.0
}
fn default_status() -> u16 {
    200
}
fn default_health_timeout() -> f64 {
    5.0
}
fn default_retries() -> u32 {
    10
}
fn default_interval() -> f64 {
    1.0
}
fn default_watch_secs() -> f64 {
    60.0
}
fn default_watch_interval() -> f64 {
    0.5
}
fn default_error_rate() -> f64 {
    0.05
}
fn default_p95_ratio() -> f64 {
    3.0
}
fn default_min_requests() -> usize {
    20
}

impl AppSettings {
    /// The app's directory on `host`.
    pub fn path_on(&self, host: &str) -> String {
        self.path.replace("{host}", host)
    }
}
