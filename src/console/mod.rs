//! The interactive console (`opsctl`, `opsctl console`).
//!
//! Event-driven: collectors and the input thread send [`event::Event`]s into one
//! bounded channel; [`app::App::update`] changes state; [`ui::draw`] is a pure
//! function of that state; the [`runtime`] redraws only when something changed,
//! at most ~30 times a second. Keys go through [`keymap`] to [`action::Action`]s.
//!
//! Every view is a component ([`view::View`]) in its own file under `views/`,
//! listed once in [`registry`]. The console never reaches a host itself: views
//! say what they need collected ([`feed::Need`]) and the `opsctl console`
//! command supplies the [`feed::Feeds`] that collect it.

pub mod action;
pub mod app;
pub mod change_flow;
pub mod event;
pub mod feed;
pub mod filter;
#[doc(hidden)]
pub mod fixtures;
pub mod keymap;
pub mod layout;
pub mod palette;
pub mod registry;
pub mod runtime;
pub mod settings;
pub mod terminal;
pub mod theme;
pub mod ui;
pub mod view;
pub mod views;
pub mod widgets;

#[cfg(test)]
mod tests;
