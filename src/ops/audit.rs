//! The audit log: one JSON line per change asked for (done, failed, refused or
//! rolled back), locally under the XDG state directory. Records are written
//! whole under a file lock, with secrets scrubbed, and read back oldest first.

use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::plan::Plan;
use crate::config::secrets;

/// Bytes of a change's output kept in its record.
pub const OUTPUT_TAIL: usize = 4096;

/// How a change ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    Ok,
    Failed,
    Refused,
    RolledBack,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::Failed => "failed",
            Outcome::Refused => "refused",
            Outcome::RolledBack => "rolled-back",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditRecord {
    /// RFC 3339, UTC.
    pub at: String,
    /// Who asked: `$OPSCTL_OPERATOR`, else `user@machine`.
    pub who: String,
    pub profile: String,
    pub environment: String,
    pub change: String,
    pub target: String,
    pub outcome: Outcome,
    /// Why it failed or was refused, or what it did.
    pub detail: String,
    pub plan_id: String,
    /// The plan's steps, as shown before it ran.
    #[serde(default)]
    pub steps: Vec<String>,
    #[serde(default)]
    pub duration_ms: f64,
    /// The end of what the change printed.
    #[serde(default)]
    pub output_tail: String,
}

impl AuditRecord {
    pub fn for_plan(plan: &Plan, outcome: Outcome, detail: impl Into<String>) -> AuditRecord {
        AuditRecord {
            at: now_rfc3339(),
            who: operator(),
            profile: plan.profile.clone(),
            environment: plan.environment.as_str().to_string(),
            change: plan.change.clone(),
            target: plan.target.clone(),
            outcome,
            detail: detail.into(),
            plan_id: plan.id.clone(),
            steps: plan.steps.iter().map(|s| s.line()).collect(),
            duration_ms: 0.0,
            output_tail: String::new(),
        }
    }

    /// Keeps the last [`OUTPUT_TAIL`] bytes of `output`.
    pub fn with_output(mut self, output: &str) -> AuditRecord {
        let start = output.len().saturating_sub(OUTPUT_TAIL);
        let start = (start..=output.len())
            .find(|&i| output.is_char_boundary(i))
            .unwrap_or(output.len());
        self.output_tail = output[start..].to_string();
        self
    }
}

impl AuditRecord {
    /// When it was recorded, in microseconds since the epoch (`None` for an
    /// `at` that is not a time: an edited line).
    pub fn at_micros(&self) -> Option<i64> {
        crate::sql::slowlog::time::parse_iso(self.at.trim().as_bytes())
    }

    /// The record with secrets scrubbed from its texts, for a screen: the log
    /// is scrubbed as it is written, but a line edited by hand or written by
    /// another tool may not be.
    pub fn scrubbed(mut self) -> AuditRecord {
        let scrub = |s: &mut String| {
            let clean = match secrets::scrub(s) {
                std::borrow::Cow::Owned(clean) => Some(clean),
                std::borrow::Cow::Borrowed(_) => None,
            };
            if let Some(clean) = clean {
                *s = clean;
            }
        };
        for text in [
            &mut self.who,
            &mut self.profile,
            &mut self.environment,
            &mut self.change,
            &mut self.target,
            &mut self.detail,
            &mut self.plan_id,
            &mut self.output_tail,
        ] {
            scrub(text);
        }
        self.steps.iter_mut().for_each(scrub);
        self
    }
}

/// Records from several logs (this machine's, the hosts' later) as one list,
/// oldest first. The sort is stable: records of one instant keep their sources'
/// order, and records whose time cannot be read go first, in that order.
pub fn merge(sources: impl IntoIterator<Item = Vec<AuditRecord>>) -> Vec<AuditRecord> {
    let mut all: Vec<(Option<i64>, AuditRecord)> = sources
        .into_iter()
        .flatten()
        .map(|r| (r.at_micros(), r))
        .collect();
    all.sort_by_key(|(at, _)| *at);
    all.into_iter().map(|(_, r)| r).collect()
}

