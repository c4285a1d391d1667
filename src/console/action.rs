//! What a key or a palette command asks the console to do. Input never changes
//! state directly: the keymap turns keys into these, and `App::update` applies them.

/// Where a binding applies. `Global` bindings work in every view unless the view
/// binds the same key itself (that is reported as a conflict).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Context {
    Global,
    Fleet,
    Host,
}

impl Context {
    pub fn as_str(self) -> &'static str {
        match self {
            Context::Global => "global",
            Context::Fleet => "fleet",
            Context::Host => "host",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Action {
    Quit,
    Help,
    Palette,
    Filter,
    Freeze,
    Up,
    Down,
    Top,
    Bottom,
    PageUp,
    PageDown,
    Open,
    Back,
    NextTab,
    PrevTab,
    /// Number keys: tab 1, 2, ...
    Tab1,
    Tab2,
    SortNext,
    SortReverse,
    GroupByRole,
    LogFollow,
}

impl Action {
    pub const ALL: &'static [Action] = &[
        Action::Quit,
        Action::Help,
        Action::Palette,
        Action::Filter,
        Action::Freeze,
        Action::Up,
        Action::Down,
        Action::Top,
        Action::Bottom,
        Action::PageUp,
        Action::PageDown,
        Action::Open,
        Action::Back,
        Action::NextTab,
        Action::PrevTab,
        Action::Tab1,
        Action::Tab2,
        Action::SortNext,
        Action::SortReverse,
        Action::GroupByRole,
        Action::LogFollow,
    ];

    /// The name used in config.toml's `[keys]` table.
    pub fn name(self) -> &'static str {
        match self {
            Action::Quit => "quit",
            Action::Help => "help",
            Action::Palette => "palette",
            Action::Filter => "filter",
            Action::Freeze => "freeze",
            Action::Up => "up",
            Action::Down => "down",
            Action::Top => "top",
            Action::Bottom => "bottom",
            Action::PageUp => "page_up",
            Action::PageDown => "page_down",
            Action::Open => "open",
            Action::Back => "back",
            Action::NextTab => "next_tab",
            Action::PrevTab => "prev_tab",
            Action::Tab1 => "tab_1",
            Action::Tab2 => "tab_2",
            Action::SortNext => "sort",
            Action::SortReverse => "sort_reverse",
            Action::GroupByRole => "group_by_role",
            Action::LogFollow => "log_follow",
        }
    }

    pub fn from_name(name: &str) -> Option<Action> {
        Action::ALL.iter().copied().find(|a| a.name() == name)
    }

    /// One line for the help overlay.
    pub fn describe(self, ctx: Context) -> &'static str {
        match (self, ctx) {
            (Action::Quit, _) => "quit",
            (Action::Help, _) => "this help",
            (Action::Palette, _) => "command palette",
            (Action::Filter, Context::Host) => "search log (! negates)",
            (Action::Filter, _) => "filter (! negates)",
            (Action::Freeze, _) => "freeze/resume updates",
            (Action::Up, Context::Host) => "scroll log up",
            (Action::Down, Context::Host) => "scroll log down",
            (Action::Up, _) => "move up",
            (Action::Down, _) => "move down",
            (Action::Top, Context::Host) => "oldest log line",
            (Action::Bottom, Context::Host) => "newest line, follow",
            (Action::Top, _) => "first row",
            (Action::Bottom, _) => "last row",
            (Action::PageUp, _) => "page up",
            (Action::PageDown, _) => "page down",
            (Action::Open, _) => "open host",
            (Action::Back, _) => "back",
            (Action::NextTab, _) => "next tab",
            (Action::PrevTab, _) => "previous tab",
            (Action::Tab1, _) => "fleet tab",
            (Action::Tab2, _) => "host tab",
            (Action::SortNext, _) => "sort by next column",
            (Action::SortReverse, _) => "reverse sort",
            (Action::GroupByRole, _) => "group by role",
            (Action::LogFollow, _) => "follow/pause log",
        }
    }

    /// Short label for the bottom bar.
    pub fn label(self) -> &'static str {
        match self {
            Action::Quit => "quit",
            Action::Help => "help",
            Action::Palette => "cmd",
            Action::Filter => "filter",
            Action::Freeze => "freeze",
            Action::Up => "up",
            Action::Down => "down",
            Action::Top => "top",
            Action::Bottom => "end",
            Action::PageUp => "pgup",
            Action::PageDown => "pgdn",
            Action::Open => "open",
            Action::Back => "back",
            Action::NextTab => "tab",
            Action::PrevTab => "tab",
            Action::Tab1 => "fleet",
            Action::Tab2 => "host",
            Action::SortNext => "sort",
            Action::SortReverse => "reverse",
            Action::GroupByRole => "group",
            Action::LogFollow => "follow",
        }
    }
}
