#!/usr/bin/python3
"""test_alert_states.py - soft/hard, recovery, WARNING->CRITICAL, flapping,
what the messages say, who hears what (notify_on, a check's contacts), and
the contacts/events/notifications API. Real serverd, PostgreSQL, SMTP sink
and Pushover stand-in."""
import time

from alertlib import AlertEnv, PO_USER
from harness import Tap, wait_for

t = Tap()
e = AlertEnv()
A = e.admin


def mails_for(check):
    return [m for m in e.sink.messages() if ("web01/%s " % check) in m["subject"] + " "]


def subjects_for(check):
    return [m["subject"] for m in mails_for(check)]


# ---- soft -> hard at exactly max_attempts --------------------------------------
c = e.check("sshd", max_attempts=3, critical="1:")
e.post(c, 2, "PROCESS CRITICAL: 0 processes matching sshd", 0)
e.post(c, 2, "PROCESS CRITICAL: 0 processes matching sshd", 0)
st, chk, _ = e.api("GET", "/api/v1/checks/%d" % c, A)
t.eq((chk["state"]["state_type"], chk["state"]["attempt"]), ("SOFT", 2), "two failures of three: SOFT, attempt 2")
t.eq([ev["kind"] for ev in e.events(c)], [], "no event while SOFT")
e.post(c, 2, "PROCESS CRITICAL: 0 processes matching sshd", 0)
st, chk, _ = e.api("GET", "/api/v1/checks/%d" % c, A)
t.eq((chk["state"]["state_type"], chk["state"]["attempt"]), ("HARD", 3), "third failure: HARD, attempt 3")
t.eq([ev["kind"] for ev in e.events(c)], ["PROBLEM"], "one PROBLEM event at exactly max_attempts")
m = e.wait_mail(lambda m: m["subject"] == "[custos] PROBLEM web01/sshd is CRITICAL")
t.ok(m, "email: [custos] PROBLEM web01/sshd is CRITICAL", e.sink.subjects())
if m:
    body = e.sink.body(m[0])
    t.ok("Host:      web01" in body and "Check:     sshd (load)" in body, "body names host and check", body)
    t.ok("Value:     0 (warning none, critical 1:)" in body, "body: value against threshold", body)
    t.ok("Attempts:  3/3" in body, "body: attempts", body)
    t.ok("Since:" in body and "Output:    PROCESS CRITICAL: 0 processes matching sshd" in body,
         "body: since and output", body)
    t.ok(("/checks/%d" % c) in body and "/api/v1/checks" not in body and body.count("http://127.0.0.1:") >= 1, "body: link to the check", body)
    t.eq(m[0]["rcpt_tos"], ["oncall@example.test"], "envelope recipient is the contact")
    t.eq(m[0]["mail_from"], "custos@example.test", "envelope sender is smtp_from")
    t.ok(m[0]["message_id"].startswith("<custos.notification."), "stable Message-ID", m[0]["message_id"])
p = e.wait_push(lambda r: r["fields"].get("title") == "PROBLEM web01/sshd is CRITICAL")
t.ok(p, "Pushover title without [custos]", e.po.requests())
if p:
    f = p[0]["fields"]
    t.eq(f.get("priority"), "1", "Pushover priority 1 for CRITICAL")
    t.eq(f.get("user"), PO_USER, "Pushover user is the contact's key")
    t.ok(f.get("url", "").endswith("/checks/%d" % c) and "/api/" not in f.get("url", ""), "Pushover url links the check page", f)
    t.ok(f.get("timestamp", "").isdigit(), "Pushover timestamp", f)
    t.ok("retry" not in f and "expire" not in f, "no retry/expire below priority 2", f)
e.post(c, 2, "still down", 0)
time.sleep(0.3)
t.eq(subjects_for("sshd"), ["[custos] PROBLEM web01/sshd is CRITICAL"], "same HARD state again: nothing new")

