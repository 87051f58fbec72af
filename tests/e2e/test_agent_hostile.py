"""test_agent_hostile.py - docs/agent.md end to end: custos-agentd --once against
a real custos-serverd + PostgreSQL on a hostile host. Results with invalid
UTF-8 arrive repaired; a 403 naming a foreign check drops only its results
and delivers the rest in the same run; the server answers 422 naming the
field to every pattern class and defaults a log check's max_attempts to 1;
a log outside log_dirs is UNKNOWN; --once is silent when all is well,
creates its state_dir 0700 and warns when cron runs it less often than the
server's interval_s. Every window is made, not waited for: the spool is
written by the test, last-run is set by the test."""
import json
import os
import re
import signal
import stat
import subprocess
import time
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import *  # noqa: E402,F403

t = Tap()
if not os.access(AGENTD, os.X_OK):
    t.bail("custos-agentd not built at " + AGENTD)
env = Env()
tmp = env.tmp


def agent_files(name, token, extra=None):
    d = os.path.join(tmp, name)
    os.makedirs(d, exist_ok=True)
    tok = os.path.join(d, "token")
    with open(tok, "w") as f:
        f.write(token + "\n")
    os.chmod(tok, 0o600)
    conf = os.path.join(d, "agentd.conf")
    state = os.path.join(d, "var", "state")   # missing: --once creates it
    settings = {
        "server": "http://127.0.0.1:%d" % env.server.port,
        "token_file": tok,
        "state_dir": state,
        "plugin_dir": os.path.join(SRCDIR, "tests", "fixtures", "plugins"),
        "log_dirs": os.path.join(d, "logs"),
        "timeout_s": "5",
        "jitter_s": "0",
    }
    settings.update(extra or {})
    with open(conf, "w") as f:
        for k, v in settings.items():
            f.write("%s = %s\n" % (k, v))
    os.makedirs(os.path.join(d, "logs"), exist_ok=True)
    return conf, state


def once(conf):
    return subprocess.run([AGENTD, "-c", conf, "--once"], capture_output=True,
                          text=True, timeout=60)


def state_of(cid):
    st, c, _ = env.api("GET", "/api/v1/checks/%d" % cid, env.admin)
    return c.get("state") or {} if st == 200 else {}


def history(cid):
    st, h, _ = env.api("GET", "/api/v1/checks/%d/history?limit=1000" % cid, env.admin)
    return h["items"] if st == 200 else []


# ---- the server's half: 422 for patterns, log max_attempts 1 ----------------
aid, token = env.make_agent("hostile01", interval_s=60)
bad = {
    "r" + "+" * 24: "stacked repetition",
    "(a)\\1": "back-references",
    "x" * 257: "longer than 256 bytes",
    "(.{255}){255}": "expand too far",
    "a{999}": "above 255",
}
for pat, why in bad.items():
    for type_, key, extra in (("log", "pattern", {"path": "/var/log/syslog"}),
                              ("process", "cmdline", {})):
        params = dict(extra)
        params[key] = pat
        st, body, _ = env.api("POST", "/api/v1/checks", env.admin,
                              {"agent_id": aid, "name": "p", "type": type_, "params": params})
        t.eq(st, 422, "%s %s %.20s...: 422" % (type_, key, pat))
        t.ok(body.get("field") == key and why in body.get("error", ""),
             "the answer names the field and the reason", body)

st, body, _ = env.api("POST", "/api/v1/checks", env.admin,
                      {"agent_id": aid, "name": "syslog", "type": "log",
                       "params": {"path": "/var/log/syslog", "pattern": "error"}})
t.eq(body.get("max_attempts"), 1, "a log check defaults to max_attempts 1")
env.api("DELETE", "/api/v1/checks/%d" % body["id"], env.admin)
st, body, _ = env.api("POST", "/api/v1/checks", env.admin,
                      {"agent_id": aid, "name": "sshd", "type": "process",
                       "params": {"name": "sshd"}})
t.eq(body.get("max_attempts"), 3, "other types keep 3")
env.api("DELETE", "/api/v1/checks/%d" % body["id"], env.admin)
st, body, _ = env.api("POST", "/api/v1/checks", env.admin,
                      {"agent_id": aid, "name": "syslog2", "type": "log", "max_attempts": 4,
                       "params": {"path": "/var/log/syslog", "pattern": "error"}})
t.eq(body.get("max_attempts"), 4, "an explicit max_attempts wins")
env.api("DELETE", "/api/v1/checks/%d" % body["id"], env.admin)

# ---- --once: silent, state_dir made 0700 -----------------------------------
c_latin = env.make_check(aid, "latin1", "plugin", {"command": "latin1.sh"}, max_attempts=1)
conf, state = agent_files("hostile01", token)
logdir = os.path.join(tmp, "hostile01", "logs")
outside = os.path.join(tmp, "outside.log")
with open(outside, "w") as f:
    f.write("secret\n")
c_out = env.make_check(aid, "outside", "log", {"path": outside, "pattern": "."})
inside = os.path.join(logdir, "app.log")
with open(inside, "w") as f:
    f.write("old\n")
