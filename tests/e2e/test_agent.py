"""test_agent.py - custos-agentd against a real custos-serverd + PostgreSQL:
--once (with the 304 path on the second run), the token file rule, the
spool across a server outage (delivered once, resends are duplicates),
a process killed between runs turning CRITICAL, the daemon for a few
cycles with SIGHUP and SIGTERM, and the serverless --local/--test modes."""
import json
import os
import re
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import *  # noqa: E402,F403

t = Tap()
if not os.access(AGENTD, os.X_OK):
    t.bail("custos-agentd not built at " + AGENTD)
env = Env()
tmp = env.tmp


def agent_files(name, token, mode=0o600, extra=None):
    d = os.path.join(tmp, name)
    os.makedirs(os.path.join(d, "state"), exist_ok=True)
    tok = os.path.join(d, "token")
    with open(tok, "w") as f:
        f.write(token + "\n")
    os.chmod(tok, mode)
    conf = os.path.join(d, "agentd.conf")
    settings = {
        "server": "http://127.0.0.1:%d" % env.server.port,
        "token_file": tok,
        "state_dir": os.path.join(d, "state"),
        "plugin_dir": os.path.join(SRCDIR, "tests", "fixtures", "plugins"),
        "timeout_s": "5",
        "jitter_s": "0",
        "log_level": "debug",
    }
    settings.update(extra or {})
    with open(conf, "w") as f:
        for k, v in settings.items():
            f.write("%s = %s\n" % (k, v))
    return conf, os.path.join(d, "state")


def once(conf):
    return subprocess.run([AGENTD, "-c", conf, "--once"], capture_output=True,
                          text=True, timeout=60)


def state_of(cid):
    st, c, _ = env.api("GET", "/api/v1/checks/%d" % cid, env.admin)
    return c.get("state") or {} if st == 200 else {}


def history(cid):
    st, h, _ = env.api("GET", "/api/v1/checks/%d/history?limit=1000" % cid, env.admin)
    return h["items"] if st == 200 else []


# ---- --once -------------------------------------------------------------
aid, token = env.make_agent("web01", interval_s=60)
c_load = env.make_check(aid, "load", "load", {"period": 1}, warning="1000", critical="2000",
                        max_attempts=1)
c_mem = env.make_check(aid, "memory", "memory", {}, max_attempts=1)
c_disk = env.make_check(aid, "disk", "disk", {"path": "/"}, max_attempts=1)
# the process the server runs as: custos-serverd, or valgrind's tool under
# scripts/check --valgrind
SERVERD_COMM = "memcheck-amd64-" if os.environ.get("CUSTOS_VALGRIND") else "custos-serverd"
c_proc = env.make_check(aid, "serverd", "process", {"name": SERVERD_COMM}, max_attempts=1)
c_plug = env.make_check(aid, "plugin", "plugin", {"command": "warn.sh"}, max_attempts=1)
conf, state = agent_files("web01", token)

r = once(conf)
t.eq(r.returncode, 0, "--once exits 0 when delivered")
if r.returncode:
    t.diag(r.stderr)
s = state_of(c_load)
t.eq(s.get("status"), "OK", "load check state is OK")
t.ok(s.get("output", "").startswith("LOAD OK - "), "load output is the check's line",
     s.get("output"))
t.eq(state_of(c_proc).get("status"), "OK", "serverd's own process is found")
t.eq(state_of(c_plug).get("status"), "WARNING", "plugin exit code 1 is WARNING")
t.ok(str(state_of(c_mem).get("value", "")) != "", "memory value stored")
h = history(c_disk)
t.eq(len(h), 1, "one history item for disk after one run")
t.ok(h and h[0].get("result_id"), "history carries the agent's result_id")
t.ok(h and h[0].get("perfdata", "").startswith("/="), "perfdata stored", h[:1])
st, a, _ = env.api("GET", "/api/v1/agents/%d" % aid, env.admin)
t.eq(a.get("state"), "up", "agent is up after checkout")
t.ok(isinstance(a.get("facts"), dict) and a["facts"].get("hostname"), "facts sent at checkout",
     a.get("facts"))
t.ok(os.path.exists(os.path.join(state, "checks.json")), "check list cached in state_dir")

r = once(conf)
t.eq(r.returncode, 0, "second --once exits 0")
t.ok("/api/v1/agent/self/checks -> 304" in r.stderr, "second run downloads checks through 304",
     r.stderr[-2000:])
t.eq(len(history(c_disk)), 2, "two history items after two runs")

# ---- the token file must not be world-readable ----------------------------
os.chmod(os.path.join(tmp, "web01", "token"), 0o644)
r = once(conf)
t.ok(r.returncode != 0, "world-readable token file: refused")
t.ok("chmod 600" in r.stderr, "and says how to fix it", r.stderr)
os.chmod(os.path.join(tmp, "web01", "token"), 0o600)

# a wrong token: a clear message, non-zero
bad_conf, _ = agent_files("bad", "0" * 64)
r = once(bad_conf)
t.ok(r.returncode != 0, "unknown token: --once fails")
t.ok("refused this agent's token" in r.stderr, "and says why", r.stderr[-1000:])

# bad configuration: file:line and reason, exit 2
badc = os.path.join(tmp, "bad.conf")
with open(badc, "w") as f:
    f.write("server = http://x\ntimeout_s = lots\n")
