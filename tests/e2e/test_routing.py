#!/usr/bin/python3
"""test_routing.py - "why was I paged, why was I not" (docs/alerting.md, "Why
was I paged"): the routing record of an event and of its notification rows,
through GET /api/v1/events/{id}/routing, `custos why` and the webhook's JSON,
against the real SMTP sink, the Pushover stand-in and a webhook receiver:
  - a notified event says "contacts" (no policy: whose contacts, how many
    rows) and each row "sent" with its channel and attempt;
  - an event in a downtime says which downtime and until when; one of an
    acknowledged check says who acknowledged it; one of a DOWN agent's
    check says which agent is down;
  - a WARNING inside a person's quiet hours says "held" and until when;
  - a refused mail (451) says "retry" with the error and the next attempt,
    then "sent";
  - an unknown event is 404, a viewer may read, an agent token may not;
  - `custos why` prints it as lines, --json as the API's JSON;
  - the webhook's JSON carries the row's policy, step and route.
Every window is held by the test (a refusing relay, a downtime, an
acknowledgement, quiet hours that always hold), never by a sleep."""
import datetime
import json
import os
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from alertlib import AlertEnv  # noqa: E402
from harness import BUILDDIR, Tap, wait_for  # noqa: E402

t = Tap()
e = AlertEnv()
A = e.admin
S = e.server


def routing(event_id, token=A):
    return e.api("GET", "/api/v1/events/%d/routing" % event_id, token)


def event_of(check_id, kind="PROBLEM", status=None):
    """The newest event of kind (and status) of a check, waited for."""
    def find():
        evs = [x for x in e.events(check_id) if x["kind"] == kind
               and (status is None or x["status"] == status)]
        return evs[-1] if evs else None
    return wait_for(find, 10)


def words(route):
    return [d["decision"] for d in route]


def row_of(r, channel):
    return ([n for n in r["notifications"] if n["channel"] == channel] or [{}])[0]


def settled(ev_id):
    return wait_for(lambda: all(n["status"] in ("sent", "failed", "dropped")
                                for n in routing(ev_id)[1]["notifications"]), 15)


# ---- notified: the check's contacts, each row sent -----------------------------------------
web = e.check("nginx", contacts=[e.contact_id])
e.post(web, 2, "nginx down")
ev = event_of(web)
t.ok(ev and ev["notify"], "the PROBLEM is notified", ev)
t.ok(settled(ev["id"]), "its rows are sent")
st, r, _ = routing(ev["id"])
t.eq(st, 200, "GET /api/v1/events/{id}/routing -> 200")
t.eq((r["event"]["id"], r["event"]["kind"], r["event"]["agent"], r["event"]["check"],
      r["event"]["status"], r["event"]["notify"]),
     (ev["id"], "PROBLEM", "web01", "nginx", "CRITICAL", True), "the event: id, kind, agent, check, status")
t.ok(r["event"]["at"].endswith("Z"), "the event's time is RFC 3339", r["event"])
t.eq(words(r["route"]), ["contacts"], "the event's record: contacts (no policy)")
t.ok("no policy" in r["route"][0]["detail"] and "the check's contacts" in r["route"][0]["detail"]
     and "2 rows" in r["route"][0]["detail"], "... saying whose contacts and how many rows", r["route"])
t.eq(sorted(n["channel"] for n in r["notifications"]), ["email", "pushover"], "a row per channel")
for ch in ("email", "pushover"):
    n = row_of(r, ch)
    t.eq((n.get("contact"), n.get("status"), n.get("policy"), n.get("step"), n.get("attempts")),
         ("oncall", "sent", None, None, 1), "%s row: contact, sent, no policy, one attempt" % ch)
    t.eq(words(n.get("route", [])), ["sent"], "%s row's record: sent" % ch)
    t.eq(n["route"][0]["detail"], "%s, attempt 1" % ch, "%s: sent says the channel and the attempt" % ch)
    t.ok(n.get("sent_at"), "%s: sent_at" % ch)

# ---- not notified: a downtime --------------------------------------------------------------
dt = e.check("deployme", contacts=[e.contact_id])
end = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(hours=1)
st, d, _ = e.api("POST", "/api/v1/downtimes", A, {
    "check_id": dt, "end": end.strftime("%Y-%m-%dT%H:%M:%SZ"), "comment": "deploy"})
