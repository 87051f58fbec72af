#!/usr/bin/python3
"""test_alert_crash.py - a crash, a restart or a second serverd never drops
or doubles a notification:
  - kill -9 while the Pushover stand-in holds the page unanswered (and the
    relay is down), then restart: delivered once on each channel;
  - kill -9 while a sender holds the row lock in the middle of an SMTP
    session (a relay that never answers): the claim rolls back, and after
    the restart the row is delivered once;
  - two serverd instances on one database, results posted to both: every
    notification exactly once, and the dead-agent job runs once."""
import datetime
import socket
import threading
import time

from alertlib import AlertEnv
from harness import Server, Tap, wait_for

t = Tap()
e = AlertEnv(start_sink=False, conf={"agent_grace_s": "1"})
A = e.admin


def mails(subject):
    return [m for m in e.sink.messages() if m["subject"] == subject]


def row(check_id, channel):
    ns = e.notifications(check_id=check_id, channel=channel)
    return ns[0] if ns else {}


# ---- kill -9 while the page is in flight ----------------------------------------------
# The test owns the window: the relay is down (nothing can be mailed) and the
# Pushover stand-in holds every request unanswered, so serverd is killed while
# the page is provably in flight and not yet accepted - never "sometimes
# before, sometimes after" the send. The held request is then dropped without
# an answer, so the only page that may count is the one sent after the restart.
c = e.check("sshd", max_attempts=1)
e.po.hold()
e.post(c, 2, "gone")
t.ok(wait_for(lambda: e.po.held() >= 1, 10), "the Pushover request is in flight (held by the stand-in)")
e.server.kill9()
t.ok(e.server.proc is None, "serverd killed with SIGKILL while the page is in flight")
e.po.release()
t.eq(len(e.po.accepted()), 0, "nothing was accepted before the crash")
e.sink.start()
e.server.start()
t.ok(e.wait_mail(lambda m: m["subject"] == "[custos] PROBLEM web01/sshd is CRITICAL", 20),
     "after the restart the notification is delivered")
t.ok(wait_for(lambda: row(c, "email").get("status") == "sent"
              and row(c, "pushover").get("status") == "sent", 20), "both rows sent")
t.eq(len(mails("[custos] PROBLEM web01/sshd is CRITICAL")), 1, "exactly once")
t.eq(len([r for r in e.po.accepted() if r["fields"]["title"] == "PROBLEM web01/sshd is CRITICAL"]), 1,
     "Pushover exactly once")

# ---- kill -9 in the middle of an SMTP session -------------------------------------------
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
        held.append(s)            # never send the greeting: the sender waits, holding its row lock


threading.Thread(target=accept_and_hold, daemon=True).start()
m = e.check("mysql", max_attempts=1)
e.post(m, 2, "mysql down")
t.ok(wait_for(lambda: len(held) >= 1, 5), "a sender is inside an SMTP session")
time.sleep(0.3)
r = row(m, "email")
t.eq((r.get("status"), r.get("attempts")), ("pending", 0), "the row is claimed but nothing is recorded yet")
e.server.kill9()
try:
    stall.shutdown(socket.SHUT_RDWR)   # wakes the accept() so the port is free again
except OSError:
    pass
stall.close()
for s in held:
    s.close()
time.sleep(0.2)
e.sink.start()
e.server.start()
t.ok(e.wait_mail(lambda x: x["subject"] == "[custos] PROBLEM web01/mysql is CRITICAL", 20),
     "the claim rolled back with the crash; delivered after the restart")
t.ok(wait_for(lambda: row(m, "email").get("status") == "sent", 5), "row sent")
time.sleep(1)
t.eq(len(mails("[custos] PROBLEM web01/mysql is CRITICAL")), 1, "exactly once")

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
s2.stop()
t.done()
