//! Whole log files read from a host: a glob with its rotations (`.1`, `.2.gz`)
//! listed on the host, old files left there, the rest streamed back compressed.
//! `opsctl digest HOST:PATH` reads slow logs this way.

use std::io::Read;
use std::time::Duration;

use tokio::sync::mpsc;

use crate::remote::{ByteEvent, ByteStream, Command, Remote, RemoteError};

/// How long listing the files may take.
const LIST_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a file's transfer may take to start (it may then run for long).
const START_TIMEOUT: Duration = Duration::from_secs(30);
/// A listing longer than this is refused (a glob that matches a whole tree).
const LIST_LIMIT: usize = 1 << 20;

/// One file a pattern matched on the host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogFile {
    pub path: String,
    pub size: u64,
    /// Last modification, seconds since the epoch (the newest line in it).
    pub modified: i64,
}

/// What a pattern matched, and what was left on the host.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Listing {
    /// Oldest first, so lines reach the digest in the order they were written.
    pub files: Vec<LogFile>,
    /// Files whose last write is older than `since`: nothing in them is wanted.
    pub skipped_old: Vec<LogFile>,
    /// Files that matched but cannot be read (permissions).
    pub unreadable: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum LogFilesError {
    #[error("{host}: {source}")]
    Remote {
        host: String,
        #[source]
        source: RemoteError,
    },
    #[error("{host}: listing {pattern} failed: {why}")]
    List {
        host: String,
        pattern: String,
        why: String,
    },
}

/// Expands `pattern` on the host (a shell glob; spaces are not separators) and
/// says which files hold lines at or after `since` (seconds since the epoch).
pub async fn list(
    remote: &dyn Remote,
    pattern: &str,
    since: Option<i64>,
) -> Result<Listing, LogFilesError> {
    // The pattern travels as $1 and is globbed by the shell, never pasted.
    let script = r#"IFS='
'
for f in $1; do
  [ -f "$f" ] || continue
  if [ ! -r "$f" ]; then printf 'unreadable\t%s\n' "$f"; continue; fi
  m=$(stat -c %Y -- "$f") || continue
  s=$(stat -c %s -- "$f") || continue
  printf 'file\t%s\t%s\t%s\n' "$m" "$s" "$f"
done"#;
    let cmd = Command::shell_script(script)
        .arg(pattern)
        .timeout(LIST_TIMEOUT)
        .max_output(LIST_LIMIT);
    let out = remote
        .run(&cmd)
        .await
        .map_err(|source| LogFilesError::Remote {
            host: remote.name().to_string(),
            source,
        })?;
    if !out.success() || out.truncated {
        let why = if out.truncated {
            "the pattern matches too many files".to_string()
        } else {
            out.stderr_lossy().trim().to_string()
        };
        return Err(LogFilesError::List {
            host: remote.name().to_string(),
            pattern: pattern.to_string(),
            why,
        });
    }
    Ok(parse_listing(&out.stdout_lossy(), since))
}

/// Reads the listing script's lines (`file\tMTIME\tSIZE\tPATH`, `unreadable\tPATH`).
fn parse_listing(text: &str, since: Option<i64>) -> Listing {
    let mut listing = Listing::default();
    for line in text.lines() {
        let mut parts = line.splitn(4, '\t');
        match parts.next() {
            Some("unreadable") => {
                if let Some(p) = parts.next() {
                    listing.unreadable.push(p.to_string());
                }
            }
            Some("file") => {
                let (Some(m), Some(s), Some(p)) = (parts.next(), parts.next(), parts.next()) else {
                    continue;
                };
                let (Ok(modified), Ok(size)) = (m.parse::<i64>(), s.parse::<u64>()) else {
                    continue;
                };
                let file = LogFile {
                    path: p.to_string(),
                    size,
                    modified,
                };
                if since.is_some_and(|t| modified < t) {
                    listing.skipped_old.push(file);
                } else {
                    listing.files.push(file);
                }
            }
            _ => {}
        }
    }
    // Oldest first; a rotation written in the same second goes by its number
    // (`log.2` before `log.1` before `log`).
    listing
        .files
        .sort_by(|a, b| a.modified.cmp(&b.modified).then(rotation_order(a, b)));
    listing
}

fn rotation_order(a: &LogFile, b: &LogFile) -> std::cmp::Ordering {
    rotation_number(&b.path).cmp(&rotation_number(&a.path))
}

/// `log.3.gz` → 3, `log.1` → 1, `log` → 0.
fn rotation_number(path: &str) -> u32 {
    let base = path.strip_suffix(".gz").unwrap_or(path);
    base.rsplit_once('.')
        .and_then(|(_, n)| n.parse().ok())
        .unwrap_or(0)
}

