#!/usr/bin/python3
"""test_dependencies.py - parents (docs/alerting.md, "Dependencies") against
the real SMTP sink and the Pushover stand-in: a switch with 30 checks on 12
agents depending on it (6 agents name it for all their checks, 6 agents'
checks name it one by one). The switch CRITICAL gives one notification per
channel, which says "30 checks on 12 agents depend on it"; the 30 children's
problems are recorded as events that are not notified, with the routing
record 'suppressed' and the parent's name, and /api/v1/status shows each
with suppressed_by; 10 children recover meanwhile (not notified either);
when the switch recovers, the 20 still failing are told then (a PROBLEM
row per child per channel, reason "parent web01/switch recovered; still
failing", sent as one digest per channel at once, whatever group_min),
the 10 recovered ones not. A sibling held (the test holds its row lock
while 3 webhook senders run) does not split a recovery's digest: the
first row's sender waits for it, no other sender claims a sibling alone,
and one digest carries all the children. An unknown parent, a check as its own
parent and a cycle are refused and change nothing. The CLI sets parents by
name, and apply/export carry them (export, then apply of that export,
changes nothing). Results are posted directly, with max_attempts 1, so
every state is HARD at once."""
import json
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from alertlib import AlertEnv, PO_USER, Webhooks  # noqa: E402
from harness import BUILDDIR, SRCDIR, Tap, wait_for  # noqa: E402

t = Tap()
# grouping on (the harness turns it off): the children still failing when
# their parent recovers go as one digest per person and channel
env = AlertEnv(conf={"www_dir": os.path.join(SRCDIR, "serverd", "www"),
                     "group_window_s": "30", "group_min": "3", "sender_threads": "3"})
A = env.admin
S = env.server
ONCALL = env.contact_id


def api(method, path, body=None):
    return S.request(method, path, A, body)


def sql(q):
    return env.cluster.psql(q)


def snapshot():
    return (sql("SELECT id, parents FROM checks ORDER BY id"),
            sql("SELECT id, parents FROM agents ORDER BY id"))


# ---- 30 children on 12 agents ----------------------------------------------------------
switch = env.check("switch")               # web01/switch
other = env.check("uplink")                # web01/uplink, for the refusals
agents = [env.make_agent("app%02d" % (i + 1)) for i in range(12)]
children = []                              # (check id, agent token, name)
for n, (aid, tok) in enumerate(agents[:6]):
    st, a, _ = api("PATCH", "/api/v1/agents/%d" % aid, {"parents": ["web01/switch"]})
    t.ok(st == 200 and a.get("parents") == ["web01/switch"],
         "app%02d names web01/switch as the parent of all its checks" % (n + 1), (st, a))
    for j in range(3):
        cid = env.make_check(aid, "c%d" % j, "load", {"period": 1}, max_attempts=1)
        children.append((cid, tok, "app%02d/c%d" % (n + 1, j)))
for n, (aid, tok) in enumerate(agents[6:]):
    for j in range(2):
        cid = env.make_check(aid, "c%d" % j, "load", {"period": 1}, max_attempts=1,
                             parents=["web01/switch"])
        children.append((cid, tok, "app%02d/c%d" % (n + 7, j)))
t.eq(len(children), 30, "30 child checks")
st, c, _ = api("GET", "/api/v1/checks/%d" % children[-1][0])
t.ok(st == 200 and c["parents"] == ["web01/switch"] and c["suppressed_by"] is None,
     "a check shows its parents by name, suppressed_by null while the switch is fine", c)
st, c, _ = api("GET", "/api/v1/checks/%d" % children[0][0])
t.ok(st == 200 and c["parents"] == [] and c["suppressed_by"] is None,
     "a check whose agent names the parent has no parents of its own", c)

