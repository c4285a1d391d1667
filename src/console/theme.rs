//! Console themes: TOML files (shipped ones embedded, more in the config dir),
//! resolved to styles for the terminal's colour depth. `NO_COLOR` drops every
//! colour and leans on bold/reverse/underline so nothing depends on colour.

use std::collections::BTreeMap;
use std::path::Path;

use ratatui::style::{Color, Modifier, Style};
use serde::Deserialize;

use crate::config::Environment;
use crate::health::Status;
use crate::ops::Outcome;

/// Themes compiled into the binary; `dark` is the default.
pub const BUILTIN: &[(&str, &str)] = &[
    ("dark", include_str!("../../themes/dark.toml")),
    ("light", include_str!("../../themes/light.toml")),
    (
        "high-contrast",
        include_str!("../../themes/high-contrast.toml"),
    ),
];

pub const DEFAULT_THEME: &str = "dark";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColorMode {
    /// `NO_COLOR`: attributes only.
    None,
    Ansi16,
    Indexed256,
    TrueColor,
}

impl ColorMode {
    /// From the environment: NO_COLOR wins, then COLORTERM, then TERM.
    pub fn detect(no_color: Option<&str>, colorterm: Option<&str>, term: Option<&str>) -> Self {
        if no_color.is_some_and(|v| !v.is_empty()) {
            return ColorMode::None;
        }
        if colorterm.is_some_and(|v| v == "truecolor" || v == "24bit") {
            return ColorMode::TrueColor;
        }
        if term.is_some_and(|t| t.contains("256color")) {
            return ColorMode::Indexed256;
        }
        ColorMode::Ansi16
    }

    pub fn from_env() -> Self {
        let var = |k: &str| std::env::var(k).ok();
        ColorMode::detect(
            var("NO_COLOR").as_deref(),
            var("COLORTERM").as_deref(),
            var("TERM").as_deref(),
        )
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ThemeSpec {
    pub name: String,
    pub colors: ThemeColors,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ThemeColors {
    pub text: String,
    pub muted: String,
    pub accent: String,
    pub border: String,
    pub bar_fg: String,
    pub bar_bg: String,
    pub selection_fg: String,
    pub selection_bg: String,
    pub header: String,
    pub highlight_fg: String,
    pub highlight_bg: String,
    pub up: String,
    pub warn: String,
    pub critical: String,
    pub unreachable: String,
    pub production: String,
    pub staging: String,
    pub development: String,
    pub chart: String,
}

/// A theme resolved for one colour mode: what drawing code uses.
#[derive(Debug, Clone, PartialEq)]
pub struct Theme {
    pub name: String,
    pub mode: ColorMode,
    pub text: Style,
    pub muted: Style,
    pub accent: Style,
    pub border: Style,
    pub bar: Style,
    pub selection: Style,
    pub header: Style,
    pub highlight: Style,
    pub chart: Style,
    up: Style,
    warn: Style,
    critical: Style,
    unreachable: Style,
    production: Style,
    staging: Style,
    development: Style,
}

/// Why a theme cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ThemeError {
    #[error("no theme `{name}` (have: {have})")]
    Unknown { name: String, have: String },
    #[error("theme `{theme}`: {field}: {source}")]
    Colour {
        theme: String,
        field: String,
        source: ColourError,
    },
    #[error("{0}")]
    Syntax(String),
    #[error("{0}")]
    Read(String),
}

/// A colour that cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ColourError {
    #[error("`{0}` is not a #rrggbb colour")]
    BadHex(String),
    #[error("unknown colour `{0}` (use a name, #rrggbb or 0-255)")]
    Unknown(String),
}

impl Theme {
    pub fn resolve(spec: &ThemeSpec, mode: ColorMode) -> Result<Theme, ThemeError> {
        let c = &spec.colors;
        let col = |field: &str, v: &str| {
            parse_color(v)
                .map(|c| adapt(c, mode))
                .map_err(|source| ThemeError::Colour {
                    theme: spec.name.clone(),
                    field: field.to_string(),
                    source,
                })
        };
        let fg = |field: &str, v: &str| col(field, v).map(|c| Style::new().fg(c));
        let pair = |f: &str, fv: &str, b: &str, bv: &str| -> Result<Style, ThemeError> {
            Ok(Style::new().fg(col(f, fv)?).bg(col(b, bv)?))
        };
        let badge = |field: &str, v: &str| -> Result<Style, ThemeError> {
            Ok(Style::new()
                .bg(col(field, v)?)
                .fg(adapt(Color::White, mode))
                .add_modifier(Modifier::BOLD))
        };
        let mut theme = Theme {
            name: spec.name.clone(),
            mode,
            text: fg("text", &c.text)?,
            muted: fg("muted", &c.muted)?,
            accent: fg("accent", &c.accent)?,
            border: fg("border", &c.border)?,
            bar: pair("bar_fg", &c.bar_fg, "bar_bg", &c.bar_bg)?,
            selection: pair(
                "selection_fg",
                &c.selection_fg,
                "selection_bg",
                &c.selection_bg,
            )?,
            header: fg("header", &c.header)?.add_modifier(Modifier::BOLD),
            highlight: pair(
                "highlight_fg",
                &c.highlight_fg,
                "highlight_bg",
                &c.highlight_bg,
            )?,
            chart: fg("chart", &c.chart)?,
            up: fg("up", &c.up)?,
            warn: fg("warn", &c.warn)?,
            critical: fg("critical", &c.critical)?.add_modifier(Modifier::BOLD),
            unreachable: fg("unreachable", &c.unreachable)?,
            production: badge("production", &c.production)?,
            staging: badge("staging", &c.staging)?,
            development: badge("development", &c.development)?,
        };
        if mode == ColorMode::None {
            theme.selection = theme.selection.add_modifier(Modifier::REVERSED);
            theme.highlight = theme.highlight.add_modifier(Modifier::UNDERLINED);
            theme.production = theme.production.add_modifier(Modifier::REVERSED);
            theme.bar = theme.bar.add_modifier(Modifier::REVERSED);
        }
        Ok(theme)
    }

