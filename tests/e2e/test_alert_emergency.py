#!/usr/bin/python3
"""test_alert_emergency.py - emergency pages end (DESIGN.md): a contact with
pushover_emergency gets priority 2 with retry/expire and
tags=custos-check-<id>; the receipt is stored with the notification and shown
in /api/v1/notifications; when the check recovers, or is acknowledged, serverd
cancels the page (the stand-in implements Pushover's receipts API and
records the cancel) and records when and why. A page whose problem goes on
is left ringing."""
from alertlib import AlertEnv, PO_USER
from harness import Tap, wait_for

t = Tap()
e = AlertEnv()
A = e.admin
st, pager, _ = e.api("POST", "/api/v1/contacts", A, {
    "name": "pager", "pushover_user": PO_USER, "pushover_emergency": True})
t.eq(st, 201, "an emergency contact")


def problem_row(check_id):
    ns = [n for n in e.notifications(check_id=check_id, channel="pushover") if n["kind"] == "PROBLEM"]
    return ns[0] if ns else {}


def page(name):
    ps = [r for r in e.po.accepted() if r["fields"]["title"] == "PROBLEM web01/%s is CRITICAL" % name]
    return ps[0] if ps else None


def receipt(rc):
    rs = [r for r in e.po.receipts() if r["receipt"] == rc]
    return rs[0] if rs else {}


pages = {}
for name in ("db", "web", "dns"):
    cid = e.check(name, max_attempts=1, contacts=[pager["id"]])
    e.post(cid, 2, "%s down" % name)
    p = wait_for(lambda: page(name), 10)
    t.ok(p, "%s: the emergency page is sent" % name)
    f = p["fields"] if p else {}
    t.eq((f.get("priority"), f.get("retry"), f.get("expire"), f.get("tags")),
         ("2", "60", "3600", "custos-check-%d" % cid), "%s: priority 2, retry, expire and the tag" % name)
    rc = p["response"]["receipt"] if p else None
    t.ok(wait_for(lambda: problem_row(cid).get("receipt") == rc, 5),
         "%s: the receipt is stored and shown in /notifications" % name, problem_row(cid))
    pages[name] = (cid, rc)

# recovery ends the page
cid, rc = pages["db"]
e.post(cid, 0, "db back")
t.ok(wait_for(lambda: receipt(rc).get("cancelled"), 10), "recovery: the page is cancelled at Pushover",
     receipt(rc))
t.eq(receipt(rc).get("cancelled_by"), "tag", "... by its tag")
t.ok(wait_for(lambda: problem_row(cid).get("receipt_cancelled_at"), 5), "the cancel is recorded",
     problem_row(cid))
t.eq(problem_row(cid).get("receipt_cancel"), "recovered", "... with its reason")

# an acknowledgement ends the page
cid, rc = pages["web"]
st, _, _ = e.api("POST", "/api/v1/checks/%d/ack" % cid, A, {"comment": "on it"})
t.eq(st in (200, 201), True, "ack accepted")
t.ok(wait_for(lambda: receipt(rc).get("cancelled"), 10), "acknowledgement: the page is cancelled",
     receipt(rc))
t.ok(wait_for(lambda: problem_row(cid).get("receipt_cancel") == "acknowledged", 5),
     "the cancel is recorded as acknowledged", problem_row(cid))

# the problem that goes on keeps ringing: its receipt is untouched
cid, rc = pages["dns"]
t.eq((receipt(rc).get("cancelled"), problem_row(cid).get("receipt_cancelled_at")), (False, None),
     "an unresolved, unacknowledged problem's page is not cancelled")
t.eq(sum(1 for r in e.po.receipts() if r["cancelled"]), 2, "exactly the two pages were cancelled")
t.done()
