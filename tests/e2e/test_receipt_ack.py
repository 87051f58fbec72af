#!/usr/bin/python3
"""test_receipt_ack.py - acknowledging from the phone (docs/alerting.md,
"Acknowledging from the phone"): the receipt of an emergency page (priority
2) is polled, and an acknowledgement in the Pushover app becomes a custos
acknowledgement by the person whose pushover_user it is, and that stops a
policy's escalation (the next step is not sent).

The Pushover stand-in enforces the receipts API (token, 404, every field,
one poll per receipt per min_poll_s) and acknowledges or expires a receipt
on request. Receipts are polled every second here (CUSTOS_TEST_RECEIPT_POLL_S;
pushover_receipt_poll_s itself is 5 s at least), and the stand-in's minimum
gap is lowered to half of that: two polls of one receipt closer than that
are answered 429 and counted. Every wait is on state (the stand-in's poll
counts, the database), never on elapsed time.
"""
import datetime
import json
import os
import urllib.error
import urllib.parse
import urllib.request

from alertlib import AlertEnv, PO_TOKEN
from harness import Server, Tap, wait_for

ALICE = "A1ice" + "k" * 25
STRANGER = "Zz9" + "q" * 27
ENV = {"CUSTOS_TEST_RECEIPT_POLL_S": "1"}

t = Tap()
e = AlertEnv(conf={"pushover_timeout_s": "5"}, env=ENV)
A = e.admin
e.po.min_poll(0.5)
st, alice, _ = e.api("POST", "/api/v1/contacts", A, {
    "name": "alice", "pushover_user": ALICE, "pushover_emergency": True})
t.eq(st, 201, "alice: a person with a Pushover key and emergency pages")


def page(name):
    ps = [r for r in e.po.accepted() if r["fields"].get("title") == "PROBLEM web01/%s is CRITICAL" % name]
    return ps[0] if ps else None


def receipt(rc):
    rs = [r for r in e.po.receipts() if r["receipt"] == rc]
    return rs[0] if rs else {}


def polls(rc):
    return receipt(rc).get("polls", 0)


def row(rc):
    """The page's notification as the API shows it."""
    ns = [n for n in e.notifications(channel="pushover") if n.get("receipt") == rc]
    return ns[0] if ns else {}


def route(rc):
    r = e.cluster.psql("SELECT route::text FROM notifications WHERE receipt = '%s'" % rc)
    return json.loads(r[0][0]) if r else []


def state(cid):
    st, c, _ = e.api("GET", "/api/v1/checks/%d" % cid, A)
    return c["state"] if st == 200 else {}


def acks(cid):
    return e.events(check_id=cid, kind="ACKNOWLEDGEMENT")


def emergency(name):
    """A CRITICAL page at priority 2 to alice; (check id, receipt)."""
    cid = e.check(name, max_attempts=1, contacts=[alice["id"]])
    e.post(cid, 2, "%s down" % name)
    p = wait_for(lambda: page(name), 10)
    t.ok(p and p["fields"]["priority"] == "2", "%s: an emergency page to alice" % name)
    rc = p["response"]["receipt"] if p else "none"
    t.ok(wait_for(lambda: row(rc).get("receipt") == rc, 5), "%s: its receipt is stored" % name)
    return cid, rc


def log_has(text, srv=None):
    with open((srv or e.server).log_path, errors="replace") as f:
        return text in f.read()


# ---- the stand-in keeps to the documented receipts API --------------------------------
base = "http://127.0.0.1:%d" % e.po.port


def get(path):
    try:
        with urllib.request.urlopen(base + path, timeout=5) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as x:
        return x.code, json.loads(x.read())


# ---- alice acknowledges in the app ------------------------------------------------------
cid, rc = emergency("db")
t.ok(wait_for(lambda: polls(rc) >= 2, 15), "db: the receipt is polled while the page rings",
     receipt(rc))
t.eq((state(cid).get("acknowledged"), acks(cid)), (False, []),
     "db: not acknowledged while the app has not acknowledged")
t.eq(row(rc).get("receipt_polls", 0) >= 2, True, "db: the polls are counted on the notification")

# a page of the test's own, which serverd knows nothing of and never polls
req = urllib.request.Request(base + "/1/messages.json", data=urllib.parse.urlencode({
    "token": PO_TOKEN, "user": ALICE, "message": "m", "priority": 2, "retry": 30,
    "expire": 600}).encode(), method="POST")
with urllib.request.urlopen(req, timeout=5) as resp:
    own = json.loads(resp.read())["receipt"]
st, b = get("/1/receipts/%s.json?token=%s" % (own, PO_TOKEN))
fields = ("status", "acknowledged", "acknowledged_at", "acknowledged_by", "acknowledged_by_device",
          "last_delivered_at", "expired", "expires_at", "called_back", "called_back_at", "request")