/// Starts sending one file. With `compress`, a file that is not gzipped already
/// is gzipped on the host (`gzip -1`: fast, most of the gain on text) when the host
/// has gzip; the reader recognizes gzip by its magic bytes either way.
pub async fn fetch(
    remote: &dyn Remote,
    path: &str,
    compress: bool,
) -> Result<ByteStream, LogFilesError> {
    let script = if compress {
        r#"case "$1" in *.gz) exec cat -- "$1";; esac
if command -v gzip >/dev/null 2>&1; then exec gzip -c -1 -- "$1"; fi
exec cat -- "$1""#
    } else {
        r#"exec cat -- "$1""#
    };
    let cmd = Command::shell_script(script)
        .arg(path)
        .timeout(START_TIMEOUT);
    remote
        .stream_bytes(&cmd)
        .await
        .map_err(|source| LogFilesError::Remote {
            host: remote.name().to_string(),
            source,
        })
}

/// Starts sending the last `max_bytes` of a file, gzipped on the host when it
/// has gzip. The tail starts at a line that can begin a log entry (a timestamp,
/// a `#` header, a JSON object): a cut first line, and the continuation lines of a
/// multi-line entry, are dropped, so a format is recognized from what it sees.
pub async fn fetch_tail(
    remote: &dyn Remote,
    path: &str,
    max_bytes: u64,
) -> Result<ByteStream, LogFilesError> {
    // dash has no pipefail: the checks that can fail run before the pipeline.
    let script = r#"[ -r "$1" ] || { echo "cannot read $1" >&2; exit 1; }
size=$(stat -c %s -- "$1") || exit 1
if [ "$size" -gt "$2" ]; then tail -c "$2" -- "$1" | tail -n +2 | awk 'f || /^[0-9#{]/ { f = 1; print }'; else cat -- "$1"; fi |
if command -v gzip >/dev/null 2>&1; then gzip -c -1; else cat; fi"#;
    let cmd = Command::shell_script(script)
        .arg(path)
        .arg(max_bytes.to_string())
        .timeout(START_TIMEOUT);
    remote
        .stream_bytes(&cmd)
        .await
        .map_err(|source| LogFilesError::Remote {
            host: remote.name().to_string(),
            source,
        })
}

/// `reader`, gunzipped when it starts with gzip's magic bytes.
pub fn decoded(reader: impl Read + Send + 'static) -> std::io::Result<Box<dyn Read + Send>> {
    use std::io::BufRead;
    let mut buffered = std::io::BufReader::with_capacity(1 << 16, reader);
    let gz = buffered.fill_buf()?.starts_with(&[0x1f, 0x8b]);
    Ok(if gz {
        Box::new(flate2::read::MultiGzDecoder::new(buffered))
    } else {
        Box::new(buffered)
    })
}

/// A [`ByteStream`] read as a blocking [`Read`], for the digest's worker threads.
/// Must not be read on a tokio worker thread. A command that fails (exit status
/// not 0) ends the read with an error carrying its stderr.
pub struct StreamReader {
    rx: mpsc::Receiver<ByteEvent>,
    buf: Vec<u8>,
    at: usize,
    stderr: Vec<String>,
    what: String,
    done: bool,
}

impl StreamReader {
    pub fn new(rx: ByteStream, what: impl Into<String>) -> Self {
        StreamReader {
            rx,
            buf: Vec::new(),
            at: 0,
            stderr: Vec::new(),
            what: what.into(),
            done: false,
        }
    }
}

