//! What is deployed where: every host's releases (revision, what was asked for,
//! when, by whom), which one is current, and whether the hosts agree.

use std::time::Duration;

use serde::Serialize;

use super::fleet::AppHost;
use crate::remote::Command;

/// At most this many releases are read per host (a tree never pruned).
const MAX_RELEASES: usize = 200;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Release {
    pub id: String,
    /// What was asked for (a tag, a branch), when known.
    #[serde(rename = "ref")]
    pub git_ref: String,
    /// The full commit id.
    pub revision: String,
    /// RFC 3339, UTC; from the release id's time.
    pub deployed_at: String,
    pub deployed_by: String,
    pub current: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HostReleases {
    pub host: String,
    /// The current release's id; empty when `current` is missing.
    pub current: String,
    /// Oldest first.
    pub releases: Vec<Release>,
    /// Why the host could not be read; its releases are then empty.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl HostReleases {
    pub fn current_release(&self) -> Option<&Release> {
        self.releases.iter().find(|r| r.current)
    }

    /// What a rollback goes back to: the newest release older than the current one
    /// that runs other code (a redeploy of the same revision is not a step back),
    /// else simply the one before it.
    pub fn previous_release(&self) -> Option<&Release> {
        let i = self.releases.iter().position(|r| r.current)?;
        let cur = &self.releases[i];
        let older = &self.releases[..i];
        older
            .iter()
            .rev()
            .find(|r| r.revision != cur.revision)
            .or_else(|| older.last())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FleetReleases {
    /// Every host read, each with a current release, all of one revision.
    pub consistent: bool,
    pub hosts: Vec<HostReleases>,
}

impl FleetReleases {
    pub fn new(hosts: Vec<HostReleases>) -> FleetReleases {
        let revisions: Vec<Option<&str>> = hosts
            .iter()
            .map(|h| h.current_release().map(|r| r.revision.as_str()))
            .collect();
        let consistent = !hosts.is_empty()
            && revisions.iter().all(Option::is_some)
            && revisions.windows(2).all(|w| w[0] == w[1]);
        FleetReleases { consistent, hosts }
    }

    /// One line per way the hosts disagree, for a loud warning.
    pub fn drift(&self) -> Vec<String> {
        let mut out = Vec::new();
        for h in &self.hosts {
            if let Some(e) = &h.error {
                out.push(format!("{}: cannot be read: {e}", h.host));
            } else if h.current_release().is_none() {
                out.push(format!("{}: no current release", h.host));
            }
        }
        if out.is_empty() && !self.consistent {
            let list: Vec<String> = self
                .hosts
                .iter()
                .filter_map(|h| {
                    h.current_release()
                        .map(|r| format!("{} on {} ({})", h.host, short(&r.revision), r.git_ref))
                })
                .collect();
            out.push(format!(
                "hosts run different revisions: {}",
                list.join(", ")
            ));
        }
        out
    }
}

pub fn short(rev: &str) -> &str {
    rev.get(..7).unwrap_or(rev)
}

/// Lists a host's tree in one call: `CURRENT`, one `REL` line per release, and the
/// end of `revisions.log` as `LOG` lines.
pub fn list_command(path: &str) -> Command {
    let script = r#"cd -- "$1" 2>/dev/null || { echo NOAPP; exit 0; }
printf 'CURRENT\t%s\n' "$(readlink -- current 2>/dev/null)"
for d in releases/*/; do
  [ -d "$d" ] || continue
  id="${d%/}"; id="${id#releases/}"
  case "$id" in *.tmp) continue;; esac
  printf 'REL\t%s\t%s\t%s\t%s\t%s\n' "$id" \
    "$(head -c 200 "$d/REVISION" 2>/dev/null | tr -d '\t\n')" \
    "$(head -c 200 "$d/REF" 2>/dev/null | tr -d '\t\n')" \
    "$(head -c 200 "$d/DEPLOYED_BY" 2>/dev/null | tr -d '\t\n')" \
    "$(head -c 40 "$d/REVISION_TIME" 2>/dev/null | tr -d '\t\n')"
done | tail -n "$2"
[ -f revisions.log ] && tail -n 1000 revisions.log | sed 's/^/LOG\t/'
exit 0"#;
    Command::shell_script(script)
        .arg(path)
        .arg(MAX_RELEASES.to_string())
        .timeout(Duration::from_secs(30))
}

/// Parses [`list_command`]'s output.
pub fn parse_listing(host: &str, text: &str) -> HostReleases {
    let mut current = String::new();
    let mut releases: Vec<Release> = Vec::new();
    let mut log: Vec<&str> = Vec::new();
    for line in text.lines() {
        if line == "NOAPP" {
            return HostReleases {
                host: host.to_string(),
                current: String::new(),
                releases: Vec::new(),
                error: Some("the app's directory does not exist".into()),
            };
        }
        let mut f = line.split('\t');
        match f.next() {
            Some("CURRENT") => {
                current = super::layout::current_id(f.next().unwrap_or("")).unwrap_or_default();
            }
            Some("REL") => {
                let id = f.next().unwrap_or("").to_string();
                if id.is_empty() {
                    continue;
                }
                let revision = f.next().unwrap_or("").to_string();
                let git_ref = f.next().unwrap_or("").to_string();
                let deployed_by = f.next().unwrap_or("").to_string();
                let time = f.next().unwrap_or("");
                releases.push(Release {
                    deployed_at: deployed_at(&id, time),
                    id,
                    git_ref,
                    revision,
                    deployed_by,
                    current: false,
                });
            }
            Some("LOG") => log.push(line.get(4..).unwrap_or("")),
            _ => {}
        }
    }
    releases.sort_by(|a, b| a.id.cmp(&b.id));
    for r in &mut releases {
        r.current = r.id == current;
        if r.git_ref.is_empty() || r.deployed_by.is_empty() {
            // Releases made by Capistrano (or a script) say it in revisions.log only.
            if let Some((git_ref, who)) =
                log.iter().rev().find_map(|l| from_revisions_line(l, &r.id))
            {
                if r.git_ref.is_empty() {
                    r.git_ref = git_ref;
                }
                if r.deployed_by.is_empty() {
                    r.deployed_by = who;
                }
            }
        }
    }
    HostReleases {
        host: host.to_string(),
        current,
        releases,
        error: None,
    }
}

/// `Branch v1 (at 61c13bf) deployed as release <id> by root` → (`v1`, `root`).
fn from_revisions_line(line: &str, id: &str) -> Option<(String, String)> {
    let rest = line.strip_prefix("Branch ")?;
    let (git_ref, rest) = rest.split_once(" (at ")?;
    let (_, rest) = rest.split_once(") deployed as release ")?;
    let (rid, who) = rest.split_once(" by ")?;
    (rid == id).then(|| (git_ref.to_string(), who.trim().to_string()))
}

/// The release id's time (`20261202031500_…`) as RFC 3339, else REVISION_TIME's.
fn deployed_at(id: &str, revision_time: &str) -> String {
    let stamp = |s: &str| -> Option<String> {
        let d = s.get(..14)?;
        if !d.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        Some(format!(
            "{}-{}-{}T{}:{}:{}Z",
            &d[0..4],
            &d[4..6],
            &d[6..8],
            &d[8..10],
            &d[10..12],
            &d[12..14]
        ))
    };
    stamp(id)
        .or_else(|| stamp(revision_time.trim()))
        .unwrap_or_default()
}

/// Reads every host's releases, in parallel; a host that cannot be read says why.
pub async fn read(hosts: &[AppHost]) -> FleetReleases {
    let reads = hosts.iter().map(|h| async move {
        match h.remote.run(&list_command(&h.path)).await {
            Ok(out) if out.success() => parse_listing(&h.name, &out.stdout_lossy()),
            Ok(out) => HostReleases {
                host: h.name.clone(),
                current: String::new(),
                releases: Vec::new(),
                error: Some(out.stderr_lossy().trim().to_string()),
            },
            Err(e) => HostReleases {
                host: h.name.clone(),
                current: String::new(),
                releases: Vec::new(),
                error: Some(e.to_string()),
            },
        }
    });
    FleetReleases::new(futures::future::join_all(reads).await)
}

#[cfg(test)]
mod tests {
    use super::*;

    const LISTING: &str = "CURRENT\treleases/20261202031500_82fc383\n\
REL\t20261201194500_61c13bf\t61c13bf0000000000000000000000000000000aa\t\t\t20261201194500\n\
REL\t20261202031500_82fc383\t82fc383000000000000000000000000000000bb\tv2\tana@laptop\t20261202031500\n\
LOG\tBranch v1 (at 61c13bf) deployed as release 20261201194500_61c13bf by root\n\
LOG\tBranch v2 (at 82fc383) deployed as release 20261202031500_82fc383 by ana@laptop\n";

    #[test]
    fn a_listing_names_the_current_release_and_fills_gaps_from_revisions_log() {
        let h = parse_listing("web1", LISTING);
        assert_eq!(h.current, "20261202031500_82fc383");
        assert_eq!(h.releases.len(), 2);
        let old = &h.releases[0];
        assert_eq!(old.git_ref, "v1");
        assert_eq!(old.deployed_by, "root");
        assert_eq!(old.deployed_at, "2026-12-01T19:45:00Z");
        assert!(!old.current);
        assert!(h.releases[1].current);
        assert_eq!(
            h.previous_release().map(|r| r.id.as_str()),
            Some(old.id.as_str())
        );
    }

    #[test]
    fn the_previous_release_runs_other_code() {
        let text = "CURRENT\treleases/r4\n\
REL\tr1\taaa\tv1\t\t\nREL\tr2\tbbb\tv2\t\t\nREL\tr3\tccc\tv2b\t\t\nREL\tr4\tccc\tv2b\t\t\n";
        let h = parse_listing("web1", text);
        assert_eq!(h.previous_release().map(|r| r.id.as_str()), Some("r2"));
        let same = parse_listing(
            "web1",
            "CURRENT\treleases/r2\nREL\tr1\taaa\t\t\t\nREL\tr2\taaa\t\t\t\n",
        );
        assert_eq!(same.previous_release().map(|r| r.id.as_str()), Some("r1"));
        let first = parse_listing("web1", "CURRENT\treleases/r1\nREL\tr1\taaa\t\t\t\n");
        assert_eq!(first.previous_release(), None);
    }

    #[test]
    fn hosts_on_different_revisions_are_flagged() {
        let a = parse_listing("web1", LISTING);
        let mut b = parse_listing("web2", LISTING);
        assert!(FleetReleases::new(vec![a.clone(), b.clone()]).consistent);
        b.current = b.releases[0].id.clone();
        b.releases[0].current = true;
        b.releases[1].current = false;
        let f = FleetReleases::new(vec![a.clone(), b]);
        assert!(!f.consistent);
        assert!(
            f.drift()[0].contains("web1 on 82fc383 (v2), web2 on 61c13bf (v1)"),
            "{:?}",
            f.drift()
        );
        let none = parse_listing("web3", "NOAPP\n");
        let f = FleetReleases::new(vec![a, none]);
        assert!(!f.consistent);
        assert!(
            f.drift()[0].contains("web3: cannot be read"),
            "{:?}",
            f.drift()
        );
        let json = serde_json::to_value(&f).unwrap();
        assert_eq!(json["hosts"][0]["releases"][1]["ref"], "v2");
        assert_eq!(json["hosts"][0]["current"], "20261202031500_82fc383");
    }
}
