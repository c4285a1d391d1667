//! The deploy lock: a directory created atomically (`mkdir`) on the app's primary
//! host, holding a `holder.json` that names who holds it, from where, since when
//! and for what. A held lock refuses a second change with those details and its
//! age; the change that took it releases it however it ends.

use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::remote::{Command, Remote, RemoteError};

/// The lock directory's name inside the app's path.
pub const LOCK_DIR: &str = ".opsctl-lock";

const LOCK_TIMEOUT: Duration = Duration::from_secs(15);

/// Exit status of the acquire script when someone else holds the lock.
const HELD: i32 = 3;

/// Who holds the lock.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Holder {
    pub who: String,
    /// The machine the change runs from.
    #[serde(default)]
    pub from: String,
    /// RFC 3339, UTC.
    pub since: String,
    /// The change's title (`Deploy shop v2`).
    pub what: String,
    #[serde(default)]
    pub plan_id: String,
    #[serde(default)]
    pub change: String,
    #[serde(default)]
    pub pid: u32,
}

/// Where the lock of a change lives.
#[derive(Clone)]
pub struct LockSpec {
    /// The host's name, for messages.
    pub host: String,
    pub remote: Arc<dyn Remote>,
    /// The app's path on that host; the lock is `PATH/.opsctl-lock`.
    pub app_path: String,
}

impl std::fmt::Debug for LockSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LockSpec")
            .field("host", &self.host)
            .field("app_path", &self.app_path)
            .finish()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error("{}", held_message(.holder, .age_secs))]
    Held { holder: Holder, age_secs: i64 },
    #[error("the lock on {host}: {message}")]
    Remote { host: String, message: String },
}

fn held_message(h: &Holder, age: &i64) -> String {
    let from = if h.from.is_empty() {
        String::new()
    } else {
        format!(" on {}", h.from)
    };
    format!(
        "locked by {}{from} since {} ({} ago): {}; `opsctl lock status` shows it, `opsctl lock break` breaks it",
        h.who,
        h.since,
        age_words(*age),
        h.what
    )
}

/// `42s`, `5m12s`, `3h04m`, `2d03h`.
pub fn age_words(secs: i64) -> String {
    let s = secs.max(0);
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m{:02}s", s / 60, s % 60),
        3600..86400 => format!("{}h{:02}m", s / 3600, (s % 3600) / 60),
        _ => format!("{}d{:02}h", s / 86400, (s % 86400) / 3600),
    }
}

impl LockSpec {
    pub fn dir(&self) -> String {
        format!("{}/{LOCK_DIR}", self.app_path.trim_end_matches('/'))
    }

    fn remote_error(&self, e: impl std::fmt::Display) -> LockError {
        LockError::Remote {
            host: self.host.clone(),
            message: e.to_string(),
        }
    }

    /// Takes the lock for `holder`, or says who has it.
    pub async fn acquire(&self, holder: &Holder) -> Result<(), LockError> {
        let details = serde_json::to_string(holder).map_err(|e| self.remote_error(e))?;
        let script = r#"mkdir -p -- "$1" || exit 4
if mkdir -- "$2" 2>/dev/null; then
  printf '%s\n' "$3" > "$2/holder.json" || { rm -rf -- "$2"; exit 4; }
  exit 0
fi
printf 'NOW %s\nMTIME %s\n' "$(date +%s)" "$(stat -c %Y -- "$2" 2>/dev/null)"
cat -- "$2/holder.json" 2>/dev/null
exit 3"#;
        let cmd = Command::shell_script(script)
            .arg(&self.app_path)
            .arg(self.dir())
            .arg(details)
            .timeout(LOCK_TIMEOUT);
        let out = self
            .remote
            .run(&cmd)
            .await
            .map_err(|e| self.remote_error(e))?;
        match out.status {
            Some(0) => Ok(()),
            Some(HELD) => {
                let (holder, age_secs) = parse_held(&out.stdout_lossy());
                Err(LockError::Held { holder, age_secs })
            }
            _ => Err(self.remote_error(format!(
                "cannot create {}: {}",
                self.dir(),
                out.stderr_lossy().trim()
            ))),
        }
    }

    /// Releases the lock if `plan_id` holds it; `false` when it did not.
    pub async fn release(&self, plan_id: &str) -> Result<bool, RemoteError> {
        // Only our own lock: a lock broken and taken by someone else stays theirs.
        let script = r#"grep -qF -- "\"plan_id\":\"$2\"" "$1/holder.json" 2>/dev/null || exit 3
rm -rf -- "$1""#;
        let cmd = Command::shell_script(script)
            .arg(self.dir())
            .arg(plan_id)
            .timeout(LOCK_TIMEOUT);
        let out = self.remote.run(&cmd).await?;
        Ok(out.status == Some(0))
    }