c_in = env.make_check(aid, "inside", "log", {"path": inside, "pattern": "caf"})
t.ok(not os.path.exists(state), "state_dir does not exist before the first run")
r = once(conf)
t.eq(r.returncode, 0, "--once exits 0")
t.eq(r.stdout + r.stderr, "", "--once prints nothing when all is well")
t.ok(os.path.isdir(state), "--once created its state_dir")
t.eq(stat.S_IMODE(os.stat(state).st_mode), 0o700, "state_dir is mode 0700")

# ---- invalid UTF-8 arrives repaired -----------------------------------------
h = history(c_latin)
t.eq(len(h), 1, "the plugin's result with a Latin-1 byte was delivered")
t.eq(h[0].get("output") if h else None, "TEMP OK - temp\ufffdrature 21C",
     "the invalid byte became U+FFFD")
with open(inside, "a") as f:
    f.write("caf\xe9 au lait\n".encode("latin-1").decode("latin-1"))
with open(inside, "ab") as f:
    f.write(b"caf\xe9 noir\n")
r = once(conf)
t.eq(r.returncode, 0, "second --once exits 0")
s = state_of(c_in)
t.eq(s.get("status"), "CRITICAL", "the log line with a Latin-1 byte alerts (max_attempts 1)")
t.ok("caf\ufffd noir" in s.get("output", ""), "its output is repaired", s.get("output"))

# ---- a log outside log_dirs ------------------------------------------------
s = state_of(c_out)
t.eq(s.get("status"), "UNKNOWN", "a log outside log_dirs is UNKNOWN")
t.ok("outside the directories this agent may read" in s.get("output", ""),
     "and says why", s.get("output"))
t.ok("secret" not in s.get("output", ""), "nothing of it was read")

# ---- a 403 naming one check: the rest is delivered in the same run ---------
other_aid, _ = env.make_agent("someone-else", interval_s=60)
c_foreign = env.make_check(other_aid, "theirs", "load")
n_latin = len(history(c_latin))
spooled = []
for i, cid in enumerate([c_latin, c_foreign, c_latin, c_foreign]):
    spooled.append({"check_id": cid, "status": 0, "output": "spooled %d" % i,
                    "value": None, "perfdata": None,
                    "observed_at": time.strftime("%Y-%m-%dT%H:%M:%SZ",
                                                 time.gmtime(time.time() - 60 + i)),
                    "duration_ms": 1, "result_id": "spool-test-%d" % i})
with open(os.path.join(state, "spool.jsonl"), "w") as f:
    for x in spooled:
        f.write(json.dumps(x) + "\n")
r = once(conf)
t.eq(r.returncode, 0, "--once with foreign results in the spool exits 0")
h = history(c_latin)
t.eq(len(h) - n_latin, 3, "our two spooled results and this run's were delivered")
t.eq(len(history(c_foreign)), 0, "nothing stored for the foreign check")
t.ok("[%d]" % c_foreign in r.stderr and "dropped" in r.stderr,
     "the error names the refused check", r.stderr)
t.ok(not os.path.exists(os.path.join(state, "spool.jsonl")), "the spool is empty afterwards")

# the server's 403 body lists every foreign id
st, body, _ = env.post_results(token, [
    {"check_id": c_foreign, "status": 0, "output": "x"},
    {"check_id": 999999, "status": 0, "output": "y"},
    {"check_id": c_latin, "status": 0, "output": "z"}])
t.eq(st, 403, "a batch with foreign checks: 403")
t.eq(sorted(body.get("check_ids", [])), sorted([c_foreign, 999999]),
     "the 403 lists every foreign check id")

# ---- cron less often than interval_s: a warning ----------------------------
with open(os.path.join(state, "last-run"), "w") as f:
    f.write("%d\n" % (int(time.time()) - 3600))
r = once(conf)
t.eq(r.returncode, 0, "--once exits 0")
# the gap is the test's own (an hour); the run's duration adds whole seconds
m = re.search(r"every 60s \(interval_s\) but the last run was (\d+)s ago", r.stderr)
t.ok(m is not None and 3600 <= int(m.group(1)) < 3600 + 300,
     "warns that the last run is further back than interval_s", r.stderr)
r = once(conf)
t.eq(r.stdout + r.stderr, "", "the next run, on time, is silent again")

# ---- the daemon runs its checks at start, whatever its jitter --------------
aid3, token3 = env.make_agent("daemon01", interval_s=3600)
c_d = env.make_check(aid3, "load", "load", {"period": 1}, max_attempts=1)
conf3, _ = agent_files("daemon01", token3, {"jitter_s": "3600", "interval_s": "3600"})
d = subprocess.Popen([AGENTD, "-c", conf3], stdout=subprocess.DEVNULL,
                     stderr=subprocess.DEVNULL)
# with the old start-up wait (a random part of jitter_s, up to an hour) this
# would almost never arrive; the bound is only there so a bug cannot hang
t.ok(wait_for(lambda: len(history(c_d)) >= 1, timeout=60, step=0.1),
     "the daemon's first run is at start, not after its jitter")
d.send_signal(signal.SIGTERM)
try:
    rc = d.wait(30)
except subprocess.TimeoutExpired:
    d.kill()
    rc = None
t.eq(rc, 0, "SIGTERM: the daemon exits 0")
t.done()
