#!/usr/bin/python3
"""test_policies.py - notification policies with escalation, against the
real SMTP sink: the API keeps policies valid (an operator may not write one,
a refused request changes nothing); the first matching policy decides and
continue lets the next ones apply too; step 0 goes to the named user and to
the rotation's on-caller only, not to the check's contacts; a later step
fires when its after_s has passed (the problem's start is moved back in the
database: nothing sleeps for after_s) and not once the problem is
acknowledged; repeat_s tells everyone again; a RECOVERY goes to everyone who
was told; a WARNING under a policy with urgent=WARNING passes quiet hours;
every row records its policy, step and routing decision. Also: the SQL
on-call arithmetic the routing uses answers as GET .../oncall does across a
change of the clocks, the CLI verbs and their exit codes, and export ->
apply of policies changes nothing."""
import json
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from alertlib import AlertEnv  # noqa: E402
from harness import BUILDDIR, Tap, wait_for  # noqa: E402

t = Tap()
env = AlertEnv()
A = env.admin
S = env.server
OP = S.create_token("op", role="operator")


def api(method, path, body=None, token=A):
    return S.request(method, path, token, body)


def sql(q):
    return env.cluster.psql(q)


users = {}
for name in ("alice", "bob", "carol", "dave", "erin"):
    body = {"name": name, "email": name + "@example.test"}
    if name == "erin":
        body["quiet_hours"] = ["daily 00:00-00:00"]   # always quiet
    st, u, _ = api("POST", "/api/v1/users", body)
    assert st == 201, (st, u)
    users[name] = u["id"]
st, rot, _ = api("POST", "/api/v1/rotations", {"name": "ops", "members": ["bob", "carol"],
                                                "shift": "day"})
assert st == 201, (st, rot)
st, oc, _ = api("GET", "/api/v1/rotations/ops/oncall")
ONCALL_USER = oc["user"]
OFF_USER = "carol" if ONCALL_USER == "bob" else "bob"
t.diag("on call in ops now: %s" % ONCALL_USER)

# ---- the API keeps policies valid --------------------------------------------------------
DB = {"name": "db-crit", "position": 1, "match": "team=db,status=CRITICAL,kind in (PROBLEM)",
      "steps": [{"after_s": 0, "notify": ["alice", "rotation:ops"], "channels": ["email"]},
                {"after_s": 300, "notify": ["dave"], "channels": ["email"]}],
      "repeat_s": 600}
st, e, _ = api("POST", "/api/v1/policies", DB, token=OP)
t.eq(st, 403, "an operator token cannot create a policy")
bad = [
    (dict(DB, steps=[{"after_s": 0, "notify": ["nobody"]}]), 422, "steps", "an unknown user"),
    (dict(DB, steps=[{"after_s": 0, "notify": ["rotation:nope"]}]), 422, "steps",
     "an unknown rotation"),
    (dict(DB, match="team=db,"), 422, "match", "a match that does not parse"),
    (dict(DB, match="status=CRITICL"), 422, "match", "a status that is none"),
    (dict(DB, match='kind="AGENT GONE"'), 422, "match", "a kind that is none"),
    (dict(DB, steps=[{"after_s": 60, "notify": ["alice"]}]), 422, "steps",
     "a first step that is not at 0"),
    (dict(DB, steps=[{"after_s": 0, "notify": ["alice"]}, {"after_s": 0, "notify": ["dave"]}]),
     422, "steps", "steps not ascending"),
    (dict(DB, steps=[{"after_s": 0, "notify": ["alice"], "channels": ["fax"]}]), 422, "steps",
     "an unknown channel"),
    (dict(DB, steps=[{"after_s": 0, "notify": ["alice"], "priority": 5}]), 422, "steps",
     "a priority out of range"),
    (dict(DB, steps=[{"after_s": 0, "notify": ["alice"], "when": 1}]), 422, "steps",
     "an unknown member of a step"),
    (dict(DB, steps=[]), 422, "steps", "no step"),
    (dict(DB, steps="alice"), 400, "steps", "steps not a list"),
    (dict(DB, repeat_s=5), 422, "repeat_s", "repeat_s below 60"),
    (dict(DB, urgent="LOW"), 422, "urgent", "an urgent level that is none"),
    (dict(DB, name="a b"), 422, "name", "a name with a blank"),
    (dict(DB, colour="red"), 422, "colour", "an unknown member"),
]
for body, code, field, why in bad:
    st, e, _ = api("POST", "/api/v1/policies", body)
    t.ok(st == code and e.get("field") == field, "refused: %s (%d %s)" % (why, code, field),
         (st, e))
