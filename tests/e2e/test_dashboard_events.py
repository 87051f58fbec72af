"""End-to-end: the events a dashboard view reads and the ones its live
stream brings while it reads them, in headless Chromium behind a relay
(relaylib) that holds each window open:
  1. an event written after the overview read its list, whose frame came
     before the list: it stays on the page (the list replaced it);
  2. an event in the list whose frame comes after the list: shown once;
  3. a check page shows the check's newest events however many it had
     (it showed the newest of the check's first 1,000)."""
import os
import re
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import SRCDIR, Env, Tap  # noqa: E402
from chromelib import Browser  # noqa: E402
from relaylib import Relay  # noqa: E402

t = Tap()
env = Env(conf={"www_dir": os.path.join(SRCDIR, "serverd", "www"), "stream_heartbeat_s": "1"})
A = env.admin
aid, atok = env.make_agent("web01")
ca, cb, cc = (env.make_check(aid, n, max_attempts=1) for n in ("a", "b", "c"))
env.post_results(atok, [{"check_id": x, "status": 0, "output": "ok"} for x in (ca, cb, cc)])
# 1,100 old events of c (two days ago: not "today's" on the overview), and
# today's after a gap of ids, so that the overview's list (the 200 ids
# before the newest) holds today's alone and a's new event in 2 too
env.cluster.psql(
    "INSERT INTO events (created_at, kind, agent_id, check_id, status, prev_status, state_type,"
    " attempt, output, notify) SELECT now() - interval '2 days', 'PROBLEM', %d, %d, 2, 0, 'HARD',"
    " 1, 'old ' || i, false FROM generate_series(1, 1100) i;"
    "SELECT setval('events_id_seq', 100000)" % (aid, cc))


def flip(cid, status):
    """a HARD change of check cid; the id of the event it wrote"""
    env.post_results(atok, [{"check_id": cid, "status": status, "output": "now %d" % status}])
    return env.api("GET", "/api/v1/events?check_id=%d&before_id=9007199254740991&limit=1" % cid,
                   A)[1]["items"][0]["id"]


ia1, ia2 = flip(ca, 2), flip(ca, 0)   # today's events, in the overview's list

OVERVIEW_LIST = re.compile(r"^GET /api/v1/events\?since_id=\d+&limit=200 ")
lock = threading.Lock()
st = {"lists": 0, "stream": b""}
alive = threading.Event()       # a piece of a stream's answer went by
release_list = threading.Event()
release_frame = threading.Event()
a_known = threading.Event()
ids = {}


def frame_of(eid):
    return b"id: %d\nevent: event\n" % eid


def before(line):
    if not OVERVIEW_LIST.match(line):
        return
    with lock:
        st["lists"] += 1
        n = st["lists"]
    if n == 2:
        # 2: written before the list is read (so it is in it), with the
        # stream open (so its frame comes too, held below)
        alive.clear()
        alive.wait(20)
        ids["a"] = flip(ca, 2)
        a_known.set()


def answer(line, data):
    if line.startswith("GET /api/v1/stream"):
        with lock:
            st["stream"] = (st["stream"] + data)[-65536:]
            seen = st["stream"]
        if b"\n\n" in data:   # a frame or a heartbeat, not the answer's head alone
            alive.set()
        if st["lists"] >= 2 and not release_frame.is_set():
            # a's frame may come before flip() has told its id: know it first
            a_known.wait(20)
            with lock:
                seen = st["stream"]
            if frame_of(ids["a"]) in seen:
                                release_frame.wait(20)
        return
    if OVERVIEW_LIST.match(line) and st["lists"] == 1 and "b" not in ids:
        # 1: written after the list was read, before the page has the list
        alive.wait(20)
        ids["b"] = flip(cb, 2)
        release_list.wait(20)


relay = Relay(env.server.port, before=before, answer=answer)
b = Browser(t, env, timeout=30, prefix="events-")
b.base = relay.url


def rows(eid):
    return len(b.css('#events tr[data-event-id="%d"]' % eid))


# 1. the overview's first list, held until the stream's frame of b is on the page
b.login(A, ready=None)
b.wait_true(lambda: "b" in ids and rows(ids["b"]) == 1,
            "1: b's event, written after the list was read, is on the page from the stream")
release_list.set()
b.wait_true(lambda: rows(ia1) == 1 and rows(ia2) == 1, "1: then the list is on the page")
t.eq(rows(ids["b"]), 1, "1: b's event stays on the page once the list is there (it was dropped)")

# 2. the overview drawn again (the stream stays open): a's new event is in
# the list, its frame held until the list is on the page
b.wait_true(lambda: b.css("#live[data-state=up]"), "2: the page is live")
b.click('a[data-view="hosts"]')
b.wait_css("#main[data-ready=hosts]", "2: away to the hosts")
b.click('a[data-view="overview"]')
b.wait_true(lambda: a_known.is_set() and rows(ids["a"]) == 1,
            "2: a's event, written before the list was read, is on the page from the list")
release_frame.set()
ic = flip(cc, 2)
b.wait_true(lambda: rows(ic) == 1, "2: a later event comes from the stream")
t.eq(rows(ids["a"]), 1, "2: a's event is on the page once after its frame came too (it was twice)")
t.eq([int(x.get_attribute("data-event-id")) for x in b.css("#events tr[data-event-id]")][:4],
     [ic, ids["a"], ids["b"], ia2], "2: newest first: c, a, b, then a's recovery")

# 3. a check with 1,100 events before its newest
b.get("/checks/%d" % cc)
b.wait_true(lambda: b.css("#events tr[data-event-id]"), "3: c's page lists its events")
shown = [int(x.get_attribute("data-event-id")) for x in b.css("#events tr[data-event-id]")]
t.eq((len(shown), shown[0]), (50, ic), "3: c's page shows its newest 50, the newest first")
t.eq(shown, sorted(shown, reverse=True), "3: newest first all the way down")
t.done()
