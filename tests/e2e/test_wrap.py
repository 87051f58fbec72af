"""test_wrap.py - custos-agentd --wrap NAME -- CMD: a cron job run under
watch, against a small stand-in for the server's heartbeat route (it
records every request and answers 201, 200 for an id it has seen, 404,
422, 503, or hangs, per check name; or is not there at all), so the agent's
side is tested whole and without a race: the exit code and output of a
failing command, a signal, a command not found, --timeout killing the
process group (a grandchild included, and one that ignores SIGTERM), --lock
run twice at once (the window held open by a fifo), output past 10 kB,
reports spooled while the server is down, slow or failing and sent later
with their real times by the next --wrap or by --once, a refused check
(404) or body (422) not spooled, a refused token said and kept, a broken
configuration that still runs the job, the descriptors the command gets, a
command flooding its output under --timeout, and (as root) root wrapping a
job for an agent that runs as another user. At the end, when the real
server has heartbeat checks and the route, one run against it."""
import atexit
import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import *  # noqa: E402,F403
from agent_standin import HB, StandIn  # noqa: E402

t = Tap()
if not os.access(AGENTD, os.X_OK):
    t.bail("custos-agentd not built at " + AGENTD)
tmp = tempfile.mkdtemp(prefix="custos-wrap-")
os.chmod(tmp, 0o755)   # the agent's own user (nobody) reads its files here
atexit.register(lambda: os.environ.get("CUSTOS_KEEP_TMP") or shutil.rmtree(tmp, True))
TOKEN = "c0ffee" * 10


srv = StandIn(TOKEN)
state = os.path.join(tmp, "state")


def make_conf(name, port, extra=None):
    tok = os.path.join(tmp, "token")
    with open(tok, "w") as f:
        f.write(TOKEN + "\n")
    os.chmod(tok, 0o600)
    path = os.path.join(tmp, name + ".conf")
    settings = {"server": "http://127.0.0.1:%d" % port, "token_file": tok,
                "state_dir": state, "timeout_s": "10"}
    settings.update(extra or {})
    with open(path, "w") as f:
        for k, v in settings.items():
            f.write("%s = %s\n" % (k, v))
    return path


conf = make_conf("up", srv.port)
down_port = free_port()   # nothing listens there
conf_down = make_conf("down", down_port)


def wrap(name, cmd, *opts, c=None, timeout=60):
    return subprocess.run([AGENTD, "-c", c or conf, "--wrap", name] + list(opts) + ["--"] + cmd,
                          capture_output=True, text=True, timeout=timeout)


def spooled():
    d = os.path.join(state, "heartbeats")
    if not os.path.isdir(d):
        return []
    out = []
    for n in sorted(os.listdir(d)):
        if n.endswith(".json"):
            with open(os.path.join(d, n)) as f:
                out.append(json.load(f))
    return out


