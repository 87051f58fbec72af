"""test_labels.py - labels on agents and checks and ?selector= on the lists:
labels set, returned and refused (bad key, too many, too long, wrong type:
422 or 400 naming the key, and nothing stored), the agent's own labels from
agentd.conf arriving at checkout under the API's, selectors on
/api/v1/agents, /api/v1/checks and /api/v1/status (labels, fact.os, in,
notin, exists, not exists, a check's labels over its agent's), and bad
selectors answered 400 with their column."""
import json
import os
import subprocess
import sys
from urllib.parse import quote

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import *  # noqa: E402,F403

t = Tap()
env = Env()
A = env.admin
api = env.api


def names(path, sel):
    st, b, _ = api("GET", "%s%sselector=%s" % (path, "&" if "?" in path else "?",
                                               quote(sel)), A)
    if st != 200:
        return (st, b)
    return sorted(i["name"] for i in b["items"])


# ---- labels set, returned, validated ----------------------------------------
st, a, _ = api("POST", "/api/v1/agents", A,
               {"name": "web01", "labels": {"role": "web", "env": "prod", "team": "db"}})
t.eq((st, a.get("labels"), a.get("agent_labels")),
     (201, {"role": "web", "env": "prod", "team": "db"}, {}), "agent created with labels")
web01, web01_tok = a["id"], a["token"]
st, a, _ = api("POST", "/api/v1/agents", A, {"name": "api01"})
t.eq((st, a.get("labels")), (201, {}), "an agent without labels has {}")
api01, api01_tok = a["id"], a["token"]
st, a, _ = api("PATCH", "/api/v1/agents/%d" % api01, A,
               {"labels": {"role": "api", "env": "dev"}})
t.eq((st, a.get("labels")), (200, {"role": "api", "env": "dev"}), "PATCH sets labels")
st, a, _ = api("PATCH", "/api/v1/agents/%d" % api01, A, {"interval_s": 30})
t.eq(a.get("labels"), {"role": "api", "env": "dev"}, "PATCH without labels keeps them")
st, a, _ = api("POST", "/api/v1/agents", A, {"name": "db01", "labels": {"role": "db"}})
db01, db01_tok = a["id"], a["token"]

bad = [
    ({"Role": "web"}, 422, "Role", "upper case key"),
    ({"a b": "x"}, 422, "a b", "blank in a key"),
    ({"k" * 64: "x"}, 422, "k" * 64, "64-byte key"),
    ({"": "x"}, 422, '""', "empty key"),
    ({"fact.os": "x"}, 422, "fact.os", "key beginning fact."),
    ({"role": "v" * 256}, 422, "role", "256-byte value"),
    ({"k%d" % i: "x" for i in range(33)}, 422, "33 labels", "33 labels"),
    ({"role": 5}, 400, "role", "a number as value"),
]
n_before = env.cluster.psql("SELECT labels::text FROM agents ORDER BY id")
for labels, status, word, what in bad:
    st, b, _ = api("POST", "/api/v1/agents", A, {"name": "bad", "labels": labels})
    t.ok(st == status and b.get("field") == "labels" and word in b.get("error", ""),
         "POST agent, %s -> %d naming it" % (what, status), (st, b))
    st, b, _ = api("PATCH", "/api/v1/agents/%d" % web01, A, {"labels": labels})
    t.eq(st, status, "PATCH agent, %s -> %d" % (what, status))
st, b, _ = api("POST", "/api/v1/agents", A, {"name": "bad", "labels": ["role=web"]})
t.eq((st, b.get("field")), (400, "labels"), "labels as an array -> 400")
t.eq(env.cluster.psql("SELECT count(*) FROM agents WHERE name = 'bad'"), [["0"]],
     "no refused agent was stored")
t.eq(env.cluster.psql("SELECT labels::text FROM agents ORDER BY id"), n_before,
     "no refused PATCH changed labels")
st, a, _ = api("POST", "/api/v1/agents", A,
               {"name": "edge", "labels": {"k" * 63: "v" * 255, "e": ""}})
t.eq(st, 201, "63-byte key, 255-byte value and an empty value are accepted")
st, _, _ = api("DELETE", "/api/v1/agents/%d" % a["id"], A)

# checks
c_nginx = env.make_check(web01, "nginx", labels={"tier": "front"})
c_load_web = env.make_check(web01, "load")
c_load_api = env.make_check(api01, "load", labels={"env": "prod"})
c_load_db = env.make_check(db01, "load", labels={"tier": "back"})
st, c, _ = api("GET", "/api/v1/checks/%d" % c_nginx, A)
t.eq(c.get("labels"), {"tier": "front"}, "check returned with its labels")
st, c, _ = api("PATCH", "/api/v1/checks/%d" % c_nginx, A, {"max_attempts": 2})
t.eq((st, c.get("labels")), (200, {"tier": "front"}), "check PATCH without labels keeps them")
st, c, _ = api("PATCH", "/api/v1/checks/%d" % c_nginx, A,
               {"labels": {"tier": "front", "port": "80"}})
