//! `opsctl console` (and `opsctl` alone): the interactive console on a profile.

mod deploy_feed;
mod feeds;

use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::mpsc;

use super::exit;
use crate::config::Profile;
use crate::config::resolve;
use crate::config::ssh_lookup::SshConfigCache;
use crate::console::app::{App, NoticeLevel};
use crate::console::keymap::Keymap;
use crate::console::runtime::{self, Options};
use crate::console::settings::Settings;
use crate::console::terminal;
use crate::console::theme::{ColorMode, DEFAULT_THEME, ThemeSet};
use crate::health::poller::{HostPoller, ProbePoller, unix_now};
use crate::health::{HostProbe, ProbeTarget};
use crate::remote::Remote;

#[derive(Debug, Default, clap::Args)]
pub struct ConsoleArgs {
    /// Console settings (keys, theme, mouse). Default: ~/.config/opsctl/config.toml.
    #[arg(long, env = "OPSCTL_CONFIG", value_name = "PATH")]
    pub config: Option<PathBuf>,
    /// Theme: dark (default), light, high-contrast, or one from the config dir's themes/.
    #[arg(long)]
    pub theme: Option<String>,
    /// Seconds between health probes (default: the profile's health.interval_secs).
    #[arg(long, value_name = "SECS")]
    pub interval: Option<f64>,
    /// Draw one frame, restore the terminal and print the time it took (startup measurement).
    #[arg(long, hide = true)]
    pub exit_after_first_frame: bool,
}

pub fn run(profile: Profile, args: &ConsoleArgs) -> anyhow::Result<i32> {
    let started = Instant::now();
    let settings = match Settings::load(args.config.as_deref()) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return Ok(exit::USAGE);
        }
    };
    let keymap = match Keymap::with_remaps(&settings.keys) {
        Ok(k) => k,
        Err(problems) => {
            for p in problems {
                eprintln!("error: {p}");
            }
            return Ok(exit::USAGE);
        }
    };
    let interval = match args.interval {
        Some(i) if i.is_finite() && i > 0.0 => i,
        Some(_) => {
            eprintln!("error: --interval must be a positive number of seconds");
            return Ok(exit::USAGE);
        }
        None => profile.health.interval_secs.max(0.1),
    };
    let mut themes = ThemeSet::builtin();
    let theme_problems = settings
        .themes_dir
        .as_deref()
        .map(|d| themes.load_dir(d))
        .unwrap_or_default();
    let theme_name = args
        .theme
        .clone()
        .or_else(|| settings.theme.clone())
        .unwrap_or_else(|| DEFAULT_THEME.to_string());
    let color_mode = ColorMode::from_env();
    let theme = match themes.get(&theme_name, color_mode) {
        Some(Ok(t)) => t,
        Some(Err(e)) => {
            eprintln!("error: {e}");
            return Ok(exit::USAGE);
        }
        None => {
            let names: Vec<&str> = themes.names().collect();
            eprintln!(
                "error: no theme `{theme_name}` (have: {})",
                names.join(", ")
            );
            return Ok(exit::USAGE);
        }
    };

    if !std::io::stdout().is_terminal() {
        eprintln!(
            "error: the console needs a terminal (stdout is not one); for scripts use `opsctl health`"
        );
        return Ok(exit::USAGE);
    }
    let (width, height) = crossterm::terminal::size().unwrap_or((80, 24));
    let mut profile = profile;
    profile.health.interval_secs = interval;
    let mut app = App::new(&profile, unix_now(), width, height);
    app.themes = themes;
    app.color_mode = color_mode;
    app.theme = theme;
    app.keymap = keymap;
    app.mouse = settings.mouse;
    for p in theme_problems {
        app.notify(NoticeLevel::Alert, p);
    }

    let cache = SshConfigCache::for_profile(&profile);
    let lookup = |alias: &str, user: Option<&str>, port: Option<u16>| cache.get(alias, user, port);
    let resolved = match resolve::resolve_all(&profile, &lookup) {
        Ok(h) => h,
        Err(e) => {
            eprintln!("error: {e}");
            return Ok(exit::USAGE);
        }
    };
    let full_timeout = Duration::from_secs_f64(
        (profile.ssh.connect_timeout_secs + profile.ssh.command_timeout_secs).max(0.5),
    );
    // Remotes are built here but connect on first use, inside the collector tasks.
    let remotes: Vec<Arc<dyn Remote>> = resolved.iter().map(|h| h.remote()).collect();
    let mut processes = Vec::with_capacity(remotes.len());
    let pollers: Vec<Box<dyn HostPoller>> = resolved
        .iter()
        .zip(&remotes)
        .map(|(h, r)| {
            let target = ProbeTarget {
                name: h.name.clone(),
                address: h.address.clone(),
                roles: h.roles.clone(),
                services: h.services.clone(),
            };
            let probe = HostProbe::new(target, profile.health.thresholds.clone());
            let poller = ProbePoller::new(
                probe,
                r.clone(),
                full_timeout,
                Duration::from_secs_f64(interval),
            );
            processes.push(poller.processes.clone());
            Box::new(poller) as Box<dyn HostPoller>
        })
        .collect();
    let feeds = feeds::HostFeeds::new(
        pollers,
        processes,
        remotes,
        Duration::from_secs_f64(interval),
        profile.health.http.clone(),
        profile.health.thresholds.clone(),
        feeds::DbSettings {
            databases: profile.databases.clone(),
            host_names: profile.hosts.iter().map(|h| h.name.clone()).collect(),
            profile: profile.name.clone(),
            environment: profile.environment,
            read_only: profile.read_only,
        },
    );
    let changes = deploy_feed::Changes::default();
    let feeds = Box::new(
        feeds
            .with_app(deploy_feed::AppRoad::of(&profile), changes.clone())
            .with_profile(Arc::new(profile.clone())),
    );
    let opts = Options {
        exit_after_first_frame: args.exit_after_first_frame,
    };

    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let outcome = rt.block_on(async move {
        let (mut term, guard) = terminal::setup(settings.mouse)?;
        let (tx, rx) = mpsc::channel(runtime::CHANNEL_CAPACITY);
        if !opts.exit_after_first_frame {
            runtime::spawn_input_thread(tx.clone());
        }
        let out = runtime::run(app, &mut term, tx, rx, feeds, opts, started).await;
        drop(guard);
        // The screen is gone: a change the console interrupted is putting its
        // hosts back and releasing its lock. Wait for it, and say so.
        if changes.busy() {
            eprintln!("opsctl: a change is being interrupted: putting every host back and releasing the lock…");
            let left = changes.settle(deploy_feed::UNDO_WAIT).await;
            if left > 0 {
                eprintln!("opsctl: the change did not finish its clean-up in time; check `opsctl releases` and `opsctl lock status`");
            } else {
                eprintln!("opsctl: done; `opsctl audit` has the record");
            }
        }
        out
    })?;
    // Collector tasks may be blocked in IO; do not wait for them.
    rt.shutdown_background();
    if args.exit_after_first_frame {
        if let Some(d) = outcome.first_frame {
            eprintln!("first frame after {:.1} ms", d.as_secs_f64() * 1000.0);
        }
    }
    Ok(exit::OK)
}
