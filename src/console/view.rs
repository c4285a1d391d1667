//! The contract every console view keeps (in the spirit of gitui's `Component`).
//!
//! A view owns its state; declares its name, its keys, its bottom-bar hints and
//! its palette commands in a static [`ViewSpec`] (help, the bottom bar, tabs and
//! `:NAME` are generated from it, never from a fallback); turns actions into state
//! changes and [`Request`]s; receives the data events it subscribed to; says what
//! must be collected for it ([`Need`]); and draws itself from its state and the
//! shared [`App`]. Adding a view is one file in `views/` and one line in
//! [`super::registry`].

use std::any::Any;

use ratatui::Frame;
use ratatui::layout::Rect;

use super::action::{Action, Context, Hint, KeySpec};
use super::app::{App, NoticeLevel};
use super::event::Event;
use super::feed::{Need, Task};
use super::widgets::confirm::ConfirmDialog;

/// What a palette command's argument completes over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArgKind {
    None,
    /// Free text (may be empty).
    Text,
    /// A host name of the profile.
    Host,
    /// A theme name.
    Theme,
    /// A database of the profile.
    Database,
    /// One of a fixed list of words.
    Choice(&'static [&'static str]),
}

/// A `:command` a view (or the frame) answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CommandSpec {
    pub name: &'static str,
    /// Placeholder shown in completion and help (`NAME`), empty without argument.
    pub arg_hint: &'static str,
    pub arg: ArgKind,
    pub describe: &'static str,
    /// Position in the help overlay's footer, if it is listed there.
    pub footer: Option<u8>,
}

impl CommandSpec {
    pub const fn new(name: &'static str, describe: &'static str) -> CommandSpec {
        CommandSpec {
            name,
            arg_hint: "",
            arg: ArgKind::None,
            describe,
            footer: None,
        }
    }

    pub const fn with_arg(mut self, hint: &'static str, arg: ArgKind) -> CommandSpec {
        self.arg_hint = hint;
        self.arg = arg;
        self
    }

    pub const fn in_footer(mut self, rank: u8) -> CommandSpec {
        self.footer = Some(rank);
        self
    }

    /// Whether the command cannot run without its argument.
    pub fn needs_arg(&self) -> bool {
        !matches!(self.arg, ArgKind::None | ArgKind::Text)
    }
}

/// Everything about a view that is known without an instance.
#[derive(Debug, Clone, Copy)]
pub struct ViewSpec {
    pub context: Context,
    /// The tab's name ("Fleet").
    pub title: &'static str,
    /// Default bindings in groups (shared navigation, the view's own), in the
    /// order help lists them.
    pub keys: &'static [&'static [KeySpec]],
    /// Bottom bar entries before the global ones.
    pub hints: &'static [Hint],
    pub commands: &'static [CommandSpec],
}

impl ViewSpec {
    pub fn key_specs(&self) -> impl Iterator<Item = &'static KeySpec> {
        self.keys.iter().flat_map(|group| group.iter())
    }

    /// The description of an action in this view (help).
    pub fn describe(&self, action: Action) -> Option<&'static str> {
        self.key_specs()
            .find(|k| k.action == action)
            .map(|k| k.describe)
    }
}

/// Something a view cannot do itself: it asks the frame through this queue.
#[derive(Debug, Clone, PartialEq)]
pub enum Request {
    Notify(NoticeLevel, String),
    /// Show another view, handing it a subject (the host to open, ...).
    Open {
        view: Context,
        subject: Subject,
    },
    /// Ask for confirmation of a change; the answer comes back through
    /// [`View::confirmed`] with the dialog's tag.
    Confirm(ConfirmDialog),
    /// Run a one-off task (an EXPLAIN, a change) in the background.
    Task(Task),
    /// Leave the console.
    Quit,
}

/// What a view is asked to show when it is opened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Subject {
    /// Whatever it showed last.
    Current,
    /// A host, by its index in the profile.
    Host(usize),
    /// A change to plan on a host (`+`, `-`, `w` in the fleet and host views):
    /// the Scale tab plans it and shows it through.
    HostChange { host: usize, change: HostChange },
}

