#!/usr/bin/python3
"""test_alert_emergency.py - emergency pages end (docs/alerting.md): a contact with
pushover_emergency gets priority 2 with retry/expire and
tags=custos-check-<id>; the receipt is stored with the notification and shown
in /api/v1/notifications; when the check recovers, or is acknowledged, serverd
cancels the page (the stand-in implements Pushover's receipts API and
records the cancel) and records when and why. A page whose problem goes on
is left ringing."""
import json
import urllib.error
import urllib.parse
import urllib.request

from alertlib import AlertEnv, PO_TOKEN, PO_USER
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

# the stand-in enforces the receipts API
base = "http://127.0.0.1:%d" % e.po.port


def call(method, path, form=None):
    data = urllib.parse.urlencode(form).encode() if form is not None else None
    req = urllib.request.Request(base + path, data=data, method=method)
    try:
        with urllib.request.urlopen(req, timeout=5) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as x:
        return x.code, json.loads(x.read())


st, b = call("GET", "/1/receipts/%s.json?token=%s" % (rc, PO_TOKEN))
t.eq((st, b.get("status"), b.get("expired"), b.get("acknowledged")), (200, 1, 0, 0),
     "stand-in: a receipt's status, with the token")
st, b = call("GET", "/1/receipts/%s.json?token=%s" % (rc, "b" * 30))
t.eq((st, b.get("token")), (400, "invalid"), "stand-in: a wrong token -> 400")
st, b = call("GET", "/1/receipts/%s.json?token=%s" % ("x" * 30, PO_TOKEN))
t.eq(st, 404, "stand-in: an unknown receipt -> 404")
st, b = call("POST", "/1/receipts/%s/cancel.json" % rc, {})
t.eq(st, 400, "stand-in: a cancel without the token -> 400")
st, b = call("POST", "/1/receipts/%s/cancel.json" % rc, {"token": PO_TOKEN})
t.eq((st, receipt(rc).get("cancelled_by")), (200, "receipt"), "stand-in: cancel by receipt")
st, b = call("POST", "/1/receipts/cancel_by_tag/nothing-here.json", {"token": PO_TOKEN})
t.eq((st, b.get("canceled")), (200, 0), "stand-in: cancel_by_tag of an unknown tag cancels nothing")
t.eq(e.sanitizer_reports(), [], "no sanitizer report in serverd's log")
t.done()