t.eq(st, 201, "a downtime 'deploy' on the check")
e.post(dt, 2, "down for the deploy")
ev_dt = event_of(dt)
st, r, _ = routing(ev_dt["id"])
t.eq((st, r["event"]["notify"], words(r["route"]), r["notifications"]), (200, False, ["downtime"], []),
     "in a downtime: not notified, the record says downtime, no rows")
t.ok(r["route"][0]["detail"] == "in downtime 'deploy' until %s" % d["end"],
     "... which downtime and until when", (r["route"], d.get("end")))

# ---- not notified: acknowledged ------------------------------------------------------------
ak = e.check("acked", contacts=[e.contact_id])
e.post(ak, 1, "degraded")
t.ok(event_of(ak, status="WARNING"), "a WARNING")
st, _, _ = e.api("POST", "/api/v1/checks/%d/ack" % ak, A, {"comment": "on it"})
t.eq(st, 201, "acknowledged (sticky) by admin")
e.post(ak, 2, "worse")
ev_ak = event_of(ak, status="CRITICAL")
st, r, _ = routing(ev_ak["id"])
t.eq((r["event"]["notify"], words(r["route"])), (False, ["acknowledged"]),
     "the CRITICAL of an acknowledged check: not notified, acknowledged")
t.eq(r["route"][0]["detail"], "check acknowledged by admin", "... by whom")

# ---- not notified: the agent is down ---------------------------------------------------------
db_id, db_tok = e.make_agent("db01")
pg = e.make_check(db_id, "postgres", max_attempts=1, contacts=[e.contact_id])
e.cluster.psql("UPDATE agents SET state = 'down' WHERE id = %d" % db_id)
st, _, _ = e.post_results(db_tok, {"check_id": pg, "status": 2, "output": "pg down"})
t.eq(st, 201, "a late result of a check of a DOWN agent")
ev_pg = event_of(pg)
st, r, _ = routing(ev_pg["id"]) if ev_pg else (0, {}, None)
t.eq((r.get("event", {}).get("notify"), words(r.get("route", []))), (False, ["agent down"]),
     "its PROBLEM: not notified, agent down")
t.eq(r.get("route", [{}])[0].get("detail"), "agent db01 is down", "... which agent")

# ---- quiet hours: held ---------------------------------------------------------------------
st, alice, _ = e.api("POST", "/api/v1/users", A, {
    "name": "alice", "email": "alice@example.test", "quiet_hours": ["daily 00:00-00:00"]})
t.eq(st, 201, "alice, quiet all day")
q = e.check("quiet", contacts=[alice["id"]])
e.post(q, 1, "load 7")
ev_q = event_of(q)
t.ok(wait_for(lambda: "held" in words(row_of(routing(ev_q["id"])[1], "email").get("route", [])), 10),
     "a WARNING to alice: her row says held")
n = row_of(routing(ev_q["id"])[1], "email")
t.eq((n["contact"], n["status"]), ("alice", "pending"), "... pending, for alice")
t.ok(n["route"][0]["detail"].startswith("held by quiet hours until "), "... until when", n["route"])
st, r, _ = routing(ev_q["id"])
t.ok(r["route"][0]["detail"].endswith("were told: 1 row"), "the event's record: one row (alice has only email)", r["route"])

# ---- a refused mail: retry, then sent ------------------------------------------------------
e.sink.refuse("451 4.3.0 try again later")
rt = e.check("retried", contacts=[e.contact_id])
e.post(rt, 2, "flaky relay")
ev_rt = event_of(rt)
t.ok(wait_for(lambda: "retry" in words(row_of(routing(ev_rt["id"])[1], "email").get("route", [])), 10),
     "the refused mail's row says retry")
e.sink.accept()
t.ok(wait_for(lambda: row_of(routing(ev_rt["id"])[1], "email").get("status") == "sent", 15),
     "the relay accepts again: sent")
n = row_of(routing(ev_rt["id"])[1], "email")
t.eq(words(n["route"]), ["retry", "sent"], "its record: retry, then sent")
t.ok("451" in n["route"][0]["detail"] and "next attempt at " in n["route"][0]["detail"],
     "retry says the error and the next attempt", n["route"])
t.eq(n["route"][1]["detail"], "email, attempt 2", "sent says the attempt")

# ---- who may read; an unknown event --------------------------------------------------------
st, r, _ = routing(999999)
t.eq(st, 404, "an unknown event -> 404")
st, r, _ = e.api("GET", "/api/v1/events/x/routing", A)
t.ok(st in (400, 404), "a malformed id -> 400/404, no crash", st)
viewer = S.create_token("ro", "viewer")
st, r, _ = routing(ev["id"], viewer)
t.eq((st, words(r.get("route", []))), (200, ["contacts"]), "a viewer may read it")
st, r, _ = routing(ev["id"], None)
t.eq(st, 401, "without a token -> 401")

