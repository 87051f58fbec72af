#!/usr/bin/python3
"""test_alert_order.py - a dead holder's lease is taken over at once, and the
notifications of one check to one contact on one channel go in event order
(docs/alerting-delivery.md, "Takeover" and "Order"):
  - kill -9 while the SMTP sink and the Pushover stand-in hold the mail and
    the page unanswered; restart: both are resent, marked, long before
    their leases (123 s and 63 s here) would have run out - the delay after
    the restart is printed;
  - the same with a second serverd up and the first killed: the second
    sends them;
  - a PROBLEM in flight (then in doubt) and its RECOVERY due: the RECOVERY
    waits; the PROBLEM is resent marked " (resolved since)" and goes first;
    never a bare PROBLEM after its RECOVERY;
  - the relay answering 451: the PROBLEM mail backs off, its RECOVERY does
    not overtake it, and the late PROBLEM says it was resolved since;
  - a PostgreSQL restart with a page in flight and its holder slow to come
    back: every lock is gone for a moment, and still nobody takes the live
    holder's lease over (takeover_grace_s); the holder records its
    attempt's failure over a new connection, and the retry is marked;
  - a mail accepted by the relay while PostgreSQL is down: its outcome is
    recorded once the database is back (sent once, unmarked), and the
    check's RECOVERY does not wait for the lease to run out;
  - a page and a mail that went out whole and got no answer: the retries
    are marked as resends (they may have arrived).
Every window is held open by the test (the sink, the stand-in, a 451), not
waited out."""
import datetime
import signal
import time

from alertlib import AlertEnv
from harness import Server, Tap, wait_for

t = Tap()
# long time limits, so the leases of a killed serverd (email 30 s x 4 + 3,
# Pushover 60 + 3) cannot be what ends them within this test's waits, and a
# held attempt is ended by what the test does (a kill, a drop), not by its
# own time limit. Pushover's is the longer: its held attempt below spans a
# PostgreSQL restart, which a sanitizer build on a loaded host takes long to
# come back from.
e = AlertEnv(conf={"smtp_timeout_s": "30", "pushover_timeout_s": "60"})


def ts(s):
    return datetime.datetime.fromisoformat(s.replace("Z", "+00:00"))


def row(check_id, channel, kind="PROBLEM", srv=None):
    st, body, _ = (srv or e.server).request(
        "GET", "/api/v1/notifications?limit=100&check_id=%d&channel=%s" % (check_id, channel), e.admin)
    ns = [n for n in (body["items"] if st == 200 else []) if n["kind"] == kind]
    return ns[0] if ns else {}


def log_of(n):
    return [(a["ok"], a["error"]) for a in n.get("attempt_log", [])]


def subjects(name):
    return [m["subject"] for m in e.sink.messages() if ("web01/%s " % name) in m["subject"]]


def titles(name):
    return [r["fields"]["title"] for r in e.po.accepted() if ("web01/%s " % name) in r["fields"]["title"]]


def in_flight(check_id, srv=None):
    """Holds the mail and the page of check_id in flight; returns their rows."""
    t.ok(wait_for(lambda: e.po.held() >= 1 and e.sink.held() >= 1, 10),
         "the page and the mail are in flight (held by the stand-in and the sink)")
    rows = {ch: row(check_id, ch, srv=srv) for ch in ("email", "pushover")}
    t.eq([(rows[ch].get("status"), log_of(rows[ch])) for ch in ("email", "pushover")],
         [("sending", [(None, None)])] * 2, "both leased, the attempt recorded with no outcome")
    t.ok(all(isinstance(rows[ch].get("holder"), int) for ch in rows),
         "each lease names its holder (the serverd instance)", rows)
    return rows


def in_xact():
    """(pid, xact_start) of the backends inside a transaction that wait for
    their client: idle in it, or writing an answer nobody reads"""
    return set(tuple(r) for r in e.cluster.psql(
        "SELECT pid, xact_start FROM pg_stat_activity WHERE datname = current_database()"
        " AND pid <> pg_backend_pid() AND xact_start IS NOT NULL"
        " AND (state LIKE 'idle in transaction%' OR wait_event = 'ClientWrite')"))