r = subprocess.run([AGENTD, "-c", badc, "--once"], capture_output=True, text=True)
t.eq(r.returncode, 2, "bad config value: exit 2")
t.ok(badc + ":2: timeout_s" in r.stderr, "names file:line and key", r.stderr)

# ---- spool across an outage -------------------------------------------------
env.server.stop()
r = once(conf)
t.eq(r.returncode, 0, "server down: --once still exits 0 (results spooled)")
if r.returncode:
    t.diag(r.stderr[-2000:])
spool = os.path.join(state, "spool.jsonl")
t.ok(os.path.exists(spool), "spool file written")
with open(spool) as f:
    spooled = [json.loads(x) for x in f if x.strip()]
t.eq(len(spooled), 5, "one spooled result per check")
t.ok(all(x.get("result_id") for x in spooled), "spooled results keep their result_id")
env.server.start()
r = once(conf)
t.eq(r.returncode, 0, "server back: --once exits 0")
t.ok(not os.path.exists(spool), "spool emptied after delivery")
h = history(c_disk)
t.eq(len(h), 4, "spooled and new results stored exactly once")
ids = [x.get("result_id") for x in h]
t.eq(len(set(ids)), len(ids), "no result_id twice")
# resending the same spool is harmless: duplicates, not new rows
with open(spool, "w") as f:
    for x in spooled:
        f.write(json.dumps(x) + "\n")
r = once(conf)
t.eq(r.returncode, 0, "resend of an already delivered spool exits 0")
t.eq(len(history(c_disk)), 5, "resent results were duplicates (only the new run added)")

# ---- a process killed between runs -> CRITICAL ----------------------------
victim = subprocess.Popen(["sleep", "31337"])
c_victim = env.make_check(aid, "victim", "process", {"cmdline": "^sleep 31337$"}, max_attempts=1)
r = once(conf)
t.eq(state_of(c_victim).get("status"), "OK", "process running: OK")
victim.kill()
victim.wait()
r = once(conf)
s = state_of(c_victim)
t.eq(s.get("status"), "CRITICAL", "process killed between runs: CRITICAL")
t.ok("0 processes" in s.get("output", ""), "output says 0 processes", s.get("output"))

# ---- the daemon for a few cycles ------------------------------------------
aid2, token2 = env.make_agent("db01", interval_s=60)
c2 = env.make_check(aid2, "load", "load", {"period": 5}, max_attempts=1)
conf2, state2 = agent_files("db01", token2, extra={"interval_s": "1"})
logp = os.path.join(tmp, "db01", "agentd.log")
with open(logp, "w") as lf:
    d = subprocess.Popen([AGENTD, "-c", conf2], stdout=lf, stderr=lf)
got = wait_for(lambda: len(history(c2)) >= 3, timeout=15, step=0.2)
t.ok(got, "daemon posts a result every cycle", open(logp).read()[-2000:])
d.send_signal(signal.SIGHUP)
time.sleep(0.3)
t.ok(d.poll() is None, "daemon survives SIGHUP")
n_before = len(history(c2))
t.ok(wait_for(lambda: len(history(c2)) > n_before, timeout=10, step=0.2),
     "daemon keeps running after SIGHUP")
d.send_signal(signal.SIGTERM)
try:
    rc = d.wait(10)
except subprocess.TimeoutExpired:
    d.kill()
    rc = None
t.eq(rc, 0, "SIGTERM: daemon exits 0")
log = open(logp).read()
t.ok("configuration re-read" in log, "SIGHUP re-read the configuration", log[-1500:])
t.ok(log.count("-> 304") >= 2, "daemon cycles use the 304 path", log[-1500:])

# ---- serverless modes -----------------------------------------------------
local = os.path.join(tmp, "local.json")
with open(local, "w") as f:
    json.dump({"checks": [
        {"name": "load", "type": "load", "params": {"period": 1}, "critical": "1000"},
        {"name": "root", "type": "disk", "params": {"path": "/"}},
        {"name": "crit", "type": "plugin", "params": {"command": "crit.sh"}},
    ]}, f)
r = subprocess.run([AGENTD, "-c", conf, "--local", local], capture_output=True, text=True)
t.eq(r.returncode, 0, "--local exits 0")
lines = [json.loads(x) for x in r.stdout.splitlines()]
t.eq([x["name"] for x in lines], ["load", "root", "crit"], "--local prints one JSON line per check")
t.eq(lines[2]["status"], 2, "--local plugin result")
t.ok(lines[0]["output"].startswith("LOAD OK"), "--local output line", lines[0])
with open(local, "w") as f:
    json.dump([{"type": "nosuch"}], f)
r = subprocess.run([AGENTD, "-c", conf, "--local", local], capture_output=True, text=True)
t.eq(r.returncode, 2, "--local with an unknown type: exit 2")
t.ok("unknown check type" in r.stderr, "and says which", r.stderr)
r = subprocess.run([AGENTD, "-c", conf, "--test", "process", "name=" + SERVERD_COMM],
                   capture_output=True, text=True)
t.eq(r.returncode, 0, "--test exits with the Nagios status")
# other suites run their own serverd alongside (make -j2): count >= 1
t.ok(re.match(r"PROCS OK - \d+ process(es)? named '%s'" % SERVERD_COMM, r.stdout) is not None,
     "--test prints the line",
     r.stdout)
r = subprocess.run([AGENTD, "-c", conf, "--test", "tcp", "host=127.0.0.1", "port=1"],
                   capture_output=True, text=True)
t.eq(r.returncode, 2, "--test tcp refused is CRITICAL (2)")
t.done()