t.eq(api("GET", "/api/v1/policies")[1]["items"], [], "the refused requests made nothing")

st, p, _ = api("POST", "/api/v1/policies", DB)
t.ok(st == 201 and p["name"] == "db-crit" and p["urgent"] == "CRITICAL" and
     p["created_by"] == "admin" and p["steps"][1]["notify"] == ["dave"],
     "db-crit created; the token's name recorded", (st, p))
st, e, _ = api("POST", "/api/v1/policies", DB)
t.ok(st == 409 and e.get("field") == "name", "a second policy of that name: 409", (st, e))
st, e, _ = api("PATCH", "/api/v1/policies/db-crit", {"steps": [{"after_s": 5, "notify": ["x"]}]})
t.ok(st == 422 and api("GET", "/api/v1/policies/db-crit")[1] == p,
     "a refused PATCH changed nothing", (st, e))
st, e, _ = api("PATCH", "/api/v1/policies/db-crit", {"repeat_s": 900}, token=OP)
t.eq(st, 403, "an operator token cannot change a policy")
t.eq(api("DELETE", "/api/v1/policies/db-crit", token=OP)[0], 403,
     "an operator token cannot delete a policy")
t.eq(api("GET", "/api/v1/policies/nope")[0], 404, "GET of an unknown policy: 404")

for body in [
        {"name": "web-both", "position": 2, "match": "team=web", "continue": True,
         "steps": [{"after_s": 0, "notify": ["alice"], "channels": ["email"]}]},
        {"name": "web-second", "position": 3, "match": "team=web",
         "steps": [{"after_s": 0, "notify": ["dave"], "channels": ["email"]}]},
        {"name": "web-never", "position": 4, "match": "team=web",
         "steps": [{"after_s": 0, "notify": ["carol"]}]},
        {"name": "quiet-warn", "position": 5, "match": "team=quiet", "urgent": "WARNING",
         "steps": [{"after_s": 0, "notify": ["erin"], "channels": ["email"]}]},
        {"name": "quiet-default", "position": 6, "match": "team=quiet2",
         "steps": [{"after_s": 0, "notify": ["erin"], "channels": ["email"]}]}]:
    st, p, _ = api("POST", "/api/v1/policies", body)
    assert st == 201, (st, p)
t.eq([p["name"] for p in api("GET", "/api/v1/policies")[1]["items"]],
     ["db-crit", "web-both", "web-second", "web-never", "quiet-warn", "quiet-default"],
     "GET /api/v1/policies lists them in order")


# a witness of the routing record's writes (test-only): an event's "contacts" decision
# written and then taken back again, as when a policy took the event after it was written
env.cluster.psql_script("""
CREATE TABLE route_taken_back (event_id bigint, old jsonb, new jsonb);
CREATE FUNCTION route_taken_back() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO route_taken_back VALUES (NEW.id, OLD.route, NEW.route);
	RETURN NULL;
END $$;
CREATE TRIGGER route_taken_back AFTER UPDATE OF route ON events FOR EACH ROW
	WHEN (OLD.route @> '[{"decision": "contacts"}]' AND NOT NEW.route @> '[{"decision": "contacts"}]')
	EXECUTE FUNCTION route_taken_back();
""")
t.eq(sql("SELECT count(*) FROM pg_trigger WHERE tgname = 'route_taken_back'"), [["1"]],
     "(the witness is in place)")


def rows(check_id):
    """(user name, channel, kind, policy, step, status) of a check's rows."""
    return sql("SELECT COALESCE(c.name, '-'), n.channel, e.kind, COALESCE(n.policy, '-'),"
               " COALESCE(n.step::text, '-'), n.status FROM notifications n"
               " JOIN events e ON e.id = n.event_id LEFT JOIN contacts c ON c.id = n.contact_id"
               " WHERE e.check_id = %d ORDER BY n.id" % check_id)


def told(check_id, kind):
    return sorted({r[0] for r in rows(check_id) if r[2] == kind})