t.eq((st, c.get("labels")), (200, {"tier": "front", "port": "80"}), "check PATCH sets labels")
st, b, _ = api("PATCH", "/api/v1/checks/%d" % c_nginx, A, {"labels": {"Tier": "x"}})
t.ok(st == 422 and b.get("field") == "labels" and "Tier" in b.get("error", ""),
     "check PATCH with a bad key -> 422 naming it", b)
st, b, _ = api("POST", "/api/v1/checks", A, {"agent_id": web01, "name": "x", "type": "load",
                                             "labels": {"k%d" % i: "" for i in range(33)}})
t.eq((st, b.get("field")), (422, "labels"), "check POST with 33 labels -> 422")
t.eq(env.cluster.psql("SELECT labels::text FROM checks WHERE id = %d" % c_nginx),
     [['{"port": "80", "tier": "front"}']], "refused check PATCH stored nothing")
t.eq(env.cluster.psql("SELECT count(*) FROM checks WHERE name = 'x'"), [["0"]],
     "refused check POST stored nothing")

# ---- facts and the agent's own labels at checkout --------------------------
st, b, _ = api("PUT", "/api/v1/agent/self/checkout", web01_tok,
               {"facts": {"os": "debian", "cpu_count": 4, "interfaces": {"eth0": ["10.0.0.1"]}},
                "labels": {"env": "staging", "dc": "fra"}})
t.eq(st, 200, "checkout with facts and labels")
st, a, _ = api("GET", "/api/v1/agents/%d" % web01, A)
t.eq((a["labels"], a["agent_labels"]),
     ({"role": "web", "env": "prod", "team": "db"}, {"env": "staging", "dc": "fra"}),
     "the agent's own labels are kept apart from the API's")
st, b, _ = api("PUT", "/api/v1/agent/self/checkout", api01_tok, {"facts": {"os": "ubuntu"}})
t.eq(st, 200, "checkout without labels")
st, b, _ = api("PUT", "/api/v1/agent/self/checkout", db01_tok,
               {"labels": {"Bad": "x"}, "facts": {"os": "debian"}})
t.ok(st == 422 and "Bad" in b.get("error", ""), "checkout with a bad label key -> 422", b)
t.eq(env.cluster.psql("SELECT facts IS NULL, agent_labels::text FROM agents WHERE id = %d"
                      % db01), [["t", "{}"]], "a refused checkout stored nothing")

# ---- selectors on /api/v1/agents --------------------------------------------
cases = [
    ("role=web", ["web01"]),
    ("role==web", ["web01"]),
    ("env=prod", ["web01"]),             # the API's prod wins over the agent's staging
    ("env=staging", []),
    ("dc=fra", ["web01"]),               # the agent's own, where the API set none
    ("env!=prod", ["api01", "db01"]),    # absent counts as different
    ("role in (web, api)", ["api01", "web01"]),
    ("role notin (web,api)", ["db01"]),
    ("team", ["web01"]),
    ("!team", ["api01", "db01"]),
    ("fact.os=debian", ["web01"]),
    ("fact.os in (debian,ubuntu)", ["api01", "web01"]),
    ("fact.cpu_count=4", ["web01"]),
    ("fact.interfaces.eth0", ["web01"]),
    ("!fact.os", ["db01"]),
    ("team=db,env!=dev,fact.os=debian,role in (web,api)", ["web01"]),
    ("team=db,env=dev", []),
]
for sel, want in cases:
    t.eq(names("/api/v1/agents", sel), want, "agents ?selector=%s" % sel)
st, b, _ = api("GET", "/api/v1/agents?selector=role%3Dweb&search=web", A)
t.eq([i["name"] for i in b["items"]], ["web01"], "selector and search together")
st, b, _ = api("GET", "/api/v1/agents?selector=role%3Dweb&search=api", A)
t.eq(b["items"], [], "selector and search: both must hold")

errors = [
    ("team db", "selector:6: expected"),
    ("Team=db", "selector:1: label keys are lower case"),
    ("role in (a b)", "selector:12:"),
    ("team=", "selector:6:"),
    ("", "selector:1: empty"),
]
for sel, want in errors:
    st, b, _ = api("GET", "/api/v1/agents?selector=" + quote(sel), A)
    t.ok(st == 400 and b.get("field") == "selector" and b.get("error", "").startswith(want),
         "bad selector %r -> 400 %r" % (sel, want), (st, b))
