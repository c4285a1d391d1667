//! Making a host's app serve the release `current` points at.
//!
//! gunicorn's USR2 is the careful road: the old master re-executes itself as a
//! new master beside it (on the new `current`), and only once the new master's
//! workers are up and stay up does the old master get WINCH and TERM. A new
//! release that cannot boot kills only the new master; the old one never stopped
//! serving, so nothing has to be restarted to undo it.

use std::time::Duration;

use crate::config::app::{RestartSettings, RestartStrategy};
use crate::remote::Command;

use super::layout::in_dir;

/// Exit codes of the USR2 script that mean the old master still serves, untouched.
const OLD_STILL_SERVING: [i32; 3] = [3, 4, 5];

/// The restart step of a host, `None` for `strategy = "none"`.
pub fn command(app_path: &str, r: &RestartSettings) -> Option<Command> {
    let timeout = Duration::from_secs_f64(r.timeout_secs);
    let pid_file = if r.pid_file.starts_with('/') {
        r.pid_file.clone()
    } else {
        format!("{}/{}", app_path.trim_end_matches('/'), r.pid_file)
    };
    let cmd = match r.strategy {
        RestartStrategy::GunicornUsr2 => Command::shell_script(USR2)
            .arg(pid_file)
            .arg(format!("{}", r.timeout_secs.ceil() as u64))
            .arg(format!("{}", r.settle_secs.ceil().max(1.0) as u64)),
        RestartStrategy::GunicornHup => Command::shell_script(HUP).arg(pid_file),
        RestartStrategy::SystemdRestart => Command::new("systemctl")
            .arg("restart")
            .arg(r.unit.clone().unwrap_or_default()),
        RestartStrategy::SystemdReload => Command::new("systemctl")
            .arg("reload")
            .arg(r.unit.clone().unwrap_or_default()),
        RestartStrategy::Command => in_dir(app_path, &r.argv, timeout),
        RestartStrategy::None => return None,
    };
    // The command's own waits end before the remote call's bound does.
    Some(cmd.timeout(timeout + Duration::from_secs(15)))
}

/// Starts the app where no master runs (`restart.start`), `{host}` replaced.
pub fn start_command(app_path: &str, host: &str, r: &RestartSettings) -> Option<Command> {
    if r.start.is_empty() {
        return None;
    }
    let argv: Vec<String> = r.start.iter().map(|a| a.replace("{host}", host)).collect();
    Some(in_dir(
        app_path,
        &argv,
        Duration::from_secs_f64(r.timeout_secs),
    ))
}

/// After a failed restart: is the app still serving the release it served before
/// (so switching `current` back is all the undo there is)?
pub fn old_still_serving(strategy: RestartStrategy, status: Option<i32>) -> bool {
    strategy == RestartStrategy::GunicornUsr2
        && status.is_some_and(|s| OLD_STILL_SERVING.contains(&s))
}

/// `$1` pid file, `$2` seconds in all, `$3` seconds the new workers must stay up.
/// Exit 0 switched; 3 no master; 4 no new master
/// appeared; 5 the new master died (its workers did not boot); 6 the old master
/// did not exit (the new one serves beside it).
const USR2: &str = r#"pidf="$1"; t="$2"
alive() { [ -n "$1" ] && kill -0 "$1" 2>/dev/null && [ "$(ps -o stat= -p "$1" 2>/dev/null | cut -c1)" != Z ]; }
# One restart at a time per app: a restart interrupted on our side may still be
# running here; the next one waits for it.
if command -v flock >/dev/null 2>&1; then
  exec 9>>"$pidf.opsctl-restart"
  flock -w "$t" 9 || { echo "another restart of this app has not ended within ${t}s" >&2; exit 3; }
fi
old="$(cat -- "$pidf" 2>/dev/null)"
case "$old" in ''|*[!0-9]*) echo "no gunicorn master: $pidf holds no pid" >&2; exit 3;; esac
# A new master of an upgrade that never finished (its restart was interrupted)
# serves a release nobody switched to: stop it first.
p2="$(cat -- "$pidf.2" 2>/dev/null)"
if [ -n "$p2" ] && [ "$p2" != "$old" ]; then
  if alive "$p2"; then
    echo "stopping the new master $p2 of an unfinished upgrade"
    kill -TERM "$p2" 2>/dev/null
    i=0; while alive "$p2" && [ "$i" -lt 300 ]; do sleep 0.1; i=$((i + 1)); done
    alive "$p2" && { echo "the unfinished upgrade's master $p2 does not stop" >&2; exit 3; }
  fi
  rm -f -- "$pidf.2"
