"""End-to-end: the custos command line against a real serverd: every
command, --json, the configuration file, and the exit statuses (0 done,
1 refused, 2 usage); what it received shown as text, never as terminal
controls; the URL (http(s) only, no user:password printed, a warning for
plain http to another host), --ca-file, the token file's mode and owner."""
import json
import os
import re
import queue
import subprocess
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import BUILDDIR, SRCDIR, Env, Tap, wait_for  # noqa: E402
from relaylib import Relay  # noqa: E402

t = Tap()
env = Env()
A = env.admin
V = env.api("POST", "/api/v1/tokens", A, {"name": "viewer", "role": "viewer"})[1]["token"]
CLI = os.path.join(BUILDDIR, "custos")
URL = "http://127.0.0.1:%d" % env.server.port
HOME = os.path.join(env.tmp, "home")
os.makedirs(HOME)
aid, atok = env.make_agent("web01")
sshd = env.make_check(aid, "sshd", max_attempts=1)
disk = env.make_check(aid, "disk", max_attempts=1)
env.post_results(atok, [{"check_id": sshd, "status": 2, "output": "sshd is gone", "value": 0},
                        {"check_id": disk, "status": 0, "output": "disk ok", "value": 40}])


def run(*args, token=A, url=URL, extra_env=None):
    e = {"HOME": HOME, "PATH": os.environ.get("PATH", "/usr/bin:/bin")}
    if token is not None:
        e["CUSTOS_TOKEN"] = token
    if url is not None:
        e["CUSTOS_URL"] = url
    e.update(extra_env or {})
    for k in ("ASAN_OPTIONS", "UBSAN_OPTIONS"):
        if k in os.environ:
            e[k] = os.environ[k]
    p = subprocess.run([CLI] + list(args), capture_output=True, text=True, env=e, timeout=60)
    return p.returncode, p.stdout, p.stderr


# usage errors: exit 2, nothing sent
for args, why in [((), "no command"), (("frobnicate",), "an unknown command"),
                  (("ack", "web01"), "ack without /CHECK"),
                  (("downtime", "web01"), "downtime without --for"),
                  (("downtime", "web01", "--for", "2x"), "a bad duration"),
                  (("ack", "web01/sshd", "--expires", "soon"), "a bad --expires"),
                  (("status", "extra"), "status with an argument"),
                  (("tokens", "create", "x", "root"), "a bad role"),
                  (("status", "--bogus"), "an unknown option")]:
    rc, out, err = run(*args)
    t.ok(rc == 2 and "usage:" in err, "%s: exit 2 with the usage" % why, (rc, err))
rc, out, err = run("status", token=None, url=None)
t.ok(rc == 2 and "CUSTOS_URL" in err, "no configuration: exit 2 saying what is missing", err)
rc, out, err = run("--help")
t.ok(rc == 0 and "custos [--json] COMMAND" in out, "--help: exit 0")

# custos help is made from the command table (cli/main.c): every row of it
# is listed, each command (and verb) named once, and it needs no server
src = open(os.path.join(SRCDIR, "cli", "main.c")).read()
table = src[src.index("const struct cli_cmd cli_cmds[]"):]
table = table[:table.index("{ NULL, NULL")]
rows = re.findall(r'\{\s*"([a-z-]+)",\s*(?:NULL|"([a-z-]+)"),', table)
rc, out, err = run("help", token=None, url=None)
listed = [ln.split()[:2] for ln in out.splitlines() if re.match(r"  [a-z]", ln)]
missing = [(n, v) for n, v in rows
           if not any(x[0] == n and (not v or (len(x) > 1 and x[1] == v)) for x in listed)]
t.ok(rc == 0 and len(rows) >= 13 and not missing and out.startswith("usage: custos"),
     "custos help lists every command of the table (%d rows)" % len(rows), (rc, missing, out))
t.eq(len(set(rows)), len(rows), "each command and verb is one row of the table")

# status, problems
rc, out, err = run("status")
t.ok(rc == 0 and "1 CRITICAL" in out and "1 OK" in out and "web01/sshd" in out,
     "status: counts and problems", out + err)
t.ok("\033[" not in out, "no colour when not on a terminal")
rc, out, err = run("status", "--json")
st = json.loads(out)
api = env.api("GET", "/api/v1/status", A)[1]
t.eq(st["counts"], api["counts"], "status --json prints the API's JSON")
rc, out, err = run("problems")
lines = out.splitlines()
t.ok(rc == 0 and lines[0].startswith("STATUS") and "CRITICAL" in lines[1] and "web01/sshd" in lines[1]
     and "sshd is gone" in lines[1], "problems: a table", out)
