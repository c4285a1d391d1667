//! Terminal hygiene: raw mode and the alternate screen on the way in, and the
//! terminal restored on every way out (normal exit, error, panic; SIGTERM and
//! SIGHUP end the event loop normally, so they take the normal way).

use std::io::{self, Stdout};
use std::sync::Once;

use crossterm::cursor::{Hide, Show};
use crossterm::event::{DisableMouseCapture, EnableMouseCapture};
use crossterm::execute;
use crossterm::terminal::{
    EnterAlternateScreen, LeaveAlternateScreen, disable_raw_mode, enable_raw_mode,
};
use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;

pub type Term = Terminal<CrosstermBackend<Stdout>>;

/// Restores the terminal when dropped.
pub struct TerminalGuard {
    _private: (),
}

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        restore();
    }
}

/// Leaves raw mode and the alternate screen, shows the cursor. Safe to call twice.
pub fn restore() {
    let _ = disable_raw_mode();
    let _ = execute!(
        io::stdout(),
        DisableMouseCapture,
        LeaveAlternateScreen,
        Show
    );
}

static PANIC_HOOK: Once = Once::new();

fn install_panic_hook() {
    PANIC_HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            // Restore first so the panic message lands on a usable terminal.
            restore();
            previous(info);
        }));
    });
}

/// Enters the console's terminal mode. The guard must live as long as the UI.
pub fn setup(mouse: bool) -> io::Result<(Term, TerminalGuard)> {
    install_panic_hook();
    enable_raw_mode()
        .map_err(|e| io::Error::new(e.kind(), format!("the console needs a terminal: {e}")))?;
    let guard = TerminalGuard { _private: () };
    let mut out = io::stdout();
    execute!(out, EnterAlternateScreen, Hide)?;
    if mouse {
        execute!(out, EnableMouseCapture)?;
    }
    let term = Terminal::new(CrosstermBackend::new(out))?;
    Ok((term, guard))
}
