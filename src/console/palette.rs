//! The `:` command palette: parsing commands and completing the word under the
//! cursor over commands, views, host names, theme names and sort columns.

use super::views::fleet::SortColumn;

/// What the palette can ask for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PaletteCommand {
    Quit,
    Help,
    Fleet,
    Host(String),
    Theme(String),
    Freeze,
    Sort(SortColumn),
    Group,
    Filter(String),
}

/// (command, argument hint, description) for completion and help.
pub const COMMANDS: &[(&str, &str, &str)] = &[
    ("host", "NAME", "open a host"),
    ("fleet", "", "the fleet table"),
    ("theme", "NAME", "switch theme"),
    ("sort", "COLUMN", "sort the fleet by a column"),
    ("filter", "TEXT", "filter the fleet (! negates)"),
    ("group", "", "group hosts by role on/off"),
    ("freeze", "", "freeze / unfreeze updates"),
    ("help", "", "key bindings of this view"),
    ("quit", "", "leave the console"),
];

/// What completion can draw on.
pub struct Completions<'a> {
    pub hosts: Vec<&'a str>,
    pub themes: Vec<&'a str>,
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

pub fn parse(input: &str) -> Result<PaletteCommand, String> {
    let input = input.trim();
    let (cmd, arg) = match input.split_once(char::is_whitespace) {
        Some((c, a)) => (c, a.trim()),
        None => (input, ""),
    };
    let need = |what: &str| -> Result<String, String> {
        if arg.is_empty() {
            Err(format!(":{cmd} needs a {what}"))
        } else {
            Ok(arg.to_string())
        }
    };
    Ok(match cmd {
        "q" | "quit" => PaletteCommand::Quit,
        "help" => PaletteCommand::Help,
        "fleet" => PaletteCommand::Fleet,
        "host" => PaletteCommand::Host(need("host name")?),
        "theme" => PaletteCommand::Theme(need("theme name")?),
        "freeze" => PaletteCommand::Freeze,
        "group" => PaletteCommand::Group,
        "filter" => PaletteCommand::Filter(arg.to_string()),
        "sort" => {
            let name = need("column")?;
            PaletteCommand::Sort(SortColumn::from_name(&name).ok_or_else(|| {
                let known: Vec<&str> = SortColumn::ALL.iter().map(|c| c.name()).collect();
                format!("unknown column `{name}` (known: {})", known.join(", "))
            })?)
        }
        "" => return Err("type a command, e.g. :host NAME".into()),
        other => return Err(format!("unknown command `{other}` (Tab completes)")),
    })
}

/// Candidates for the current input: commands while the first word is typed, then
/// arguments of that command. Prefix matches first, then substring matches.
pub fn candidates(input: &str, c: &Completions<'_>) -> Vec<Candidate> {
    let trimmed = input.trim_start();
    match trimmed.split_once(char::is_whitespace) {
        None => rank(
            trimmed,
            COMMANDS.iter().map(|(name, arg, desc)| {
                let note = if arg.is_empty() {
                    desc.to_string()
                } else {
                    format!("{arg} — {desc}")
                };
                let text = if arg.is_empty() {
                    name.to_string()
                } else {
                    format!("{name} ")
                };
                (name.to_string(), text, note)
            }),
        ),
        Some((cmd, arg)) => {
            let arg = arg.trim_start();
            let options: Vec<(String, String)> = match cmd {
                "host" => c
                    .hosts
                    .iter()
                    .map(|h| (h.to_string(), "host".to_string()))
                    .collect(),
                "theme" => c
                    .themes
                    .iter()
                    .map(|t| (t.to_string(), "theme".to_string()))
                    .collect(),
                "sort" => SortColumn::ALL
                    .iter()
                    .map(|s| (s.name().to_string(), "column".to_string()))
                    .collect(),
                _ => Vec::new(),
            };
            rank(
                arg,
                options
                    .into_iter()
                    .map(|(v, note)| (v.clone(), format!("{cmd} {v}"), note)),
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
        }
    }

    #[test]
    fn parses_commands() {
        assert_eq!(parse("quit"), Ok(PaletteCommand::Quit));
        assert_eq!(
            parse(" host  web1 "),
            Ok(PaletteCommand::Host("web1".into()))
        );
        assert_eq!(
            parse("theme light"),
            Ok(PaletteCommand::Theme("light".into()))
        );
        assert_eq!(parse("sort cpu"), Ok(PaletteCommand::Sort(SortColumn::Cpu)));
        assert!(parse("host").unwrap_err().contains("needs a host name"));
        assert!(parse("sort nope").unwrap_err().contains("unknown column"));
        assert!(parse("explode").unwrap_err().contains("unknown command"));
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
        };
        let t: Vec<String> = candidates("host web", &c)
            .into_iter()
            .map(|c| c.text)
            .collect();
        assert_eq!(t, vec!["host web1", "host db-web"]);
    }
}