# ---- custos why ------------------------------------------------------------------------------
cli_env = dict(os.environ, NO_COLOR="1", CUSTOS_URL="http://127.0.0.1:%d" % S.port, CUSTOS_TOKEN=A,
               HOME=e.probe_tmp)


def why(*args):
    return subprocess.run([os.path.join(BUILDDIR, "custos")] + list(args), env=cli_env,
                          capture_output=True, text=True, timeout=30)


p = why("why", str(ev_dt["id"]))
t.ok(p.returncode == 0, "custos why (downtime) -> 0", p.stderr)
first = p.stdout.splitlines()[0] if p.stdout else ""
t.ok(first.startswith("PROBLEM web01/deployme CRITICAL at ") and
     first.endswith(": not notified \u2014 in downtime 'deploy' until %s" % d["end"]),
     "custos why: the event and why it was not notified", p.stdout)
p = why("why", str(ev_rt["id"]))
lines = p.stdout.splitlines()
t.ok(p.returncode == 0 and lines and ": notified \u2014 no policy: the check's contacts were told: 2 rows"
     in lines[0], "custos why: a notified event says who was told", p.stdout)
mail = [x for x in lines if x.startswith("  oncall email [sent]: ")]
t.ok(mail and "retry: " in mail[0] and "451" in mail[0] and "; sent at " in mail[0]
     and mail[0].endswith("(email, attempt 2)"), "custos why: a line per row, retry then sent", p.stdout)
p = why("why", str(ev_q["id"]))
t.ok(p.returncode == 0 and any(x.startswith("  alice email [pending]: held by quiet hours until ")
                               for x in p.stdout.splitlines()), "custos why: held by quiet hours", p.stdout)
p = why("--json", "why", str(ev["id"]))
try:
    j = json.loads(p.stdout)
except ValueError:
    j = {}
t.eq((p.returncode, j.get("event", {}).get("id"), words(j.get("route", []))), (0, ev["id"], ["contacts"]),
     "custos why --json: the API's JSON")
p = why("why", "999999")
t.ok(p.returncode == 1 and "999999" in p.stderr, "custos why of an unknown event -> 1, says so",
     (p.returncode, p.stderr))
p = why("why", "abc")
t.ok(p.returncode == 2 and "event ID" in p.stderr, "custos why abc -> usage error (2)", (p.returncode, p.stderr))

# ---- the webhook's JSON carries the record ----------------------------------------------------
hooks = []
answers = [500]          # the first POST fails (a retry is recorded), then 200


class Hook(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        hooks.append(json.loads(body))
        code = answers.pop(0) if answers else 200
        self.send_response(code)
        self.send_header("Content-Length", "0")
        self.end_headers()


hs = ThreadingHTTPServer(("127.0.0.1", 0), Hook)
threading.Thread(target=hs.serve_forever, daemon=True).start()
st, hc, _ = e.api("POST", "/api/v1/contacts", A, {
    "name": "hook", "webhook_url": "http://127.0.0.1:%d/alerts" % hs.server_address[1]})
t.eq(st, 201, "a webhook contact")
wh = e.check("hooked", contacts=[hc["id"]])
e.post(wh, 2, "hook me")
t.ok(wait_for(lambda: len(hooks) >= 2, 15), "the webhook is posted twice (500, then 200)", hooks)
if len(hooks) >= 2:
    h0, h1 = hooks[0], hooks[1]
    t.eq((h0.get("policy", "absent"), h0.get("step", "absent"), h0.get("route")), (None, None, []),
         "first post: policy and step null (no policy), an empty route")
    t.eq((h1.get("policy", "absent"), h1.get("step", "absent"), words(h1.get("route") or [])),
         (None, None, ["retry"]), "the retry's post carries the retry in its route")
    t.ok("HTTP 500" in h1["route"][0]["detail"], "... with its error", h1["route"])
ev_wh = event_of(wh)
t.ok(wait_for(lambda: words(row_of(routing(ev_wh["id"])[1], "webhook").get("route", []))
              == ["retry", "sent"], 10), "the webhook row's record: retry, sent")
hs.shutdown()

t.eq(e.sanitizer_reports(), [], "no sanitizer report in serverd's log")
t.done()
