//! The `:` command palette: parsing commands and completing the word under the
//! cursor. The commands are the frame's own ([`GLOBAL_COMMANDS`]) and every
//! registered view's; a view without a command of its own name gets `:NAME`,
//! which shows it.

use super::action::Context;
use super::registry;
use super::view::{ArgKind, CommandSpec};

/// The frame's commands.
pub const GLOBAL_COMMANDS: &[CommandSpec] = &[
    CommandSpec::new("theme", "switch theme")
        .with_arg("NAME", ArgKind::Theme)
        .in_footer(2),
    CommandSpec::new("freeze", "freeze / unfreeze updates"),
    CommandSpec::new("help", "key bindings of this view"),
    CommandSpec::new("quit", "leave the console").in_footer(4),
];

/// A palette command and who answers it (`None`: the frame).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Known {
    pub owner: Option<Context>,
    pub spec: CommandSpec,
}

/// Every command, views' first (in tab order), then the frame's.
pub fn commands() -> Vec<Known> {
    let mut out = Vec::new();
    for e in registry::VIEWS {
        let ctx = e.spec.context;
        if !e.spec.commands.iter().any(|c| c.name == ctx.as_str()) {
            out.push(Known {
                owner: Some(ctx),
                spec: CommandSpec::new(ctx.as_str(), "show this view"),
            });
        }
        out.extend(e.spec.commands.iter().map(|&spec| Known {
            owner: Some(ctx),
            spec,
        }));
    }
    out.extend(
        GLOBAL_COMMANDS
            .iter()
            .map(|&spec| Known { owner: None, spec }),
    );
    out
}

/// The help overlay's footer: the commands marked for it, in their order.
pub fn footer() -> String {
    let mut listed: Vec<(u8, String)> = commands()
        .into_iter()
        .filter_map(|k| {
            let rank = k.spec.footer?;
            let text = if k.spec.arg_hint.is_empty() {
                format!(":{}", k.spec.name)
            } else {
                format!(":{} {}", k.spec.name, k.spec.arg_hint)
            };
            Some((rank, text))
        })
        .collect();
    listed.sort();
    let names: Vec<String> = listed.into_iter().map(|(_, t)| t).collect();
    format!("{}   (Esc closes)", names.join("  "))
}

/// What completion can draw on.
pub struct Completions<'a> {
    pub hosts: Vec<&'a str>,
    pub themes: Vec<&'a str>,
    pub databases: Vec<&'a str>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PaletteState {
    pub input: String,
    /// Index into the current candidate list.
    pub selected: usize,
}

/// A completion candidate: the full input it would produce and a note.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub text: String,
    pub note: String,
}

/// A command as typed, checked against its spec.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parsed {
    pub owner: Option<Context>,
    pub name: &'static str,
    pub arg: String,
}

/// What a command's argument is called in messages and completion notes.
fn arg_noun(spec: &CommandSpec) -> String {
    match spec.arg {
        ArgKind::Host => "host".into(),
        ArgKind::Theme => "theme".into(),
        ArgKind::Database => "database".into(),
        _ => spec.arg_hint.to_lowercase(),
    }
}

/// Why a palette input cannot run.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PaletteError {
    #[error("type a command, e.g. :host NAME")]
    Empty,
    #[error("unknown command `{0}` (Tab completes)")]
    Unknown(String),
    #[error(":{command} needs a {what}")]
    MissingArgument { command: String, what: String },
    #[error("unknown {what} `{value}` (known: {known})")]
    BadChoice {
        what: String,
        value: String,
        known: String,
    },
}

pub fn parse(input: &str) -> Result<Parsed, PaletteError> {
    let input = input.trim();
    let (cmd, arg) = match input.split_once(char::is_whitespace) {
        Some((c, a)) => (c, a.trim()),
        None => (input, ""),
    };
    if cmd.is_empty() {
        return Err(PaletteError::Empty);
    }
    let cmd = if cmd == "q" { "quit" } else { cmd };
    let known = commands()
        .into_iter()
        .find(|k| k.spec.name == cmd)
        .ok_or_else(|| PaletteError::Unknown(cmd.to_string()))?;
    if known.spec.needs_arg() && arg.is_empty() {
        let what = match known.spec.arg {
            ArgKind::Host | ArgKind::Theme | ArgKind::Database => {
                format!("{} name", arg_noun(&known.spec))
            }
            _ => arg_noun(&known.spec),
        };
        return Err(PaletteError::MissingArgument {
            command: cmd.to_string(),
            what,
        });
    }
    if let ArgKind::Choice(words) = known.spec.arg {
        let lower = arg.to_ascii_lowercase();
        if !words.contains(&lower.as_str()) {
            return Err(PaletteError::BadChoice {
                what: arg_noun(&known.spec),
                value: arg.to_string(),
                known: words.join(", "),
            });
        }
    }
    Ok(Parsed {
        owner: known.owner,
        name: known.spec.name,
        arg: arg.to_string(),
    })
}

