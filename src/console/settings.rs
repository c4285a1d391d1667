//! The user's console settings: `~/.config/opsctl/config.toml` (or
//! `$XDG_CONFIG_HOME/opsctl/config.toml`). A missing file means defaults; a broken
//! one is an error naming the file and line.
//!
//! ```toml
//! theme = "light"
//! mouse = false
//! [keys]
//! down = ["j", "down"]
//! sort = "o"
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::keymap::Remap;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    pub theme: Option<String>,
    pub mouse: bool,
    pub keys: Vec<Remap>,
    /// Where themes beyond the built-in ones are looked for.
    pub themes_dir: Option<PathBuf>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            theme: None,
            mouse: true,
            keys: Vec::new(),
            themes_dir: None,
        }
    }
}

#[derive(Deserialize)]
#[serde(untagged)]
enum KeyList {
    One(String),
    Many(Vec<String>),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSettings {
    theme: Option<String>,
    mouse: Option<bool>,
    #[serde(default)]
    keys: BTreeMap<String, toml::Spanned<KeyList>>,
}

/// The config directory (`$XDG_CONFIG_HOME/opsctl` or `~/.config/opsctl`).
pub fn config_dir() -> Option<PathBuf> {
    crate::config::load::config_dir()
}

fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

/// A config.toml that cannot be used: `file:line: why`, or `file: why` when it
/// cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SettingsError {
    #[error("{file}:{line}: {message}")]
    Syntax {
        file: String,
        line: usize,
        message: String,
    },
    #[error("{file}: {message}")]
    Read { file: String, message: String },
}

impl Settings {
    /// Parses config.toml text; `file` names it in errors.
    pub fn parse(text: &str, file: &str) -> Result<Settings, SettingsError> {
        let raw: RawSettings = toml::from_str(text).map_err(|e| SettingsError::Syntax {
            file: file.to_string(),
            line: e.span().map(|s| line_of(text, s.start)).unwrap_or(1),
            message: e.message().to_string(),
        })?;
        let keys = raw
            .keys
            .into_iter()
            .map(|(action, spanned)| {
                let line = line_of(text, spanned.span().start);
                let keys = match spanned.into_inner() {
                    KeyList::One(k) => vec![k],
                    KeyList::Many(ks) => ks,
                };
                Remap {
                    action,
                    keys,
                    file: file.to_string(),
                    line,
                }
            })
            .collect();
        Ok(Settings {
            theme: raw.theme,
            mouse: raw.mouse.unwrap_or(true),
            keys,
            themes_dir: None,
        })
    }

    /// Reads `path`, or the default location when `None`. A missing file is defaults.
    pub fn load(path: Option<&Path>) -> Result<Settings, SettingsError> {
        let dir = config_dir();
        let path = match path {
            Some(p) => p.to_path_buf(),
            None => match &dir {
                Some(d) => d.join("config.toml"),
                None => return Ok(Settings::default()),
            },
        };
        let themes_dir = path.parent().map(|p| p.join("themes"));
        match std::fs::read_to_string(&path) {
            Ok(text) => {
                let mut s = Settings::parse(&text, &path.display().to_string())?;
                s.themes_dir = themes_dir;
                Ok(s)
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Settings {
                themes_dir,
                ..Settings::default()
            }),
            Err(e) => Err(SettingsError::Read {
                file: path.display().to_string(),
                message: e.to_string(),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_carry_their_line() {
        let text =
            "theme = \"light\"\nmouse = false\n\n[keys]\ndown = [\"n\", \"down\"]\nsort = \"o\"\n";
        let s = Settings::parse(text, "c.toml").unwrap();
        assert_eq!(s.theme.as_deref(), Some("light"));
        assert!(!s.mouse);
        let down = s.keys.iter().find(|r| r.action == "down").unwrap();
        assert_eq!(
            (down.line, down.keys.clone()),
            (5, vec!["n".to_string(), "down".to_string()])
        );
        let sort = s.keys.iter().find(|r| r.action == "sort").unwrap();
        assert_eq!(sort.line, 6);
    }

    #[test]
    fn unknown_settings_are_errors_with_a_line() {
        let e = Settings::parse("theme = \"dark\"\ncolour = 1\n", "c.toml").unwrap_err();
        assert!(e.to_string().starts_with("c.toml:2:"), "{e}");
    }

    #[test]
    fn missing_file_is_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let s = Settings::load(Some(&dir.path().join("nope.toml"))).unwrap();
        assert!(s.mouse && s.keys.is_empty());
        assert_eq!(s.themes_dir, Some(dir.path().join("themes")));
    }
}
