//! A gunicorn master's workers: counted as the master's children, changed with
//! TTIN (one more) and TTOU (one fewer, the oldest, gracefully), one signal per
//! worker. Never HUP: it reloads the config and resets the count to it.

use std::time::Duration;

use crate::remote::Command;

/// Exit status of the scripts when the master is not there (no pid, not running).
pub const NO_MASTER: i32 = 3;
/// The count changed between the plan and the run: nothing was sent.
pub const MOVED: i32 = 7;
/// The signals were sent; the count did not arrive within the timeout.
pub const TIMED_OUT: i32 = 6;

const MASTER: &str = r#"pidf="$1"
master="$(cat -- "$pidf" 2>/dev/null)"
case "$master" in ''|*[!0-9]*) echo "no gunicorn master: $pidf holds no pid" >&2; exit 3;; esac
[ -n "$(ps -o pid= -p "$master" 2>/dev/null)" ] || { echo "the gunicorn master $master (from $pidf) is not running" >&2; exit 3; }
workers() { ps -o pid= --ppid "$master" 2>/dev/null | tr -s ' \n' ' ' | sed 's/^ //; s/ $//'; }
count() { set -- $(workers); echo $#; }
"#;

/// `MASTER pid` and `WORKERS pid pid ...` of the master in `pid_file`.
pub fn status_command(pid_file: &str) -> Command {
    let script = format!("{MASTER}echo \"MASTER $master\"\necho \"WORKERS $(workers)\"\n");
    Command::shell_script(&script)
        .arg(pid_file)
        .timeout(Duration::from_secs(15))
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Master {
    pub pid: u32,
    pub workers: Vec<u32>,
}

/// What `status_command` printed.
pub fn parse_status(stdout: &str) -> Result<Master, String> {
    let mut pid = None;
    let mut workers = None;
    for line in stdout.lines() {
        if let Some(p) = line.strip_prefix("MASTER ") {
            pid = p.trim().parse::<u32>().ok();
        } else if let Some(w) = line.strip_prefix("WORKERS") {
            workers = w
                .split_whitespace()
                .map(|p| p.parse::<u32>().ok())
                .collect::<Option<Vec<_>>>();
        }
    }
    match (pid, workers) {
        (Some(pid), Some(workers)) => Ok(Master { pid, workers }),
        _ => Err(format!(
            "unexpected answer from the host: {}",
            stdout.trim().chars().take(200).collect::<String>()
        )),
    }
}

/// Sends `from.abs_diff(to)` TTIN or TTOU to the master, spaced so gunicorn's
/// signal queue (five deep) never drops one, then waits until it has `to`
/// workers. Refuses (exit 7) when the master does not have `from` now.
pub fn scale_command(pid_file: &str, from: u32, to: u32, timeout: Duration) -> Command {
    let script = format!(
        r#"{MASTER}from="$2"; to="$3"; t="$4"
now="$(count)"
[ "$now" = "$from" ] || {{ echo "the master $master has $now workers, not the $from of the plan; no signal was sent" >&2; exit 7; }}
if [ "$to" -gt "$from" ]; then sig=TTIN; n=$((to - from)); else sig=TTOU; n=$((from - to)); fi
echo "master $master, workers before: $(workers)"
i=0
while [ "$i" -lt "$n" ]; do
  kill -s "$sig" "$master" || {{ echo "cannot signal the master $master" >&2; exit 3; }}
  i=$((i + 1))
  sleep 0.2
done
echo "$sig sent $n times"
end=$(( $(date +%s) + t ))
while :; do
  now="$(count)"
  if [ "$now" = "$to" ]; then echo "master $master, workers after: $(workers)"; exit 0; fi
  [ "$(date +%s)" -ge "$end" ] && {{ echo "the master $master has $now workers, not $to, ${{t}}s after the signals" >&2; exit 6; }}
  sleep 0.2
done
"#
    );
    Command::shell_script(&script)
        .arg(pid_file)
        .arg(from.to_string())
        .arg(to.to_string())
        .arg(timeout.as_secs().max(1).to_string())
        .timeout(timeout + Duration::from_secs(15))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_answers_parse_and_garbage_is_said() {
        let m = parse_status("MASTER 4242\nWORKERS 4250 4251\n").unwrap();
        assert_eq!(m.pid, 4242);
        assert_eq!(m.workers, [4250, 4251]);
        let none = parse_status("MASTER 1\nWORKERS\n").unwrap();
        assert!(none.workers.is_empty());
        let e = parse_status("sh: ps: not found\n").unwrap_err();
        assert!(e.contains("ps: not found"), "{e}");
        assert!(parse_status("MASTER x\nWORKERS 1").is_err());
    }

    #[test]
    fn the_scale_command_carries_its_data_as_arguments() {
        let c = scale_command("/srv/a b/gunicorn.pid", 2, 4, Duration::from_secs(30));
        let argv = c.argv();
        assert_eq!(&argv[..2], ["sh", "-c"]);
        assert_eq!(&argv[3..], ["sh", "/srv/a b/gunicorn.pid", "2", "4", "30"]);
        assert!(
            !argv[2].contains("HUP"),
            "gunicorn's HUP resets the worker count"
        );
    }
}
