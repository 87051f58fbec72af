"""End-to-end: /api/v1/stream - check, agent and event frames driven by
LISTEN/NOTIFY, Last-Event-ID resume, the reset when the gap is too old,
the heartbeat (stream_heartbeat_s = 1 here), the cap on open streams (a
stream closed or reset by its client frees its place, and a reset is no
warning in serverd's log), and a clean shutdown with streams open."""
import os
import re
import socket
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Env, Tap, wait_for  # noqa: E402
from sselib import SSE  # noqa: E402

t = Tap()
env = Env(conf={"stream_heartbeat_s": "1", "stream_max": "3"})
A = env.admin
V = env.api("POST", "/api/v1/tokens", A, {"name": "viewer", "role": "viewer"})[1]["token"]
port = env.server.port
aid, atok = env.make_agent("web01")
hard = env.make_check(aid, "sshd", max_attempts=1)
soft = env.make_check(aid, "disk", max_attempts=3)

# Opens a stream once one is allowed: stream_max = 3 here, and a closed
# stream frees its place when the stream's thread next looks at idle streams'
# sockets (every 250 ms, reap_gone()), so a test that opened three must
# wait for that, not race it.
def open_ok(**kw):
    box = []

    def once():
        x = SSE(port, **kw)
        if x.status == 200:
            box.append(x)
            return True
        x.close()
        return False
    return box[0] if wait_for(once, 15) else None


s = SSE(port)
t.eq(s.status, 401, "no token: 401")
s.close()
s = SSE(port, V, {"Last-Event-ID": "abc"})
t.eq(s.status, 400, "a malformed Last-Event-ID: 400")
s.close()

s = SSE(port, V)
t.eq(s.status, 200, "a viewer opens the stream")
t.eq(s.headers.get("content-type"), "text/event-stream", "as text/event-stream")
t.eq(s.comment(), "connected", "a first comment line arrives at once")

env.post_results(atok, [{"check_id": hard, "status": 2, "output": "sshd is gone"}])
ev, seen = s.until(lambda f: f["event"] == "event")
t.ok(ev["data"]["kind"] == "PROBLEM" and ev["data"]["check_id"] == hard and
     ev["id"] == ev["data"]["id"], "event: event for the PROBLEM, id = the event id", ev)
# the frame of this check (a frame for another check - e.g. the creation of
# "disk" above, when its notification reaches the stream late - is not it)
def changed(f):
    return (f["event"] == "check" and f["data"]["id"] == hard and
            f["data"]["state"]["status"] == "CRITICAL")


mine = [f for f in seen if changed(f)]
ck = mine[0] if mine else s.until(changed)[0]
t.ok(ck["data"]["id"] == hard and ck["data"]["state"]["status"] == "CRITICAL" and
     ck["data"]["agent_name"] == "web01", "event: check with the check's new state", ck)
t.eq(ck["id"], ev["id"], "the check frame carries the newest event id")
# the frame is built set-based (stream.c), the API's object by check_json():
# the same object, plus the agent's name and state
api_ck = env.api("GET", "/api/v1/checks/%d" % hard, A)[1]
api_ag = env.api("GET", "/api/v1/agents/%d" % api_ck["agent_id"], A)[1]
frame = dict(ck["data"])
t.eq((frame.pop("agent_name", None), frame.pop("agent_state", None)), ("web01", api_ag["state"]),
     "the check frame names its agent and the agent's state")
# (availability apart: a roll-up may run between the two)
t.ok("availability" in frame, "the check frame has the availability", frame)
frame.pop("availability", None)
api_ck.pop("availability", None)
t.eq(frame, api_ck, "the check frame is GET /api/v1/checks/{id}'s object")
last = ev["id"]

env.post_results(atok, [{"check_id": soft, "status": 1, "output": "91% used"}])
# the change's frame, not the check's creation's (pending, no status) when
# that one reaches the stream late, as for "sshd" above
ck, _ = s.until(lambda f: f["event"] == "check" and f["data"]["id"] == soft and
                f["data"]["state"]["status"] == "WARNING")
t.ok(ck["data"]["state"]["state_type"] == "SOFT" and ck["data"]["state"]["attempt"] == 1,
     "a SOFT change (no event row) is streamed too", ck["data"]["state"])