def mail_to(who, pred=lambda m: True):
    return [m for m in env.sink.messages() if who + "@example.test" in m["rcpt_tos"] and pred(m)]


# ---- step 0: the named user and the rotation's on-caller, nobody else ---------------------
db = env.check("db-disk", labels={"team": "db"})
env.post(db, 2, "disk 99%")
t.ok(wait_for(lambda: len(rows(db)) >= 2), "the CRITICAL of a db check made rows", rows(db))
t.eq(told(db, "PROBLEM"), sorted(["alice", ONCALL_USER]),
     "step 0 told alice and the on-caller of ops only (not the contacts, not %s)" % OFF_USER)
t.ok(all(r[1] == "email" and r[3] == "db-crit" and r[4] == "0" for r in rows(db)),
     "on the step's channel, with policy db-crit and step 0", rows(db))
rt = sql("SELECT DISTINCT r->>'decision', r->>'detail' FROM notifications n JOIN events e"
         " ON e.id = n.event_id, jsonb_array_elements(n.route) r WHERE e.check_id = %d" % db)
t.ok(["policy", "matched policy db-crit step 0"] in rt and
     ["policy", "matched policy db-crit step 0 (on call in rotation ops)"] in rt,
     "the routing record says which policy and step (and the rotation)", rt)
er = sql("SELECT r->>'decision', r->>'detail' FROM events e, jsonb_array_elements(e.route) r"
         " WHERE e.check_id = %d AND e.kind = 'PROBLEM'" % db)
t.eq(er, [["policy", "matched policy db-crit (2 notifications)"]],
     "the event's own record names the policy")
t.ok(wait_for(lambda: mail_to("alice") and mail_to(ONCALL_USER)),
     "alice and the on-caller got the mail", env.sink.subjects())

# ---- the SQL on-call is GET .../oncall's, across a change of the clocks -------------------
st, r2, _ = api("POST", "/api/v1/rotations", {"name": "berlin", "members": ["alice", "bob", "dave"],
                                               "shift": "hours:8", "handoff": "02:30",
                                               "tz": "Europe/Berlin", "start": "2027-03-20"})
assert st == 201, (st, r2)
same = []
for at in ("2027-03-28T00:29:59Z", "2027-03-28T00:30:00Z", "2027-03-28T01:00:00Z",
           "2027-03-28T01:29:59Z", "2027-03-28T01:30:00Z", "2027-03-28T08:59:59Z",
           "2027-10-31T00:29:59Z", "2027-10-31T00:30:00Z", "2027-10-31T01:30:00Z",
           "2027-10-31T09:30:00Z", "2027-01-01T12:00:00Z", "2027-03-19T12:00:00Z"):
    want = api("GET", "/api/v1/rotations/berlin/oncall?at=" + at)[1]["user"]
    got = sql("SELECT c.name FROM contacts c WHERE c.id = rotation_oncall('berlin', '%s')"
              % at)[0][0]
    same.append((at, want, got))
t.ok(all(w == g for _, w, g in same), "rotation_oncall() agrees with GET .../oncall at the"
     " spring and autumn changes and before the first shift", same)

# ---- escalation: step 1 once after_s has passed ----------------------------------------------
db2 = env.check("db-acked", labels={"team": "db"})
env.post(db2, 2, "disk 98%")
t.ok(wait_for(lambda: len(told(db2, "PROBLEM")) == 2), "a second db problem: step 0 told",
     rows(db2))
st, _, _ = api("POST", "/api/v1/checks/%d/ack" % db2, {"comment": "on it"})
t.ok(st in (200, 201), "db2 acknowledged before its step 1 is due", st)
t.ok(wait_for(lambda: told(db2, "ACKNOWLEDGEMENT") == sorted(["alice", ONCALL_USER])),
     "the acknowledgement went to everyone told about the problem", rows(db2))
# both problems began 301 s ago: step 1 (after 300 s) is due for both
sql("UPDATE policy_open SET began_at = now() - interval '301 seconds'")
t.ok(wait_for(lambda: "dave" in told(db, "PROBLEM")), "step 1 told dave about db-disk",
     rows(db))
