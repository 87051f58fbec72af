#!/usr/bin/python3
"""test_quiet_hours.py - a person's quiet hours against the real SMTP sink:
inside them a WARNING is held (the database says until when) while a
CRITICAL goes through, and a person without quiet hours is told at once;
a CRITICAL of a check passes its own held WARNING; when the quiet time ends
(here: the user's quiet hours are changed, which releases what they held,
so the test controls the moment instead of waiting for a wall-clock window)
a problem still open is delivered, one that recovered meanwhile is dropped
with its recovery, and the WARNING passed by a CRITICAL is dropped as
superseded; every drop is recorded. Also: the users API and the CLI take
quiet hours and refuse bad ones."""
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from alertlib import AlertEnv  # noqa: E402
from harness import BUILDDIR, Tap, wait_for  # noqa: E402

t = Tap()
env = AlertEnv()
A = env.admin
S = env.server


def api(method, path, body=None):
    return S.request(method, path, A, body)


# ---- the users API takes quiet hours ------------------------------------------------
st, alice, _ = api("POST", "/api/v1/users", {"name": "alice", "email": "alice@example.test",
                                              "quiet_hours": ["daily 00:00-00:00"]})
t.ok(st == 201 and alice["quiet_hours"] == ["daily 00:00-00:00"],
     "alice: quiet all day, every day (a window that always holds)", (st, alice))
for body, code, why in [
        ({"quiet_hours": ["mon-fri 22:00"]}, 422, "a window without its end"),
        ({"quiet_hours": ["funday 22:00-07:00"]}, 422, "an unknown day"),
        ({"quiet_hours": ["daily 25:00-07:00"]}, 422, "an hour out of range"),
        ({"quiet_hours": "daily 22:00-07:00"}, 400, "a string, not an array"),
        ({"quiet_hours": [7]}, 400, "a number in the array"),
        ({"quiet_hours": ["daily 22:00-07:00"] * 15}, 400, "more than 14 windows")]:
    st, e, _ = api("PATCH", "/api/v1/users/%d" % alice["id"], body)
    t.ok(st == code and e.get("field") == "quiet_hours", "quiet hours, %s: %d" % (why, code),
         (st, e))
t.eq(api("GET", "/api/v1/users/%d" % alice["id"])[1]["quiet_hours"], ["daily 00:00-00:00"],
     "a refused PATCH changed nothing")


def rows(check_id, contact):
    return [n for n in env.notifications(check_id=check_id, contact_id=contact)
            if n["channel"] == "email"]


def row_is(check_id, contact, kind, pred):
    return any(n["kind"] == kind and pred(n) for n in rows(check_id, contact))


def held(n):
    return n["status"] == "pending" and n["held_until"] is not None


def alice_mail():
    return [m for m in env.sink.messages() if "alice@example.test" in m["rcpt_tos"]]


ALICE = alice["id"]
ONCALL = env.contact_id
warn = env.check("warn-open")
gone = env.check("warn-gone")
crit = env.check("crit-now")
both = env.check("warn-then-crit")

# ---- inside the quiet hours -----------------------------------------------------------
env.post(warn, 1, "load 7")
env.post(gone, 1, "load 6")
env.post(both, 1, "load 5")
t.ok(wait_for(lambda: all(row_is(c, ALICE, "PROBLEM", held) for c in (warn, gone, both))),
     "three WARNINGs to alice are held (pending, held_until set)",
     [rows(c, ALICE) for c in (warn, gone, both)])
n = [x for x in rows(warn, ALICE) if x["kind"] == "PROBLEM"][0]
t.ok(n["last_error"].startswith("held by quiet hours until ") and n["attempts"] == 0 and
     n["attempt_log"] == [], "the row says why and until when; no attempt was made", n)
route = env.cluster.psql("SELECT route->0->>'decision', route->0->>'detail' FROM notifications"
                   " WHERE id = %d" % n["id"])
t.ok(route and route[0][0] == "held" and route[0][1] == n["last_error"],
     "the routing record has the hold (decision held, its detail)", route)
t.ok(wait_for(lambda: all(row_is(c, ONCALL, "PROBLEM", lambda n: n["status"] == "sent")
                          for c in (warn, gone, both))),
     "the contact without quiet hours got the same WARNINGs at once")
