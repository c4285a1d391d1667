#!/usr/bin/env python3
"""The Fabric peer of `opsctl deploy`: the same steps on the same sandbox hosts.

    fab_deploy.py REV BATCH_SIZE [HOST...]    (run with target/bench-venv/bin/python)

HOST...: the web hosts to deploy to, in order (default: all of the sandbox's).

One fabric.Connection per host, kept for the whole deploy (as a fabfile's tasks do).
Prepare on every host at once (one thread per host): update the mirror, git archive
into releases/<id>, link .env and log, collectstatic. Then migrate (both databases)
on the first host, then BATCH_SIZE hosts at a time: switch current (ln -sfn + mv -T),
gunicorn USR2 and wait for the new master's workers, TERM the old, GET /healthz from
here. Then revisions.log and pruning to 5 releases. The remote steps are the shell
scripts in remote/ (the ssh-loop peer runs the same ones).

Host keys: the sandbox's known_hosts only, RejectPolicy (never auto-add); the
sandbox's key only (no agent, no ~/.ssh keys, no ssh_config).
Progress lines on stderr in opsctl's shape ("host: step ..." / "host: step done"),
so benches/deploy/timed.py reads both the same way.
"""
import datetime
import json
import shlex
import subprocess
import sys
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import paramiko
from fabric import Config, Connection

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
ENV = json.loads((ROOT / "target" / "sandbox" / "env.json").read_text())
STEP_TIMEOUT = 120
RESTART_TIMEOUT, SETTLE = 60, 4  # the sandbox profile's [app.restart] timeout_secs, settle_secs
KEEP = 5
PY = ENV["SANDBOX_PYTHON"]
SCRIPTS = {n: (HERE / "remote" / f"{n}.sh").read_text() for n in ("mirror", "release", "switch", "restart", "record")}
_out = threading.Lock()


def say(line):
    with _out:
        sys.stderr.write(line + "\n")
        sys.stderr.flush()


def connect(host):
    addr = ENV[f"SANDBOX_{host.upper()}_ADDR"]
    cfg = Config(lazy=True)  # no ssh_config files
    c = Connection(
        addr,
        user=ENV["SANDBOX_SSH_USER"],
        port=int(ENV["SANDBOX_SSH_PORT"]),
        config=cfg,
        connect_timeout=10,
        connect_kwargs={"key_filename": ENV["SANDBOX_SSH_KEY"], "look_for_keys": False, "allow_agent": False},
    )
    # Fabric's default is AutoAddPolicy: replace it, and trust the sandbox's known_hosts only.
    c.client = paramiko.SSHClient()
    c.client.load_host_keys(ENV["SANDBOX_KNOWN_HOSTS"])
    c.client.set_missing_host_key_policy(paramiko.RejectPolicy())
    c.open()
    return c


def step(c, host, what, command):
    say(f"{host}: {what} ...")
    r = c.run(command, hide=True, warn=True, timeout=STEP_TIMEOUT, in_stream=False)
    if r.exited != 0:
        say(f"{host}: {what} FAILED: exit {r.exited}: {r.stderr.strip()[-300:]}")
        raise SystemExit(1)
    say(f"{host}: {what} done")


def script(name, *args):
    return "sh -c " + shlex.quote(SCRIPTS[name]) + " sh " + " ".join(shlex.quote(str(a)) for a in args)


def in_release(path, *argv):
    return f"cd {shlex.quote(path)} && " + " ".join(shlex.quote(a) for a in argv)


def gate(host):
    url = f"http://{ENV[f'SANDBOX_{host.upper()}_ADDR']}:{ENV['SANDBOX_GUNICORN_PORT']}/healthz"
    say(f"{host}: health gate ...")
    for _ in range(10):
        try:
            with urllib.request.urlopen(url, timeout=3) as r:
                if r.status == 200 and r.read().strip() == b"ok":
                    say(f"{host}: health gate done")
                    return
        except OSError:
            pass
        time.sleep(0.5)
    say(f"{host}: health gate FAILED")
    raise SystemExit(1)


def main():
    rev_name, batch = sys.argv[1], int(sys.argv[2])
    repo = ENV["SANDBOX_GIT_REPO"]
    rev = subprocess.run(["git", "--git-dir", repo, "rev-parse", f"{rev_name}^{{commit}}"],
                         check=True, capture_output=True, text=True, timeout=30).stdout.strip()
    rid = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%d%H%M%S") + "_" + rev[:7]
    hosts = sys.argv[3:] or ENV["SANDBOX_WEB_HOSTS"].split()
    path = {h: ENV[f"SANDBOX_{h.upper()}_DEPLOY"] for h in hosts}
    with ThreadPoolExecutor(len(hosts)) as pool:
        conns = dict(zip(hosts, pool.map(connect, hosts)))

        def prepare(h):
            c, p = conns[h], path[h]
            step(c, h, "update the repository mirror", script("mirror", p, repo))
            step(c, h, f"make release {rid}", script("release", p, rid, rev))
            step(c, h, "build: collectstatic", in_release(f"{p}/releases/{rid}", PY, "manage.py", "collectstatic", "--noinput", "-v0"))

        list(pool.map(prepare, hosts))
        first = hosts[0]
        rel = f"{path[first]}/releases/{rid}"
        step(conns[first], first, "migrate (once): default", in_release(rel, PY, "manage.py", "migrate", "--noinput", "-v0"))
        step(conns[first], first, "migrate (once): reports",
             in_release(rel, PY, "manage.py", "migrate", "--database", "reports", "--noinput", "-v0"))

        def switch(h):
            c, p = conns[h], path[h]
            step(c, h, f"switch current to {rid}", script("switch", p, rid))
            step(c, h, "restart (gunicorn USR2)", script("restart", f"{p}/shared/tmp/gunicorn.pid", RESTART_TIMEOUT, SETTLE))
            gate(h)

        for i in range(0, len(hosts), batch):
            list(pool.map(switch, hosts[i:i + batch]))
        line = f"Branch {rev_name} (at {rev[:7]}) deployed as release {rid} by fabric"
        for h in hosts:
            step(conns[h], h, "record in revisions.log, keep 5 releases", script("record", path[h], line, KEEP))
        for c in conns.values():
            c.close()
    print(f"deployed {rev_name} ({rev[:7]}) as release {rid} on {', '.join(hosts)}")


if __name__ == "__main__":
    main()
