//! Keys to actions: default bindings per view, remapped per action from
//! config.toml's `[keys]` table. Two actions on one key in one view is an error
//! reported with the config file's line, never resolved silently.

use std::fmt;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::action::{Action, Context, GLOBAL_KEYS, TAB_KEYS};
use super::registry;

/// A key with the modifiers that matter (ctrl, alt). Shift is folded into the
/// character itself (`G`, `?`), so terminals that do or do not report it agree.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct KeyChord {
    pub code: KeyCodeKey,
    pub ctrl: bool,
    pub alt: bool,
}

/// The subset of crossterm's KeyCode that can be bound (Ord for stable listings).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum KeyCodeKey {
    Char(char),
    Enter,
    Esc,
    Tab,
    BackTab,
    Backspace,
    Up,
    Down,
    Left,
    Right,
    Home,
    End,
    PageUp,
    PageDown,
    Delete,
    F(u8),
}

impl KeyChord {
    pub const fn plain(code: KeyCodeKey) -> Self {
        KeyChord {
            code,
            ctrl: false,
            alt: false,
        }
    }

    pub const fn ch(c: char) -> Self {
        KeyChord::plain(KeyCodeKey::Char(c))
    }

    pub const fn ctrl(c: char) -> Self {
        KeyChord {
            code: KeyCodeKey::Char(c),
            ctrl: true,
            alt: false,
        }
    }

    pub fn from_event(ev: &KeyEvent) -> Option<KeyChord> {
        let code = match ev.code {
            KeyCode::Char(c) => KeyCodeKey::Char(if ev.modifiers.contains(KeyModifiers::CONTROL) {
                c.to_ascii_lowercase()
            } else {
                c
            }),
            KeyCode::Enter => KeyCodeKey::Enter,
            KeyCode::Esc => KeyCodeKey::Esc,
            KeyCode::Tab if ev.modifiers.contains(KeyModifiers::SHIFT) => KeyCodeKey::BackTab,
            KeyCode::Tab => KeyCodeKey::Tab,
            KeyCode::BackTab => KeyCodeKey::BackTab,
            KeyCode::Backspace => KeyCodeKey::Backspace,
            KeyCode::Up => KeyCodeKey::Up,
            KeyCode::Down => KeyCodeKey::Down,
            KeyCode::Left => KeyCodeKey::Left,
            KeyCode::Right => KeyCodeKey::Right,
            KeyCode::Home => KeyCodeKey::Home,
            KeyCode::End => KeyCodeKey::End,
            KeyCode::PageUp => KeyCodeKey::PageUp,
            KeyCode::PageDown => KeyCodeKey::PageDown,
            KeyCode::Delete => KeyCodeKey::Delete,
            KeyCode::F(n) => KeyCodeKey::F(n),
            _ => return None,
        };
        Some(KeyChord {
            code,
            ctrl: ev.modifiers.contains(KeyModifiers::CONTROL),
            alt: ev.modifiers.contains(KeyModifiers::ALT),
        })
    }

    /// Parses `q`, `G`, `?`, `ctrl-c`, `alt-x`, `enter`, `esc`, `pgup`, `shift-tab`, `f5`, `space`.
    pub fn parse(s: &str) -> Result<KeyChord, UnknownKey> {
        let mut ctrl = false;
        let mut alt = false;
        let mut rest = s;
        loop {
            let lower = rest.to_ascii_lowercase();
            if rest.chars().count() > 1 && lower.starts_with("ctrl-") {
                ctrl = true;
                rest = &rest[5..];
            } else if rest.chars().count() > 1 && lower.starts_with("alt-") {
                alt = true;
                rest = &rest[4..];
            } else {
                break;
            }
        }
        let mut chars = rest.chars();
        let code = match (chars.next(), chars.next()) {
            (Some(c), None) => KeyCodeKey::Char(if ctrl { c.to_ascii_lowercase() } else { c }),
            _ => match rest.to_ascii_lowercase().as_str() {
                "enter" | "return" => KeyCodeKey::Enter,
                "esc" | "escape" => KeyCodeKey::Esc,
                "tab" => KeyCodeKey::Tab,
                "shift-tab" | "backtab" => KeyCodeKey::BackTab,
                "backspace" => KeyCodeKey::Backspace,
                "up" => KeyCodeKey::Up,
                "down" => KeyCodeKey::Down,
                "left" => KeyCodeKey::Left,
                "right" => KeyCodeKey::Right,
                "home" => KeyCodeKey::Home,
                "end" => KeyCodeKey::End,
                "pgup" | "pageup" => KeyCodeKey::PageUp,
                "pgdn" | "pagedown" => KeyCodeKey::PageDown,
                "delete" | "del" => KeyCodeKey::Delete,
                "space" => KeyCodeKey::Char(' '),
                f if f.starts_with('f') && f.len() > 1 => match f[1..].parse::<u8>() {
                    Ok(n) if (1..=12).contains(&n) => KeyCodeKey::F(n),
                    _ => return Err(UnknownKey(s.to_string())),
                },
                _ => return Err(UnknownKey(s.to_string())),
            },
        };
        Ok(KeyChord { code, ctrl, alt })
    }
}