env.post_results(atok, [{"check_id": soft, "status": 1, "output": "91% used"},
                        {"check_id": hard, "status": 2, "output": "sshd is gone"}])
st, _, _ = env.api("POST", "/api/v1/checks/%d/ack" % hard, A, {"comment": "on it"})
ck, seen = s.until(lambda f: f["event"] == "check" and f["data"]["id"] == hard)
t.ok(ck["data"]["state"]["acknowledged"], "an acknowledgement is streamed", ck)

st, _, _ = env.api("POST", "/api/v1/downtimes", A, {
    "agent_id": aid, "start": "2020-01-01T00:00:00Z", "end": "2099-01-01T00:00:00Z",
    "comment": "maint"})
ag, _ = s.until(lambda f: f["event"] == "agent" and f["data"]["id"] == aid)
t.eq(ag["data"]["name"], "web01", "a downtime for an agent: event: agent")

t.eq(s.comment(), "heartbeat", "a quiet stream gets a heartbeat comment")
t.eq(s.comment(), "heartbeat", "and another")
s.close()

# resume: events made while away come first, nothing older. The downtime's
# DOWNTIME START event is made by the jobs thread within a tick: wait for it,
# so that no event of another source lands amid the ones counted below.
t.ok(wait_for(lambda: env.cluster.psql(
    "SELECT count(*) FROM events WHERE kind = 'DOWNTIME START'")[0][0] == "1", 15),
    "the downtime's start is recorded")
env.post_results(atok, [{"check_id": hard, "status": 0, "output": "back"}])
env.post_results(atok, [{"check_id": hard, "status": 2, "output": "gone again"}])
ids = [int(r[0]) for r in env.cluster.psql("SELECT id FROM events WHERE id > %d ORDER BY id" % last)]
t.ok(len(ids) >= 2, "events happened while away", ids)
s = open_ok(token=V, headers={"Last-Event-ID": str(last)})
got = []
f = None
while len(got) < len(ids):
    f = s.frame()
    if f["event"] == "event":
        got.append(f["id"])
t.eq(got, ids, "Last-Event-ID: the missed events, in order, none older")
f, _ = s.until(lambda f: f["event"] == "check" and f["data"]["id"] == hard)
t.ok(f["data"]["id"] == hard and f["data"]["state"]["status"] == "CRITICAL",
     "then the current state of their checks", f["data"]["state"])
s.close()

# the same through ?last_event_id= (for clients that cannot set headers)
s = open_ok(token=V, path="/api/v1/stream?last_event_id=%d" % ids[-2])
f = s.frame()
t.eq((f["event"], f["id"]), ("event", ids[-1]), "?last_event_id= resumes too")
s.close()

# a gap too old: a reset, and the events after it still come (the replay
# once marked every later event as replayed, and the stream went silent)
def next_event_after_resume(lei, why):
    x = open_ok(token=V, headers={"Last-Event-ID": str(lei)})
    f = x.frame()
    newest = int(env.cluster.psql("SELECT max(id) FROM events")[0][0])
    t.eq((f["event"], f["data"].get("reason"), f["id"]), ("reset", why, newest),
         "Last-Event-ID %d: event: reset (%s), its id the newest event's" % (lei, why))
    # The 1,050 events inserted below notify the stream too. When a stream
    # is open while their notifications are read (this one, or one closed
    # above and not yet reaped), a round takes 512 of them and the rest,
    # with an event of ours among them, become a reset "too many changes
    # at once": never silence. Then the next change must come as itself.
    for _ in range(3):
        cur = env.api("GET", "/api/v1/checks/%d" % hard, A)[1]["state"]["status"]
        env.post_results(atok, [{"check_id": hard, "status": 0 if cur != "OK" else 2,
                                 "output": "after the reset"}])
        want = int(env.cluster.psql("SELECT max(id) FROM events")[0][0])
        ev, _ = x.until(lambda f: (f["event"] == "event" and f["id"] >= want) or (
            f["event"] == "reset" and f["data"].get("reason") == "too many changes at once"))
        if ev["event"] == "event":
            break
    t.ok(ev["event"] == "event" and ev["id"] == want and ev["data"]["check_id"] == hard,
         "and the next event is delivered (%s)" % why, ev)
    x.close()


