#!/usr/bin/python3
"""test_alert_core.py - the alert core's rules, each with the window it
guards held open by the test:

  - the one lock rule: an acknowledgement and an OK result for the same
    check, queued behind the agent's lock in both orders (the test holds the
    lock and releases it once both wait), and then many at once: a check is
    never left OK *and* acknowledged;
  - time: a result stamped a day ahead is stored with the server's time, the
    agent shows clock_skew_s, and later results are not "late"; a checkout
    measures the skew too;
  - a disabled check: results stored, no state change, no event;
  - the HTTP edge: 401/403 before the body is read; a second serverd on the
    same listen address refused with the reason; the per-address connection
    cap; after a PostgreSQL restart every worker answers at once."""
import datetime
import http.client
import json
import os
import socket
import subprocess
import threading

from harness import Env, Server, Tap, SERVERD, wait_for

LOCK_CLASS = 1668642164        # serverd/alert/state.h: ALERT_LOCK_CLASS

t = Tap()
env = Env(conf={"threads": "4"})
A = env.admin
aid, tok = env.make_agent("web01")


def rfc3339(dt):
    return dt.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def now():
    return datetime.datetime.now(datetime.timezone.utc)


def request(method, path, token, body=None):
    """One request on its own connection (safe from any thread)."""
    c = http.client.HTTPConnection("127.0.0.1", env.server.port, timeout=30)
    h = {"Authorization": "Bearer " + token}
    data = None
    if body is not None:
        data = json.dumps(body)
        h["Content-Type"] = "application/json"
    c.request(method, path, data, h)
    r = c.getresponse()
    text = r.read()
    c.close()
    return r.status, (json.loads(text) if text else None)


def state(cid):
    st, c, _ = env.api("GET", "/api/v1/checks/%d" % cid, A)
    return c["state"] if st == 200 else {}


def events(cid):
    st, b, _ = env.api("GET", "/api/v1/events?limit=1000&check_id=%d" % cid, A)
    return [e["kind"] for e in b["items"]] if st == 200 else []


def waiters():
    return int(env.cluster.psql("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'"
                                " AND classid = %d AND NOT granted" % LOCK_CLASS)[0][0])


class Holder:
    """Holds the agent's lock from a psql session of its own."""

    def __init__(self, agent_id):
        self.p = env.cluster.session()
        self.p.stdin.write("SELECT pg_advisory_lock(%d, %d);\nSELECT 'locked';\n"
                           % (LOCK_CLASS, agent_id))
        self.p.stdin.flush()
        self.p.stdout.readline()
        self.ok = self.p.stdout.readline().strip() == "locked"

    def release(self):
        self.p.stdin.write("SELECT pg_advisory_unlock_all();\n\\q\n")
        self.p.stdin.flush()
        self.p.wait(10)


def critical(cid):
    st, _ = request("POST", "/api/v1/check_history", tok, {"check_id": cid, "status": 2,
                                                          "output": "down"})
    return st == 201 and state(cid).get("status") == "CRITICAL"


# ---- the lock rule, both orders held open -----------------------------------------------
def race(cid, first):
    """Queues an ack and an OK result behind the held agent lock, `first` first."""
    out = {}

    def ack():
        out["ack"] = request("POST", "/api/v1/checks/%d/ack" % cid, A, {"comment": "on it"})[0]

    def ok():
        out["ok"] = request("POST", "/api/v1/check_history", tok,
                            {"check_id": cid, "status": 0, "output": "fine"})[0]

    h = Holder(aid)
    order = [ack, ok] if first == "ack" else [ok, ack]
    ths = []
    for i, fn in enumerate(order):
        th = threading.Thread(target=fn)
        th.start()
        ths.append(th)
        out["queued%d" % i] = wait_for(lambda: waiters() >= i + 1, 10)
    h.release()
    for th in ths:
        th.join(30)
    return out


for first in ("ack", "ok"):
    for k in range(3):
        cid = env.make_check(aid, "race-%s-%d" % (first, k), max_attempts=1)
        t.ok(critical(cid), "%s first #%d: the check is CRITICAL" % (first, k))
        out = race(cid, first)
        t.ok(out.get("queued0") and out.get("queued1"),
             "%s first #%d: both wait for the agent's lock" % (first, k))
        s = state(cid)
        t.eq((s.get("status"), s.get("acknowledged")), ("OK", False),
             "%s first #%d: OK and not acknowledged" % (first, k))
        t.eq(out.get("ok"), 201, "%s first #%d: the result is stored" % (first, k))
        if first == "ack":
            t.eq(out.get("ack"), 201, "ack first #%d: the ack is taken, then ended by the OK" % k)
        else:
            # the OK commits first; the ack then finds no problem (409) - or, if
            # it slipped in between ingest's two transactions, it is ended by it
            t.ok(out.get("ack") in (201, 409), "ok first #%d: the ack is refused or ended" % k,
                 out.get("ack"))