/// A key name `KeyChord::parse` does not know.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown key `{0}`")]
pub struct UnknownKey(pub String);

impl fmt::Display for KeyChord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.ctrl {
            f.write_str("ctrl-")?;
        }
        if self.alt {
            f.write_str("alt-")?;
        }
        match self.code {
            KeyCodeKey::Char(' ') => f.write_str("space"),
            KeyCodeKey::Char(c) => write!(f, "{c}"),
            KeyCodeKey::Enter => f.write_str("enter"),
            KeyCodeKey::Esc => f.write_str("esc"),
            KeyCodeKey::Tab => f.write_str("tab"),
            KeyCodeKey::BackTab => f.write_str("shift-tab"),
            KeyCodeKey::Backspace => f.write_str("backspace"),
            KeyCodeKey::Up => f.write_str("↑"),
            KeyCodeKey::Down => f.write_str("↓"),
            KeyCodeKey::Left => f.write_str("←"),
            KeyCodeKey::Right => f.write_str("→"),
            KeyCodeKey::Home => f.write_str("home"),
            KeyCodeKey::End => f.write_str("end"),
            KeyCodeKey::PageUp => f.write_str("pgup"),
            KeyCodeKey::PageDown => f.write_str("pgdn"),
            KeyCodeKey::Delete => f.write_str("del"),
            KeyCodeKey::F(n) => write!(f, "f{n}"),
        }
    }
}

