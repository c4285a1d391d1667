#![no_main]
//! Importing an Ansible inventory never panics on arbitrary text, in either
//! format, and a planted password never reaches the imported profile.

use libfuzzer_sys::fuzz_target;
use opsctl::config::inventory::{Format, import_str};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    for format in [Format::Ini, Format::Yaml] {
        let planted = format!("{text}\nweb9 ansible_password=fuzz-planted-9f3\n");
        if let Ok(imported) = import_str("inv", &planted, format, &[]) {
            let shown = format!("{imported:?}");
            assert!(!shown.contains("fuzz-planted-9f3"), "{shown}");
        }
        let _ = import_str("inv", &text, format, &[]);
    }
});