    pub fn status(&self, s: Status) -> Style {
        match s {
            Status::Up => self.up,
            Status::Warn => self.warn,
            Status::Critical => self.critical,
            Status::Unreachable => self.unreachable,
        }
    }

    /// How a change ended: ok green, failed red, refused yellow, rolled back
    /// magenta (the status colours, so every theme has them).
    pub fn outcome(&self, o: Outcome) -> Style {
        match o {
            Outcome::Ok => self.up,
            Outcome::Failed => self.critical,
            Outcome::Refused => self.warn,
            Outcome::RolledBack => self.unreachable,
        }
    }

    pub fn environment(&self, e: Environment) -> Style {
        match e {
            Environment::Production => self.production,
            Environment::Staging => self.staging,
            Environment::Development => self.development,
        }
    }

    /// The built-in default, for tests and as a fallback.
    pub fn default_for(mode: ColorMode) -> Theme {
        let spec = parse_spec(BUILTIN[0].1).unwrap_or_else(|e| panic!("built-in theme: {e}"));
        Theme::resolve(&spec, mode).unwrap_or_else(|e| panic!("built-in theme: {e}"))
    }
}

pub fn parse_spec(text: &str) -> Result<ThemeSpec, ThemeError> {
    toml::from_str(text).map_err(|e| ThemeError::Syntax(e.to_string()))
}

/// Every theme the console can switch to, by name: built-in ones, then files from
/// `<config dir>/themes/*.toml` (which may override a built-in by name).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ThemeSet {
    specs: BTreeMap<String, ThemeSpec>,
}

impl ThemeSet {
    pub fn builtin() -> Self {
        let mut set = ThemeSet::default();
        for (name, text) in BUILTIN {
            match parse_spec(text) {
                Ok(spec) => {
                    set.specs.insert(spec.name.clone(), spec);
                }
                Err(e) => tracing::error!("built-in theme {name}: {e}"),
            }
        }
        set
    }

    /// Adds themes from a directory; returns a message per file that could not be used.
    pub fn load_dir(&mut self, dir: &Path) -> Vec<String> {
        let mut problems = Vec::new();
        let Ok(entries) = std::fs::read_dir(dir) else {
            return problems;
        };
        let mut paths: Vec<_> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "toml"))
            .collect();
        paths.sort();
        for path in paths {
            let parsed = std::fs::read_to_string(&path)
                .map_err(|e| ThemeError::Read(e.to_string()))
                .and_then(|t| parse_spec(&t))
                .and_then(|spec| Theme::resolve(&spec, ColorMode::TrueColor).map(|_| spec));
            match parsed {
                Ok(spec) => {
                    self.specs.insert(spec.name.clone(), spec);
                }
                Err(e) => problems.push(format!("{}: {e}", path.display())),
            }
        }
        problems
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.specs.keys().map(String::as_str)
    }

    pub fn get(&self, name: &str, mode: ColorMode) -> Option<Result<Theme, ThemeError>> {
        self.specs.get(name).map(|s| Theme::resolve(s, mode))
    }
}

