#!/usr/bin/python3
"""test_alert_ack.py - re-notification every renotify_interval_s, and
acknowledgements: 409 on an OK check, ACKNOWLEDGED mail, an ack stops the
reminders, sticky vs non-sticky across WARNING->CRITICAL, expiry, DELETE."""
import datetime
import time

from alertlib import AlertEnv
from harness import Tap, wait_for

t = Tap()
e = AlertEnv(conf={"renotify_interval_s": "1"})
A = e.admin


def subjects(check):
    return [m["subject"] for m in e.sink.messages() if ("web01/%s " % check) in m["subject"] + " "]


def problems(check):
    return [s for s in subjects(check) if s.startswith("[custos] PROBLEM")]


def renotify_events(check_id):
    return [x for x in e.events(check_id) if x["kind"] == "RENOTIFY"]


# ---- ack validation ------------------------------------------------------------
ok = e.check("fine", max_attempts=1)
st, r, _ = e.api("POST", "/api/v1/checks/%d/ack" % ok, A, {"comment": "x"})
t.eq(st, 409, "ack of a check without results -> 409")
e.post(ok, 0)
st, r, _ = e.api("POST", "/api/v1/checks/%d/ack" % ok, A, {"comment": "x"})
t.eq(st, 409, "ack of an OK check -> 409")
st, r, _ = e.api("POST", "/api/v1/checks/999999/ack", A, {"comment": "x"})
t.eq(st, 404, "ack of an unknown check -> 404")

# ---- renotify ----------------------------------------------------------------------
c = e.check("sshd", max_attempts=1)
e.post(c, 2, "sshd is gone")
t.ok(e.wait_mail(lambda m: m["subject"] == "[custos] PROBLEM web01/sshd is CRITICAL"), "PROBLEM mailed")
t.ok(wait_for(lambda: len(problems("sshd")) >= 3, 8), "renotify_interval_s=1: reminders keep coming",
     subjects("sshd"))
rn = renotify_events(c)
t.ok(rn and all(x["notify"] for x in rn), "RENOTIFY events, notified", rn[:2])
m = [m for m in e.sink.messages() if "web01/sshd" in m["subject"]]
t.ok("reminder" in e.sink.body(m[-1]), "a reminder says it is one")
t.ok(e.wait_push(lambda r: r["fields"]["title"] == "PROBLEM web01/sshd is CRITICAL" and r["fields"]["priority"] == "1"),
     "reminders also go to Pushover as PROBLEM")

# ---- ack stops renotify ------------------------------------------------------------
for bad, field in (({}, "comment"), ({"comment": 5}, "comment"), ({"comment": "x", "sticky": "yes"}, "sticky"),
                   ({"comment": "x", "expires_at": "tomorrow"}, "expires_at"),
                   ({"comment": "x", "expires_at": "2001-01-01T00:00:00Z"}, "expires_at"),
                   ({"comment": "x", "who": "me"}, "who")):
    st, r, _ = e.api("POST", "/api/v1/checks/%d/ack" % c, A, bad)
    t.ok(st in (400, 422) and r.get("field") == field, "ack %s -> %d on %s" % (bad, st, field), r)
viewer = e.server.create_token("viewer", "viewer")
st, r, _ = e.api("POST", "/api/v1/checks/%d/ack" % c, viewer, {"comment": "x"})
t.eq(st, 403, "viewer may not acknowledge")
st, r, _ = e.api("POST", "/api/v1/checks/%d/ack" % c, A, {"comment": "looking into it"})
t.eq(st, 201, "ack -> 201")
t.eq((r.get("acknowledged"), r.get("sticky"), r.get("comment"), r.get("by")),
     (True, True, "looking into it", "admin"), "ack answer: sticky by default, who")
