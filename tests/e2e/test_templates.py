"""test_templates.py - templates (/api/v1/templates): checks for every agent
a selector picks, by labels and by the facts the agent reports. A new agent
with matching labels, and one with a matching fact, get the template's
checks in their FIRST download (POST /api/v1/agent/self/checks with labels
and facts; the old GET keeps working); a template change is one transaction
(a reader never sees half of it); an agent that stops matching loses the
checks; an override (PATCH on the check) survives a template update and can
be reset; a template's check cannot be deleted alone; deleting the template
removes its checks; bad input changes nothing; apply/export round trip with
kind template and weekly downtimes; ?agent=NAME on the lists; the CLI
verbs (exit codes, --json)."""
import json
import os
import re
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import AGENTD, BUILDDIR, Env, Tap, wait_for  # noqa: E402

t = Tap()
env = Env()
A = env.admin
api = env.api
psql = env.cluster.psql
V = api("POST", "/api/v1/tokens", A, {"name": "viewer", "role": "viewer"})[1]["token"]

st, _, _ = api("POST", "/api/v1/contacts", A, {"name": "ops", "email": "ops@example.org"})
t.eq(st, 201, "contact ops")

WEB = {"name": "web", "selector": "role=web",
       "checks": [{"name": "nginx", "type": "process", "params": {"name": "nginx"}},
                  {"name": "disk-root", "type": "disk", "params": {"path": "/"},
                   "warning": "80", "critical": "90", "contacts": ["ops"]}]}
DEB = {"name": "debian-base", "selector": "fact.os=debian",
       "checks": [{"name": "apt", "type": "load", "warning": "5"}]}


def agent_checks(aid):
    st, b, _ = api("GET", "/api/v1/checks?agent_id=%d&limit=1000" % aid, A)
    return sorted((c["name"], c.get("template")) for c in b["items"])


def download(tok, body=None, method="POST", etag=None):
    h = {"If-None-Match": etag} if etag else None
    st, b, hd = env.server.request(method, "/api/v1/agent/self/checks", tok, body, headers=h)
    return st, b, hd


# ---- bad input: nothing stored ------------------------------------------------------
bad = [
    ({"name": "x y", "selector": "a=b", "checks": []}, 422, "name"),
    ({"name": "x", "selector": "a==", "checks": []}, 400, "selector"),
    ({"name": "x", "selector": "a=b"}, 422, "checks"),
    ({"name": "x", "selector": "a=b", "checks": {}}, 400, "checks"),
    ({"name": "x", "selector": "a=b", "checks": [{"name": "c", "type": "nope"}]}, 422, None),
    ({"name": "x", "selector": "a=b", "checks": [{"name": "c", "type": "load",
                                                   "warning": "9x"}]}, 422, "checks[0].warning"),
    ({"name": "x", "selector": "a=b", "checks": [{"name": "c", "type": "load"},
                                                  {"name": "c", "type": "load"}]}, 422, "checks"),
    ({"name": "x", "selector": "a=b", "checks": [{"name": "c", "type": "heartbeat"}]}, 422,
     "checks[0].type"),
    ({"name": "x", "selector": "a=b", "checks": [{"name": "c", "type": "load",
                                                   "contacts": ["nobody"]}]}, 422, None),
    ({"name": "x", "selector": "a=b", "checks": [], "extra": 1}, 422, "extra"),
]
for body, status, field in bad:
    st, b, _ = api("POST", "/api/v1/templates", A, body)
    t.ok(st == status and (field is None or b.get("field") == field),
         "POST template %s -> %d %s" % (json.dumps(body)[:60], status, field or ""), (st, b))
st, b, _ = api("POST", "/api/v1/templates", V, WEB)
t.eq(st, 403, "a viewer may not create a template")
t.eq(psql("SELECT count(*) FROM templates"), [["0"]], "nothing stored by the refused ones")

# ---- templates made before the agents -----------------------------------------------
st, b, hd = api("POST", "/api/v1/templates", A, WEB)
t.ok(st == 201 and b["name"] == "web" and b["checks"][1]["contacts"] == ["ops"]
     and b["checks"][0]["critical"] == "1:", "template web created (contacts by name, the "
     "type's default critical)", b)
