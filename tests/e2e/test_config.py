"""test_config.py - monitoring as code against a real serverd:
POST /api/v1/config (dry run, apply in one transaction, prune of what apply
made only, ?expect= and 409, its own body cap), GET /api/v1/config, the
configuration version (bumped by apply and the ordinary routes, not by an
agent's checkout), and custos apply / diff / export: a fixture of more than
200 objects of every kind exported and applied back as all "unchanged", a
file with one bad value (nothing applied, file:line:column named), YAML
syntax errors (nothing sent), exit statuses and --json."""
import json
import os
import socket
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import BUILDDIR, Env, Tap  # noqa: E402

t = Tap()
env = Env()
A = env.admin
api = env.api
CLI = os.path.join(BUILDDIR, "custos")
URL = "http://127.0.0.1:%d" % env.server.port
HOME = os.path.join(env.tmp, "home")
os.makedirs(HOME)
N = 200                          # objects of each kind in the fixture


def run(*args, token=A):
    e = {"HOME": HOME, "PATH": os.environ.get("PATH", "/usr/bin:/bin"), "CUSTOS_URL": URL,
         "CUSTOS_TOKEN": token}
    for k in ("ASAN_OPTIONS", "UBSAN_OPTIONS"):
        if k in os.environ:
            e[k] = os.environ[k]
    p = subprocess.run([CLI] + list(args), capture_output=True, text=True, env=e, timeout=600)
    return p.returncode, p.stdout, p.stderr


def version():
    return int(env.cluster.psql("SELECT version FROM config_version")[0][0])


def counts():
    return env.cluster.psql(
        "SELECT (SELECT count(*) FROM agents), (SELECT count(*) FROM checks),"
        " (SELECT count(*) FROM contacts), (SELECT count(*) FROM downtimes)")[0]


def write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)


def jrun(*args):
    rc, out, err = run("--json", *args)
    try:
        return rc, json.loads(out), err
    except ValueError:
        return rc, None, err + out