# many at once, no lock held: the invariant holds for every check
N = 30
ids = [env.make_check(aid, "many%02d" % i, max_attempts=1) for i in range(N)]
t.ok(all(critical(c) for c in ids), "%d checks CRITICAL" % N)
bar = threading.Barrier(2 * N)
res = {}


def go(kind, cid):
    bar.wait()
    if kind == "ack":
        res[("ack", cid)] = request("POST", "/api/v1/checks/%d/ack" % cid, A, {"comment": "x"})[0]
    else:
        res[("ok", cid)] = request("POST", "/api/v1/check_history", tok,
                                   {"check_id": cid, "status": 0})[0]


ths = [threading.Thread(target=go, args=(k, c)) for c in ids for k in ("ack", "ok")]
for th in ths:
    th.start()
for th in ths:
    th.join(60)
bad = [c for c in ids if state(c).get("acknowledged") or state(c).get("status") != "OK"]
t.eq(bad, [], "no check is left OK and acknowledged (%d concurrent pairs)" % N)
t.eq(sorted(set(v for (k, _), v in res.items() if k == "ok")), [201], "every OK stored")

# ---- time ---------------------------------------------------------------------------------
f = env.make_check(aid, "future", max_attempts=1)
st, _, _ = env.post_results(tok, {"check_id": f, "status": 2, "output": "ahead",
                                  "observed_at": rfc3339(now() + datetime.timedelta(days=1))})
t.eq(st, 201, "a result stamped a day ahead is accepted")
st, h, _ = env.api("GET", "/api/v1/checks/%d/history" % f, A)
obs = datetime.datetime.fromisoformat(h["items"][0]["observed_at"].replace("Z", "+00:00"))
t.ok(abs((obs - now()).total_seconds()) < 300, "... and stored with the server's time",
     h["items"][0]["observed_at"])
st, a, _ = env.api("GET", "/api/v1/agents/%d" % aid, A)
t.ok(a.get("clock_skew_s") is not None and a["clock_skew_s"] > 86000,
     "the agent shows clock_skew_s", a.get("clock_skew_s"))
env.post_results(tok, {"check_id": f, "status": 0, "output": "back",
                       "observed_at": rfc3339(now())})
t.eq(state(f).get("status"), "OK", "a later result (stamped now) is not late: the check recovers")
env.post_results(tok, {"check_id": f, "status": 2, "output": "down again"})
t.eq(state(f).get("status"), "CRITICAL", "and goes down again")
t.eq(events(f), ["PROBLEM", "RECOVERY", "PROBLEM"], "PROBLEM, RECOVERY, PROBLEM: nothing frozen")
# the agent resends a result stamped ahead (its answer was lost): the stamp the
# server gave it cannot be repeated, so the result_id alone finds the duplicate;
# stored and counted once, in a single post and in a batch of the COPY's size
g = env.make_check(aid, "future-resent", max_attempts=3)
ahead = rfc3339(now() + datetime.timedelta(days=1))
one = {"check_id": g, "status": 2, "output": "ahead", "observed_at": ahead, "result_id": "fut-1"}
batch = [dict(one, result_id="fut-b%d" % i) for i in range(20)]
firsts = [env.post_results(tok, x)[1] for x in (one, batch)]
agains = [env.post_results(tok, x)[1] for x in (one, batch)]
t.eq(firsts, [{"accepted": 1, "duplicates": 0}, {"accepted": 20, "duplicates": 0}],
     "results stamped ahead, with result_ids: stored")
t.eq(agains, [{"accepted": 0, "duplicates": 1}, {"accepted": 0, "duplicates": 20}],
     "the same results again: duplicates, not stored twice")
t.eq(env.cluster.psql("SELECT count(*) FROM check_history WHERE check_id = %d" % g), [["21"]],
     "21 rows in the history")