st, b, _ = api("POST", "/api/v1/templates", A, DEB)
t.eq(st, 201, "template debian-base created")
st, b, _ = api("POST", "/api/v1/templates", A, DEB)
t.eq((st, b.get("field")), (409, "name"), "the same name again -> 409")
st, b, _ = api("GET", "/api/v1/templates", V)
t.eq([x["name"] for x in b["items"]], ["web", "debian-base"], "a viewer lists them")

# (1) labels: a new agent created with role=web; its first download (old GET) has them
st, a, _ = api("POST", "/api/v1/agents", A, {"name": "web01", "labels": {"role": "web"}})
web01, web01_tok = a["id"], a["token"]
st, b, hd = download(web01_tok, method="GET")
t.eq(sorted(c["name"] for c in b["checks"]), ["disk-root", "nginx"],
     "agent created with role=web: the template's checks in its first download (GET)")

# (2) labels from agentd.conf, sent with the first download
st, a, _ = api("POST", "/api/v1/agents", A, {"name": "web02"})
web02, web02_tok = a["id"], a["token"]
st, b, hd = download(web02_tok, {"labels": {"role": "web"}})
t.ok(st == 200 and sorted(c["name"] for c in b["checks"]) == ["disk-root", "nginx"],
     "agent whose agentd.conf says role=web: the checks in the answer to its first download",
     (st, b))
etag = hd.get("etag")
st, b, hd = download(web02_tok, {"labels": {"role": "web"}}, etag=etag)
t.eq(st, 304, "the same again with If-None-Match: 304")

# (3) a fact: the first facts arrive with the first download
st, a, _ = api("POST", "/api/v1/agents", A, {"name": "deb01"})
deb01, deb01_tok = a["id"], a["token"]
st, b, _ = download(deb01_tok, {"labels": {}, "facts": {"os": "debian", "hostname": "deb01"}})
t.ok(st == 200 and [c["name"] for c in b["checks"]] == ["apt"],
     "agent whose first facts say os=debian: apt in its first download", (st, b))
t.eq(psql("SELECT facts->>'os', agent_labels::text FROM agents WHERE id = %d" % deb01),
     [["debian", "{}"]], "the download stored its facts and labels")
st, b, _ = download(deb01_tok, {"facts": "debian"})
t.eq(st, 400, "facts not an object -> 400")
st, b, _ = download(deb01_tok, {"labels": {"Bad": "x"}})
t.eq(st, 422, "a bad label -> 422")
st, b, _ = download(deb01_tok, {"bogus": 1})
t.eq(st, 422, "an unknown member -> 422")
t.eq(psql("SELECT facts->>'os' FROM agents WHERE id = %d" % deb01), [["debian"]],
     "refused downloads changed nothing")

# the checks are real checks, marked with their template
st, c, _ = api("GET", "/api/v1/checks?agent=web01", A)
t.ok(st == 200 and all(x["template"] == "web" for x in c["items"]) and len(c["items"]) == 2,
     "?agent=NAME lists web01's checks, each with its template", c)
st, b, _ = api("GET", "/api/v1/checks?agent=nobody", A)
t.eq((st, b.get("field")), (422, "agent"), "?agent= an unknown name -> 422")
st, b, _ = api("GET", "/api/v1/checks?agent=web01&agent_id=1", A)
t.eq(st, 422, "?agent= and ?agent_id= together -> 422")
st, b, _ = api("GET", "/api/v1/templates/web", A)
t.eq((b["agents"], b["checks_made"]), (2, 4), "the template counts its agents and checks")

# checkout (an old agent's only way) re-evaluates too
st, a, _ = api("POST", "/api/v1/agents", A, {"name": "deb02"})
deb02, deb02_tok = a["id"], a["token"]
st, _, _ = api("PUT", "/api/v1/agent/self/checkout", deb02_tok, {"facts": {"os": "debian"}})
t.eq(agent_checks(deb02), [("apt", "debian-base")], "facts at checkout: the template applies")

