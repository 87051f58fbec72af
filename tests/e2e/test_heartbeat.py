#!/usr/bin/env python3
"""Heartbeat checks (the server side; docs/heartbeats.md): ping URLs, the agent's
--wrap route, results through the usual evaluation, and lateness.

Deterministic: a deadline is moved to now in the database (never waited
for); the watcher is then waited for through the check's state (a
condition, not a duration). The rate limit is set low for this server."""
import datetime as dt
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Env, Server, Tap, wait_for  # noqa: E402

t = Tap()
env = Env(conf={"ping_limit_uuid": "8", "public_url": "http://custos.example:8675/"})
A = env.admin
api = env.api
psql = env.cluster.psql


def q1(sql):
    rows = psql(sql)
    return rows[0][0] if rows else None


agent_id, agent_token = env.make_agent("cronhost")
other_id, other_token = env.make_agent("otherhost")


def hb(name, **params):
    p = {"schedule": "every 1m", "grace_s": 30}
    p.update(params)
    st, c, _ = api("POST", "/api/v1/checks", A,
                   {"agent_id": agent_id, "name": name, "type": "heartbeat", "params": p})
    if st != 201:
        t.bail("create heartbeat %s: %s %s" % (name, st, c))
    return c


def state(cid):
    st, c, _ = api("GET", "/api/v1/checks/%d" % cid, A)
    return c["state"] if st == 200 else {}


def ping(c, suffix="", method="GET", body=None, token=None):
    path = "/ping/" + c["ping_uuid"] + suffix
    return env.server.request(method, path, token, raw=body)


def history(cid):
    st, h, _ = api("GET", "/api/v1/checks/%d/history" % cid, A)
    return h["items"] if st == 200 else []


# ---- the check object --------------------------------------------------------
c1 = hb("backup", max_duration_s=600)
t.ok(len(c1.get("ping_uuid") or "") == 36, "a heartbeat has a ping uuid", c1)
t.eq(c1.get("ping_url"), "http://custos.example:8675/ping/" + c1["ping_uuid"],
     "ping_url is public_url/ping/<uuid>")
t.ok(c1.get("heartbeat", {}).get("late_at") is not None, "a new heartbeat is already expected")
t.eq(c1.get("max_attempts"), 1, "a heartbeat alerts at its first problem by default")
viewer = env.server.create_token("viewer", role="viewer")
st, cv, _ = api("GET", "/api/v1/checks/%d" % c1["id"], viewer)
t.ok(st == 200 and cv.get("ping_uuid") is None and cv.get("ping_url") is None,
     "a viewer does not see the ping URL (a secret)", cv)

for bad, field in ((("schedule", "every 5x")), "schedule"), ((("schedule", "61 * * * *")), "schedule"), \
        ((("tz", "Mars/Olympus")), "tz"), ((("tz", "../etc/passwd")), "tz"), \
        ((("schedule", "0 0 30 2 *")), "schedule"):
    p = {"schedule": "every 5m"}
    p[bad[0]] = bad[1]
    st, e, _ = api("POST", "/api/v1/checks", A, {"agent_id": agent_id, "name": "bad",
                                                  "type": "heartbeat", "params": p})
    t.ok(st == 422 and e.get("field") == field, "refused: %s = %r" % bad, e)

# no agent runs it
st, ac, _ = api("GET", "/api/v1/agent/self/checks", agent_token)
t.ok(st == 200 and all(x["type"] != "heartbeat" for x in ac["checks"]),
     "the agent's check download leaves heartbeats out", ac)

# ---- pings ---------------------------------------------------------------------
st, r, _ = ping(c1)
t.ok(st == 200 and r.get("status") == "OK", "GET /ping/<uuid>: success", r)
s = state(c1["id"])
t.eq(s.get("status"), "OK", "the check is OK")
st, r, _ = ping(c1, "/start", "POST")
t.ok(st == 200, "POST /ping/<uuid>/start", r)
st, r, _ = ping(c1, "/3", "POST", b"rsync: connection refused\n")
t.ok(st == 200 and r.get("status") == "CRITICAL", "/ping/<uuid>/3: a failed run is CRITICAL", r)
s = state(c1["id"])
t.ok("exit=3" in (s.get("perfdata") or "") and "duration=" in (s.get("perfdata") or ""),
     "the run's duration and exit code are its perfdata", s)