pub fn parse_color(s: &str) -> Result<Color, ColourError> {
    let lower = s.trim().to_ascii_lowercase();
    if let Some(hex) = lower.strip_prefix('#') {
        if hex.len() == 6 {
            if let Ok(v) = u32::from_str_radix(hex, 16) {
                return Ok(Color::Rgb((v >> 16) as u8, (v >> 8) as u8, v as u8));
            }
        }
        return Err(ColourError::BadHex(s.to_string()));
    }
    if let Ok(i) = lower.parse::<u8>() {
        return Ok(Color::Indexed(i));
    }
    Ok(match lower.as_str() {
        "reset" | "default" => Color::Reset,
        "black" => Color::Black,
        "red" => Color::Red,
        "green" => Color::Green,
        "yellow" => Color::Yellow,
        "blue" => Color::Blue,
        "magenta" => Color::Magenta,
        "cyan" => Color::Cyan,
        "gray" | "grey" => Color::Gray,
        "darkgray" | "darkgrey" => Color::DarkGray,
        "lightred" => Color::LightRed,
        "lightgreen" => Color::LightGreen,
        "lightyellow" => Color::LightYellow,
        "lightblue" => Color::LightBlue,
        "lightmagenta" => Color::LightMagenta,
        "lightcyan" => Color::LightCyan,
        "white" => Color::White,
        _ => {
            return Err(ColourError::Unknown(s.to_string()));
        }
    })
}

/// The 16 ANSI colours with typical xterm RGB values, for nearest-colour mapping.
const ANSI16: [(Color, (u8, u8, u8)); 16] = [
    (Color::Black, (0, 0, 0)),
    (Color::Red, (205, 0, 0)),
    (Color::Green, (0, 205, 0)),
    (Color::Yellow, (205, 205, 0)),
    (Color::Blue, (0, 0, 238)),
    (Color::Magenta, (205, 0, 205)),
    (Color::Cyan, (0, 205, 205)),
    (Color::Gray, (229, 229, 229)),
    (Color::DarkGray, (127, 127, 127)),
    (Color::LightRed, (255, 0, 0)),
    (Color::LightGreen, (0, 255, 0)),
    (Color::LightYellow, (255, 255, 0)),
    (Color::LightBlue, (92, 92, 255)),
    (Color::LightMagenta, (255, 0, 255)),
    (Color::LightCyan, (0, 255, 255)),
    (Color::White, (255, 255, 255)),
];

fn dist(a: (u8, u8, u8), b: (u8, u8, u8)) -> u32 {
    let d = |x: u8, y: u8| (i32::from(x) - i32::from(y)).unsigned_abs();
    d(a.0, b.0).pow(2) + d(a.1, b.1).pow(2) + d(a.2, b.2).pow(2)
}

fn indexed_to_rgb(i: u8) -> (u8, u8, u8) {
    match i {
        0..=15 => ANSI16[i as usize].1,
        16..=231 => {
            let i = i - 16;
            let level = |v: u8| if v == 0 { 0 } else { 55 + v * 40 };
            (level(i / 36), level((i / 6) % 6), level(i % 6))
        }
        _ => {
            let g = 8 + (i - 232) * 10;
            (g, g, g)
        }
    }
}

fn rgb_to_256(rgb: (u8, u8, u8)) -> u8 {
    let cube = |v: u8| -> u8 {
        if v < 48 {
            0
        } else if v < 115 {
            1
        } else {
            (v - 35) / 40
        }
    };
    let ci = 16 + 36 * cube(rgb.0) + 6 * cube(rgb.1) + cube(rgb.2);
    let avg = (u32::from(rgb.0) + u32::from(rgb.1) + u32::from(rgb.2)) / 3;
    let gi = if avg > 238 {
        255
    } else {
        232 + (avg.saturating_sub(3) / 10).min(23) as u8
    };
    if dist(indexed_to_rgb(gi), rgb) < dist(indexed_to_rgb(ci), rgb) {
        gi
    } else {
        ci
    }
}