# ---- refusals change nothing -----------------------------------------------------------
before = snapshot()
app01, app07 = agents[0][0], agents[6][0]
for path, body, code, why in [
        ("/api/v1/checks/%d" % other, {"parents": ["web01/nosuch"]}, 422, "an unknown check"),
        ("/api/v1/checks/%d" % other, {"parents": ["nosuch"]}, 422, "a name without agent/"),
        ("/api/v1/checks/%d" % other, {"parents": "web01/switch"}, 400, "not a list"),
        ("/api/v1/checks/%d" % other, {"parents": [7]}, 422, "a number in the list"),
        ("/api/v1/checks/%d" % switch, {"parents": ["web01/switch"]}, 422, "its own parent"),
        ("/api/v1/checks/%d" % switch, {"parents": ["app07/c0"]}, 422,
         "a cycle (app07/c0 depends on the switch)"),
        ("/api/v1/checks/%d" % switch, {"parents": ["app01/c1"]}, 422,
         "a cycle through an agent's parents"),
        ("/api/v1/agents/%d" % env.agent_id, {"parents": ["app02/c0"]}, 422,
         "an agent whose check the parent depends on (a cycle)"),
        ("/api/v1/agents/%d" % app01, {"parents": ["app01/c0"]}, 422,
         "an agent naming its own check"),
        ("/api/v1/agents/%d" % app07, {"parents": ["web01/nosuch"]}, 422,
         "an agent naming an unknown check")]:
    st, e, _ = api("PATCH", path, body)
    t.ok(st == code and e.get("field") == "parents", "refused: %s (%d)" % (why, code), (st, e))
st, e, _ = api("POST", "/api/v1/checks", {"agent_id": app07, "name": "new", "type": "load",
                                          "params": {"period": 1}, "parents": ["x/y"]})
t.ok(st == 422 and e.get("field") == "parents", "a new check with an unknown parent: 422",
     (st, e))
st, e, _ = api("POST", "/api/v1/agents", {"name": "app99", "parents": ["x/y"]})
t.ok(st == 422 and e.get("field") == "parents", "a new agent with an unknown parent: 422",
     (st, e))
t.eq(snapshot(), before, "the refusals changed no parents")
t.eq(sql("SELECT count(*) FROM checks WHERE name = 'new'") +
     sql("SELECT count(*) FROM agents WHERE name = 'app99'"), [["0"], ["0"]],
     "nor made a check or an agent")

# ---- the switch goes down: one notification, which counts its dependents -------------
wh = Webhooks()
hooks = wh.bodies
st, hc, _ = api("POST", "/api/v1/contacts", {"name": "hook", "webhook_url": wh.url})
t.eq(st, 201, "a webhook contact")


def mails(pred=lambda m: True):
    return [m for m in env.sink.messages() if pred(m)]


def subj(word, name):
    return lambda m: m["subject"].startswith("[custos] %s %s " % (word, name))


env.post(switch, 2, "switch unreachable")
t.ok(env.wait_mail(subj("PROBLEM", "web01/switch")), "the switch's PROBLEM is mailed",
     env.sink.subjects())
m = mails(subj("PROBLEM", "web01/switch"))[0]
body = env.sink.body(m)
t.ok("30 checks on 12 agents depend on it" in body,
     "its mail says \"30 checks on 12 agents depend on it\"", body)
t.ok(env.wait_push(lambda r: "30 checks on 12 agents depend on it"
                   in r["fields"].get("message", "")),
     "so does its Pushover message", [r["fields"] for r in env.po.accepted()])
h = wait_for(lambda: [x for x in hooks if x["check"] and x["check"]["name"] == "switch"])
t.ok(h and h[0]["dependents"] == {"checks": 30, "agents": 12},
     "the webhook's JSON has \"dependents\": {\"checks\": 30, \"agents\": 12}", h)
ev = env.events(check_id=switch, kind="PROBLEM")
t.ok(len(ev) == 1 and ev[0]["detail"].get("dependents") == {"checks": 30, "agents": 12},
     "the event's detail has dependents {checks: 30, agents: 12}", ev)

by_token = {}
for cid, tok, _ in children:
    by_token.setdefault(tok, []).append(cid)
for tok, ids in by_token.items():
    st, b, _ = env.post_results(tok, [{"check_id": i, "status": 2, "output": "no route"}
                                      for i in ids])
    t.ok(st == 201, "the children of one agent fail", (st, b))
ids = ",".join(str(c[0]) for c in children)
t.ok(wait_for(lambda: sql("SELECT count(*) FROM events WHERE kind = 'PROBLEM'"
                          " AND check_id IN (%s)" % ids) == [["30"]]),
     "30 PROBLEM events of the children are recorded")