# ---- an override survives a template update ---------------------------------------
disk01 = [x for x in api("GET", "/api/v1/checks?agent=web01", A)[1]["items"]
          if x["name"] == "disk-root"][0]["id"]
st, b, _ = api("PATCH", "/api/v1/checks/%d" % disk01, A, {"critical": "95"})
t.ok(st == 200 and b["critical"] == "95" and b["overrides"] == {"critical": "95"},
     "PATCH critical on a template's check: an override", b)
st, b, _ = api("PATCH", "/api/v1/checks/%d" % disk01, A, {"name": "other"})
t.eq((st, b.get("field")), (422, "name"), "its name is the template's -> 422")
st, b, _ = api("DELETE", "/api/v1/checks/%d" % disk01, A)
t.eq(st, 409, "a template's check is not deleted alone -> 409")
web2 = json.loads(json.dumps(WEB))
web2["checks"][1]["warning"] = "70"
web2["checks"][1]["critical"] = "85"
st, b, _ = api("PATCH", "/api/v1/templates/web", A, {"checks": web2["checks"]})
t.eq(st, 200, "template web updated (warning 70, critical 85)")
st, c, _ = api("GET", "/api/v1/checks/%d" % disk01, A)
t.eq((c["warning"], c["critical"]), ("70", "95"),
     "web01's override (critical 95) survived; the template's warning 70 arrived")
web02_disk = [x for x in api("GET", "/api/v1/checks?agent=web02", A)[1]["items"]
              if x["name"] == "disk-root"][0]
t.eq((web02_disk["warning"], web02_disk["critical"]), ("70", "85"),
     "web02 (no override) has the template's new fields")
st, b, _ = api("PATCH", "/api/v1/checks/%d" % disk01, A, {"overrides": None})
t.ok(st == 200 and b["critical"] == "85" and b["overrides"] == {},
     "PATCH {\"overrides\": null} resets it to the template's", b)
st, b, _ = api("PATCH", "/api/v1/checks/%d" % disk01, A, {"overrides": {"x": 1}})
t.eq(st, 422, "overrides may only be reset")

# ---- one transaction: a reader never sees half a template change ------------------
# 30 more agents, so the change spans many rows; a lock on the LAST row the
# update reaches holds the whole change open, and a reader meanwhile sees
# none of it (then all of it)
for i in range(30):
    api("POST", "/api/v1/agents", A, {"name": "w%02d" % i, "labels": {"role": "web"}})
n_web = int(psql("SELECT count(*) FROM checks WHERE template = 'web' AND name = 'nginx'")[0][0])
t.eq(n_web, 32, "32 web agents have nginx")
last = psql("SELECT max(id) FROM checks WHERE template = 'web' AND name = 'nginx'")[0][0]
# the session's own answers say it holds the row (a count of the sessions
# idle in a transaction also counted one of serverd's own, for a moment,
# before the lock was taken: the change then went through unheld)
holder = env.cluster.session()
holder.stdin.write("BEGIN; SELECT id FROM checks WHERE id = %s FOR UPDATE;\nSELECT 'locked';\n"
                   % last)
holder.stdin.flush()
t.eq([holder.stdout.readline().strip() for _ in range(2)], [last, "locked"],
     "a session holds one of the template's checks (FOR UPDATE)")
web3 = json.loads(json.dumps(web2))
web3["checks"][0]["max_attempts"] = 7
res = {}


def change():
    res["st"] = api("PATCH", "/api/v1/templates/web", A, {"checks": web3["checks"]})[0]


th = threading.Thread(target=change)
th.start()
t.ok(wait_for(lambda: psql("SELECT count(*) FROM pg_locks WHERE NOT granted")[0][0] != "0",
              timeout=20), "the template change waits for it")
seen = psql("SELECT count(*) FROM checks WHERE template = 'web' AND name = 'nginx'"
            " AND max_attempts = 7")
t.eq(seen, [["0"]], "while the change waits on one row, no reader sees any row changed")
holder.stdin.write("COMMIT;\n")
holder.stdin.flush()
th.join(30)
t.eq(res.get("st"), 200, "the change then commits")
t.eq(psql("SELECT count(*) FROM checks WHERE template = 'web' AND name = 'nginx'"
          " AND max_attempts = 7"), [[str(n_web)]], "and every row has it")