back = int(env.cluster.psql("SELECT max(id) FROM events")[0][0])
env.cluster.psql("INSERT INTO events (kind, agent_id) SELECT 'TEST', %d FROM generate_series(1, 1050)" % aid)
next_event_after_resume(back, "gap too old")
next_event_after_resume(back + 10 ** 9, "unknown id")

# the cap: stream_max = 3


# more checks change in one commit than one round of lookups takes (512):
# either every one of them is framed (the stream took the notifications
# in more than one round) or a reset comes, saying why, so the page fetches
# everything again - never a silent gap. Which of the two depends on how
# PostgreSQL's 600 notifications reach the LISTEN thread; both are right.
s = open_ok(token=V)
t.ok(s is not None and s.comment() == "connected",
     "a stream is open (it joined before saying so)")
env.cluster.psql("INSERT INTO checks (agent_id, name, type, params) SELECT %d, 'bulk' || g,"
                 " 'load', '{\"period\":1}' FROM generate_series(1, 600) g" % aid)
bulk, reset = set(), None
while reset is None and len(bulk) < 600:
    f = s.frame()
    if f["event"] == "reset":
        reset = f["data"].get("reason")
    elif f["event"] == "check" and f["data"]["name"].startswith("bulk"):
        bulk.add(f["data"]["id"])
t.ok(len(bulk) == 600 or reset == "too many changes at once",
     "600 checks changed at once: all 600 framed, or event: reset saying why (%d framed, reset %r)"
     % (len(bulk), reset))
s.close()
env.cluster.psql("DELETE FROM checks WHERE name LIKE 'bulk%'")

streams = [open_ok(token=V) for _ in range(3)]
t.ok(all(x is not None for x in streams), "three streams open")
extra = SSE(port, V)
t.eq(extra.status, 503, "a fourth is refused: 503")
t.ok("stream_max" in extra.error_body()["error"], "saying why")
extra.close()
streams[0].close()


def reopened():
    x = SSE(port, V)
    if x.status == 200:
        streams[0] = x
        return True
    x.close()
    return False


t.ok(wait_for(reopened, 15), "a closed stream frees its place")


def http_warnings():
    with open(env.server.log_path, errors="replace") as f:
        return [x for x in f if re.search(r"\] (warning|error): http:", x)]


# a client that vanishes with a reset (a killed browser, a phone off the
# network: SO_LINGER 0 sends RST, not FIN) frees its place too, and the
# stream's last write, which finds the socket reset (libmicrohttpd: "The
# connection was forcibly closed by remote peer"), is no warning: the
# client left, the server is fine (http.c, peer_gone). The place is freed
# after that write failed, so the log is complete once it is.
before = http_warnings()
streams[0].sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
streams[0].close()
t.ok(wait_for(reopened, 15), "a stream its client reset frees its place")
t.eq(http_warnings()[len(before):], [], "and logs no warning in serverd")

# a cookie session streams too
st, _, h = env.server.request("POST", "/api/v1/session", body={"token": V}, fresh=True)
streams[1].close()
wait_for(lambda: True, 0)
c = None


def cookie_stream():
    global c
    x = SSE(port, headers={"Cookie": h["set-cookie"].split(";")[0]})
    if x.status == 200:
        c = x
        return True
    x.close()
    return False


t.ok(wait_for(cookie_stream, 15), "a session cookie opens a stream")

# ingest sends its notifications after its COMMIT (sql/013): when that
# fails, the batch is stored and answered 201 all the same, and the log
# says which checks the stream missed
env.cluster.psql("ALTER FUNCTION after_commit_notify(bigint[], text) RENAME TO saved_notify;"
                 " CREATE FUNCTION after_commit_notify(ids bigint[], tag text) RETURNS text"
                 " LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'test: no notifications'; END $$")
before = env.api("GET", "/api/v1/checks/%d" % soft, A)[1]["state"]
st, body, _ = env.api("POST", "/api/v1/check_history", atok,
                      [{"check_id": soft, "status": 0 if before["status"] != "OK" else 2,
                        "output": "changed"}])
t.eq((st, body.get("accepted") if isinstance(body, dict) else body), (201, 1),
     "notifications failing after the COMMIT: still 201")
after = env.api("GET", "/api/v1/checks/%d" % soft, A)[1]["state"]
t.ok(after["status"] != before["status"] or after["attempt"] != before["attempt"],
     "and the state change is stored", (before, after))