t.ok(s.get("value") is not None and s["value"] >= 0, "the duration is the result's value", s)
t.ok("exit code 3" in s.get("output", "") and "rsync: connection refused" in s.get("output", ""),
     "the body is the result's output", s)
st, r, _ = ping(c1, "/0")
t.ok(st == 200 and r.get("status") == "OK", "/ping/<uuid>/0 is a success", r)
st, r, _ = ping(c1, "/fail")
t.ok(st == 200 and r.get("status") == "CRITICAL", "/ping/<uuid>/fail is CRITICAL", r)

c2 = hb("logs")
big = b"x" * 5000 + "é".encode() * 5000 + b"THE END"
st, r, _ = ping(c2, "", "POST", big)
out = state(c2["id"]).get("output", "")
t.ok(st == 200 and out.endswith("THE END") and len(out.encode()) <= 10240 + 200,
     "a body over 10 kB: its last 10 kB are kept", (st, len(out)))

st, r, _ = ping(c2, "", "POST", b"\x1b]0;owned\x07\x1b[2K\r\x1b[32mOK\nline two\tend")
out = state(c2["id"]).get("output", "")
t.ok(st == 200 and "\x1b" not in out and "\x07" not in out and "\r" not in out
     and "\\u001b]0;owned" in out and "\nline two\tend" in out,
     "a body's control characters are stored escaped (newline and tab kept)", (st, out))

st, r, _ = env.server.request("GET", "/ping/00000000-0000-0000-0000-000000000000")
t.eq(st, 404, "an unknown uuid is 404")
st, r, _ = env.server.request("GET", "/ping/not-a-uuid")
t.eq(st, 404, "a malformed uuid is 404")
st, r, _ = env.server.request("GET", "/ping/00000000-0000-0000-0000-000000000000", A)
t.eq(st, 404, "a token is no substitute for the uuid")
st, r, _ = ping(c2, "/256")
t.eq(st, 404, "an exit code above 255 is 404")
st, r, _ = ping(c2, "/bogus")
t.eq(st, 404, "an unknown kind is 404")

# rate limit: ping_limit_uuid = 8 a minute
c3 = hb("chatty")
codes = []
hdr = {}
for i in range(20):
    st, r, h = ping(c3)
    codes.append(st)
    if st == 429:
        hdr = h
t.ok(codes.count(429) >= 1 and codes[0] == 200, "pinging one uuid too often is 429", codes)
t.ok(int(hdr.get("retry-after", "0")) >= 1, "... with Retry-After", hdr)
st, r, _ = ping(c2)
t.eq(st, 200, "another uuid is not limited by it")

# rotation
old = c2["ping_uuid"]
st, c2n, _ = api("POST", "/api/v1/checks/%d/ping/rotate" % c2["id"], A)
t.ok(st == 200 and c2n["ping_uuid"] != old, "rotate: a new ping uuid", c2n)
st, r, _ = env.server.request("GET", "/ping/" + old)
t.eq(st, 404, "the old ping URL is gone")
st, r, _ = env.server.request("GET", "/ping/" + c2n["ping_uuid"])
t.eq(st, 200, "the new one works")
st, r, _ = api("POST", "/api/v1/checks/%d/ping/rotate" % c2["id"], viewer)
t.eq(st, 403, "rotation needs an admin token")

# ---- lateness ----------------------------------------------------------------------
c4 = hb("nightly", schedule="30 2 * * *", tz="Europe/Berlin", grace_s=60)
t.ok(state(c4["id"]).get("status") is None, "a new heartbeat has no status yet")
# its first expected run (02:30 Berlin after it was made) is due now
psql("UPDATE heartbeats SET late_at = now() WHERE check_id = %d" % c4["id"])
ok = wait_for(lambda: state(c4["id"]).get("status") == "CRITICAL", 10)
s = state(c4["id"])
t.ok(ok, "never pinged: CRITICAL at its first expected time + grace", s)
t.ok("the 02:30 run (Europe/Berlin) has not reported" in s.get("output", ""),
     "the output says which run is missing", s.get("output"))
t.ok("no success since it was made" in s.get("output", ""), "... and that none came", s)
late2 = q1("SELECT late_at > now() FROM heartbeats WHERE check_id = %d" % c4["id"])
t.eq(late2, "t", "the next run is expected after the missed one")
n = len(history(c4["id"]))
t.eq(n, 1, "one result for one missed run")