# ---- WARNING -> CRITICAL while HARD, recovery ------------------------------------
w = e.check("disk", max_attempts=1, warning="80", critical="90")
e.post(w, 1, "DISK WARNING: 85% used", 85)
t.ok(e.wait_mail(lambda m: m["subject"] == "[custos] PROBLEM web01/disk is WARNING"), "WARNING problem mailed")
p = e.wait_push(lambda r: r["fields"].get("title") == "PROBLEM web01/disk is WARNING")
t.ok(p and p[0]["fields"]["priority"] == "0", "Pushover priority 0 for WARNING")
e.post(w, 2, "DISK CRITICAL: 95% used", 95)
t.ok(e.wait_mail(lambda m: m["subject"] == "[custos] PROBLEM web01/disk is CRITICAL"),
     "WARNING -> CRITICAL while HARD is a new PROBLEM")
e.post(w, 0, "DISK OK: 40% used", 40)
m = e.wait_mail(lambda m: m["subject"] == "[custos] RECOVERY web01/disk is OK")
t.ok(m, "RECOVERY mailed", e.sink.subjects())
p = e.wait_push(lambda r: r["fields"].get("title") == "RECOVERY web01/disk is OK")
t.ok(p and p[0]["fields"]["priority"] == "-1", "Pushover priority -1 for RECOVERY")
t.eq([ev["kind"] for ev in e.events(w)], ["PROBLEM", "PROBLEM", "RECOVERY"], "events: PROBLEM, PROBLEM, RECOVERY")
ev = e.events(w)[1]
t.eq((ev["status"], ev["state_type"], ev["value"]), ("CRITICAL", "HARD", 95), "event carries status, type, value")

# a SOFT problem that recovers tells nobody
s = e.check("soft", max_attempts=3)
e.post(s, 2)
e.post(s, 0)
time.sleep(0.3)
t.eq(e.events(s), [], "SOFT problem then OK: no event")
t.eq(subjects_for("soft"), [], "... and no mail")

# ---- flapping: one START, one STOP, nothing in between -----------------------------
f = e.check("flappy", max_attempts=1)
kinds = []
for i in range(40):
    e.post(f, 2 if i % 2 == 0 else 0)
    kinds = [x["kind"] for x in e.events(f)]
    if "FLAPPING START" in kinds:
        break
t.ok("FLAPPING START" in kinds, "alternating results start flapping", kinds)
start_at = len(kinds)
e.settle()
n_mails = len(subjects_for("flappy"))
for i in range(8):                     # keeps flapping: HARD changes, but nobody is told
    e.post(f, 2 if i % 2 == 0 else 0)
e.settle()
time.sleep(0.3)
t.eq(len(subjects_for("flappy")), n_mails, "no mail while flapping")
for i in range(40):
    e.post(f, 0)
    kinds = [x["kind"] for x in e.events(f)]
    if "FLAPPING STOP" in kinds:
        break
t.ok("FLAPPING STOP" in kinds, "steady results stop flapping", kinds)
t.eq(kinds.count("FLAPPING START"), 1, "exactly one FLAPPING START event")
t.eq(kinds.count("FLAPPING STOP"), 1, "exactly one FLAPPING STOP event")
# the events up to FLAPPING STOP only: once the check stops flapping, the
# jobs' sweep (every second) tells what flapping held back, a RECOVERY
# event that is notified, and it may already be there
stop_at = kinds.index("FLAPPING STOP")
between = [x for x in e.events(f)[start_at:stop_at] if x["kind"] in ("PROBLEM", "RECOVERY")]
t.ok(between and all(not x["notify"] for x in between),
     "PROBLEM/RECOVERY while flapping are not notified",
     [(x["kind"], x["notify"]) for x in between])
t.ok(wait_for(lambda: e.cluster.psql(
    "SELECT status = notified_status FROM check_state WHERE check_id = %d" % f) == [["t"]], 5),
     "once it stops flapping, what flapping held back is told (the last told status is its own)",
     e.cluster.psql("SELECT status, notified_status FROM check_state WHERE check_id = %d" % f))