rc, out, err = run("--json", "problems")
t.eq([p["id"] for p in json.loads(out)], [sshd], "problems --json")

# agents, checks, history
rc, out, err = run("agents")
t.ok(rc == 0 and re.search(r"^web01\s+new", out, re.M), "agents: a table", out)
rc, out, err = run("checks", "web01")
t.ok(rc == 0 and "web01/sshd" in out and "web01/disk" in out, "checks AGENT", out)
rc, out, err = run("checks")
t.ok(rc == 0 and "web01/disk" in out, "checks (all)")
rc, out, err = run("checks", "nosuch")
t.ok(rc == 1 and "no agent named" in err, "checks of an unknown agent: exit 1", err)
rc, out, err = run("history", "web01/sshd")
t.ok(rc == 0 and "CRITICAL" in out and "sshd is gone" in out, "history AGENT/CHECK", out)
rc, out, err = run("history", "web01/sshd", "--json")
t.eq(len(json.loads(out)["items"]), 1, "history --json")
rc, out, err = run("history", "web01/nosuch")
t.ok(rc == 1 and "no check named" in err, "history of an unknown check: exit 1", err)

# ack, unack
rc, out, err = run("ack", "web01/sshd", "-m", "on it", token=V)
t.ok(rc == 1 and "admin" in err and "HTTP 403" in err, "a viewer's ack: exit 1 with the API's error", err)
rc, out, err = run("ack", "web01/sshd", "-m", "alice is on it", "--expires", "2h")
t.ok(rc == 0 and "acknowledged until" in out, "ack -m --expires", out + err)
c = env.api("GET", "/api/v1/checks/%d" % sshd, A)[1]
t.eq(c["state"]["acknowledged"], True, "the check is acknowledged")
rc, out, err = run("unack", "web01/sshd")
t.eq(rc, 0, "unack")
c = env.api("GET", "/api/v1/checks/%d" % sshd, A)[1]
t.eq(c["state"]["acknowledged"], False, "the acknowledgement is gone")
rc, out, err = run("ack", "web01/disk", "-m", "x")
t.ok(rc == 1 and "(HTTP" in err, "ack of an OK check is refused by the API: exit 1", err)

# downtime
rc, out, err = run("downtime", "web01/disk", "--for", "1h30m", "-m", "disk swap")
t.ok(rc == 0 and "in downtime until" in out, "downtime AGENT/CHECK --for", out + err)
rc, out, err = run("downtime", "web01", "--for", "2h", "--json")
dt = json.loads(out)
t.ok(rc == 0 and dt["agent_id"] == aid, "downtime AGENT --for --json", out)
dts = env.api("GET", "/api/v1/downtimes", A)[1]["items"]
t.eq(sorted(repr((d["check_id"], d["agent_id"], d["comment"])) for d in dts),
     sorted([repr((disk, None, "disk swap")), repr((None, aid, ""))]), "both downtimes stored")
rc, out, err = run("downtime", "nosuch", "--for", "1h")
t.ok(rc == 1 and "no agent named" in err, "downtime of an unknown agent: exit 1")

# events
rc, out, err = run("events")
t.ok(rc == 0 and "PROBLEM" in out and "web01/sshd" in out, "events: the recent ones", out)
rc, out, err = run("events", "--json")
t.ok(any(e["kind"] == "PROBLEM" for e in json.loads(out)["items"]), "events --json")

# the two downtimes' DOWNTIME START events come from the jobs' tick, a
# moment after the downtimes were made: wait for them, so that no event but
# the test's own is written while events -f starts
t.ok(wait_for(lambda: sum(x["kind"] == "DOWNTIME START" for x in
                          env.api("GET", "/api/v1/events?limit=1000", A)[1]["items"]) == 2, 30),
     "both downtimes have started (their events written)")


# the window between events -f's two requests (the status's newest id, then
# the list from there), held open: sshd recovers in it, so its RECOVERY is
# in the list, and the stream must go on after it, not print it again
written = threading.Event()


def between(line):
    if line.startswith("GET /api/v1/events?since_id=") and not written.is_set():
        env.post_results(atok, [{"check_id": sshd, "status": 0, "output": "sshd back"}])
        written.set()


e = {"HOME": HOME, "CUSTOS_URL": Relay(env.server.port, before=between).url, "CUSTOS_TOKEN": V,
     "PATH": os.environ.get("PATH", "")}