fi
alive "$old" || { echo "the gunicorn master $old (from $pidf) is not running" >&2; exit 3; }
want="$(pgrep -P "$old" | wc -l)"
[ "$want" -ge 1 ] || want=1
end=$(( $(date +%s) + t ))
kill -USR2 "$old" || exit 3
echo "USR2 sent to master $old ($want workers)"
new=""
while [ "$(date +%s)" -lt "$end" ]; do
  for f in "$pidf.2" "$pidf"; do
    p="$(cat -- "$f" 2>/dev/null)"
    case "$p" in ''|*[!0-9]*) continue;; esac
    [ "$p" != "$old" ] && { new="$p"; break; }
  done
  [ -n "$new" ] && break
  sleep 0.1
done
[ -n "$new" ] || { echo "no new master within ${t}s of USR2; the old master $old keeps serving" >&2; exit 4; }
echo "new master $new"
# Up means: as many workers as before, the same ones for $3 seconds (a worker
# that cannot load the app dies, and the master halts, well within that).
need=$(( $3 * 5 )); steady=0; seen=""
while [ "$(date +%s)" -lt "$end" ]; do
  if ! alive "$new"; then
    echo "the new master $new exited: its workers did not boot (see the app's error log); the old master $old keeps serving" >&2
    exit 5
  fi
  kids="$(pgrep -P "$new" | sort | tr '\n' ' ')"
  n="$(echo $kids | wc -w)"
  if [ "$n" -ge "$want" ] && [ "$kids" = "$seen" ]; then steady=$((steady + 1)); else steady=0; fi
  seen="$kids"
  [ "$steady" -ge "$need" ] && break
  sleep 0.2
done
[ "$steady" -ge "$need" ] || { kill -TERM "$new" 2>/dev/null; echo "the new master $new did not get $want steady workers within ${t}s; stopped it, the old master $old keeps serving" >&2; exit 5; }
echo "new master $new has $want workers up; stopping the old master $old"
kill -WINCH "$old" 2>/dev/null
kill -TERM "$old" 2>/dev/null
while alive "$old"; do
  [ "$(date +%s)" -lt "$end" ] || { echo "the old master $old has not exited; the new master $new serves beside it" >&2; exit 6; }
  sleep 0.1
done
alive "$new" || { echo "the new master $new exited after the old one" >&2; exit 7; }
# gunicorn 20+ renames its pid file once the old master is gone ("promoted").
i=0; while [ "$(cat -- "$pidf" 2>/dev/null)" != "$new" ] && [ "$i" -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
echo "master $new serves the new release""#;

/// `$1` pid file: HUP, then check the master survived it.
const HUP: &str = r#"pid="$(cat -- "$1" 2>/dev/null)"
case "$pid" in ''|*[!0-9]*) echo "no gunicorn master: $1 holds no pid" >&2; exit 3;; esac
kill -HUP "$pid" || exit 3
sleep 2
kill -0 "$pid" 2>/dev/null || { echo "the gunicorn master $pid exited after HUP" >&2; exit 5; }
echo "HUP sent to master $pid""#;

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(strategy: RestartStrategy) -> RestartSettings {
        RestartSettings {
            strategy,
            unit: Some("shop.service".into()),
            argv: vec!["bin/restart".into(), "--soft".into()],
            ..RestartSettings::default()
        }
    }

    #[test]
    fn each_strategy_builds_its_argv() {
        let usr2 = command("/srv/shop", &settings(RestartStrategy::GunicornUsr2)).unwrap();
        assert_eq!(usr2.argv()[4], "/srv/shop/shared/tmp/gunicorn.pid");
        assert_eq!(usr2.argv()[5], "60");
        assert!(usr2.get_timeout() > Duration::from_secs(60));
        let sd = command("/srv/shop", &settings(RestartStrategy::SystemdReload)).unwrap();
        assert_eq!(sd.argv(), ["systemctl", "reload", "shop.service"]);
        let c = command("/srv/shop", &settings(RestartStrategy::Command)).unwrap();
        assert_eq!(&c.argv()[4..], ["/srv/shop", "bin/restart", "--soft"]);
        assert!(command("/srv/shop", &settings(RestartStrategy::None)).is_none());
        let mut abs = settings(RestartStrategy::GunicornHup);
        abs.pid_file = "/run/gunicorn.pid".into();
        assert_eq!(
            command("/srv/shop", &abs).unwrap().argv()[4],
            "/run/gunicorn.pid"
        );
    }

    #[test]
    fn only_a_failed_usr2_leaves_the_old_master_serving() {
        assert!(old_still_serving(RestartStrategy::GunicornUsr2, Some(5)));
        assert!(!old_still_serving(RestartStrategy::GunicornUsr2, Some(6)));
        assert!(!old_still_serving(RestartStrategy::GunicornUsr2, None));
        assert!(!old_still_serving(RestartStrategy::GunicornHup, Some(5)));
    }
}
