//! A profile: one environment (its hosts, how to reach them, what to watch), as
//! written in TOML. Unknown keys are errors (`deny_unknown_fields`) so a typo never
//! silently turns a setting off.
//!
//! Later sections (databases, app/deploy, scale, warm, checks) are added here as
//! new optional fields of [`Profile`], each in its own type.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    /// Shown in the console's top bar and in audit records.
    pub name: String,
    #[serde(default)]
    pub environment: Environment,
    /// Refuse every change to production made through this profile.
    #[serde(default)]
    pub read_only: bool,
    #[serde(default)]
    pub ssh: SshSettings,
    #[serde(default)]
    pub health: HealthSettings,
    #[serde(default)]
    pub hosts: Vec<HostEntry>,
    /// Databases `opsctl queries` and the console's Queries tab watch.
    #[serde(default)]
    pub databases: Vec<DatabaseEntry>,
    /// What `opsctl deploy` and `rollback` deploy (see [`super::app`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app: Option<super::app::AppSettings>,
    /// What `opsctl scale` may change (see [`super::scale`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub scale: Vec<super::scale::ScaleTarget>,
    /// What `opsctl warm` warms and where (see [`super::warm`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warm: Option<super::warm::WarmSettings>,
}

/// The database engines opsctl reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Engine {
    Postgresql,
    Mariadb,
    Mysql,
}

impl Engine {
    pub fn as_str(self) -> &'static str {
        match self {
            Engine::Postgresql => "postgresql",
            Engine::Mariadb => "mariadb",
            Engine::Mysql => "mysql",
        }
    }

    /// MariaDB and MySQL speak one protocol and share most of what opsctl reads.
    pub fn is_mysql_family(self) -> bool {
        matches!(self, Engine::Mariadb | Engine::Mysql)
    }

    pub fn default_port(self) -> u16 {
        match self {
            Engine::Postgresql => 5432,
            Engine::Mariadb | Engine::Mysql => 3306,
        }
    }
}

/// How a database connection uses TLS (libpq's `sslmode` words).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TlsMode {
    Disable,
    /// TLS when the server offers it (libpq's default).
    #[default]
    Prefer,
    Require,
    /// Require TLS and a certificate signed by a trusted CA (`ca_file`).
    VerifyCa,
    /// As verify-ca, and the certificate must name the host.
    VerifyFull,
}

/// A database the profile watches. The password is never in the profile: it
/// names an environment variable, a file, a libpq passfile or a MySQL option file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseEntry {
    /// The name `--db NAME` and `:queries NAME` use.
    pub name: String,
    pub engine: Engine,
    /// The server's address as seen from `via` when set, else from here.
    pub host: String,
    pub port: Option<u16>,
    pub user: String,
    /// The database (PostgreSQL) or default schema (MariaDB/MySQL) to connect to.
    pub database: Option<String>,
    pub password_env: Option<String>,
    pub password_file: Option<String>,
    /// A libpq passfile (`host:port:db:user:password` lines); default `PGPASSFILE`,
    /// else `~/.pgpass`, when no other source is named.
    pub passfile: Option<String>,
    /// A MySQL option file with a `[client]` password; default `~/.my.cnf`.
    pub option_file: Option<String>,
    #[serde(default)]
    pub tls: TlsMode,
    /// CA certificate (PEM) for `verify-ca` / `verify-full`.
    pub ca_file: Option<String>,
    /// Reach the database through an SSH tunnel via this profile host.
    pub via: Option<String>,
    #[serde(default = "default_db_connect_timeout")]
    pub connect_timeout_secs: f64,
    #[serde(default = "default_db_query_timeout")]
    pub query_timeout_secs: f64,
    /// The server's slow log: the console's Queries tab digests its last minutes
    /// beside the live statements, joined by class id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slow_log: Option<SlowLogSpec>,
}

/// Where a database's slow-query log is, and how much of it the console reads.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlowLogSpec {
    /// The profile host the log is on.
    pub host: String,
    /// The log file on that host (the live one, not a glob).
    pub path: String,
    /// The window digested: the last this many minutes.
    #[serde(default = "default_slow_log_minutes")]
    pub window_minutes: u32,
    /// At most this many bytes of the log's end are read per refresh.
    #[serde(default = "default_slow_log_bytes")]
    pub max_bytes: u64,
}

fn default_slow_log_minutes() -> u32 {
    15
}
fn default_slow_log_bytes() -> u64 {
    16 << 20
}

fn default_db_connect_timeout() -> f64 {
    5.0
}
fn default_db_query_timeout() -> f64 {
    10.0
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Environment {
    #[default]
    Development,
    Staging,
    Production,
}

impl Environment {
    pub fn as_str(self) -> &'static str {
        match self {
            Environment::Development => "development",
            Environment::Staging => "staging",
            Environment::Production => "production",
        }
    }
}

/// How a host is reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Transport {
    #[default]
    Ssh,
    /// This machine, without SSH.
    Local,
}

pub use crate::remote::KnownHostsPolicy;

/// SSH defaults for every host of the profile; a host may override each.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SshSettings {
    /// Remote user; default: what ssh_config says, else the local user.
    pub user: Option<String>,
    /// Private keys to try after the agent. `~` is expanded.
    #[serde(default)]
    pub identity_files: Vec<String>,
    #[serde(default)]
    pub known_hosts: KnownHostsPolicy,
    /// Extra known_hosts files, read before ~/.ssh/known_hosts and /etc/ssh/ssh_known_hosts.
    #[serde(default)]
    pub known_hosts_files: Vec<String>,
    /// Jump host (bastion): a profile host name, an ssh_config alias or `[user@]host[:port]`.
    pub jump: Option<String>,
    /// Resolve host names through OpenSSH's configuration (`ssh -G`).
    #[serde(default = "yes")]
    pub use_ssh_config: bool,
    /// Read this ssh_config file instead of ~/.ssh/config and /etc/ssh/ssh_config
    /// (as `ssh -F FILE`). `~` is expanded.
    pub config_file: Option<String>,
    #[serde(default = "default_connect_timeout")]
    pub connect_timeout_secs: f64,
    #[serde(default = "default_command_timeout")]
    pub command_timeout_secs: f64,
    #[serde(default = "default_keepalive")]
    pub keepalive_secs: f64,
}