d = [r for r in rows(db) if r[0] == "dave"][0]
t.ok(d[3] == "db-crit" and d[4] == "1", "dave's row: policy db-crit, step 1", d)
rt = sql("SELECT n.route->0->>'decision', n.route->0->>'detail' FROM notifications n"
         " JOIN events e ON e.id = n.event_id JOIN contacts c ON c.id = n.contact_id"
         " WHERE e.check_id = %d AND c.name = 'dave'" % db)
t.ok(rt[0][0] == "escalated" and rt[0][1].startswith("from step 0:"),
     "its routing record: escalated from step 0", rt)
t.ok(wait_for(lambda: mail_to("dave")), "dave got the mail", env.sink.subjects())
# the job handles both in the same statement: db2 was passed over, not left for later
t.ok("dave" not in told(db2, "PROBLEM"), "the acknowledged problem did not escalate",
     rows(db2))
t.eq(sql("SELECT step FROM policy_open WHERE check_id = %d" % db2), [["0"]],
     "and it stays at step 0")

# ---- repeat_s: everyone of the steps told again ------------------------------------------
sql("UPDATE policy_open SET fired_at = now() - interval '601 seconds' WHERE check_id = %d" % db)
t.ok(wait_for(lambda: told(db, "RENOTIFY") == sorted(["alice", "dave", ONCALL_USER])),
     "after repeat_s: a RENOTIFY to alice, the on-caller and dave", rows(db))
rt = sql("SELECT DISTINCT n.route->0->>'decision' FROM notifications n JOIN events e"
         " ON e.id = n.event_id WHERE e.check_id = %d AND e.kind = 'RENOTIFY'" % db)
t.eq(rt, [["repeated"]], "recorded as repeated")

# ---- RECOVERY: everyone who was told ----------------------------------------------------
env.post(db, 0, "disk 40%")
t.ok(wait_for(lambda: told(db, "RECOVERY") == sorted(["alice", "dave", ONCALL_USER])),
     "the RECOVERY went to everyone told (steps 0 and 1), nobody else", rows(db))
t.eq(sql("SELECT count(*) FROM policy_open WHERE check_id = %d" % db), [["0"]],
     "the recovery closed the problem's escalation")
er = sql("SELECT r->>'detail' FROM events e, jsonb_array_elements(e.route) r"
         " WHERE e.check_id = %d AND e.kind = 'RECOVERY'" % db)
t.eq(er, [["RECOVERY: to everyone told about the problem (policy db-crit)"]],
     "the recovery's event record says so")

# ---- a problem the policy no longer matches leaves its escalation ---------------------------
db3 = env.check("db-falls", labels={"team": "db"})
env.post(db3, 2, "disk 97%")
t.ok(wait_for(lambda: len(told(db3, "PROBLEM")) == 2), "db-falls CRITICAL: step 0 told", rows(db3))
env.post(db3, 1, "disk 90%")
t.ok(wait_for(lambda: "oncall" in told(db3, "PROBLEM")),
     "it falls to WARNING, which db-crit does not match: the contacts are told", rows(db3))
sql("UPDATE policy_open SET began_at = now() - interval '301 seconds' WHERE check_id = %d" % db3)
t.ok(wait_for(lambda: sql("SELECT count(*) FROM policy_open WHERE check_id = %d" % db3) ==
              [["0"]]), "its db-crit escalation ended when step 1 came due")
t.ok(not [r for r in rows(db3) if r[3] == "db-crit" and r[4] == "1"],
     "and step 1 did not fire", rows(db3))

# ---- first match wins, continue lets the next apply -------------------------------------
web = env.check("web-http", labels={"team": "web"})
env.post(web, 1, "slow")
t.ok(wait_for(lambda: told(web, "PROBLEM") == ["alice", "dave"]),
     "web: web-both (continue) and web-second told; web-never, after a policy without"
     " continue, did not", rows(web))
t.eq(sorted({(r[0], r[3]) for r in rows(web)}), [("alice", "web-both"), ("dave", "web-second")],
     "each row names its policy")
dbw = env.check("db-warn", labels={"team": "db"})
env.post(dbw, 1, "disk 85%")
t.ok(wait_for(lambda: "oncall" in told(dbw, "PROBLEM")),
     "a db WARNING matches no policy: the check's contacts are told as before", rows(dbw))
