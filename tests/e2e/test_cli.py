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
from harness import BUILDDIR, Env, Tap, wait_for  # noqa: E402

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

e = {"HOME": HOME, "CUSTOS_URL": URL, "CUSTOS_TOKEN": V, "PATH": os.environ.get("PATH", "")}
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


# the two downtimes' DOWNTIME START events come from the jobs' tick, a
# moment after the downtimes were made: wait for them, or one could arrive
# in the middle of what follows (it did, under valgrind)
t.ok(wait_for(lambda: sum(x["kind"] == "DOWNTIME START" for x in
                          env.api("GET", "/api/v1/events?limit=1000", A)[1]["items"]) == 2, 30),
     "both downtimes have started (their events written)")
known = [x["id"] for x in env.api("GET", "/api/v1/events?limit=1000", A)[1]["items"]]
before = []
while len(before) < len(known):
    ln = next_line()
    if ln is None:
        break
    before.append(json.loads(ln)["id"])
t.eq(before, known, "events -f prints the recent events first")
env.post_results(atok, [{"check_id": sshd, "status": 0, "output": "sshd back"}])
ln = next_line()
ev = json.loads(ln) if ln else None
t.ok(ev and ev["kind"] == "RECOVERY" and ev["check_id"] == sshd,
     "events -f: a new event arrives from the stream", ev)
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
env.post_results(atok, [{"check_id": motd, "status": 2, "output": evil + "\nsecond line"},
                        {"check_id": motd2, "status": 2, "output": evil2}])
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
t.done()
