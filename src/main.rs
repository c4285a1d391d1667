#![deny(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::ExitCode;

use clap::{CommandFactory, Parser, Subcommand};
use opsctl::cli::{self, exit};
use opsctl::config::load;
use opsctl::logging;

/// `0.1.0 (rev 1a2b3c4d5e6f)`: the release and the git revision it was built from.
const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (rev ",
    env!("OPSCTL_GIT_REVISION"),
    ")"
);

#[derive(Debug, Parser)]
#[command(
    name = "opsctl",
    version = VERSION,
    about = "Terminal ops console and profiler for production hosting",
    after_help = "With no subcommand, opens the console on the chosen profile."
)]
struct Cli {
    /// Profile name or path (default: $OPSCTL_PROFILE, else the embedded `local` profile).
    #[arg(long, global = true, env = "OPSCTL_PROFILE")]
    profile: Option<String>,
    /// Ansible inventory (INI or YAML): its hosts make the profile, or join --profile's.
    #[arg(long, global = true, value_name = "FILE")]
    inventory: Option<std::path::PathBuf>,
    #[command(subcommand)]
    command: Option<Commands>,
}

#[derive(Debug, Subcommand)]
enum Commands {
    /// Open the interactive console (the default).
    Console(cli::console::ConsoleArgs),
    /// Digest slow-query logs (MySQL/MariaDB, PostgreSQL) into query classes.
    Digest(cli::digest::DigestArgs),
    /// One health sweep of the fleet (or the named targets).
    Health(cli::health::HealthArgs),
    /// Live statements and sessions of a database; EXPLAIN; cancel and kill.
    Queries(cli::queries::QueriesArgs),
    /// Deploy a revision of the app: prepare on every host, switch behind health gates.
    Deploy(cli::deploy::DeployArgs),
    /// Put every host back on its previous (or a named) release.
    Rollback(cli::deploy::RollbackArgs),
    /// The app's releases on every host, the current one marked, drift flagged.
    Releases(cli::deploy::ReleasesArgs),
    /// Change capacity: gunicorn workers, systemd instances, nginx backends (drained first).
    Scale(cli::scale::ScaleArgs),
    /// Warm the caches: every URL of the sitemaps (or a list) through each cache node.
    Warm(cli::warm::WarmArgs),
    /// The deploy lock: who holds it; break it.
    #[command(subcommand)]
    Lock(cli::deploy::LockCommand),
    /// The changes recorded in this machine's audit log, oldest first.
    Audit(cli::audit::AuditArgs),
    /// Validate profiles, print the resolved profile, show where opsctl looks.
    #[command(subcommand)]
    Config(cli::config::ConfigCommand),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff): `opsctl man | man -l -`.
    Man,
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
    let inventory = cli.inventory.as_deref();
    let result = match &cli.command {
        Some(Commands::Digest(args)) => cli::digest::run(args, profile, inventory),
        // The log is this machine's, whatever the profile: none is loaded
        // (but for --hosts, which reads the profile's app hosts).
        Some(Commands::Audit(args)) => cli::audit::run(args, profile, inventory),
        Some(Commands::Config(cmd)) => cli::config::run(cmd, profile, inventory),
        Some(Commands::Health(args)) => with_profile(profile, inventory, |p| async move {
            cli::health::run(&p, args).await
        }),
        Some(Commands::Queries(args)) => with_profile(profile, inventory, |p| async move {
            cli::queries::run(&p, args).await
        }),
        Some(Commands::Deploy(args)) => with_profile(profile, inventory, |p| async move {
            cli::deploy::run_deploy(&p, args).await
        }),
        Some(Commands::Rollback(args)) => with_profile(profile, inventory, |p| async move {
            cli::deploy::run_rollback(&p, args).await
        }),
        Some(Commands::Releases(args)) => with_profile(profile, inventory, |p| async move {
            cli::deploy::run_releases(&p, args).await
        }),
        Some(Commands::Scale(args)) => with_profile(profile, inventory, |p| async move {
            cli::scale::run(&p, args).await
        }),
        Some(Commands::Warm(args)) => with_profile(profile, inventory, |p| async move {
            cli::warm::run(&p, args).await
        }),
        Some(Commands::Lock(cmd)) => with_profile(profile, inventory, |p| async move {
            cli::deploy::run_lock(&p, cmd).await
        }),
        Some(Commands::Console(args)) => run_console(profile, inventory, args),
        Some(Commands::Completions { shell }) => {
            let mut cmd = Cli::command();
            clap_complete::generate(*shell, &mut cmd, "opsctl", &mut std::io::stdout());
            Ok(exit::OK)
        }
        Some(Commands::Man) => clap_mangen::Man::new(Cli::command())
            .render(&mut std::io::stdout())
            .map(|()| exit::OK)
            .map_err(anyhow::Error::from),
        None => run_console(profile, inventory, &cli::console::ConsoleArgs::default()),
    };
    match result {
        Ok(code) => ExitCode::from(u8::try_from(code).unwrap_or(1)),
        Err(e) if is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            let text = format!("{e:#}");
            eprintln!("opsctl: {}", opsctl::config::secrets::scrub(&text));
            ExitCode::from(exit::USAGE as u8)
        }
    }
}

/// Loads the profile (and `--inventory`), reporting a bad one as a usage error (exit 2).
fn load_profile(spec: Option<&str>, inventory: Option<&Path>) -> Result<load::LoadedProfile, i32> {
    cli::config::load_profile(spec, inventory)
}

fn run_console(
    profile: Option<&str>,
    inventory: Option<&Path>,
    args: &cli::console::ConsoleArgs,
) -> anyhow::Result<i32> {
    match load_profile(profile, inventory) {
        Ok(loaded) => cli::console::run(loaded.profile, args),
        Err(code) => Ok(code),
    }
}

/// Loads the profile and runs an async subcommand on a fresh runtime.
fn with_profile<F, Fut>(
    profile: Option<&str>,
    inventory: Option<&Path>,
    run: F,
) -> anyhow::Result<i32>
where
    F: FnOnce(opsctl::config::Profile) -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<i32>>,
{
    let loaded = match load_profile(profile, inventory) {
        Ok(l) => l,
        Err(code) => return Ok(code),
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(run(loaded.profile))
}

/// Output piped into `head` and closed early is not an error worth a message.
fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}