t.ok(all(r[3] == "-" for r in rows(dbw)), "those rows have no policy", rows(dbw))
er = sql("SELECT r->>'decision' FROM events e, jsonb_array_elements(e.route) r"
         " WHERE e.check_id = %d AND e.kind = 'PROBLEM'" % dbw)
t.eq(er, [["contacts"]], "its record: the contacts' decision, once")

# ---- urgent: a WARNING passes quiet hours under urgent=WARNING --------------------------
qw = env.check("quiet-warn", labels={"team": "quiet"})
qd = env.check("quiet-default", labels={"team": "quiet2"})
env.post(qw, 1, "w")
env.post(qd, 1, "w")
t.ok(wait_for(lambda: [r for r in rows(qw) if r[5] == "sent"]),
     "erin is quiet, but a WARNING under urgent=WARNING is sent", rows(qw))
t.ok(wait_for(lambda: sql("SELECT count(*) FROM notifications n JOIN events e ON"
                          " e.id = n.event_id WHERE e.check_id = %d AND n.held_until"
                          " IS NOT NULL" % qd) == [["1"]]),
     "a WARNING under the default urgent (CRITICAL) is held", rows(qd))

# ---- a step's priority is the Pushover priority ---------------------------------------------
st, pat, _ = api("POST", "/api/v1/users", {"name": "pat", "pushover_user": "p" * 29 + "2"})
assert st == 201, (st, pat)
st, p, _ = api("POST", "/api/v1/policies", {
    "name": "prio", "position": 7, "match": "team=prio",
    "steps": [{"after_s": 0, "notify": ["pat"], "channels": ["pushover"], "priority": -1}]})
assert st == 201, (st, p)
pc = env.check("prio-check", labels={"team": "prio"})
env.post(pc, 2, "down")
push = env.wait_push(lambda r: "prio-check" in r["fields"].get("title", "") and
                     r["fields"].get("user") == "p" * 29 + "2")
t.ok(push and push[0]["fields"].get("priority") == "-1",
     "a CRITICAL told at a step with priority -1 is pushed at -1 (not 1)",
     push[0]["fields"] if push else env.po.requests())

# ---- an agent that stays down escalates; its AGENT UP goes to everyone told ------------------
st, p, _ = api("POST", "/api/v1/policies", {
    "name": "edge-down", "position": 8, "match": 'team=edge,kind="AGENT DOWN"', "repeat_s": 600,
    "steps": [{"after_s": 0, "notify": ["alice"], "channels": ["email"]},
              {"after_s": 300, "notify": ["dave"], "channels": ["email"]}]})
assert st == 201, (st, p)
edge = {}
for name in ("edge01", "edge02"):
    aid, atok = env.make_agent(name, labels={"team": "edge"})
    st, _, _ = api("PUT", "/api/v1/agent/self/checkout", body={"duration_ms": 3, "results": 0,
                                                               "version": "test"}, token=atok)
    assert st == 200, st
    edge[name] = (aid, atok)
E1, E2 = edge["edge01"][0], edge["edge02"][0]


def agent_rows(aid):
    """(user name, kind, policy, step, first decision) of an agent's own rows."""
    return sql("SELECT c.name, e.kind, n.policy, n.step, n.route->0->>'decision'"
               " FROM notifications n JOIN events e ON e.id = n.event_id JOIN contacts c"
               " ON c.id = n.contact_id WHERE e.agent_id = %d AND e.check_id IS NULL"
               " ORDER BY n.id" % aid)


# both miss their checkout: the agents job marks them down (nothing waits for a clock)
sql("UPDATE agents SET next_checkout_by = now() - interval '1 hour' WHERE id IN (%d, %d)"
    % (E1, E2))
t.ok(wait_for(lambda: all(agent_rows(a) == [["alice", "AGENT DOWN", "edge-down", "0", "policy"]]
                          for a in (E1, E2)), 15),
     "AGENT DOWN of both: step 0 told alice", [agent_rows(E1), agent_rows(E2)])
t.eq(sql("SELECT agent_id, check_id IS NULL, step FROM policy_open WHERE agent_id IN (%d, %d)"
         " ORDER BY agent_id" % (E1, E2)), [[str(E1), "t", "0"], [str(E2), "t", "0"]],
     "each opened the policy's escalation, as a check's problem does")