# later, the agent's stamp has come within max_clock_skew_s of our clock
# while its clock is still seen ahead (clock_skew_s, as note_clock_ahead()
# left it): a resend of a result that was stored with our time must still
# be a duplicate. The stored copy is written as such a first post left it
# (our stamp, a minute ago, and its result_id claimed in result_stamps,
# sql/021); the resend carries the agent's own stamp, now within the skew.
# In a batch of the COPY's size and in a single post.
k = env.make_check(aid, "ahead-then-within", max_attempts=3)
env.cluster.psql(
    "INSERT INTO check_history (check_id, agent_id, status, output, observed_at, result_id)"
    " VALUES (%d, %d, 2, 'first', now() - interval '1 minute', 'back-1'),"
    " (%d, %d, 2, 'first', now() - interval '1 minute', 'back-single');"
    "INSERT INTO result_stamps (agent_id, result_id, stamped_at)"
    " VALUES (%d, 'back-1', now() - interval '1 minute'),"
    " (%d, 'back-single', now() - interval '1 minute');"
    "UPDATE agents SET clock_skew_s = 400 WHERE id = %d" % (k, aid, k, aid, aid, aid, aid))
within = rfc3339(now() + datetime.timedelta(seconds=200))
resend = [{"check_id": k, "status": 2, "output": "first", "observed_at": within,
           "result_id": "back-1"}] + [
    {"check_id": k, "status": 2, "output": "new", "observed_at": within,
     "result_id": "back-%d" % i} for i in range(2, 21)]
got = [env.post_results(tok, resend)[1],
       env.post_results(tok, {"check_id": k, "status": 2, "output": "first",
                              "observed_at": within, "result_id": "back-single"})[1]]
t.eq(got, [{"accepted": 19, "duplicates": 1}, {"accepted": 0, "duplicates": 1}],
     "agent clock seen ahead: a resend stamped within the skew is still a duplicate")
t.eq(env.cluster.psql("SELECT result_id, count(*) FROM check_history WHERE result_id IN"
                      " ('back-1', 'back-single') GROUP BY 1 ORDER BY 1"),
     [["back-1", "1"], ["back-single", "1"]], "each stored once")
env.cluster.psql("UPDATE agents SET clock_skew_s = 0 WHERE id = %d" % aid)
st, _, _ = env.api("PUT", "/api/v1/agent/self/checkout", tok, {
    "started_at": rfc3339(now() - datetime.timedelta(seconds=100)), "duration_ms": 0,
    "results": 0, "version": "t"})
st, a, _ = env.api("GET", "/api/v1/agents/%d" % aid, A)
t.ok(-110 < a["clock_skew_s"] < -90, "a checkout measures the skew (agent 100 s behind)",
     a["clock_skew_s"])

# ---- 403 names every foreign check -----------------------------------------------------------
aid2, tok2 = env.make_agent("db01")
other = env.make_check(aid2, "theirs")
mine = env.make_check(aid, "mine")
st, b, _ = env.post_results(tok, [{"check_id": mine, "status": 0}, {"check_id": other, "status": 0},
                                  {"check_id": 999999, "status": 0}])
t.eq((st, b.get("check_ids")), (403, [other, 999999]),
     "a batch naming foreign or unknown checks: 403 listing them all in check_ids")
st, h, _ = env.api("GET", "/api/v1/checks/%d/history" % mine, A)
t.eq(len(h["items"]), 0, "... and nothing of the batch is stored")

# ---- a type's default thresholds come from the check registry ---------------------------
for typ, params, want in (("log", {"path": "/var/log/syslog", "pattern": "error"}, "0"),
                          ("process", {"name": "sshd"}, "1:"),
                          ("load", {"period": 1}, None)):
    st, c, _ = env.api("POST", "/api/v1/checks", A, {"agent_id": aid, "name": "dflt-" + typ,
                                                    "type": typ, "params": params})
    t.eq((st, c.get("critical") if st == 201 else c), (201, want),
         "a %s check without thresholds reads back critical %r" % (typ, want))

# ---- a disabled check -------------------------------------------------------------------------
d = env.make_check(aid, "disabled", max_attempts=1)
st, _, _ = env.api("PATCH", "/api/v1/checks/%d" % d, A, {"enabled": False})
t.eq(st, 200, "check disabled")
st, _, _ = env.post_results(tok, [{"check_id": d, "status": 2, "output": "bad"},
                                  {"check_id": d, "status": 0, "output": "good"},
                                  {"check_id": d, "status": 2, "output": "bad"}])