t.eq(sql("SELECT count(*) FROM events WHERE kind = 'PROBLEM' AND check_id IN (%s)"
         " AND NOT notify AND route @> '[{\"decision\": \"suppressed\","
         " \"detail\": \"parent web01/switch is CRITICAL\"}]'" % ids), [["30"]],
     "all 30 with notify false and the routing record 'suppressed'"
     " ('parent web01/switch is CRITICAL')")
t.eq(sql("SELECT count(*) FROM notifications n JOIN events e ON e.id = n.event_id"
         " WHERE e.check_id IN (%s)" % ids), [["0"]], "no notification row for a child")
st, status, _ = api("GET", "/api/v1/status")
probs = {p["id"]: p for p in status.get("problems", [])}
t.ok(all(probs.get(c[0], {}).get("suppressed_by") == "web01/switch" for c in children),
     "/api/v1/status shows the 30 with suppressed_by web01/switch",
     [probs.get(c[0]) for c in children[:2]])
t.ok(probs.get(switch, {}).get("suppressed_by", "x") is None,
     "and the switch with suppressed_by null", probs.get(switch))
st, c, _ = api("GET", "/api/v1/checks/%d" % children[0][0])
t.eq(c.get("suppressed_by"), "web01/switch", "GET of a child: suppressed_by web01/switch")

# the dashboard (where Chromium is installed; the rest of the suite runs without it)
if os.path.exists("/usr/bin/chromium") and os.path.exists("/usr/bin/chromedriver"):
    from chromelib import Browser  # noqa: E402
    b = Browser(t, env, timeout=30, prefix="depends-")
    b.login(A)
    row = '#problems tr[data-check-id="%d"]' % children[0][0]
    b.wait_true(lambda: "SUPPRESSED by web01/switch" in b.text_of(row + " .marks"),
                "the overview marks a child \"SUPPRESSED by web01/switch\"")
    b.wait_true(lambda: b.text_of('#counts a[data-count="unacked"]').startswith("1"),
                "and counts only the switch as unhandled")
    b.drv.quit()
else:
    t.ok(True, "# SKIP the dashboard: no Chromium here")

# ---- 10 children recover while the switch is down: not notified --------------------
recovered = children[:10]
still = children[10:]
for tok in {c[1] for c in recovered}:
    env.post_results(tok, [{"check_id": c[0], "status": 0, "output": "ok"}
                           for c in recovered if c[1] == tok])
rids = ",".join(str(c[0]) for c in recovered)
t.ok(wait_for(lambda: sql("SELECT count(*) FROM events WHERE kind = 'RECOVERY'"
                          " AND check_id IN (%s) AND NOT notify" % rids) == [["10"]]),
     "their 10 RECOVERY events are recorded, suppressed too")

# ---- the switch recovers: the 20 still failing are told now ---------------------------
env.post(switch, 0, "switch back")
t.ok(env.wait_mail(subj("RECOVERY", "web01/switch")), "the switch's RECOVERY is mailed",
     env.sink.subjects())
sids = ",".join(str(c[0]) for c in still)


def told():
    return sql("SELECT n.channel, count(*) FROM notifications n JOIN events e"
               " ON e.id = n.event_id WHERE e.check_id IN (%s) AND e.kind = 'PROBLEM'"
               " AND n.contact_id = %d GROUP BY 1 ORDER BY 1" % (sids, ONCALL))


t.ok(wait_for(lambda: told() == [["email", "20"], ["pushover", "20"]]),
     "20 PROBLEM notifications per channel for the contact, one per child still failing",
     told())
t.eq(sql("SELECT count(*) FROM events WHERE kind = 'PROBLEM' AND check_id IN (%s)"
         " AND notify AND detail ->> 'reason' = 'parent web01/switch recovered; still failing'"
         " AND route @> '[{\"decision\": \"parent recovered\"}]'" % sids), [["20"]],
     "each a fresh PROBLEM event: 'parent web01/switch recovered; still failing'")
t.eq(sql("SELECT count(*) FROM events WHERE check_id IN (%s) AND notify" % rids), [["0"]],
     "the 10 that recovered meanwhile: nothing notified")