st, dt, _ = api("POST", "/api/v1/downtimes", {"agent_id": E2, "end": "2099-01-01T00:00:00Z",
                                              "comment": "edge02 moves racks"})
t.eq(st, 201, "edge02 is put in downtime")
# both went down 301 s ago: step 1 is due for both, in the same job run
sql("UPDATE policy_open SET began_at = now() - interval '301 seconds' WHERE agent_id IN (%d, %d)"
    % (E1, E2))
t.ok(wait_for(lambda: ["dave", "AGENT DOWN", "edge-down", "1", "escalated"] in agent_rows(E1)),
     "edge01 still down after step 1's after_s: dave told (escalated)", agent_rows(E1))
t.ok(wait_for(lambda: mail_to("dave", lambda m: "AGENT DOWN edge01" in m["subject"])),
     "dave got the AGENT DOWN mail", env.sink.subjects())
t.eq(agent_rows(E2), [["alice", "AGENT DOWN", "edge-down", "0", "policy"]],
     "edge02, in downtime, did not escalate (passed over in the same job run)")
sql("UPDATE policy_open SET fired_at = now() - interval '601 seconds' WHERE agent_id = %d" % E1)
t.ok(wait_for(lambda: sorted(r[0] for r in agent_rows(E1) if r[4] == "repeated") ==
              ["alice", "dave"]), "after repeat_s: alice and dave told again", agent_rows(E1))
rep = sql("SELECT e.kind, e.detail->>'reason', e.route->0->>'decision' FROM events e"
          " WHERE e.agent_id = %d AND e.detail->>'reason' = 'policy repeat'" % E1)
t.eq(rep, [["AGENT DOWN", "policy repeat", "repeated"]],
     "the repeat is an AGENT DOWN saying so (an agent has no RENOTIFY)")
st, _, _ = api("PUT", "/api/v1/agent/self/checkout", body={"duration_ms": 3, "results": 0,
                                                           "version": "test"},
               token=edge["edge01"][1])
t.eq(st, 200, "edge01 checks out again")
t.ok(wait_for(lambda: sorted(r[0] for r in agent_rows(E1) if r[1] == "AGENT UP") ==
              ["alice", "dave"]), "its AGENT UP went to everyone told (steps 0 and 1)",
     agent_rows(E1))
t.eq(sql("SELECT count(*) FROM policy_open WHERE agent_id = %d" % E1), [["0"]],
     "and ended its escalation")
er = sql("SELECT r->>'decision', r->>'detail' FROM events e, jsonb_array_elements(e.route) r"
         " WHERE e.agent_id = %d AND e.kind = 'AGENT UP'" % E1)
t.eq(er, [["policy", "AGENT UP: to everyone told about the problem (policy edge-down)"]],
     "the AGENT UP's record says so, with no contacts' decision written and taken back")

# ---- the CLI ------------------------------------------------------------------------------
e = {"HOME": env.tmp, "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
     "CUSTOS_URL": "http://127.0.0.1:%d" % S.port, "CUSTOS_TOKEN": A}
for k in ("ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS"):
    if k in os.environ:
        e[k] = os.environ[k]


def cli(*args, token=A):
    env2 = dict(e, CUSTOS_TOKEN=token)
    return subprocess.run([os.path.join(BUILDDIR, "custos")] + list(args), capture_output=True,
                          text=True, env=env2, timeout=60)


p = cli("policies", "create", "cli-pol", "--match", "team=cli", "--step",
        "after_s=0,notify=alice|rotation:ops,channels=email|pushover,priority=1",
        "--step", "after_s=600,notify=dave", "--repeat", "3600", "--urgent", "WARNING",
        "--position", "9")
got = api("GET", "/api/v1/policies/cli-pol")[1]
t.ok(p.returncode == 0 and got.get("steps") == [
    {"after_s": 0, "notify": ["alice", "rotation:ops"], "channels": ["email", "pushover"],
     "priority": 1}, {"after_s": 600, "notify": ["dave"]}] and got["repeat_s"] == 3600 and
     got["urgent"] == "WARNING" and got["position"] == 9,
     "custos policies create with two --step", (p.returncode, p.stderr, got))
p = cli("policies", "edit", "cli-pol", "--step", '[{"after_s": 0, "notify": ["carol"]}]',
        "--continue", "yes")