holder.stdin.close()
holder.wait(10)

# ---- stops matching: loses the checks ----------------------------------------------
st, _, _ = api("PATCH", "/api/v1/agents/%d" % web01, A, {"labels": {"role": "db"}})
t.eq(agent_checks(web01), [], "web01 relabelled role=db: the web checks are gone")
st, b, _ = download(web02_tok, {"labels": {"role": "api"}})
t.eq(b["checks"], [], "web02's agentd.conf now says role=api: its download has none")
st, _, _ = api("PUT", "/api/v1/agent/self/checkout", deb02_tok, {"facts": {"os": "ubuntu"}})
t.eq(agent_checks(deb02), [], "deb02 now reports os=ubuntu: apt is gone")
# a hand-made check of the same name wins over the template's
st, a, _ = api("POST", "/api/v1/agents", A, {"name": "hand01"})
hand01, hand01_tok = a["id"], a["token"]
env.make_check(hand01, "nginx", "load")
api("PATCH", "/api/v1/agents/%d" % hand01, A, {"labels": {"role": "web"}})
t.eq(agent_checks(hand01), [("disk-root", "web"), ("nginx", None)],
     "an agent's own check of the same name is kept; the template makes the rest")
# selector changed
st, b, _ = api("PATCH", "/api/v1/templates/debian-base", A, {"selector": "fact.os in (debian,ubuntu)"})
t.eq(agent_checks(deb02), [("apt", "debian-base")], "selector widened: deb02 has apt again")
st, b, _ = api("PATCH", "/api/v1/templates/debian-base", A, {"name": "x"})
t.eq(st, 422, "a template is not renamed")
st, b, _ = api("PATCH", "/api/v1/templates/nope", A, {"selector": "a=b"})
t.eq(st, 404, "PATCH an unknown template -> 404")
# delete
st, _, _ = api("DELETE", "/api/v1/templates/debian-base", A)
t.eq(st, 204, "template deleted")
t.eq(psql("SELECT count(*) FROM checks WHERE template = 'debian-base'"), [["0"]],
     "its checks went with it")
st, _, _ = api("DELETE", "/api/v1/templates/debian-base", A)
t.eq(st, 404, "deleted again -> 404")

# ---- ?agent=NAME on the other lists ------------------------------------------------
st, b, _ = api("GET", "/api/v1/events?agent=web01", A)
t.ok(st == 200 and all(e.get("agent_id") == web01 for e in b["items"]), "events?agent=NAME", b)
st, b, _ = api("POST", "/api/v1/downtimes", A, {"agent": "web01", "end": "2099-01-01T00:00:00Z"})
st, b, _ = api("GET", "/api/v1/downtimes?agent=web01", A)
t.ok(st == 200 and len(b["items"]) == 1 and b["items"][0]["agent_id"] == web01,
     "downtimes?agent=NAME", b)
st, b, _ = api("GET", "/api/v1/downtimes?agent=nobody", A)
t.eq(st, 422, "downtimes?agent= an unknown name -> 422")

# ?check=AGENT/CHECK where check_id is taken
nginx02 = [x for x in api("GET", "/api/v1/checks?agent=hand01", A)[1]["items"] if x["name"] == "nginx"][0]["id"]
st, _, _ = api("POST", "/api/v1/downtimes", A, {"check": "hand01/nginx", "end": "2099-01-01T00:00:00Z"})
st, b, _ = api("GET", "/api/v1/downtimes?check=hand01/nginx", A)
t.ok(st == 200 and [d["check_id"] for d in b["items"]] == [nginx02], "downtimes?check=AGENT/CHECK", b)
st, b, _ = api("GET", "/api/v1/events?check=hand01/nginx", A)
t.ok(st == 200 and all(e.get("check_id") == nginx02 for e in b["items"]), "events?check=AGENT/CHECK", b)
st, b, _ = api("GET", "/api/v1/notifications?check=hand01/nginx", A)
t.eq(st, 200, "notifications?check=AGENT/CHECK")
st, b, _ = api("GET", "/api/v1/events?check=hand01/nope", A)
t.eq((st, b.get("field")), (422, "check"), "?check= an unknown check -> 422")
st, b, _ = api("GET", "/api/v1/events?check=nonsense", A)
t.eq(st, 422, "?check= without a slash -> 422")

