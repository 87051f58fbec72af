#!/usr/bin/python3
"""test_failover.py - PostgreSQL failover with two real clusters.

A primary (the harness's cluster) and a synchronous standby made from it with
pg_basebackup -R. serverd's database is a multi-host conninfo
(host=primary,standby target_session_attrs=read-write). Then the primary is
stopped: while nothing is writable every answer that needs the database is
503 with Retry-After, never 500, and serverd keeps running; the standby is
promoted and ingest is back to 201 without a restart of serverd; every result
acknowledged before the switch is on the new primary (synchronous
replication); a notification of an event after the switch is delivered once.
"""
import atexit
import os
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from alertlib import AlertEnv  # noqa: E402
from harness import PGCTL, Tap, free_port, wait_for  # noqa: E402

t = Tap()
e = AlertEnv()
A = e.admin
primary = e.cluster
PGBIN = sorted(d for d in (os.path.join("/usr/lib/postgresql", v, "bin")
                           for v in os.listdir("/usr/lib/postgresql")) if os.path.isdir(d))[-1]


def as_pg(cmd, **kw):
    if os.getuid() == 0:
        cmd = ["runuser", "-u", "postgres", "--"] + cmd
    return subprocess.run(cmd, capture_output=True, text=True, **kw)


# ---- a synchronous standby -----------------------------------------------------------------
sdir = os.path.join(e.tmp, "pg2")
os.makedirs(sdir)
if os.getuid() == 0:
    shutil.chown(sdir, "postgres")
sport = free_port()
out = as_pg([os.path.join(PGBIN, "pg_basebackup"), "-h", primary.dir, "-p", str(primary.port),
             "-U", "postgres", "-D", os.path.join(sdir, "data"), "-R", "-X", "stream", "-c", "fast"])
t.ok(out.returncode == 0, "pg_basebackup -R made a standby", out.stderr[-500:])
as_pg(["sh", "-c", "printf \"port = %d\\nunix_socket_directories = '%s'\\n\" >> '%s'"
       % (sport, sdir, os.path.join(sdir, "data", "postgresql.conf"))])
out = subprocess.run([PGCTL, "start", sdir, str(sport)], capture_output=True, text=True)
t.ok(out.returncode == 0, "the standby runs", out.stderr[-500:])
atexit.register(subprocess.run, [PGCTL, "stop", sdir], capture_output=True)


def standby_psql(sql):
    out = as_pg(["psql", "-X", "-q", "-t", "-A", "-h", sdir, "-p", str(sport), "-U", "postgres",
                 "-d", "custos", "-c", sql])
    return out.stdout.strip()


primary.psql("ALTER SYSTEM SET synchronous_standby_names = '*'")
primary.psql("SELECT pg_reload_conf()")
t.ok(wait_for(lambda: primary.psql("SELECT sync_state FROM pg_stat_replication") == [["sync"]], 20),
     "the standby is synchronous")

# ---- serverd on a multi-host conninfo ------------------------------------------------------
multi = ("host=%s,%s port=%d,%d dbname=custos user=postgres target_session_attrs=read-write"
         % (primary.dir, sdir, primary.port, sport))
e.server.stop()
with open(e.server.conf_path) as f:
    lines = [ln for ln in f if not ln.startswith("database = ")]
lines.append("database = %s\n" % multi)
with open(e.server.conf_path, "w") as f:
    f.writelines(lines)
e.server.start()
cid = e.check("load", max_attempts=3)
acked = []
for i in range(20):
    st, b, _ = e.api("POST", "/api/v1/check_history", e.agent_token,
                     {"check_id": cid, "status": 0, "result_id": "before-%d" % i})
    if st == 201:
        acked.append("before-%d" % i)
t.eq(len(acked), 20, "20 results acknowledged through the primary")

# ---- no primary: 503 with Retry-After, never 500 -------------------------------------------
primary.stop()
seen, no_retry_after = {}, 0
probes = (("POST", "/api/v1/check_history", e.agent_token,
           {"check_id": cid, "status": 0, "result_id": "during"}),
          ("GET", "/api/v1/agents", A, None),
          ("GET", "/api/v1/status", A, None),
          ("PUT", "/api/v1/agent/self/checkout", e.agent_token, {"results": 1}),
          ("GET", "/healthz", None, None))
end = time.monotonic() + 4
while time.monotonic() < end:
    for m, path, tok, body in probes:
        st, b, h = e.api(m, path, tok, body, fresh=True)
        seen.setdefault(path, set()).add(st)
        if st == 503 and not h.get("retry-after"):
            no_retry_after += 1
t.eq({p: sorted(s) for p, s in seen.items()}, {p: [503] for _, p, _, _ in probes},
     "while nothing is writable, every route answers 503 (never 500)")
t.eq(no_retry_after, 0, "every 503 carries Retry-After")
t.ok(e.server.proc.poll() is None, "serverd keeps running")

# ---- promote the standby: back without a restart -------------------------------------------
out = as_pg([os.path.join(PGBIN, "pg_ctl"), "-D", os.path.join(sdir, "data"), "-w", "promote"])
t.ok(out.returncode == 0, "the standby is promoted", out.stderr[-300:])
t0 = time.monotonic()


def ingest_back():
    st, b, _ = e.api("POST", "/api/v1/check_history", e.agent_token,
                     {"check_id": cid, "status": 0, "result_id": "after-0"}, fresh=True)
    return st == 201


t.ok(wait_for(ingest_back, 20, 0.05), "ingest is answered 201 again after the promotion")
t.diag("first 201 %.2f s after pg_ctl promote returned" % (time.monotonic() - t0))
got = standby_psql("SELECT count(*) FROM check_history WHERE result_id LIKE 'before-%'")
t.eq(got, "20", "every result acknowledged before the switch is on the new primary")

# ---- a primary that turns read-only under us (demoted; or a conninfo without
# target_session_attrs): 503, and the connections look for a writable host again
standby_psql("ALTER SYSTEM SET default_transaction_read_only = on")
standby_psql("SELECT pg_reload_conf()")
time.sleep(0.5)
codes = set()
for i in range(10):
    st, b, h = e.api("POST", "/api/v1/check_history", e.agent_token,
                     {"check_id": cid, "status": 0, "result_id": "ro-%d" % i}, fresh=True)
    codes.add(st)
t.eq(sorted(codes), [503], "writes while the only server is read-only: 503, never 500")
standby_psql("ALTER SYSTEM RESET default_transaction_read_only")
standby_psql("SELECT pg_reload_conf()")
t.ok(wait_for(ingest_back, 10, 0.05), "writable again: 201")

# ---- notifications of events after the switch: delivered, once -----------------------------
sshd = e.check("sshd", max_attempts=1)
e.post(sshd, 2, "refused")
m = e.wait_mail(lambda m: "sshd" in m["subject"] and "PROBLEM" in m["subject"], 20)
t.ok(m, "a PROBLEM after the switch is mailed", e.sink.subjects())
t.ok(e.wait_push(lambda r: r["fields"]["title"] == "PROBLEM web01/sshd is CRITICAL", 20), "and pushed")
e.settle(10)
t.eq(len([x for x in e.sink.messages() if "sshd" in x["subject"]]), 1, "mailed exactly once")
t.eq(len([r for r in e.po.accepted() if "sshd" in r["fields"]["title"]]), 1, "pushed exactly once")
st, b, _ = e.api("GET", "/api/v1/status", A)
t.eq(st, 200, "the dashboard's status is served from the new primary")
t.eq(e.sanitizer_reports(), [], "no sanitizer report")
t.done()
