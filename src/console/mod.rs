//! The interactive console (`opsctl`, `opsctl console`).
//!
//! Event-driven: collectors and the input thread send [`event::Event`]s into one
//! channel; [`app::App::update`] changes state; [`ui::draw`] is a pure function of
//! that state; the [`runtime`] redraws only when something changed, at most ~30
//! times a second. Keys go through [`keymap`] to [`action::Action`]s.

pub mod action;
pub mod app;
pub mod collector;
pub mod event;
pub mod filter;
#[doc(hidden)]
pub mod fixtures;
pub mod keymap;
pub mod palette;
pub mod runtime;
pub mod settings;
pub mod terminal;
pub mod theme;
pub mod ui;
pub mod views;
pub mod widgets;

#[cfg(test)]
mod tests;