impl Default for SshSettings {
    fn default() -> Self {
        SshSettings {
            user: None,
            identity_files: Vec::new(),
            known_hosts: KnownHostsPolicy::Strict,
            known_hosts_files: Vec::new(),
            jump: None,
            use_ssh_config: true,
            config_file: None,
            connect_timeout_secs: default_connect_timeout(),
            command_timeout_secs: default_command_timeout(),
            keepalive_secs: default_keepalive(),
        }
    }
}

fn yes() -> bool {
    true
}
fn default_connect_timeout() -> f64 {
    5.0
}
fn default_command_timeout() -> f64 {
    10.0
}
fn default_keepalive() -> f64 {
    15.0
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HostEntry {
    /// Name used everywhere in opsctl (tables, targets, audit).
    pub name: String,
    /// Address or ssh_config alias; default: the name.
    pub address: Option<String>,
    pub port: Option<u16>,
    #[serde(default)]
    pub transport: Transport,
    #[serde(default)]
    pub roles: Vec<String>,
    pub user: Option<String>,
    /// Replaces the profile's identity files when set.
    pub identity_files: Option<Vec<String>>,
    /// Overrides the profile's jump host; `""` means connect directly.
    pub jump: Option<String>,
    pub known_hosts: Option<KnownHostsPolicy>,
    /// Units watched on this host in addition to the profile's.
    #[serde(default)]
    pub services: Vec<String>,
    /// Log sources for the host view; replace the profile's when set.
    pub logs: Option<Vec<LogSource>>,
}

/// A log the console's host view can tail.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogSource {
    /// A systemd unit, tailed with `journalctl -u`.
    pub unit: Option<String>,
    /// A file, tailed with `tail -F`.
    pub file: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HealthSettings {
    #[serde(default = "default_interval")]
    pub interval_secs: f64,
    /// How long the console keeps time series (sparklines, charts).
    #[serde(default = "default_retention")]
    pub retention_secs: f64,
    /// systemd units watched on every host.
    #[serde(default)]
    pub services: Vec<String>,
    #[serde(default)]
    pub thresholds: Thresholds,
    #[serde(default)]
    pub http: Vec<HttpCheck>,
    #[serde(default)]
    pub logs: Vec<LogSource>,
}

impl Default for HealthSettings {
    fn default() -> Self {
        HealthSettings {
            interval_secs: default_interval(),
            retention_secs: default_retention(),
            services: Vec::new(),
            thresholds: Thresholds::default(),
            http: Vec::new(),
            logs: Vec::new(),
        }
    }
}

fn default_interval() -> f64 {
    5.0
}
fn default_retention() -> f64 {
    600.0
}

/// Warn and critical levels. Percentages are 0-100; load is per core.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Thresholds {
    pub cpu_warn: f64,
    pub cpu_crit: f64,
    pub mem_warn: f64,
    pub mem_crit: f64,
    pub swap_warn: f64,
    pub swap_crit: f64,
    pub disk_warn: f64,
    pub disk_crit: f64,
    pub load_warn: f64,
    pub load_crit: f64,
    /// Days before a TLS certificate expires.
    pub cert_warn_days: f64,
    pub cert_crit_days: f64,
    /// HTTP check latency, milliseconds.
    pub latency_warn_ms: f64,
    pub latency_crit_ms: f64,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            cpu_warn: 85.0,
            cpu_crit: 95.0,
            mem_warn: 85.0,
            mem_crit: 95.0,
            swap_warn: 50.0,
            swap_crit: 80.0,
            disk_warn: 80.0,
            disk_crit: 90.0,
            load_warn: 1.5,
            load_crit: 3.0,
            cert_warn_days: 21.0,
            cert_crit_days: 7.0,
            latency_warn_ms: 1000.0,
            latency_crit_ms: 3000.0,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpCheck {
    pub name: String,
    pub url: String,
    #[serde(default = "default_expect_status")]
    pub expect_status: u16,
    /// Text the body must contain.
    pub expect_body: Option<String>,
    #[serde(default = "default_http_timeout")]
    pub timeout_secs: f64,
    /// Extra CA certificate (PEM) to trust, e.g. an internal CA.
    pub ca_file: Option<String>,
    /// Send requests to this address instead of resolving the URL's host (`ip:port`),
    /// keeping the URL's host name for TLS and the Host header.
    pub resolve: Option<String>,
    /// Request headers. A secret one names where its value comes from.
    #[serde(default)]
    pub headers: Vec<HttpHeader>,
    /// HTTP basic authentication; the password comes from an env var or a file.
    pub basic_auth: Option<BasicAuth>,
}

/// A request header: `value` (not a secret: it is shown by `config show` as `***`
/// all the same), or `value_env` / `value_file` naming where a secret value is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpHeader {
    pub name: String,
    pub value: Option<String>,
    pub value_env: Option<String>,
    pub value_file: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BasicAuth {
    pub user: String,
    pub password_env: Option<String>,
    pub password_file: Option<String>,
}

fn default_expect_status() -> u16 {
    200
}
fn default_http_timeout() -> f64 {
    5.0
}
