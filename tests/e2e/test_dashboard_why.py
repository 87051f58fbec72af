#!/usr/bin/python3
"""test_dashboard_why.py - the check page's "why" of an event, in headless
Chromium (chromelib.py): each event row has a "why" button that shows the
event's routing record (GET /api/v1/events/{id}/routing) and one line per
notification row; a downtime named with hostile markup stays text; a viewer
sees it too; it stays open when the stream redraws the list, and closes."""
import datetime
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from alertlib import AlertEnv  # noqa: E402
from harness import SRCDIR, Tap, wait_for  # noqa: E402
from chromelib import Browser  # noqa: E402

t = Tap()
e = AlertEnv(conf={"www_dir": os.path.join(SRCDIR, "serverd", "www")})
A = e.admin
V = e.api("POST", "/api/v1/tokens", A, {"name": "viewer", "role": "viewer"})[1]["token"]
HOSTILE = '<img src=x onerror="window.__xss=1">'


def event_of(check_id, status):
    return wait_for(lambda: ([x for x in e.events(check_id) if x["kind"] == "PROBLEM"
                              and x["status"] == status] or [None])[-1], 10)


web = e.check("nginx", contacts=[e.contact_id])
end = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(hours=1)
e.post(web, 1, "slow")                         # notified: contacts, then sent
warn = event_of(web, "WARNING")
t.ok(e.settle(15), "the WARNING's rows are sent")
st, d, _ = e.api("POST", "/api/v1/downtimes", A, {
    "check_id": web, "end": end.strftime("%Y-%m-%dT%H:%M:%SZ"), "comment": "deploy " + HOSTILE})
t.eq(st, 201, "a downtime with a hostile comment")
e.post(web, 2, "down")                         # not notified: in the downtime
crit = event_of(web, "CRITICAL")
t.ok(warn and crit, "two PROBLEM events", (warn, crit))

b = Browser(t, e, prefix="why-")
for who, token in (("admin", A), ("viewer", V)):
    b.login(token)
    b.get("/checks/%d" % web)
    b.wait_css("#main[data-ready=check] tr[data-event-id='%d'] button.why-btn" % crit["id"],
               "%s: the check page's events have a why button" % who)
    b.click("button.why-btn[data-why='%d']" % crit["id"])
    row = "tr.why-row[data-why-of='%d']" % crit["id"]
    b.wait_true(lambda: "not notified" in (b.css(row) and b.text_of(row) or ""),
                "%s: why of the CRITICAL: not notified" % who)
    text = b.text_of(row)
    t.ok(("in downtime 'deploy %s' until %s" % (HOSTILE, d["end"])) in text,
         "%s: ... in downtime (the hostile comment as text) until when" % who, text)
    t.eq(b.js("return [document.querySelectorAll('tr.why-row img').length, window.__xss || 0]"), [0, 0],
         "%s: no markup from the data, no script ran" % who)
    b.click("button.why-btn[data-why='%d']" % warn["id"])
    row = "tr.why-row[data-why-of='%d']" % warn["id"]
    b.wait_true(lambda: "notified" in (b.css(row) and b.text_of(row) or ""),
                "%s: why of the WARNING" % who)
    text = b.text_of(row)
    t.ok(text.startswith("notified — no policy: the check's contacts were told: 2 rows"),
         "%s: ... notified, the check's contacts" % who, text)
    t.eq(len(b.css(row + " li")), 2, "%s: a line per notification row" % who)
    t.ok("oncall email [sent]: sent at " in text and "(email, attempt 1)" in text,
         "%s: the email row was sent, at its first attempt" % who, text)
    t.eq(b.css("button.why-btn[data-why='%d']" % warn["id"])[0].get_attribute("aria-expanded"), "true",
         "%s: the button says it is open" % who)
    # the live stream redraws the list on a new event: what is open stays open
    e.post(web, 0, "back")
    b.wait_true(lambda: any("RECOVERY" in r.text for r in b.css("#events tr[data-event-id]")),
                "%s: a new event redraws the list" % who)
    t.eq(len(b.css("tr.why-row")), 2, "%s: both stay open" % who)
    b.click("button.why-btn[data-why='%d']" % warn["id"])
    b.wait_true(lambda: not b.css("tr.why-row[data-why-of='%d']" % warn["id"]), "%s: a second click closes it" % who)
    t.ok(e.settle(15), "%s: the recovery's rows are sent" % who)
    if who == "admin":
        e.post(web, 2, "down again")            # the viewer's round: a new CRITICAL, in the downtime
        t.ok(wait_for(lambda: event_of(web, "CRITICAL")["id"] != crit["id"], 10), "a new CRITICAL")
        crit = event_of(web, "CRITICAL")
t.eq(e.sanitizer_reports(), [], "no sanitizer report in serverd's log")
t.done()