/// Where a binding came from, for conflict reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    Default,
    Config { file: String, line: usize },
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::Default => f.write_str("default"),
            Origin::Config { file, line } => write!(f, "{file}:{line}"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Binding {
    pub key: KeyChord,
    pub action: Action,
    pub context: Context,
    pub origin: Origin,
    /// Where the action first appears in its view's declaration (help order).
    order: usize,
}

/// A user's remap of one action, as read from config.toml.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Remap {
    pub action: String,
    pub keys: Vec<String>,
    pub file: String,
    pub line: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Keymap {
    bindings: Vec<Binding>,
}

/// The default bindings: the frame's own, a number key per registered view, and
/// every view's declared keys.
fn defaults() -> Vec<Binding> {
    let mut out = Vec::new();
    let mut push = |context: Context, action: Action, keys: &[KeyChord], order: usize| {
        for &key in keys {
            out.push(Binding {
                key,
                action,
                context,
                origin: Origin::Default,
                order,
            });
        }
    };
    let mut order = 0;
    for spec in GLOBAL_KEYS {
        push(Context::GLOBAL, spec.action, spec.keys, order);
        order += 1;
    }
    for (i, key) in TAB_KEYS.iter().enumerate().take(registry::VIEWS.len()) {
        if let Some(action) = Action::tab(i + 1) {
            push(Context::GLOBAL, action, std::slice::from_ref(key), order);
            order += 1;
        }
    }
    for entry in registry::VIEWS {
        for (n, spec) in entry.spec.key_specs().enumerate() {
            push(entry.spec.context, spec.action, spec.keys, n);
        }
    }
    out
}

impl Default for Keymap {
    fn default() -> Self {
        Keymap {
            bindings: defaults(),
        }
    }
}

impl Keymap {
    /// Every action some view or the frame knows, in declaration order.
    pub fn known_actions(&self) -> Vec<Action> {
        let mut out: Vec<Action> = Vec::new();
        for b in defaults() {
            if !out.contains(&b.action) {
                out.push(b.action);
            }
        }
        out
    }

    /// Defaults with the user's remaps applied. A remap replaces every default key of
    /// its action (in each view the action exists in). Returns every problem at once.
    pub fn with_remaps(remaps: &[Remap]) -> Result<Keymap, Vec<String>> {
        let mut map = Keymap::default();
        let known = map.known_actions();
        let mut errors = Vec::new();
        for remap in remaps {
            let Some(action) = known.iter().copied().find(|a| a.name() == remap.action) else {
                let names: Vec<&str> = known.iter().map(|a| a.name()).collect();
                errors.push(format!(
                    "{}:{}: unknown action `{}` (known: {})",
                    remap.file,
                    remap.line,
                    remap.action,
                    names.join(", ")
                ));
                continue;
            };
            let mut keys = Vec::new();
            for k in &remap.keys {
                match KeyChord::parse(k) {
                    Ok(key) => keys.push(key),
                    Err(e) => errors.push(format!("{}:{}: {e}", remap.file, remap.line)),
                }
            }
            // (view, help position) of every view the action is bound in.
            let mut places: Vec<(Context, usize)> = map
                .bindings
                .iter()
                .filter(|b| b.action == action)
                .map(|b| (b.context, b.order))
                .collect();
            places.sort();
            places.dedup_by_key(|p| p.0);
            map.bindings.retain(|b| b.action != action);
            for (context, order) in places {
                for &key in &keys {
                    map.bindings.push(Binding {
                        key,
                        action,
                        context,
                        origin: Origin::Config {
                            file: remap.file.clone(),
                            line: remap.line,
                        },
                        order,
                    });
                }
            }
        }
        errors.extend(map.conflicts());
        if errors.is_empty() {
            Ok(map)
        } else {
            Err(errors)
        }
    }

    /// Keys bound to two different actions where both are live (same view, or a view
    /// and the global bindings it would shadow).
    pub fn conflicts(&self) -> Vec<String> {
        let mut out = Vec::new();
        for (i, a) in self.bindings.iter().enumerate() {
            for b in &self.bindings[i + 1..] {
                let overlap = a.context == b.context
                    || a.context == Context::GLOBAL
                    || b.context == Context::GLOBAL;
                if a.key == b.key && a.action != b.action && overlap {
                    let (first, second) = match (&a.origin, &b.origin) {
                        (Origin::Default, Origin::Config { .. }) => (b, a),
                        _ => (a, b),
                    };
                    let view = if first.context == Context::GLOBAL {
                        second.context
                    } else {
                        first.context
                    };
                    let msg = format!(
                        "{}: key `{}` is bound to both `{}` ({}) and `{}` ({}) in the {} view; remap one of them",
                        first.origin,
                        a.key,
                        first.action.name(),
                        first.origin,
                        second.action.name(),
                        second.origin,
                        view.as_str()
                    );
                    if !out.contains(&msg) {
                        out.push(msg);
                    }
                }
            }
        }
        out
    }

    /// The action for a key in a view: the view's own bindings first, then global.
    pub fn action(&self, context: Context, key: KeyChord) -> Option<Action> {
        let find = |ctx: Context| {
            self.bindings
                .iter()
                .find(|b| b.context == ctx && b.key == key)
                .map(|b| b.action)
        };
        find(context).or_else(|| find(Context::GLOBAL))
    }

    /// Every binding live in a view, grouped by action in declaration order: view
    /// bindings first, then global ones.
    pub fn bindings_for(&self, context: Context) -> Vec<(Action, Vec<KeyChord>)> {
        let mut grouped: Vec<((u8, usize), Action, Vec<KeyChord>)> = Vec::new();
        for b in &self.bindings {
            let rank = if b.context == context {
                0
            } else if b.context == Context::GLOBAL {
                1
            } else {
                continue;
            };
            match grouped
                .iter_mut()
                .find(|(r, a, _)| r.0 == rank && *a == b.action)
            {
                Some((_, _, keys)) => keys.push(b.key),
                None => grouped.push(((rank, b.order), b.action, vec![b.key])),
            }
        }
        grouped.sort_by_key(|(place, _, _)| *place);
        grouped.into_iter().map(|(_, a, keys)| (a, keys)).collect()
    }

    /// The first key of an action in a view, for hints.
    pub fn key_for(&self, context: Context, action: Action) -> Option<KeyChord> {
        self.bindings
            .iter()
            .find(|b| b.action == action && b.context == context)
            .or_else(|| {
                self.bindings
                    .iter()
                    .find(|b| b.action == action && b.context == Context::GLOBAL)
            })
            .map(|b| b.key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FLEET: Context = Context::new("fleet");
    const HOST: Context = Context::new("host");

    fn remap(action: &str, keys: &[&str], line: usize) -> Remap {
        Remap {
            action: action.into(),
            keys: keys.iter().map(|s| s.to_string()).collect(),
            file: "config.toml".into(),
            line,
        }
    }

    #[test]
    fn defaults_have_no_conflicts() {
        assert_eq!(Keymap::default().conflicts(), Vec::<String>::new());
    }

    #[test]
    fn view_bindings_shadow_nothing_by_default_and_fall_back_to_global() {
        let km = Keymap::default();
        assert_eq!(km.action(FLEET, KeyChord::ch('j')), Some(Action::DOWN));
        assert_eq!(km.action(FLEET, KeyChord::ch('q')), Some(Action::QUIT));
        assert_eq!(km.action(HOST, KeyChord::ch('s')), None);
        assert_eq!(
            km.action(HOST, KeyChord::ch('p')).map(Action::name),
            Some("log_follow")
        );
    }

    #[test]
    fn parse_and_display_round_trip() {
        for s in [
            "q",
            "G",
            "?",
            "ctrl-c",
            "alt-x",
            "enter",
            "esc",
            "pgup",
            "shift-tab",
            "f5",
            "space",
        ] {
            let k = KeyChord::parse(s).unwrap();
            assert_eq!(KeyChord::parse(&k.to_string()).unwrap(), k, "{s}");
        }
        assert!(KeyChord::parse("hyper-q").is_err());
        assert!(KeyChord::parse("f13").is_err());
    }

    #[test]
    fn shift_is_folded_into_the_character() {
        let ev = KeyEvent::new(KeyCode::Char('G'), KeyModifiers::SHIFT);
        assert_eq!(KeyChord::from_event(&ev), Some(KeyChord::ch('G')));
        let ev = KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL);
        assert_eq!(KeyChord::from_event(&ev), Some(KeyChord::ctrl('c')));
    }

    #[test]
    fn remap_replaces_the_action_keys_everywhere() {
        let km = Keymap::with_remaps(&[remap("down", &["n"], 3)]).unwrap();
        assert_eq!(km.action(FLEET, KeyChord::ch('n')), Some(Action::DOWN));
        assert_eq!(km.action(HOST, KeyChord::ch('n')), Some(Action::DOWN));
        assert_eq!(km.action(FLEET, KeyChord::ch('j')), None);
        // The remapped action keeps its place in help.
        let help: Vec<&str> = km
            .bindings_for(FLEET)
            .iter()
            .map(|(a, _)| a.name())
            .collect();
        let default: Vec<&str> = Keymap::default()
            .bindings_for(FLEET)
            .iter()
            .map(|(a, _)| a.name())
            .collect();
        assert_eq!(help, default);
    }

    #[test]
    fn conflicts_are_reported_with_file_and_line() {
        let err = Keymap::with_remaps(&[remap("sort", &["j"], 7)]).unwrap_err();
        // One error per view binding both.
        assert!(!err.is_empty(), "{err:?}");
        for e in &err {
            assert!(e.starts_with("config.toml:7:"), "{e}");
            assert!(e.contains("`sort`") && e.contains("`down`"), "{e}");
        }
        assert!(err.iter().any(|e| e.contains("fleet view")), "{err:?}");
    }

    #[test]
    fn a_view_key_shadowing_a_global_key_is_a_conflict() {
        let err = Keymap::with_remaps(&[remap("log_follow", &["q"], 2)]).unwrap_err();
        assert!(
            err[0].contains("`quit`") && err[0].contains("host view"),
            "{err:?}"
        );
    }

    #[test]
    fn unknown_actions_and_keys_are_errors() {
        let err =
            Keymap::with_remaps(&[remap("explode", &["x"], 4), remap("quit", &["hyper-q"], 5)])
                .unwrap_err();
        assert!(err[0].starts_with("config.toml:4: unknown action `explode`"));
        assert!(err[1].starts_with("config.toml:5: unknown key"));
    }
}