t.ok(wait_for(lambda: "the live stream misses the changes of checks {%d}" % soft
              in env.server.log(), 5), "and logged, naming the check")
env.cluster.psql("DROP FUNCTION after_commit_notify(bigint[], text);"
                 " ALTER FUNCTION saved_notify(bigint[], text) RENAME TO after_commit_notify")

# the deferral itself (sql/013), on one connection: inside a transaction
# marked custos.after_commit nothing is notified, not even at its COMMIT;
# after_commit_notify() then sends the event's and the named checks'
# notifications; a rolled-back transaction leaves nothing to send
out = env.cluster.psql_script("""LISTEN custos_stream;
BEGIN;
SELECT set_config('custos.after_commit', 'on', true);
INSERT INTO events (kind, notify) VALUES ('TEST', false) RETURNING 'id=' || id;
COMMIT;
SELECT 'committed';
SELECT after_commit_notify(ARRAY[424242]::bigint[]);
SELECT 'sent';
BEGIN;
SELECT set_config('custos.after_commit', 'on', true);
INSERT INTO events (kind, notify) VALUES ('TEST', false);
ROLLBACK;
SELECT after_commit_notify(NULL);
SELECT 'again';
""")
lines = out.splitlines()
evid = next((x[3:] for x in lines if x.startswith("id=")), None)
pos = {k: (lines.index(k) if k in lines else -1) for k in ("committed", "sent", "again")}
got = [x for x in lines if x.startswith("Asynchronous notification")]
t.ok(evid is not None and pos["committed"] > 0 and not any(
    "custos_stream" in x for x in lines[:pos["committed"] + 1]),
    "after_commit on: no notification at the COMMIT", out)
t.ok(len(got) == 2 and '"e%s"' % evid in got[0] and '"c424242"' in got[1] and
     pos["committed"] < lines.index(got[0]) < pos["sent"],
     "after_commit_notify(): the event's, then the named check's", out)
t.ok(pos["again"] > pos["sent"] and not any(
    x.startswith("Asynchronous") for x in lines[pos["sent"] + 1:]),
    "a rolled-back transaction leaves nothing to send", out)

# a transaction that records many events keeps their notifications in time
# linear in their number (sql/015: one append per INSERT statement, the
# senders' wake-up a flag): 3,000 events in one statement give 3,000 stream
# notifications, each once, and however many wake-ups were asked, one
out = env.cluster.psql_script("""LISTEN custos_stream;
LISTEN custos_outbox;
BEGIN;
SELECT set_config('custos.after_commit', 'on', true);
SET LOCAL track_functions = 'pl';
INSERT INTO events (kind, notify) SELECT 'TEST', false FROM generate_series(1, 3000)
  RETURNING 'id=' || id;
SELECT 'calls=' || pg_stat_get_xact_function_calls('events_stream_after'::regproc);
SELECT notify_or_defer('custos_outbox', '');
SELECT notify_or_defer('custos_outbox', '');
COMMIT;
SELECT 'committed';
SELECT after_commit_notify(NULL);
SELECT 'sent';
""")
lines = out.splitlines()
ids = sorted(int(x[3:]) for x in lines if x.startswith("id="))
sent = lines.index("sent") if "sent" in lines else -1
streamed = [x.split('payload "e', 1)[1].split('"', 1)[0] for x in lines
            if x.startswith('Asynchronous notification "custos_stream"')]
woken = [x for x in lines if x.startswith('Asynchronous notification "custos_outbox"')]
t.ok(len(ids) == 3000 and lines.index("committed") < sent and sorted(map(int, streamed)) == ids,
     "3,000 events in one statement: each one's notification, once, after the COMMIT",
     (len(ids), len(streamed), out[-2000:]))
t.eq(len(woken), 1, "two wake-ups asked for, one sent")
t.ok("calls=1" in lines, "the 3,000 events were kept by one call, not one per event",
     [x for x in lines if x.startswith("calls=")])

# shutdown with streams open is clean
rc = env.server.stop()
t.eq(rc, 0, "serverd stops cleanly with streams open")
for x in streams[2:] + [streams[0], c]:
    try:
        while True:
            x.frame()
    except (EOFError, OSError):
        pass
t.ok(True, "the streams ended")
t.done()