c5 = hb("every-minute", grace_s=5)
ping(c5)
psql("UPDATE heartbeats SET late_at = now() + interval '300 ms' WHERE check_id = %d" % c5["id"])
ok = wait_for(lambda: state(c5["id"]).get("status") == "CRITICAL", 10)
s = state(c5["id"])
t.ok(ok and "has not reported; last success" in s.get("output", ""),
     "every 1m: late after its deadline, with the last success", s.get("output"))
lag = q1("SELECT extract(epoch FROM h.received_at - h.observed_at) FROM check_history h"
         " WHERE check_id = %d AND status = 2" % c5["id"])
t.diag("recorded %.3f s after its deadline" % float(lag))
st, r, _ = ping(c5)
t.eq(r.get("status"), "OK", "a success afterwards recovers")

# a start with no end
c6 = hb("stuck", max_duration_s=7200)
ping(c6, "/start")
s = q1("SELECT run_deadline IS NOT NULL AND late_at IS NULL FROM heartbeats"
       " WHERE check_id = %d" % c6["id"])
t.eq(s, "t", "an open run has its own deadline instead of the schedule's")
psql("UPDATE heartbeats SET run_deadline = now() WHERE check_id = %d" % c6["id"])
ok = wait_for(lambda: state(c6["id"]).get("status") == "CRITICAL", 10)
s = state(c6["id"])
t.ok(ok and "still running after" in s.get("output", ""),
     "a start without an end is CRITICAL: still running", s.get("output"))

# overlap
c7 = hb("overlap")
ping(c7, "/start")
st, r, _ = ping(c7, "/start")
s = state(c7["id"])
t.ok(r.get("status") == "WARNING" and "overlapping" in s.get("output", ""),
     "a start while a run is open is an overlapping WARNING", s)

# a success longer than max_duration_s
c8 = hb("slow", max_duration_s=1)
ping(c8, "/start")
psql("UPDATE heartbeats SET started_at = now() - interval '2 hours' WHERE check_id = %d" % c8["id"])
st, r, _ = ping(c8)
s = state(c8["id"])
t.ok(r.get("status") == "WARNING" and "longer than max_duration_s" in s.get("output", ""),
     "a success that took longer than max_duration_s is a WARNING", s)
t.ok(abs(s.get("value", 0) - 7200) < 60, "its duration is the value (s)", s.get("value"))

# ---- the agent's route ---------------------------------------------------------------
c9 = hb("wrapped")
R = "/api/v1/agent/self/heartbeats/wrapped"
now = dt.datetime.now(dt.timezone.utc)
at = (now - dt.timedelta(minutes=10)).strftime("%Y-%m-%dT%H:%M:%SZ")
start = (now - dt.timedelta(minutes=14)).strftime("%Y-%m-%dT%H:%M:%SZ")
body = {"kind": "exit", "exit_code": 0, "at": at, "started_at": start,
        "output": "done\n", "id": "r-1"}
st, r, _ = api("POST", R, agent_token, body)
t.ok(st == 201 and r.get("check") == c9["id"] and r.get("status") == "OK",
     "agent route: 201 {check, status}", (st, r))
h = history(c9["id"])
t.ok(len(h) == 1 and h[0]["observed_at"].startswith(at[:19]),
     "a report carries its real time (observed_at = at)", h)
t.ok("duration=240.000s exit=0" in (h[0].get("perfdata") or ""),
     "started_at gives the duration", h[0].get("perfdata"))
st, r, _ = api("POST", R, agent_token, body)
t.ok(st == 200 and r.get("duplicate") is True, "a resend of the same id: 200", (st, r))
t.eq(len(history(c9["id"])), 1, "... and nothing stored")
st, r, _ = api("POST", R, agent_token, {"kind": "start", "id": "r-2"})
t.eq(st, 201, "a start report: 201")
st, r, _ = api("POST", R, agent_token, {"kind": "fail", "id": "r-3", "output": "boom"})
t.ok(st == 201 and r.get("status") == "CRITICAL", "a fail report: CRITICAL", r)
# an agent whose clock runs a day ahead: at becomes the server's time, and
# started_at moves with it (the run keeps its 3 minutes; it was a 422 before)
ahead = dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=1)
st, r, _ = api("POST", R, agent_token, {
    "kind": "exit", "exit_code": 0, "id": "r-ahead",
    "at": ahead.strftime("%Y-%m-%dT%H:%M:%SZ"),
    "started_at": (ahead - dt.timedelta(minutes=3)).strftime("%Y-%m-%dT%H:%M:%SZ")})