# ---- the fixture: > 200 objects of every kind, written as YAML ---------------
cfg = os.path.join(env.tmp, "cfg")
contacts = []
for i in range(N // 2):
    contacts.append("---\nkind: contact\nname: c%03d\nemail: c%03d@example.com\n"
                    "notify_on: [critical, recovery]\n" % (i, i))
    contacts.append("---\nkind: user\nname: u%03d\nrole: %s\ntz: Europe/Paris\n"
                    "pushover_user: %s\n" % (i, ["viewer", "operator", "admin"][i % 3],
                                             ("u%03d" % i).ljust(30, "x")))
write(os.path.join(cfg, "people", "contacts.yaml"), "".join(contacts))
agents = []
for i in range(N):
    agents.append("- kind: agent\n  name: a%03d\n  interval_s: %d\n  labels: {role: web, n: %d}\n"
                  "  contacts: [c%03d, u%03d]\n" % (i, 30 + i % 5, i, i % 100, (i + 1) % 100))
write(os.path.join(cfg, "agents.yaml"), "".join(agents))
checks = []
for i in range(N):
    checks.append("---\nkind: check\nagent: a%03d\nname: load\ntype: load\nparams: {period: 5}\n"
                  "warning: 4\ncritical: \"8\"\nlabels:\n  tier: 1\n" % i)
    checks.append("---\nkind: check\nname: a%03d/nginx\ntype: process\n"
                  "params:\n  name: nginx\nmax_attempts: 2\nenabled: %s\ncontacts: []\n"
                  % (i, "false" if i % 7 == 0 else "true"))
    if i % 4 == 0:
        checks.append("---\nkind: heartbeat\nagent: a%03d\nname: backup\n"
                      "params: {schedule: \"0 3 * * *\", grace_s: 600}\n" % i)
# templates: one an agent (selector n=I, its label), two checks each
# (contacts by name, thresholds, labels): their checks are not exported
# as checks, they are the template's
templates = []
for i in range(N):
    templates.append("---\nkind: template\nname: tpl-%03d\nselector: n=%d,role=web\nchecks:\n"
                     "  - name: t-load\n    type: load\n    warning: 3\n    labels: {k: 1}\n"
                     "  - name: t-disk\n    type: disk\n    params: {path: /}\n"
                     "    contacts: [c%03d]\n    enabled: %s\n"
                     % (i, i, i % 100, "false" if i % 3 == 0 else "true"))
write(os.path.join(cfg, "templates.yaml"), "".join(templates))
write(os.path.join(cfg, "checks", "a.yaml"), "".join(checks[:N]))
write(os.path.join(cfg, "checks", "b.yaml"), "".join(checks[N:]))
downtimes = []
for i in range(N):
    target = "agent: a%03d" % i if i % 2 else "check: a%03d/load" % i
    downtimes.append("---\nkind: downtime\nname: window-%03d\n%s\nstart: 2030-01-0%dT02:00:00Z\n"
                     "end: 2030-01-0%dT04:00:00+01:00\ncomment: %s\n"
                     % (i, target, 1 + i % 5, 1 + i % 5, "x" * 4000))
# recurring downtimes: a kind downtime with "recurring" (and tz)
for i in range(N):
    target = "agent: a%03d" % i if i % 2 else "check: a%03d/nginx" % i
    downtimes.append("---\nkind: downtime\nname: weekly-%03d\n%s\nrecurring: %s\n%s"
                     "comment: patch night %d\n"
                     % (i, target, ["sun 02:00-04:00", "mon-fri 22:00-23:00", "daily 03:00-03:30"][i % 3],
                        "tz: Europe/Paris\n" if i % 2 else "", i))
write(os.path.join(cfg, "downtimes.json.yaml"), "".join(downtimes))
write(os.path.join(cfg, "README.txt"), "not read: not .yaml, .yml or .json\n")
write(os.path.join(cfg, ".hidden.yaml"), "kind: nonsense\n")

# objects made by hand (never pruned)
hand_agent, hand_tok = env.make_agent("hand-agent")
hand_check = env.make_check(hand_agent, "hand-check")
st, hc, _ = api("POST", "/api/v1/contacts", A, {"name": "hand-contact", "email": "h@example.com"})
hand_contact = hc["id"]
st, _, _ = api("POST", "/api/v1/downtimes", A, {"agent_id": hand_agent, "end": "2031-01-01T00:00:00Z"})
t.eq(st, 201, "a downtime by hand (no name)")

# ---- diff, then apply -------------------------------------------------------
v0 = version()
before = counts()
rc, plan, err = jrun("diff", "-f", cfg)
total = 7 * N + N // 4
t.ok(rc == 0 and plan and plan["counts"] == {"create": total, "update": 0, "delete": 0,
                                              "unchanged": 0} and plan["dry_run"] is True,
     "diff: every object of the fixture to create (%d)" % total, (rc, err, plan and plan["counts"]))
t.eq((counts(), version()), (before, v0), "diff changed nothing")
rc, out, err = run("apply", "-f", cfg)
t.ok(rc == 0 and "+ agent a000" in out and "+ heartbeat a000/backup" in out and
     "%d to create" % total in out and "(applied)" in out, "apply: exit 0, the plan as + lines", (rc, out[-500:], err))
t.ok("\033[" not in out, "no colour when stdout is not a terminal")
t.eq(env.cluster.psql("SELECT count(*) FROM agents WHERE managed"), [[str(N)]], "agents made, managed")
t.eq(env.cluster.psql("SELECT count(*) FROM heartbeats"), [[str(N // 4)]],
     "a heartbeat row for every heartbeat check")
t.eq(env.cluster.psql("SELECT labels::text, interval_s FROM agents WHERE name = 'a003'"),
     [['{"n": "3", "role": "web"}', "33"]], "a label written as a number is text")
t.eq(env.cluster.psql("SELECT warning, critical, c.labels::text FROM checks c JOIN agents a ON"
                      " a.id = c.agent_id WHERE a.name = 'a001' AND c.name = 'load'"),
     [["4", "8", '{"tier": "1"}']], "warning: 4 is the range \"4\"")
t.eq(env.cluster.psql("SELECT role, tz FROM contacts WHERE name = 'u002'"),
     [["admin", "Europe/Paris"]], "users with role and zone")
t.eq(env.cluster.psql("SELECT rfc3339(end_at), created_by IS NOT NULL FROM downtimes WHERE name = 'window-001'"),
     [["2030-01-02T03:00:00Z", "t"]], "a downtime's end with an offset, and who made it")
t.eq(env.cluster.psql("SELECT count(*), count(*) FILTER (WHERE c.contacts IS NOT NULL)"
                      " FROM checks c WHERE template IS NOT NULL"), [[str(2 * N), str(N)]],
     "every template made its two checks on its agent (in the same transaction)")
t.eq(env.cluster.psql("SELECT c.warning, c.labels::text FROM checks c JOIN agents a ON"
                      " a.id = c.agent_id WHERE a.name = 'a007' AND c.template = 'tpl-007'"
                      " AND c.name = 't-load'"), [["3", '{"k": "1"}']],
     "a template check's warning and labels written as numbers are text")
t.eq(env.cluster.psql("SELECT r.recurring, r.tz, r.managed, count(o.id) > 0 FROM downtime_recurring r"
                      " LEFT JOIN downtimes o ON o.recurring_id = r.id WHERE r.name = 'weekly-002'"
                      " GROUP BY r.id"), [["daily 03:00-03:30", "UTC", "t", "t"]],
     "a recurring downtime made, managed, its occurrences planned")
v1 = version()
t.ok(v1 == v0 + 1, "one apply: the version moved by one", (v0, v1))
t.eq(env.cluster.psql("SELECT changed_by FROM config_version"), [["admin"]],
     "the version records who applied")
st, a, _ = api("GET", "/api/v1/agents?selector=role=web&limit=1", A)
t.ok(st == 200 and a["items"][0]["managed"] is True, "an agent's object says managed")

rc, out, err = jrun("agents", "token", "a002")
st, _, _ = api("GET", "/api/v1/agent/self", out["token"] if out else "x")
t.ok(rc == 0 and st == 200, "agents token: an agent made by apply gets a token that works", (rc, err))
rc, out, err = run("agents", "token", "a002")
t.ok(rc == 0 and "token_file = " in out and "echo " in out, "agents token prints the agentd.conf lines", out)

# ---- the round trip: export, apply back: all unchanged ----------------------------
exp = os.path.join(env.tmp, "export")
rc, out, err = run("export", "--dir", exp)
t.ok(rc == 0 and sorted(os.listdir(exp)) == ["agents.yaml", "checks.yaml", "contacts.yaml",
                                               "downtimes.yaml", "policies.yaml",
                                               "templates.yaml"], "export --dir: a file per kind", (rc, err))
t.eq(oct(os.stat(os.path.join(exp, "contacts.yaml")).st_mode & 0o777), "0o600",
     "exported files are the owner's only (they hold webhook URLs and keys)")
rc, plan, err = jrun("apply", "-f", exp)
allc = plan and plan["counts"]
t.ok(rc == 0 and allc == {"create": 0, "update": 0, "delete": 0,
                          "unchanged": total + 3},
     "export -> apply: every object unchanged (%d, hand-made ones too)" % (total + 3), (rc, err, allc))
t.ok(plan and all(c["action"] == "unchanged" for c in plan["changes"]),
     "and each change entry says unchanged")
t.eq(version(), v1, "an apply with nothing to do leaves the version")
rc, out, err = run("export")
t.ok(rc == 0 and "kind: agent" in out and "name: a199" in out and "name: hand-check" in out,
     "export without --dir: YAML on stdout", err)
with open(os.path.join(env.tmp, "all.yaml"), "w") as f:
    f.write(out)
rc, plan, err = jrun("diff", "-f", os.path.join(env.tmp, "all.yaml"))
t.ok(rc == 0 and plan["counts"]["unchanged"] == total + 3 and plan["counts"]["update"] == 0,
     "stdout's export diffs as unchanged too", (rc, err))
t.eq(open(os.path.join(exp, "downtimes.yaml")).read().count("kind: downtime"), 2 * N,
     "downtimes made by hand (no name) are not exported")

# ---- an update, shown before and after ------------------------------------------
with open(os.path.join(cfg, "agents.yaml")) as f:
    text = f.read()
write(os.path.join(cfg, "agents.yaml"), text.replace("name: a005\n  interval_s: 30", "name: a005\n  interval_s: 90"))
rc, out, err = run("diff", "-f", cfg)
t.ok(rc == 0 and "~ agent a005\n    interval_s: 30 -> 90" in out and "1 to update" in out,
     "diff: ~ with the field before -> after", (rc, out[-400:], err))
rc, out, err = run("apply", "-f", cfg, "--dry-run")
t.ok(rc == 0 and "dry run" in out, "apply --dry-run is diff")
t.eq(env.cluster.psql("SELECT interval_s FROM agents WHERE name = 'a005'"), [["30"]],
     "nothing changed by a dry run")

# ---- one bad value: nothing applied, file:line:column --------------------------
bad = os.path.join(env.tmp, "bad")
write(os.path.join(bad, "agents.yaml"), "kind: agent\nname: web01\n")
write(os.path.join(bad, "checks.yaml"),
      "kind: check\nagent: web01\nname: disk\ntype: load\n---\n"
      "kind: check\nagent: web01\n"
      "name: nginx\ntype: load\nparams:\n  period: 1\n"
      "warning: \"90%\"\n")
c0, vb = counts(), version()
rc, out, err = run("apply", "-f", bad)
t.ok(rc == 1 and "checks.yaml:12:10: check \"web01/nginx\": warning \"90%\" is not a Nagios range" in err
     and "nothing was applied" in err, "a bad value: exit 1, file:line:column and the field", (rc, err))
t.eq((counts(), version()), (c0, vb), "nothing of the set was applied (its good objects neither)")
write(os.path.join(bad, "checks.yaml"), "kind: check\nagent: web01\nname: x\ntype: nosuch\n")
rc, out, err = run("apply", "-f", bad)
t.ok(rc == 1 and "checks.yaml:4:7:" in err and "nosuch" in err, "an unknown type names its line", err)
write(os.path.join(bad, "checks.yaml"), "kind: check\nagent: nowhere\nname: x\ntype: load\n")
rc, out, err = run("apply", "-f", bad)
t.ok(rc == 1 and "checks.yaml:2:8:" in err and "agent \"nowhere\" is neither in the set" in err,
     "a check of an unknown agent names the agent's line", err)
write(os.path.join(bad, "checks.yaml"), "kind: check\nagent: web01\nname: x\ntype: load\nparams: {period: 1}\nbogus: 1\n")
rc, out, err = run("apply", "-f", bad)
t.ok(rc == 1 and "checks.yaml:6:8:" in err and "bogus" in err, "an unknown field", err)
write(os.path.join(bad, "checks.yaml"), "kind: check\nagent: web01\nname: x\n  type: load\n")
rc, out, err = run("apply", "-f", bad)
t.ok(rc == 1 and "checks.yaml:4:7: YAML: mapping values are not allowed" in err and
     "nothing was sent" in err,
     "a YAML syntax error: exit 1, its line, nothing sent", err)
write(os.path.join(bad, "checks.yaml"), "kind: check\nname: a\nname: b\n")
rc, out, err = run("apply", "-f", bad)
t.ok(rc == 1 and "checks.yaml:3:1: duplicate key \"name\"" in err, "a duplicate key", err)
write(os.path.join(bad, "checks.yaml"), "kind: agent\nname: dup\n---\nkind: agent\nname: dup\n")
rc, out, err = run("apply", "-f", bad)
t.ok(rc == 1 and "named twice" in err, "an object named twice", err)
t.eq((counts(), version()), (c0, vb), "no bad set changed anything")
st, b, _ = api("POST", "/api/v1/config", A, {"objects": [{"kind": "check", "agent": "a001",
                                                          "name": "load", "type": "load",
                                                          "warning": "90%"}]})
t.ok(st == 422 and b["index"] == 0 and b["field"] == "warning" and b["kind"] == "check" and
     len(b["errors"]) == 1, "the API's error: index, kind, name, field", b)
st, b, _ = api("POST", "/api/v1/config", A, {"objects": [{"kind": "frob", "name": "x"},
                                                          {"name": "y"}, 5]})
t.ok(st == 422 and len(b["errors"]) == 3, "every error answered at once", b)

# ---- optimistic locking ------------------------------------------------------
rc, plan, err = jrun("diff", "-f", cfg)
seen = plan["version"]
st, _, _ = api("PATCH", "/api/v1/agents/%d" % hand_agent, A, {"interval_s": 45})
t.ok(version() == seen + 1, "an ordinary PATCH bumps the version")
rc, out, err = run("apply", "-f", cfg, "--expect", str(seen))
t.ok(rc == 1 and "409" in err and "changed since the plan" in err,
     "apply --expect a stale version: 409, exit 1", (rc, err))
t.eq(env.cluster.psql("SELECT interval_s FROM agents WHERE name = 'a005'"), [["30"]],
     "nothing applied on 409")
st, b, _ = api("POST", "/api/v1/config?expect=%d" % seen, A, {"objects": []})
t.eq(st, 409, "POST ?expect=stale -> 409")
rc, out, err = run("apply", "-f", cfg, "--expect", str(version()))
t.ok(rc == 0 and "1 to update" in out, "apply --expect the current version applies", (rc, err))
vn = version()
st, _, _ = api("PUT", "/api/v1/agent/self/checkout", hand_tok,
               {"facts": {"os": "debian"}, "labels": {"site": "par"}})
t.ok(st == 200 and version() == vn, "an agent's checkout (facts, its own labels) bumps nothing",
     (st, version(), vn))
st, _, _ = api("DELETE", "/api/v1/checks/%d" % hand_check, A)
t.ok(version() == vn + 1, "an ordinary DELETE bumps it")
hand_check = env.make_check(hand_agent, "hand-check")
t.ok(version() == vn + 2, "and an ordinary POST")

# ---- prune: what apply made and the set no longer names, never a hand-made object ---
small = os.path.join(env.tmp, "small")
write(os.path.join(small, "all.yaml"),
      "kind: contact\nname: c000\nemail: c000@example.com\nnotify_on: [critical, recovery]\n---\n"
      "kind: agent\nname: a000\ninterval_s: 30\nlabels: {role: web, n: 0}\ncontacts: [c000]\n")
rc, plan, err = jrun("diff", "-f", small)
t.ok(rc == 0 and plan["counts"]["delete"] == 0, "without --prune nothing is deleted", err)
env.make_check(int(env.cluster.psql("SELECT id FROM agents WHERE name = 'a001'")[0][0]), "by-hand")
rc, out, err = run("apply", "-f", small, "--prune")
t.ok(rc == 1 and "agent \"a001\": pruning it would delete check \"a001/by-hand\", which was made by hand"
     in err, "pruning an agent with a hand-made check is refused", (rc, err))
t.eq(env.cluster.psql("SELECT count(*) FROM agents WHERE managed"), [[str(N)]], "nothing pruned then")
st, _, _ = api("DELETE", "/api/v1/checks/%s" % env.cluster.psql(
    "SELECT c.id FROM checks c JOIN agents a ON a.id = c.agent_id WHERE a.name = 'a001'"
    " AND c.name = 'by-hand'")[0][0], A)
rc, plan, err = jrun("apply", "-f", small, "--prune")
pc = plan and plan["counts"]
t.ok(rc == 0 and pc["delete"] == total - 2 and pc["update"] == 1,
     "apply --prune deletes the rest of what apply made (a000 updated)", (rc, err, pc))
t.eq(env.cluster.psql("SELECT name FROM agents ORDER BY name"), [["a000"], ["hand-agent"]],
     "the hand-made agent is kept")
t.eq(env.cluster.psql("SELECT a.name, c.name FROM checks c JOIN agents a ON a.id = c.agent_id"
                      " WHERE NOT c.managed"), [["hand-agent", "hand-check"]],
     "the hand-made check is kept")
t.eq(env.cluster.psql("SELECT name FROM contacts WHERE NOT managed ORDER BY name"),
     [["hand-contact"]], "the hand-made contact is kept")
t.eq(env.cluster.psql("SELECT count(*) FROM downtimes WHERE name IS NULL"), [["1"]],
     "the hand-made downtime is kept")
t.eq(env.cluster.psql("SELECT count(*) FROM contacts"), [["2"]], "managed contacts pruned")
t.eq(env.cluster.psql("SELECT count(*) FROM downtimes WHERE managed"), [["0"]],
     "managed downtimes pruned")
t.eq(env.cluster.psql("SELECT contacts::text FROM agents WHERE name = 'a000'"),
     [["{%s}" % env.cluster.psql("SELECT id FROM contacts WHERE name = 'c000'")[0][0]]],
     "a kept agent's contacts are still right")
rc, plan, err = jrun("apply", "-f", small, "--prune")
t.ok(rc == 0 and plan["counts"] == {"create": 0, "update": 0, "delete": 0, "unchanged": 2},
     "prune again: nothing to do (the hand-made objects are not even listed)", plan)

# ---- the route's own body cap, roles, usage -------------------------------------
big = {"objects": [{"kind": "agent", "name": "big%05d" % i, "labels": {"pad": "p" * 200}}
                   for i in range(6000)]}
st, b, _ = api("POST", "/api/v1/config?dry_run=1", A, big)
t.ok(st == 200 and b["counts"]["create"] == 6000,
     "a body over max_body_bytes (1 MiB) is taken by /api/v1/config", (st, b if st != 200 else ""))
with socket.create_connection(("127.0.0.1", env.server.port), timeout=30) as sk:
    # the length alone is refused, unread
    sk.sendall(("POST /api/v1/agents HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"
                "Content-Type: application/json\r\nContent-Length: %d\r\n\r\n"
                % (A, len(json.dumps(big)))).encode())
    resp = sk.recv(4096)
t.ok(resp.startswith(b"HTTP/1.1 413") and b"max_body_bytes" in resp,
     "the other routes keep max_body_bytes", resp[:200])
st, v, _ = api("POST", "/api/v1/tokens", A, {"name": "ops", "role": "operator"})
st, b, _ = api("POST", "/api/v1/config?dry_run=1", v["token"], {"objects": []})
t.eq(st, 403, "an operator may not use /api/v1/config (admin only)")
st, b, _ = api("GET", "/api/v1/config", v["token"])
t.eq(st, 403, "nor read it (it holds secrets)")
st, b, _ = api("POST", "/api/v1/config?prune=maybe", A, {"objects": []})
t.eq((st, b.get("field")), (400, "prune"), "a bad flag: 400")
for args, why in [(("apply",), "apply without files"), (("diff",), "diff without files"),
                  (("export", "--prune"), "export --prune"),
                  (("apply", "-f", small, "--dir", "x"), "apply --dir"),
                  (("apply", "-f", small, "--expect", "soon"), "a bad --expect")]:
    rc, out, err = run(*args)
    t.ok(rc == 2 and "usage:" in err, "%s: exit 2" % why, (rc, err))
rc, out, err = run("apply", "-f", os.path.join(env.tmp, "nowhere.yaml"))
t.ok(rc == 1 and "nowhere.yaml" in err, "a missing file: exit 1", err)
rc, plan, err = jrun("apply", small, "--prune")
t.ok(rc == 0 and plan["counts"]["unchanged"] == 2, "paths as plain words work too", err)

t.done()