def stop_between_transactions(srv):
    """SIGSTOPs srv at a moment when none of its connections is inside a
    transaction. Stopped inside one, it would keep that transaction's locks
    (its ticker's, or its roll-ups', taken a moment after its start) for as
    long as it is stopped, and the first serverd's next result could wait
    for them (a suite run saw that POST time out). A transaction still open
    half a second after the stop, the same one, is the stopped serverd's: it
    is let go on, and stopped again."""
    for _ in range(50):
        srv.proc.send_signal(signal.SIGSTOP)
        before = in_xact()
        if not before:
            return True
        time.sleep(0.5)
        if not before & in_xact():
            return True   # the running serverd's, ended meanwhile
        srv.proc.send_signal(signal.SIGCONT)
        time.sleep(0.05)
    return False


def drop_held():
    e.po.release()
    e.sink.release(drop=True)
    t.ok(wait_for(lambda: e.po.held() == 0 and e.sink.held() == 0, 10), "the held copies are dropped")


def taken_over(check_id, leased, srv, t0, who):
    """Both rows resent after t0 and before their leases would have ended."""
    done = {}

    def sent():
        for ch in ("email", "pushover"):
            if ch not in done and row(check_id, ch, srv=srv).get("status") == "sent":
                done[ch] = time.monotonic() - t0
        return len(done) == 2
    t.ok(wait_for(sent, 30, 0.02), "%s: both are sent again" % who,
         [row(check_id, ch, srv=srv) for ch in ("email", "pushover")])
    t.diag("%s: resent %.2f s (email) and %.2f s (Pushover) after %s"
           % (who, done.get("email", -1), done.get("pushover", -1),
              "the restart began" if who == "restart" else "the kill"))
    for ch in ("email", "pushover"):
        n = row(check_id, ch, srv=srv)
        t.eq((log_of(n), n.get("resent")), ([(None, "interrupted"), (True, None)], True),
             "%s, %s: the interrupted attempt, then the resend, marked" % (who, ch))
        at = n["attempt_log"][-1]["at"] if n.get("attempt_log") else None
        t.ok(at and ts(at) < ts(leased[ch]["lease_until"]),
             "%s, %s: taken over before its lease would have run out (%s)" % (who, ch, leased[ch]["lease_until"]),
             at)


# ---- kill -9 with a mail and a page in flight; the restarted serverd resends them ----------
a = e.check("alpha")
e.po.hold()
e.sink.hold()
e.post(a, 2, "alpha down")
leased = in_flight(a)
e.server.kill9()
drop_held()
t0 = time.monotonic()
e.server.start()
taken_over(a, leased, None, t0, "restart")
t.eq(titles("alpha"), ["PROBLEM web01/alpha is CRITICAL (resent)"], "one page, marked (resent)")
ms = [m for m in e.sink.messages() if m["subject"] == "[custos] PROBLEM web01/alpha is CRITICAL"]
t.ok(len(ms) == 1 and b"\r\nX-Custos-Resent: yes\r\n" in e.sink.raw(ms[0]),
     "one mail, marked X-Custos-Resent", ms)

# ---- the same with a second serverd up: it takes the dead one's leases ---------------------
settings = {}
with open(e.server.conf_path) as f:
    for line in f:
        k, _, v = line.partition(" = ")
        if k not in ("listen", "public_url"):
            settings[k] = v.strip()
# The second serverd is started before the page is held, and stopped while
# the first claims it: its start (slow in a sanitizer build on a loaded
# host) is kept out of the held attempts' time, so what ends them is the kill.
s2 = Server(e.tmp, e.cluster, name="serverd2", conf=settings).start()
t.ok(stop_between_transactions(s2), "serverd2 is stopped outside any transaction")
b = e.check("bravo")
e.po.hold()
e.sink.hold()
e.post(b, 2, "bravo down")
leased = in_flight(b)           # leased by the only serverd running: the first
s2.proc.send_signal(signal.SIGCONT)
e.server.kill9()
t0 = time.monotonic()
drop_held()
taken_over(b, leased, s2, t0, "second instance")
with open(s2.log_path, errors="replace") as f:
    s2_log = f.read()
t.ok("PROBLEM email to oncall sent (resent)" in s2_log and "PROBLEM pushover to oncall sent (resent)" in s2_log,
     "the second serverd sent both resends")
t.eq(titles("bravo"), ["PROBLEM web01/bravo is CRITICAL (resent)"], "one page, marked (resent)")
t.eq(subjects("bravo"), ["[custos] PROBLEM web01/bravo is CRITICAL"], "one mail")
e.server.start()
s2.stop()

