//! `opsctl console` before the screen is taken: settings and keymap problems are
//! reported with file:line and exit status 2; without a terminal it says so.

use assert_cmd::Command;
use predicates::prelude::*;

fn opsctl(config_home: &std::path::Path) -> Command {
    let mut cmd = Command::cargo_bin("opsctl").expect("binary");
    cmd.env("XDG_CONFIG_HOME", config_home)
        .env("XDG_STATE_HOME", config_home)
        .env_remove("OPSCTL_PROFILE")
        .env_remove("OPSCTL_CONFIG");
    cmd
}

#[test]
fn conflicting_bindings_are_reported_with_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("config.toml");
    std::fs::write(&cfg, "theme = \"dark\"\n\n[keys]\nsort = \"j\"\n").unwrap();
    opsctl(dir.path())
        .args(["console", "--config"])
        .arg(&cfg)
        .assert()
        .code(2)
        .stderr(predicate::str::contains(format!("{}:4:", cfg.display())))
        .stderr(predicate::str::contains("`sort`").and(predicate::str::contains("`down`")));
}

#[test]
fn the_default_config_file_is_read_from_the_config_dir() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("opsctl")).unwrap();
    let cfg = dir.path().join("opsctl/config.toml");
    std::fs::write(&cfg, "[keys]\nexplode = \"x\"\n").unwrap();
    opsctl(dir.path())
        .assert()
        .code(2)
        .stderr(predicate::str::contains(format!(
            "{}:2: unknown action `explode`",
            cfg.display()
        )));
}

#[test]
fn an_unknown_theme_lists_the_known_ones() {
    let dir = tempfile::tempdir().unwrap();
    opsctl(dir.path())
        .args(["console", "--theme", "neon"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("no theme `neon`"))
        .stderr(predicate::str::contains("high-contrast"));
}

#[test]
fn themes_in_the_config_dir_can_be_chosen() {
    let dir = tempfile::tempdir().unwrap();
    let themes = dir.path().join("opsctl/themes");
    std::fs::create_dir_all(&themes).unwrap();
    let light =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/themes/light.toml")).unwrap();
    std::fs::write(
        themes.join("paper.toml"),
        light.replace("name = \"light\"", "name = \"paper\""),
    )
    .unwrap();
    // Past settings and theme, the console needs a terminal; that error proves the
    // theme was accepted.
    opsctl(dir.path())
        .args(["console", "--theme", "paper"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("needs a terminal"));
}
