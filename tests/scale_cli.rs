//! `opsctl scale` on the real binary without the sandbox: usage and profile
//! errors, and the systemd road end to end on a local host whose `systemctl` is
//! a stand-in script on PATH (the sandbox has no systemd), keeping its units'
//! states in files.

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use predicates::prelude::*;

const FAKE_SYSTEMCTL: &str = r#"#!/bin/sh
# A stand-in systemctl: a unit is active while $FAKE_SYSTEMD/<unit> exists.
echo "$*" >> "$FAKE_SYSTEMD/calls"
cmd="$1"; shift
case "$cmd" in
  show) shift; [ "$1" = "--" ] && shift
        first=1
        for u in "$@"; do
          [ "$first" = 1 ] || echo
          first=0
          echo "Id=$u"
          if [ -e "$FAKE_SYSTEMD/$u" ]; then echo "ActiveState=active"; echo "SubState=running"
          else echo "ActiveState=inactive"; echo "SubState=dead"; fi
        done ;;
  start) [ "$1" = "--" ] && shift
         [ -e "$FAKE_SYSTEMD/fail" ] && { echo "Job for $1 failed." >&2; exit 1; }
         for u in "$@"; do touch "$FAKE_SYSTEMD/$u"; done ;;
  stop) [ "$1" = "--" ] && shift; for u in "$@"; do rm -f "$FAKE_SYSTEMD/$u"; done ;;
  *) echo "unknown command $cmd" >&2; exit 1 ;;
esac
"#;

struct Env {
    dir: tempfile::TempDir,
}

impl Env {
    fn new(profile: &str) -> Env {
        let dir = tempfile::tempdir().unwrap();
        let bin = dir.path().join("bin");
        std::fs::create_dir_all(&bin).unwrap();
        std::fs::create_dir_all(dir.path().join("units")).unwrap();
        let fake = bin.join("systemctl");
        std::fs::write(&fake, FAKE_SYSTEMCTL).unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();
        std::fs::write(dir.path().join("profile.toml"), profile).unwrap();
        Env { dir }
    }

    fn units(&self) -> PathBuf {
        self.dir.path().join("units")
    }

    fn opsctl(&self, args: &[&str]) -> Command {
        let mut cmd = Command::cargo_bin("opsctl").unwrap();
        let path = format!(
            "{}:{}",
            self.dir.path().join("bin").display(),
            std::env::var("PATH").unwrap_or_default()
        );
        cmd.current_dir(self.dir.path())
            .env_remove("OPSCTL_PROFILE")
            .env("HOME", self.dir.path())
            .env("XDG_STATE_HOME", self.dir.path().join("state"))
            .env("PATH", path)
            .env("FAKE_SYSTEMD", self.units())
            .arg("--profile")
            .arg(self.dir.path().join("profile.toml"))
            .args(args)
            .timeout(std::time::Duration::from_secs(60));
        cmd
    }

    fn running(&self) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(self.units())
            .unwrap()
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".service"))
            .collect();
        v.sort();
        v
    }
}

const SYSTEMD_PROFILE: &str = r#"name = "units"
environment = "staging"

[[hosts]]
name = "app1"
transport = "local"
roles = ["app"]

[[scale]]
name = "shop"
kind = "systemd"
roles = ["app"]
unit = "shop@{instance}.service"
instances = ["8001", "8002", "8003"]
min = 1
max = 3
timeout_secs = 5
"#;

fn touch(dir: &Path, name: &str) {
    std::fs::write(dir.join(name), "").unwrap();
}

