//! From what the user asked for (a tag, a branch, a commit id) to the full commit
//! id, before anything changes: `git ls-remote` on the first host, which reaches
//! the repository as every host will; a commit id is looked up in that host's
//! mirror.

use super::fleet::AppHost;
use super::layout;

/// The commit `rev` names in `git ls-remote` output: an annotated tag's peeled
/// commit first, then the tag, a branch, an exact ref (`HEAD`), then the one ref
/// ending in `/rev`.
pub fn from_ls_remote(output: &str, rev: &str) -> Option<String> {
    let refs: Vec<(&str, &str)> = output
        .lines()
        .filter_map(|l| {
            let (sha, name) = l.split_once('\t')?;
            is_full_sha(sha.trim()).then_some((sha.trim(), name.trim()))
        })
        .collect();
    let find = |want: &str| {
        refs.iter()
            .find(|(_, n)| *n == want)
            .map(|(s, _)| s.to_string())
    };
    find(&format!("refs/tags/{rev}^{{}}"))
        .or_else(|| find(&format!("refs/tags/{rev}")))
        .or_else(|| find(&format!("refs/heads/{rev}")))
        .or_else(|| find(rev))
        .or_else(|| {
            let tail = format!("/{rev}");
            let mut hits = refs.iter().filter(|(_, n)| n.ends_with(&tail));
            match (hits.next(), hits.next()) {
                (Some((s, _)), None) => Some(s.to_string()),
                _ => None,
            }
        })
}

pub fn is_full_sha(s: &str) -> bool {
    s.len() == 40 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

fn looks_like_sha(s: &str) -> bool {
    (7..=40).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Resolves `rev` on `host` (see the module's words).
pub async fn resolve(host: &AppHost, repository: &str, rev: &str) -> Result<String, String> {
    if rev.is_empty() || rev.starts_with('-') || rev.chars().any(char::is_control) {
        return Err(format!("`{rev}` is not a revision"));
    }
    let out = host
        .remote
        .run(&layout::ls_remote(repository, rev))
        .await
        .map_err(|e| format!("{}: git ls-remote {repository}: {e}", host.name))?;
    if !out.success() {
        return Err(format!(
            "{}: git ls-remote {repository}: {}",
            host.name,
            out.stderr_lossy().trim()
        ));
    }
    if let Some(sha) = from_ls_remote(&out.stdout_lossy(), rev) {
        return Ok(sha);
    }
    if looks_like_sha(rev) {
        let out = host
            .remote
            .run(&layout::mirror_rev_parse(&host.path, rev))
            .await
            .map_err(|e| format!("{}: {e}", host.name))?;
        let sha = out.stdout_lossy().trim().to_string();
        if out.success() && is_full_sha(&sha) {
            return Ok(sha);
        }
        if is_full_sha(rev) {
            // Not fetched yet; the mirror's update before the release is made brings it.
            return Ok(rev.to_ascii_lowercase());
        }
    }
    Err(format!(
        "no branch, tag or commit `{rev}` in {repository} (as {} sees it)",
        host.name
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    const LS: &str = "c440f3edf744bccee5c1d76f3520baf532e28340\trefs/heads/main\n\
fb5937c551e210ac5086979308b5cd9ba514e59e\trefs/tags/v1\n\
82fc3839ab0316f926233287cc311f85eb9abaf8\trefs/tags/v1^{}\n\
1111111111111111111111111111111111111111\trefs/heads/feature/x\n\
2222222222222222222222222222222222222222\trefs/remotes/a/y\n\
3333333333333333333333333333333333333333\trefs/remotes/b/y\n";

    #[test]
    fn annotated_tags_name_their_commit() {
        assert_eq!(
            from_ls_remote(LS, "v1").as_deref(),
            Some("82fc3839ab0316f926233287cc311f85eb9abaf8")
        );
        assert_eq!(
            from_ls_remote(LS, "main").as_deref(),
            Some("c440f3edf744bccee5c1d76f3520baf532e28340")
        );
        assert_eq!(
            from_ls_remote(LS, "x").as_deref(),
            Some("1111111111111111111111111111111111111111")
        );
        // Two refs end in /y: ambiguous, not guessed.
        assert_eq!(from_ls_remote(LS, "y"), None);
        assert_eq!(from_ls_remote(LS, "v9"), None);
        assert_eq!(from_ls_remote("garbage\n\tno sha\n", "v1"), None);
    }
}
