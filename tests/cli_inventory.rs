//! Ansible inventories, through the real binary: `opsctl config import ansible` and
//! `--inventory`, on inventories written in the formats of Ansible's inventory
//! guide (tests/fixtures/ansible/: INI and YAML, groups, children, group and host
//! vars, ranges, `all`/`ungrouped`, group_vars/ and host_vars/).

use std::fs;
use std::path::{Path, PathBuf};

use assert_cmd::Command;
use predicates::prelude::*;
use serde_json::Value;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/ansible")
}

/// opsctl run in the fixtures directory (so messages name `shop.ini:13`), with a
/// private HOME and no profile from the environment.
fn opsctl(home: &Path) -> Command {
    let mut cmd = Command::cargo_bin("opsctl").unwrap();
    cmd.current_dir(fixtures())
        .env_remove("OPSCTL_PROFILE")
        .env("HOME", home)
        .env("XDG_CONFIG_HOME", home.join("xdg"));
    cmd
}

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

fn run(home: &Path, args: &[&str]) -> Run {
    let out = opsctl(home).args(args).output().unwrap();
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8(out.stdout).unwrap(),
        stderr: String::from_utf8(out.stderr).unwrap(),
    }
}

/// `config show --json` for the given profile/inventory arguments: the hosts by name.
fn shown_hosts(home: &Path, args: &[&str]) -> (Value, Vec<Value>) {
    let mut all = args.to_vec();
    all.extend(["config", "show", "--json"]);
    let r = run(home, &all);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let json: Value = serde_json::from_str(&r.stdout).unwrap();
    let hosts = json["hosts"].as_array().unwrap().clone();
    (json, hosts)
}

fn host<'a>(hosts: &'a [Value], name: &str) -> &'a Value {
    hosts
        .iter()
        .find(|h| h["name"] == name)
        .unwrap_or_else(|| panic!("no host {name} in {hosts:?}"))
}

