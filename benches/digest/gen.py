#!/usr/bin/env python3
"""Generates a realistic slow-query log for the digest benchmark.

Usage: gen.py mysql|pg SIZE_MB > file

Django-style statements from ~300 query classes with Zipf-skewed frequencies and
log-normal query times per class, long IN lists, multi-line statements, PostgreSQL
extended-protocol executes with bind parameters. Deterministic (seeded). The layout
follows the fixtures captured from MariaDB 10.11 / MySQL 8 and PostgreSQL 15 (prefix
'%m [%p] %q%u@%d ').
"""
import math
import random
import re
import sys

kind = sys.argv[1]
target = int(float(sys.argv[2]) * 1024 * 1024)
rnd = random.Random(7)
pg = kind == "pg"


def q(s):
    return f'"{s}"' if pg else f"`{s}`"


TABLES = ["auth_user", "blog_post", "blog_comment", "shop_order", "shop_orderline", "catalog_product",
          "catalog_category", "django_session", "accounts_profile", "inventory_stock", "payments_charge",
          "notifications_message"]
COLS = ["id", "name", "email", "status", "created_at", "updated_at", "user_id", "price", "slug",
        "title", "is_active", "quantity", "order_id", "product_id", "category_id"]


def lit_value():
    r = rnd.random()
    if r < 0.5:
        return str(rnd.randint(1, 10_000_000))
    if r < 0.8:
        return "'" + rnd.choice(["alice", "bob", "O''Brien", "draft", "published", "2024-05-01 10:00:00", "x@example.com"]) + "'"
    if r < 0.9:
        return f"{rnd.randint(0, 9999)}.{rnd.randint(0, 99):02d}"
    return "NULL" if not pg else "'t'"


def make_class(i):
    """A query class: a function producing one statement of that shape."""
    crnd = random.Random(i)
    t = crnd.choice(TABLES)
    cols = crnd.sample(COLS, crnd.randint(2, 6))
    sel = ", ".join(f"{q(t)}.{q(c)}" for c in cols)
    shape = crnd.random()
    pcol = crnd.choice(COLS)
    if shape < 0.35:
        def f():
            return f"SELECT {sel} FROM {q(t)} WHERE {q(t)}.{q(pcol)} = {lit_value()} LIMIT 21"
    elif shape < 0.50:
        def f():
            n = min(int(rnd.paretovariate(1.2)) * 3, 2000)
            ids = ", ".join(str(rnd.randint(1, 10_000_000)) for _ in range(max(n, 1)))
            return f"SELECT {sel} FROM {q(t)} WHERE {q(t)}.{q(pcol)} IN ({ids}) ORDER BY {q(t)}.{q('id')} ASC"
    elif shape < 0.62:
        u = crnd.choice(TABLES)
        def f():
            return (f"SELECT COUNT(*) AS {q('__count')} FROM {q(t)}\n  INNER JOIN {q(u)} ON ({q(t)}.{q('id')} = {q(u)}.{q(pcol)})\n"
                    f"  WHERE ({q(u)}.{q('status')} = {lit_value()}\n    AND {q(t)}.{q('created_at')} >= '2024-05-0{rnd.randint(1, 9)}')")
    elif shape < 0.72:
        icols = cols[:4]
        def f():
            rows = ", ".join("(" + ", ".join(lit_value() for _ in icols) + ")" for _ in range(rnd.choice([1, 1, 1, 2, 5, 20])))
            return f"INSERT INTO {q(t)} ({', '.join(q(c) for c in icols)}) VALUES {rows}"
    elif shape < 0.82:
        def f():
            return f"UPDATE {q(t)} SET {q(cols[0])} = {lit_value()}, {q(cols[1])} = {lit_value()} WHERE {q(t)}.{q('id')} = {rnd.randint(1, 10**7)}"
    elif shape < 0.88:
        def f():
            return f"DELETE FROM {q(t)} WHERE {q(t)}.{q(pcol)} < {lit_value()}"
    else:
        ocol = crnd.choice(COLS)
        def f():
            return (f"SELECT {sel}\nFROM {q(t)}\nWHERE {q(t)}.{q(pcol)} LIKE '%{rnd.choice(['a', 'b', 'c'])}%'\n"
                    f"ORDER BY {q(t)}.{q(ocol)} DESC\nLIMIT {rnd.randint(10, 50)} OFFSET {rnd.randint(0, 5000)}")
    mean_ms = math.exp(crnd.uniform(math.log(0.05), math.log(400)))
    return f, mean_ms


