//! `opsctl config check|show|paths|import`: validate a profile, print it resolved,
//! say where opsctl looks for things, and make a profile from an Ansible inventory.

use std::io::Write;
use std::path::{Path, PathBuf};

use clap::Subcommand;

use super::exit;
use super::table::plural;
use crate::config::inventory::{self, Warning};
use crate::config::load;
use crate::config::{Profile, secrets};

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
    /// Make a profile from another tool's host list.
    #[command(subcommand)]
    Import(ImportCommand),
}

#[derive(Debug, Subcommand)]
pub enum ImportCommand {
    /// An Ansible inventory (INI or YAML, with its group_vars/ and host_vars/):
    /// hosts, their groups as roles, address, port, user and key.
    Ansible {
        /// The inventory file.
        inventory: PathBuf,
        /// Write the profile here instead of to standard output.
        #[arg(short, long, value_name = "FILE")]
        output: Option<PathBuf>,
        /// Overwrite the output file if it exists.
        #[arg(long, requires = "output")]
        force: bool,
    },
}

/// Loads `--profile` and/or `--inventory`, printing the inventory's warnings, and a
/// failure as an error (the exit code to return then).
pub fn load_profile(
    spec: Option<&str>,
    inventory: Option<&Path>,
) -> Result<load::LoadedProfile, i32> {
    match load::load_with_inventory(spec, inventory) {
        Ok((loaded, warnings)) => {
            print_warnings(&warnings);
            Ok(loaded)
        }
        Err(e) => {
            print_warnings(e.warnings());
            eprintln!("error: {}", secrets::scrub(&e.to_string()));
            Err(exit::USAGE)
        }
    }
}

fn print_warnings(warnings: &[Warning]) {
    for w in warnings {
        eprintln!("{}", secrets::scrub(&w.to_string()));
    }
}

pub fn run(
    cmd: &ConfigCommand,
    profile_spec: Option<&str>,
    inventory: Option<&Path>,
) -> anyhow::Result<i32> {
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    match cmd {
        ConfigCommand::Check { name_or_path } => {
            let spec = name_or_path.as_deref().or(profile_spec);
            match load_profile(spec, inventory) {
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
                Err(code) => Ok(code),
            }
        }
        ConfigCommand::Show { json } => {
            let loaded = match load_profile(profile_spec, inventory) {
                Ok(l) => l,
                Err(code) => return Ok(code),
            };
            let shown = secrets::redact_profile(&loaded.profile);
            let text = if *json {
                format!("{}\n", serde_json::to_string_pretty(&shown)?)
            } else {
                format!("# profile from {}\n{}", loaded.source, to_toml(&shown)?)
            };
            super::emit(&mut out, &text)?;
            Ok(exit::OK)
        }
        ConfigCommand::Import(cmd) => import(cmd, &mut out),
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

fn import(cmd: &ImportCommand, out: &mut impl Write) -> anyhow::Result<i32> {
    let ImportCommand::Ansible {
        inventory,
        output,
        force,
    } = cmd;
    let imported = match inventory::import_file(inventory) {
        Ok(i) => i,
        Err(e) => {
            print_warnings(e.warnings());
            eprintln!("error: {}", secrets::scrub(&e.to_string()));
            return Ok(exit::USAGE);
        }
    };
    print_warnings(&imported.warnings);
    // What is written must load like any profile.
    if let Err(e) = imported.to_profile() {
        eprintln!("error: {e}");
        return Ok(exit::USAGE);
    }
    let text = imported.to_toml();
    let Some(path) = output else {
        super::emit(out, &text)?;
        return Ok(exit::OK);
    };
    let mut options = std::fs::OpenOptions::new();
    options.write(true);
    if *force {
        options.create(true).truncate(true);
    } else {
        options.create_new(true);
    }
    let mut file = match options.open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            eprintln!(
                "error: {} exists; pass --force to overwrite it",
                path.display()
            );
            return Ok(exit::USAGE);
        }
        Err(e) => {
            eprintln!("error: cannot write {}: {e}", path.display());
            return Ok(exit::USAGE);
        }
    };
    file.write_all(text.as_bytes())?;
    let n = imported.hosts.len();
    eprintln!(
        "wrote {}: profile `{}`, {n} host{} from {}",
        path.display(),
        imported.name,
        plural(n),
        imported.file
    );
    Ok(exit::OK)
}

fn to_toml(p: &Profile) -> anyhow::Result<String> {
    Ok(toml::to_string_pretty(p)?)
}

fn exists(p: &std::path::Path) -> &'static str {
    if p.exists() { "" } else { "  (not present)" }
}
