#!/usr/bin/python3
"""test_alert_delivery.py - delivery never loses or repeats: SMTP down for
a while, SMTP answering 451, Pushover answering 500 and 429 - each message
arrives exactly once afterwards, with every attempt recorded; Pushover 400
fails at once and is never retried; webhooks POST the event as JSON and
are retried on 503. Also checks the Pushover stand-in's own strictness."""
import json
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from alertlib import AlertEnv, PO_TOKEN, PO_USER
from harness import Tap, wait_for

t = Tap()
e = AlertEnv(start_sink=False)       # the relay is down at first
A = e.admin


def mails(subject):
    return [m for m in e.sink.messages() if m["subject"] == subject]


def row(check_id, channel):
    ns = e.notifications(check_id=check_id, channel=channel)
    return ns[0] if ns else {}


# ---- SMTP down for a while -------------------------------------------------------
c = e.check("sshd", max_attempts=1)
e.post(c, 2, "sshd is gone")
# waits for the second attempt's outcome, not its claim: while it is in
# flight the row is 'sending', with no next_attempt_at and an open attempt
t.ok(wait_for(lambda: row(c, "email").get("attempts", 0) >= 2 and row(c, "email").get("status") == "pending",
              8), "relay down: attempts are made and retried", row(c, "email"))
n = row(c, "email")
t.ok(n.get("status") in ("pending", "sending"), "still pending (or being retried) while the relay is down", n)
t.ok(n.get("last_error") and "127.0.0.1" in n["last_error"], "last_error says what failed", n.get("last_error"))
t.ok(n.get("next_attempt_at"), "next_attempt_at is set", n)
t.ok(all(not a["ok"] and a["error"] for a in n["attempt_log"]), "every failed attempt is recorded", n["attempt_log"])
t.eq(row(c, "pushover").get("status"), "sent", "the other channel is not held up")
e.sink.start()
m = e.wait_mail(lambda m: m["subject"] == "[custos] PROBLEM web01/sshd is CRITICAL", 20)
t.ok(m, "relay back: the mail is delivered")
t.ok(wait_for(lambda: row(c, "email").get("status") == "sent", 5), "row is sent")
time.sleep(1.5)
t.eq(len(mails("[custos] PROBLEM web01/sshd is CRITICAL")), 1, "delivered exactly once")
n = row(c, "email")
t.ok(n["attempts"] >= 3 and n["attempt_log"][-1]["ok"], "attempts counted, the last one ok", n)

# ---- SMTP 451 ------------------------------------------------------------------------
e.sink.refuse("451 4.3.0 mailbox busy, try later")
w = e.check("disk", max_attempts=1)
e.post(w, 1, "disk filling")
t.ok(wait_for(lambda: "451" in (row(w, "email").get("last_error") or ""), 8), "a 451 is recorded as the error",
     row(w, "email"))
t.ok(row(w, "email").get("status") in ("pending", "sending"), "... and retried", row(w, "email"))
e.sink.accept()
t.ok(e.wait_mail(lambda m: m["subject"] == "[custos] PROBLEM web01/disk is WARNING", 20), "delivered after the 451s")
time.sleep(1)
t.eq(len(mails("[custos] PROBLEM web01/disk is WARNING")), 1, "exactly once")

# ---- Pushover 500s and 429 -----------------------------------------------------------------
def sends():
    """{(counter, channel): value} of /metrics' send counters."""
    st, text, _ = e.api("GET", "/metrics", A)
    text = text.decode() if isinstance(text, bytes) else text
    out = {}
    for line in text.splitlines():
        for name in ("sent", "failed", "retried"):
            pre = "custos_notifications_%s_total{channel=\"" % name
            if line.startswith(pre):
                out[(name, line[len(pre):line.index('"', len(pre))])] = float(line.split()[-1])
    return out


before = sends()
t.eq(sorted({ch for _, ch in before}), ["email", "pushover", "webhook"],
     "/metrics has sent, failed and retried counters per channel")
t.ok(before.get(("retried", "email"), 0) >= 3, "the relay's failures above are counted as retries",
     before)
e.po.control(2, 500)
p5 = e.check("p500", max_attempts=1)
e.post(p5, 2)
t.ok(e.wait_push(lambda r: r["fields"]["title"] == "PROBLEM web01/p500 is CRITICAL", 15), "delivered after two 500s")
reqs = [r for r in e.po.requests() if r["fields"].get("title") == "PROBLEM web01/p500 is CRITICAL"]
t.eq([r["status"] for r in reqs], [500, 500, 200], "500, 500, then accepted - no more")
t.ok(wait_for(lambda: row(p5, "pushover").get("status") == "sent", 5), "row sent")
t.eq(row(p5, "pushover").get("attempts"), 3, "3 attempts recorded")
after = sends()
t.eq((after[("retried", "pushover")] - before[("retried", "pushover")],
      after[("sent", "pushover")] - before[("sent", "pushover")],
      after[("failed", "pushover")] - before[("failed", "pushover")]), (2.0, 1.0, 0.0),
     "the sender counted two retries and one send for /metrics")
time.sleep(1.5)
t.eq(len([r for r in e.po.requests() if r["fields"].get("title") == "PROBLEM web01/p500 is CRITICAL"]), 3,
     "never resent")