h = history(c9["id"])
t.ok(st == 201 and "duration=180.000s" in (h[0].get("perfdata") or "")
     and h[0]["observed_at"] < ahead.strftime("%Y-%m-%dT%H:%M:%SZ"),
     "a report stamped a day ahead: stored at our time, its duration kept", (st, r, h[:1]))
st, r, _ = api("POST", "/api/v1/agent/self/heartbeats/nosuch", agent_token, {"kind": "success"})
t.eq(st, 404, "no heartbeat of that name: 404")
st, r, _ = api("POST", R, other_token, {"kind": "success"})
t.eq(st, 404, "another agent's heartbeat: 404")
for bad in ({"kind": "success", "colour": 1}, {"kind": 3}, {"kind": "later"},
            {"kind": "exit"}, {"kind": "exit", "exit_code": "1"},
            {"kind": "success", "at": "yesterday"}, {"kind": "success", "id": "x" * 65},
            {"kind": "success", "output": 5}, [1, 2]):
    st, r, _ = api("POST", R, agent_token, bad)
    t.ok(st == 422, "bad body refused with 422: %r" % (bad,), (st, r))
st, r, _ = api("POST", R, A, {"kind": "success"})
t.eq(st, 403, "the route needs an agent token")

# a report spooled during an outage, arriving after its miss was recorded
c12 = hb("spooled")
psql("UPDATE heartbeats SET late_at = now() WHERE check_id = %d" % c12["id"])
ok = wait_for(lambda: state(c12["id"]).get("status") == "CRITICAL", 10)
at = (dt.datetime.now(dt.timezone.utc) - dt.timedelta(seconds=30)).strftime("%Y-%m-%dT%H:%M:%SZ")
st, r, _ = api("POST", "/api/v1/agent/self/heartbeats/spooled", agent_token,
               {"kind": "success", "at": at, "id": "late-1"})
t.ok(ok and st == 201 and r.get("status") == "OK",
     "a spooled success older than the recorded miss still recovers the check", (ok, st, r))

# disabled: never late; enabled again: counts from then
st, _, _ = api("PATCH", "/api/v1/checks/%d" % c12["id"], A, {"enabled": False})
t.eq(q1("SELECT late_at IS NULL FROM heartbeats WHERE check_id = %d" % c12["id"]), "t",
     "a disabled heartbeat has no deadline")
st, c12b, _ = api("PATCH", "/api/v1/checks/%d" % c12["id"], A, {"enabled": True})
t.ok(st == 200 and c12b["heartbeat"]["late_at"] is not None, "enabled again, it has one", c12b)
st, c12c, _ = api("PATCH", "/api/v1/checks/%d" % c12["id"], A,
                  {"type": "load", "params": {"period": 1}})
t.eq(q1("SELECT count(*) FROM heartbeats WHERE check_id = %d" % c12["id"]), "0",
     "a heartbeat changed into another type loses its ping URL")

# ---- two serverd on one database: one result per miss ---------------------------------
s2 = Server(env.tmp, env.cluster, name="serverd2")
s2.start()
c10 = hb("twice", grace_s=5)
psql("UPDATE heartbeats SET late_at = now() WHERE check_id = %d" % c10["id"])
ok = wait_for(lambda: state(c10["id"]).get("status") == "CRITICAL", 10)
wait_for(lambda: False, 1.5)   # both watchers have looked (each polls every 0.5 s)
t.ok(ok and len(history(c10["id"])) == 1, "two serverd: the miss is recorded once",
     history(c10["id"]))
s2.stop()

# a dead agent does not hide a heartbeat
psql("UPDATE agents SET state = 'down' WHERE id = %d" % agent_id)
c11 = hb("while-down")
psql("UPDATE heartbeats SET late_at = now() WHERE check_id = %d" % c11["id"])
ok = wait_for(lambda: state(c11["id"]).get("status") == "CRITICAL", 10)
t.ok(ok, "an agent that is down does not stop its heartbeats going late")
ev = q1("SELECT notify FROM events WHERE check_id = %d AND kind = 'PROBLEM'" % c11["id"])
t.eq(ev, "t", "... and their problems are notified (no agent runs them)")

t.done()