t.eq((st, sorted(k for k in fields if k in b)), (200, sorted(fields)),
     "stand-in: a receipt's status has every documented field")
t.eq([k for k in ("acknowledged", "acknowledged_at", "expired", "expires_at", "last_delivered_at")
      if not isinstance(b.get(k), int)], [], "stand-in: ... integers as integers")
st, b = get("/1/receipts/%s.json?token=%s" % (own, PO_TOKEN))
t.eq(st, 429, "stand-in: a second poll of one receipt within min_poll_s -> 429")
st, b = get("/1/receipts/%s.json" % own)
t.eq((st, b.get("token")), (400, "invalid"), "stand-in: no token -> 400")
st, b = get("/1/receipts/%s.json?token=%s" % ("x" * 30, PO_TOKEN))
t.eq((st, b.get("receipt")), (404, "not found"), "stand-in: an unknown receipt -> 404")
too_fast_before = e.po.state()["too_fast"]   # the one above is the test's own

e.po.ack(rc, ALICE, "alice-phone")
t.ok(wait_for(lambda: state(cid).get("acknowledged"), 15), "db: acknowledged in custos once the app"
     " acknowledged", state(cid))
t.eq(state(cid).get("ack_by"), "alice", "db: ... by alice, the person with that Pushover key")
ev = acks(cid)
t.eq(len(ev), 1, "db: one ACKNOWLEDGEMENT event")
t.eq((ev[0]["detail"].get("by"), ev[0]["detail"].get("comment")) if ev else None,
     ("alice", "acknowledged in the Pushover app"), "db: ... by alice, saying how")
n = row(rc)
t.ok(n.get("acknowledged_at") and n.get("acknowledged_by") == "alice",
     "db: the notification records acknowledged_at and by whom", n)
r = [x for x in route(rc) if x["decision"] == "acknowledged"]
t.ok(len(r) == 1 and r[0]["detail"].startswith("from Pushover by alice at "),
     "db: the routing record says acknowledged from Pushover by alice", route(rc))
t.ok(wait_for(lambda: receipt(rc).get("cancelled"), 10),
     "db: the acknowledgement ends the page everywhere (cancelled by tag)")
db_polls = polls(rc)

# ---- a key nobody has acknowledges: by the key, redacted --------------------------------
cid2, rc2 = emergency("web")
t.ok(wait_for(lambda: polls(rc2) >= 1, 15), "web: polled")
e.po.ack(rc2, STRANGER)
t.ok(wait_for(lambda: state(cid2).get("acknowledged"), 15), "web: acknowledged by an unknown key")
t.eq(state(cid2).get("ack_by"), STRANGER[:4] + "\u2026", "web: ... as the key redacted")
t.ok(STRANGER not in json.dumps(route(rc2)) + json.dumps(acks(cid2)),
     "web: the whole key is recorded nowhere")
r = [x for x in route(rc2) if x["decision"] == "acknowledged"]
t.ok(r and "no person has this Pushover key" in r[0]["detail"], "web: the record says so", route(rc2))

# ---- an expired page stops being polled, recorded ---------------------------------------
cid3, rc3 = emergency("dns")
t.ok(wait_for(lambda: polls(rc3) >= 1, 15), "dns: polled")
e.po.expire(rc3)
t.ok(wait_for(lambda: row(rc3).get("receipt_expired_at"), 15), "dns: expired is recorded", row(rc3))
t.ok([x for x in route(rc3) if x["decision"] == "expired"], "dns: ... in the routing record",
     route(rc3))
t.eq(state(cid3).get("acknowledged"), False, "dns: an expired page acknowledges nothing")
expired_polls = polls(rc3)

# ---- hostile answers change nothing ------------------------------------------------------
cid4, rc4 = emergency("mq")
t.ok(wait_for(lambda: polls(rc4) >= 1, 15), "mq: polled")
ack_body = {"status": 1, "acknowledged": 1, "acknowledged_at": 1700000000,
            "acknowledged_by": ALICE, "acknowledged_by_device": "x", "last_delivered_at": 0,
            "expired": 0, "expires_at": 1900000000, "called_back": 0, "called_back_at": 0}
