#!/usr/bin/python3
"""test_alert_channels.py - channels never wait for each other, permanent
means permanent, Pushover's rate limit pauses Pushover only, and any output
fits every channel (docs/design.md, invariants):
  - a relay that accepts TCP and never greets: pages still go out at once,
    while the email senders sit in their SMTP sessions; mails are delivered
    once the relay is back;
  - an SMTP 550: failed after one attempt;
  - Pushover 429 (with X-Limit-App-Reset): one PUSHOVER PAUSED event, no
    Pushover request until the reset, email delivered meanwhile, pages sent
    after the reset; X-Limit-App-Remaining: 0 on an accepted page pauses too;
  - 64 KB of non-ASCII output (and 65,000 bytes of ASCII): delivered on email,
    Pushover and webhook, cut to 1,000 characters with an ellipsis.
(Pushover 400 -> failed at once and 500 -> retried: test_alert_delivery.py.)
Every window is held open by the test (a stalled socket, a refusal, the
stand-in's quota), never by a sleep."""
import socket
import threading

from alertlib import AlertEnv, Webhooks
from harness import Tap, wait_for

t = Tap()
e = AlertEnv(conf={"smtp_timeout_s": "60", "pushover_timeout_s": "5"})
A = e.admin
ELLIPSIS = "\u2026"


def row(check_id, channel):
    ns = e.notifications(check_id=check_id, channel=channel)
    return ns[0] if ns else {}


def pages(name):
    return [r for r in e.po.accepted() if r["fields"]["title"] == "PROBLEM web01/%s is CRITICAL" % name]


# ---- a stalled relay never delays a page ------------------------------------------------
e.sink.stop()
stall = socket.socket()
stall.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
stall.bind(("127.0.0.1", e.sink.port))
stall.listen(16)
held = []


def accept_and_hold():
    while True:
        try:
            s, _ = stall.accept()
        except OSError:
            return
        held.append(s)            # accept TCP, never greet


threading.Thread(target=accept_and_hold, daemon=True).start()
names = ["sshd", "nginx", "redis"]          # more problems than email senders (2)
ids = {}
for name in names:
    ids[name] = e.check(name, max_attempts=1)
    e.post(ids[name], 2, "%s down" % name)
    t.ok(wait_for(lambda: pages(name), 10), "page for %s arrives while the relay is stalled" % name)
t.ok(len(held) >= 2, "both email senders are stuck in SMTP sessions meanwhile", len(held))
t.eq(sorted(row(ids[n], "email").get("status") for n in names)[-1], "sending",
     "mail rows are leased (sending), not holding anything else up")
try:
    stall.shutdown(socket.SHUT_RDWR)   # wakes the accept(): the port is really free again
except OSError:
    pass
stall.close()
for s in held:
    s.close()                 # the stalled sessions end (a transient failure)
e.sink.start()
for name in names:
    t.ok(e.wait_mail(lambda m: m["subject"] == "[custos] PROBLEM web01/%s is CRITICAL" % name, 20),
         "relay back: the mail for %s is delivered" % name)

# ---- SMTP 550 is permanent --------------------------------------------------------------
e.sink.refuse("550 5.1.1 mailbox unavailable")
d = e.check("disk", max_attempts=1)
e.post(d, 2, "disk full")
t.ok(wait_for(lambda: row(d, "email").get("status") == "failed", 10), "550 -> failed", row(d, "email"))
r = row(d, "email")
t.eq((r.get("attempts"), [a["ok"] for a in r.get("attempt_log", [])]), (1, [False]),
     "after one attempt")
t.ok("550" in (r.get("last_error") or ""), "last_error has the 550", r.get("last_error"))
t.ok(wait_for(lambda: row(d, "pushover").get("status") == "sent", 10),
     "the page for the same event is sent", row(d, "pushover"))
e.sink.accept()

