//! A systemd template's instances (`shop@8001.service` ...): counted from
//! `systemctl show`, started and stopped by name. The sandbox has no systemd, so
//! these are tested through what they build and parse (the README says so).

use std::time::Duration;

use crate::remote::Command;

/// `systemctl show` of the units' state, one block per unit.
pub fn show_command(units: &[String]) -> Command {
    Command::new("systemctl")
        .args(["show", "--property=Id,ActiveState,SubState", "--"])
        .args(units.iter().cloned())
        .timeout(Duration::from_secs(15))
}

pub fn start_command(units: &[String], timeout: Duration) -> Command {
    Command::new("systemctl")
        .args(["start", "--"])
        .args(units.iter().cloned())
        .timeout(timeout)
}

pub fn stop_command(units: &[String], timeout: Duration) -> Command {
    Command::new("systemctl")
        .args(["stop", "--"])
        .args(units.iter().cloned())
        .timeout(timeout)
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnitState {
    pub id: String,
    pub active_state: String,
    pub sub_state: String,
}

impl UnitState {
    /// Running or on its way: counts as an instance.
    pub fn is_up(&self) -> bool {
        matches!(
            self.active_state.as_str(),
            "active" | "activating" | "reloading"
        )
    }
}

/// `systemctl show`'s `Key=Value` blocks, separated by blank lines.
pub fn parse_show(text: &str) -> Vec<UnitState> {
    let mut out = Vec::new();
    for block in text.split("\n\n") {
        let mut u = UnitState {
            id: String::new(),
            active_state: String::new(),
            sub_state: String::new(),
        };
        for line in block.lines() {
            match line.split_once('=') {
                Some(("Id", v)) => u.id = v.to_string(),
                Some(("ActiveState", v)) => u.active_state = v.to_string(),
                Some(("SubState", v)) => u.sub_state = v.to_string(),
                _ => {}
            }
        }
        if !u.id.is_empty() {
            out.push(u);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn show_blocks_parse_into_unit_states() {
        let text = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/systemd/show-instances.txt"
        ))
        .unwrap();
        let units = parse_show(&text);
        let ids: Vec<&str> = units.iter().map(|u| u.id.as_str()).collect();
        assert_eq!(
            ids,
            [
                "shop@8001.service",
                "shop@8002.service",
                "shop@8003.service"
            ]
        );
        let up: Vec<bool> = units.iter().map(UnitState::is_up).collect();
        assert_eq!(up, [true, true, false]);
        assert_eq!(units[2].sub_state, "dead");
        assert!(parse_show("").is_empty());
    }

    #[test]
    fn commands_name_units_after_a_double_dash() {
        let units = vec!["shop@8003.service".to_string()];
        assert_eq!(
            start_command(&units, Duration::from_secs(5)).argv(),
            ["systemctl", "start", "--", "shop@8003.service"]
        );
        assert_eq!(
            stop_command(&units, Duration::from_secs(5)).argv(),
            ["systemctl", "stop", "--", "shop@8003.service"]
        );
        assert_eq!(
            show_command(&units).argv()[1..3],
            ["show", "--property=Id,ActiveState,SubState"]
        );
    }
}