fn rgb_to_16(rgb: (u8, u8, u8)) -> Color {
    ANSI16
        .iter()
        .min_by_key(|(_, c)| dist(*c, rgb))
        .map(|(c, _)| *c)
        .unwrap_or(Color::Reset)
}

/// A colour as the terminal can show it.
pub fn adapt(c: Color, mode: ColorMode) -> Color {
    match (mode, c) {
        (ColorMode::None, _) => Color::Reset,
        (ColorMode::TrueColor, c) => c,
        (ColorMode::Indexed256, Color::Rgb(r, g, b)) => Color::Indexed(rgb_to_256((r, g, b))),
        (ColorMode::Ansi16, Color::Rgb(r, g, b)) => rgb_to_16((r, g, b)),
        (ColorMode::Ansi16, Color::Indexed(i)) => rgb_to_16(indexed_to_rgb(i)),
        (_, c) => c,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_builtin_theme_resolves_in_every_mode() {
        let set = ThemeSet::builtin();
        assert_eq!(
            set.names().collect::<Vec<_>>(),
            vec!["dark", "high-contrast", "light"]
        );
        for name in ["dark", "light", "high-contrast"] {
            for mode in [
                ColorMode::None,
                ColorMode::Ansi16,
                ColorMode::Indexed256,
                ColorMode::TrueColor,
            ] {
                set.get(name, mode).unwrap().unwrap();
            }
        }
    }

    #[test]
    fn color_mode_detection() {
        assert_eq!(
            ColorMode::detect(Some("1"), Some("truecolor"), None),
            ColorMode::None
        );
        assert_eq!(
            ColorMode::detect(Some(""), Some("truecolor"), None),
            ColorMode::TrueColor
        );
        assert_eq!(
            ColorMode::detect(None, None, Some("xterm-256color")),
            ColorMode::Indexed256
        );
        assert_eq!(
            ColorMode::detect(None, None, Some("linux")),
            ColorMode::Ansi16
        );
    }

    #[test]
    fn rgb_maps_to_the_nearest_terminal_colour() {
        assert_eq!(adapt(Color::Rgb(0xd7, 0, 0), ColorMode::Ansi16), Color::Red);
        assert_eq!(
            adapt(Color::Rgb(0xd7, 0, 0), ColorMode::Indexed256),
            Color::Indexed(160)
        );
        assert_eq!(
            adapt(Color::Rgb(0x3a, 0x3a, 0x3a), ColorMode::Indexed256),
            Color::Indexed(237)
        );
        assert_eq!(adapt(Color::Rgb(1, 2, 3), ColorMode::None), Color::Reset);
        assert_eq!(
            adapt(Color::Indexed(196), ColorMode::Ansi16),
            Color::LightRed
        );
    }

    #[test]
    fn no_color_has_no_colours_but_keeps_selection_visible() {
        let t = Theme::default_for(ColorMode::None);
        for s in [
            t.text,
            t.selection,
            t.production,
            t.status(Status::Critical),
        ] {
            assert!(matches!(s.fg, None | Some(Color::Reset)), "{s:?}");
            assert!(matches!(s.bg, None | Some(Color::Reset)), "{s:?}");
        }
        assert!(t.selection.add_modifier.contains(Modifier::REVERSED));
    }

    #[test]
    fn production_stands_out_in_red() {
        let t = Theme::default_for(ColorMode::Ansi16);
        assert_eq!(t.environment(Environment::Production).bg, Some(Color::Red));
    }

    #[test]
    fn bad_colours_name_the_theme_and_field() {
        let mut spec = parse_spec(BUILTIN[0].1).unwrap();
        spec.colors.warn = "#12".into();
        let e = Theme::resolve(&spec, ColorMode::TrueColor).unwrap_err();
        assert!(e.to_string().contains("theme `dark`: warn"), "{e}");
    }

    #[test]
    fn themes_load_from_a_directory() {
        let dir = tempfile::tempdir().unwrap();
        let custom = BUILTIN[1].1.replace("name = \"light\"", "name = \"solar\"");
        std::fs::write(dir.path().join("solar.toml"), custom).unwrap();
        std::fs::write(dir.path().join("broken.toml"), "name = 3").unwrap();
        let mut set = ThemeSet::builtin();
        let problems = set.load_dir(dir.path());
        assert_eq!(problems.len(), 1);
        assert!(problems[0].contains("broken.toml"));
        assert!(set.names().any(|n| n == "solar"));
    }
}