# ---- a real custos-agentd: its labels and facts go with its first download ------
def os_id():
    for path in ("/etc/os-release", "/usr/lib/os-release"):
        try:
            for line in open(path):
                if line.startswith("ID="):
                    return line[3:].strip().strip('"\'')
        except OSError:
            pass
    return None


OS = os_id()
st, _, _ = api("POST", "/api/v1/templates", A, {
    "name": "real-labels", "selector": "role=real",
    "checks": [{"name": "load-by-label", "type": "load", "params": {"period": 1},
                "warning": "1000", "critical": "2000", "max_attempts": 1}]})
t.eq(st, 201, "template for role=real")
st, _, _ = api("POST", "/api/v1/templates", A, {
    "name": "real-os", "selector": "fact.os=%s" % (OS or "none"),
    "checks": [{"name": "memory-by-os", "type": "memory", "max_attempts": 1}]})
t.eq(st, 201, "template for fact.os=%s (this host's os-release ID)" % OS)
st, a, _ = api("POST", "/api/v1/agents", A, {"name": "real01"})
real01, real01_tok = a["id"], a["token"]
d = os.path.join(env.tmp, "real01")
os.makedirs(os.path.join(d, "state"))
with open(os.path.join(d, "token"), "w") as f:
    f.write(real01_tok + "\n")
os.chmod(os.path.join(d, "token"), 0o600)
conf = os.path.join(d, "agentd.conf")
with open(conf, "w") as f:
    f.write("server = http://127.0.0.1:%d\ntoken_file = %s\nstate_dir = %s\n"
            "timeout_s = 5\njitter_s = 0\nlog_level = debug\nlabels = role=real\n"
            % (env.server.port, os.path.join(d, "token"), os.path.join(d, "state")))
r = subprocess.run([AGENTD, "-c", conf, "--once"], capture_output=True, text=True, timeout=60)
t.ok(r.returncode == 0 and "POST /api/v1/agent/self/checks -> 200" in r.stderr,
     "agentd's first download is a POST with its labels and facts", r.stderr[-1500:])
states = {c["name"]: (c.get("state") or {}).get("status")
          for c in api("GET", "/api/v1/checks?agent=real01", A)[1]["items"]}
t.eq(states.get("load-by-label"), "OK",
     "the label's template check ran in agentd's very first run (in its first download)")
if OS:
    t.eq(states.get("memory-by-os"), "OK",
         "the os fact's template check ran in the very first run too")
    t.eq(psql("SELECT facts->>'os' FROM agents WHERE id = %d" % real01), [[OS]],
         "agentd reports the short os fact (os-release ID)")
else:
    t.ok(True, "# SKIP no os-release on this host")
    t.ok(True, "# SKIP no os-release on this host")
r = subprocess.run([AGENTD, "-c", conf, "--once"], capture_output=True, text=True, timeout=60)
t.ok(r.returncode == 0 and "/api/v1/agent/self/checks -> 304" in r.stderr,
     "its second run: unchanged, 304", r.stderr[-1500:])

# ---- the command line: custos templates ---------------------------------------------
CLI = os.path.join(BUILDDIR, "custos")
HOME = os.path.join(env.tmp, "home")
os.makedirs(HOME)


def run(*args, token=A):
    e = {"HOME": HOME, "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
         "CUSTOS_TOKEN": token, "CUSTOS_URL": "http://127.0.0.1:%d" % env.server.port}
    for k in ("ASAN_OPTIONS", "UBSAN_OPTIONS"):
        if k in os.environ:
            e[k] = os.environ[k]
    p = subprocess.run([CLI] + list(args), capture_output=True, text=True, env=e, timeout=60)
    return p.returncode, p.stdout, p.stderr


def write(path, text):
    with open(path, "w") as f:
        f.write(text)
    return path