hostile = [
    ("not JSON", "{\"status\": 1, \"acknowledged\": 1,", 200, "not JSON"),
    ("acknowledged as a string", json.dumps(dict(ack_body, acknowledged="1")), 200,
     "\"acknowledged\" is of another type"),
    ("acknowledged_by not a key", json.dumps(dict(ack_body, acknowledged_by="<script>")), 200,
     "not a user key"),
    ("status 0", json.dumps(dict(ack_body, status=0)), 200, "\"status\" is 0"),
    ("a list", json.dumps([ack_body]), 200, "not a JSON object"),
    ("a huge body", json.dumps(dict(ack_body, pad="x" * 200000)), 200, "larger than"),
    ("a 500", "<html>oops</html>", 500, "HTTP 500"),
]
for what, body, code, logged in hostile:
    e.po.receipt_raw(body, code=code, receipt=rc4)
    ok = wait_for(lambda: e.po.state()["raw_left"] == 0, 20)
    # the next poll after the hostile one: its outcome was recorded before
    # (a receipt's next poll waits for the lease its last one holds)
    after = polls(rc4)
    ok = ok and wait_for(lambda: polls(rc4) > after, 20)
    t.ok(ok and log_has(logged), "mq: %s: an error, logged (%s)" % (what, logged))
t.eq((state(cid4).get("acknowledged"), acks(cid4), row(rc4).get("acknowledged_at"),
      row(rc4).get("receipt_expired_at")), (False, [], None, None),
     "mq: after every hostile answer nothing changed")

# ---- polling stops: the others are not polled again while mq goes on -------------------
p4 = polls(rc4)
t.ok(wait_for(lambda: polls(rc4) >= p4 + 3, 20), "mq: polled three more times meanwhile")
t.eq((polls(rc), polls(rc3)), (db_polls, expired_polls),
     "an acknowledged and an expired receipt are not polled again")

# ---- two serverd on one database: one poll per receipt per interval ---------------------
settings = {}
with open(e.server.conf_path) as f:
    for line in f:
        k, _, v = line.partition(" = ")
        if k not in ("listen", "public_url"):
            settings[k] = v.strip()
s2 = Server(e.tmp, e.cluster, name="serverd2", conf=settings, env=ENV).start()
t.ok(wait_for(lambda: e.cluster.psql("SELECT count(*) FROM serverd_live()") == [["2"]], 10),
     "a second serverd on the database holds its lock")
p4 = polls(rc4)
t.ok(wait_for(lambda: polls(rc4) >= p4 + 8, 30), "mq: polled eight more times by the two")
st4 = e.po.state()
t.ok(st4["too_fast"] == too_fast_before, "no receipt was polled twice within an interval",
     [(r["receipt"], r["too_fast"]) for r in st4["receipts"]])
n4 = row(rc4)
t.ok(abs(n4.get("receipt_polls", 0) - polls(rc4)) <= 1,
     "every claim is one poll: the database's count matches Pushover's (one may be in flight)",
     (n4.get("receipt_polls"), polls(rc4)))

# a poll in flight holds its lease: nobody polls that receipt meanwhile
e.po.hold_polls(True)
t.ok(wait_for(lambda: e.po.state()["held_polls"] == 1, 10), "mq: a poll is in flight (held)")
t.ok(wait_for(lambda: e.cluster.psql(
    "SELECT now() - receipt_polled_at > interval '3 s' FROM notifications WHERE receipt = '%s'"
    % rc4) == [["t"]], 10), "three intervals pass while it is held")
t.eq(e.po.state()["held_polls"], 1, "... and no second poll of it started (its lease)")
e.po.hold_polls(False)
t.ok(wait_for(lambda: e.cluster.psql(
    "SELECT receipt_poll_lease_until IS NULL FROM notifications WHERE receipt = '%s'" % rc4)
    == [["t"]], 15), "the unanswered poll is recorded and its lease given back")

e.po.ack(rc4, ALICE)
t.ok(wait_for(lambda: state(cid4).get("acknowledged"), 15), "mq: acknowledged from the app")
t.eq(len(acks(cid4)), 1, "mq: one acknowledgement though two serverd poll")

# ---- 429: every poll pauses ----------------------------------------------------------------
cid5, rc5 = emergency("cache")
t.ok(wait_for(lambda: polls(rc5) >= 1, 15), "cache: polled")
e.po.receipt_raw(json.dumps({"status": 0, "errors": ["slow down"]}), code=429, receipt=rc5)
t.ok(wait_for(lambda: e.cluster.psql("SELECT until > now() FROM receipt_poll_pause") == [["t"]], 15),
     "a 429 pauses the polls of every serverd")
t.ok(log_has("Pushover asked for a pause") or log_has("Pushover asked for a pause", s2),
     "... logged")
e.cluster.psql("DELETE FROM receipt_poll_pause")
p5 = polls(rc5)
t.ok(wait_for(lambda: polls(rc5) > p5, 15), "the pause over, polls go on")

# Pushover's own 404 (a receipt it no longer knows): not polled again, recorded
e.po.receipt_raw(json.dumps({"receipt": "not found", "status": 0, "request": "x",
                             "errors": ["receipt not found; may be invalid or expired"]}),
                 code=404, receipt=rc5)