t.eq(st, 201, "results for a disabled check are accepted")
st, h, _ = env.api("GET", "/api/v1/checks/%d/history" % d, A)
t.eq(len(h["items"]), 3, "... stored in history")
t.eq(state(d).get("status"), None, "... change no state")
t.eq(events(d), [], "... and raise no event")

# ---- one batch, a steady check beside changing ones -------------------------------------------
# Ingest reads and evaluates only the checks whose state may change
# (serverd/api/ingest.c, q_ingest): a steady check's results are stored and
# its state row is not touched; the others are evaluated as ever, late
# results included.
s1 = env.make_check(aid, "steady", max_attempts=1)
s2 = env.make_check(aid, "moving", max_attempts=1)
for _ in range(2):
    st, _, _ = env.post_results(tok, [{"check_id": s1, "status": 0, "output": "fine"},
                                      {"check_id": s2, "status": 0, "output": "fine"}])
touched = env.cluster.psql("SELECT updated_at FROM check_state WHERE check_id = %d" % s1)[0][0]
st, b, _ = env.post_results(tok, [{"check_id": s1, "status": 0, "output": "fine"},
                                  {"check_id": s2, "status": 2, "output": "down"},
                                  {"check_id": s1, "status": 0, "output": "fine"}])
t.eq((st, b.get("accepted")), (201, 3), "a mixed batch: all three stored")
t.eq((state(s2).get("status"), events(s2)), ("CRITICAL", ["PROBLEM"]),
     "the changing check raises its PROBLEM")
t.eq((state(s1).get("status"), events(s1)), ("OK", []), "the steady one stays OK, no event")
t.eq(env.cluster.psql("SELECT updated_at FROM check_state WHERE check_id = %d" % s1)[0][0],
     touched, "... and its state row is not even written")
st, h, _ = env.api("GET", "/api/v1/checks/%d/history" % s1, A)
t.eq(len(h["items"]), 4, "... while its results are in history")
hour_ago = rfc3339(now() - datetime.timedelta(hours=1))
two_days_ago = rfc3339(now() - datetime.timedelta(days=2))
st, _, _ = env.post_results(tok, [{"check_id": s1, "status": 0, "output": "fine"},
                                  {"check_id": s2, "status": 0, "output": "old news",
                                   "observed_at": hour_ago},
                                  {"check_id": s2, "status": 0, "output": "older news",
                                   "observed_at": two_days_ago}])
t.eq((st, state(s2).get("status"), events(s2)), (201, "CRITICAL", ["PROBLEM"]),
     "results observed before the newest stored one are late: the check stays CRITICAL")
st, _, _ = env.post_results(tok, [{"check_id": s2, "status": 0, "output": "back"}])
t.eq((state(s2).get("status"), events(s2)), ("OK", ["PROBLEM", "RECOVERY"]),
     "a current OK recovers it")

# ---- a big batch goes in by COPY (ingest.c: INGEST_COPY_MIN and more) ------------------------
# and a batch holding something already stored is taken again with
# INSERT ... ON CONFLICT: the answer counts the duplicates all the same
big = [env.make_check(aid, "big%02d" % i, max_attempts=1) for i in range(20)]
stamp = rfc3339(now())
batch = [{"check_id": c, "status": 0, "output": "fine", "result_id": "big-%d" % c,
          "observed_at": stamp} for c in big]
batch[7] = dict(batch[7], status=2, output="down")
st, b, _ = env.post_results(tok, batch)
t.eq((st, b), (201, {"accepted": 20, "duplicates": 0}), "a batch of 20: all stored")
t.eq((state(big[7]).get("status"), events(big[7])), ("CRITICAL", ["PROBLEM"]),
     "... and evaluated: the one CRITICAL raises its PROBLEM")
more = [{"check_id": c, "status": 0, "output": "fine", "result_id": "big2-%d" % c,
         "observed_at": rfc3339(now())} for c in big[:5]]
st, b, _ = env.post_results(tok, batch + more)
t.eq((st, b), (201, {"accepted": 5, "duplicates": 20}),
     "the same 20 again with 5 new: 5 accepted, 20 duplicates")
n_rows = int(env.cluster.psql("SELECT count(*) FROM check_history WHERE result_id LIKE 'big%'")[0][0])
t.eq(n_rows, 25, "... and 25 rows stored, none twice")
t.eq(state(big[7]).get("status"), "CRITICAL", "a resent result changes no state")
st, b, _ = env.post_results(tok, [{"check_id": c, "status": 0} for c in big] +
                            [{"check_id": other, "status": 0}])
