//! Ansible inventories as opsctl profiles: `opsctl config import ansible FILE` and
//! `--inventory FILE`.
//!
//! Static INI and YAML inventories are read with Ansible's own rules (see `ini`,
//! `yaml`, `ranges`), together with the `group_vars/` and `host_vars/` beside the
//! file, and their winning variables become host fields (`to_profile`). What opsctl
//! cannot use is said, with file and line, never dropped in silence: dynamic
//! inventories and unreadable values are errors; variables opsctl has no use for
//! are warnings; secrets are never copied or printed.
//!
//! Parsing is pure (`import_str`); [`import_file`] is the edge that reads files.

pub mod ini;
pub mod model;
pub mod pyvalue;
pub mod ranges;
pub mod to_profile;
pub mod yaml;

use std::fmt;
use std::path::{Path, PathBuf};

use model::{Inventory, Target};
use to_profile::ImportedHost;

use super::diagnostic::Diagnostic;
use super::load::{LoadError, LoadedProfile, ProfileSource, parse_profile};
use super::profile::Profile;

/// Something opsctl did not import, or imported with a caveat.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    pub file: String,
    /// 1-based; 0 when it concerns the whole file.
    pub line: usize,
    pub message: String,
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            write!(f, "{}: warning: {}", self.file, self.message)
        } else {
            write!(f, "{}:{}: warning: {}", self.file, self.line, self.message)
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("cannot read inventory {}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    /// What is wrong, each at its place; the warnings found on the way.
    #[error("{}", join_errors(errors))]
    Invalid {
        errors: Vec<Diagnostic>,
        warnings: Vec<Warning>,
    },
}

impl ImportError {
    fn one(d: Diagnostic) -> Self {
        ImportError::Invalid {
            errors: vec![d],
            warnings: Vec::new(),
        }
    }

    /// Warnings found before the errors (print them too).
    pub fn warnings(&self) -> &[Warning] {
        match self {
            ImportError::Invalid { warnings, .. } => warnings,
            ImportError::Io { .. } => &[],
        }
    }
}

fn join_errors(errors: &[Diagnostic]) -> String {
    errors
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("\nerror: ")
}

/// `--profile` and `--inventory` could not be loaded together.
#[derive(Debug, thiserror::Error)]
pub enum WithInventoryError {
    #[error(transparent)]
    Profile(#[from] LoadError),
    #[error(transparent)]
    Inventory(#[from] ImportError),
}

impl WithInventoryError {
    pub fn warnings(&self) -> &[Warning] {
        match self {
            WithInventoryError::Inventory(e) => e.warnings(),
            WithInventoryError::Profile(_) => &[],
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Ini,
    Yaml,
}

/// A `group_vars/NAME...` or `host_vars/NAME...` file's text.
#[derive(Debug, Clone)]
pub struct VarsFile {
    pub of: VarsOf,
    /// The group or host it is for.
    pub name: String,
    /// As shown in messages.
    pub file: String,
    pub text: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VarsOf {
    Group,
    Host,
}

/// An inventory read and interpreted: the hosts for a profile and what was said.
#[derive(Debug, Clone)]
pub struct Imported {
    /// The inventory as shown in messages.
    pub file: String,
    /// The profile's name: the file's stem.
    pub name: String,
    pub hosts: Vec<ImportedHost>,
    pub warnings: Vec<Warning>,
}

impl Imported {
    /// The profile as TOML, with comments naming where each host came from.
    pub fn to_toml(&self) -> String {
        to_profile::render_toml(&self.name, &self.file, &self.hosts)
    }

    /// The profile, validated like any profile file.
    pub fn to_profile(&self) -> Result<Profile, ImportError> {
        parse_profile(&self.to_toml(), &format!("{} (as a profile)", self.file))
            .map_err(ImportError::one)
    }
}

/// How Ansible would read `file`: a `.yml`/`.yaml`/`.json` file is YAML, `.ini`
/// is INI, anything else YAML when it reads as a YAML mapping, else INI. Dynamic
/// inventories (scripts; `.toml` is not read either) and vault-encrypted files are
/// errors. `executable` is the file's mode.
pub fn detect_format(file: &str, text: &str, executable: bool) -> Result<Format, Diagnostic> {
    let ext = Path::new(file)
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    let ext = ext.as_deref();
    let static_ext = matches!(ext, Some("yml" | "yaml" | "json" | "ini"));
    if text.starts_with("$ANSIBLE_VAULT;") {
        return Err(
            Diagnostic::whole_file(file, "the inventory is encrypted with ansible-vault")
                .with_hint("decrypt a copy first: ansible-vault decrypt --output plain.ini FILE"),
        );
    }
    if text.starts_with("#!") && (executable || !static_ext) {
        let line = text.lines().next().unwrap_or_default();
        let mut d = Diagnostic::at(
            file,
            text,
            0..line.len(),
            "this is a dynamic inventory script: opsctl imports static INI or YAML inventories",
        )
        .with_hint(
            "export it first: ansible-inventory -i FILE --list --yaml --output inventory.yml, \
             then import inventory.yml",
        );
        d.col = 1;
        return Err(d);
    }
    match ext {
        Some("yml" | "yaml" | "json") => Ok(Format::Yaml),
        Some("ini") => Ok(Format::Ini),
        Some("toml") => Err(Diagnostic::whole_file(
            file,
            "TOML inventories are not read: opsctl imports INI or YAML inventories",
        )
        .with_hint("ansible-inventory -i FILE --list --yaml --output inventory.yml")),
        _ if yaml::is_yaml_mapping(text) => Ok(Format::Yaml),
        _ => Ok(Format::Ini),
    }
}

/// Reads an inventory from its text (pure): `file` names it in messages, and
/// `vars_files` are its `group_vars/` and `host_vars/` files.
pub fn import_str(
    file: &str,
    text: &str,
    format: Format,
    vars_files: &[VarsFile],
) -> Result<Imported, ImportError> {
    let mut inv = parse(file, text, format);
    for vf in vars_files {
        apply_vars_file(&mut inv, vf);
    }
    finish(inv, file)
}

fn parse(file: &str, text: &str, format: Format) -> Inventory {
    let mut inv = Inventory::new();
    let source = inv.add_source(file, text);
    match format {
        Format::Ini => ini::parse(&mut inv, source, text),
        Format::Yaml => yaml::parse(&mut inv, source, text),
    }
    inv
}

fn apply_vars_file(inv: &mut Inventory, vf: &VarsFile) {
    let target = match vf.of {
        VarsOf::Group => inv.group_id(&vf.name).map(Target::Group),
        VarsOf::Host => inv.host_id(&vf.name).map(Target::Host),
    };
    let source = inv.add_source(&vf.file, &vf.text);
    let at = model::Loc {
        source,
        line: 0,
        span: 0..0,
    };
    let Some(target) = target else {
        let what = match vf.of {
            VarsOf::Group => "group",
            VarsOf::Host => "host",
        };
        inv.warn(
            &at,
            format!("not read: the inventory has no {what} `{}`", vf.name),
        );
        return;
    };
    if vf.text.starts_with("$ANSIBLE_VAULT;") {
        inv.warn(
            &at,
            "not read: encrypted with ansible-vault (opsctl imports no secrets)",
        );
        return;
    }
    yaml::parse_vars(inv, source, &vf.text, target);
}

fn finish(mut inv: Inventory, file: &str) -> Result<Imported, ImportError> {
    inv.reconcile();
    let hosts = if inv.errors.is_empty() {
        to_profile::hosts(&mut inv)
    } else {
        Vec::new()
    };
    if inv.other_vars > 0 {
        let n = inv.other_vars;
        let secrets = match inv.other_secrets {
            0 => String::new(),
            s => format!(", {s} of them secret"),
        };
        inv.warnings.push(Warning {
            file: file.to_string(),
            line: 0,
            message: format!(
                "{n} other variable definition{} not imported{secrets}: opsctl profiles hold \
                 connection settings, not application variables",
                if n == 1 { " was" } else { "s were" }
            ),
        });
    }
    if !inv.errors.is_empty() {
        return Err(ImportError::Invalid {
            errors: inv.errors,
            warnings: inv.warnings,
        });
    }
    if hosts.is_empty() {
        inv.warnings.push(Warning {
            file: file.to_string(),
            line: 0,
            message: "the inventory has no hosts opsctl can reach".to_string(),
        });
    }
    let name = Path::new(file)
        .file_stem()
        .and_then(|s| s.to_str())
        .filter(|s| !s.trim().is_empty())
        .unwrap_or("inventory")
        .to_string();
    Ok(Imported {
        file: file.to_string(),
        name,
        hosts,
        warnings: inv.warnings,
    })
}

/// Reads the inventory at `path`, with the `group_vars/` and `host_vars/`
/// directories beside it, the way Ansible finds them.
pub fn import_file(path: &Path) -> Result<Imported, ImportError> {
    let file = path.display().to_string();
    let io = |source| ImportError::Io {
        path: path.to_path_buf(),
        source,
    };
    let meta = std::fs::metadata(path).map_err(io)?;
    if meta.is_dir() {
        return Err(ImportError::one(
            Diagnostic::whole_file(&file, "is a directory: name one inventory file")
                .with_hint("import each file of an inventory directory on its own"),
        ));
    }
    let text = std::fs::read_to_string(path).map_err(io)?;
    let format = detect_format(&file, &text, is_executable(&meta)).map_err(ImportError::one)?;
    let mut inv = parse(&file, &text, format);
    let dir = path.parent().unwrap_or(Path::new(""));
    let (vars_files, warnings) = find_vars_files(dir, &inv);
    inv.warnings.extend(warnings);
    for vf in vars_files {
        apply_vars_file(&mut inv, &vf);
    }
    finish(inv, &file)
}

#[cfg(unix)]
fn is_executable(meta: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::PermissionsExt;
    meta.permissions().mode() & 0o111 != 0
}

#[cfg(not(unix))]
fn is_executable(_meta: &std::fs::Metadata) -> bool {
    false
}

const VARS_EXTENSIONS: [&str; 3] = ["yml", "yaml", "json"];

/// Ansible's `find_vars_files` for every group and host: `DIR/NAME`, else
/// `NAME.yml`/`.yaml`/`.json`; a directory `NAME/` contributes all its files
/// (sorted, recursively). Files for names not in the inventory are reported, and
/// so are files that cannot be read.
fn find_vars_files(dir: &Path, inv: &Inventory) -> (Vec<VarsFile>, Vec<Warning>) {
    let mut out = Vec::new();
    let mut warnings = Vec::new();
    for (of, sub) in [(VarsOf::Group, "group_vars"), (VarsOf::Host, "host_vars")] {
        let base = dir.join(sub);
        let Ok(entries) = std::fs::read_dir(&base) else {
            continue;
        };
        // Which entity each entry is for: `web`, `web.yml`, `web/`.
        let entities: std::collections::BTreeSet<String> = entries
            .filter_map(|e| e.ok())
            .filter_map(|e| e.file_name().into_string().ok())
            .filter(|n| !n.starts_with('.') && !n.ends_with('~'))
            .map(|n| {
                let p = Path::new(&n);
                match p.extension().and_then(|e| e.to_str()) {
                    Some(e) if VARS_EXTENSIONS.contains(&e) => p
                        .file_stem()
                        .and_then(|s| s.to_str())
                        .map_or_else(|| n.clone(), str::to_string),
                    _ => n.clone(),
                }
            })
            .collect();
        for entity in entities {
            let known = match of {
                VarsOf::Group => inv.group_id(&entity).is_some(),
                VarsOf::Host => inv.host_id(&entity).is_some(),
            };
            let candidates = std::iter::once(entity.clone())
                .chain(VARS_EXTENSIONS.iter().map(|e| format!("{entity}.{e}")));
            let Some(found) = candidates.map(|c| base.join(c)).find(|p| p.exists()) else {
                continue;
            };
            let files = if found.is_dir() {
                dir_files(&found)
            } else {
                vec![found]
            };
            for f in files {
                let file = f.display().to_string();
                let text = if known {
                    match std::fs::read_to_string(&f) {
                        Ok(t) => t,
                        Err(e) => {
                            warnings.push(Warning {
                                file,
                                line: 0,
                                message: format!("not read: {e}"),
                            });
                            continue;
                        }
                    }
                } else {
                    String::new()
                };
                out.push(VarsFile {
                    of,
                    name: entity.clone(),
                    file,
                    text,
                });
            }
        }
    }
    (out, warnings)
}

fn dir_files(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok()).map(|e| e.path()).collect();
    paths.sort();
    let mut out = Vec::new();
    for p in paths {
        let name = p.file_name().and_then(|n| n.to_str()).unwrap_or_default();
        if name.starts_with('.') || name.ends_with('~') {
            continue;
        }
        let ext = p.extension().and_then(|e| e.to_str());
        if p.is_dir() && ext.is_none() {
            out.extend(dir_files(&p));
        } else if p.is_file() && ext.is_none_or(|e| VARS_EXTENSIONS.contains(&e)) {
            out.push(p);
        }
    }
    out
}

/// Adds the inventory's hosts to a profile loaded from a file. A host name in
/// both is an error naming both places.
pub fn merge(mut loaded: LoadedProfile, imported: &Imported) -> Result<LoadedProfile, ImportError> {
    let profile_text = match &loaded.source {
        ProfileSource::File(p) => std::fs::read_to_string(p).ok(),
        ProfileSource::Embedded => Some(super::load::EMBEDDED_LOCAL.to_string()),
    };
    let mut errors = Vec::new();
    for h in &imported.hosts {
        if let Some(i) = loaded.profile.hosts.iter().position(|p| p.name == h.name) {
            let place = match profile_text.as_deref().and_then(|t| host_line(t, i)) {
                Some(line) => format!("{}:{line}", loaded.source),
                None => loaded.source.to_string(),
            };
            errors.push(Diagnostic::whole_file(
                &h.origin,
                format!(
                    "host `{}` of the inventory is also in the profile ({place}): rename one, \
                     or leave it out of one",
                    h.name
                ),
            ));
        }
    }
    if !errors.is_empty() {
        return Err(ImportError::Invalid {
            errors,
            warnings: imported.warnings.clone(),
        });
    }
    loaded.profile.hosts.extend(imported.to_profile()?.hosts);
    Ok(loaded)
}

/// The line of `hosts[i].name` in a profile's TOML.
fn host_line(text: &str, i: usize) -> Option<usize> {
    use toml::de::{DeTable, DeValue};
    let doc = DeTable::parse(text).ok()?;
    let hosts = doc
        .get_ref()
        .iter()
        .find(|(k, _)| k.get_ref() == "hosts")?
        .1;
    let DeValue::Array(hosts) = hosts.get_ref() else {
        return None;
    };
    let DeValue::Table(host) = hosts.get(i)?.get_ref() else {
        return None;
    };
    let span = host
        .iter()
        .find(|(k, _)| k.get_ref() == "name")
        .map(|(_, v)| v.span())?;
    Some(text[..span.start.min(text.len())].matches('\n').count() + 1)
}

/// The profile for `--inventory` alone: the inventory's hosts, named after the file.
pub fn into_loaded(imported: &Imported, path: &Path) -> Result<LoadedProfile, ImportError> {
    Ok(LoadedProfile {
        profile: imported.to_profile()?,
        source: ProfileSource::File(path.to_path_buf()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn inventory_text() -> impl Strategy<Value = String> {
        let pieces = prop::sample::select(vec![
            "[web]\n",
            "[web:vars]\n",
            "[web:children]\n",
            "[db]\n",
            "all:\n",
            "  hosts:\n",
            "  children:\n",
            "    web:\n",
            "      h[1:3]:\n",
            "  vars:\n",
            "    a: 1\n",
            "h1 ansible_host=10.0.0.1\n",
            "h[01:0",
            "x=\"{{ y }}\"\n",
            "ansible_password=pw9\n",
            "ansible_password pw9\n",
            "    ansible_password: pw9\n",
            "[ansible_password=pw9]\n",
            "web1 ansible_become_pass=\"pw9 x\"\n",
            "      db_password: !vault pw9\n",
            "ansible_port=99999\n",
            "- \n",
            ": \n",
            "'",
            "\"",
            "#",
            "[",
            "]",
            ":",
            "=",
            " ",
            "\n",
            "é",
            "\t",
            "{",
            "}",
            "!vault |\n  x\n",
            "&a ",
            "*a ",
            "---\n",
        ]);
        prop::collection::vec(pieces, 0..40).prop_map(|v| v.concat())
    }

    proptest! {
        #[test]
        fn any_text_is_imported_or_refused_without_panicking(text in inventory_text()) {
            for format in [Format::Ini, Format::Yaml] {
                match import_str("inv", &text, format, &[]) {
                    Ok(imported) => {
                        let shown = format!("{}{:?}", imported.to_toml(), imported.warnings);
                        prop_assert!(!shown.contains("pw9"), "{}", shown);
                    }
                    Err(e) => {
                        let shown = format!("{e}{:?}", e.warnings());
                        prop_assert!(!shown.contains("pw9"), "{}", shown);
                    }
                }
            }
        }
    }

    #[test]
    fn formats_are_detected_as_ansible_does() {
        let ini = "[web]\nweb1\n";
        let yaml = "all:\n  hosts:\n    web1:\n";
        assert_eq!(detect_format("hosts", ini, false), Ok(Format::Ini));
        assert_eq!(detect_format("hosts", yaml, false), Ok(Format::Yaml));
        assert_eq!(detect_format("inv.yml", ini, false), Ok(Format::Yaml));
        assert_eq!(detect_format("inv.ini", yaml, false), Ok(Format::Ini));
        assert!(detect_format("ec2.py", "#!/usr/bin/env python3\n", false).is_err());
        assert!(detect_format("inv", "#!/bin/sh\n", true).is_err());
        // An executable file without a shebang is a static inventory to Ansible too.
        assert_eq!(detect_format("inv.ini", ini, true), Ok(Format::Ini));
        assert!(detect_format("inv.toml", "", false).is_err());
        assert!(detect_format("inv", "$ANSIBLE_VAULT;1.1;AES256\n6162\n", false).is_err());
    }

    #[test]
    fn vars_files_rank_above_the_inventory_and_below_host_vars() {
        let text = "[web]\nweb1\nweb2 ansible_user=host-wins\n[web:vars]\nansible_user=inventory\n";
        let vars = |of, name: &str, text: &str| VarsFile {
            of,
            name: name.to_string(),
            file: format!("vars/{name}.yml"),
            text: text.to_string(),
        };
        let imported = import_str(
            "inv.ini",
            text,
            Format::Ini,
            &[
                vars(VarsOf::Group, "all", "ansible_user: from-all-file\n"),
                vars(VarsOf::Host, "web2", "ansible_port: 2202\n"),
                vars(VarsOf::Group, "nosuch", "a: 1\n"),
            ],
        )
        .unwrap();
        let users: Vec<_> = imported.hosts.iter().map(|h| h.user.as_deref()).collect();
        assert_eq!(users, [Some("from-all-file"), Some("host-wins")]);
        assert_eq!(imported.hosts[1].port, Some(2202));
        assert!(
            imported.warnings.iter().any(|w| w.to_string()
                == "vars/nosuch.yml: warning: not read: the inventory has no group `nosuch`"),
            "{:?}",
            imported.warnings
        );
    }
}
