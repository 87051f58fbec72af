#!/usr/bin/python3
"""test_alert_keepalive.py - a Pushover or webhook sender keeps its
connection to the provider open between sends, and a kept connection never
sends a page twice unmarked (docs/alerting-delivery.md, "Connections kept"):
  - two pages one after the other go on one connection; two webhooks too;
  - the provider closes the idle connection: the next page goes on a new
    one, once, not marked as a resend;
  - the provider takes a page on the kept connection and closes it with no
    answer: the page is in doubt, so it is sent again marked " (resent)",
    never again at once unmarked (which is what libcurl does by itself when
    a kept connection closes before its answer).
One sender per channel (sender_threads = 1), so the pages of the test are
the one thread's. Every window is held by the stand-in (hold, close), not by
a sleep."""
from alertlib import AlertEnv, Webhooks
from harness import Tap, wait_for

t = Tap()
e = AlertEnv(conf={"sender_threads": "1"})
A = e.admin


def pages(name):
    title = "PROBLEM web01/%s is CRITICAL" % name
    return [r for r in e.po.requests() if r["fields"].get("title", "").startswith(title)]


def row(check_id, channel):
    ns = e.notifications(check_id=check_id, channel=channel)
    return ns[0] if ns else {}


def problem(name):
    cid = e.check(name, max_attempts=1)
    e.post(cid, 2, "%s down" % name)
    return cid


# ---- two pages, one connection ------------------------------------------------------------
problem("sshd")
t.ok(wait_for(lambda: pages("sshd"), 10), "the first page arrives")
problem("nginx")
t.ok(wait_for(lambda: pages("nginx"), 10), "the second page arrives")
a, b = pages("sshd")[0], pages("nginx")[0]
t.eq(b["conn"], a["conn"], "the second page went on the first one's connection")
t.eq(e.po.state()["connections"], 1, "one connection stays open to the provider")

# ---- the provider closes the idle connection ------------------------------------------------
t.eq(e.po.close_idle(), 1, "the stand-in closes the kept connection (idle)")
c = problem("redis")
t.ok(wait_for(lambda: pages("redis") and row(c, "pushover").get("status") == "sent", 10),
     "the next page is sent", row(c, "pushover"))
p = pages("redis")
t.eq([(x["status"], x["fields"]["title"].endswith("(resent)")) for x in p], [(200, False)],
     "once, on a new connection, not marked as a resend")
t.ok(p[0]["conn"] != a["conn"], "a new connection", (p[0]["conn"], a["conn"]))
t.eq([x["ok"] for x in row(c, "pushover").get("attempt_log", [])], [True], "one attempt, ok")

# ---- taken on the kept connection, then closed with no answer --------------------------------
kept = p[0]["conn"]
e.po.hold()
c = problem("mysql")
t.ok(wait_for(lambda: e.po.held() == 1, 10), "the page is taken by the provider, unanswered")
e.po.release()                      # closed without an answer, logged as dropped
t.ok(wait_for(lambda: row(c, "pushover").get("status") == "sent", 15),
     "the page in doubt is sent again", row(c, "pushover"))
p = pages("mysql")
t.eq([(x["status"], x["fields"]["title"].endswith(" (resent)")) for x in p], [(0, False), (200, True)],
     "dropped once, then sent once, marked (resent): never again at once unmarked")
t.eq(p[0]["conn"], kept, "the dropped one had gone on the kept connection")
log = row(c, "pushover").get("attempt_log", [])
t.eq([x["ok"] for x in log], [False, True], "two attempts: in doubt, then ok")
t.ok("no answer" in (log[0].get("error") or ""), "the first one says why", log[:1])
t.eq(row(c, "pushover").get("resent"), True, "the row says it was resent")

# ---- webhooks keep their connection too -------------------------------------------------------
wh = Webhooks()
st, hc, _ = e.api("POST", "/api/v1/contacts", A, {"name": "hook", "webhook_url": wh.url})
t.eq(st, 201, "a webhook contact")
for name in ("cron", "queue"):
    cid = e.check(name, max_attempts=1, contacts=[hc["id"]])
    e.post(cid, 2, "%s down" % name)
    t.ok(wait_for(lambda: [b for b in wh.bodies if b["check"]["name"] == name], 10),
         "the webhook for %s arrives" % name)
ports = [c["port"] for c in wh.calls]
t.eq(len(ports), 2, "two webhooks")
t.ok(len(set(ports)) == 1, "both on one connection", ports)
wh.stop()

t.eq(e.sanitizer_reports(), [], "no sanitizer report in serverd's log")
t.done()