st, b, _ = api("GET", "/api/v1/checks?selector=a%3D%FF", A)
t.eq((st, b.get("field")), (400, "selector"), "a selector value that is not UTF-8 -> 400")
inj = "role=web'); DROP TABLE agents; --"
t.eq(names("/api/v1/agents", 'role="%s"' % inj), [], "a value is data, never SQL")
t.eq(env.cluster.psql("SELECT count(*) FROM agents"), [["3"]], "agents still there")

# ---- selectors on /api/v1/checks --------------------------------------------


def checks(sel):
    st, b, _ = api("GET", "/api/v1/checks?selector=" + quote(sel), A)
    if st != 200:
        return (st, b)
    return sorted(i["id"] for i in b["items"])


t.eq(checks("role=web"), sorted([c_nginx, c_load_web]), "checks by their agent's label")
t.eq(checks("tier=front"), [c_nginx], "checks by their own label")
t.eq(checks("env=prod"), sorted([c_nginx, c_load_web, c_load_api]),
     "a check's label wins over its agent's (api01 is dev, its load check prod)")
t.eq(checks("env=dev"), [], "...so api01's check is not dev")
t.eq(checks("fact.os=debian"), sorted([c_nginx, c_load_web]), "checks by their agent's facts")
t.eq(checks("!tier"), sorted([c_load_web, c_load_api]), "checks without a label")
st, b, _ = api("GET", "/api/v1/checks?agent_id=%d&selector=tier" % web01, A)
t.eq([i["id"] for i in b["items"]], [c_nginx], "selector with agent_id")
st, b, _ = api("GET", "/api/v1/checks?selector=tier%3D", A)
t.eq((st, b.get("field")), (400, "selector"), "checks: bad selector -> 400")

# ---- selectors on /api/v1/status ---------------------------------------------
for tok, cid, status in ((web01_tok, c_nginx, 2), (web01_tok, c_load_web, 0),
                         (api01_tok, c_load_api, 2), (db01_tok, c_load_db, 1)):
    st, b, _ = env.post_results(tok, {"check_id": cid, "status": status, "output": "x"})
    t.eq(st, 201, "result for check %d" % cid)


def status(sel=None):
    st, b, _ = api("GET", "/api/v1/status" + ("?selector=" + quote(sel) if sel else ""), A)
    t.eq(st, 200, "status %s" % sel)
    return b


full = status()
t.eq(sorted(p["id"] for p in full["problems"]), sorted([c_nginx, c_load_api, c_load_db]),
     "status without a selector: every problem")
b = status("role=web")
t.eq([p["id"] for p in b["problems"]], [c_nginx], "status ?selector=role=web: its problems")
t.eq(b["counts"], {"OK": 1, "WARNING": 0, "CRITICAL": 1, "UNKNOWN": 0, "PENDING": 0},
     "...and its counts")
t.eq(sum(b["agents"].values()), 1, "...and its agents")
b = status("env=prod")
t.eq(sorted(p["id"] for p in b["problems"]), sorted([c_nginx, c_load_api]),
     "status: a check's own label over its agent's")
b = status("fact.os=debian,tier")
t.eq([p["id"] for p in b["problems"]], [c_nginx], "status by fact and label")
t.eq(status()["counts"], full["counts"], "the unselected answer is unchanged after")
st, b, _ = api("GET", "/api/v1/status?selector=%21", A)
t.ok(st == 400 and b.get("error", "").startswith("selector:2:"), "status: bad selector -> 400",
     b)

# ---- names where ids are taken ------------------------------------------------
st, c, _ = api("POST", "/api/v1/contacts", A, {"name": "alice", "email": "alice@example.org"})
t.eq(st, 201, "contact alice")
alice = c["id"]
st, c, _ = api("POST", "/api/v1/checks", A, {"agent": "web01", "name": "byname", "type": "load",
                                             "params": {"period": 1}, "contacts": ["alice"]})
t.eq((st, c.get("agent_id"), c.get("contacts")), (201, web01, [alice]),
     "a check made with its agent's name and a contact's name")
byname = c["id"]
n_checks = env.cluster.psql("SELECT count(*) FROM checks")
for body, status, field, what in (
        ({"agent": "nosuch"}, 422, "agent", "an unknown agent name"),
        ({"agent": "web01", "agent_id": web01}, 422, "agent", "both agent and agent_id"),
        ({"agent": 5}, 400, "agent", "a number as agent"),
        ({"agent": "web01", "contacts": ["bob"]}, 422, "contacts", "an unknown contact name")):
    b = {"name": "refused", "type": "load", "params": {"period": 1}}
    b.update(body)
    st, e, _ = api("POST", "/api/v1/checks", A, b)
    t.ok(st == status and e.get("field") == field, "check with %s -> %d" % (what, status), e)