cf = write(os.path.join(env.tmp, "db-checks.yaml"),
           "- name: pg\n  type: process\n  params: {name: postgres}\n"
           "- kind: check\n  name: pg-disk\n  type: disk\n  params: {path: /}\n"
           "  warning: 80\n  contacts: [ops]\n")
rc, out, err = run("templates", "create", "db", "--selector", "role=db", "-f", cf)
t.ok(rc == 0 and "template db created" in out, "templates create: exit 0", (rc, out, err))
t.eq(agent_checks(web01), [("pg", "db"), ("pg-disk", "db")],
     "web01 (now role=db) has the new template's checks")
rc, out, err = run("--json", "templates", "show", "db")
o = json.loads(out) if rc == 0 else {}
t.ok(o.get("selector") == "role=db" and [c["name"] for c in o.get("checks", [])] == ["pg", "pg-disk"]
     and o["checks"][1]["warning"] == "80" and o["checks"][1]["contacts"] == ["ops"],
     "templates show --json: the template (warning: 80 read as text)", (rc, out, err))
rc, out, err = run("templates", "list")
t.ok(rc == 0 and "TEMPLATE" in out and "db" in out and "role=db" in out, "templates list",
     (rc, out, err))
rc, out, err = run("--json", "templates")
t.ok(rc == 0 and sorted(x["name"] for x in json.loads(out)) == ["db", "real-labels", "real-os", "web"],
     "templates --json: every template", (rc, out, err))
rc, out, err = run("templates", "edit", "db", "--selector", "role=db,env!=dev")
t.eq(rc, 0, "templates edit --selector: exit 0")
rc, out, err = run("templates", "create", "bad", "--selector", "role=x")
t.ok(rc == 2 and "usage" in err, "templates create without -f: exit 2", (rc, err))
rc, out, err = run("templates", "create", "no way", "--selector", "a=b", "-f", cf)
t.eq(rc, 2, "a name the API would refuse: exit 2, nothing sent")
badf = write(os.path.join(env.tmp, "bad-checks.yaml"), "- name: x\n  type: load\n  warning: 9x\n")
rc, out, err = run("templates", "create", "bad", "--selector", "a=b", "-f", badf)
t.ok(rc == 1 and "checks[0].warning" in err, "a bad check: exit 1 naming checks[0].warning",
     (rc, err))
rc, out, err = run("templates", "create", "db", "--selector", "a=b", "-f", cf)
t.eq(rc, 1, "a name taken: exit 1")
rc, out, err = run("templates", "delete", "db", token=V)
t.eq(rc, 1, "a viewer's delete: exit 1")
rc, out, err = run("templates", "show", "nope")
t.eq(rc, 1, "show an unknown template: exit 1")

# ---- apply and export: kind template, and the round trip ----------------------------
exp = os.path.join(env.tmp, "export")
rc, out, err = run("export", "--dir", exp)
t.ok(rc == 0 and os.path.exists(os.path.join(exp, "templates.yaml")), "export writes templates.yaml",
     (rc, err))
text = open(os.path.join(exp, "templates.yaml")).read()
t.ok("kind: template" in text and "name: db" in text and "selector: role=db,env!=dev" in text,
     "templates.yaml holds them", text[:600])
checks_text = open(os.path.join(exp, "checks.yaml")).read()
t.ok("name: pg-disk" not in checks_text and "name: nginx" in checks_text,
     "checks.yaml leaves the templates' checks out (the hand-made nginx is in)")
rc, out, err = run("--json", "apply", "-f", exp)
plan = json.loads(out) if rc == 0 else {}
t.ok(rc == 0 and plan["counts"]["create"] == 0 and plan["counts"]["update"] == 0
     and plan["counts"]["delete"] == 0, "export -> apply: every object unchanged", (rc, err, out[-500:]))
v0 = psql("SELECT version FROM config_version")
# an apply that changes a template's check: the change and its checks together
write(os.path.join(exp, "templates.yaml"), re.sub(r"warning: ['\"]?80['\"]?", "warning: 70", text))
rc, out, err = run("apply", "-f", exp)
t.ok(rc == 0 and "~ template db" in out, "apply: ~ template db", (rc, out[-500:], err))
t.eq(psql("SELECT warning FROM checks WHERE template = 'db' AND name = 'pg-disk'"), [["70"]],
     "its checks changed with it")
