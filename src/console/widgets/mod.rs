//! Reusable drawing pieces. Each renders from data it is given; none holds state
//! beyond what the app passes in.

pub mod bars;
pub mod change_progress;
pub mod confirm;
pub mod data_table;
pub mod help;
pub mod pane;
pub mod sparkline;
pub mod table;
