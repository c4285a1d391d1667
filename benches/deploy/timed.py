#!/usr/bin/env python3
"""Run one deploy, stamp its progress lines as they arrive, and say where the time went.

    timed.py TIMEOUT_SECS LABEL LOG -- COMMAND...

Prints one JSON line: {"label", "ok", "wall", phases...}. Reads opsctl's stderr
progress lines ("[HH:MM:SS] NN/MM host: step ..." then "... done (1.2s)") and the
peers' lines of the same shape without the clock and counter. The stamps are this
process's monotonic clock when each line arrives (opsctl writes each line at once), so
phases have millisecond resolution, not the lines' one-second clock.

Phases (seconds):
  prepare   first mirror/release/build step started -> last one done (all hosts at once);
            mirror, release, build: the longest host's time for that step
  migrate   sum of the migrate steps (first host, before any switch)
  swap      per host, switch started -> health gate done (switch + restart + gate),
            the mean over hosts; restart: the mean restart step alone
  rollout   first switch started -> last gate done (what batch_size changes)
  record    first record step started -> last done (or opsctl's last "pruned" line)
  other     wall - prepare - migrate - rollout - record: process start, connecting,
            the lock, planning, and the gaps between phases
"""
import json
import os
import re
import signal
import subprocess
import sys
import time

LINE = re.compile(r"^(?:\[\d\d:\d\d:\d\d\]\s+\d+/\d+\s+)?(?P<host>[\w.-]+): (?P<what>.+?) (?P<state>\.\.\.|done|FAILED)(?=\s|$)")
PRUNED = re.compile(r"^(?:\[\d\d:\d\d:\d\d\]\s+)?[\w.-]+: pruned ")
KINDS = [("mirror", "update the repository mirror"), ("release", "make release"), ("build", "build:"),
         ("migrate", "migrate"), ("switch", "switch current"), ("restart", "restart"),
         ("gate", "health gate"), ("record", "record in revisions.log")]


def kind(what):
    for k, prefix in KINDS:
        if what.startswith(prefix):
            return k
    return None


def main():
    timeout, label, log = float(sys.argv[1]), sys.argv[2], sys.argv[3]
    cmd = sys.argv[sys.argv.index("--") + 1:]
    t0 = time.monotonic()
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                         start_new_session=True, env=dict(os.environ, PYTHONUNBUFFERED="1"))
    timed_out = False

    def kill(*_):
        nonlocal timed_out
        timed_out = True
        try:
            os.killpg(p.pid, signal.SIGTERM)  # its own session: the deploy and its children only
        except ProcessLookupError:
            pass

    signal.signal(signal.SIGALRM, kill)
    signal.setitimer(signal.ITIMER_REAL, timeout)
    steps = {}  # (host, what) -> [start, end, kind]
    pruned = None  # opsctl says "host: pruned ID" after its record step: part of it
    with open(log, "w") as out:
        for line in p.stdout:
            t = time.monotonic() - t0
            out.write(f"{t:8.3f} {line}")
            if PRUNED.match(line):
                pruned = t
            m = LINE.match(line.rstrip("\n"))
            if not m or kind(m["what"]) is None:
                continue
            key = (m["host"], m["what"])
            if m["state"] == "...":
                steps[key] = [t, None, kind(m["what"])]
            elif key in steps:
                steps[key][1] = t
    rc = p.wait()
    signal.setitimer(signal.ITIMER_REAL, 0)
    wall = time.monotonic() - t0

    done = [(h, s, e, k) for (h, _), (s, e, k) in steps.items() if e is not None]

    def span(kinds):
        xs = [(s, e) for _, s, e, k in done if k in kinds]
        return (min(s for s, _ in xs), max(e for _, e in xs)) if xs else (None, None)

    def longest(k):
        xs = [e - s for _, s, e, kk in done if kk == k]
        return max(xs) if xs else None

    def mean(xs):
        return sum(xs) / len(xs) if xs else None

    r = {"label": label, "ok": rc == 0 and not timed_out, "rc": rc, "timed_out": timed_out, "wall": round(wall, 3)}
    a, b = span({"mirror", "release", "build"})
    r["prepare"] = b - a if a is not None else None
    for k in ("mirror", "release", "build"):
        r[k] = longest(k)
    r["migrate"] = sum(e - s for _, s, e, k in done if k == "migrate")
    hosts = sorted({h for h, _, _, k in done if k == "switch"})
    swaps = []
    for h in hosts:
        s = min(s for hh, s, _, k in done if hh == h and k == "switch")
        e = [e for hh, _, e, k in done if hh == h and k == "gate"]
        if e:
            swaps.append(max(e) - s)
    r["swap"] = mean(swaps)
    r["restart"] = mean([e - s for _, s, e, k in done if k == "restart"])
    a2, b2 = span({"switch", "restart", "gate"})
    r["rollout"] = b2 - a2 if a2 is not None else None
    a3, b3 = span({"record"})
    if a3 is not None and pruned is not None:
        b3 = max(b3, pruned)
    r["record"] = b3 - a3 if a3 is not None else None
    r["other"] = wall - sum(x or 0 for x in (r["prepare"], r["migrate"], r["rollout"], r["record"]))
    r["steps"] = len(done)
    print(json.dumps({k: round(v, 3) if isinstance(v, float) else v for k, v in r.items()}))
    return 0 if r["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