for k in ("ASAN_OPTIONS", "UBSAN_OPTIONS"):
    if k in os.environ:
        e[k] = os.environ[k]
p = subprocess.Popen([CLI, "events", "-f", "--json"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                     text=True, env=e)


lines_q = queue.Queue()
threading.Thread(target=lambda: [lines_q.put(x) for x in p.stdout], daemon=True).start()


def next_line(timeout=20):
    try:
        return lines_q.get(timeout=timeout)
    except queue.Empty:
        return None


t.ok(wait_for(written.is_set, 30), "sshd recovered between events -f's status read and its list")
known = [x["id"] for x in env.api("GET", "/api/v1/events?limit=1000", A)[1]["items"]]
before = []
while len(before) < len(known):
    ln = next_line()
    if ln is None:
        break
    before.append(json.loads(ln)["id"])
t.eq(before, known, "events -f prints the recent events first, the RECOVERY written between"
     " its two requests included")
env.post_results(atok, [{"check_id": sshd, "status": 2, "output": "sshd is gone again"}])
ln = next_line()
ev = json.loads(ln) if ln else None
t.ok(ev and ev["kind"] == "PROBLEM" and ev["check_id"] == sshd,
     "events -f: the next event comes from the stream (the RECOVERY in the list is not"
     " printed again)", ev)
p.terminate()
p.wait(10)
p.stderr.close()

# what a check printed (a plugin, a log line) reaches the terminal as text:
# ESC ] 0 ; ... BEL retitles the window, ESC [ 2K CR ESC [ 32m redraws the
# row as a green OK; C1 CSI (U+009B), DEL and a right-to-left override too
motd = env.make_check(aid, "motd", max_attempts=1)
motd2 = env.make_check(aid, "motd2", max_attempts=1)
evil = "\x1b]0;pwned\x07\x1b[2K\r\x1b[32mOK"
shown = "\\x1b]0;pwned\\x07\\x1b[2K\\x0d\\x1b[32mOK"
evil2 = "C1 \u009b31m del \x7f rlo \u202eKO\ttab"
shown2 = "C1 \\u009b31m del \\x7f rlo \\u202eKO\\x09tab"
env.post_results(atok, [{"check_id": motd, "status": 2, "output": "placeholder\nsecond line"},
                        {"check_id": motd2, "status": 2, "output": "placeholder2"}])
# serverd escapes control characters when it stores an output
# (docs/api.md), so only a row stored before it did, or written past it,
# holds them raw: the CLI must show those as text too. Written here with
# PostgreSQL's own escapes (E'...').
for table in ("check_history", "events"):
    env.cluster.psql("UPDATE %s SET output = replace(output, 'placeholder', "
                "E'\\x1b]0;pwned\\x07\\x1b[2K\\r\\x1b[32mOK') WHERE check_id = %d AND output IS NOT NULL"
                % (table, motd))
    env.cluster.psql("UPDATE %s SET output = E'C1 \\u009b31m del \\x7f rlo \\u202eKO\\ttab' "
                "WHERE check_id = %d AND output IS NOT NULL" % (table, motd2))
raw = [chr(c) for c in list(range(0, 0x20)) + [0x7f] + list(range(0x80, 0xa0))] + ["\u202e"]
for args in (("problems",), ("checks", "web01"), ("history", "web01/motd"),
             ("history", "web01/motd2"), ("events",)):
    rc, out, err = run(*args)
    lines = out.splitlines()
    t.ok(rc == 0 and any(shown in x or shown2 in x for x in lines) and
         not any(c in out for c in raw if c != "\n"),
         "%s: a stored escape sequence is shown as text" % " ".join(args), repr(out))
rc, out, err = run("history", "web01/motd", "--json")
t.ok(rc == 0 and "\x1b" not in out and json.loads(out)["items"][0]["output"].startswith(evil),
     "--json: the output as JSON (ESC escaped by JSON itself)", repr(out[:300]))

# tokens
rc, out, err = run("tokens")
t.ok(rc == 0 and re.search(r"^admin\s+admin", out, re.M) and re.search(r"^viewer\s+viewer", out, re.M),
     "tokens: the list", out)
rc, out, err = run("tokens", token=V)
t.ok(rc == 1 and "HTTP 403" in err, "tokens as a viewer: exit 1")
rc, out, err = run("tokens", "create", "ci", "viewer")
tok = out.strip()
t.ok(rc == 0 and re.fullmatch(r"[0-9a-f]{64}", tok), "tokens create NAME ROLE prints the token", out)
t.eq(env.api("GET", "/api/v1/status", tok)[0], 200, "the new token works")
rc, out, err = run("tokens", "create", "ci", "viewer")
t.ok(rc == 1 and "already exists" in err, "a duplicate name: exit 1 with the API's error", err)
rc, out, err = run("tokens", "revoke", "ci")
t.eq(rc, 0, "tokens revoke NAME")
t.eq(env.api("GET", "/api/v1/status", tok)[0], 401, "the revoked token is refused")
rc, out, err = run("tokens", "revoke", "ci")
t.ok(rc == 1 and "no token named" in err, "revoking an unknown name: exit 1")

# the configuration file
cfdir = os.path.join(HOME, ".config", "custos")
os.makedirs(cfdir)
tokf = os.path.join(HOME, "tok")
with open(tokf, "w") as f:
    f.write(V + "\n")
with open(os.path.join(cfdir, "cli.conf"), "w") as f:
    f.write("# test\nurl = %s/\ntoken_file = %s\n" % (URL, tokf))
# the token file is read as custos-agentd reads its own: its owner's only
for mode, why in ((0o644, "world-readable"), (0o640, "group-readable"),
                  (0o602, "world-writable")):
    os.chmod(tokf, mode)
    rc, out, err = run("status", token=None, url=None)
    t.ok(rc == 2 and "chmod 600" in err and V not in err + out,
         "a %s token file (%04o) is refused, saying how to fix it" % (why, mode), err)
os.chmod(tokf, 0o600)
rc, out, err = run("status", token=None, url=None)
t.ok(rc == 0 and "CRITICAL" in out, "cli.conf: url = and token_file = (mode 0600)", err)
if os.geteuid() == 0:
    os.chown(tokf, 65534, -1)
    rc, out, err = run("status", token=None, url=None)
    t.ok(rc == 2 and "chown" in err, "a token file another user owns is refused", err)
    os.chown(tokf, 0, -1)
with open(os.path.join(cfdir, "cli.conf"), "a") as f:
    f.write("colour = yes\n")
rc, out, err = run("status", token=None, url=None)
t.ok(rc == 2 and "colour" in err, "an unknown key in cli.conf: exit 2 naming it", err)
# cli.conf is read whenever it exists (for ca_file); the environment wins
with open(os.path.join(cfdir, "cli.conf"), "w") as f:
    f.write("url = http://127.0.0.1:1\ntoken_file = %s\n" % tokf)
rc, out, err = run("status")
t.ok(rc == 0 and "CRITICAL" in out, "CUSTOS_URL and CUSTOS_TOKEN override cli.conf", err)
os.unlink(os.path.join(cfdir, "cli.conf"))

# an unreachable server, an unknown token
rc, out, err = run("status", url="http://127.0.0.1:1")
t.ok(rc == 1 and "127.0.0.1:1" in err, "an unreachable server: exit 1 saying so", err)
rc, out, err = run("status", token="0" * 64)
t.ok(rc == 1 and "unknown token (HTTP 401)" in err, "an unknown token: exit 1", err)

# the URL: http(s) only, user:password never printed, plain http to
# another host warned about
for url in ("ftp://127.0.0.1/", "file:///etc/passwd", "127.0.0.1:%d" % env.server.port,
            "gopher://127.0.0.1:%d" % env.server.port):
    rc, out, err = run("status", url=url)
    t.ok(rc == 2 and "http://" in err and "https://" in err,
         "%s: refused, exit 2" % url, (rc, err))
rc, out, err = run("status", url="http://alice:s3cretpw@127.0.0.1:1/")
t.ok(rc == 1 and "127.0.0.1:1" in err and "s3cretpw" not in err + out and "alice" not in err,
     "user:password@ in the URL: never printed, even in an error", err)
rc, out, err = run("status", url="http://alice:s3cretpw@127.0.0.1:%d" % env.server.port)
t.ok(rc == 0 and "s3cretpw" not in err + out, "and it works, printing none of it", err)
rc, out, err = run("status", url="http://alice:s3cretpw@0.0.0.0:1")
t.ok(rc == 1 and "warning" in err and "plain http" in err and "s3cretpw" not in err,
     "plain http to another host than this one: a warning", err)
for url in (URL, "http://localhost:%d" % env.server.port):
    rc, out, err = run("status", url=url)
    t.ok(rc == 0 and "warning" not in err, "no warning for %s" % url, err)

# https with a private CA: --ca-file, CUSTOS_CA_FILE, ca_file in cli.conf
from harness import Server  # noqa: E402
key, crt = os.path.join(env.tmp, "k.pem"), os.path.join(env.tmp, "c.pem")
subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                "-keyout", key, "-out", crt], capture_output=True, check=True)
tls = Server(env.tmp, env.cluster, name="serverd-tls",
             conf={"tls_cert": crt, "tls_key": key}).start(wait=False)
