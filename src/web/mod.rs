//! Web traffic as the web servers saw it: their access logs.

pub mod combined_log;