/// What `+`, `-` and `w` ask for on a host.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HostChange {
    /// One more app process (worker, instance) on the host.
    More,
    /// One fewer.
    Fewer,
    /// Warm the caches from the profile's `[warm]`.
    Warm,
}

/// What a view's code may touch while it handles input or data: the shared app
/// (without the views), the screen area it draws into, and the request queue.
pub struct Cx<'a> {
    pub app: &'a mut App,
    /// The view's area on screen (for page sizes and clicks).
    pub body: Rect,
    pub requests: &'a mut Vec<Request>,
}

impl Cx<'_> {
    pub fn request(&mut self, r: Request) {
        self.requests.push(r);
    }

    pub fn notify(&mut self, level: NoticeLevel, text: impl Into<String>) {
        self.requests.push(Request::Notify(level, text.into()));
    }
}

/// Why a palette command did not run (shown to the user as a notice).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct CommandError(pub String);

impl CommandError {
    pub fn unknown(spec: &ViewSpec, name: &str) -> Self {
        CommandError(format!(
            "the {} view has no command `{name}`",
            spec.context.as_str()
        ))
    }
}

/// Whether a view used an action or a click.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Handled {
    Yes,
    No,
}

pub trait View: Any {
    fn spec(&self) -> &'static ViewSpec;

    /// The tab label (without its number): "Host: web1".
    fn title(&self, app: &App) -> String {
        let _ = app;
        self.spec().title.to_string()
    }

    /// Applies an action from the keymap (or the mouse wheel).
    fn handle(&mut self, action: Action, cx: &mut Cx<'_>) -> Handled;

    /// Runs one of the view's palette commands; `Err` is shown as a notice.
    fn command(&mut self, name: &str, arg: &str, cx: &mut Cx<'_>) -> Result<(), CommandError> {
        let _ = (arg, cx);
        Err(CommandError::unknown(self.spec(), name))
    }

    /// The view is about to be shown, with what it should show. `false` keeps the
    /// current view (the reason goes out as a notice).
    fn open(&mut self, subject: &Subject, cx: &mut Cx<'_>) -> bool {
        let _ = (subject, cx);
        true
    }

    /// A data event arrived (every view sees every data event; each takes its own).
    fn on_event(&mut self, event: &Event, cx: &mut Cx<'_>) {
        let _ = (event, cx);
    }

    /// The shared data changed (hosts, checks): re-derive what depends on it.
    fn data_changed(&mut self) {}

    /// What must be collected for this view now. `shown` says whether it is the
    /// view on screen; what it returns when not shown keeps running in the
    /// background.
    fn needs(&self, app: &App, shown: bool) -> Vec<Need> {
        let _ = (app, shown);
        Vec::new()
    }

    /// The text of the view's `/` filter, when it has one.
    fn filter(&self) -> Option<&str> {
        None
    }

    /// Sets the filter (while it is typed, and when it is cancelled).
    fn set_filter(&mut self, text: &str, cx: &mut Cx<'_>) {
        let _ = (text, cx);
    }

    /// What the filter line calls the filter ("filter", "search log").
    fn filter_prompt(&self) -> &'static str {
        "filter"
    }

    /// The label of an action in the bottom bar, when it depends on state.
    fn hint_label(&self, hint: &Hint) -> &'static str {
        hint.label
    }

    /// A click at (`column`, `row`) inside the view's area (relative to it).
    fn click(&mut self, column: u16, row: u16, cx: &mut Cx<'_>) -> Handled {
        let _ = (column, row, cx);
        Handled::No
    }

    /// A confirmation this view asked for was accepted.
    fn confirmed(&mut self, tag: &str, cx: &mut Cx<'_>) {
        let _ = (tag, cx);
    }

    /// One line for the tab bar's right side (the fleet's status counts).
    fn summary(&self, app: &App) -> Option<String> {
        let _ = app;
        None
    }

    /// Brings derived state up to date before a frame (sorting, scroll limits).
    fn prepare(&mut self, app: &mut App, body: Rect) {
        let _ = (app, body);
    }

    fn draw(&self, f: &mut Frame, area: Rect, app: &App);

    fn as_any(&self) -> &dyn Any;
    fn as_any_mut(&mut self) -> &mut dyn Any;
}
