//! What a change will do, step by step, before it does anything: shown to the
//! user (`--dry-run` prints it and stops, `--json` prints it as data), written
//! into the audit record, and what the console's confirmation dialog lists.

use serde::Serialize;

use crate::config::Environment;
use crate::remote::Command;

/// One step: where it runs and what exactly it runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Step {
    /// The host (or database) it runs on; `None` for a local step.
    pub on: Option<String>,
    pub what: String,
    /// The exact remote command, as argv (quoted by the command builder).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub argv: Option<Vec<String>>,
    /// The exact SQL, for a step that runs on a database.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sql: Option<String>,
}

impl Step {
    pub fn local(what: impl Into<String>) -> Step {
        Step {
            on: None,
            what: what.into(),
            argv: None,
            sql: None,
        }
    }

    /// A step that runs `cmd` on host `on`.
    pub fn remote(on: impl Into<String>, what: impl Into<String>, cmd: &Command) -> Step {
        Step {
            on: Some(on.into()),
            what: what.into(),
            argv: Some(cmd.argv().to_vec()),
            sql: None,
        }
    }

    /// A step that runs `sql` on the database `on`.
    pub fn sql(on: impl Into<String>, what: impl Into<String>, sql: impl Into<String>) -> Step {
        Step {
            on: Some(on.into()),
            what: what.into(),
            argv: None,
            sql: Some(sql.into()),
        }
    }

    /// One line for people: `web1: switch current (ln -sfn ...)`.
    pub fn line(&self) -> String {
        let head = match &self.on {
            Some(on) => format!("{on}: {}", self.what),
            None => self.what.clone(),
        };
        match (&self.argv, &self.sql) {
            (Some(argv), _) => format!("{head}\n     $ {}", shell_line(argv)),
            (None, Some(sql)) => format!("{head}\n     > {}", one_line(sql)),
            (None, None) => head,
        }
    }
}

/// The command for people. A fixed script of ours (`sh -c SCRIPT sh ARGS`) of
/// several lines shows its first line and its arguments: the data is what differs
/// between plans, and `--json` has the script whole.
fn shell_line(argv: &[String]) -> String {
    let quoted = |args: &[String]| {
        args.iter()
            .map(|a| crate::remote::quote(a))
            .collect::<Vec<_>>()
            .join(" ")
    };
    match argv {
        [sh, c, script, zero, rest @ ..] if sh == "sh" && c == "-c" && script.contains('\n') => {
            let first = script.lines().next().unwrap_or("");
            format!(
                "sh -c '{first} …' ({} lines; --json shows it) {zero} {}",
                script.lines().count(),
                quoted(rest)
            )
        }
        _ => quoted(argv),
    }
}

fn one_line(sql: &str) -> String {
    sql.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// A change to production, before it runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Plan {
    /// Identifies the change in the lock, the audit log and progress reports.
    pub id: String,
    /// The kind of change: `query.cancel`, `deploy`, `scale`, ...
    pub change: String,
    /// What it is about: a session, a release, a scale target.
    pub target: String,
    /// One line for titles and the audit log.
    pub title: String,
    pub profile: String,
    pub environment: Environment,
    pub steps: Vec<Step>,
    /// Things the person confirming should know (a migration crossed, ...).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    /// Production confirms this plan a second time, for this reason.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ask_again: Option<super::consent::AskAgain>,
}

impl Plan {
    pub fn new(
        change: impl Into<String>,
        target: impl Into<String>,
        title: impl Into<String>,
        profile: &str,
        environment: Environment,
    ) -> Plan {
        Plan {
            id: new_id(),
            change: change.into(),
            target: target.into(),
            title: title.into(),
            profile: profile.to_string(),
            environment,
            steps: Vec::new(),
            warnings: Vec::new(),
            ask_again: None,
        }
    }

    pub fn step(mut self, step: Step) -> Plan {
        self.steps.push(step);
        self
    }

    /// The plan for people: title, numbered steps with their commands, warnings.
    pub fn render(&self) -> String {
        let mut out = format!(
            "{} ({} on {}, {})\n",
            self.title,
            self.change,
            self.profile,
            self.environment.as_str()
        );
        for (i, s) in self.steps.iter().enumerate() {
            out.push_str(&format!("  {}. {}\n", i + 1, s.line()));
        }
        for w in &self.warnings {
            out.push_str(&format!("  ! {w}\n"));
        }
        out
    }

