//! The profile's `[warm]` section: what `opsctl warm` warms when the command line
//! does not say (sitemaps, base URL), how hard it may push (concurrency, rate),
//! and which hosts are the cache nodes every URL is sent to with `--per-node`.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct WarmSettings {
    /// Sitemap URLs (sitemap indexes and gzipped children are followed).
    #[serde(default)]
    pub sitemaps: Vec<String>,
    /// The site's URL: relative URLs are joined to it, and only its host is
    /// warmed (plus `allow_hosts`). Default: the first sitemap's origin.
    pub base: Option<String>,
    /// Requests in flight at once, at most (default 8).
    pub concurrency: Option<usize>,
    /// Requests per second, at most (default: no limit).
    pub rate: Option<f64>,
    /// The role of the cache nodes (default `lb`): with `--per-node`, every URL
    /// is sent to each host of this role, by its address, keeping Host and SNI.
    pub nodes: Option<String>,
    /// Send every URL to each cache node by default (as `--per-node` does).
    #[serde(default)]
    pub per_node: bool,
    /// PEM bundle of the CAs to trust (a private CA).
    pub ca_file: Option<String>,
    /// Other hosts the sitemaps may name.
    #[serde(default)]
    pub allow_hosts: Vec<String>,
    /// Accept-Encoding values to send for each URL (`""` sends none); default
    /// the browsers' `gzip, deflate, br, zstd`, `gzip, deflate, br` and none.
    pub encodings: Option<Vec<String>>,
    /// Bound on each request (default 30 s).
    pub timeout_secs: Option<f64>,
}