# ---- Pushover 429: Pushover paused until the reset, email goes on ----------------------
e.settle(10)
n_before = len(e.po.requests())
e.po._control({"reset_in": 6})
e.po.control(1, 429)                        # the next message: 429, Remaining 0, Reset now+6
p1 = e.check("api", max_attempts=1)
e.post(p1, 2, "api down")
t.ok(wait_for(lambda: e.events(kind="PUSHOVER PAUSED"), 10), "a PUSHOVER PAUSED event")
ev = e.events(kind="PUSHOVER PAUSED")
t.ok(ev and ev[0]["detail"]["until"] and "429" in ev[0]["detail"]["reason"], "it says why and until when",
     ev)
t.eq(row(p1, "pushover").get("status"), "pending", "the page waits for the reset")
p2 = e.check("queue", max_attempts=1)
e.post(p2, 2, "queue stuck")
t.ok(e.wait_mail(lambda m: m["subject"] == "[custos] PROBLEM web01/queue is CRITICAL", 10),
     "email is delivered meanwhile")
t.eq(row(p2, "pushover").get("status"), "pending", "... while its page waits (Pushover paused)")
t.ok(wait_for(lambda: pages("api") and pages("queue"), 20), "after the reset both pages are sent")
reqs = e.po.requests()[n_before:]
t.eq([x["status"] for x in reqs], [429, 200, 200], "one 429, then nothing until the reset, then both")
reset = reqs[0]["received_at"]
t.ok(all(x["received_at"] >= reset + 5 for x in reqs[1:]), "no request before X-Limit-App-Reset",
     [x["received_at"] - reset for x in reqs])
t.eq(len(e.events(kind="PUSHOVER PAUSED")), 1, "one event for one pause")

# X-Limit-App-Remaining: 0 on an accepted page pauses as well
e.po.limit(1, 4)                            # one message left until now+4
q1 = e.check("cron", max_attempts=1)
e.post(q1, 2)
t.ok(wait_for(lambda: pages("cron"), 10), "the last page of the quota is accepted")
t.ok(wait_for(lambda: len(e.events(kind="PUSHOVER PAUSED")) == 2, 10),
     "X-Limit-App-Remaining: 0 -> a second PUSHOVER PAUSED event")
q2 = e.check("smtpd", max_attempts=1)
e.post(q2, 2)
t.ok(wait_for(lambda: pages("smtpd"), 20), "the next page goes out after the reset")
t.eq([x["status"] for x in e.po.requests() if x["fields"].get("title", "").startswith("PROBLEM web01/smtpd")],
     [200], "and was never refused (no request during the pause)")

# ---- huge and non-ASCII outputs fit every channel ---------------------------------------------
wh = Webhooks()
hooks = wh.bodies
st, hc, _ = e.api("POST", "/api/v1/contacts", A, {"name": "hook", "webhook_url": wh.url})
t.eq(st, 201, "webhook contact")
for name, out in (("unicode", "é€✓" * 8000), ("ascii", "y" * 65000)):
    cid = e.check(name, max_attempts=1, contacts=[e.contact_id, hc["id"]])
    e.post(cid, 2, out)
    subj = "[custos] PROBLEM web01/%s is CRITICAL" % name
    m = e.wait_mail(lambda m: m["subject"] == subj, 15)
    t.ok(m, "%s (%d bytes): the mail is delivered" % (name, len(out.encode())))
    body = e.sink.body(m[0]) if m else ""
    t.ok(out[:1000] + ELLIPSIS in body and out[:1001] not in body,
         "%s: the mail has the output cut to 1000 characters and marked" % name)
    p = wait_for(lambda: pages(name), 15)
    t.ok(p and len(p[0]["fields"]["message"]) <= 1024, "%s: the page is delivered" % name)
    h = wait_for(lambda: [x for x in hooks if x["check"]["name"] == name], 15)
    t.ok(h and h[0]["event"]["output"] == out[:1000] + ELLIPSIS and out[:1000] + ELLIPSIS in h[0]["message"],
         "%s: the webhook is delivered, output cut to 1000 characters" % name)
    t.ok(wait_for(lambda: all(row(cid, ch).get("status") == "sent"
                              for ch in ("email", "pushover", "webhook")), 10),
         "%s: every row sent" % name, [row(cid, ch) for ch in ("email", "pushover", "webhook")])
wh.stop()
t.eq(e.sanitizer_reports(), [], "no sanitizer report in serverd's log")
t.done()