TURL = "https://127.0.0.1:%d" % tls.port
t.ok(wait_for(lambda: run("status", url=TURL, extra_env={"CUSTOS_CA_FILE": crt})[0] == 0, 30),
     "CUSTOS_CA_FILE: the private CA verifies the server")
rc, out, err = run("status", url=TURL)
t.ok(rc == 1 and "certificate" in err.lower(), "without it: refused, saying why", err)
rc, out, err = run("status", "--ca-file", crt, url=TURL)
t.ok(rc == 0 and "CRITICAL" in out, "--ca-file FILE", err)
with open(os.path.join(cfdir, "cli.conf"), "w") as f:
    f.write("ca_file = %s\n" % crt)
rc, out, err = run("status", url=TURL)
t.ok(rc == 0 and "CRITICAL" in out, "ca_file = in cli.conf", err)
rc, out, err = run("status", "--ca-file", os.path.join(env.tmp, "nosuch.pem"), url=TURL)
t.ok(rc == 1, "--ca-file wins over cli.conf (a missing file: refused)", err)
os.unlink(os.path.join(cfdir, "cli.conf"))

# ---- a command for every object: agents, checks, contacts, downtimes, tokens
# (list | show | create | edit | delete), names wherever the API takes ids


def js(*args, **kw):
    rc, out, err = run(*(args + ("--json",)), **kw)
    try:
        return rc, json.loads(out), err
    except ValueError:
        return rc, None, err