fn roles(h: &Value) -> Vec<&str> {
    h["roles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_str().unwrap())
        .collect()
}

#[test]
fn import_prints_a_profile_with_every_host_of_the_ini_inventory() {
    let home = tempfile::tempdir().unwrap();
    let r = run(home.path(), &["config", "import", "ansible", "shop.ini"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains("name = \"shop\"\n"), "{}", r.stdout);
    assert!(r.stdout.contains("environment = \"development\"\n"));
    // A range with a step, a host with a port in its pattern, roles through children.
    for expected in [
        "[[hosts]]  # shop.ini:20\nname = \"batch12.shop.example\"\n",
        "name = \"web-canary.shop.example\"\nport = 2200\nuser = \"canary\"\n\
         identity_files = [\"~/.ssh/shop_ed25519\"]\nroles = [\"eu\", \"frontend\", \"web\"]\n",
        "name = \"localhost\"\ntransport = \"local\"\nroles = [\"control\"]\n",
    ] {
        assert!(
            r.stdout.contains(expected),
            "missing {expected:?} in\n{}",
            r.stdout
        );
    }
    assert_eq!(r.stdout.matches("[[hosts]]").count(), 15, "{}", r.stdout);
    assert!(!r.stdout.contains("batch11"), "a step of 2 skips batch11");
}

#[test]
fn what_is_not_imported_is_reported_with_file_and_line() {
    let home = tempfile::tempdir().unwrap();
    let r = run(home.path(), &["config", "import", "ansible", "shop.ini"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    for expected in [
        "shop.ini:13: warning: not imported: `ansible_become`",
        "shop.ini:17: warning: not imported: secret `ansible_password`",
        "shop.ini:50: warning: not imported: `ansible_python_interpreter`",
        "shop.ini: warning: 3 other variable definitions were not imported",
    ] {
        assert!(
            r.stderr.contains(expected),
            "missing {expected:?} in\n{}",
            r.stderr
        );
    }
    let r = run(home.path(), &["config", "import", "ansible", "shop.yml"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    for expected in [
        "shop.yml:8: warning: not imported: `ansible_python_interpreter`",
        "shop.yml:32: warning: not imported: `ansible_become`",
        "shop.yml:41: warning: not imported: secret `ansible_password`",
    ] {
        assert!(
            r.stderr.contains(expected),
            "missing {expected:?} in\n{}",
            r.stderr
        );
    }
}

#[test]
fn secrets_are_never_copied_or_printed() {
    let home = tempfile::tempdir().unwrap();
    let out = home.path().join("out.toml");
    let out = out.to_str().unwrap();
    let mut outputs = Vec::new();
    for args in [
        vec!["config", "import", "ansible", "shop.ini"],
        vec!["config", "import", "ansible", "shop.yml"],
        vec!["config", "import", "ansible", "staging/hosts"],
        vec!["config", "import", "ansible", "shop.ini", "-o", out],
        vec!["--inventory", "shop.ini", "config", "show"],
        vec!["--inventory", "shop.yml", "config", "show", "--json"],
        vec!["--inventory", "staging/hosts", "config", "check"],
    ] {
        let r = run(home.path(), &args);
        assert_eq!(r.code, 0, "{args:?}: {}", r.stderr);
        outputs.push(format!("{args:?}\n{}\n{}", r.stdout, r.stderr));
    }
    outputs.push(fs::read_to_string(out).unwrap());
    for text in outputs {
        for secret in ["s3cr3t-db2", "ANSIBLE_VAULT", "6231336539"] {
            assert!(!text.contains(secret), "{secret} leaked:\n{text}");
        }
    }
}

#[test]
fn import_writes_a_profile_that_loads_and_never_overwrites_without_force() {
    let home = tempfile::tempdir().unwrap();
    let out = home.path().join("shop.toml");
    let out_s = out.to_str().unwrap();
    let r = run(
        home.path(),
        &["config", "import", "ansible", "shop.ini", "-o", out_s],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.is_empty(), "{}", r.stdout);
    assert!(r.stderr.contains("wrote"), "{}", r.stderr);
    opsctl(home.path())
        .args(["--profile", out_s, "config", "check"])
        .assert()
        .success()
        .stdout(
            predicate::str::contains("profile `shop` (development")
                .and(predicate::str::contains("15 hosts")),
        );

    fs::write(&out, "name = \"mine\"\n").unwrap();
    let r = run(
        home.path(),
        &["config", "import", "ansible", "shop.ini", "-o", out_s],
    );
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("--force"), "{}", r.stderr);
    assert_eq!(fs::read_to_string(&out).unwrap(), "name = \"mine\"\n");

    let r = run(
        home.path(),
        &[
            "config", "import", "ansible", "shop.ini", "-o", out_s, "--force",
        ],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        fs::read_to_string(&out)
            .unwrap()
            .contains("name = \"shop\"")
    );
}

#[test]
fn inventory_flag_makes_the_profile_with_roles_address_port_and_user() {
    let home = tempfile::tempdir().unwrap();
    let (json, hosts) = shown_hosts(home.path(), &["--inventory", "shop.ini"]);
    assert_eq!(json["name"], "shop");
    assert_eq!(json["environment"], "development");
    assert_eq!(hosts.len(), 15);

    // Ungrouped, before any section: no roles; user from [all:vars].
    let monitor = host(&hosts, "monitor.shop.example");
    assert_eq!(monitor["address"], "192.0.2.5");
    assert_eq!(monitor["user"], "admin");
    assert!(roles(monitor).is_empty());

    // Host vars win over every group's.
    let bastion = host(&hosts, "bastion.shop.example");
    assert_eq!(bastion["port"], 2222);
    assert_eq!(bastion["user"], "ops");
    assert_eq!(roles(bastion), ["bastions"]);
    assert_eq!(bastion["identity_files"], Value::Null);

    // Through [frontend:children] and [eu:children]: all ancestors are roles, and
    // [eu:vars] (the nearest group that sets it) wins over [all:vars].
    for name in [
        "web01.shop.example",
        "web02.shop.example",
        "web03.shop.example",
    ] {
        let web = host(&hosts, name);
        assert_eq!(roles(web), ["eu", "frontend", "web"]);
        assert_eq!(web["user"], "deploy");
        assert_eq!(web["identity_files"][0], "~/.ssh/shop_ed25519");
        assert_eq!(web["address"], Value::Null);
        assert_eq!(web["port"], Value::Null);
    }
    for name in [
        "app-a.shop.example",
        "app-b.shop.example",
        "app-c.shop.example",
    ] {
        assert_eq!(roles(host(&hosts, name)), ["eu", "frontend", "app"]);
    }

    // [db:vars] is deeper than [eu:vars]: the child group wins.
    let db1 = host(&hosts, "db1.shop.example");
    assert_eq!(db1["address"], "10.0.2.11");
    assert_eq!(db1["user"], "postgres");
    assert_eq!(roles(db1), ["eu", "backend", "db"]);

    let local = host(&hosts, "localhost");
    assert_eq!(local["transport"], "local");
    assert_eq!(local["user"], Value::Null);
}

#[test]
fn the_yaml_inventory_of_the_same_fleet_gives_the_same_profile() {
    let home = tempfile::tempdir().unwrap();
    let (ini, _) = shown_hosts(home.path(), &["--inventory", "shop.ini"]);
    let (yaml, _) = shown_hosts(home.path(), &["--inventory", "shop.yml"]);
    assert_eq!(ini, yaml);
}

#[test]
fn group_vars_and_host_vars_beside_the_inventory_apply_with_ansible_precedence() {
    let home = tempfile::tempdir().unwrap();
    // No extension and YAML inside: read as YAML. Top-level groups, `ungrouped`.
    let (json, hosts) = shown_hosts(home.path(), &["--inventory", "staging/hosts"]);
    assert_eq!(json["name"], "hosts");
    assert_eq!(hosts.len(), 5);
    let mail = host(&hosts, "mail.staging.example");
    assert!(roles(mail).is_empty());
    assert_eq!(mail["user"], "staging");
    assert_eq!(mail["identity_files"][0], "~/.ssh/staging");
    // group_vars/webservers/ is a directory: all its files apply.
    for name in ["www1.staging.example", "www2.staging.example"] {
        let www = host(&hosts, name);
        assert_eq!(www["user"], "www-deploy");
        assert_eq!(www["jump"], "ops@bastion.staging.example");
        assert_eq!(roles(www), ["webservers"]);
    }
    // host_vars/ wins over everything.
    let pg1 = host(&hosts, "pg1.staging.example");
    assert_eq!(pg1["port"], 5522);
    assert_eq!(pg1["user"], "dba");
    assert_eq!(pg1["address"], "10.1.0.21");
    // group_vars/all.yml ranks above the inventory file's own group vars.
    assert_eq!(host(&hosts, "pg2.staging.example")["user"], "staging");

    let r = run(
        home.path(),
        &["config", "import", "ansible", "staging/hosts"],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stderr.contains(
            "staging/group_vars/dbservers.yml:1: warning: not imported: secret `ansible_become_password`"
        ),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.contains(
            "staging/group_vars/webserver.yml: warning: not read: the inventory has no group `webserver`"
        ),
        "{}",
        r.stderr
    );
}

#[test]
fn inventory_hosts_join_the_profile_and_a_host_in_both_is_an_error() {
    let home = tempfile::tempdir().unwrap();
    let profile = home.path().join("prod.toml");
    fs::write(
        &profile,
        "name = \"prod\"\nenvironment = \"production\"\n\n[[hosts]]\nname = \"lb1\"\naddress = \"10.0.0.2\"\n",
    )
    .unwrap();
    let p = profile.to_str().unwrap();
    let (json, hosts) = shown_hosts(home.path(), &["--profile", p, "--inventory", "shop.ini"]);
    assert_eq!(json["name"], "prod");
    assert_eq!(json["environment"], "production");
    assert_eq!(hosts.len(), 16);
    assert_eq!(host(&hosts, "lb1")["address"], "10.0.0.2");
    assert_eq!(host(&hosts, "db1.shop.example")["user"], "postgres");

    fs::write(
        &profile,
        "name = \"prod\"\n\n[[hosts]]\nname = \"lb1\"\n\n[[hosts]]\nname = \"db1.shop.example\"\n",
    )
    .unwrap();
    let r = run(
        home.path(),
        &["--profile", p, "--inventory", "shop.ini", "config", "check"],
    );
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains("shop.ini:16: host `db1.shop.example`"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains(&format!("{p}:7")), "{}", r.stderr);
}

#[test]
fn jinja_in_a_host_address_is_an_error_at_its_line() {
    let home = tempfile::tempdir().unwrap();
    let r = run(
        home.path(),
        &["config", "import", "ansible", "errors/templated.ini"],
    );
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stdout.is_empty());
    assert!(
        r.stderr.contains("errors/templated.ini:2:19: `ansible_host` of host `web1.shop.example` is a Jinja template"),
        "{}",
        r.stderr
    );
}

#[test]
fn dynamic_inventories_are_refused_with_a_way_out() {
    let home = tempfile::tempdir().unwrap();
    let r = run(
        home.path(),
        &["config", "import", "ansible", "errors/aws_ec2.yml"],
    );
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("errors/aws_ec2.yml:2:1: this is the configuration of the inventory plugin `amazon.aws.aws_ec2`"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("ansible-inventory"), "{}", r.stderr);

    let script = home.path().join("ec2.py");
    fs::write(&script, "#!/usr/bin/env python3\nprint('{}')\n").unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(&script, fs::Permissions::from_mode(0o755)).unwrap();
    }
    let r = run(
        home.path(),
        &["--inventory", script.to_str().unwrap(), "config", "check"],
    );
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("ec2.py:1:1: this is a dynamic inventory script"),
        "{}",
        r.stderr
    );

    let r = run(home.path(), &["config", "import", "ansible", "staging"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("is a directory"), "{}", r.stderr);
}

#[test]
fn an_ini_inventory_without_extension_is_read_as_ini() {
    let home = tempfile::tempdir().unwrap();
    let inv = home.path().join("hosts");
    fs::write(
        &inv,
        "[web]\nweb1 ansible_host=10.0.0.1\n\n[web:vars]\nansible_port=2201\n",
    )
    .unwrap();
    let (_, hosts) = shown_hosts(home.path(), &["--inventory", inv.to_str().unwrap()]);
    let web1 = host(&hosts, "web1");
    assert_eq!(web1["address"], "10.0.0.1");
    assert_eq!(web1["port"], 2201);
    assert_eq!(roles(web1), ["web"]);
}
