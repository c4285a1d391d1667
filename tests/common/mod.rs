//! What the sandbox test files share: where the sandbox is, the values it
//! exported (env.json), and the audit records a run of opsctl wrote.
#![allow(dead_code)] // each test binary uses its own share of these

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::Value;

/// target/sandbox, which must be up (tests/run starts it).
pub fn sandbox() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/sandbox");
    assert!(
        dir.join("env.json").is_file() && dir.join("sandbox.toml").is_file(),
        "the sandbox is not up: run tests/sandbox/up (tests/run does)"
    );
    dir
}

/// One value the sandbox exported (`SANDBOX_LB1_URL`, ...).
pub fn var(k: &str) -> String {
    let text = std::fs::read_to_string(sandbox().join("env.json")).unwrap();
    let env: BTreeMap<String, String> = serde_json::from_str(&text).unwrap();
    env.get(k)
        .cloned()
        .unwrap_or_else(|| panic!("{k} is not in env.json: is the sandbox up?"))
}

/// The records of the audit log under an `XDG_STATE_HOME`.
pub fn audit(state_home: &Path) -> Vec<Value> {
    std::fs::read_to_string(state_home.join("opsctl/audit.jsonl"))
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}