def api_get(path):
    return env.api("GET", path, A)


# contacts
rc, out, err = run("contacts", "create", "alice", "--email", "alice@example.com",
                   "--webhook-url", "https://chat.example.com/hook", "--notify-on", "critical,recovery")
t.ok(rc == 0 and "contact alice created" in out, "contacts create NAME --email --webhook-url --notify-on",
     out + err)
rc, c, err = js("contact", "show", "alice")
t.ok(rc == 0 and c["email"] == "alice@example.com" and c["notify_on"] == ["critical", "recovery"],
     "contact show NAME --json (the singular works too)", c)
alice = c["id"]
rc, out, err = run("contacts")
t.ok(rc == 0 and re.search(r"^alice\s+alice@example\.com\s+-\s+yes\s+critical,recovery", out, re.M),
     "contacts: a table", out)
rc, lst, err = js("contacts", "list")
t.eq([x["name"] for x in lst], ["alice"], "contacts list --json")
rc, out, err = run("contacts", "edit", "alice", "--webhook-url", "", "--name", "alice2")
c = api_get("/api/v1/contacts/%d" % alice)[1]
t.ok(rc == 0 and c["name"] == "alice2" and c.get("webhook_url") is None,
     "contacts edit --name, and \"\" clears a field", (out, err, c))
rc, out, err = run("contacts", "edit", str(alice), "--name", "alice")
t.ok(rc == 0 and api_get("/api/v1/contacts/%d" % alice)[1]["name"] == "alice", "an id works where a name does",
     err)
rc, out, err = run("contacts", "create", "alice", "--email", "a@example.com")
t.ok(rc == 1 and "(HTTP 409)" in err, "contacts create of a taken name: exit 1, the API's error", err)
rc, out, err = run("contacts", "create", "bob", "--email", "not an address")
t.ok(rc == 1 and "(HTTP 422)" in err, "contacts create with a bad address: exit 1", err)
rc, out, err = run("contacts", "edit", "alice")
t.ok(rc == 2 and "nothing to change" in err, "contacts edit without a change: exit 2", err)
rc, out, err = run("contacts", "show", "nosuch")
t.ok(rc == 1 and "no contact named" in err, "contacts show of an unknown name: exit 1", err)
rc, out, err = run("contacts", "create", "bob", "--email", "bob@example.com")
rc, out, err = run("contacts", "delete", "bob")
t.ok(rc == 0 and [x["name"] for x in api_get("/api/v1/contacts")[1]["items"]] == ["alice"],
     "contacts delete NAME", out + err)

