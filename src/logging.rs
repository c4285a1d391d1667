//! Logging with tracing: to stderr for subcommands, to a file while the console
//! runs (the screen belongs to the TUI). `OPSCTL_LOG` sets the filter
//! (e.g. `opsctl=debug`); the default is `warn`.

use std::io::IsTerminal;
use std::path::PathBuf;

use tracing_subscriber::EnvFilter;

use crate::config::secrets::ScrubWriter;

/// The log file behind its lock, for one event at a time.
struct LockedFile(std::sync::Arc<std::sync::Mutex<std::fs::File>>);

impl std::io::Write for LockedFile {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let mut f = self.0.lock().unwrap_or_else(|p| p.into_inner());
        f.write(buf)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        let mut f = self.0.lock().unwrap_or_else(|p| p.into_inner());
        f.flush()
    }
}

/// `$XDG_STATE_HOME/opsctl/opsctl.log`, else `~/.local/state/opsctl/opsctl.log`.
pub fn log_file_path() -> PathBuf {
    let base = match std::env::var_os("XDG_STATE_HOME") {
        Some(x) if !x.is_empty() => PathBuf::from(x),
        _ => crate::config::load::home_dir()
            .map(|h| h.join(".local/state"))
            .unwrap_or_else(std::env::temp_dir),
    };
    base.join("opsctl").join("opsctl.log")
}

fn filter(default: &str) -> EnvFilter {
    EnvFilter::try_from_env("OPSCTL_LOG").unwrap_or_else(|_| EnvFilter::new(default))
}

/// Logs to stderr (subcommands). Colour only on a terminal, and never with
/// `NO_COLOR`: a log piped into a file or a CI log must not carry escape codes.
pub fn init_stderr() {
    let colour = std::io::stderr().is_terminal()
        && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter("warn"))
        .with_writer(|| ScrubWriter(std::io::stderr()))
        .with_ansi(colour)
        .with_target(false)
        .try_init();
}

/// Logs to the log file (console). Falls back to no logging if the file cannot be
/// opened: the console must still start.
pub fn init_file() -> Option<PathBuf> {
    let path = log_file_path();
    if let Some(dir) = path.parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .ok()?;
    let file = std::sync::Arc::new(std::sync::Mutex::new(file));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter("info"))
        .with_writer(move || ScrubWriter(LockedFile(file.clone())))
        .with_ansi(false)
        .try_init();
    Some(path)
}