t.ok(wait_for(lambda: row(rc5).get("receipt_expired_at"), 15), "a receipt Pushover forgot:"
     " recorded as expired", row(rc5))
t.ok([x for x in route(rc5) if x["decision"] == "expired" and "no longer knows" in x["detail"]],
     "... saying so in the routing record", route(rc5))
t.eq(state(cid5).get("acknowledged"), False, "... and nothing is acknowledged")

# ---- an agent's page: acknowledged in the app, recorded; custos has no agent ack ------
aid, atok = e.make_agent("db01", interval_s=5, contacts=[alice["id"]])
st, _, _ = e.api("PUT", "/api/v1/agent/self/checkout", atok, {
    "started_at": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
    "duration_ms": 1, "results": 0, "version": "t"})
t.eq(st, 200, "db01 checks out once, then falls silent")
p = wait_for(lambda: [r for r in e.po.accepted() if r["fields"].get("title") == "AGENT DOWN db01"], 30)
t.ok(p and p[0]["fields"]["priority"] == "2", "db01: AGENT DOWN pages alice at priority 2")
rc6 = p[0]["response"]["receipt"] if p else "none"
t.ok(wait_for(lambda: polls(rc6) >= 1, 15), "db01: its receipt is polled while the agent is down")
e.po.ack(rc6, ALICE)
t.ok(wait_for(lambda: row(rc6).get("acknowledged_by") == "alice", 15),
     "db01: the acknowledgement is recorded on the notification", row(rc6))
r = [x for x in route(rc6) if x["decision"] == "acknowledged"]
t.ok(r and r[0]["detail"].startswith("from Pushover by alice at ")
     and "an agent has no acknowledgement" in r[0]["detail"],
     "db01: the routing record says so, and that an agent has no acknowledgement", route(rc6))

# ---- escalation stopped by an acknowledgement from the phone ------------------------
# A policy pages alice at emergency priority, then tells dave after 300 s.
# esc-a is acknowledged in the app, esc-b is not; both problems are then
# made 301 s old (in the database: nothing sleeps for after_s). The job
# escalates both in one statement, so dave told of esc-b shows it has run.
st, _, _ = e.api("POST", "/api/v1/users", A, {"name": "dave", "email": "dave@example.test"})
t.eq(st, 201, "escalation: dave, the next step")
st, pol, _ = e.api("POST", "/api/v1/policies", A, {
    "name": "phone", "match": "team=esc",
    "steps": [{"after_s": 0, "notify": ["alice"], "channels": ["pushover"], "priority": 2},
              {"after_s": 300, "notify": ["dave"], "channels": ["email"]}]})
t.eq(st, 201, "escalation: a policy paging alice, then dave after 300 s")
esc = {}
for name in ("esc-a", "esc-b"):
    esc[name] = e.check(name, max_attempts=1, labels={"team": "esc"})
    e.post(esc[name], 2, "%s down" % name)
pa = wait_for(lambda: page("esc-a"), 10)
t.ok(pa and pa["fields"]["priority"] == "2", "escalation: esc-a pages alice at priority 2")
rca = pa["response"]["receipt"] if pa else "none"
t.ok(wait_for(lambda: row(rca).get("receipt") == rca, 5), "escalation: its receipt is stored")
e.po.ack(rca, ALICE)
t.ok(wait_for(lambda: state(esc["esc-a"]).get("acknowledged"), 15),
     "escalation: esc-a acknowledged from the phone", state(esc["esc-a"]))
t.eq(state(esc["esc-a"]).get("ack_by"), "alice", "escalation: ... by alice")


def dave_rows(cid):
    return e.cluster.psql("SELECT n.step, n.route->0->>'decision' FROM notifications n"
                          " JOIN events v ON v.id = n.event_id JOIN contacts c ON c.id = n.contact_id"
                          " WHERE v.check_id = %d AND c.name = 'dave'" % cid)


e.cluster.psql("UPDATE policy_open SET began_at = now() - interval '301 seconds'"
               " WHERE check_id IN (%d, %d)" % (esc["esc-a"], esc["esc-b"]))
t.ok(wait_for(lambda: dave_rows(esc["esc-b"]), 15),
     "escalation: esc-b, not acknowledged, went on to dave (step 1)", dave_rows(esc["esc-b"]))
t.eq(dave_rows(esc["esc-b"])[:1], [["1", "escalated"]], "escalation: ... recorded as escalated")
t.eq(dave_rows(esc["esc-a"]), [], "escalation: esc-a, acknowledged from the phone, did not")

t.eq(e.sanitizer_reports(s2), [], "no sanitizer report")
t.done()
