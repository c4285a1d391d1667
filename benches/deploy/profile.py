#!/usr/bin/env python3
"""Copy an opsctl profile for the deploy benchmark: set [app] batch_size, drop [app.watch].

    profile.py SRC DST BATCH_SIZE [HOST,HOST...]

With HOST,... the app's hosts are those, in that order (`hosts = [...]`, `roles = []`),
instead of every host with the role web (a 10-web-host sandbox, a 2-host bench).

The watch probes for a fixed duration_secs (10 s in the sandbox's profile) after the
switch; the peers have no such step, so it is left out of the timed deploys.
A text edit, not a TOML round trip: the rest of the file stays byte for byte.
"""
import re
import sys

src, dst, batch = sys.argv[1], sys.argv[2], int(sys.argv[3])
only = [h for h in sys.argv[4].split(",") if h] if len(sys.argv) > 4 else []
out, table, dropped, set_batch = [], None, False, False
for line in open(src, encoding="utf-8").read().splitlines():
    m = re.match(r"^\s*\[\[?\s*([^\]]+?)\s*\]\]?\s*$", line)
    if m:
        table = m.group(1)
    if table == "app.watch":
        dropped = True
        continue
    if table == "app" and re.match(r"^\s*batch_size\s*=", line):
        continue
    if only and table == "app" and re.match(r"^\s*(hosts|roles)\s*=", line):
        continue
    out.append(line)
    if m and table == "app":
        out.append(f"batch_size = {batch}")
        if only:
            out.append("hosts = [" + ", ".join(f'"{h}"' for h in only) + "]")
            out.append("roles = []")
        set_batch = True
if not set_batch:
    sys.exit(f"profile.py: {src} has no [app] table")
open(dst, "w", encoding="utf-8").write("\n".join(out) + "\n")
print(f"{dst}: batch_size = {batch}, [app.watch] {'removed' if dropped else 'was absent'}"
      + (f", hosts {', '.join(only)}" if only else ""))