def gone(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"
    except FileNotFoundError:
        return True


# ---- a command that succeeds: start, then exit 0 with its output ----------
r = wrap("ok-job", ["sh", "-c", "echo out; echo err >&2"])
t.eq(r.returncode, 0, "a command that succeeds: exit status 0")
t.eq(r.stdout, "out\n", "its stdout passes through to ours")
t.eq(r.stderr, "err\n", "its stderr passes through, and the wrapper adds nothing (cron mail)")
rep = srv.reports("ok-job")
t.eq([x["kind"] for x in rep], ["start", "exit"], "start, then exit, reported")
if len(rep) == 2:
    s, e = rep
    t.eq(e.get("exit_code"), 0, "exit report: exit_code 0")
    t.eq(e.get("started_at"), s.get("at"), "exit report's started_at is the start's at")
    t.ok(e.get("at", "") >= s.get("at", "~"), "exit report's at is the end", rep)
    t.ok("out\n" in e.get("output", "") and "err\n" in e.get("output", ""),
         "output holds stdout and stderr", e.get("output"))
    t.ok(s["id"] != e["id"] and 0 < len(s["id"]) <= 64 and 0 < len(e["id"]) <= 64,
         "each report has its own id (<= 64 chars)", rep)
    t.ok("exit_code" not in s and "output" not in s, "the start report is only a start", s)
t.eq(spooled(), [], "nothing spooled when the server took it")
with srv.mu:
    auth = [a for (m, p, a, b) in srv.reqs if p == HB + "ok-job"]
t.ok(auth and all(a == "Bearer " + TOKEN for a in auth), "sent with the agent's token", auth)

# the command gets the descriptors we were given, none of the wrapper's own
rfd, wfd = os.pipe()
r = subprocess.run([AGENTD, "-c", conf, "--wrap", "fd-job", "--", "sh", "-c",
                    "ls /proc/$$/fd"], capture_output=True, text=True, timeout=60,
                   pass_fds=(wfd,))
os.close(rfd)
os.close(wfd)
t.eq(sorted(int(x) for x in r.stdout.split()), [0, 1, 2, wfd],
     "the command inherits our descriptors, not the wrapper's (server connection)")

# started with stdout closed (cron with >&-): the command's output is still reported
r = subprocess.run("exec %s -c %s --wrap closed-job -- sh -c 'echo kept' >&-" % (AGENTD, conf),
                   shell=True, capture_output=True, text=True, timeout=60)
t.eq(r.returncode, 0, "started with stdout closed: exit 0")
rep = srv.reports("closed-job")
t.ok(rep and rep[-1].get("output") == "kept\n", "the output is still in the report", rep)

# ---- a failing command, a signal, a command not found ----------------------
r = wrap("fail-job", ["sh", "-c", "echo failing; exit 3"])
t.eq(r.returncode, 3, "a command that exits 3: our exit status is 3")
rep = srv.reports("fail-job")
t.ok(len(rep) == 2 and rep[1].get("kind") == "exit" and rep[1].get("exit_code") == 3,
     "exit report with exit_code 3", rep)
t.ok(len(rep) == 2 and rep[1].get("output") == "failing\n", "and the command's output", rep)

r = wrap("sig-job", ["sh", "-c", "kill -TERM $$"])
t.eq(r.returncode, 128 + 15, "a command killed by SIGTERM: status 143, as a shell says")
rep = srv.reports("sig-job")
t.ok(rep and rep[-1].get("exit_code") == 143 and "signal 15" in rep[-1].get("output", ""),
     "reported as exit 143, the output naming the signal", rep)

r = wrap("nf-job", ["/nonexistent/command", "x"])
t.eq(r.returncode, 127, "a command not found: 127")
rep = srv.reports("nf-job")
t.ok(rep and rep[-1].get("exit_code") == 127 and
     "cannot run /nonexistent/command" in rep[-1].get("output", ""),
     "reported as exit 127 with why", rep)
t.ok("cannot run /nonexistent/command" in r.stderr, "and said on stderr", r.stderr)

# ---- --timeout: the whole process group goes ---------------------------------
pidfile = os.path.join(tmp, "grandchild.pid")
r = wrap("slow-job", ["sh", "-c", "sleep 30 & echo $! > %s; wait" % pidfile], "--timeout", "1")
t.eq(r.returncode, 124, "--timeout 1 on a 30 s job: exit status 124")
rep = srv.reports("slow-job")
t.ok(rep and rep[-1].get("exit_code") == 124 and
     "timed out after 1s" in rep[-1].get("output", ""), "reported as exit 124, timed out", rep)
with open(pidfile) as f:
    gpid = int(f.read())
t.ok(wait_for(lambda: gone(gpid), 5), "the grandchild (sleep) was killed with its group")

# a group that ignores SIGTERM gets SIGKILL after the grace
pidfile2 = os.path.join(tmp, "stubborn.pid")
r = wrap("stubborn-job", ["sh", "-c", "trap '' TERM; sleep 30 & echo $! > %s; wait" % pidfile2],
         "--timeout", "1")
t.eq(r.returncode, 124, "a job that ignores SIGTERM: still 124")
rep = srv.reports("stubborn-job")
t.ok(rep and "then SIGKILL" in rep[-1].get("output", ""), "reported: SIGTERM, then SIGKILL", rep)
with open(pidfile2) as f:
    gpid2 = int(f.read())
t.ok(wait_for(lambda: gone(gpid2), 5), "its grandchild, ignoring SIGTERM, was killed too")

# a command that writes as fast as it can does not keep the timer from firing
r = subprocess.run([AGENTD, "-c", conf, "--wrap", "yes-job", "--timeout", "1", "--", "yes"],
                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=60)
t.eq(r.returncode, 124, "--timeout 1 on yes(1), flooding its output: 124")
rep = srv.reports("yes-job")
out = rep[-1].get("output", "") if rep else ""
t.ok(out.startswith("[") and "y\ny\ny\n" in out and len(out.encode()) <= 10000,
     "its last 10 kB reported", out[:100])

# ---- output past 10 kB: the last 10 kB, valid UTF-8, all of it passed through
r = subprocess.run([AGENTD, "-c", conf, "--wrap", "big-job", "--", "sh", "-c",
                    "i=0; while [ $i -lt 3000 ]; do echo \"line $i \u00e9\u00e9\u00e9\"; "
                    "i=$((i+1)); done; echo last-line"],
                   capture_output=True, timeout=60)
t.eq(r.returncode, 0, "a command printing ~50 kB: exit 0")
t.ok(r.stdout.endswith(b"last-line\n") and r.stdout.count(b"\n") == 3001,
     "all of it passed through to our stdout", len(r.stdout))
rep = srv.reports("big-job")
out = rep[-1].get("output", "") if rep else ""
t.ok(len(out.encode()) <= 10000, "the report keeps at most 10 kB", len(out.encode()))
t.ok(out.endswith("line 2999 \u00e9\u00e9\u00e9\nlast-line\n"), "the last of it", out[-60:])
t.ok(out.startswith("[") and "bytes of output" in out.split("\n")[0],
     "and says the front was cut", out[:80])
t.ok("\ufffd" not in out, "cut on a character boundary (no U+FFFD)")

# ---- --lock: a second run while the first holds the lock is refused ---------
fifo = os.path.join(tmp, "go")
os.mkfifo(fifo)
mark = os.path.join(tmp, "second-ran")
first = subprocess.Popen([AGENTD, "-c", conf, "--wrap", "locked", "--lock", "--", "sh", "-c",
                          "read x < %s; echo first done" % fifo],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
t.ok(wait_for(lambda: len(srv.reports("locked")) >= 1, 20),
     "first --lock run started (its start report arrived)")
r = wrap("locked", ["sh", "-c", "touch %s" % mark], "--lock")
t.eq(r.returncode, 75, "second --lock run while the first runs: exit 75")
t.ok(not os.path.exists(mark), "and its command was not run")
t.ok("overlapping run refused" in r.stderr, "stderr says why", r.stderr)
rep = srv.reports("locked")
t.ok(len(rep) == 2 and rep[1].get("kind") == "fail" and rep[1].get("output") ==
     "overlapping run refused: previous run still holds the lock", "reported as fail", rep)
with open(fifo, "w") as f:
    f.write("go\n")
out_, err_ = first.communicate(timeout=30)
t.eq(first.returncode, 0, "the first run is unaffected: exit 0")
rep = srv.reports("locked")
t.ok(rep and rep[-1].get("kind") == "exit" and rep[-1].get("exit_code") == 0 and
     rep[-1].get("output") == "first done\n", "and reported its exit", rep)
r = wrap("locked", ["true"], "--lock")
t.eq(r.returncode, 0, "once the first is done, the lock is free again")

# ---- 404 and 422: an error, not spooled --------------------------------------
srv.modes["missing"] = 404
r = wrap("missing", ["sh", "-c", "echo ran; exit 6"])
t.eq(r.returncode, 6, "no such heartbeat check (404): the command still runs, its status kept")
t.eq(r.stdout, "ran\n", "its output passed through")
t.ok('no heartbeat check named "missing"' in r.stderr, "stderr names the check", r.stderr)
t.eq(len(srv.reports("missing")), 1, "the exit report is not sent after a 404")
t.eq(spooled(), [], "nothing spooled for a 404")

srv.modes["badbody"] = 422
r = wrap("badbody", ["true"])
t.eq(r.returncode, 0, "422: the command's status")
t.ok("output: too long" in r.stderr and "422" in r.stderr, "stderr has the server's error",
     r.stderr)
t.eq(spooled(), [], "nothing spooled for a 422")

# ---- 503: spooled, then sent by the next --wrap, in order, with real times ---
srv.modes["flaky"] = 503
r = wrap("flaky", ["sh", "-c", "exit 0"])
t.eq(r.returncode, 0, "server answering 503: the command's status")
t.eq(r.stderr, "", "a report kept for later is no cron mail")
sp = spooled()
t.eq([x["report"]["kind"] for x in sp], ["start", "exit"], "both reports spooled, in order")
t.ok(all(x["name"] == "flaky" for x in sp), "spooled with the check's name")
spool_mode = stat.S_IMODE(os.stat(os.path.join(state, "heartbeats")).st_mode)
t.eq(spool_mode, 0o700, "the spool directory is private (0700)")
n_before = len(srv.reports("flaky"))
srv.modes["flaky"] = 201
r = wrap("other", ["true"])
t.eq(r.returncode, 0, "the next --wrap run (another check)")
got = srv.reports("flaky")[n_before:]
t.eq(got, [x["report"] for x in sp],
     "sent the spooled reports unchanged: same ids, their real at and started_at")
with srv.mu:
    order = [p for (m, p, a, b) in srv.reqs if m == "POST"][-4:]
t.eq(order, [HB + "flaky", HB + "flaky", HB + "other", HB + "other"],
     "the spooled ones first, then its own")
t.eq(spooled(), [], "spool empty")

# ---- server down: spooled; custos-agentd --once sends it ---------------------
r = wrap("down-job", ["sh", "-c", "echo at night; exit 5"], c=conf_down)
t.eq(r.returncode, 5, "server down: the command's own status (5)")
sp = spooled()
t.eq([x["report"]["kind"] for x in sp], ["start", "exit"], "both reports spooled")
t.ok(sp and sp[-1]["report"].get("exit_code") == 5 and
     sp[-1]["report"].get("output") == "at night\n", "with the exit code and output", sp)
r = subprocess.run([AGENTD, "-c", conf, "--once"], capture_output=True, text=True, timeout=60)
t.eq(r.returncode, 0, "custos-agentd --once with the server back", )
if r.returncode:
    t.diag(r.stderr)
t.eq(srv.reports("down-job"), [x["report"] for x in sp],
     "--once sent them, each with its original at and id")
t.eq(spooled(), [], "spool empty after --once")

# a resend of a report the server already has (200) counts as delivered
srv.modes["dup-job"] = 503
wrap("dup-job", ["true"])
sp = spooled()
with srv.mu:
    srv.seen.update(x["report"]["id"] for x in sp)   # stored, but the answer was lost
srv.modes["dup-job"] = 201
r = subprocess.run([AGENTD, "-c", conf, "--once"], capture_output=True, text=True, timeout=60)
t.eq(r.returncode, 0, "--once resending reports the server has")
t.eq(spooled(), [], "a 200 (duplicate id) empties the spool too")

# ---- a server that hangs: a report waits seconds, not forever ----------------
srv.modes["hung"] = "hang"
t0 = time.monotonic()
r = wrap("hung", ["true"], timeout=60)
t.eq(r.returncode, 0, "a server that never answers: the job still ends, status 0")
t.diag("a run against a hanging server took %.1f s" % (time.monotonic() - t0))
t.eq([x["report"]["kind"] for x in spooled()], ["start", "exit"], "both reports spooled")
srv.modes["hung"] = 201
r = wrap("other", ["true"])
t.eq([x["kind"] for x in srv.reports("hung")][-2:], ["start", "exit"],
     "sent when the server answers again")
t.eq(spooled(), [], "spool empty")

# ---- a refused token: said on stderr, kept ------------------------------------
badtok = os.path.join(tmp, "badtoken")
with open(badtok, "w") as f:
    f.write("0" * 64 + "\n")
os.chmod(badtok, 0o600)
conf_badtok = make_conf("badtok", srv.port, {"token_file": badtok})
r = wrap("tok-job", ["true"], c=conf_badtok)
t.eq(r.returncode, 0, "a refused token: the command's status")
t.ok("refused this agent's token" in r.stderr, "stderr says the token was refused", r.stderr)
t.eq(len(spooled()), 2, "the reports are kept until a good token sends them")
r = wrap("tok-job", ["true"], c=conf_badtok)
t.ok("refused this agent's token" in r.stderr, "said again while spooled reports wait", r.stderr)
t.eq(len(spooled()), 4, "and this run's kept too")
wrap("other", ["true"])
t.eq(spooled(), [], "sent with the right token")

# ---- root wrapping a job of an agent that runs as another user -------------
if os.geteuid() == 0:
    import pwd
    nobody = pwd.getpwnam("nobody")
    st2 = os.path.join(tmp, "state-nobody")
    os.makedirs(st2)
    os.chown(st2, nobody.pw_uid, nobody.pw_gid)
    os.chmod(st2, 0o700)
    tok2 = os.path.join(tmp, "token-nobody")
    with open(tok2, "w") as f:
        f.write(TOKEN + "\n")
    os.chmod(tok2, 0o600)
    os.chown(tok2, nobody.pw_uid, nobody.pw_gid)
    conf_nb = make_conf("nobody-down", down_port, {"token_file": tok2, "state_dir": st2})
    r = wrap("nb-job", ["true"], "--lock", c=conf_nb)
    t.eq(r.returncode, 0, "root with the agent user's token and state_dir: exit 0")
    t.ok("owned by uid" not in r.stderr, "the token of state_dir's owner is taken", r.stderr)
    hb2 = os.path.join(st2, "heartbeats")
    owners = {os.stat(os.path.join(d, n)).st_uid for d in (hb2, os.path.join(st2, "locks"))
              for n in os.listdir(d)} | {os.stat(hb2).st_uid}
    t.eq(owners, {nobody.pw_uid}, "the spool and lock files root made belong to the agent's user")
    t.eq(len([n for n in os.listdir(hb2) if n.endswith(".json")]), 2, "both reports spooled")
    conf_nb_up = make_conf("nobody-up", srv.port, {"token_file": tok2, "state_dir": st2})
    r = subprocess.run(["runuser", "-u", "nobody", "--", AGENTD, "-c", conf_nb_up, "--once"],
                       capture_output=True, text=True, timeout=60)
    t.eq(r.returncode, 0, "the agent, as its own user, runs --once", )
    t.eq([n for n in os.listdir(hb2) if n.endswith(".json")], [],
         "and sends and removes what root spooled")
    if r.returncode:
        t.diag(r.stderr)
else:
    t.ok(True, "root wrapping another user's agent # SKIP not root")

# ---- no configuration: the job runs anyway ------------------------------------
r = wrap("noconf", ["sh", "-c", "exit 4"], c=os.path.join(tmp, "missing.conf"))
t.eq(r.returncode, 4, "an unreadable configuration: the command runs, its status kept")
t.ok("not reported" in r.stderr, "and stderr says the run is not reported", r.stderr)

# ---- usage ------------------------------------------------------------------
for args, what in ((["--wrap", "x"], "--wrap without a command"),
                   (["--lock", "--", "true"], "--lock without --wrap"),
                   (["--wrap", "x", "--timeout", "soon", "--", "true"], "--timeout soon"),
                   (["--wrap", "x", "--once", "--", "true"], "--wrap with --once"),
                   (["--wrap", "n" * 201, "--", "true"], "a 201-byte name")):
    r = subprocess.run([AGENTD, "-c", conf] + args, capture_output=True, text=True, timeout=30)
    t.eq(r.returncode, 2, "usage error (%s): exit 2, nothing run" % what)

# ---- against the real server, when it has heartbeat checks ------------------
env = Env()
aid, atoken = env.make_agent("wrapped", interval_s=60)
st, c, _ = env.api("POST", "/api/v1/checks", env.admin,
                   {"agent_id": aid, "name": "nightly", "type": "heartbeat",
                    "params": {"schedule": "every 5m", "tz": "UTC", "grace_s": 60}})
probe = env.api("POST", HB + "nightly", atoken, {"kind": "bogus"})[0] if st == 201 else None
if st != 201:
    t.ok(True, "real server run # SKIP the server has no heartbeat checks yet (%s)" % st)
elif probe in (404, 405):
    t.ok(True, "real server run # SKIP the server has no heartbeat route yet (%s)" % probe)
else:
    real_tok = os.path.join(tmp, "real.token")
    with open(real_tok, "w") as f:
        f.write(atoken + "\n")
    os.chmod(real_tok, 0o600)
    real_conf = make_conf("real", env.server.port, {"token_file": real_tok})
    r = wrap("nightly", ["sh", "-c", "echo backed up"], c=real_conf)
    t.eq(r.returncode, 0, "real server: --wrap exits 0")
    t.eq(r.stderr, "", "real server: no error", )
    t.eq(spooled(), [], "real server: took both reports")
    st, cc, _ = env.api("GET", "/api/v1/checks/%d" % c["id"], env.admin)
    s = cc.get("state", {}) if st == 200 else {}
    t.ok(s.get("status") == "OK" and "backed up" in (s.get("output") or "")
         and "exit=0" in (s.get("perfdata") or "") and "duration=" in (s.get("perfdata") or ""),
         "real server: the run is an OK result with its output, duration and exit code", s)
    r = wrap("nightly", ["sh", "-c", "echo disk full; exit 3"], c=real_conf)
    st, cc, _ = env.api("GET", "/api/v1/checks/%d" % c["id"], env.admin)
    s = cc.get("state", {}) if st == 200 else {}
    t.ok(r.returncode == 3 and s.get("status") == "CRITICAL" and "disk full" in
         (s.get("output") or "") and "exit=3" in (s.get("perfdata") or ""),
         "real server: a failing run is CRITICAL with its output and exit code", (r.returncode, s))
t.done()
