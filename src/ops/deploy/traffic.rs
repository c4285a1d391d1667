//! The watch's view of real traffic: each host's access log, read on from where
//! it ended when the deploy began. Probes say how a few chosen pages answer;
//! the log says how every visitor's request did.

use std::time::Duration;

use crate::config::app::WatchSettings;
use crate::remote::Command;
use crate::web::combined_log::{self, TimeUnit};

use super::fleet::AppHost;
use super::gate::Samples;

/// How much of each log before the deploy makes the baseline.
const BASELINE_BYTES: u64 = 256 << 10;
/// At most this much of a log is read per poll (a busy site's 2 s).
const POLL_BYTES: u64 = 4 << 20;
const READ_TIMEOUT: Duration = Duration::from_secs(10);
/// The user agent of opsctl's own probes: counted by the probes, not twice.
const OWN_PROBES: &str = "opsctl-health/";

/// The log's path on a host: relative to the app's directory unless absolute.
pub fn log_path(app_path: &str, access_log: &str) -> String {
    if access_log.starts_with('/') {
        access_log.to_string()
    } else {
        format!("{}/{access_log}", app_path.trim_end_matches('/'))
    }
}

/// Where to start reading.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum From {
    /// The last `BASELINE_BYTES` before the end (the baseline).
    End,
    /// This byte offset; a log shorter than it was rotated or truncated, and is
    /// read from its start.
    Offset(u64),
}

/// Prints `SIZE START`, then the log's bytes from START: up to the end (From::End)
/// or at most POLL_BYTES.
pub fn read_command(file: &str, from: From) -> Command {
    let script = r#"f=$1
[ -r "$f" ] || { echo "cannot read $f" >&2; exit 3; }
size=$(wc -c < "$f") || exit 3
if [ "$2" = end ]; then
  off=0; if [ "$size" -gt "$3" ]; then off=$((size - $3)); fi
  max=$((size - off))
else
  off=$2; max=$3
  if [ "$size" -lt "$off" ]; then off=0; fi
fi
echo "$size $off"
tail -c +$((off + 1)) -- "$f" | head -c "$max""#;
    let (from, max) = match from {
        From::End => ("end".to_string(), BASELINE_BYTES),
        From::Offset(o) => (o.to_string(), POLL_BYTES),
    };
    Command::shell_script(script)
        .arg(file)
        .arg(from)
        .arg(max.to_string())
        .max_output(usize::try_from(POLL_BYTES).unwrap_or(usize::MAX) + 64)
        .timeout(READ_TIMEOUT)
}

/// What a read returned: the whole lines in it, and the offset after them.
#[derive(Debug, Clone, PartialEq)]
pub struct Chunk {
    pub text: String,
    pub next: u64,
}

/// Splits a read's output. A line cut at the end waits for the next read; the
/// baseline's first line, cut at its start, is dropped; a single line longer
/// than a whole read is skipped rather than read for ever.
pub fn chunk(output: &[u8], from: From) -> Option<Chunk> {
    let nl = output.iter().position(|&b| b == b'\n')?;
    let head = std::str::from_utf8(&output[..nl]).ok()?;
    let (_, start) = head.split_once(' ')?;
    let start: u64 = start.trim().parse().ok()?;
    let body = &output[nl + 1..];
    let mut begin = 0;
    if from == From::End && start > 0 {
        begin = body
            .iter()
            .position(|&b| b == b'\n')
            .map_or(body.len(), |i| i + 1);
    }
    let end = match body.iter().rposition(|&b| b == b'\n') {
        Some(i) if i + 1 > begin => i + 1,
        _ if from != From::End && body.len() as u64 >= POLL_BYTES => body.len(),
        _ => begin,
    };
    let text = if end > begin {
        String::from_utf8_lossy(&body[begin..end]).into_owned()
    } else {
        String::new()
    };
    Some(Chunk {
        text,
        next: start + end as u64,
    })
}

/// The requests in `text` as watch samples: 5xx as errors, the others by their
/// request time; opsctl's own probes and lines that do not parse are left out.
pub fn samples(text: &str, unit: TimeUnit) -> Samples {
    let mut s = Samples::default();
    for e in text.lines().filter_map(combined_log::parse) {
        if e.user_agent.starts_with(OWN_PROBES) {
            continue;
        }
        if e.is_server_error() {
            s.errors += 1;
        } else if let Some(ms) = e.duration_ms(unit) {
            s.latencies_ms.push(ms);
        }
    }
    s
}