/// Candidates for the current input: commands while the first word is typed, then
/// arguments of that command. Prefix matches first, then substring matches.
pub fn candidates(input: &str, c: &Completions<'_>) -> Vec<Candidate> {
    let trimmed = input.trim_start();
    let all = commands();
    match trimmed.split_once(char::is_whitespace) {
        None => rank(
            trimmed,
            all.iter().map(|k| {
                let spec = &k.spec;
                let note = if spec.arg_hint.is_empty() {
                    spec.describe.to_string()
                } else {
                    format!("{} — {}", spec.arg_hint, spec.describe)
                };
                let text = if spec.arg_hint.is_empty() {
                    spec.name.to_string()
                } else {
                    format!("{} ", spec.name)
                };
                (spec.name.to_string(), text, note)
            }),
        ),
        Some((cmd, arg)) => {
            let arg = arg.trim_start();
            let Some(spec) = all.iter().map(|k| k.spec).find(|s| s.name == cmd) else {
                return Vec::new();
            };
            let values: Vec<String> = match spec.arg {
                ArgKind::Host => c.hosts.iter().map(|h| h.to_string()).collect(),
                ArgKind::Theme => c.themes.iter().map(|t| t.to_string()).collect(),
                ArgKind::Database => c.databases.iter().map(|d| d.to_string()).collect(),
                ArgKind::Choice(words) => words.iter().map(|w| w.to_string()).collect(),
                ArgKind::None | ArgKind::Text => Vec::new(),
            };
            let note = arg_noun(&spec);
            rank(
                arg,
                values
                    .into_iter()
                    .map(|v| (v.clone(), format!("{cmd} {v}"), note.clone())),
            )
        }
    }
}

fn rank(typed: &str, items: impl Iterator<Item = (String, String, String)>) -> Vec<Candidate> {
    let typed = typed.to_lowercase();
    let mut prefix = Vec::new();
    let mut inner = Vec::new();
    for (key, text, note) in items {
        let k = key.to_lowercase();
        if k.starts_with(&typed) {
            prefix.push(Candidate { text, note });
        } else if k.contains(&typed) {
            inner.push(Candidate { text, note });
        }
    }
    prefix.extend(inner);
    prefix
}

#[cfg(test)]
mod tests {
    use super::*;

    fn comp() -> Completions<'static> {
        Completions {
            hosts: vec!["web1", "web2", "db1"],
            themes: vec!["dark", "light", "high-contrast"],
            databases: vec!["shop"],
        }
    }

    #[test]
    fn parses_commands() {
        let p = parse("quit").unwrap();
        assert_eq!((p.owner, p.name), (None, "quit"));
        assert_eq!(parse("q").unwrap().name, "quit");
        let p = parse(" host  web1 ").unwrap();
        assert_eq!(p.owner, Some(Context::new("host")));
        assert_eq!(p.arg, "web1");
        assert_eq!(parse("theme light").unwrap().arg, "light");
        assert_eq!(
            parse("sort cpu").unwrap().owner,
            Some(Context::new("fleet"))
        );
        assert!(
            parse("host")
                .unwrap_err()
                .to_string()
                .contains("needs a host name")
        );
        assert!(
            parse("sort nope")
                .unwrap_err()
                .to_string()
                .contains("unknown column")
        );
        assert!(
            parse("explode")
                .unwrap_err()
                .to_string()
                .contains("unknown command")
        );
    }

    #[test]
    fn completes_commands_then_arguments() {
        let c = comp();
        let t: Vec<String> = candidates("th", &c).into_iter().map(|c| c.text).collect();
        assert_eq!(t, vec!["theme "]);
        let t: Vec<String> = candidates("host w", &c)
            .into_iter()
            .map(|c| c.text)
            .collect();
        assert_eq!(t, vec!["host web1", "host web2"]);
        let t: Vec<String> = candidates("theme contr", &c)
            .into_iter()
            .map(|c| c.text)
            .collect();
        assert_eq!(t, vec!["theme high-contrast"]);
        assert!(candidates("quit x", &c).is_empty());
    }

    #[test]
    fn prefix_matches_come_before_substring_matches() {
        let c = Completions {
            hosts: vec!["db-web", "web1"],
            themes: vec![],
            databases: vec![],
        };
        let t: Vec<String> = candidates("host web", &c)
            .into_iter()
            .map(|c| c.text)
            .collect();
        assert_eq!(t, vec!["host web1", "host db-web"]);
    }

    #[test]
    fn every_view_can_be_shown_by_name() {
        for e in registry::VIEWS {
            let name = e.spec.context.as_str();
            // A view's own command of its name may want an argument (`:host NAME`).
            let input = match e.spec.commands.iter().find(|c| c.name == name) {
                Some(c) if c.needs_arg() => format!("{name} x"),
                _ => name.to_string(),
            };
            let p = parse(&input).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(p.owner, Some(e.spec.context));
        }
    }
}