    /// The plan in few lines: steps that do the same on several hosts become one
    /// line naming the hosts, in the order they first appear; then the warnings.
    pub fn grouped_lines(&self) -> Vec<String> {
        let mut groups: Vec<(String, Vec<String>)> = Vec::new();
        for s in &self.steps {
            let host = s.on.clone().unwrap_or_default();
            match groups.iter_mut().find(|(what, _)| *what == s.what) {
                Some((_, hosts)) if !hosts.contains(&host) => hosts.push(host),
                Some(_) => {}
                None => groups.push((s.what.clone(), vec![host])),
            }
        }
        let mut lines: Vec<String> = groups
            .into_iter()
            .enumerate()
            .map(|(i, (what, hosts))| {
                let hosts: Vec<String> = hosts.into_iter().filter(|h| !h.is_empty()).collect();
                if hosts.is_empty() {
                    format!("{}. {what}", i + 1)
                } else {
                    format!("{}. {}: {what}", i + 1, hosts.join(", "))
                }
            })
            .collect();
        lines.extend(self.warnings.iter().map(|w| format!("! {w}")));
        lines
    }

    /// The lines a confirmation dialog shows (one per step, no commands).
    pub fn summary_lines(&self) -> Vec<String> {
        let mut lines: Vec<String> = self
            .steps
            .iter()
            .enumerate()
            .map(|(i, s)| match &s.on {
                Some(on) => format!("{}. {on}: {}", i + 1, s.what),
                None => format!("{}. {}", i + 1, s.what),
            })
            .collect();
        lines.extend(self.warnings.iter().map(|w| format!("! {w}")));
        lines
    }
}

/// A plan id: UTC time and a random suffix (`20261201T204405Z-3fa9c1`).
pub fn new_id() -> String {
    let now = time::OffsetDateTime::now_utc();
    let stamp = format!(
        "{:04}{:02}{:02}T{:02}{:02}{:02}Z",
        now.year(),
        u8::from(now.month()),
        now.day(),
        now.hour(),
        now.minute(),
        now.second()
    );
    static COUNTER: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let mut bytes = [0u8; 3];
    // Uniqueness, not secrecy: the clock's nanoseconds, the process id, a counter.
    let seed = now.nanosecond() ^ std::process::id().rotate_left(16) ^ n.wrapping_mul(0x9E37_79B9);
    bytes.copy_from_slice(&seed.to_le_bytes()[..3]);
    format!("{stamp}-{:02x}{:02x}{:02x}", bytes[0], bytes[1], bytes[2])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_plan_shows_every_step_with_its_exact_command() {
        let cmd = Command::new("ln").args(["-sfn", "releases/v2 it's", "current.tmp"]);
        let plan = Plan::new(
            "deploy",
            "v2",
            "Deploy shop v2",
            "shop-prod",
            Environment::Production,
        )
        .step(Step::remote("web1", "switch current", &cmd))
        .step(Step::sql(
            "db1",
            "cancel pid 42",
            "SELECT pg_cancel_backend(42)",
        ));
        let text = plan.render();
        assert!(
            text.starts_with("Deploy shop v2 (deploy on shop-prod, production)"),
            "{text}"
        );
        assert!(text.contains("1. web1: switch current"), "{text}");
        assert!(
            text.contains("$ ln -sfn 'releases/v2 it'\\''s' current.tmp"),
            "{text}"
        );
        assert!(
            text.contains("2. db1: cancel pid 42\n     > SELECT pg_cancel_backend(42)"),
            "{text}"
        );
        let json = serde_json::to_value(&plan).unwrap();
        assert_eq!(json["steps"][0]["argv"][1], "-sfn");
        assert_eq!(json["environment"], "production");
        assert_eq!(plan.summary_lines()[1], "2. db1: cancel pid 42");
        let twice = plan
            .clone()
            .step(Step::remote("web2", "switch current", &cmd));
        assert_eq!(twice.grouped_lines()[0], "1. web1, web2: switch current");
        assert_eq!(twice.grouped_lines().len(), 2);
    }

    #[test]
    fn long_scripts_show_their_arguments_not_their_body() {
        let cmd = Command::shell_script("set -e\ncd -- \"$1\"\nrm -rf x").arg("/srv/a b");
        let line = Step::remote("web1", "clean", &cmd).line();
        assert!(
            line.ends_with("$ sh -c 'set -e …' (3 lines; --json shows it) sh '/srv/a b'"),
            "{line}"
        );
    }

    #[test]
    fn plan_ids_differ() {
        let a = new_id();
        std::thread::sleep(std::time::Duration::from_millis(2));
        let b = new_id();
        assert_ne!(a, b);
        assert!(a.ends_with(|c: char| c.is_ascii_hexdigit()), "{a}");
    }
}