# the storm test reads the row alone: each was made marked as a parent's recovery's
t.eq(sql("SELECT n.parent_recovered, count(*) FROM notifications n JOIN events e"
         " ON e.id = n.event_id WHERE e.check_id IN (%s) AND n.contact_id = %d GROUP BY 1"
         % (sids, ONCALL)), [["t", "40"]],
     "the children's 40 rows are marked parent_recovered when they are made")
t.eq(sql("SELECT DISTINCT n.parent_recovered FROM notifications n JOIN events e"
         " ON e.id = n.event_id WHERE e.check_id = %d" % switch), [["f"]],
     "the switch's own rows are not")
digest = lambda m: m["subject"].startswith("[custos] 20 problems on ")  # noqa: E731
t.ok(env.wait_mail(digest), "the children's digest arrives", env.sink.subjects())
t.ok(len(mails(lambda m: m["subject"].startswith("[custos] PROBLEM app"))) == 0,
     "no child is mailed on its own: the 20 go as one digest", env.sink.subjects())
t.ok(len(mails(digest)) == 1, "one digest mail for the contact", env.sink.subjects())
m = mails(digest)[0]
body = env.sink.body(m)
t.ok(all(c[2] in body for c in still) and not any(c[2] + " " in body for c in recovered),
     "the digest lists the 20 children still failing, not the 10 recovered", body)
t.ok(env.settle(), "the outbox settles")
t.eq(sql("SELECT count(DISTINCT n.digest_id), count(*) FILTER (WHERE n.digest_id IS NULL)"
         " FROM notifications n JOIN events e ON e.id = n.event_id WHERE e.check_id IN (%s)"
         " AND e.kind = 'PROBLEM' AND n.contact_id = %d" % (sids, ONCALL)), [["2", "0"]],
     "every child's row went in a digest: one on email, one on pushover")
h = [x for x in hooks if x.get("kind") == "DIGEST"]
t.ok(len(h) == 1 and len(h[0]["members"]) == 20,
     "the webhook has one DIGEST with the 20 members", [len(x.get("members", [])) for x in h])
# the jobs (untold, renotify) leave the suppressed ones alone: no PROBLEM beyond these two
t.eq(sql("SELECT count(*) FROM events WHERE kind = 'PROBLEM' AND check_id IN (%s)" % sids),
     [["40"]], "each child still failing has two PROBLEM events: suppressed, then told")
st, c, _ = api("GET", "/api/v1/checks/%d" % still[0][0])
t.eq(c.get("suppressed_by"), None, "the parent is fine: suppressed_by null again")

# ---- the CLI ---------------------------------------------------------------------------
CLI = os.path.join(BUILDDIR, "custos")
cenv = dict(os.environ, CUSTOS_URL="http://127.0.0.1:%d" % S.port, CUSTOS_TOKEN=A)


def cli(*args):
    return subprocess.run([CLI] + list(args), capture_output=True, text=True, env=cenv)


r = cli("checks", "edit", "web01/uplink", "--parents", "app07/c0,app08/c1")
st, c, _ = api("GET", "/api/v1/checks/%d" % other)
t.ok(r.returncode == 0 and c["parents"] == ["app07/c0", "app08/c1"],
     "custos checks edit --parents app07/c0,app08/c1", (r.stdout, r.stderr, c))
r = cli("checks", "edit", "web01/switch", "--parents", "web01/uplink")
t.ok(r.returncode != 0 and "cycle" in r.stderr, "the CLI shows the cycle refusal",
     (r.returncode, r.stderr))
app09 = agents[8][0]
r = cli("agents", "edit", "app07", "--parents", "web01/uplink")
t.ok(r.returncode != 0 and "cycle" in r.stderr,
     "app07 under web01/uplink, which depends on app07/c0: refused (a cycle)", r.stderr)
r = cli("agents", "edit", "app09", "--parents", "web01/uplink")
st, a, _ = api("GET", "/api/v1/agents/%d" % app09)
t.ok(r.returncode == 0 and a["parents"] == ["web01/uplink"],
     "custos agents edit --parents web01/uplink", (r.stdout, r.stderr, a))
