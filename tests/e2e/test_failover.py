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
Then a primary that drops everything silently instead of refusing (a proxy
in front of it, switched to "blackhole"): 503 with Retry-After, never 500,
never a hang (connect_timeout for new connections, database_timeout_s for
a statement sent and never answered); a second standby promoted, and ingest
is 201 again with nothing acknowledged lost. The LISTEN connection, which only
waits, pings the silent primary (listen.h) and has its ping given up the same
way: it reconnects to the new primary, so a live stream opened before the
silence receives the events after the promote, and a token removed on the new
primary is refused at once.
"""
import atexit
import os
import select
import shutil
import socket
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from alertlib import AlertEnv  # noqa: E402
from harness import PGCTL, Tap, free_port, wait_for  # noqa: E402
from sselib import SSE  # noqa: E402

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
# the reload is signalled, not waited for: a new session sees the new value
# once the postmaster has passed it on (to serverd's sessions too)
t.ok(wait_for(lambda: standby_psql("SHOW default_transaction_read_only") == "on", 10),
     "the only server turned read-only")
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


# ---- a primary that drops everything silently (does not refuse) ---------------------------
# A proxy in front of the primary that the test switches to "blackhole": it
# accepts and keeps connections and forwards nothing, in either direction -
# a frozen or cut-off server behind something that still acknowledges TCP,
# which TCP keepalives and tcp_user_timeout take for alive. New connections
# give up after connect_timeout (2 s here) and try the next host; a
# statement sent before the blackhole and never answered is given up after
# database_timeout_s (3 s here).
class Proxy:
    def __init__(self, target_port):
        self.target = ("127.0.0.1", target_port)
        self.ls = socket.socket()
        self.ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.ls.bind(("127.0.0.1", 0))
        self.ls.listen(128)
        self.port = self.ls.getsockname()[1]
        self.black = threading.Event()
        self.kept = []                   # sockets held open (never answered)
        threading.Thread(target=self.accept, daemon=True).start()

    def accept(self):
        while True:
            c, _ = self.ls.accept()
            self.kept.append(c)
            if not self.black.is_set():
                threading.Thread(target=self.pipe, args=(c,), daemon=True).start()

    def pipe(self, c):
        try:
            s = socket.create_connection(self.target)
        except OSError:
            c.close()
            return
        self.kept.append(s)
        other = {c: s, s: c}
        while True:
            ready, _, _ = select.select([c, s], [], [], 0.1)
            if self.black.is_set():
                time.sleep(0.1)          # both ends kept, nothing forwarded
                continue
            for x in ready:
                data = x.recv(65536)
                if not data:
                    c.close()
                    s.close()
                    return
                other[x].sendall(data)


# a synchronous standby of the new primary, made as the first one was
tdir = os.path.join(e.tmp, "pg3")
os.makedirs(tdir)
if os.getuid() == 0:
    shutil.chown(tdir, "postgres")
tport = free_port()
out = as_pg([os.path.join(PGBIN, "pg_basebackup"), "-h", sdir, "-p", str(sport), "-U", "postgres",
             "-D", os.path.join(tdir, "data"), "-R", "-X", "stream", "-c", "fast"])
t.ok(out.returncode == 0, "a second standby, of the new primary", out.stderr[-500:])
as_pg(["sh", "-c", "printf \"port = %d\\nunix_socket_directories = '%s'\\n\" >> '%s'"
       % (tport, tdir, os.path.join(tdir, "data", "postgresql.conf"))])
out = subprocess.run([PGCTL, "start", tdir, str(tport)], capture_output=True, text=True)
t.ok(out.returncode == 0, "it runs", out.stderr[-500:])
atexit.register(subprocess.run, [PGCTL, "stop", tdir], capture_output=True)
standby_psql("ALTER SYSTEM SET synchronous_standby_names = '*'")
standby_psql("SELECT pg_reload_conf()")
t.ok(wait_for(lambda: standby_psql("SELECT sync_state FROM pg_stat_replication") == "sync", 20),
     "it is synchronous")

proxy = Proxy(sport)
e.server.stop()
with open(e.server.conf_path) as f:
    lines = [ln for ln in f if not ln.startswith(("database = ", "database_timeout_s = "))]
lines.append("database = host=127.0.0.1,%s port=%d,%d dbname=custos user=postgres"
             " target_session_attrs=read-write connect_timeout=2\n" % (tdir, proxy.port, tport))
lines.append("database_timeout_s = 3\n")
with open(e.server.conf_path, "w") as f:
    f.writelines(lines)
e.server.start()
acked = []
for i in range(20):
    st, b, _ = e.api("POST", "/api/v1/check_history", e.agent_token,
                     {"check_id": cid, "status": 0, "result_id": "proxied-%d" % i})
    if st == 201:
        acked.append("proxied-%d" % i)
t.eq(len(acked), 20, "20 results acknowledged through the proxy")
# a viewer token in the token cache, and a live stream: both are fed by the
# LISTEN thread, whose connection goes through the proxy too
st, b, _ = e.api("POST", "/api/v1/tokens", A, {"name": "listen-viewer", "role": "viewer"})
t.eq(st, 201, "a viewer token")
V = b["token"]
t.eq(e.api("GET", "/api/v1/status", V)[0], 200, "it is accepted (and cached)")
stream = SSE(e.server.port, V, timeout=60)
t.eq(stream.status, 200, "a live stream is open before the silence")

proxy.black.set()
seen, no_retry_after = {}, 0
for rnd in range(2):                     # the first round meets the connections held before
    for m, path, tok, body in probes:
        st, b, h = e.api(m, path, tok, body, fresh=True)
        seen.setdefault(path, set()).add(st)
        if st == 503 and not h.get("retry-after"):
            no_retry_after += 1
        if st == 201:
            acked.append(body["result_id"])
t.eq({p: sorted(x) for p, x in seen.items()}, {p: [503] for _, p, _, _ in probes},
     "the primary silent: every route answers 503 (never 500, never a hang)")
t.eq(no_retry_after, 0, "every 503 carries Retry-After")
t.ok(e.server.proc.poll() is None, "serverd keeps running")
out = as_pg([os.path.join(PGBIN, "pg_ctl"), "-D", os.path.join(tdir, "data"), "-w", "promote"])
t.ok(out.returncode == 0, "the second standby is promoted", out.stderr[-300:])


def ingest_back2():
    st, b, _ = e.api("POST", "/api/v1/check_history", e.agent_token,
                     {"check_id": cid, "status": 0, "result_id": "after-silence"}, fresh=True)
    return st == 201


t0 = time.monotonic()
t.ok(wait_for(ingest_back2, 30, 0.05), "ingest is answered 201 again after the promotion")
t.diag("first 201 %.2f s after pg_ctl promote returned" % (time.monotonic() - t0))
got = as_pg(["psql", "-X", "-q", "-t", "-A", "-h", tdir, "-p", str(tport), "-U", "postgres",
             "-d", "custos", "-c", "SELECT string_agg(result_id, ',' ORDER BY result_id)"
             " FROM check_history WHERE result_id = ANY('{%s}')" % ",".join(acked)]).stdout.strip()
t.eq(sorted(got.split(",")), sorted(acked), "every result acknowledged before the silence is there")
with open(e.server.log_path, errors="replace") as f:
    t.ok("database_timeout_s" in f.read(), "serverd says it gave statements up (database_timeout_s)")


# ---- the LISTEN connection: given up behind the silence, back on the new primary ----------
# It sent nothing of its own while it waited; its ping (listen.h) is given up
# after database_timeout_s, and the reconnect tells the stream's clients to
# fetch everything again ("reconnected") - only then is it on the new primary.
def frame(pred):
    try:
        return stream.until(pred)[0]
    except (AssertionError, OSError, EOFError):
        return None


t.ok(frame(lambda f: f["event"] == "reset" and f["data"].get("reason") == "reconnected"),
     "the live stream is told the LISTEN thread reconnected")
e.post(sshd, 0, "back")
ev = frame(lambda f: f["event"] == "event" and f["data"]["check_id"] == sshd)
t.ok(ev and ev["data"]["kind"] == "RECOVERY",
     "an event after the promote reaches the live stream (custos_stream heard)", ev)
stream.close()
t.eq(e.api("GET", "/api/v1/status", V, fresh=True)[0], 200,
     "the viewer token is accepted from the new primary (and cached again)")
as_pg(["psql", "-X", "-q", "-h", tdir, "-p", str(tport), "-U", "postgres", "-d", "custos",
       "-c", "DELETE FROM api_tokens WHERE name = 'listen-viewer'"])
t.ok(wait_for(lambda: e.api("GET", "/api/v1/status", V, fresh=True)[0] == 401, 10),
     "a token removed on the new primary is refused (custos_auth heard)")
with open(e.server.log_path, errors="replace") as f:
    t.ok("listen: the database did not answer a ping" in f.read(),
         "serverd says the LISTEN connection's ping went unanswered")
t.ok(e.server.proc.poll() is None, "serverd kept running throughout")
t.eq(e.sanitizer_reports(), [], "no sanitizer report")
t.done()