NCLASSES = 300
classes = [make_class(i) for i in range(NCLASSES)]
weights = [1.0 / (k + 1) ** 1.1 for k in range(NCLASSES)]
cum = []
acc = 0.0
for w in weights:
    acc += w
    cum.append(acc)


def pick():
    import bisect
    return classes[bisect.bisect_left(cum, rnd.random() * acc)]


out = sys.stdout
written = 0
t0 = 1714550400  # 2024-05-01 08:00:00 UTC
usec = 0
pid = 4000
buf = []
while written < target:
    f, mean_ms = pick()
    stmt = f()
    ms = rnd.lognormvariate(math.log(mean_ms), 0.6)
    usec += rnd.randint(200, 20000)
    ts = t0 + usec // 1_000_000
    frac = usec % 1_000_000
    if pg:
        import time as _t
        tm = _t.gmtime(ts)
        stamp = _t.strftime("%Y-%m-%d %H:%M:%S", tm) + f".{frac // 1000:03d} UTC"
        pid = 4000 + rnd.randint(0, 40)
        head = f"{stamp} [{pid}] app@shop LOG:  duration: {ms:.3f} ms  "
        body = stmt.replace("\n", "\n\t")
        m = re.match(r"(.* = )(\S+)( LIMIT 21)$", stmt, re.S)
        if m and rnd.random() < 0.5:
            # Extended protocol: parse/bind/execute with parameters.
            pbody = m.group(1) + "$1" + m.group(3)
            val = m.group(2).strip("'")
            rec = (f"{stamp} [{pid}] app@shop LOG:  duration: 0.050 ms  parse <unnamed>: {pbody}\n"
                   f"{stamp} [{pid}] app@shop LOG:  duration: 0.020 ms  bind <unnamed>: {pbody}\n"
                   f"{stamp} [{pid}] app@shop DETAIL:  parameters: $1 = '{val}'\n"
                   f"{head}execute <unnamed>: {pbody}\n"
                   f"{stamp} [{pid}] app@shop DETAIL:  parameters: $1 = '{val}'\n")
        else:
            rec = f"{head}statement: {body}\n"
        if rnd.random() < 0.01:
            rec += f"{stamp} [{pid}] app@shop LOG:  connection authorized: user=app database=shop\n"
    else:
        import time as _t
        tm = _t.gmtime(ts)
        stamp = _t.strftime("%Y-%m-%dT%H:%M:%S", tm) + f".{frac:06d}Z"
        qt = ms / 1000.0
        examined = int(rnd.expovariate(1 / 500.0))
        rec = (f"# Time: {stamp}\n# User@Host: app[app] @ web{rnd.randint(1, 4)} [10.0.0.{rnd.randint(2, 9)}]  Id: {rnd.randint(10, 500)}\n"
               f"# Query_time: {qt:.6f}  Lock_time: {qt / 50:.6f} Rows_sent: {rnd.randint(0, 50)}  Rows_examined: {examined}\n")
        if rnd.random() < 0.02:
            rec += f"use {rnd.choice(['shop', 'shop_archive'])};\n"
        rec += f"SET timestamp={ts};\n{stmt};\n"
    buf.append(rec)
    written += len(rec)
    if len(buf) >= 2000:
        out.write("".join(buf))
        buf = []
out.write("".join(buf))