r = cli("agents", "edit", "app09", "--parents", "")
st, a, _ = api("GET", "/api/v1/agents/%d" % app09)
t.ok(r.returncode == 0 and a["parents"] == [], "--parents '' clears them", (r.stderr, a))

# ---- apply and export ------------------------------------------------------------------
r = cli("export")
t.ok(r.returncode == 0 and "web01/switch" in r.stdout, "export names parents", r.stderr)
exported = r.stdout
before = snapshot()
with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as f:
    f.write(exported)
r = cli("apply", "-f", f.name)
t.ok(r.returncode == 0, "apply of the export", (r.stdout, r.stderr))
t.eq(snapshot(), before, "export -> apply changed no parents")
r2 = cli("export")
t.eq(r2.stdout, exported, "and a second export is the same text")
doc = exported.replace("parents: [web01/switch]", "parents: []", 1)
t.ok(doc != exported, "the export has an agent's parents: [web01/switch]", exported[:2000])
with open(f.name, "w") as g:
    g.write(doc.replace("parents: [web01/switch]", "parents: [web01/nosuch]", 1))
r = cli("apply", "-f", f.name)
t.ok(r.returncode != 0 and "web01/nosuch" in (r.stdout + r.stderr),
     "apply with an unknown parent is refused", (r.stdout, r.stderr))
t.eq(snapshot(), before, "and changes nothing")
NEW = """kind: agent
name: db01
parents: [db01sw/port]
---
kind: agent
name: db01sw
---
kind: check
agent: db01sw
name: port
type: load
params: {period: 1}
---
kind: check
agent: db01
name: disk
type: load
params: {period: 1}
"""
with open(f.name, "w") as g:
    g.write(NEW)
r = cli("apply", "-f", f.name)
st, ag, _ = api("GET", "/api/v1/agents?search=db01")
db01 = [a for a in ag.get("items", []) if a["name"] == "db01"]
t.ok(r.returncode == 0 and db01 and db01[0]["parents"] == ["db01sw/port"],
     "apply makes an agent whose parent is a check the same set makes",
     (r.stdout, r.stderr, db01))
before = snapshot()
with open(f.name, "w") as g:
    g.write(NEW.replace("name: port\n", "name: port\nparents: [db01/disk]\n"))
r = cli("apply", "-f", f.name)
t.ok(r.returncode != 0 and "cycle" in r.stderr, "apply of a cycle is refused",
     (r.stdout, r.stderr))
t.eq(snapshot(), before, "and changes nothing")
os.unlink(f.name)

# ---- one digest per person and channel, however long a sender stalls -----------------
# What a parent's recovery makes for one person on one channel is claimed through its first
# row only, and that row's sender takes the whole group into one digest in one statement.
# The test holds a sibling's row lock from its own session while 3 webhook senders run:
# the first row's sender waits for it, the others claim no sibling alone (they send the
# parent's RECOVERY meanwhile); released, the group goes as one digest. (Each sender used
# to claim a row of its own, gathered for 2 s before the digest was due: a sibling held
# longer than that made a second digest, "2 problems" then "1 problem".)
# a person of their own (no storm of the rest of this suite in their window), by email and
# webhook, the only contact of these checks
st, dc, _ = api("POST", "/api/v1/contacts", {
    "name": "dig", "email": "dig@example.test",
    "webhook_url": "http://127.0.0.1:%d/dig" % wh.srv.server_address[1]})
t.eq(st, 201, "a contact of its own, by email and webhook")
DIG = dc["id"]
core = env.check("core", contacts=[DIG])
kids = [env.check("k%d" % i, parents=["web01/core"], contacts=[DIG]) for i in range(3)]
kid_names = {"k%d" % i for i in range(3)}
env.post(core, 2, "core down")
t.ok(wait_for(lambda: sql("SELECT count(*) FROM events WHERE kind = 'PROBLEM' AND notify"
                          " AND check_id = %d" % core) == [["1"]]), "core fails")
for k in kids:
    env.post(k, 2, "no route")
kids_sql = ",".join(str(k) for k in kids)
t.ok(wait_for(lambda: sql("SELECT count(*) FROM events WHERE kind = 'PROBLEM' AND NOT notify"
                          " AND check_id IN (%s)" % kids_sql) == [["3"]]),
     "its 3 children fail, suppressed")