t.ok(wait_for(lambda: subjects_for("flappy").count("[custos] FLAPPING STOP web01/flappy") == 1, 5),
     "one FLAPPING STOP mail")
e.settle()
subs = subjects_for("flappy")
t.eq(subs.count("[custos] FLAPPING START web01/flappy"), 1, "one FLAPPING START mail")
t.eq(subs.count("[custos] FLAPPING STOP web01/flappy"), 1, "one FLAPPING STOP mail in all")
# nothing was queued for the events between START and STOP (by event, not by
# the order mails reach the sink: two email senders may deliver a PROBLEM
# queued before START after START's own mail)
evs = e.events(f)
start_id = [x["id"] for x in evs if x["kind"] == "FLAPPING START"][0]
stop_id = [x["id"] for x in evs if x["kind"] == "FLAPPING STOP"][0]
t.eq([(n["kind"], n["channel"]) for n in e.notifications(check_id=f)
      if start_id < n["event_id"] < stop_id], [],
     "no notification for any event between FLAPPING START and FLAPPING STOP")

# ---- the flap window spans results that were never read --------------------------
# A HARD check that is not flapping is not read while its results repeat its
# status (serverd/api/ingest.c), so its state row is not written for them;
# when it changes again its flap window comes from its stored results. Both
# must give what stepping every result would: the Nagios model below (the
# engine's: 20 transitions weighted 0.8 .. 1.2, start above 50 %).
def model_start(seq, high=50.0):
    flags, prev = "", None
    for i, st in enumerate(seq):
        if prev is not None and (flags or st != prev):
            flags = (flags + ("1" if st != prev else "0"))[-20:].lstrip("0")
        prev = st
        n = len(flags)
        pct = sum(0.8 + (20 - (n - 1 - k) - 1) * 0.4 / 19
                  for k in range(n) if flags[k] == "1") * 100 / 20
        if pct > high:
            return i
    return None


seq = [0, 2, 0, 0, 0, 0, 0, 2, 0, 0, 0, 2, 0, 2, 0, 2, 0, 2, 0, 2, 0, 2, 0, 2]
want = model_start(seq)
g = e.check("gappy", max_attempts=1)
got, untouched = None, True
for i, st in enumerate(seq):
    row = e.cluster.psql("SELECT updated_at FROM check_state WHERE check_id = %d" % g)
    e.post(g, st)
    if i > 0 and st == seq[i - 1] and st == 0 and got is None:
        untouched = untouched and row == e.cluster.psql(
            "SELECT updated_at FROM check_state WHERE check_id = %d" % g)
    if got is None and "FLAPPING START" in [x["kind"] for x in e.events(g)]:
        got = i
t.ok(want is not None and want > 7, "the model starts flapping after the gaps", want)
t.eq(got, want, "FLAPPING START at the same result as stepping every result would")
t.ok(untouched, "a repeated OK after a blip does not write the check's state")

# ---- who hears what ------------------------------------------------------------
st, only_crit, _ = e.api("POST", "/api/v1/contacts", A, {
    "name": "critonly", "email": "crit@example.test", "notify_on": ["critical"]})
t.eq(st, 201, "contact with notify_on [critical]")
t.eq(only_crit.get("notify_on"), ["critical"], "notify_on stored")
st, nar, _ = e.api("POST", "/api/v1/contacts", A, {"name": "narrow", "email": "narrow@example.test"})
n1 = e.check("narrowed", max_attempts=1, contacts=[nar["id"]])
e.post(n1, 2)
t.ok(e.wait_mail(lambda m: m["subject"] == "[custos] PROBLEM web01/narrowed is CRITICAL"), "narrowed check mails")
e.settle()
rc = sorted(r for m in mails_for("narrowed") for r in m["rcpt_tos"])
t.eq(rc, ["narrow@example.test"], "a check's contacts list narrows who is told")
n2 = e.check("warnonly", max_attempts=1)
e.post(n2, 1)
e.wait_mail(lambda m: m["subject"] == "[custos] PROBLEM web01/warnonly is WARNING")
e.settle()
rc = sorted(r for m in mails_for("warnonly") for r in m["rcpt_tos"])
t.eq(rc, ["narrow@example.test", "oncall@example.test"], "WARNING skips a contact without 'warning'")

