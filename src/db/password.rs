//! Reading a database password from where the profile says it is: an
//! environment variable, a file, a libpq passfile or a MySQL option file. Every
//! password read is registered as a secret, so no output shows it.

use std::path::Path;

use super::target::{DbTarget, PasswordSource};
use crate::config::secrets::{self, SecretError};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PasswordError {
    #[error(transparent)]
    Secret(#[from] SecretError),
    #[error("cannot read {path}: {why}")]
    Unreadable { path: String, why: String },
    #[error(
        "{path} is readable by others (mode {mode:o}); libpq ignores such a passfile: chmod 600 {path}"
    )]
    TooOpen { path: String, mode: u32 },
}

/// The password for `t`, if its source has one (`None`: connect without).
pub fn password_for(t: &DbTarget) -> Result<Option<String>, PasswordError> {
    let found = match &t.password {
        PasswordSource::None => None,
        PasswordSource::Env(var) => Some(secrets::from_env(var)?),
        PasswordSource::File(f) => Some(secrets::from_file(f)?),
        PasswordSource::Given(p) => Some(p.clone()),
        PasswordSource::Passfile(path) => match read_private(path)? {
            Some(text) => passfile_lookup(
                &text,
                &t.host,
                t.port,
                t.database.as_deref().unwrap_or(&t.user),
                &t.user,
            ),
            None => None,
        },
        PasswordSource::OptionFile(path) => match read_private(path)? {
            Some(text) => option_file_password(&text),
            None => None,
        },
    };
    if let Some(p) = &found {
        secrets::register(p);
    }
    Ok(found)
}

/// A file that holds passwords: missing is "no password"; readable by others is
/// refused (as libpq does).
fn read_private(path: &Path) -> Result<Option<String>, PasswordError> {
    use std::os::unix::fs::PermissionsExt;
    let shown = path.display().to_string();
    let meta = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(PasswordError::Unreadable {
                path: shown,
                why: e.to_string(),
            });
        }
    };
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(PasswordError::TooOpen { path: shown, mode });
    }
    std::fs::read_to_string(path)
        .map(Some)
        .map_err(|e| PasswordError::Unreadable {
            path: shown,
            why: e.to_string(),
        })
}

/// The password of the first passfile line matching host, port, database and
/// user (`*` matches anything; `\:` and `\\` are escapes), as libpq looks it up.
pub fn passfile_lookup(text: &str, host: &str, port: u16, db: &str, user: &str) -> Option<String> {
    let port = port.to_string();
    for line in text.lines() {
        if line.trim_start().starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let fields = split_passfile(line);
        if fields.len() < 5 {
            continue;
        }
        let ok = |field: &str, want: &str| field == "*" || field == want;
        let host_ok = ok(&fields[0], host) || (fields[0] == "localhost" && host.starts_with('/'));
        if host_ok && ok(&fields[1], &port) && ok(&fields[2], db) && ok(&fields[3], user) {
            return Some(fields[4..].join(":"));
        }
    }
    None
}

fn split_passfile(line: &str) -> Vec<String> {
    let mut fields = vec![String::new()];
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                if let Some(n) = chars.next() {
                    if let Some(last) = fields.last_mut() {
                        last.push(n);
                    }
                }
            }
            ':' => fields.push(String::new()),
            c => {
                if let Some(last) = fields.last_mut() {
                    last.push(c);
                }
            }
        }
    }
    fields
}

/// `password = ...` in an option file's `[client]` (or `[mysql]`, `[client-server]`)
/// section; quotes around the value are removed.
pub fn option_file_password(text: &str) -> Option<String> {
    let mut in_section = false;
    let mut found = None;
    for raw in text.lines() {
        let line = raw.trim();
        if line.starts_with('#') || line.starts_with(';') || line.is_empty() {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            in_section = matches!(
                name.trim().to_ascii_lowercase().as_str(),
                "client" | "mysql" | "client-server" | "client-mariadb"
            );
            continue;
        }
        if !in_section {
            continue;
        }
        if let Some((k, v)) = line.split_once('=') {
            if k.trim().eq_ignore_ascii_case("password") {
                let v = v.trim();
                let v = v
                    .strip_prefix('"')
                    .and_then(|v| v.strip_suffix('"'))
                    .or_else(|| v.strip_prefix('\'').and_then(|v| v.strip_suffix('\'')))
                    .unwrap_or(v);
                // The last one wins, as in the MySQL client.
                found = Some(v.to_string());
            }
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passfile_lines_match_like_libpq() {
        let text = "# comment\n127.0.0.4:5432:shop:shop:pw-shop\n*:*:*:opsctl:pw\\:with\\:colons\n";
        assert_eq!(
            passfile_lookup(text, "127.0.0.4", 5432, "shop", "shop").as_deref(),
            Some("pw-shop")
        );
        assert_eq!(
            passfile_lookup(text, "db1", 6432, "x", "opsctl").as_deref(),
            Some("pw:with:colons")
        );
        assert_eq!(
            passfile_lookup(text, "127.0.0.4", 5432, "shop", "nobody"),
            None
        );
    }

    #[test]
    fn option_file_client_password() {
        let text = "[mysqld]\npassword = server\n[client]\nuser=opsctl\npassword = \"cl ient\"\n";
        assert_eq!(option_file_password(text).as_deref(), Some("cl ient"));
        assert_eq!(option_file_password("[mysqld]\npassword=x\n"), None);
    }

    #[test]
    fn a_passfile_others_can_read_is_refused() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("pgpass");
        std::fs::write(&p, "*:*:*:*:pw\n").unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o644)).unwrap();
        let e = read_private(&p).unwrap_err();
        assert!(e.to_string().contains("chmod 600"), "{e}");
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert!(read_private(&p).unwrap().is_some());
        assert_eq!(read_private(&dir.path().join("none")).unwrap(), None);
    }
}