env.post(crit, 2, "load 40")
t.ok(wait_for(lambda: row_is(crit, ALICE, "PROBLEM", lambda n: n["status"] == "sent")),
     "a CRITICAL goes through alice's quiet hours", rows(crit, ALICE))
env.post(both, 2, "load 41")
t.ok(wait_for(lambda: any(n["kind"] == "PROBLEM" and n["status_of_check"] == "CRITICAL" and
                          n["status"] == "sent" for n in rows(both, ALICE))),
     "a CRITICAL of a check passes that check's held WARNING", rows(both, ALICE))
env.post(gone, 0, "load 1")
t.ok(wait_for(lambda: row_is(gone, ALICE, "RECOVERY", held)),
     "the recovery of a held WARNING is held too", rows(gone, ALICE))
am = alice_mail()
t.ok(all("CRITICAL" in m["subject"] for m in am) and len(am) == 2,
     "alice's mailbox has the two CRITICALs only", [m["subject"] for m in am])

# ---- the quiet time ends -------------------------------------------------------------------
st, u, _ = api("PATCH", "/api/v1/users/%d" % ALICE, {"quiet_hours": []})
t.ok(st == 200 and u["quiet_hours"] == [], "alice's quiet hours end (changed to none)", (st, u))


def settled():
    return not any(n["status"] in ("pending", "sending")
                   for c in (warn, gone, both) for n in rows(c, ALICE))


t.ok(wait_for(settled), "what was held is weighed again at once",
     [rows(c, ALICE) for c in (warn, gone, both)])
p = [x for x in rows(warn, ALICE) if x["kind"] == "PROBLEM"][0]
t.ok(p["status"] == "sent" and p["held_until"] is not None,
     "the WARNING still open is delivered (and keeps the record that it was held)", p)
g = {x["kind"]: x for x in rows(gone, ALICE)}
t.ok(g["PROBLEM"]["status"] == "dropped" and "resolved since" in g["PROBLEM"]["last_error"],
     "the WARNING that recovered meanwhile is dropped, saying so", g)
route = env.cluster.psql("SELECT jsonb_agg(e->>'decision') FROM notifications,"
                   " jsonb_array_elements(route) e WHERE id = %d" % g["PROBLEM"]["id"])
t.eq(json.loads(route[0][0]), ["held", "dropped"],
     "its routing record: held, then dropped")
t.ok(g["RECOVERY"]["status"] == "dropped" and "was not sent" in g["RECOVERY"]["last_error"],
     "and its recovery too: its problem was never told", g)
w = [x for x in rows(both, ALICE) if x["status_of_check"] == "WARNING"][0]
t.ok(w["status"] == "dropped" and "later notification" in w["last_error"],
     "the WARNING passed by its CRITICAL is dropped as superseded", w)
t.ok(wait_for(lambda: len(alice_mail()) == 3),
     "alice got exactly one more mail", [m["subject"] for m in alice_mail()])
t.ok("warn-open" in alice_mail()[-1]["subject"], "the open WARNING",
     [m["subject"] for m in alice_mail()])
st, lst, _ = api("GET", "/api/v1/notifications?status=dropped")
t.ok(st == 200 and len(lst["items"]) == 3, "?status=dropped lists the three drops", (st, lst))

# ---- the CLI ---------------------------------------------------------------------------------
e = {"HOME": env.tmp, "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
     "CUSTOS_URL": "http://127.0.0.1:%d" % S.port, "CUSTOS_TOKEN": A}
for k in ("ASAN_OPTIONS", "UBSAN_OPTIONS"):
    if k in os.environ:
        e[k] = os.environ[k]
p = subprocess.run([os.path.join(BUILDDIR, "custos"), "users", "edit", "alice", "--quiet-hours",
                    "mon-fri 22:00-07:00;sat,sun 00:00-00:00"], capture_output=True, text=True,
                   env=e, timeout=60)
t.ok(p.returncode == 0 and api("GET", "/api/v1/users/%d" % ALICE)[1]["quiet_hours"] ==
     ["mon-fri 22:00-07:00", "sat,sun 00:00-00:00"], "custos users edit --quiet-hours",
     (p.returncode, p.stdout, p.stderr))
t.eq(env.sanitizer_reports(), [], "no sanitizer report in serverd's log")
t.done()
