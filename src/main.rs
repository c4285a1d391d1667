use std::process::ExitCode;

use clap::{Parser, Subcommand};
use opsctl::cli::{self, exit};

#[derive(Debug, Parser)]
#[command(
    name = "opsctl",
    version,
    about = "Terminal ops console and profiler for production hosting"
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
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Some(Commands::Digest(args)) => cli::digest::run(&args),
        Some(Commands::Console(args)) => run_console(cli.profile.as_deref(), &args),
        None => run_console(
            cli.profile.as_deref(),
            &cli::console::ConsoleArgs::default(),
        ),
    };
    match result {
        Ok(code) => ExitCode::from(code.clamp(0, 255) as u8),
        Err(e) => {
            eprintln!("opsctl: {e:#}");
            ExitCode::from(exit::USAGE as u8)
        }
    }
}

fn run_console(_profile: Option<&str>, _args: &cli::console::ConsoleArgs) -> anyhow::Result<i32> {
    anyhow::bail!("profile loading is not built yet")
}