/// The records at or after `since` (microseconds since the epoch); a record
/// whose time cannot be read is not known to be recent and is left out.
pub fn since(records: Vec<AuditRecord>, since: i64) -> Vec<AuditRecord> {
    records
        .into_iter()
        .filter(|r| r.at_micros().is_some_and(|t| t >= since))
        .collect()
}

/// Who is making changes: `OPSCTL_OPERATOR` (a war room's shared terminal names
/// its person), else `user@machine`.
pub fn operator() -> String {
    if let Ok(o) = std::env::var("OPSCTL_OPERATOR") {
        if !o.trim().is_empty() {
            return o.trim().to_string();
        }
    }
    let user = ["USER", "LOGNAME"]
        .iter()
        .find_map(|k| std::env::var(k).ok().filter(|u| !u.is_empty()))
        .or_else(account_name)
        .unwrap_or_else(|| "unknown".into());
    format!("{user}@{}", machine())
}

/// The name of the account this process runs as (`USER` is not always set:
/// cron, containers, `sudo -i` shells).
fn account_name() -> Option<String> {
    // SAFETY: getpwuid returns a pointer into static storage or null; the name is
    // copied out before any other call could overwrite it.
    unsafe {
        let pw = libc::getpwuid(libc::getuid());
        if pw.is_null() || (*pw).pw_name.is_null() {
            return None;
        }
        let name = std::ffi::CStr::from_ptr((*pw).pw_name)
            .to_string_lossy()
            .into_owned();
        (!name.is_empty()).then_some(name)
    }
}

/// This machine's name.
pub fn machine() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".into())
}

pub fn now_rfc3339() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// Why the audit log could not be written or read.
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    #[error("audit log {}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// The local audit log file.
#[derive(Debug, Clone)]
pub struct AuditLog {
    path: PathBuf,
}

/// Lines of the log that are not records (a crash mid-write, an edit), by number.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ReadReport {
    pub records: Vec<AuditRecord>,
    pub bad_lines: Vec<usize>,
}

impl AuditLog {
    /// `$XDG_STATE_HOME/opsctl/audit.jsonl`, else `~/.local/state/opsctl/audit.jsonl`.
    pub fn default_path() -> PathBuf {
        let log = crate::logging::log_file_path();
        log.with_file_name("audit.jsonl")
    }

    pub fn open_default() -> AuditLog {
        AuditLog::at(AuditLog::default_path())
    }

    pub fn at(path: impl Into<PathBuf>) -> AuditLog {
        AuditLog { path: path.into() }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends one record as one line, under an exclusive lock.
    pub fn append(&self, record: &AuditRecord) -> Result<(), AuditError> {
        let io = |source| AuditError::Io {
            path: self.path.clone(),
            source,
        };
        if let Some(dir) = self.path.parent() {
            std::fs::create_dir_all(dir).map_err(io)?;
        }
        let line = serde_json::to_string(record).map_err(|e| io(std::io::Error::other(e)))?;
        let line = format!("{}\n", secrets::scrub(&line));
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)
            .map_err(io)?;
        let _lock = FileLock::exclusive(&file).map_err(io)?;
        let mut writer = &file;
        writer.write_all(line.as_bytes()).map_err(io)?;
        writer.flush().map_err(io)
    }

    /// Every record, oldest first; lines that are not records are counted.
    pub fn read(&self) -> Result<ReadReport, AuditError> {
        let file = match std::fs::File::open(&self.path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(ReadReport::default());
            }
            Err(source) => {
                return Err(AuditError::Io {
                    path: self.path.clone(),
                    source,
                });
            }
        };
        let mut report = ReadReport::default();
        for (n, line) in std::io::BufReader::new(file).lines().enumerate() {
            let Ok(line) = line else {
                report.bad_lines.push(n + 1);
                continue;
            };
            if line.trim().is_empty() {
                continue;
            }
            match serde_json::from_str::<AuditRecord>(&line) {
                Ok(r) => report.records.push(r),
                Err(_) => report.bad_lines.push(n + 1),
            }
        }
        Ok(report)
    }
}

/// An advisory `flock` held until dropped.
struct FileLock<'a>(&'a std::fs::File);

