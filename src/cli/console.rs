//! `opsctl console` (and `opsctl` alone): the interactive console on a profile.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use tokio::sync::mpsc;

use super::exit;
use crate::config::{Profile, Transport};
use crate::console::app::{App, NoticeLevel};
use crate::console::collector::{HostPoller, poll_timeout, unix_now};
use crate::console::keymap::Keymap;
use crate::console::runtime::{self, Collectors, Options};
use crate::console::settings::Settings;
use crate::console::terminal;
use crate::console::theme::{ColorMode, DEFAULT_THEME, ThemeSet};
use crate::health::{HostHealth, Status};
use crate::remote::local::LocalRemote;
use crate::remote::{Command, Remote};

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

/// Until the health engine's probe is wired in, a host is polled for reachability only.
struct ReachabilityPoller {
    name: String,
    address: String,
    roles: Vec<String>,
    remote: Option<Arc<dyn Remote>>,
    full_timeout: Duration,
    interval: Duration,
    last_seen: Option<i64>,
    polled: bool,
}

#[async_trait]
impl HostPoller for ReachabilityPoller {
    async fn poll(&mut self) -> HostHealth {
        let mut h = HostHealth {
            name: self.name.clone(),
            address: self.address.clone(),
            roles: self.roles.clone(),
            ..HostHealth::default()
        };
        let Some(remote) = &self.remote else {
            h.status = Status::Unreachable;
            h.error = Some("SSH transport not available in this build".into());
            return h;
        };
        let timeout = poll_timeout(self.full_timeout, self.interval, !self.polled);
        self.polled = true;
        let cmd = Command::new("true").timeout(timeout);
        let started = Instant::now();
        match tokio::time::timeout(timeout, remote.run(&cmd)).await {
            Ok(Ok(_)) => {
                self.last_seen = Some(unix_now());
                h.probe_ms = Some(started.elapsed().as_secs_f64() * 1000.0);
            }
            Ok(Err(e)) => {
                h.status = Status::Unreachable;
                h.error = Some(format!("{}: {e}", e.kind()));
            }
            Err(_) => {
                h.status = Status::Unreachable;
                h.error = Some(format!("timeout after {}s", timeout.as_secs_f64()));
            }
        }
        h.last_seen = self.last_seen;
        h
    }
}

fn remote_for(profile: &Profile, i: usize) -> Option<Arc<dyn Remote>> {
    let h = &profile.hosts[i];
    match h.transport {
        Transport::Local => Some(Arc::new(LocalRemote::new(h.name.clone()))),
        Transport::Ssh => None,
    }
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

    let timeout = Duration::from_secs_f64(
        (profile.ssh.connect_timeout_secs + profile.ssh.command_timeout_secs).max(0.5),
    );
    let remotes: Vec<Option<Arc<dyn Remote>>> = (0..profile.hosts.len())
        .map(|i| remote_for(&profile, i))
        .collect();
    let pollers: Vec<Box<dyn HostPoller>> = profile
        .hosts
        .iter()
        .zip(&remotes)
        .map(|(h, r)| {
            Box::new(ReachabilityPoller {
                name: h.name.clone(),
                address: h.address.clone().unwrap_or_else(|| h.name.clone()),
                roles: h.roles.clone(),
                remote: r.clone(),
                full_timeout: timeout,
                interval: Duration::from_secs_f64(interval),
                last_seen: None,
                polled: false,
            }) as Box<dyn HostPoller>
        })
        .collect();
    let collectors = Collectors {
        pollers,
        remotes,
        interval: Duration::from_secs_f64(interval),
    };
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
        let out = runtime::run(app, &mut term, tx, rx, collectors, opts, started).await;
        drop(guard);
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
