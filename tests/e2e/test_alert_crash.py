#!/usr/bin/python3
"""test_alert_crash.py - a crash, a restart or a second serverd never drops
a notification, and never repeats one silently (docs/design.md: the lease is
committed before the network call; a send whose serverd died is in doubt,
sent again and marked as a resend):
  - kill -9 while the Pushover stand-in, the SMTP sink and a webhook
    receiver hold the page, the mail and the webhook unanswered (all
    provably in flight), then
    restart: the interrupted attempt is in the attempt log (ok null, error
    "interrupted"), the resend says so (" (resent)", X-Custos-Resent: yes,
    the same Message-ID, a webhook with "resent": true and the same
    Idempotency-Key), and exactly one of each is accepted;
  - kill -9 while a sender is inside an SMTP session with a relay that
    accepts TCP and never greets: the same, for the mail;
  - two serverd instances on one database, results posted to both: every
    notification exactly once, and the dead-agent job runs once."""
import datetime
import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from alertlib import AlertEnv
from harness import Server, Tap, wait_for

t = Tap()
# short time limits so the leases of the killed serverd end soon:
# email 2 s x 4 steps + 3 s, Pushover 2 s + 3 s (outbox.c)
e = AlertEnv(conf={"agent_grace_s": "1", "smtp_timeout_s": "2", "pushover_timeout_s": "2",
                   "webhook_timeout_s": "2"})
A = e.admin

# a webhook receiver that holds requests unanswered while hook_hold is set
hooks = []
hook_hold = threading.Event()
hook_release = threading.Event()