st, chk, _ = e.api("GET", "/api/v1/checks/%d" % c, A)
t.eq(chk["state"]["acknowledged"], True, "check state shows acknowledged")
m = e.wait_mail(lambda m: m["subject"] == "[custos] ACKNOWLEDGED web01/sshd is CRITICAL")
t.ok(m, "ACKNOWLEDGED mail", subjects("sshd"))
if m:
    b = e.sink.body(m[0])
    t.ok("Comment:   looking into it" in b and "By:        admin" in b, "it says who and why", b)
t.ok(e.wait_push(lambda r: r["fields"]["title"] == "ACKNOWLEDGED web01/sshd is CRITICAL"),
     "ACKNOWLEDGED push")
e.settle()
n_before = len(problems("sshd"))
rn_before = len(renotify_events(c))
time.sleep(3)
t.eq(len(problems("sshd")), n_before, "no reminder mail after the ack (3 s at renotify 1 s)")
t.eq(len(renotify_events(c)), rn_before, "no RENOTIFY event after the ack")

# sticky: WARNING -> CRITICAL keeps the ack quiet; recovery ends it
e.post(c, 1, "degraded")
e.post(c, 2, "gone again")
time.sleep(0.5)
ev = [x for x in e.events(c) if x["kind"] == "PROBLEM"][-1]
t.eq((ev["status"], ev["notify"]), ("CRITICAL", False), "sticky ack: a new HARD problem is recorded, not notified")
e.post(c, 0, "back")
t.ok(e.wait_mail(lambda m: m["subject"] == "[custos] RECOVERY web01/sshd is OK"), "recovery is still notified")
st, chk, _ = e.api("GET", "/api/v1/checks/%d" % c, A)
t.eq(chk["state"]["acknowledged"], False, "OK ends the acknowledgement")

# non-sticky: a change of problem state ends it
n = e.check("nonsticky", max_attempts=1)
e.post(n, 1)
e.wait_mail(lambda m: m["subject"] == "[custos] PROBLEM web01/nonsticky is WARNING")
st, r, _ = e.api("POST", "/api/v1/checks/%d/ack" % n, A, {"comment": "meh", "sticky": False})
t.eq((st, r.get("sticky")), (201, False), "non-sticky ack")
e.post(n, 2)
t.ok(e.wait_mail(lambda m: m["subject"] == "[custos] PROBLEM web01/nonsticky is CRITICAL"),
     "non-sticky: WARNING -> CRITICAL is notified")
st, chk, _ = e.api("GET", "/api/v1/checks/%d" % n, A)
t.eq(chk["state"]["acknowledged"], False, "... and the ack is gone")

# expiry
x = e.check("expiring", max_attempts=1)
e.post(x, 2)
e.wait_mail(lambda m: m["subject"] == "[custos] PROBLEM web01/expiring is CRITICAL")
exp = (datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=2)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
st, r, _ = e.api("POST", "/api/v1/checks/%d/ack" % x, A, {"comment": "2 s", "expires_at": exp})
t.eq(st, 201, "ack with expires_at")
t.ok(r.get("expires_at"), "expires_at echoed", r)
e.settle()
n0 = len(problems("expiring"))
t.ok(wait_for(lambda: not e.api("GET", "/api/v1/checks/%d" % x, A)[1]["state"]["acknowledged"], 6),
     "the ack expires")
t.ok(wait_for(lambda: len(problems("expiring")) > n0, 5), "reminders resume after expiry")

# DELETE
d = e.check("unack", max_attempts=1)
e.post(d, 2)
e.wait_mail(lambda m: m["subject"] == "[custos] PROBLEM web01/unack is CRITICAL")
e.api("POST", "/api/v1/checks/%d/ack" % d, A, {"comment": "mine"})
e.settle()
n0 = len(problems("unack"))
st, _, _ = e.api("DELETE", "/api/v1/checks/%d/ack" % d, A)
t.eq(st, 204, "DELETE ack -> 204")
t.ok(wait_for(lambda: len(problems("unack")) > n0, 5), "reminders resume after DELETE")
st, _, _ = e.api("DELETE", "/api/v1/checks/999999/ack", A)
t.eq(st, 404, "DELETE ack of an unknown check -> 404")
t.done()