t.eq((st, b.get("check_ids")), (403, [other]), "a big batch with a foreign check: 403")
n_after = int(env.cluster.psql("SELECT count(*) FROM check_history WHERE check_id = %d" % big[0])[0][0])
t.eq(n_after, 2, "... and nothing of it is stored")

# ---- 401 / 403 before the body ------------------------------------------------------------------
def head_only(path, auth):
    """Sends the headers of a 100 kB POST and no body; returns the status."""
    s = socket.create_connection(("127.0.0.1", env.server.port), timeout=10)
    hdr = "POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n" % path
    if auth:
        hdr += "Authorization: Bearer %s\r\n" % auth
    hdr += "Content-Length: 100000\r\n\r\n"
    s.sendall(hdr.encode())
    try:
        line = s.makefile("rb").readline().decode()
    except socket.timeout:
        line = ""
    s.close()
    return int(line.split()[1]) if line.startswith("HTTP/") else None


t.eq(head_only("/api/v1/check_history", None), 401, "no token: 401 before the body is sent")
t.eq(head_only("/api/v1/check_history", "x" * 40), 401, "unknown token: 401 before the body")
t.eq(head_only("/api/v1/checks", tok), 403, "an agent token on an admin route: 403 before the body")
t.eq(head_only("/api/v1/check_history", A), 403, "an admin token on the agent route: 403 before the body")

# ---- a second serverd on the same address ----------------------------------------------------------
out = subprocess.run([SERVERD, "-c", env.server.conf_path], capture_output=True, text=True,
                     timeout=60)
t.eq(out.returncode, 1, "a second serverd on the same listen address exits 1")
t.ok("127.0.0.1:%d" % env.server.port in out.stderr and "in use" in out.stderr,
     "... naming the address and the reason", out.stderr[-300:])
t.ok(env.server.healthy(), "the first one goes on")

# ---- a config file holding a secret, readable by everybody ---------------------------------------
secret = os.path.join(env.tmp, "secret.conf")
with open(env.server.conf_path) as src, open(secret, "w") as dst:
    dst.write(src.read() + "smtp_password = hunter2\n")
os.chmod(secret, 0o644)
out = subprocess.run([SERVERD, "-c", secret, "--migrate"], capture_output=True, text=True, timeout=60)
t.ok(out.returncode == 0 and "smtp_password" in out.stderr and "secret.conf" in out.stderr,
     "serverd warns when a world-readable config holds smtp_password", out.stderr[-300:])
os.chmod(secret, 0o640)
out = subprocess.run([SERVERD, "-c", secret, "--migrate"], capture_output=True, text=True, timeout=60)
t.ok(out.returncode == 0 and "smtp_password" not in out.stderr, "... and not once it is 0640",
     out.stderr[-300:])

# ---- the per-address cap -------------------------------------------------------------------------------
s2 = Server(env.tmp, env.cluster, name="capped", conf={"max_connections_per_ip": "3"}).start()
held = []
for i in range(2):      # with the one the harness keeps, 3 open connections
    c = http.client.HTTPConnection("127.0.0.1", s2.port, timeout=10)
    c.request("GET", "/healthz")
    r = c.getresponse()
    r.read()
    held.append(c)
st, _, _ = s2.request("GET", "/healthz")
t.eq(st, 200, "three keep-alive connections from one address are served")
refused = False
try:
    st, _, _ = s2.request("GET", "/healthz", fresh=True)
except (OSError, http.client.HTTPException):
    refused = True
t.ok(refused, "a fourth from the same address is closed at once")
for c in held:
    c.close()
t.ok(wait_for(lambda: s2.healthy(), 10), "once they close, new connections are served")
s2.stop()

# ---- every worker right after a PostgreSQL restart ---------------------------------------------------------
for i in range(40):          # every worker has a connection now
    env.api("GET", "/api/v1/agents", A, fresh=True)
env.cluster.stop()
env.cluster.start()
codes = [env.api("GET", "/api/v1/agents", A, fresh=True)[0] for i in range(40)]
t.eq(sorted(set(codes)), [200], "after a PostgreSQL restart every request is answered 200")
t.ok("connection closed by the server while idle" in env.server.log(),
     "the dead connections were noticed before use", None)
t.done()
