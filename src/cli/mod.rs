//! Faces of the engine on the command line: one module per subcommand, each with
//! its clap arguments and a `run` that returns the process exit code.

pub mod audit;
pub mod config;
pub mod console;
pub mod deploy;
pub mod digest;
pub mod health;
pub mod queries;
pub mod scale;
pub mod since;
pub mod table;
pub mod warm;

/// Writes text that goes to the user, secrets scrubbed (see `config::secrets`).
pub fn emit(out: &mut impl std::io::Write, text: &str) -> std::io::Result<()> {
    out.write_all(crate::config::secrets::scrub(text).as_bytes())
}

/// `--dry-run`: the plan (as JSON with `--json`), and nothing more.
pub fn print_dry_run(plan: &crate::ops::Plan, json: bool) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    if json {
        emit(
            &mut out,
            &format!("{}\n", serde_json::to_string_pretty(plan)?),
        )?;
    } else {
        emit(
            &mut out,
            &format!("{}(dry run: nothing was changed)\n", plan.render()),
        )?;
    }
    Ok(())
}

/// Exit codes shared by every subcommand.
pub mod exit {
    /// Everything is fine.
    pub const OK: i32 = 0;
    /// The command worked and found a problem (a host down, a check failing).
    pub const PROBLEM: i32 = 1;
    /// Bad usage or a bad profile.
    pub const USAGE: i32 = 2;
}