struct Tail<'a> {
    host: &'a AppHost,
    file: String,
    next: u64,
}

/// The access logs of every host, read on as the watch goes.
pub struct AccessLogs<'a> {
    tails: Vec<Tail<'a>>,
    unit: TimeUnit,
    /// Requests in the logs before the deploy.
    pub before: Samples,
    /// Requests since the watch began.
    pub since: Samples,
    polls: usize,
}

impl<'a> AccessLogs<'a> {
    /// Reads where each host's log ends, and the requests just before that (the
    /// baseline). A host whose log cannot be read is left out, and said.
    pub async fn open(hosts: &'a [AppHost], watch: &WatchSettings) -> (Option<Self>, Vec<String>) {
        let Some(access_log) = &watch.access_log else {
            return (None, Vec::new());
        };
        let reads = hosts.iter().map(|h| async move {
            let file = log_path(&h.path, access_log);
            let out = h.remote.run(&read_command(&file, From::End)).await;
            (h, file, out)
        });
        let mut logs = AccessLogs {
            tails: Vec::new(),
            unit: watch.access_log_time_unit,
            before: Samples::default(),
            since: Samples::default(),
            polls: 0,
        };
        let mut problems = Vec::new();
        for (h, file, out) in futures::future::join_all(reads).await {
            match out {
                Ok(o) if o.success() => match chunk(&o.stdout, From::End) {
                    Some(c) => {
                        logs.before.merge(samples(&c.text, logs.unit));
                        logs.tails.push(Tail {
                            host: h,
                            file,
                            next: c.next,
                        });
                    }
                    None => problems.push(format!("{}: {file}: unreadable answer", h.name)),
                },
                Ok(o) => problems.push(format!("{}: {}", h.name, o.stderr_lossy().trim())),
                Err(e) => problems.push(format!("{}: {file}: {e}", h.name)),
            }
        }
        if logs.tails.is_empty() {
            return (None, problems);
        }
        (Some(logs), problems)
    }