#[test]
fn systemd_instances_start_and_stop_in_order_within_bounds() {
    let env = Env::new(SYSTEMD_PROFILE);
    touch(&env.units(), "shop@8001.service");
    env.opsctl(&["scale", "status"])
        .assert()
        .success()
        .stdout(predicate::str::contains("1 instances"))
        .stdout(predicate::str::contains("shop@8001.service"));
    // Staging wants a yes.
    env.opsctl(&["scale", "shop", "+2"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("pass --yes"));
    assert_eq!(env.running(), ["shop@8001.service"]);
    env.opsctl(&["scale", "shop", "+2", "--yes"])
        .assert()
        .success()
        .stdout(predicate::str::contains("app1 → 3 instances"));
    assert_eq!(
        env.running(),
        [
            "shop@8001.service",
            "shop@8002.service",
            "shop@8003.service"
        ]
    );
    env.opsctl(&["scale", "shop", "+1", "--yes"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("above the target's max of 3"));
    // The last started is the first stopped.
    env.opsctl(&["scale", "shop", "=2", "--yes"])
        .assert()
        .success();
    assert_eq!(env.running(), ["shop@8001.service", "shop@8002.service"]);
    let calls = std::fs::read_to_string(env.units().join("calls")).unwrap();
    assert!(
        calls.contains("start -- shop@8002.service shop@8003.service"),
        "{calls}"
    );
    assert!(calls.contains("stop -- shop@8003.service"), "{calls}");
    let out = env
        .opsctl(&["scale", "status", "--json"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(v["targets"][0]["name"], "shop");
    assert_eq!(v["targets"][0]["kind"], "systemd");
    assert_eq!(v["targets"][0]["hosts"][0]["host"], "app1");
    assert_eq!(v["targets"][0]["hosts"][0]["current"], 2);
    assert_eq!(v["targets"][0]["max"], 3);
}

#[test]
fn a_failed_start_fails_the_change_and_is_audited() {
    let env = Env::new(SYSTEMD_PROFILE);
    touch(&env.units(), "shop@8001.service");
    touch(&env.units(), "fail");
    env.opsctl(&["scale", "shop", "+1", "--yes"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "app1: systemctl: Job for shop@8002.service failed.",
        ));
    let audit = std::fs::read_to_string(env.dir.path().join("state/opsctl/audit.jsonl")).unwrap();
    let last: serde_json::Value = serde_json::from_str(audit.lines().last().unwrap()).unwrap();
    assert_eq!(last["outcome"], "failed");
    assert_eq!(last["change"], "scale");
}

#[test]
fn a_dry_run_prints_the_plan_and_changes_nothing() {
    let env = Env::new(SYSTEMD_PROFILE);
    touch(&env.units(), "shop@8001.service");
    let out = env
        .opsctl(&["scale", "shop", "+1", "--dry-run", "--json"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let plan: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(plan["change"], "scale");
    assert_eq!(plan["target"], "shop +1");
    assert_eq!(
        plan["steps"][0]["argv"],
        serde_json::json!(["systemctl", "start", "--", "shop@8002.service"])
    );
    assert_eq!(env.running(), ["shop@8001.service"]);
    assert!(!env.dir.path().join("state/opsctl/audit.jsonl").exists());
}

#[test]
fn usage_errors_say_what_to_type() {
    let env = Env::new(SYSTEMD_PROFILE);
    for (args, says) in [
        (&["scale", "shop"][..], "opsctl scale shop +1"),
        (&["scale", "shop", "2"][..], "say +N, -N or =N"),
        (&["scale", "shop", "+0"][..], "changes nothing"),
        (
            &["scale", "nope", "+1"][..],
            "no scale target `nope` (the profile's: shop)",
        ),
        (
            &["scale", "shop", "+1", "--host", "db9"][..],
            "`db9` is not a host of the scale target shop",
        ),
    ] {
        let code = if args.len() == 5 { 1 } else { 2 };
        env.opsctl(args)
            .assert()
            .code(code)
            .stderr(predicate::str::contains(says));
    }
    let bare = Env::new("name = \"bare\"\n");
    bare.opsctl(&["scale", "status"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("has no [[scale]] targets"));
}

#[test]
fn profile_errors_point_at_the_line() {
    for (extra, says) in [
        (
            "[[scale]]\nname = \"w\"\nkind = \"gunicorn\"\nroles = [\"app\"]\n",
            "needs `pid_file`",
        ),
        (
            "[[scale]]\nname = \"w\"\nkind = \"systemd\"\nroles = [\"app\"]\nunit = \"shop.service\"\ninstances = [\"1\"]\n",
            "needs `unit`",
        ),
        (
            "[[scale]]\nname = \"w\"\nkind = \"nginx-upstream\"\nroles = [\"lb\"]\n",
            "no host of the profile has the role `lb`",
        ),
        (
            "[[scale]]\nname = \"w\"\nkind = \"gunicorn\"\nhosts = [\"app1\"]\npid_file = \"/run/g.pid\"\nmin = 4\nmax = 2\n",
            "max (2) is below min (4)",
        ),
        (
            "[[scale]]\nname = \"w\"\nkind = \"k8s\"\nhosts = [\"app1\"]\n",
            "unknown variant `k8s`",
        ),
    ] {
        let env = Env::new(&format!(
            "name = \"p\"\n\n[[hosts]]\nname = \"app1\"\ntransport = \"local\"\nroles = [\"app\"]\n\n{extra}"
        ));
        env.opsctl(&["scale", "status"])
            .assert()
            .code(2)
            .stderr(predicate::str::contains(says))
            .stderr(predicate::str::contains("profile.toml:"));
    }
}