# agents
rc, out, err = run("agent", "create", "web02", "--interval", "30", "--contacts", "alice")
m = re.search(r"echo ([0-9a-f]{64}) > /etc/custos/agent\.token", out)
t.ok(rc == 0 and m and ("\nserver = %s\n" % URL) in out and "\ntoken_file = /etc/custos/agent.token" in out,
     "agent create NAME: the token once, and the agentd.conf lines", out + err)
t.eq(env.api("GET", "/api/v1/agent/self", m.group(1) if m else "x")[0], 200, "the printed token is the agent's")
rc, ag, err = js("agents", "show", "web02")
t.ok(rc == 0 and ag["interval_s"] == 30 and ag["contacts"] == [alice] and "token" not in ag,
     "agents show NAME --json: --interval and --contacts (by name) were set", ag)
rc, ag, err = js("agents", "create", "web03")
t.ok(rc == 0 and re.fullmatch(r"[0-9a-f]{64}", ag.get("token", "")), "agents create --json: the API's answer", ag)
rc, out, err = run("agents", "edit", "web03", "--name", "web04", "--interval", "120")
ag = [x for x in api_get("/api/v1/agents")[1]["items"] if x["name"] == "web04"]
t.ok(rc == 0 and ag and ag[0]["interval_s"] == 120, "agents edit --name --interval", out + err)
rc, out, err = run("agents", "edit", "web04", "--interval", "3")
t.ok(rc == 2 and "5 to 86400" in err, "agents edit --interval out of range: exit 2", err)
rc, out, err = run("agents", "list")
t.ok(rc == 0 and re.search(r"^web02\s+new", out, re.M) and re.search(r"^web04\s", out, re.M),
     "agents list", out)
rc, out, err = run("agents", "show", "web02")
t.ok(rc == 0 and re.search(r"^interval_s\s+30$", out, re.M) and re.search(r"^name\s+web02$", out, re.M),
     "agents show: one line per field", out)
rc, out, err = run("agents", "create", "web02")
t.ok(rc == 1 and "(HTTP 409)" in err, "agents create of a taken name: exit 1", err)
rc, out, err = run("agents", "create", "web05", "--contacts", "nosuch")
t.ok(rc == 1 and "no contact named" in err and not any(x["name"] == "web05" for x in
                                                        api_get("/api/v1/agents")[1]["items"]),
     "an unknown contact: exit 1, no agent made", err)
rc, out, err = run("agents", "create", "v1", token=V)
t.ok(rc == 1 and "HTTP 403" in err, "agents create as a viewer: exit 1", err)
rc, out, err = run("agents", "show", "web02", "--interval", "30")
t.ok(rc == 2 and "--interval goes with" in err, "an option the command does not take: exit 2", err)
rc, out, err = run("agents", "show", str(aid))
t.ok(rc == 0 and re.search(r"^name\s+web01$", out, re.M), "agents show ID", out + err)

# checks
rc, out, err = run("checks", "create", "web02/root", "--type", "disk", "--param", "path=/",
                   "--warning", "85", "--critical", "95", "--attempts", "2", "--contacts", "alice")
t.ok(rc == 0 and "check web02/root created" in out, "checks create AGENT/CHECK --type --param ...", out + err)
rc, c, err = js("check", "show", "web02/root")
t.ok(rc == 0 and c["type"] == "disk" and c["params"] == {"path": "/"} and c["warning"] == "85" and
     c["critical"] == "95" and c["max_attempts"] == 2 and c["contacts"] == [alice],
     "checks show AGENT/CHECK --json", c)
root = c["id"]
rc, out, err = run("checks", "edit", "web02/root", "--critical", "98", "--disable", "--warning", "")
c = api_get("/api/v1/checks/%d" % root)[1]
t.ok(rc == 0 and c["critical"] == "98" and c["enabled"] is False and c["warning"] is None and
     c["params"] == {"path": "/"}, "checks edit --critical --disable, --warning \"\" clears", (err, c))
rc, out, err = run("checks", "edit", "web02/root", "--param", "path=/var", "--enable")
c = api_get("/api/v1/checks/%d" % root)[1]
t.ok(rc == 0 and c["params"]["path"] == "/var" and c["enabled"] is True, "checks edit --param --enable",
     (err, c))
