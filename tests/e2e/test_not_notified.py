#!/usr/bin/python3
"""test_not_notified.py - why an event is not notified (docs/alerting.md,
"Why was I paged"): the first decision of its routing record, taken for a
batch's events by the alert's one statement (sql/functions/
event_not_notified.sql, inlined into serverd/alert/alert.c's insert).
  - one ingest batch whose events each have their own reason: suppressed by
    a parent, suppressed although also in a downtime (a parent comes
    first), in a downtime, acknowledged, and one notified - each event gets
    its own record, none its neighbour's;
  - the order of precedence, one state against the next, through the
    decision itself: a parent before a downtime, a downtime before the
    agent down, the agent down before an acknowledgement (not for a
    heartbeat), an acknowledgement before flapping (a RECOVERY is never
    "acknowledged"), an ACKNOWLEDGEMENT never suppressed by a parent, the
    start and end of a downtime recorded not notified, an agent's own
    events (no check) stopped by a parent or a downtime only, an agent with
    no check, a check that is gone.
The states are set by the API, or written to the tables directly where only
time would set them (an agent down, a check flapping); no sleeps."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from alertlib import AlertEnv  # noqa: E402
from harness import Tap, wait_for  # noqa: E402

t = Tap()
e = AlertEnv()
A = e.admin
sql = e.cluster.psql
contacts = [e.contact_id]


def record(ev):
    """An event's routing record as (decision, detail) pairs."""
    st, r, _ = e.api("GET", "/api/v1/events/%d/routing" % ev["id"], A)
    return [(d["decision"], d.get("detail")) for d in r.get("route", [])] if st == 200 else st


# ---- one batch, a reason each -------------------------------------------------------------
switch = e.check("switch", contacts=contacts)
app = e.check("app", contacts=contacts, parents=["web01/switch"])
api_ = e.check("api", contacts=contacts, parents=["web01/switch"])
deploy = e.check("deploy", contacts=contacts)
acked = e.check("acked", contacts=contacts)
db = e.check("db", contacts=contacts)
e.post(switch, 2, "switch down")
e.post(acked, 2, "acked down")
t.ok(wait_for(lambda: len(e.events(acked, "PROBLEM")) == 1 and len(e.events(switch, "PROBLEM"))
              == 1, 10), "the parent and the check to acknowledge are CRITICAL")
st, _, _ = e.api("POST", "/api/v1/checks/%d/ack" % acked, A, {"comment": "on it"})
t.eq(st, 201, "one check acknowledged (sticky)")
for c in (deploy, api_):
    st, d, _ = e.api("POST", "/api/v1/downtimes", A, {"check_id": c, "end": "2099-01-01T00:00:00Z",
                                                      "comment": "deploy"})
    t.eq(st, 201, "a downtime on check %d" % c)
st, body, _ = e.post_results(e.agent_token, [
    {"check_id": app, "status": 2, "output": "app down"},
    {"check_id": api_, "status": 2, "output": "api down"},
    {"check_id": deploy, "status": 2, "output": "deploy down"},
    {"check_id": acked, "status": 1, "output": "acked degraded"},
    {"check_id": db, "status": 2, "output": "db down"}])
t.eq(st, 201, "five results in one post")


def batch_events():
    evs = [e.events(c, "PROBLEM")[-1:] for c in (app, api_, deploy, db)]
    evs.append([x for x in e.events(acked, "PROBLEM") if x["status"] == "WARNING"])
    return [x[0] for x in evs] if all(evs) else None


got = wait_for(batch_events, 10) or [{}] * 5
until = "2099-01-01T00:00:00Z"
t.eq([(g.get("notify"), record(g)[0] if g else None) for g in got],
     [(False, ("suppressed", "parent web01/switch is CRITICAL")),
      (False, ("suppressed", "parent web01/switch is CRITICAL")),
      (False, ("downtime", "in downtime 'deploy' until %s" % until)),
      (True, ("contacts", record(got[3])[0][1] if got[3] else None)),
      (False, ("acknowledged", "check acknowledged by admin"))],
     "each event of the batch has its own reason (parent, parent before downtime, downtime,"
     " notified, acknowledged)")
t.eq(len({g.get("id") for g in got if g}), 5, "... five events")
ev_ids = ",".join(str(g["id"]) for g in got if g) or "0"
t.eq(sql("SELECT count(DISTINCT created_at) FROM events WHERE id IN (%s)" % ev_ids), [["1"]],
     "... recorded by one statement (one transaction time)")

# ---- the order of precedence, state against state -----------------------------------------
# the decision itself, for events made up here: the record's first entry
srv, _ = e.make_agent("srv01")
lone, _ = e.make_agent("lone")          # an agent with no check
up, _ = e.make_agent("up01")
k = {n: e.make_check(srv, n, max_attempts=1) for n in ("plain", "both", "dtdown", "ackdown",
                                                       "ackflap")}
k["hb"] = e.api("POST", "/api/v1/checks", A, {"agent_id": srv, "name": "hb", "type": "heartbeat",
                                              "params": {"schedule": "every 1m",
                                                         "grace_s": 30}})[1]["id"]