    /// Logs already read (the watch's judgement, tested without hosts).
    #[cfg(test)]
    pub fn read_already(before: Samples, since: Samples) -> AccessLogs<'static> {
        AccessLogs {
            tails: Vec::new(),
            unit: TimeUnit::Seconds,
            before,
            since,
            polls: 1,
        }
    }

    /// Starts `since` afresh from here: the requests of the prepare and switch
    /// phases (old and new releases mixed) are read and dropped.
    pub async fn skip_to_now(&mut self) {
        self.read().await;
        self.since = Samples::default();
        self.polls = 0;
    }

    /// Reads what every log gained since the last poll; those requests, also
    /// added to `since` (but for the first poll's latencies: fresh workers are
    /// slow whatever the release; its errors count).
    pub async fn poll(&mut self) -> Samples {
        let fresh = self.read().await;
        let mut counted = fresh.clone();
        if self.polls == 0 {
            counted.latencies_ms.clear();
        }
        self.polls += 1;
        self.since.merge(counted);
        fresh
    }

    /// A host that fails a read is tried again next time.
    async fn read(&mut self) -> Samples {
        let reads = self.tails.iter().map(|t| async move {
            let from = From::Offset(t.next);
            t.host
                .remote
                .run(&read_command(&t.file, from))
                .await
                .ok()
                .filter(|o| o.success())
                .and_then(|o| chunk(&o.stdout, from))
        });
        let chunks = futures::future::join_all(reads).await;
        let mut fresh = Samples::default();
        for (t, c) in self.tails.iter_mut().zip(chunks) {
            if let Some(c) = c {
                t.next = c.next;
                fresh.merge(samples(&c.text, self.unit));
            }
        }
        fresh
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_end_on_whole_lines_and_go_on_from_there() {
        let c = chunk(b"120 100\nline a\nline b\npart", From::Offset(100)).unwrap();
        assert_eq!(c.text, "line a\nline b\n");
        assert_eq!(c.next, 100 + 14);
        // Nothing new: the same offset.
        let c = chunk(b"114 114\n", From::Offset(114)).unwrap();
        assert_eq!((c.text.as_str(), c.next), ("", 114));
        // The baseline starts mid-line unless it starts at the file's start.
        let c = chunk(b"5000 4000\nt of a line\nwhole\n", From::End).unwrap();
        assert_eq!(c.text, "whole\n");
        assert_eq!(c.next, 4000 + 18);
        let c = chunk(b"12 0\nfirst\nsecond\n", From::End).unwrap();
        assert_eq!(c.text, "first\nsecond\n");
        assert_eq!(chunk(b"garbage", From::End), None);
        // A line longer than a whole read is skipped, not read for ever.
        let mut long = b"99999999 10\n".to_vec();
        long.extend(std::iter::repeat_n(b'x', POLL_BYTES as usize));
        let c = chunk(&long, From::Offset(10)).unwrap();
        assert_eq!(c.next, 10 + POLL_BYTES);
    }

    #[test]
    fn samples_count_5xx_as_errors_and_leave_out_our_own_probes() {
        let text = "\
127.0.0.1 - - [02/Dec/2026:04:02:16 +0000] \"GET /products/ HTTP/1.1\" 200 1316 \"-\" \"-\" 0.250\n\
127.0.0.1 - - [02/Dec/2026:04:02:16 +0000] \"GET /products/ HTTP/1.1\" 502 0 \"-\" \"-\" 0.001\n\
127.0.0.6 - - [02/Dec/2026:04:44:22 +0000] \"GET /healthz HTTP/1.1\" 200 3 \"-\" \"opsctl-health/0.1.0\" 0.043\n\
not a log line\n";
        let s = samples(text, TimeUnit::Seconds);
        assert_eq!(s.latencies_ms, [250.0]);
        assert_eq!(s.errors, 1);
    }

    #[test]
    fn captured_gunicorn_lines_give_their_times() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/access_logs/gunicorn-web1.log"
        );
        let text = std::fs::read_to_string(path).unwrap();
        let s = samples(&text, TimeUnit::Seconds);
        let ours = text
            .lines()
            .filter(|l| l.contains("opsctl-health/"))
            .count();
        assert!(ours > 0);
        assert_eq!(s.total(), text.lines().count() - ours);
        assert!(s.latencies_ms.iter().all(|&ms| ms > 0.0 && ms < 10_000.0));
    }

    /// The read script against a real file: the end, what was appended, then a
    /// rotation (the file shorter than where we were).
    #[tokio::test]
    async fn the_read_script_follows_a_growing_and_rotated_file() {
        use crate::remote::Remote;
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("access.log");
        let file_s = file.to_string_lossy().into_owned();
        std::fs::write(&file, "old 1\nold 2\n").unwrap();
        let here = crate::remote::local::LocalRemote::new("here");
        let read = |from| {
            let cmd = read_command(&file_s, from);
            let here = here.clone();
            async move {
                let out = here.run(&cmd).await.unwrap();
                assert!(out.success(), "{}", out.stderr_lossy());
                chunk(&out.stdout, from).unwrap()
            }
        };
        let base = read(From::End).await;
        assert_eq!(base.text, "old 1\nold 2\n");
        assert_eq!(base.next, 12);
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(&file)
            .unwrap();
        std::io::Write::write_all(&mut f, b"new 1\nnew 2 half").unwrap();
        let c = read(From::Offset(base.next)).await;
        assert_eq!(c.text, "new 1\n");
        std::io::Write::write_all(&mut f, b" done\n").unwrap();
        let c = read(From::Offset(c.next)).await;
        assert_eq!(c.text, "new 2 half done\n");
        std::fs::write(&file, "rotated\n").unwrap();
        let c = read(From::Offset(c.next)).await;
        assert_eq!((c.text.as_str(), c.next), ("rotated\n", 8));
        let missing = here
            .run(&read_command("/nonexistent/opsctl.log", From::End))
            .await
            .unwrap();
        assert!(!missing.success());
        assert!(missing.stderr_lossy().contains("cannot read"));
    }

    #[test]
    fn relative_logs_are_in_the_apps_directory() {
        assert_eq!(
            log_path("/srv/shop/", "shared/log/access.log"),
            "/srv/shop/shared/log/access.log"
        );
        assert_eq!(
            log_path("/srv/shop", "/var/log/nginx/a.log"),
            "/var/log/nginx/a.log"
        );
    }
}