t.ok(env.settle(), "the outbox settles")
# the webhook's senders wait (a pause, as a provider's) until the test holds its lock
sql("INSERT INTO channel_pauses (channel, until, reason) VALUES ('webhook',"
    " now() + interval '1 hour', 'the test holds the senders')")
env.post(core, 0, "core back")


def hook_rows():
    return [int(r[0]) for r in sql(
        "SELECT n.id FROM notifications n JOIN events e ON e.id = n.event_id"
        " WHERE e.check_id IN (%s) AND e.kind = 'PROBLEM' AND n.contact_id = %d"
        " AND n.channel = 'webhook' ORDER BY n.id" % (kids_sql, DIG))]


t.ok(wait_for(lambda: len(hook_rows()) == 3), "core recovers: 3 webhook rows, one per child",
     hook_rows())
rows = hook_rows()
rows_sql = ",".join(str(r) for r in rows)
holder = env.cluster.session()
holder.stdin.write("SELECT pg_backend_pid();\nBEGIN;\n"
                   "SELECT id FROM notifications WHERE id = %d FOR UPDATE;\n" % rows[-1])
holder.stdin.flush()
holder_pid = int(holder.stdout.readline())
t.eq(int(holder.stdout.readline()), rows[-1], "the test holds the last sibling's row lock")
sql("DELETE FROM channel_pauses WHERE channel = 'webhook'; NOTIFY custos_outbox")


def blocked():
    return sql("SELECT count(*) FROM pg_stat_activity WHERE %d = ANY (pg_blocking_pids(pid))"
               % holder_pid) != [["0"]]


def core_recovery():
    return [x for x in hooks if x.get("check") and x["check"]["name"] == "core"
            and x["event"]["kind"] == "RECOVERY"]


def kid_digests():
    return [x for x in hooks if x.get("kind") == "DIGEST"
            and {m["check"] for m in x["members"]} & kid_names]


# the new rule shows as a sender waiting for the test; the old one as a digest sent
t.ok(wait_for(lambda: (blocked() and core_recovery()) or kid_digests(), 15),
     "woken, the webhook's senders go on")
t.ok(blocked(), "the first row's sender waits for the sibling the test holds")
t.ok(core_recovery(), "the other senders went on: core's RECOVERY went out meanwhile",
     [x.get("title") for x in hooks])
t.eq(sql("SELECT status, attempts, digest_id IS NULL FROM notifications WHERE id IN (%s)"
         " ORDER BY id" % rows_sql)[1:], [["pending", "0", "t"], ["pending", "0", "t"]],
     "no sender claimed a sibling alone meanwhile")
t.eq(kid_digests(), [], "no digest went out without the held sibling")
holder.stdin.write("ROLLBACK;\n\\q\n")
holder.stdin.flush()
holder.wait(10)
t.ok(wait_for(kid_digests), "released: the children's digest is sent")
t.ok(env.settle(15), "the outbox settles")
d = kid_digests()
t.ok(len(d) == 1 and sorted(m["notification_id"] for m in d[0]["members"]) == rows,
     "exactly one digest on the webhook, with the 3 children",
     [(x.get("title"), [m["notification_id"] for m in x["members"]]) for x in d])
did = d[0]["digest_id"] if d else 0
t.eq(sql("SELECT count(*) FROM notifications WHERE id IN (%s) AND digest_id = %d"
         " AND route @> '[{\"decision\": \"digest\", \"detail\": \"merged into digest %d\"}]'"
         % (rows_sql, did, did)), [["3"]],
     "each child's row is in that digest, and its routing record says so")

def dig_mails():
    return [m["subject"] for m in mails(lambda m: "dig@example.test" in json.dumps(m))]


t.ok(wait_for(lambda: "[custos] 3 problems on 1 agent" in dig_mails()), "one digest mail")
t.eq(sorted(x for x in dig_mails() if "web01/k" in x or "problem" in x),
     ["[custos] 3 problems on 1 agent"], "only that one for the children by email (the email"
     " senders were not held)")

wh.stop()
t.eq(env.sanitizer_reports(), [], "no sanitizer report")
t.done()
