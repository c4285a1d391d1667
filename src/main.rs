use std::process::ExitCode;

use clap::{Parser, Subcommand};
use opsctl::cli::{self, exit};
use opsctl::config::load;
use opsctl::logging;

#[derive(Debug, Parser)]
#[command(
    name = "opsctl",
    version,
    about = "Terminal ops console and profiler for production hosting",
    after_help = "With no subcommand, opens the console on the chosen profile."
)]
struct Cli {
    /// Profile name or path (default: $OPSCTL_PROFILE, else the embedded `local` profile).
    #[arg(long, global = true, env = "OPSCTL_PROFILE")]
    profile: Option<String>,
    #[command(subcommand)]
    command: Option<Commands>,
}

#[derive(Debug, Subcommand)]
enum Commands {
    /// Open the interactive console (the default).
    Console(cli::console::ConsoleArgs),
    /// Digest slow-query logs (MySQL/MariaDB, PostgreSQL) into query classes.
    Digest(cli::digest::DigestArgs),
    /// Validate profiles, print the resolved profile, show where opsctl looks.
    #[command(subcommand)]
    Config(cli::config::ConfigCommand),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let console = matches!(cli.command, None | Some(Commands::Console(_)));
    if console {
        logging::init_file();
    } else {
        logging::init_stderr();
    }
    let profile = cli.profile.as_deref();
    let result = match &cli.command {
        Some(Commands::Digest(args)) => cli::digest::run(args),
        Some(Commands::Config(cmd)) => cli::config::run(cmd, profile),
        Some(Commands::Console(args)) => run_console(profile, args),
        None => run_console(profile, &cli::console::ConsoleArgs::default()),
    };
    match result {
        Ok(code) => ExitCode::from(u8::try_from(code).unwrap_or(1)),
        Err(e) => {
            eprintln!("opsctl: {e:#}");
            ExitCode::from(exit::USAGE as u8)
        }
    }
}

/// Loads the profile, reporting a bad one as a usage error (exit 2).
fn load_profile(spec: Option<&str>) -> Result<load::LoadedProfile, i32> {
    load::load(spec).map_err(|e| {
        eprintln!("error: {e}");
        exit::USAGE
    })
}

fn run_console(profile: Option<&str>, args: &cli::console::ConsoleArgs) -> anyhow::Result<i32> {
    match load_profile(profile) {
        Ok(loaded) => cli::console::run(loaded.profile, args),
        Err(code) => Ok(code),
    }
}