e.po.control(1, 429)
p4 = e.check("p429", max_attempts=1)
e.post(p4, 2)
t.ok(e.wait_push(lambda r: r["fields"]["title"] == "PROBLEM web01/p429 is CRITICAL", 10),
     "429 is retried (after the stand-in's X-Limit-App-Reset; see test_alert_channels.py)")

# ---- Pushover 400: failed, not retried ---------------------------------------------------
e.po.control(100, 400)
bad = e.check("p400", max_attempts=1)
e.post(bad, 2)
t.ok(wait_for(lambda: row(bad, "pushover").get("status") == "failed", 5), "400 -> failed", row(bad, "pushover"))
time.sleep(2.5)
r4 = row(bad, "pushover")
t.eq(r4.get("attempts"), 1, "one attempt, never retried")
t.ok("400" in (r4.get("last_error") or ""), "last_error has the status", r4.get("last_error"))
t.eq(len([r for r in e.po.requests() if r["fields"].get("title") == "PROBLEM web01/p400 is CRITICAL"]), 1,
     "the stand-in saw it once")
t.eq(row(bad, "email").get("status"), "sent", "email for the same event is unaffected")
e.po.control(0)

# ---- long output, a name that is not ASCII -------------------------------------------
lg = e.check("café", max_attempts=1)
e.post(lg, 2, "x" * 5000)
m = e.wait_mail(lambda m: m["subject"] == "[custos] PROBLEM web01/café is CRITICAL")
t.ok(m, "a UTF-8 check name survives the subject (RFC 2047)", e.sink.subjects()[-3:])
p = e.wait_push(lambda r: r["fields"].get("title") == "PROBLEM web01/café is CRITICAL")
t.ok(p and len(p[0]["fields"]["message"]) <= 1024, "5000 bytes of output: the push message is cut to 1024")
t.ok(m and ("x" * 1000 + "\u2026") in e.sink.body(m[0]) and ("x" * 1001) not in e.sink.body(m[0]),
     "the mail carries the output cut to 1000 characters, marked with an ellipsis")
t.ok(m and max(len(x) for x in e.sink.raw(m[0]).split(b"\r\n")) <= 998, "no line over SMTP's 998 bytes")

# ---- the stand-in enforces the API ---------------------------------------------------
def raw_post(fields):
    data = urllib.parse.urlencode(fields).encode()
    try:
        with urllib.request.urlopen(urllib.request.Request(e.po.url, data=data), timeout=5) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as x:
        return x.code, json.loads(x.read())


good = {"token": PO_TOKEN, "user": PO_USER, "message": "hi"}
t.eq(raw_post(good)[0], 200, "stand-in: a valid request -> 200")
for extra, why in (({"user": "short"}, "user of 29 chars"), ({"message": ""}, "empty message"),
                   ({"message": "x" * 1025}, "message of 1025"), ({"title": "t" * 251}, "title of 251"),
                   ({"priority": "2"}, "priority 2 without retry/expire"),
                   ({"priority": "2", "retry": "10", "expire": "60"}, "retry below 30"),
                   ({"priority": "2", "retry": "60", "expire": "20000"}, "expire above 10800"),
                   ({"priority": "3"}, "priority 3"), ({"url": "u" * 513}, "url of 513")):
    f = dict(good)
    f.update(extra)
    st, body = raw_post(f)
    t.ok(st == 400 and body["status"] == 0 and body["errors"], "stand-in refuses " + why, body)

# ---- webhooks ----------------------------------------------------------------------------
hooks = []
fail_next = [1]


class Hook(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        code = 503 if fail_next[0] > 0 else 200
        fail_next[0] -= 1
        hooks.append({"code": code, "key": self.headers.get("Idempotency-Key"),
                      "ctype": self.headers.get("Content-Type"), "body": json.loads(body)})
        self.send_response(code)
        self.send_header("Content-Length", "0")
        self.end_headers()


hs = ThreadingHTTPServer(("127.0.0.1", 0), Hook)
threading.Thread(target=hs.serve_forever, daemon=True).start()
st, hc, _ = e.api("POST", "/api/v1/contacts", A, {
    "name": "hook", "webhook_url": "http://127.0.0.1:%d/alerts" % hs.server_address[1]})
t.eq(st, 201, "webhook contact")
hk = e.check("hooked", max_attempts=1, contacts=[hc["id"]], critical="1:")
e.post(hk, 2, "down", 0)
t.ok(wait_for(lambda: any(h["code"] == 200 for h in hooks), 10), "webhook delivered after a 503", hooks)
t.eq([h["code"] for h in hooks], [503, 200], "503 retried once, then done")
h = hooks[-1]
t.eq(h["ctype"], "application/json", "JSON body")
t.ok(h["key"] and h["key"] == hooks[0]["key"], "same Idempotency-Key on the retry", [x["key"] for x in hooks])
b = h["body"]
t.eq((b["event"]["kind"], b["event"]["status"], b["agent"]["name"], b["check"]["name"], b["check"]["critical"]),
     ("PROBLEM", "CRITICAL", "web01", "hooked", "1:"), "event, agent and check in the body")
t.eq(b["title"], "PROBLEM web01/hooked is CRITICAL", "title as in the other channels")
t.ok(b["url"].endswith("/checks/%d" % hk) and "/api/" not in b["url"], "link to the check page")
t.ok(wait_for(lambda: row(hk, "webhook").get("status") == "sent", 5), "webhook row sent", row(hk, "webhook"))
hs.shutdown()
t.eq(e.sanitizer_reports(), [], "no sanitizer report in serverd's log")
t.done()