rc, out, err = run("checks", "list", "web02")
t.ok(rc == 0 and "web02/root" in out and "web01/sshd" not in out, "checks list AGENT", out)
# the columns hold the longest type name ("heartbeat"): every row's STATUS
# starts where the header's does
rc, out, err = run("checks", "create", "web02/beat", "--type", "heartbeat", "--param", "schedule=every 1m")
t.ok(rc == 0, "checks create --type heartbeat", out + err)
rc, out, err = run("checks", "list", "web02")
rows = out.splitlines()
col = rows[0].find("STATUS") if rows else -1
t.ok(rc == 0 and col > 0 and len(rows) == 3 and
     all(r[col - 1] == " " and r[col:col + 2] in ("OK", "PE", "CR", "WA", "UN") for r in rows[1:]),
     "checks list: the STATUS column lines up under a heartbeat check's type", out)
# a name longer than the 32 columns CHECK starts with widens it (as the
# problems list does): TYPE still lines up
long = "a-check-with-a-long-name-0123456789a"   # 36 characters
rc, out, err = run("checks", "create", "web02/" + long, "--type", "heartbeat", "--param", "schedule=every 1m")
t.ok(rc == 0, "checks create with a 36-character name", out + err)
rc, out, err = run("checks", "list", "web02")
rows = out.splitlines()
col = rows[0].find("TYPE") if rows else -1
t.ok(rc == 0 and col == len("web02/" + long) + 1 and len(rows) == 4 and
     all(r[col - 1] == " " and r[col:col + 4] in ("hear", "disk") for r in rows[1:]),
     "checks list: CHECK as wide as its longest name, TYPE lined up under it", out)
rc, out, err = run("checks", "delete", "web02/" + long)
t.ok(rc == 0, "checks delete the long one", out + err)
rc, out, err = run("checks", "delete", "web02/beat")
t.ok(rc == 0, "checks delete web02/beat", out + err)
rc, out, err = run("checks", "create", "web02/x", "--type", "nosuchtype")
t.ok(rc == 1 and "(HTTP 422)" in err, "checks create of an unknown type: exit 1, the API's error", err)
for args, why in ((("checks", "create", "web02/x"), "without --type"),
                  (("checks", "create", "web02", "--type", "disk"), "without /CHECK"),
                  (("checks", "create", "web02/x", "--type", "disk", "--param", "novalue"), "a bad --param"),
                  (("checks", "edit", "web02/root", "--enable", "--disable"), "--enable and --disable"),
                  (("checks", "edit", "web02/root"), "nothing to change")):
    rc, out, err = run(*args)
    t.ok(rc == 2 and "usage:" in err, "checks %s: exit 2" % why, err)
rc, out, err = run("checks", "delete", "web02/root")
t.ok(rc == 0 and api_get("/api/v1/checks/%d" % root)[0] == 404, "checks delete AGENT/CHECK", out + err)
rc, out, err = run("checks", "delete", "web02/root")
t.ok(rc == 1 and "no check named" in err, "checks delete of an unknown check: exit 1", err)

# downtimes
rc, out, err = run("downtime", "web02", "--start", "+1h", "--end", "+3h", "--comment", "window")
t.ok(rc == 0 and "in downtime until" in out, "downtime AGENT --start --end --comment", out + err)
rc, lst, err = js("downtimes", "web02")
t.ok(rc == 0 and len(lst) == 1 and lst[0]["comment"] == "window" and lst[0]["active"] is False,
     "downtimes AGENT --json: the one to come", lst)
later = lst[0]["id"]
rc, lst, err = js("downtimes", "--active")
t.ok(rc == 0 and lst and later not in [d["id"] for d in lst] and all(d["active"] for d in lst),
     "downtimes --active", lst)
rc, out, err = run("downtimes")
t.ok(rc == 0 and re.search(r"^%d\s+web02\s.*\sno\s+window$" % later, out, re.M) and
     re.search(r"\sweb01/disk\s", out), "downtimes: a table naming agents and checks", out)
rc, d, err = js("downtimes", "show", str(later))
t.ok(rc == 0 and d["id"] == later and d["agent_id"] is not None, "downtimes show ID --json", d)
rc, out, err = run("downtimes", "create", "web01/disk", "--for", "10m")
t.ok(rc == 0 and "in downtime until" in out, "downtimes create AGENT/CHECK --for", out + err)
for args, why in ((("downtime", "web02", "--for", "1h", "--end", "+2h"), "--for and --end"),
                  (("downtime", "web02", "--start", "+2h", "--end", "+1h"), "an end before the start"),
                  (("downtime", "web02", "--end", "tomorrow"), "a bad time"),
                  (("downtime", "web02", "--cancel", "1"), "--cancel with an agent"),
                  (("downtime", "--cancel", "x"), "a bad --cancel ID"),
                  (("downtimes", "show", "abc"), "a bad ID")):
    rc, out, err = run(*args)
    t.ok(rc == 2 and "usage:" in err, "downtime %s: exit 2" % why, err)