impl Read for StreamReader {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        while self.at >= self.buf.len() {
            if self.done {
                return Ok(0);
            }
            match self.rx.blocking_recv() {
                Some(ByteEvent::Stdout(data)) => {
                    self.buf = data;
                    self.at = 0;
                }
                Some(ByteEvent::Stderr(line)) => {
                    if self.stderr.len() < 20 {
                        self.stderr.push(line);
                    }
                }
                Some(ByteEvent::Exit(Some(0))) => self.done = true,
                Some(ByteEvent::Exit(status)) => {
                    self.done = true;
                    let how = status.map_or("was killed".to_string(), |s| format!("exited {s}"));
                    return Err(std::io::Error::other(format!(
                        "reading {} {how}: {}",
                        self.what,
                        self.stderr.join("; ")
                    )));
                }
                None => {
                    self.done = true;
                    return Err(std::io::Error::other(format!(
                        "reading {}: the connection ended before the file did",
                        self.what
                    )));
                }
            }
        }
        let n = out.len().min(self.buf.len() - self.at);
        out[..n].copy_from_slice(&self.buf[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::remote::local::LocalRemote;

    fn f(path: &str, modified: i64) -> String {
        format!("file\t{modified}\t10\t{path}\n")
    }

    #[test]
    fn oldest_first_and_old_files_stay_on_the_host() {
        let text = [
            f("/l/pg.log", 300),
            f("/l/pg.log.1", 200),
            f("/l/pg.log.2.gz", 100),
            f("/l/pg.log.3.gz", 50),
            "unreadable\t/l/secret.log\n".to_string(),
        ]
        .concat();
        let l = parse_listing(&text, Some(90));
        let names: Vec<_> = l.files.iter().map(|f| f.path.as_str()).collect();
        assert_eq!(names, ["/l/pg.log.2.gz", "/l/pg.log.1", "/l/pg.log"]);
        assert_eq!(l.skipped_old.len(), 1);
        assert_eq!(l.skipped_old[0].path, "/l/pg.log.3.gz");
        assert_eq!(l.unreadable, ["/l/secret.log"]);
    }

    #[test]
    fn rotations_of_the_same_second_go_by_number() {
        let text = [f("/l/a", 5), f("/l/a.1", 5), f("/l/a.2.gz", 5)].concat();
        let l = parse_listing(&text, None);
        let names: Vec<_> = l.files.iter().map(|f| f.path.as_str()).collect();
        assert_eq!(names, ["/l/a.2.gz", "/l/a.1", "/l/a"]);
    }

    #[test]
    fn odd_lines_are_ignored() {
        let l = parse_listing("garbage\nfile\tx\t1\t/a\nfile\t1\n", None);
        assert_eq!(l, Listing::default());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_glob_with_a_space_is_listed_and_fetched_compressed() {
        let dir = tempfile::tempdir().unwrap();
        let sub = dir.path().join("my logs");
        std::fs::create_dir(&sub).unwrap();
        let text = "line one\nline two\n".repeat(1000);
        std::fs::write(sub.join("slow.log"), &text).unwrap();
        std::fs::write(sub.join("slow.log.1"), "older\n").unwrap();
        let remote = LocalRemote::new("here");
        let pattern = format!("{}/slow.log*", sub.display());
        let l = list(&remote, &pattern, None).await.unwrap();
        assert_eq!(l.files.len(), 2, "{l:?}");
        let newest = l
            .files
            .iter()
            .find(|f| f.path.ends_with("slow.log"))
            .unwrap();
        let rx = fetch(&remote, &newest.path, true).await.unwrap();
        let (wire, plain) = tokio::task::spawn_blocking(move || {
            let mut wire = Vec::new();
            StreamReader::new(rx, "slow.log")
                .read_to_end(&mut wire)
                .unwrap();
            let mut plain = String::new();
            flate2::read::MultiGzDecoder::new(&wire[..])
                .read_to_string(&mut plain)
                .unwrap();
            (wire, plain)
        })
        .await
        .unwrap();
        assert_eq!(plain, text);
        assert!(wire.len() * 10 < text.len(), "compressed on the wire");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_file_that_vanishes_is_an_error_not_an_empty_log() {
        let remote = LocalRemote::new("here");
        let rx = fetch(&remote, "/nonexistent/opsctl-test.log", true)
            .await
            .unwrap();
        let err = tokio::task::spawn_blocking(move || {
            let mut buf = Vec::new();
            StreamReader::new(rx, "here:/nonexistent/opsctl-test.log")
                .read_to_end(&mut buf)
                .unwrap_err()
        })
        .await
        .unwrap();
        let msg = err.to_string();
        assert!(msg.contains("/nonexistent/opsctl-test.log"), "{msg}");
        assert!(msg.contains("exited"), "{msg}");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_tail_starts_at_a_whole_line() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("slow.log");
        let text: String = (0..1000).map(|i| format!("{i:04} line\n")).collect();
        std::fs::write(&log, &text).unwrap();
        let remote = LocalRemote::new("here");
        let path = log.display().to_string();
        let rx = fetch_tail(&remote, &path, 25).await.unwrap();
        let whole = fetch_tail(&remote, &path, 1 << 20).await.unwrap();
        let (tail, all) = tokio::task::spawn_blocking(move || {
            let read = |rx| {
                let mut s = String::new();
                decoded(StreamReader::new(rx, "slow.log"))
                    .unwrap()
                    .read_to_string(&mut s)
                    .unwrap();
                s
            };
            (read(rx), read(whole))
        })
        .await
        .unwrap();
        // 25 bytes from the end: a cut line, then "0998 line\n0999 line\n".
        assert_eq!(tail, "0998 line\n0999 line\n");
        assert_eq!(all, text);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn nothing_matching_is_an_empty_listing() {
        let remote = LocalRemote::new("here");
        let l = list(&remote, "/nonexistent/opsctl-*.log", None)
            .await
            .unwrap();
        assert!(l.files.is_empty());
    }
}
