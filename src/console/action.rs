//! What a key or a palette command asks the console to do. Input never changes
//! state directly: the keymap turns keys into actions, and views apply them.
//!
//! The vocabulary is open: an action is a name. The global ones and the shared
//! navigation verbs live here; a view declares its own next to its code
//! (`const LOG_FOLLOW: Action = Action::new("log_follow")`), so adding a view
//! never touches this file.

use super::keymap::{KeyChord, KeyCodeKey};

/// Where a binding applies: a view's name ("fleet", "host"), or [`Context::GLOBAL`]
/// for bindings that work in every view unless the view binds the same key itself
/// (that is reported as a conflict).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Context(&'static str);

impl Context {
    pub const GLOBAL: Context = Context("global");

    pub const fn new(name: &'static str) -> Context {
        Context(name)
    }

    pub fn as_str(self) -> &'static str {
        self.0
    }
}

/// One thing a key can ask for, by the name used in config.toml's `[keys]` table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Action(&'static str);

impl Action {
    pub const fn new(name: &'static str) -> Action {
        Action(name)
    }

    pub fn name(self) -> &'static str {
        self.0
    }

    // Global: handled by the console frame, whatever view is shown.
    pub const QUIT: Action = Action("quit");
    pub const HELP: Action = Action("help");
    pub const PALETTE: Action = Action("palette");
    pub const FREEZE: Action = Action("freeze");
    pub const NEXT_TAB: Action = Action("next_tab");
    pub const PREV_TAB: Action = Action("prev_tab");
    pub const BACK: Action = Action("back");

    // Shared verbs: bound by the views that use them, with their own wording.
    pub const FILTER: Action = Action("filter");
    pub const UP: Action = Action("up");
    pub const DOWN: Action = Action("down");
    pub const TOP: Action = Action("top");
    pub const BOTTOM: Action = Action("bottom");
    pub const PAGE_UP: Action = Action("page_up");
    pub const PAGE_DOWN: Action = Action("page_down");
    pub const OPEN: Action = Action("open");
    pub const SORT_NEXT: Action = Action("sort");
    pub const SORT_REVERSE: Action = Action("sort_reverse");

    /// Number key N shows tab N (`tab_1` ... `tab_9`).
    pub fn tab(n: usize) -> Option<Action> {
        TAB_ACTIONS.get(n.checked_sub(1)?).copied()
    }

    /// Which tab a `tab_N` action shows (1-based).
    pub fn tab_number(self) -> Option<usize> {
        TAB_ACTIONS.iter().position(|&a| a == self).map(|i| i + 1)
    }
}

const TAB_ACTIONS: [Action; 9] = [
    Action("tab_1"),
    Action("tab_2"),
    Action("tab_3"),
    Action("tab_4"),
    Action("tab_5"),
    Action("tab_6"),
    Action("tab_7"),
    Action("tab_8"),
    Action("tab_9"),
];

/// A binding as a view (or the frame) declares it: the action, its default keys,
/// the line in `?` help and the word in the bottom bar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeySpec {
    pub action: Action,
    pub keys: &'static [KeyChord],
    pub describe: &'static str,
    pub label: &'static str,
}

impl KeySpec {
    pub const fn new(
        action: Action,
        keys: &'static [KeyChord],
        describe: &'static str,
        label: &'static str,
    ) -> KeySpec {
        KeySpec {
            action,
            keys,
            describe,
            label,
        }
    }
}

/// An entry of the bottom bar: one action, or two sharing a label (`j/k move`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hint {
    pub actions: &'static [Action],
    pub label: &'static str,
}

impl Hint {
    pub const fn new(actions: &'static [Action], label: &'static str) -> Hint {
        Hint { actions, label }
    }
}

const fn ch(c: char) -> KeyChord {
    KeyChord::ch(c)
}
const fn key(k: KeyCodeKey) -> KeyChord {
    KeyChord::plain(k)
}