bad_t = write(os.path.join(env.tmp, "bad-template.yaml"),
              "kind: template\nname: t2\nselector: role=x\nchecks:\n"
              "  - name: a\n    type: load\n    critical: nope\n")
rc, out, err = run("apply", "-f", bad_t)
t.ok(rc == 1 and "bad-template.yaml:7:15:" in err and "checks[0]" in err,
     "a bad value in a template's check: exit 1, file:line:column and the field", (rc, err))
t.eq(psql("SELECT count(*) FROM templates WHERE name = 't2'"), [["0"]], "nothing applied")

# ---- recurring downtimes in files: create, change (planned afresh), prune ----------
rd = write(os.path.join(env.tmp, "weekly.yaml"),
           "kind: downtime\nname: patch-night\nagent: web02\nrecurring: daily 03:00-04:00\n"
           "tz: Europe/Paris\ncomment: patching\n")
rc, out, err = run("apply", "-f", rd)
t.ok(rc == 0 and "+ downtime patch-night" in out, "apply: + a recurring downtime", (rc, out, err))
t.eq(psql("SELECT r.recurring, r.tz, r.managed, count(o.id) > 0 FROM downtime_recurring r"
          " LEFT JOIN downtimes o ON o.recurring_id = r.id WHERE r.name = 'patch-night'"
          " GROUP BY r.id"), [["daily 03:00-04:00", "Europe/Paris", "t", "t"]],
     "made, managed, its occurrences planned")
rc, out, err = run("--json", "apply", "-f", rd)
t.eq(json.loads(out)["counts"]["unchanged"] if rc == 0 else None, 1, "applied again: unchanged")
write(rd, open(rd).read().replace("03:00-04:00", "05:00-06:00"))
rc, out, err = run("apply", "-f", rd)
t.ok(rc == 0 and "recurring: \"daily 03:00-04:00\" -> \"daily 05:00-06:00\"" in out,
     "apply: ~ the window, before -> after", (rc, out, err))
t.eq(psql("SELECT count(*) FROM downtimes o JOIN downtime_recurring r ON r.id = o.recurring_id"
          " WHERE r.name = 'patch-night' AND o.start_at > now()"
          " AND to_char(o.start_at AT TIME ZONE 'Europe/Paris', 'HH24:MI') <> '05:00'"),
     [["0"]], "its future occurrences are planned afresh")
bad_rd = write(os.path.join(env.tmp, "bad-weekly.yaml"),
               "kind: downtime\nname: x\nagent: web02\nrecurring: someday\n")
rc, out, err = run("apply", "-f", bad_rd)
t.ok(rc == 1 and "bad-weekly.yaml:4:" in err and "recurring" in err,
     "a bad window: exit 1 naming file:line:column", (rc, err))
empty = write(os.path.join(env.tmp, "empty.yaml"), "kind: contact\nname: ops\nemail: ops@example.org\n")
rc, out, err = run("apply", "-f", empty, "--prune", "--dry-run")
t.ok(rc == 0 and "- downtime patch-night" in out and "- template" not in out.replace(
     "- template db", ""), "prune would delete the managed recurring downtime", (rc, out[-800:]))


# ---- a template's checks as a downtime's target and as parents ----------------------
# (the plan finds them as they will be once applied: the set's templates and
# agents' labels, the stored agents' labels from their files and facts)
soon = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 3600))
later = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 7200))
EDGE = [{"kind": "template", "name": "edge", "selector": "role=edge",
         "checks": [{"name": "proxy", "type": "load"}]},
        {"kind": "agent", "name": "edge01", "labels": {"role": "edge"}},
        {"kind": "check", "agent": "edge01", "name": "app", "type": "load",
         "parents": ["edge01/proxy"]},
        {"kind": "agent", "name": "edge02", "parents": ["edge01/proxy"]},
        {"kind": "downtime", "name": "proxy-maint", "check": "edge01/proxy",
         "start": soon, "end": later}]