# ---- a PROBLEM in doubt and its RECOVERY due: the RECOVERY waits ----------------------------
c = e.check("charlie")
e.po.hold()
e.sink.hold()
e.post(c, 2, "charlie down")
in_flight(c)
e.post(c, 0, "charlie back")
t.ok(wait_for(lambda: row(c, "email", "RECOVERY") and row(c, "pushover", "RECOVERY"), 5),
     "the RECOVERY is in the outbox (mail and page)")
# Proof that a free sender looked, instead of a wait: a later problem of
# another check, due after the RECOVERY. Senders take the oldest due row
# first, so the free sender (sender_threads = 2) reaching the later one
# means it passed the RECOVERY over.
c2 = e.check("chaff")
e.post(c2, 2, "chaff down")
t.ok(wait_for(lambda: e.po.held() >= 2 and e.sink.held() >= 2, 10),
     "a later problem of another check is taken and held (mail and page)")
t.eq([(row(c, ch, "RECOVERY").get("status"), row(c, ch, "RECOVERY").get("attempts"))
      for ch in ("email", "pushover")], [("pending", 0)] * 2,
     "while its PROBLEM is in flight the RECOVERY is not attempted (mail and page)")
e.server.kill9()                # the PROBLEM is in doubt now
drop_held()
e.server.start()
t.ok(wait_for(lambda: all(row(c, ch, k).get("status") == "sent"
                          for ch in ("email", "pushover") for k in ("PROBLEM", "RECOVERY")), 30),
     "after the restart the PROBLEM and then the RECOVERY are sent")
t.eq(subjects("charlie"), ["[custos] PROBLEM web01/charlie is CRITICAL (resolved since)",
                           "[custos] RECOVERY web01/charlie is OK"],
     "mail: the PROBLEM, marked resolved since, then the RECOVERY")
t.eq(titles("charlie"), ["PROBLEM web01/charlie is CRITICAL (resolved since) (resent)",
                         "RECOVERY web01/charlie is OK"],
     "page: the PROBLEM, marked resolved since and resent, then the RECOVERY")
pages = [r for r in e.po.accepted() if "web01/charlie " in r["fields"]["title"]]
t.eq(pages[0]["fields"].get("priority") if pages else None, "0",
     "a resolved PROBLEM's page has priority 0: nothing to wake anybody for")
ms = [m for m in e.sink.messages() if "web01/charlie " in m["subject"]]
t.ok(ms and "Resolved:" in e.sink.body(ms[0]), "the mail's body says when it was resolved")
t.ok(all(ts(row(c, ch, "PROBLEM")["sent_at"]) <= ts(row(c, ch, "RECOVERY")["attempt_log"][0]["at"])
         for ch in ("email", "pushover")), "the RECOVERY's first attempt came after the PROBLEM was sent")

# ---- a retry back-off never lets a newer row overtake --------------------------------------
d = e.check("delta")
e.sink.refuse("451 4.3.0 try again later")
e.post(d, 2, "delta down")
t.ok(wait_for(lambda: row(d, "email").get("attempts", 0) >= 2, 10), "the relay answers 451: the mail is retried")
t.ok(e.wait_push(lambda r: r["fields"]["title"] == "PROBLEM web01/delta is CRITICAL", 10),
     "the page went at once (channels never wait for each other)")
e.post(d, 0, "delta back")
t.ok(wait_for(lambda: row(d, "email", "RECOVERY"), 5), "the RECOVERY mail is in the outbox")
seen = row(d, "email").get("attempts", 0)
t.ok(wait_for(lambda: row(d, "email").get("attempts", 0) > seen, 10),
     "the PROBLEM mail was retried (and backed off) after the RECOVERY came due")
r = row(d, "email", "RECOVERY")
t.eq((r.get("status"), r.get("attempts")), ("pending", 0),
     "the RECOVERY mail waits behind the PROBLEM's back-off")
t.ok(e.wait_push(lambda r: r["fields"]["title"] == "RECOVERY web01/delta is OK", 10),
     "the RECOVERY page went (its PROBLEM page was sent)")
e.sink.accept()
t.ok(wait_for(lambda: row(d, "email", "RECOVERY").get("status") == "sent", 30), "the relay is back: both mails go")
t.eq(subjects("delta"), ["[custos] PROBLEM web01/delta is CRITICAL (resolved since)",
                         "[custos] RECOVERY web01/delta is OK"],
     "in event order, the late PROBLEM marked resolved since")
