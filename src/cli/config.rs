//! `opsctl config check|show|paths`: validate a profile, print it resolved,
//! and say where opsctl looks for things.

use std::io::Write;

use clap::Subcommand;

use super::exit;
use super::table::plural;
use crate::config::load;
use crate::config::{Profile, redact};

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Validate a profile (default: --profile, $OPSCTL_PROFILE, else `local`).
    Check {
        /// Profile name or path (the same as --profile, which works here too).
        #[arg(value_name = "PROFILE")]
        name_or_path: Option<String>,
    },
    /// Print the resolved profile, defaults filled in, secrets redacted.
    Show {
        /// Print JSON instead of TOML.
        #[arg(long)]
        json: bool,
    },
    /// Print where opsctl looks for profiles, settings and themes, and where it logs.
    Paths,
}

pub fn run(cmd: &ConfigCommand, profile_spec: Option<&str>) -> anyhow::Result<i32> {
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    match cmd {
        ConfigCommand::Check { name_or_path } => {
            let spec = name_or_path.as_deref().or(profile_spec);
            match load::load(spec) {
                Ok(loaded) => {
                    let p = &loaded.profile;
                    writeln!(
                        out,
                        "ok: profile `{}` ({}, {}{}) from {}: {} host{}, {} HTTP check{}",
                        p.name,
                        p.environment.as_str(),
                        if p.read_only { "read-only, " } else { "" },
                        format_args!("health every {}s", p.health.interval_secs),
                        loaded.source,
                        p.hosts.len(),
                        plural(p.hosts.len()),
                        p.health.http.len(),
                        plural(p.health.http.len()),
                    )?;
                    Ok(exit::OK)
                }
                Err(e) => {
                    eprintln!("error: {e}");
                    Ok(exit::USAGE)
                }
            }
        }
        ConfigCommand::Show { json } => {
            let loaded = match load::load(profile_spec) {
                Ok(l) => l,
                Err(e) => {
                    eprintln!("error: {e}");
                    return Ok(exit::USAGE);
                }
            };
            let shown = redact::redact_profile(&loaded.profile);
            if *json {
                serde_json::to_writer_pretty(&mut out, &shown)?;
                writeln!(out)?;
            } else {
                writeln!(out, "# profile from {}", loaded.source)?;
                write!(out, "{}", to_toml(&shown)?)?;
            }
            Ok(exit::OK)
        }
        ConfigCommand::Paths => {
            writeln!(out, "profiles (NAME.toml, searched in order):")?;
            for dir in load::search_dirs() {
                writeln!(out, "  {}{}", dir.display(), exists(&dir))?;
            }
            writeln!(out, "  (embedded) local")?;
            if let Some(dir) = load::config_dir() {
                let settings = dir.join("config.toml");
                writeln!(out, "settings: {}{}", settings.display(), exists(&settings))?;
                let themes = dir.join("themes");
                writeln!(out, "themes:   {}{}", themes.display(), exists(&themes))?;
            }
            writeln!(
                out,
                "log file: {}",
                crate::logging::log_file_path().display()
            )?;
            Ok(exit::OK)
        }
    }
}

fn to_toml(p: &Profile) -> anyhow::Result<String> {
    Ok(toml::to_string_pretty(p)?)
}

fn exists(p: &std::path::Path) -> &'static str {
    if p.exists() { "" } else { "  (not present)" }
}