k["up"] = e.make_check(up, "up", max_attempts=1)
for c in ("both", "dtdown"):
    e.api("POST", "/api/v1/downtimes", A, {"check_id": k[c], "end": until, "comment": "window"})
st, _, _ = e.api("PATCH", "/api/v1/checks/%d" % k["both"], A, {"parents": ["web01/switch"]})
t.eq(st, 200, "a check with a parent down and a downtime")
sql("UPDATE agents SET state = 'down' WHERE id = %d" % srv)
sql("UPDATE check_state SET acknowledged = true, ack_by = 'ann', status = 2, state_type = 'HARD'"
    " WHERE check_id IN (%d, %d, %d)" % (k["ackdown"], k["ackflap"], k["up"]))
sql("UPDATE check_state SET flapping = true WHERE check_id IN (%d, %d, %d)"
    % (k["ackflap"], k["hb"], k["up"]))
st, _, _ = e.api("PATCH", "/api/v1/agents/%d" % up, A, {"parents": ["web01/switch"]})
t.eq(st, 200, "an agent with a parent down")
e.api("POST", "/api/v1/downtimes", A, {"agent_id": lone, "end": until, "comment": "moving"})


def why(kind, agent, check):
    r = sql("SELECT f.why->>'decision', f.why->>'detail', (SELECT count(*) FROM"
            " event_not_notified('%s', %d, %s)) FROM event_not_notified('%s', %d, %s) f(why)"
            % (kind, agent, check or "NULL", kind, agent, check or "NULL"))
    return (r[0][0] or None, r[0][1] or None) if r and r[0][2] == "1" else ("rows", r)


cases = [
    ("PROBLEM", srv, k["both"], ("suppressed", "parent web01/switch is CRITICAL"),
     "a parent down comes before a downtime"),
    ("ACKNOWLEDGEMENT", srv, k["both"], ("downtime", "in downtime 'window' until " + until),
     "an ACKNOWLEDGEMENT is not suppressed by a parent (its downtime still holds it)"),
    ("PROBLEM", srv, k["dtdown"], ("downtime", "in downtime 'window' until " + until),
     "a downtime comes before the agent down"),
    ("PROBLEM", srv, k["ackdown"], ("agent down", "agent srv01 is down"),
     "the agent down comes before an acknowledgement"),
    ("PROBLEM", srv, k["hb"], ("flapping", "the check is flapping"),
     "a heartbeat of a down agent is not 'agent down' (flapping)"),
    ("RECOVERY", srv, k["plain"], ("agent down", "agent srv01 is down"),
     "a RECOVERY of a down agent's check: agent down"),
    ("PROBLEM", up, k["up"], ("suppressed", "parent web01/switch is CRITICAL"),
     "its agent's parent down suppresses a check"),
    ("ACKNOWLEDGEMENT", up, k["up"], (None, None),
     "an ACKNOWLEDGEMENT of it is notified (acknowledged, flapping: not for that kind)"),
    ("RENOTIFY", up, k["up"], ("suppressed", "parent web01/switch is CRITICAL"),
     "... a RENOTIFY suppressed"),
    ("DOWNTIME START", srv, k["plain"],
     ("downtime", "the start or end of a downtime is recorded, not notified"),
     "DOWNTIME START: recorded, not notified"),
    ("DOWNTIME END", up, k["up"],
     ("downtime", "the start or end of a downtime is recorded, not notified"),
     "DOWNTIME END: recorded, not notified, even with a parent down"),
    ("AGENT DOWN", srv, None, (None, None),
     "an agent's own event: not 'agent down' (notified)"),
    ("AGENT DOWN", up, None, ("suppressed", "parent web01/switch is CRITICAL"),
     "an agent's own event with a parent down: suppressed"),
    ("AGENT DOWN", lone, None, ("downtime", "agent in downtime 'moving' until " + until),
     "an agent with no check, in a downtime"),
    ("AGENT UP", lone, None, ("downtime", "agent in downtime 'moving' until " + until),
     "... its AGENT UP too"),
    ("PROBLEM", e.agent_id, 999999, (None, None), "a check that is gone: notified"),
]
for kind, agent, check, want, desc in cases:
    t.eq(why(kind, agent, check), want, desc)

# acknowledged before flapping, by kind; the agent up again for these
sql("UPDATE agents SET state = 'up' WHERE id = %d" % srv)
for kind, want in (("PROBLEM", ("acknowledged", "check acknowledged by ann")),
                   ("RENOTIFY", ("acknowledged", "check acknowledged by ann")),
                   ("RECOVERY", ("flapping", "the check is flapping")),
                   ("FLAPPING START", (None, None))):
    t.eq(why(kind, srv, k["ackflap"]), want,
         "acknowledged and flapping, %s: %s" % (kind, want[0] or "notified"))
t.eq(why("PROBLEM", srv, k["plain"]), (None, None), "nothing holds it: notified")

t.eq(e.sanitizer_reports(), [], "no sanitizer report in serverd's log")
t.done()
