#!/usr/bin/env python3
"""The benchmark's server state: DISTINCT statement classes in the server's
statistics, then SESSIONS connections held open (a tenth of them running a
sleep) until this process is killed.

    load.py postgresql|mariadb DISTINCT SESSIONS

Connection settings come from the sandbox's environment (target/sandbox/env.sh).
"""
import os
import sys
import threading
import time

engine, distinct, sessions = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
env = os.environ


def read(path):
    with open(path) as f:
        return f.read().strip()


def connect():
    if engine == "postgresql":
        import psycopg

        return psycopg.connect(
            host=env["SANDBOX_PG_HOST"], port=env["SANDBOX_PG_PORT"], dbname=env["SANDBOX_PG_DB"],
            user=env["SANDBOX_PG_USER"], password=read(env["SANDBOX_PG_PASSWORD_FILE"]),
            autocommit=True,
        )
    import pymysql

    return pymysql.connect(
        host=env["SANDBOX_MARIADB_HOST"], port=int(env["SANDBOX_MARIADB_PORT"]),
        database=env["SANDBOX_MARIADB_DB"], user=env["SANDBOX_MARIADB_USER"],
        password=read(env["SANDBOX_MARIADB_PASSWORD_FILE"]), autocommit=True,
    )


# Distinct classes. PostgreSQL 15 does not fold IN-list lengths (but ignores
# aliases); MariaDB folds lists but keeps identifiers, aliases included.
c = connect()
cur = c.cursor()
side = int(distinct ** 0.5) + 1
made = 0
for a in range(1, side + 1):
    for b in range(1, side + 1):
        if made >= distinct:
            break
        if engine == "postgresql":
            la = ",".join(["1"] * a)
            lb = ",".join(["2"] * b)
            cur.execute(f"SELECT 1 WHERE 1 IN ({la}) AND 2 IN ({lb})")
        else:
            cur.execute(f"SELECT 1 AS c{a}_{b}")
        cur.fetchall()
        made += 1
c.close()
print(f"load: {made} distinct statements", flush=True)

held = []
for i in range(sessions):
    conn = connect()
    held.append(conn)
    if i % 10 == 0:
        sleep = "SELECT pg_sleep(3600)" if engine == "postgresql" else "SELECT SLEEP(3600)"

        def run(conn=conn, sleep=sleep):
            try:
                conn.cursor().execute(sleep)
            except Exception:
                pass

        threading.Thread(target=run, daemon=True).start()
print(f"load: {len(held)} sessions held", flush=True)
while True:
    time.sleep(3600)