ms = [m for m in e.sink.messages() if "web01/delta " in m["subject"]]
t.ok(ms and b"X-Custos-Resent" not in e.sink.raw(ms[0]), "... but not as a resend: it was never in doubt")
t.eq(titles("delta"), ["PROBLEM web01/delta is CRITICAL", "RECOVERY web01/delta is OK"], "pages in order")

# ---- a PostgreSQL restart does not make a live holder look dead -----------------------------
# Every advisory lock goes with the restart, the live holders' too; each
# serverd takes its own again on reconnecting, and none judges another dead
# before it has held its own for the grace (takeover_grace_s). The test makes
# the holder the slow one to come back: it is stopped (SIGSTOP) across the
# restart and let go only once the other serverd holds its lock again; that
# one's grace (10 s here) is what keeps it from judging the holder dead
# meanwhile, however slowly a loaded host lets the holder reconnect.
# The page in flight stays with its live holder. Its answer never comes
# (the stand-in closes it): the holder records that on a new connection -
# the restart broke its own - and the page is resent, marked, at its
# retry's time, not when its lease (63 s) runs out.
# serverd3 is started before the page is held and stopped while the first
# claims it, as serverd2 above.
s3 = Server(e.tmp, e.cluster, name="serverd3", conf=dict(settings, takeover_grace_s="10")).start()
t.ok(stop_between_transactions(s3), "serverd3 is stopped outside any transaction")
e.po.hold()
x = e.check("echo")
e.post(x, 2, "echo down")
t.ok(wait_for(lambda: e.po.held() >= 1, 10), "the page is in flight (held by the stand-in)")
p0 = row(x, "pushover")
t.ok(p0.get("status") == "sending" and isinstance(p0.get("holder"), int),
     "leased by the first serverd (the only one running)", p0)
s3.proc.send_signal(signal.SIGCONT)
f = e.check("foxtrot")          # a marker, posted while the first serverd is stopped


def live():
    try:
        return int(e.cluster.psql("SELECT count(*) FROM serverd_live()")[0][0])
    except Exception:
        return -1


t.ok(wait_for(lambda: live() == 2, 10), "both serverd hold their locks")
e.server.proc.send_signal(signal.SIGSTOP)
e.cluster.stop()
e.cluster.start()
t.ok(wait_for(lambda: live() == 1, 15), "after the restart the second serverd holds its lock again")
# While the holder is stopped, the second serverd claims a later page: it
# takes the oldest due row first, so reaching the marker's page means it
# passed the stopped holder's lease over (its grace keeps it from judging).
st, _, _ = s3.request("POST", "/api/v1/check_history", e.agent_token,
                      {"check_id": f, "status": 2, "output": "foxtrot down"})
t.eq(st, 201, "a later problem posted to the second serverd")
t.ok(wait_for(lambda: e.po.held() >= 2, 10), "the second serverd took its page (held by the stand-in)")
e.server.proc.send_signal(signal.SIGCONT)
t.ok(wait_for(lambda: live() == 2, 10), "... and the first, let go, holds its own again")
t.eq((log_of(wait_for(lambda: row(x, "pushover", srv=s3), 10) or {}), e.po.held()), ([(None, None)], 2),
     "no takeover: the lease stays with its live holder, the page is not sent twice")
e.po.release()
t.ok(wait_for(lambda: row(x, "pushover").get("status") == "sent", 30),
     "the holder records the failed attempt over a new connection, and the page is resent"
     " (well before its 63 s lease would have run out)", row(x, "pushover"))
lx = log_of(row(x, "pushover"))
t.ok(len(lx) == 2 and lx[0][0] is False and lx[0][1] and lx[1] == (True, None)
     and titles("echo") == ["PROBLEM web01/echo is CRITICAL (resent)"],
     "the first attempt's failure recorded, the retry marked", (lx, titles("echo")))
t.ok(wait_for(lambda: row(f, "pushover", srv=s3).get("status") == "sent", 30),
     "the marker's page, dropped unanswered with its holder alive, is sent again",
     row(f, "pushover", srv=s3))
t.eq(titles("foxtrot"), ["PROBLEM web01/foxtrot is CRITICAL (resent)"],
     "... marked: it went out and no answer came, so it may have arrived")
