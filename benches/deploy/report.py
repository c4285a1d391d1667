#!/usr/bin/env python3
"""The deploy benchmark's table, from timed.py's JSON lines (and the load lines).

    report.py RESULTS.jsonl

Each JSON line has "label" = "TOOL bBATCH REV [load]" and, for load rounds, "load"
(the wrk script's counts summed over the round's two deploys).
"""
import json
import statistics
import sys

rows = [json.loads(line) for line in open(sys.argv[1]) if line.strip()]
tools = ["opsctl", "fabric", "ssh-loop"]
# The batch sizes of the run (bench.sh --batches), from the labels: "opsctl b5 v2".
batches = sorted({int(r["label"].split()[1][1:]) for r in rows})


def cell(xs, fmt="{:.1f}"):
    xs = [x for x in xs if x is not None]
    return fmt.format(statistics.median(xs)) if xs else "-"


quiet = {}
print("| tool | batch | deploys | wall p50 (min-max) s | prepare (mirror/release/build) | migrate | switch+restart+gate per host (restart) | rollout | record | other | failed requests under load |")
print("|---|---:|---:|---|---|---:|---|---:|---:|---:|---|")
for tool in tools:
    for batch in batches:
        q = [r for r in rows if r["label"].split()[:2] == [tool, f"b{batch}"] and "load" not in r["label"]]
        ld = [r for r in rows if r["label"].split()[:2] == [tool, f"b{batch}"] and "load" in r["label"]]
        if not q and not ld:
            continue
        bad = [r for r in q if not r["ok"]]
        walls = [r["wall"] for r in q if r["ok"]]
        quiet[(tool, batch)] = statistics.median(walls) if walls else None
        g = lambda k: [r.get(k) for r in q if r["ok"]]
        loadcell = "-"
        if ld:
            req = sum(r["load"]["requests"] for r in ld)
            fail = sum(r["load"]["5xx"] + r["load"]["socket"] for r in ld)
            x5 = sum(r["load"]["5xx"] for r in ld)
            lw = statistics.median([r["wall"] for r in ld])
            okd = sum(r["ok"] for r in ld)
            loadcell = f"{fail} of {req} ({x5} 5xx, {fail - x5} socket); wall {lw:.1f} s, {okd}/{len(ld)} deploys ok"
        if not q:  # only load rounds: their times stand in
            q, walls = ld, [r["wall"] for r in ld if r["ok"]]
            g = lambda k: [r.get(k) for r in ld if r["ok"]]
            quiet[(tool, batch)] = statistics.median(walls) if walls else None
        wall = f"{statistics.median(walls):.1f} ({min(walls):.1f}-{max(walls):.1f})" if walls else "-"
        if bad:
            wall += f", {len(bad)} FAILED"
        print(f"| {tool} | {batch} | {len(q)} | {wall} | {cell(g('prepare'))} ({cell(g('mirror'), '{:.2f}')}/{cell(g('release'), '{:.2f}')}/{cell(g('build'))})"
              f" | {cell(g('migrate'))} | {cell(g('swap'))} ({cell(g('restart'))}) | {cell(g('rollout'))} | {cell(g('record'), '{:.2f}')}"
              f" | {cell(g('other'), '{:.2f}')} | {loadcell} |")

print()
for batch in batches:
    o = quiet.get(("opsctl", batch))
    parts = []
    for peer in tools[1:]:
        p = quiet.get((peer, batch))
        if o and p:
            parts.append(f"opsctl/{peer} = {o / p:.2f}")
    if parts:
        print(f"batch {batch}: wall p50 " + ", ".join(parts))