# ---- emergency priority --------------------------------------------------------
st, em, _ = e.api("POST", "/api/v1/contacts", A, {
    "name": "pager", "pushover_user": "p" * 29 + "2", "pushover_emergency": True,
    "pushover_device": "phone"})
t.eq(st, 201, "emergency contact created")
x = e.check("emerg", max_attempts=1, contacts=[em["id"]])
e.post(x, 2)
# this check's pushes only: the pager contact, like every contact, is also
# told of other checks' and the agent's events (an AGENT UP, priority -1,
# arrived first once under load)
def pager(kind):
    return lambda r: (r["fields"].get("user") == "p" * 29 + "2" and
                      r["fields"].get("title", "").startswith(kind + " web01/emerg "))


p = e.wait_push(pager("PROBLEM"))
t.ok(p, "emergency push accepted by the stand-in", e.po.requests()[-2:])
if p:
    f2 = p[0]["fields"]
    t.eq((f2.get("priority"), f2.get("retry"), f2.get("expire"), f2.get("device")),
         ("2", "60", "3600", "phone"), "priority 2 with retry 60, expire 3600, device")
e.post(x, 0)
p = e.wait_push(pager("RECOVERY"))
t.eq(p[0]["fields"].get("priority") if p else None, "-1",
     "its RECOVERY is priority -1 (emergency only replaces 1)")

# ---- contacts API --------------------------------------------------------------
bad = [
    ({"email": "x@example.test"}, 422, "name"),
    ({"name": "nochan"}, 422, "email"),
    ({"name": "b1", "email": "not-an-address"}, 422, "email"),
    ({"name": "b2", "pushover_user": "short"}, 422, "pushover_user"),
    ({"name": "b3", "webhook_url": "ftp://x"}, 422, "webhook_url"),
    ({"name": "b4", "email": "a@b.c", "notify_on": ["sometimes"]}, 422, "notify_on"),
    ({"name": "b5", "email": "a@b.c", "notify_on": "critical"}, 400, "notify_on"),
    ({"name": "b6", "email": "a@b.c", "pager": 1}, 422, "pager"),
    ({"name": "b7", "email": 5}, 400, "email"),
    ({"name": "oncall", "email": "dup@example.test"}, 409, "name"),
]
for body, want, field in bad:
    st, r, _ = e.api("POST", "/api/v1/contacts", A, body)
    t.eq((st, (r or {}).get("field")), (want, field), "contact %s -> %d on %s" % (body, want, field))
st, r, _ = e.api("PATCH", "/api/v1/contacts/%d" % nar["id"], A, {"email": None})
t.eq(st, 422, "PATCH removing the only channel -> 422")
st, r, _ = e.api("GET", "/api/v1/contacts/%d" % nar["id"], A)
t.eq(r["email"], "narrow@example.test", "... and changed nothing")
st, r, _ = e.api("PATCH", "/api/v1/contacts/%d" % nar["id"], A,
                 {"webhook_url": "https://hooks.example.test/x", "notify_on": ["recovery", "critical"]})
t.eq((st, r.get("webhook_url"), r.get("notify_on"), r.get("email")),
     (200, "https://hooks.example.test/x", ["critical", "recovery"], "narrow@example.test"),
     "PATCH merges")