got = api("GET", "/api/v1/policies/cli-pol")[1]
t.ok(p.returncode == 0 and got["steps"] == [{"after_s": 0, "notify": ["carol"]}] and
     got["continue"] is True, "custos policies edit --step JSON --continue yes",
     (p.returncode, p.stderr, got))
p = cli("policies", "list")
t.ok(p.returncode == 0 and "cli-pol" in p.stdout and "db-crit" in p.stdout,
     "custos policies list", (p.returncode, p.stdout, p.stderr))
p = cli("policies", "show", "cli-pol")
t.ok(p.returncode == 0 and "carol" in p.stdout, "custos policies show", (p.returncode, p.stdout))
p = cli("policies", "show", "cli-pol", "--json")
t.ok(p.returncode == 0 and json.loads(p.stdout)["name"] == "cli-pol", "... --json",
     (p.returncode, p.stdout))
p = cli("policies", "create", "cli-bad", "--step", "after_s=0,notify=nobody")
t.ok(p.returncode == 1 and "nobody" in p.stderr, "an unknown user: exit 1, said",
     (p.returncode, p.stderr))
p = cli("policies", "create", "cli-bad", "--step", "after_s=0,notify=alice,when=now")
t.ok(p.returncode == 2, "an unknown step field: exit 2 (usage, nothing sent)",
     (p.returncode, p.stderr))
p = cli("policies", "create", "cli-bad")
t.ok(p.returncode == 2, "create without --step: exit 2", (p.returncode, p.stderr))
p = cli("policies", "create", "cli-op", "--step", "notify=alice", token=OP)
t.ok(p.returncode == 1, "an operator's create: exit 1 (403)", (p.returncode, p.stderr))
t.eq(api("GET", "/api/v1/policies/cli-bad")[0], 404, "the refused creates made nothing")
p = cli("policies", "delete", "cli-pol")
t.ok(p.returncode == 0 and api("GET", "/api/v1/policies/cli-pol")[0] == 404,
     "custos policies delete", (p.returncode, p.stderr))
p = cli("policies", "delete", "cli-pol")
t.eq(p.returncode, 1, "deleting it again: exit 1")

# ---- export -> apply: unchanged ------------------------------------------------------------
d = tempfile.mkdtemp(dir=env.tmp)
p = cli("export", "--dir", d)
t.ok(p.returncode == 0 and os.path.exists(os.path.join(d, "policies.yaml")),
     "custos export writes policies.yaml", (p.returncode, p.stderr))
with open(os.path.join(d, "policies.yaml")) as f:
    y = f.read()
t.ok("kind: policy" in y and "db-crit" in y and "rotation:ops" in y, "with every policy", y)
p = cli("apply", "--dry-run", "--json", "-f", d)
plan = json.loads(p.stdout) if p.returncode == 0 else {}
t.ok(p.returncode == 0 and plan.get("counts", {}).get("update") == 0 and
     plan["counts"]["create"] == 0 and plan["counts"]["delete"] == 0,
     "applying the export back plans no change", (p.returncode, p.stdout[-2000:], p.stderr))
st, cfg, _ = api("POST", "/api/v1/config", {"objects": [
    {"kind": "policy", "name": "from-file", "match": "team=file",
     "steps": [{"after_s": 0, "notify": ["rotation:nope"]}]}]})
t.ok(st == 422 and cfg.get("field") == "steps" and "nope" in cfg.get("error", ""),
     "apply refuses a policy naming an unknown rotation", (st, cfg))
st, cfg, _ = api("POST", "/api/v1/config", {"objects": [
    {"kind": "policy", "name": "from-file", "match": "team=file",
     "steps": [{"after_s": 0, "notify": ["alice"]}]}]})
got = api("GET", "/api/v1/policies/from-file")[1]
t.ok(st == 200 and got.get("managed") is True and got["position"] == 0,
     "apply creates a policy (managed, position 0)", (st, cfg, got))

t.ok(int(sql("SELECT count(*) FROM events WHERE route @> '[{\"decision\": \"policy\"}]'")[0][0])
     >= 5, "many events were taken by a policy")
t.eq(sql("SELECT event_id, new FROM route_taken_back"), [],
     "no event's contacts' decision was written and then taken back")
t.eq(env.sanitizer_reports(), [], "no sanitizer report in serverd's log")
t.done()
