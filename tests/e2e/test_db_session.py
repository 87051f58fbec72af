"""End-to-end: what serverd sets on each of its database sessions
(serverd/store/db.c, db_conn()).

No JIT. PostgreSQL compiles a statement whose estimated cost passes
jit_above_cost at every execution, cached plan or not; serverd's
statements run in milliseconds and a compile takes up to a second (in a
storm of 40,000 pending notifications the senders' claim spent ~0.9 s of
each execution compiling: bench/README.md). Here the cluster compiles
everything it may (jit_above_cost = 0) and counts it (pg_stat_statements):
a psql session's statement is compiled (this PostgreSQL can JIT), and
none of serverd's statements of a whole HARD change is - the ingest, the
alert, the senders' claims and outcomes.

And the cluster itself, as scripts/pgctl makes it for the demo, the tests
and the benchmarks: a new WAL file is not filled with zeros first
(wal_init_zero off), a flush every COMMIT waited for (docs/operations.md,
"PostgreSQL's settings")."""
import os
import sys

os.environ["PGCTL_CONF"] = "shared_preload_libraries = 'pg_stat_statements'\njit_above_cost = 0"
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from alertlib import AlertEnv  # noqa: E402
from harness import Tap  # noqa: E402

t = Tap()
e = AlertEnv()
sql = e.cluster.psql
sql("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
c = e.check("jit")
sql("SELECT pg_stat_statements_reset()")

# the control: a session that keeps the default compiles
sql("SELECT count(*) FROM generate_series(1, 10) g WHERE g % 3 = 1")
ctl = sql("SELECT coalesce(sum(jit_functions), 0) FROM pg_stat_statements"
          " WHERE query LIKE 'SELECT count(*) FROM generate_series%'")
t.ok(ctl and int(ctl[0][0]) > 0, "this PostgreSQL compiles a psql session's statement (JIT)", ctl)

e.post(c, 2, "CRITICAL - jit")
t.ok(e.wait_mail(lambda m: m["subject"] == "[custos] PROBLEM web01/jit is CRITICAL", 10),
     "a HARD change is mailed")
t.ok(e.wait_push(lambda r: r["fields"].get("title") == "PROBLEM web01/jit is CRITICAL", 10),
     "and paged")
# serverd's statements of that change, by the start of their text
KINDS = {"ingest": "query LIKE 'WITH ks AS MATERIALIZED%INSERT INTO check_history%'",
         "the alert": "query LIKE 'WITH x AS (%json_to_recordset%'",
         "the write-back": "query LIKE 'SELECT check_state_write(%'",
         "the claims": "query LIKE 'WITH live AS MATERIALIZED%'",
         "the outcomes": "query LIKE 'WITH a AS (UPDATE notification_attempts%'"}
for name, where in KINDS.items():
    r = sql("SELECT coalesce(sum(calls), 0), coalesce(sum(jit_functions), 0)"
            " FROM pg_stat_statements WHERE " + where)[0]
    t.ok(int(r[0]) > 0 and int(r[1]) == 0,
         "%s: run by serverd (%s calls), never compiled" % (name, r[0]), r)
total = sql("SELECT count(*) FROM pg_stat_statements WHERE jit_functions > 0"
            " AND query NOT LIKE 'SELECT count(*) FROM generate_series%'"
            " AND query NOT LIKE '%pg_stat_statements%'")[0][0]
t.eq(total, "0", "no other statement was compiled either")

t.eq(sql("SHOW wal_init_zero"), [["off"]],
     "the private cluster makes a new WAL file without zero-filling it (scripts/pgctl)")

t.eq(e.sanitizer_reports(), [], "no sanitizer report")
t.eq(e.server.stop(), 0, "serverd exits cleanly")
t.done()