st, lst, _ = e.api("GET", "/api/v1/contacts?limit=2", A)
t.ok(st == 200 and len(lst["items"]) == 2 and lst["next"], "contacts list pages", lst)
st, lst2, _ = e.api("GET", "/api/v1/contacts?limit=100&cursor=" + lst["next"], A)
t.ok(st == 200 and lst2["items"] and lst2["items"][0]["id"] > lst["items"][-1]["id"], "cursor continues")
viewer = e.server.create_token("viewer1", "viewer")
st, _, _ = e.api("GET", "/api/v1/contacts", viewer)
t.eq(st, 200, "viewer may list contacts")
st, _, _ = e.api("POST", "/api/v1/contacts", viewer, {"name": "v", "email": "v@x.y"})
t.eq(st, 403, "viewer may not create contacts")
st, _, _ = e.api("DELETE", "/api/v1/contacts/%d" % only_crit["id"], A)
t.eq(st, 204, "DELETE contact -> 204")
st, _, _ = e.api("GET", "/api/v1/contacts/%d" % only_crit["id"], A)
t.eq(st, 404, "deleted contact is gone")
st, _, _ = e.api("DELETE", "/api/v1/contacts/%d" % nar["id"], A)
st, chk, _ = e.api("GET", "/api/v1/checks/%d" % n1, A)
t.eq(chk.get("contacts"), [], "deleting a contact removes it from checks' lists")

# ---- events and notifications API --------------------------------------------------
st, r, _ = e.api("GET", "/api/v1/events?since_id=0&limit=3", A)
t.ok(st == 200 and len(r["items"]) == 3 and r["next"], "events list pages", r)
st, r2, _ = e.api("GET", "/api/v1/events?since_id=" + r["next"], A)
t.ok(st == 200 and r2["items"][0]["id"] == int(r["next"]) + 1 or r2["items"][0]["id"] > int(r["next"]),
     "since_id continues after the last seen id")
st, r, _ = e.api("GET", "/api/v1/events?since_id=abc", A)
t.eq(st, 400, "since_id must be a number")
# before_id: newest first, and its next pages on to older ones
st, every, _ = e.api("GET", "/api/v1/events?limit=1000", A)
ids = [x["id"] for x in every["items"]]
st, r, _ = e.api("GET", "/api/v1/events?before_id=9007199254740991&limit=3", A)
t.eq((st, [x["id"] for x in r.get("items", [])]), (200, ids[::-1][:3]), "before_id: the newest, newest first")
st, r2, _ = e.api("GET", "/api/v1/events?before_id=%s&limit=3" % r["next"], A)
t.eq([x["id"] for x in r2["items"]], ids[::-1][3:6], "before_id's next: the three before those")
st, r, _ = e.api("GET", "/api/v1/events?check_id=%d&before_id=9007199254740991&limit=2" % c, A)
st, mine, _ = e.api("GET", "/api/v1/events?check_id=%d&limit=1000" % c, A)
t.eq([x["id"] for x in r["items"]], [x["id"] for x in mine["items"]][::-1][:2],
     "before_id with check_id: that check's newest")
for q in ("before_id=0", "before_id=x", "before_id=5&since_id=1", "before_id=5&cursor=1"):
    st, r, _ = e.api("GET", "/api/v1/events?" + q, A)
    t.eq((st, r.get("field")), (400, "before_id"), "events?%s -> 400 naming before_id" % q)
ns = e.notifications(check_id=c)
t.ok(ns and all(n["status"] == "sent" and n["attempts"] == 1 for n in ns), "delivery log: sent, 1 attempt", ns)
t.eq(sorted(n["channel"] for n in ns), ["email", "pushover"], "one row per channel")
st, r, _ = e.api("GET", "/api/v1/notifications?status=maybe", A)
t.eq(st, 400, "bad status filter -> 400")
# channel names are the registry's (serverd/notify/registry.c)
st, r, _ = e.api("GET", "/api/v1/notifications?channel=sms", A)
t.eq((st, r.get("field"), r.get("error")), (400, "channel", "channel must be email, pushover or webhook"),
     "an unknown channel -> 400, naming the registry's channels")
st, r, _ = e.api("GET", "/api/v1/notifications?channel=pushover&check_id=%d" % c, A)
t.eq([n["channel"] for n in r["items"]] if st == 200 else st, ["pushover"], "a known channel filters")
t.done()