def config(objs, q=""):
    return api("POST", "/api/v1/config" + q, A, {"objects": objs})


st, b, _ = config(EDGE, "?dry_run=1")
t.ok(st == 200 and b["counts"]["create"] == 5, "plan: a downtime and parents naming a check "
     "the template of the same set makes", (st, b))
t.eq(psql("SELECT count(*) FROM agents WHERE name LIKE 'edge%'"), [["0"]], "the plan changes nothing")
st, b, _ = config(EDGE)
t.ok(st == 200 and b["applied"], "applied in one request", (st, b))
proxy = psql("SELECT c.id FROM checks c JOIN agents a ON a.id = c.agent_id"
             " WHERE a.name = 'edge01' AND c.name = 'proxy' AND c.template = 'edge'")
t.ok(len(proxy) == 1, "the template made edge01/proxy", proxy)
pid = proxy[0][0] if proxy else "0"
t.eq(psql("SELECT (SELECT check_id FROM downtimes WHERE name = 'proxy-maint'),"
          " (SELECT parents FROM checks WHERE name = 'app'),"
          " (SELECT parents FROM agents WHERE name = 'edge02')"),
     [[pid, "{%s}" % pid, "{%s}" % pid]], "the downtime and both parents point at it")
st, b, _ = config(EDGE, "?dry_run=1")
t.ok(st == 200 and b["counts"]["unchanged"] == 5 and b["counts"]["create"] == 0
     and b["counts"]["update"] == 0, "the same set again: all unchanged", (st, b))
# a stored one, of an agent whose labels come from its agentd.conf (real01)
stored = psql("SELECT a.name || '/' || c.name, c.template FROM checks c"
              " JOIN agents a ON a.id = c.agent_id WHERE c.template IS NOT NULL"
              " AND a.agent_labels <> '{}' AND a.labels = '{}' ORDER BY 1 LIMIT 1")
t.ok(len(stored) == 1, "a template-made check of an agent labelled by its agentd.conf", stored)
target, tname = stored[0] if stored else ("?/?", "?")
one = [{"kind": "downtime", "name": "tpl-maint", "check": target, "start": soon, "end": later}]
st, b, _ = config(one)
t.ok(st == 200 and b["counts"]["create"] == 1, "a set of one downtime naming a stored "
     "template-made check (%s)" % target, (st, b))
t.eq(psql("SELECT c.template FROM downtimes d JOIN checks c ON c.id = d.check_id"
          " WHERE d.name = 'tpl-maint'"), [[tname]], "its target is the template's check")
v0 = psql("SELECT version FROM config_version")
# the agent relabelled in the same set: the template no longer makes it
moved = [dict(EDGE[1], labels={"role": "other"})] + EDGE[2:]
st, b, _ = config(EDGE[:1] + moved)
errs = b.get("errors", []) if isinstance(b, dict) else []
t.ok(st == 422 and sorted((e.get("index"), e.get("field")) for e in errs)
     == [(2, "parents"), (3, "parents"), (4, "check")]
     and "edge01/proxy" in errs[0]["error"] and "template" in errs[0]["error"],
     "edge01 relabelled in the set: its template check named three times -> 422, each "
     "by index and field", (st, b))
st, b, _ = config(one + [{"kind": "downtime", "name": "x", "check": "edge01/nope",
                          "start": soon, "end": later}])
t.ok(st == 422 and b.get("index") == 1 and b.get("field") == "check"
     and "edge01/nope" in b.get("error", ""), "a name no template makes -> 422", (st, b))
t.eq(psql("SELECT version FROM config_version"), v0, "the refused sets changed nothing")
badd = write(os.path.join(env.tmp, "bad-target.yaml"),
             "kind: downtime\nname: bad-target\ncheck: edge01/nope\nstart: %s\nend: %s\n"
             % (soon, later))
rc, out, err = run("apply", "-f", badd)
t.ok(rc == 1 and "bad-target.yaml:3:" in err and "edge01/nope" in err,
     "custos apply: an unknown check names file:line:column", (rc, err))

t.done()
