//! The layers of DESIGN.md hold one way: a module imports only from the layers
//! below it. Checked on the source text: every `crate::NAME` a file under
//! `src/MODULE/` mentions (comments excluded) must be an allowed dependency.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// What each top-level module may import from the crate.
fn allowed() -> BTreeMap<&'static str, &'static [&'static str]> {
    const FOUNDATION: &[&str] = &["logging"];
    BTreeMap::from([
        // Foundations: remote reaches a host given a target; config turns profiles
        // into targets (so config may use remote, never the other way round).
        ("remote", FOUNDATION),
        ("sql", FOUNDATION),
        ("config", &["remote", "logging"][..]),
        // Sources.
        ("health", &["remote", "config", "sql", "logging"][..]),
        ("logs", &["remote", "config", "logging"][..]),
        ("db", &["remote", "config", "sql", "logging"][..]),
        (
            "web",
            &["remote", "config", "sql", "db", "logs", "logging"][..],
        ),
        ("profiling", &["remote", "config", "logging"][..]),
        // Changes to production and the checklist.
        (
            "ops",
            &[
                "remote",
                "config",
                "sql",
                "health",
                "logs",
                "db",
                "web",
                "profiling",
                "logging",
            ][..],
        ),
        (
            "checklist",
            &[
                "remote", "config", "sql", "health", "logs", "db", "web", "ops", "logging",
            ][..],
        ),
        // Faces. The console never reaches a host itself: no `remote`.
        (
            "console",
            &[
                "config",
                "sql",
                "health",
                "logs",
                "db",
                "web",
                "profiling",
                "ops",
                "checklist",
                "logging",
            ][..],
        ),
    ])
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// The crate modules a source text names as `crate::NAME`, outside comments.
fn crate_refs(text: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let code = line.split("//").next().unwrap_or("");
        let mut rest = code;
        while let Some(i) = rest.find("crate::") {
            let after = &rest[i + "crate::".len()..];
            let name: String = after
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            // `crate::{a, b}` groups name several modules.
            if name.is_empty() && after.starts_with('{') {
                let group = after[1..].split('}').next().unwrap_or("");
                for part in group.split(',') {
                    let m: String = part
                        .trim()
                        .chars()
                        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                        .collect();
                    if !m.is_empty() {
                        out.push((n + 1, m));
                    }
                }
            } else if !name.is_empty() {
                out.push((n + 1, name));
            }
            rest = after;
        }
    }
    out
}

#[test]
fn modules_import_only_from_layers_below() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let rules = allowed();
    let mut problems = Vec::new();
    let mut checked = 0;
    for (module, allowed) in &rules {
        let mut files = Vec::new();
        rust_files(&src.join(module), &mut files);
        for f in files {
            let text = std::fs::read_to_string(&f).unwrap();
            checked += 1;
            for (line, name) in crate_refs(&text) {
                if name != *module && !allowed.contains(&name.as_str()) {
                    problems.push(format!(
                        "{}:{line}: `{module}` uses `crate::{name}`",
                        f.strip_prefix(&src).unwrap_or(&f).display()
                    ));
                }
            }
        }
    }
    assert!(
        checked > 50,
        "only {checked} files checked: wrong directory?"
    );
    assert!(
        problems.is_empty(),
        "layering broken:\n{}",
        problems.join("\n")
    );
}

#[test]
fn every_top_level_module_has_a_rule() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let rules = allowed();
    let mut missing = Vec::new();
    for e in std::fs::read_dir(&src).unwrap().flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if e.path().is_dir() && name != "cli" && !rules.contains_key(name.as_str()) {
            missing.push(name);
        }
    }
    assert!(
        missing.is_empty(),
        "add these to the layer rules: {missing:?}"
    );
}

#[test]
fn the_checker_sees_imports() {
    let refs = crate_refs(
        "use crate::remote::Remote;\n// crate::config in a comment\nuse crate::{health, sql::x};\n",
    );
    let names: Vec<&str> = refs.iter().map(|(_, n)| n.as_str()).collect();
    assert_eq!(names, ["remote", "health", "sql"]);
}