class Hook(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        rec = {"key": self.headers.get("Idempotency-Key"), "body": body, "answered": False}
        hooks.append(rec)
        if hook_hold.is_set():
            hook_release.wait()
            self.close_connection = True      # dropped without an answer
            return
        rec["answered"] = True
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()


hs = ThreadingHTTPServer(("127.0.0.1", 0), Hook)
hs.daemon_threads = True
threading.Thread(target=hs.serve_forever, daemon=True).start()
st, _, _ = e.api("POST", "/api/v1/contacts", A, {
    "name": "hook", "webhook_url": "http://127.0.0.1:%d/alerts" % hs.server_address[1]})
assert st == 201


def mails(subject):
    return [m for m in e.sink.messages() if m["subject"] == subject]


def row(check_id, channel):
    ns = e.notifications(check_id=check_id, channel=channel)
    return ns[0] if ns else {}


def log_of(check_id, channel):
    return [(a["ok"], a["error"]) for a in row(check_id, channel).get("attempt_log", [])]


# ---- kill -9 while the page and the mail are in flight -------------------------------
# The test owns the window: the stand-in and the sink hold the requests
# unanswered, so serverd is killed while both are provably in flight and not
# yet accepted. The held copies are then dropped without acceptance, so the
# only copies that may count are the resends after the restart.
c = e.check("sshd", max_attempts=1)
e.po.hold()
e.sink.hold()
hook_hold.set()
e.post(c, 2, "gone")
t.ok(wait_for(lambda: e.po.held() >= 1, 10), "the Pushover request is in flight (held by the stand-in)")
t.ok(wait_for(lambda: e.sink.held() >= 1, 10), "the mail is in flight (held by the sink after its data)")
t.ok(wait_for(lambda: len(hooks) >= 1, 10), "the webhook is in flight (held by the receiver)")
t.eq((row(c, "pushover").get("status"), row(c, "pushover").get("attempts"), log_of(c, "pushover")),
     ("sending", 1, [(None, None)]), "Pushover: the lease and the attempt were committed before the send")
t.eq((row(c, "email").get("status"), log_of(c, "email")), ("sending", [(None, None)]),
     "email: the lease and the attempt were committed before the send")
e.server.kill9()
t.ok(e.server.proc is None, "serverd killed with SIGKILL while both are in flight")
e.po.release()
e.sink.release(drop=True)
hook_hold.clear()
hook_release.set()
t.ok(wait_for(lambda: e.po.held() == 0 and e.sink.held() == 0, 10),
     "the held copies were dropped", (e.po.held(), e.sink.held()))
t.eq(len(e.po.accepted()) + len(e.sink.messages()), 0, "nothing was accepted before the crash")
e.server.start()
t.ok(wait_for(lambda: row(c, "email").get("status") == "sent"
              and row(c, "pushover").get("status") == "sent", 30),
     "after the restart (and the leases' end) both rows are sent", [row(c, "email"), row(c, "pushover")])
t.eq(log_of(c, "pushover"), [(None, "interrupted"), (True, None)],
     "Pushover attempt log: the interrupted attempt, then the resend")
t.eq(log_of(c, "email"), [(None, "interrupted"), (True, None)],
     "email attempt log: the interrupted attempt, then the resend")
t.eq((row(c, "pushover").get("resent"), row(c, "email").get("resent")), (True, True), "rows marked resent")
pages = [r for r in e.po.accepted() if r["fields"]["title"].startswith("PROBLEM web01/sshd is CRITICAL")]
t.eq([r["fields"]["title"] for r in pages], ["PROBLEM web01/sshd is CRITICAL (resent)"],
     "exactly one page accepted, its title ending in \" (resent)\"")
ms = mails("[custos] PROBLEM web01/sshd is CRITICAL")
t.eq(len(ms), 1, "exactly one mail accepted")
dropped = e.sink.held_messages()
t.ok(ms and dropped and ms[0]["message_id"] == dropped[0]["message_id"],
     "the resent mail keeps the Message-ID of the interrupted one", [ms, dropped])
t.ok(ms and b"\r\nX-Custos-Resent: yes\r\n" in e.sink.raw(ms[0]), "the resent mail says X-Custos-Resent: yes")
t.ok(wait_for(lambda: row(c, "webhook").get("status") == "sent", 10), "the webhook row is sent")
t.eq(log_of(c, "webhook"), [(None, "interrupted"), (True, None)], "webhook attempt log: interrupted, resent")
mine = [h for h in hooks if h["body"]["check"] and h["body"]["check"]["name"] == "sshd"]
t.eq([(h["answered"], h["body"]["resent"]) for h in mine], [(False, False), (True, True)],
     "the held webhook was never answered; the resend carries \"resent\": true")
t.eq([[d["decision"] for d in h["body"]["route"]] for h in mine], [[], ["resend (in doubt)"]],
     "... and its routing record says resend (in doubt)")
st, why, _ = e.api("GET", "/api/v1/events/%d/routing" % row(c, "email")["event_id"], A)
t.eq(sorted((n["channel"], [d["decision"] for d in n["route"]]) for n in why.get("notifications", [])),
     [(ch, ["resend (in doubt)", "sent"]) for ch in ("email", "pushover", "webhook")],
     "each row's routing record: resend (in doubt), then sent")
t.ok(len(mine) == 2 and mine[0]["key"] == mine[1]["key"], "... and the same Idempotency-Key",
     [h["key"] for h in mine])

# ---- kill -9 in the middle of an SMTP session (a relay that never greets) -----------------
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
        held.append(s)            # never send the greeting: the sender waits for it


threading.Thread(target=accept_and_hold, daemon=True).start()
m = e.check("mysql", max_attempts=1)
e.post(m, 2, "mysql down")
t.ok(wait_for(lambda: len(held) >= 1, 5), "a sender is inside an SMTP session")
t.ok(wait_for(lambda: row(m, "email").get("status") == "sending", 5), "its lease is committed")
t.eq(log_of(m, "email"), [(None, None)], "... with the attempt recorded, no outcome yet")
e.server.kill9()
try:
    stall.shutdown(socket.SHUT_RDWR)   # wakes the accept() so the port is free again
except OSError:
    pass
stall.close()
for s in held:
    s.close()
e.sink.start()
e.server.start()
t.ok(e.wait_mail(lambda x: x["subject"] == "[custos] PROBLEM web01/mysql is CRITICAL", 30),
     "the lease ran out with no outcome: delivered after the restart")
t.ok(wait_for(lambda: row(m, "email").get("status") == "sent", 5), "row sent")
t.eq(log_of(m, "email"), [(None, "interrupted"), (True, None)], "the interrupted attempt is in the log")
ms = mails("[custos] PROBLEM web01/mysql is CRITICAL")
t.eq(len(ms), 1, "exactly once")
t.ok(ms and b"\r\nX-Custos-Resent: yes\r\n" in e.sink.raw(ms[0]), "marked as a resend")

# ---- two instances on one database ------------------------------------------------------
settings = {}
with open(e.server.conf_path) as f:
    for line in f:
        k, _, v = line.partition(" = ")
        if k not in ("listen", "public_url"):
            settings[k] = v.strip()
s2 = Server(e.tmp, e.cluster, name="serverd2", conf=settings).start()
servers = [e.server, s2]
N = 30
ids = [e.check("svc%02d" % i, max_attempts=1) for i in range(N)]
for i, cid in enumerate(ids):
    st, body, _ = servers[i % 2].request("POST", "/api/v1/check_history", e.agent_token,
                                         {"check_id": cid, "status": 2, "output": "down"})
    assert st == 201, body
want = ["[custos] PROBLEM web01/svc%02d is CRITICAL" % i for i in range(N)]
t.ok(wait_for(lambda: all(mails(w) for w in want), 20), "all %d mails arrive" % N)
t.ok(e.settle(10), "nothing left pending")
time.sleep(1.5)
counts = [len(mails(w)) for w in want]
t.eq(counts, [1] * N, "two instances: every mail exactly once")
titles = [r["fields"]["title"] for r in e.po.accepted()]
t.eq([titles.count(w[len("[custos] "):]) for w in want], [1] * N, "every push exactly once")
ids_seen = [x["message_id"] for x in e.sink.messages()]
t.eq(len(ids_seen), len(set(ids_seen)), "no Message-ID twice")
senders = [("sent in" in s.log()) for s in servers]
t.diag("instances that sent something: %s" % senders)

# the dead-agent job runs once across both instances
aid, atok = e.make_agent("db01", interval_s=5)
st, _, _ = s2.request("PUT", "/api/v1/agent/self/checkout", atok, {
    "started_at": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
    "duration_ms": 1, "results": 0, "version": "t"})
t.eq(st, 200, "db01 checks out (on the second instance)")
t.ok(e.wait_mail(lambda x: x["subject"] == "[custos] AGENT DOWN db01", 12), "AGENT DOWN")
time.sleep(2.5)
t.eq(len([x for x in e.events() if x["kind"] == "AGENT DOWN" and x["agent_id"] == aid]), 1,
     "one AGENT DOWN event with two instances")
t.eq(len(mails("[custos] AGENT DOWN db01")), 1, "one AGENT DOWN mail")
t.eq(e.sanitizer_reports(s2), [], "no sanitizer report in either serverd's log")
s2.stop()
t.done()