rc, out, err = run("downtime", "--cancel", str(later))
t.ok(rc == 0 and "cancelled" in out and api_get("/api/v1/downtimes/%d" % later)[0] == 404,
     "downtime --cancel ID", out + err)
rc, out, err = run("downtime", "--cancel", str(later))
t.ok(rc == 1 and "(HTTP 404)" in err, "cancelling it again: exit 1", err)
rc, lst, err = js("downtimes", "web01/disk")
rc, out, err = run("downtimes", "delete", str(lst[0]["id"]))
t.ok(rc == 0 and api_get("/api/v1/downtimes/%d" % lst[0]["id"])[0] == 404, "downtimes delete ID", out + err)

# tokens
rc, tk, err = js("tokens", "show", "viewer")
t.ok(rc == 0 and tk["role"] == "viewer" and "token" not in tk, "tokens show NAME --json (never the token)", tk)
rc, out, err = run("token", "show", "viewer")
t.ok(rc == 0 and re.search(r"^role\s+viewer$", out, re.M), "token show NAME", out + err)
rc, lst, err = js("tokens", "list")
t.ok(rc == 0 and sorted(x["name"] for x in lst) == ["admin", "viewer"], "tokens list --json", lst)
rc, out, err = run("tokens", "create", "ci2", "admin")
rc, out, err = run("tokens", "delete", "ci2")
t.ok(rc == 0 and "ci2" not in [x["name"] for x in api_get("/api/v1/tokens")[1]["items"]], "tokens delete NAME",
     err)
rc, out, err = run("tokens", "edit", "viewer")
t.ok(rc == 2 and "unknown subcommand" in err, "tokens edit: none (the API cannot change a token)", err)

# labels and selectors (docs/api.md): --labels sets them whole, --selector filters the lists
rc, out, err = run("agents", "create", "lab1", "--labels", "role=web,env=prod")
ok, ag, _ = api_get("/api/v1/agents?selector=role%3Dweb")
names = [x["name"] for x in ag["items"]] if ok == 200 else []
t.ok(rc == 0 and names == ["lab1"], "agents create --labels: the agent carries them", (rc, err, names))
rc, out, err = run("agents", "edit", "lab1", "--labels", "role=db")
rc2, lst, err2 = js("agents", "list", "--selector", "role in (db,api),env!=dev")
t.ok(rc == 0 and rc2 == 0 and [x["name"] for x in lst] == ["lab1"]
     and lst[0].get("labels") == {"role": "db"},
     "agents edit --labels replaces them; agents list --selector filters", (rc, err, lst))
rc, out, err = run("checks", "create", "lab1/root", "--type", "disk", "--param", "path=/",
                   "--labels", "tier=os")
rc2, out2, err2 = run("checks", "--selector", "tier=os")
rc3, out3, err3 = run("checks", "lab1", "--selector", "tier=nosuch")
t.ok(rc == 0 and rc2 == 0 and "lab1/root" in out2 and "web02/" not in out2
     and rc3 == 0 and "lab1/root" not in out3,
     "checks create --labels; checks [AGENT] --selector", (rc, err, out2, out3))
for args, why in ((("agents", "create", "lab2", "--labels", "Bad Key=x"), "a bad label key"),
                  (("agents", "create", "lab2", "--labels", "a=1,a=2"), "a key twice"),
                  (("status", "--selector", "a=b"), "--selector with a command that does not take it")):
    rc, out, err = run(*args)
    t.ok(rc == 2 and "usage:" in err, "%s: exit 2, nothing sent" % why, (rc, err))
rc, out, err = run("agents", "--selector", "role=(")
t.ok(rc == 1 and "selector" in err, "a selector the server refuses: exit 1 with its error", (rc, err))
t.ok(not any(x["name"] == "lab2" for x in api_get("/api/v1/agents")[1]["items"]),
     "nothing was created by the refused commands")

# agents delete, last: its checks go with it
rc, out, err = run("agents", "delete", "web04")
t.ok(rc == 0 and not any(x["name"] == "web04" for x in api_get("/api/v1/agents")[1]["items"]),
     "agents delete NAME", out + err)
rc, out, err = run("agents", "delete", "web04")
t.ok(rc == 1 and "no agent named" in err, "agents delete of an unknown name: exit 1", err)
t.done()
