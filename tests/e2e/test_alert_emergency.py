#!/usr/bin/python3
"""test_alert_emergency.py - emergency pages end (docs/alerting.md): a contact with
pushover_emergency gets priority 2 with retry/expire and
tags=custos-check-<id>; the receipt is stored with the notification and shown
in /api/v1/notifications; when the check recovers, or is acknowledged, serverd
cancels the page (the stand-in implements Pushover's receipts API and
records the cancel) and records when and why. A page whose problem goes on
is left ringing.

A cancel in flight when its serverd is killed (the stand-in holds it
unanswered) is taken over at once by another serverd on the database - the
cancel's lease names its holder, whose lock went with the kill - not when
its lease (pushover_timeout_s + 3 s: 33 s here) runs out."""
import datetime
import json
import time
import urllib.error
import urllib.parse
import urllib.request

from alertlib import AlertEnv, PO_TOKEN, PO_USER
from harness import Server, Tap, wait_for

t = Tap()
# a long Pushover time limit: a cancel's lease (30 + 3 s) cannot be what ends
# it within this test's waits
e = AlertEnv(conf={"pushover_timeout_s": "30"})
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

# the stand-in enforces the receipts API (serverd polls these receipts too,
# every pushover_receipt_poll_s: the test's own polls are let through however
# close to one of serverd's they come)
e.po.min_poll(0)
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

# ---- kill -9 with a cancel in flight: another serverd takes it over at once ----------------
def ts(x):
    return datetime.datetime.fromisoformat(x.replace("Z", "+00:00"))


settings = {}
with open(e.server.conf_path) as f:
    for line in f:
        k, _, v = line.partition(" = ")
        if k not in ("listen", "public_url"):
            settings[k] = v.strip()
cid = e.check("mq", max_attempts=1, contacts=[pager["id"]])
e.post(cid, 2, "mq down")
p = wait_for(lambda: page("mq"), 10)
rc = p["response"]["receipt"] if p else None
t.ok(rc and wait_for(lambda: problem_row(cid).get("receipt") == rc, 5), "mq: an emergency page rings")
e.po.hold_cancels()
e.post(cid, 0, "mq back")
t.ok(wait_for(lambda: e.po.held_cancels() >= 1, 10), "the cancel is in flight (held by the stand-in)")
lease = e.cluster.psql("SELECT receipt_holder, rfc3339(receipt_lease_until) FROM notifications"
                       " WHERE receipt = '%s'" % rc)
t.ok(lease and lease[0][0].isdigit() and lease[0][1], "its lease is committed and names its holder",
     lease)
s2 = Server(e.tmp, e.cluster, name="serverd2", conf=settings).start()
t.ok(wait_for(lambda: e.cluster.psql("SELECT count(*) FROM serverd_live()") == [["2"]], 10),
     "a second serverd holds its lock")
e.server.kill9()
t0 = time.monotonic()
e.po.release_cancels()
t.ok(wait_for(lambda: receipt(rc).get("cancelled"), 30, 0.02),
     "the second serverd cancels the page", receipt(rc))
t.diag("cancelled %.2f s after the kill" % (time.monotonic() - t0))
row = e.cluster.psql("SELECT rfc3339(receipt_cancelled_at), receipt_cancel, receipt_holder"
                     " FROM notifications WHERE receipt = '%s'" % rc)
t.ok(row and row[0][0] and ts(row[0][0]) < ts(lease[0][1]),
     "taken over before the dead holder's lease would have run out (%s)" % lease[0][1], row)
t.eq(row[0][1:] if row else None, ["recovered", ""], "recorded as recovered; no cancel in flight")
with open(s2.log_path, errors="replace") as f:
    t.ok("emergency page custos-check-%d cancelled" % cid in f.read(), "... by the second serverd")
e.server.start()
t.eq(e.sanitizer_reports(s2), [], "no sanitizer report in serverd's log")
s2.stop()
t.done()