/// The frame's own bindings. Tabs (`1`..`9`) are added per registered view.
pub const GLOBAL_KEYS: &[KeySpec] = &[
    KeySpec::new(
        Action::QUIT,
        &[ch('q'), KeyChord::ctrl('c')],
        "quit",
        "quit",
    ),
    KeySpec::new(Action::HELP, &[ch('?')], "this help", "help"),
    KeySpec::new(Action::PALETTE, &[ch(':')], "command palette", "cmd"),
    KeySpec::new(
        Action::FREEZE,
        &[ch('f')],
        "freeze/resume updates",
        "freeze",
    ),
    KeySpec::new(
        Action::BACK,
        &[key(KeyCodeKey::Esc), ch('h'), key(KeyCodeKey::Left)],
        "back",
        "back",
    ),
    KeySpec::new(Action::NEXT_TAB, &[key(KeyCodeKey::Tab)], "next tab", "tab"),
    KeySpec::new(
        Action::PREV_TAB,
        &[key(KeyCodeKey::BackTab)],
        "previous tab",
        "tab",
    ),
];

/// Hints every view's bottom bar ends with.
pub const GLOBAL_HINTS: &[Hint] = &[
    Hint::new(&[Action::FREEZE], "freeze"),
    Hint::new(&[Action::PALETTE], "cmd"),
    Hint::new(&[Action::HELP], "help"),
    Hint::new(&[Action::QUIT], "quit"),
];

/// Number keys for tabs.
pub const TAB_KEYS: [KeyChord; 9] = [
    ch('1'),
    ch('2'),
    ch('3'),
    ch('4'),
    ch('5'),
    ch('6'),
    ch('7'),
    ch('8'),
    ch('9'),
];

/// Movement through a list, with the wording of a table.
pub const fn table_nav() -> [KeySpec; 7] {
    nav_with(
        "move up",
        "move down",
        "first row",
        "last row",
        "filter (! negates)",
    )
}

const FILTER_KEYS: &[KeyChord] = &[ch('/')];
const UP_KEYS: &[KeyChord] = &[ch('k'), key(KeyCodeKey::Up)];
const DOWN_KEYS: &[KeyChord] = &[ch('j'), key(KeyCodeKey::Down)];
const TOP_KEYS: &[KeyChord] = &[ch('g'), key(KeyCodeKey::Home)];
const BOTTOM_KEYS: &[KeyChord] = &[ch('G'), key(KeyCodeKey::End)];
const PAGE_UP_KEYS: &[KeyChord] = &[key(KeyCodeKey::PageUp), KeyChord::ctrl('b')];
const PAGE_DOWN_KEYS: &[KeyChord] = &[key(KeyCodeKey::PageDown), KeyChord::ctrl('f')];

/// Movement keys with a view's own wording (a log scrolls, a table moves).
pub const fn nav_with(
    up: &'static str,
    down: &'static str,
    top: &'static str,
    bottom: &'static str,
    filter: &'static str,
) -> [KeySpec; 7] {
    [
        KeySpec::new(Action::FILTER, FILTER_KEYS, filter, "filter"),
        KeySpec::new(Action::UP, UP_KEYS, up, "up"),
        KeySpec::new(Action::DOWN, DOWN_KEYS, down, "down"),
        KeySpec::new(Action::TOP, TOP_KEYS, top, "top"),
        KeySpec::new(Action::BOTTOM, BOTTOM_KEYS, bottom, "end"),
        KeySpec::new(Action::PAGE_UP, PAGE_UP_KEYS, "page up", "pgup"),
        KeySpec::new(Action::PAGE_DOWN, PAGE_DOWN_KEYS, "page down", "pgdn"),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tab_actions_number_from_one() {
        assert_eq!(Action::tab(1).map(Action::name), Some("tab_1"));
        assert_eq!(Action::tab(0), None);
        assert_eq!(Action::tab(10), None);
        assert_eq!(Action::tab(3).and_then(Action::tab_number), Some(3));
        assert_eq!(Action::QUIT.tab_number(), None);
    }
}