impl<'a> FileLock<'a> {
    fn exclusive(file: &'a std::fs::File) -> std::io::Result<FileLock<'a>> {
        use std::os::unix::io::AsRawFd;
        // SAFETY: flock on a descriptor we own, no memory involved.
        let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX) };
        if rc != 0 {
            return Err(std::io::Error::last_os_error());
        }
        Ok(FileLock(file))
    }
}

impl Drop for FileLock<'_> {
    fn drop(&mut self) {
        use std::os::unix::io::AsRawFd;
        // SAFETY: as above.
        unsafe {
            libc::flock(self.0.as_raw_fd(), libc::LOCK_UN);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Environment;
    use crate::ops::plan::Step;

    fn plan() -> Plan {
        Plan::new(
            "query.cancel",
            "pid 42",
            "Cancel 42",
            "shop",
            Environment::Staging,
        )
        .step(Step::sql("db1", "cancel", "SELECT pg_cancel_backend(42)"))
    }

    #[test]
    fn records_round_trip_oldest_first_and_bad_lines_are_counted() {
        let dir = tempfile::tempdir().unwrap();
        let log = AuditLog::at(dir.path().join("a/audit.jsonl"));
        assert!(log.read().unwrap().records.is_empty(), "no file yet");
        log.append(&AuditRecord::for_plan(&plan(), Outcome::Ok, "cancelled"))
            .unwrap();
        std::fs::OpenOptions::new()
            .append(true)
            .open(log.path())
            .unwrap()
            .write_all(b"{broken\n")
            .unwrap();
        log.append(&AuditRecord::for_plan(
            &plan(),
            Outcome::Refused,
            "read-only",
        ))
        .unwrap();
        let r = log.read().unwrap();
        assert_eq!(r.records.len(), 2);
        assert_eq!(r.records[0].outcome, Outcome::Ok);
        assert_eq!(r.records[1].outcome, Outcome::Refused);
        assert_eq!(r.bad_lines, [2]);
        assert_eq!(r.records[0].steps.len(), 1);
        let raw = std::fs::read_to_string(log.path()).unwrap();
        assert!(raw.contains("\"outcome\":\"refused\""), "{raw}");
    }

    fn at(at: &str, detail: &str) -> AuditRecord {
        let mut r = AuditRecord::for_plan(&plan(), Outcome::Ok, detail);
        r.at = at.to_string();
        r
    }

    #[test]
    fn merged_sources_are_oldest_first_and_stable() {
        let local = vec![
            at("2026-12-01T10:00:00Z", "a"),
            at("2026-12-01T12:00:00Z", "c"),
        ];
        let remote = vec![
            at("2026-12-01T11:00:00+00:00", "b"),
            at("2026-12-01T12:00:00Z", "d"),
            at("garbled", "x"),
        ];
        let merged = merge([local, remote]);
        let details: Vec<&str> = merged.iter().map(|r| r.detail.as_str()).collect();
        assert_eq!(details, ["x", "a", "b", "c", "d"]);
    }

    #[test]
    fn since_keeps_records_at_or_after_the_time() {
        let records = vec![
            at("2026-12-01T10:00:00Z", "old"),
            at("2026-12-01T11:00:00Z", "edge"),
            at("2026-12-01T11:30:00.5Z", "new"),
            at("", "no time"),
        ];
        let t = at("2026-12-01T11:00:00Z", "").at_micros().unwrap();
        let kept: Vec<String> = since(records, t).into_iter().map(|r| r.detail).collect();
        assert_eq!(kept, ["edge", "new"]);
    }

    #[test]
    fn scrubbed_records_hide_urls_passwords_everywhere() {
        let mut r = at("2026-12-01T10:00:00Z", "via postgres://u:pw5511@db1/shop");
        r.steps = vec!["git fetch https://x:tk5512@git.example/r.git".into()];
        r.output_tail = "mysql://root:pw5513@db2/x".into();
        let text = serde_json::to_string(&r.scrubbed()).unwrap();
        for secret in ["pw5511", "tk5512", "pw5513"] {
            assert!(!text.contains(secret), "{text}");
        }
        assert!(text.contains("postgres://u:***@db1/shop"), "{text}");
    }

    #[test]
    fn secrets_never_reach_the_log() {
        crate::config::secrets::register("audit-secret-93x");
        let dir = tempfile::tempdir().unwrap();
        let log = AuditLog::at(dir.path().join("audit.jsonl"));
        let rec = AuditRecord::for_plan(
            &plan(),
            Outcome::Failed,
            "password audit-secret-93x rejected",
        )
        .with_output("connecting to postgres://u:pw1234@db1/shop failed");
        log.append(&rec).unwrap();
        let raw = std::fs::read_to_string(log.path()).unwrap();
        assert!(
            !raw.contains("audit-secret-93x") && !raw.contains("pw1234"),
            "{raw}"
        );
    }

    #[test]
    fn concurrent_writers_never_interleave_lines() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.jsonl");
        let big = "x".repeat(OUTPUT_TAIL);
        let handles: Vec<_> = (0..8)
            .map(|i| {
                let path = path.clone();
                let big = big.clone();
                std::thread::spawn(move || {
                    let log = AuditLog::at(path);
                    for _ in 0..20 {
                        let rec =
                            AuditRecord::for_plan(&plan(), Outcome::Ok, format!("writer {i}"))
                                .with_output(&big);
                        log.append(&rec).unwrap();
                    }
                })
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }
        let r = AuditLog::at(path).read().unwrap();
        assert_eq!(r.records.len(), 160);
        assert!(r.bad_lines.is_empty(), "{:?}", r.bad_lines);
    }
}

/// The audit log's name in an app's directory on each of its hosts: every
/// change of the app, whoever made it from wherever, one JSON line each.
pub const HOST_LOG: &str = "opsctl-audit.jsonl";

/// Where a change's record is also written: one of the app's hosts.
#[derive(Clone)]
pub struct HostLog {
    pub host: String,
    pub remote: std::sync::Arc<dyn crate::remote::Remote>,
    /// The app's directory there.
    pub app_path: String,
}

impl HostLog {
    pub fn path(&self) -> String {
        format!("{}/{HOST_LOG}", self.app_path.trim_end_matches('/'))
    }

    /// Appends `record` (secrets scrubbed) in one write.
    pub async fn append(&self, record: &AuditRecord) -> Result<(), String> {
        let line = serde_json::to_string(&record.clone().scrubbed()).map_err(|e| e.to_string())?;
        let cmd = crate::remote::Command::shell_script(r#"printf '%s\n' "$2" >> "$1""#)
            .arg(self.path())
            .arg(line)
            .timeout(std::time::Duration::from_secs(15));
        match self.remote.run(&cmd).await {
            Ok(o) if o.success() => Ok(()),
            Ok(o) => Err(format!("{}: {}", self.host, o.stderr_lossy().trim())),
            Err(e) => Err(format!("{}: {e}", self.host)),
        }
    }

    /// The records there (the last `limit` lines), oldest first, and how many
    /// lines were not records.
    pub async fn read(&self, limit: usize) -> Result<(Vec<AuditRecord>, usize), String> {
        let cmd = crate::remote::Command::shell_script(
            r#"[ -f "$1" ] || exit 0; exec tail -n "$2" -- "$1""#,
        )
        .arg(self.path())
        .arg(limit.to_string())
        .timeout(std::time::Duration::from_secs(30));
        let out = self
            .remote
            .run(&cmd)
            .await
            .map_err(|e| format!("{}: {e}", self.host))?;
        if !out.success() {
            return Err(format!("{}: {}", self.host, out.stderr_lossy().trim()));
        }
        let mut bad = 0;
        let records = out
            .stdout_lossy()
            .lines()
            .filter(|l| !l.trim().is_empty())
            .filter_map(|l| match serde_json::from_str::<AuditRecord>(l) {
                Ok(r) => Some(r.scrubbed()),
                Err(_) => {
                    bad += 1;
                    None
                }
            })
            .collect();
        Ok((records, bad))
    }
}