t.eq(env.cluster.psql("SELECT count(*) FROM checks"), n_checks, "no refused check was stored")
st, c, _ = api("PATCH", "/api/v1/checks/%d" % byname, A, {"agent": "api01"})
t.eq((st, c.get("agent_id"), c.get("contacts")), (200, api01, [alice]),
     "a check moved to another agent by name")
st, a, _ = api("PATCH", "/api/v1/agents/%d" % db01, A, {"contacts": ["alice", alice]})
t.eq((st, a.get("contacts")), (200, [alice, alice]), "agent contacts by name and by id")
st, a, _ = api("POST", "/api/v1/agents", A, {"name": "nc", "contacts": ["nobody"]})
t.ok(st == 422 and "nobody" in a.get("error", ""), "agent with an unknown contact name -> 422",
     a)
st, d, _ = api("POST", "/api/v1/downtimes", A, {"check": "web01/nginx",
                                                "end": "2099-01-01T00:00:00Z"})
t.eq((st, d.get("check_id")), (201, c_nginx), "a downtime for a check named agent/check")
st, d, _ = api("POST", "/api/v1/downtimes", A, {"agent": "db01", "end": "2099-01-01T00:00:00Z"})
t.eq((st, d.get("agent_id")), (201, db01), "a downtime for an agent by name")
for body, what in (({"check": "web01/none"}, "an unknown check"),
                   ({"check": "nginx"}, "a check name without its agent"),
                   ({"check": "nosuch/nginx"}, "an unknown agent")):
    body["end"] = "2099-01-01T00:00:00Z"
    st, d, _ = api("POST", "/api/v1/downtimes", A, body)
    t.ok(st == 422 and d.get("field") == "check", "downtime for %s -> 422" % what, d)
t.eq(env.cluster.psql("SELECT count(*) FROM downtimes"), [["2"]], "refused downtimes stored nothing")
st, _, _ = api("DELETE", "/api/v1/checks/%d" % byname, A)

# ---- agentd.conf labels arrive at checkout -----------------------------------
if os.access(AGENTD, os.X_OK):
    d = os.path.join(env.tmp, "agent")
    os.makedirs(os.path.join(d, "state"), exist_ok=True)
    tok = os.path.join(d, "token")
    with open(tok, "w") as f:
        f.write(db01_tok + "\n")
    os.chmod(tok, 0o600)
    conf = os.path.join(d, "agentd.conf")

    def write_conf(labels_line):
        with open(conf, "w") as f:
            f.write("server = http://127.0.0.1:%d\ntoken_file = %s\nstate_dir = %s\n"
                    "plugin_dir = %s\njitter_s = 0\ntimeout_s = 5\n%s"
                    % (env.server.port, tok, os.path.join(d, "state"),
                       os.path.join(SRCDIR, "tests", "fixtures", "plugins"), labels_line))

    def once():
        return subprocess.run([AGENTD, "-c", conf, "--once"], capture_output=True, text=True,
                              timeout=60)

    write_conf("labels = role=edge, site=\"par 2\"\n")
    r = once()
    t.ok(r.returncode == 0, "agentd --once with labels", r.stderr)
    st, a, _ = api("GET", "/api/v1/agents/%d" % db01, A)
    t.eq((a["agent_labels"], a["labels"]), ({"role": "edge", "site": "par 2"}, {"role": "db"}),
         "agentd.conf labels arrive at checkout, apart from the API's")
    t.eq(names("/api/v1/agents", "role=db"), ["db01"], "the API's role wins in selectors")
    t.eq(names("/api/v1/agents", "site=\"par 2\""), ["db01"], "the agent's site selects it")
    write_conf("")
    r = once()
    st, a, _ = api("GET", "/api/v1/agents/%d" % db01, A)
    t.eq((r.returncode, a["agent_labels"]), (0, {}), "labels dropped from agentd.conf are dropped")
    for line, want in (("labels = Role=x\n", "labels:1: label keys are lower case"),
                       ("labels = role=a,role=b\n", "label \"role\" given twice"),
                       ("labels = role in (a)\n", "labels are key=value pairs")):
        write_conf(line)
        r = once()
        t.ok(r.returncode != 0 and want in r.stderr, "agentd.conf %r refused" % line.strip(),
             r.stderr)
else:
    t.diag("custos-agentd not built: agentd.conf labels not tested")

t.done()
