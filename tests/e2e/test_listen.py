"""End-to-end: serverd's one LISTEN thread (serverd/listen.h), seen from a
second instance on the same database.

B is a second serverd with no notification channel settings of its own (no
smtp_*, pushover_* or webhook key). Its token cache subscribes to
custos_auth on the LISTEN thread by itself, not through the senders (every
serverd still starts its senders: no key turns a channel off today).

1. A token revoked through A is refused by B at once.
2. B loses every connection to PostgreSQL: its backends are terminated and
   its role may not log in, so it stays away while a token is revoked
   through A and a check changes; that custos_auth and custos_stream
   notification never reaches B. Let in again, B catches up: the stream B
   had open gets a reset ("reconnected") and the revoked token is refused;
   then later changes reach B's stream and cache again (the channels are
   subscribed again).
The senders' catch-up (a rescan of the outbox) is covered by
test_failover.py: a notification of an event after the switch is sent."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Env, Server, Tap, wait_for  # noqa: E402
from sselib import SSE  # noqa: E402

t = Tap()
env = Env()
A = env.admin
# B logs in as a role of its own, so that it alone can be kept out
env.cluster.psql("CREATE ROLE custos_b LOGIN SUPERUSER")
b = Server(env.tmp, env.cluster, name="serverd-b",
           conf={"database": env.cluster.conninfo + " user=custos_b application_name=serverd-b"})
b.start()


def on_b(method, path, token, **kw):
    return b.request(method, path, token, **kw)


def b_log_count(text):
    with open(b.log_path, errors="replace") as f:
        return f.read().count(text)


def new_viewer(name):
    st, made, _ = env.api("POST", "/api/v1/tokens", A, {"name": name, "role": "viewer"})
    if st != 201:
        raise RuntimeError("create token: %s %s" % (st, made))
    return made["id"], made["token"]


# ---- 1. revoked through A, refused by B -----------------------------------------------------
vid, vtok = new_viewer("grafana")
t.eq(on_b("GET", "/api/v1/status", vtok)[0], 200, "B accepts a viewer token made through A")
t.eq(on_b("GET", "/api/v1/status", vtok)[0], 200, "and again (from its cache)")
t.eq(env.api("DELETE", "/api/v1/tokens/%d" % vid, A)[0], 204, "A revokes it")
t.ok(wait_for(lambda: on_b("GET", "/api/v1/status", vtok)[0] == 401, 2),
     "B refuses the revoked token (custos_auth through B's LISTEN thread)")

# ---- 2. B away: what it missed is caught up -------------------------------------------------
aid, atok = env.make_agent("web01")
cid = env.make_check(aid, "load")
wid, wtok = new_viewer("wall")
t.eq(on_b("GET", "/api/v1/status", wtok)[0], 200, "B accepts a second viewer token")
s = SSE(b.port, A)
t.eq(s.status, 200, "a stream is open on B")
t.eq(s.comment(), "connected", "it says connected")

lost = b_log_count("listen: lost the database connection")
env.cluster.psql("ALTER ROLE custos_b NOLOGIN")
env.cluster.psql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                 " WHERE usename = 'custos_b'")
t.ok(wait_for(lambda: b_log_count("listen: lost the database connection") > lost, 10),
     "B's LISTEN thread lost its connection")
t.eq(env.cluster.psql("SELECT count(*) FROM pg_stat_activity WHERE usename = 'custos_b'"),
     [["0"]], "and B has no session left: notifications now are missed")

t.eq(env.api("DELETE", "/api/v1/tokens/%d" % wid, A)[0], 204, "A revokes the second token meanwhile")
t.eq(env.post_results(atok, {"check_id": cid, "status": 2, "output": "CRITICAL - away",
                             "result_id": "away"})[0], 201, "and a check changes through A")

env.cluster.psql("ALTER ROLE custos_b LOGIN")
f, _ = s.until(lambda f: f["event"] == "reset", 50)
t.eq(f["data"], {"reason": "reconnected"},
     "B back: its stream is told to fetch everything again")
t.ok(wait_for(lambda: on_b("GET", "/api/v1/status", wtok)[0] == 401, 5),
     "B refuses the token revoked while it was away")

# the channels are subscribed again: later changes reach B
t.eq(env.post_results(atok, {"check_id": cid, "status": 0, "output": "OK - back",
                             "result_id": "back"})[0], 201, "a check recovers through A")
f, _ = s.until(lambda f: f["event"] == "check" and f["data"]["id"] == cid and
               (f["data"].get("state") or {}).get("status") == "OK", 50)
t.eq(f["data"]["state"]["output"], "OK - back", "B's stream shows the recovery")
xid, xtok = new_viewer("later")
t.eq(on_b("GET", "/api/v1/status", xtok)[0], 200, "B accepts a token made after it came back")
t.eq(env.api("DELETE", "/api/v1/tokens/%d" % xid, A)[0], 204, "A revokes it")
t.ok(wait_for(lambda: on_b("GET", "/api/v1/status", xtok)[0] == 401, 2),
     "B refuses it: custos_auth reaches B again")
s.close()
t.done()