    /// Who holds the lock, if anyone.
    pub async fn status(&self) -> Result<Option<(Holder, i64)>, LockError> {
        let script = r#"[ -d "$1" ] || exit 0
printf 'NOW %s\nMTIME %s\n' "$(date +%s)" "$(stat -c %Y -- "$1" 2>/dev/null)"
cat -- "$1/holder.json" 2>/dev/null
exit 3"#;
        let cmd = Command::shell_script(script)
            .arg(self.dir())
            .timeout(LOCK_TIMEOUT);
        let out = self
            .remote
            .run(&cmd)
            .await
            .map_err(|e| self.remote_error(e))?;
        match out.status {
            Some(0) => Ok(None),
            Some(HELD) => Ok(Some(parse_held(&out.stdout_lossy()))),
            _ => Err(self.remote_error(out.stderr_lossy().trim().to_string())),
        }
    }

    /// The command that breaks the lock, whoever holds it (a change of its own).
    pub fn break_command(&self) -> Command {
        Command::new("rm")
            .args(["-rf", "--"])
            .arg(self.dir())
            .timeout(LOCK_TIMEOUT)
    }
}

/// The holder and the lock's age from the scripts' `NOW`/`MTIME` lines and
/// `holder.json`. A lock without readable details (a crash between `mkdir` and
/// the write) is still a held lock, of an unknown holder.
fn parse_held(text: &str) -> (Holder, i64) {
    let mut now = None;
    let mut mtime = None;
    let mut json = String::new();
    for line in text.lines() {
        if let Some(v) = line.strip_prefix("NOW ") {
            now = v.trim().parse::<i64>().ok();
        } else if let Some(v) = line.strip_prefix("MTIME ") {
            mtime = v.trim().parse::<i64>().ok();
        } else {
            json.push_str(line);
        }
    }
    let holder = serde_json::from_str::<Holder>(json.trim()).unwrap_or_else(|_| Holder {
        who: "unknown (no readable holder.json)".into(),
        from: String::new(),
        since: mtime
            .and_then(|t| time::OffsetDateTime::from_unix_timestamp(t).ok())
            .and_then(|t| {
                t.format(&time::format_description::well_known::Rfc3339)
                    .ok()
            })
            .unwrap_or_else(|| "unknown".into()),
        what: "unknown".into(),
        plan_id: String::new(),
        change: String::new(),
        pid: 0,
    });
    let age = match (now, mtime) {
        (Some(n), Some(m)) => n - m,
        _ => 0,
    };
    (holder, age)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::remote::local::LocalRemote;

    fn holder(plan: &str) -> Holder {
        Holder {
            who: "ana@laptop".into(),
            from: "laptop".into(),
            since: "2026-12-02T03:00:00Z".into(),
            what: "Deploy shop v2".into(),
            plan_id: plan.into(),
            change: "deploy".into(),
            pid: 42,
        }
    }

    fn spec(dir: &std::path::Path) -> LockSpec {
        LockSpec {
            host: "web1".into(),
            remote: Arc::new(LocalRemote::new("web1")),
            app_path: dir.join("app dir").to_string_lossy().into_owned(),
        }
    }

    #[tokio::test]
    async fn a_held_lock_refuses_with_its_holder_and_only_its_plan_releases_it() {
        let tmp = tempfile::tempdir().unwrap();
        let lock = spec(tmp.path());
        assert!(lock.status().await.unwrap().is_none());
        lock.acquire(&holder("p1")).await.unwrap();
        let e = lock.acquire(&holder("p2")).await.unwrap_err();
        let LockError::Held {
            holder: h,
            age_secs,
        } = &e
        else {
            panic!("{e}")
        };
        assert_eq!(h.plan_id, "p1");
        assert!((0..5).contains(age_secs), "{age_secs}");
        let text = e.to_string();
        assert!(text.contains("locked by ana@laptop on laptop"), "{text}");
        assert!(text.contains("Deploy shop v2"), "{text}");
        assert!(!lock.release("p2").await.unwrap(), "p2 does not hold it");
        assert_eq!(lock.status().await.unwrap().unwrap().0.plan_id, "p1");
        assert!(lock.release("p1").await.unwrap());
        assert!(lock.status().await.unwrap().is_none());
        lock.acquire(&holder("p3")).await.unwrap();
    }

    #[tokio::test]
    async fn a_lock_without_details_is_still_held() {
        let tmp = tempfile::tempdir().unwrap();
        let lock = spec(tmp.path());
        std::fs::create_dir_all(lock.dir()).unwrap();
        let (h, _) = lock.status().await.unwrap().unwrap();
        assert!(h.who.starts_with("unknown"), "{h:?}");
        assert!(lock.acquire(&holder("p1")).await.is_err());
        let out = lock.remote.run(&lock.break_command()).await.unwrap();
        assert!(out.success());
        assert!(lock.status().await.unwrap().is_none());
    }

    #[test]
    fn ages_read_as_people_say_them() {
        assert_eq!(age_words(42), "42s");
        assert_eq!(age_words(312), "5m12s");
        assert_eq!(age_words(3 * 3600 + 240), "3h04m");
        assert_eq!(age_words(2 * 86400 + 3 * 3600), "2d03h");
    }
}
