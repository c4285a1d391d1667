//! The commands an upstream change runs on a load balancer: the config check with
//! the new file in place, and the graceful reload that waits for the old workers
//! (which hold every request still going to a drained backend) to exit.

use std::time::Duration;

use crate::remote::Command;

/// The reload script's exit status when the old workers outlive the drain timeout.
pub const DRAIN_TIMED_OUT: i32 = 6;

pub fn test_command(argv: &[String], timeout: Duration) -> Command {
    let (program, args) = argv
        .split_first()
        .map_or(("nginx", &[][..]), |(p, a)| (p.as_str(), a));
    Command::new(program)
        .args(args.iter().cloned())
        .timeout(timeout)
}

/// `$1` the master's pid file, `$2` the drain timeout in seconds, then the reload
/// argv. The old workers are the master's children before the reload: once they
/// are gone, nginx sends nothing more over connections opened before it.
const RELOAD_AND_DRAIN: &str = r#"pidf="$1"; t="$2"; shift 2
master="$(cat -- "$pidf" 2>/dev/null)"
case "$master" in ''|*[!0-9]*) echo "no nginx master: $pidf holds no pid" >&2; exit 3;; esac
[ -n "$(ps -o pid= -p "$master" 2>/dev/null)" ] || { echo "the nginx master $master (from $pidf) is not running" >&2; exit 3; }
old="$(ps -o pid= --ppid "$master" | tr -s ' \n' ' ')"
"$@" || { echo "the reload failed; the old configuration still serves" >&2; exit 5; }
end=$(( $(date +%s) + t ))
while :; do
  left=""
  for p in $old; do
    s="$(ps -o stat= -p "$p" 2>/dev/null)"
    [ -n "$s" ] && [ "${s#Z}" = "$s" ] && left="$left $p"
  done
  [ -z "$left" ] && { echo "reloaded; the old workers ($(echo $old)) have exited"; exit 0; }
  [ "$(date +%s)" -ge "$end" ] && { echo "old workers still serving ${t}s after the reload:$left" >&2; exit 6; }
  sleep 0.2
done
"#;

pub fn reload_command(pid_file: &str, reload: &[String], drain: Duration) -> Command {
    Command::shell_script(RELOAD_AND_DRAIN)
        .arg(pid_file)
        .arg(drain.as_secs().max(1).to_string())
        .args(reload.iter().cloned())
        .timeout(drain + Duration::from_secs(15))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_reload_carries_the_argv_as_arguments() {
        let reload = vec!["nginx".to_string(), "-s".into(), "reload".into()];
        let c = reload_command("/run/nginx.pid", &reload, Duration::from_secs(60));
        assert_eq!(
            &c.argv()[3..],
            ["sh", "/run/nginx.pid", "60", "nginx", "-s", "reload"]
        );
        let t = test_command(&["nginx".into(), "-t".into()], Duration::from_secs(5));
        assert_eq!(t.argv(), ["nginx", "-t"]);
    }
}