s3.stop()

# ---- the outcome of a send that ended while PostgreSQL was down ------------------------------
# The relay holds the mail after its data; PostgreSQL stops; the relay
# accepts. The sender cannot record "sent" then, and tries again on a new
# connection until the database is back: the row is sent once, unmarked,
# and the check's RECOVERY is not kept behind a row 'sending' until its
# lease (30 s x 4 + 3 here) runs out.
hx = e.check("hotel")
e.sink.hold()
e.post(hx, 2, "hotel down")
t.ok(wait_for(lambda: e.sink.held() >= 1 and row(hx, "email").get("status") == "sending", 10),
     "the mail is out whole, unanswered")
t.ok(wait_for(lambda: row(hx, "pushover").get("status") == "sent", 10), "(the page went)")
e.cluster.stop()
e.sink.release()                # the relay accepts while the database is down
t.ok(wait_for(lambda: len(subjects("hotel")) == 1, 10), "the relay has the mail")
t.ok(wait_for(lambda: "the database is unavailable; recording the outcome again"
              in e.server.log(), 10),
     "serverd says it will record the outcome when the database is back")
e.cluster.start()
t.ok(wait_for(lambda: row(hx, "email").get("status") == "sent", 20),
     "the outcome is recorded once the database is back: sent", row(hx, "email"))
t.eq((log_of(row(hx, "email")), subjects("hotel")),
     ([(True, None)], ["[custos] PROBLEM web01/hotel is CRITICAL"]),
     "one attempt, one copy, not marked as a resend")
e.post(hx, 0, "hotel up")
t.ok(wait_for(lambda: len(subjects("hotel")) == 2, 20),
     "its RECOVERY goes at once, not after the lease", subjects("hotel"))

# ---- an answer that never comes: the retry is marked -----------------------------------------
# The page and the mail go out whole and the other side goes away without
# answering (the stand-in closes the held request; the relay stops while it
# holds the mail after its data): they may have arrived, so each retry is
# marked as a resend - never an unmarked second copy.
g = e.check("golf")
# nothing else in flight (hotel's RECOVERY page may still be): the request
# held below is golf's, and golf's page cannot slip past the release
t.ok(e.settle(20), "nothing else is pending or sending", e.notifications()[:3])
e.po.hold()
e.sink.hold()
e.post(g, 2, "golf down")
t.ok(wait_for(lambda: e.po.held() >= 1 and e.sink.held() >= 1, 10),
     "the page and the mail are out whole, unanswered")
e.po.release()                  # closed without an answer
e.sink.stop()                   # the relay goes away after the data, without a reply
e.sink.start()
t.ok(wait_for(lambda: all(row(g, ch).get("status") == "sent" for ch in ("email", "pushover")), 30),
     "both are sent on a retry", [row(g, ch) for ch in ("email", "pushover")])
oks = [[a["ok"] for a in row(g, ch).get("attempt_log", [])] for ch in ("email", "pushover")]
t.ok([(x[0], x[-1]) for x in oks] == [(False, True)] * 2,
     "the first attempt failed (no answer), the last succeeded", oks)
t.eq(titles("golf"), ["PROBLEM web01/golf is CRITICAL (resent)"], "the page's retry says (resent)")
ms = [m for m in e.sink.messages() if m["subject"] == "[custos] PROBLEM web01/golf is CRITICAL"]
t.ok(len(ms) == 1 and b"\r\nX-Custos-Resent: yes\r\n" in e.sink.raw(ms[0]),
     "the mail's retry says X-Custos-Resent: yes", ms)

# ---- never a bare PROBLEM after its RECOVERY, on any channel --------------------------------
def bare_after_recovery(seq):
    recovered = False
    for s in seq:
        if "RECOVERY" in s:
            recovered = True
        elif recovered and "PROBLEM" in s and "(resolved since)" not in s:
            return s
    return None


t.eq([bare_after_recovery(subjects(n)) for n in ("alpha", "bravo", "charlie", "delta")] +
     [bare_after_recovery(titles(n)) for n in ("alpha", "bravo", "charlie", "delta")],
     [None] * 8, "no bare PROBLEM after its RECOVERY (mail and page)")
t.eq(e.sanitizer_reports(s2, s3), [], "no sanitizer report in any serverd's log")
t.done()
