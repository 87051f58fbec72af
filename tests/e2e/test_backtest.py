"""End-to-end: POST /api/v1/checks/{id}/backtest and `custos backtest`.

A month of one check at one result a minute (43,200 results, COPYed
straight into check_history) with quiet stretches, blips that stay SOFT,
sustained problems, stretches that flap, results without a value and
UNKNOWN results with one. The answer must equal a replay computed here, in
Python, from the rules docs/alerting.md states ("States", "Flapping" and
"Threshold backtest"), written without looking at the C: for the proposed
thresholds and for the current ones, the HARD problems, recoveries,
notifications and flaps, and the first 100 HARD changes. Then the refusals
(422 naming the member, 400 for a wrong type, 404), the roles (a viewer may
ask: it changes nothing; an agent may not), a check without results (all
zeros), a plugin check (its statuses are its own), and the CLI's summary,
--json and exit statuses."""
import datetime
import json
import os
import random
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import BUILDDIR, Env, Tap  # noqa: E402

t = Tap()
env = Env()
A = env.admin
psql = env.cluster.psql
V = env.api("POST", "/api/v1/tokens", A, {"name": "viewer", "role": "viewer"})[1]["token"]
CLI = os.path.join(BUILDDIR, "custos")
N = 43200
FLAP_LOW, FLAP_HIGH = 25.0, 50.0   # serverd's defaults

aid, atok = env.make_agent("web01")
CUR = {"warning": "2", "critical": "4", "max_attempts": 3}
cid = env.make_check(aid, "load", **CUR)


# ---- the independent model ---------------------------------------------------

def parse_range(text):
    """Nagios range -> (lo, hi, inside); None bounds are infinite."""
    if text is None:
        return None
    inside = text.startswith("@")
    body = text[1:] if inside else text
    if ":" not in body:
        return (0.0, float(body), inside)
    a, b = body.split(":")
    lo = None if a == "~" else float(a or 0)
    hi = None if b == "" else float(b)
    return (lo, hi, inside)


def alerts(rng, v):
    lo, hi, inside = rng
    within = (lo is None or v >= lo) and (hi is None or v <= hi)
    return within if inside else not within


def judge(stored, value, warn, crit):
    """the agent's verdict on a value; a result without one, or UNKNOWN, stays"""
    if value is None or stored == 3:
        return stored
    if crit and alerts(crit, value):
        return 2
    if warn and alerts(warn, value):
        return 1
    return 0


# weights of the 20 transitions between the last 21 results, oldest first
STEP = 0.4 / 19
WEIGHTS = [0.8 + (pos - 1) * STEP for pos in range(1, 21)]


def share(last):
    """weighted percentage of changes between the consecutive statuses in last"""
    changes = [last[i] != last[i - 1] for i in range(1, len(last))]
    pad = 20 - len(changes)
    total = 0.0
    for i, ch in enumerate(changes):
        if ch:
            total += WEIGHTS[pad + i]
    return total * 100.0 / 20


def model(results, warning, critical, max_attempts):
    warn, crit = parse_range(warning), parse_range(critical)
    out = {"hard_problems": 0, "recoveries": 0, "notifications": 0, "flaps": 0}
    changes = []
    last = []            # the newest 21 statuses
    flapping = False
    problem = None       # the HARD problem status, None when there is none
    failures = 0         # consecutive non-OK results
    seen = False
    told = 0             # the status contacts last heard of (OK at first)
    for at, stored, value in results:
        st = judge(stored, value, warn, crit)
        last = (last + [st])[-21:]
        pct = share(last)
        if not flapping and pct > FLAP_HIGH:
            flapping = True
            out["flaps"] += 1
            out["notifications"] += 1
        elif flapping and pct < FLAP_LOW:
            flapping = False
            out["notifications"] += 1
        kind = None
        if st == 0:
            if problem is not None:
                kind = "RECOVERY"
            problem, failures = None, 0
        else:
            failures += 1
            if (problem is None and failures >= max_attempts) or \
               (problem is not None and st != problem):
                problem, kind = st, "PROBLEM"
        seen = True
        if kind:
            out["hard_problems" if kind == "PROBLEM" else "recoveries"] += 1
            if not flapping:
                out["notifications"] += 1
                told = st
            changes.append({"at": at, "kind": kind, "status": NAMES[st],
                            "notified": not flapping})
        hard = st == 0 or problem is not None
        if seen and hard and not flapping and st != told:
            out["notifications"] += 1    # told once flapping no longer holds it back
            told = st
    return out, changes


NAMES = ["OK", "WARNING", "CRITICAL", "UNKNOWN"]


# ---- the fixture -------------------------------------------------------------

def rfc(ts):
    return datetime.datetime.fromtimestamp(ts, datetime.timezone.utc).strftime(
        "%Y-%m-%dT%H:%M:%SZ")


rnd = random.Random(22)
now = int(datetime.datetime.now(datetime.timezone.utc).timestamp())
end = now - now % 60 - 120
start = end - (N - 1) * 60
cur_w, cur_c = parse_range(CUR["warning"]), parse_range(CUR["critical"])
results = []          # (rfc3339, stored status, value or None)


def add(value, stored=None):
    ts = start + len(results) * 60
    if stored is None:
        stored = judge(0, value, cur_w, cur_c)
    results.append((rfc(ts), stored, value))


while len(results) < N:
    kind = rnd.random()
    if kind < 0.45:                                   # quiet
        for _ in range(rnd.randint(20, 200)):
            add(round(rnd.uniform(0.1, 1.1), 2))
    elif kind < 0.65:                                 # a blip: 1-3 results, SOFT now
        for _ in range(rnd.randint(1, 3)):
            add(round(rnd.uniform(1.3, 5.5), 2))
    elif kind < 0.78:                                 # sustained, drifting warn/crit
        for _ in range(rnd.randint(4, 90)):
            add(round(rnd.uniform(1.5, 6.0), 2))
    elif kind < 0.90:                                 # flapping between OK and problem
        lo, hi = round(rnd.uniform(0.2, 1.0), 2), round(rnd.uniform(2.5, 6.0), 2)
        for i in range(rnd.randint(15, 60)):
            add(hi if (i + rnd.randint(0, 1)) % 2 else lo)
    elif kind < 0.95:                                 # timeouts: no value, UNKNOWN
        for _ in range(rnd.randint(1, 6)):
            add(None, 3)
    else:                                             # odd ones: CRITICAL without a
        add(None, 2)                                  # value, UNKNOWN with one
        add(round(rnd.uniform(0.1, 3.0), 2), 3)
results = results[:N]

for d in sorted({r[0][:10] for r in results}):
    psql("SELECT history_partition_ensure('%s')" % d)
lines = ["\\copy check_history (check_id, agent_id, status, value, observed_at, output)"
         " FROM STDIN"]
for at, st, v in results:
    lines.append("%d\t%d\t%d\t%s\t%s\tfixture" % (cid, aid, st, "\\N" if v is None else repr(v), at))
lines.append("\\.")
out = subprocess.run(env.cluster.psql_cmd("-v", "ON_ERROR_STOP=1"), input="\n".join(lines) + "\n",
                     capture_output=True, text=True)
t.ok(out.returncode == 0, "the fixture is COPYed in", out.stderr)
t.eq(psql("SELECT count(*) FROM check_history WHERE check_id = %d" % cid)[0][0], str(N),
     "43,200 results stored")

PROP = {"warning": "1.2", "critical": "3", "max_attempts": 2}
want_p, want_changes = model(results, PROP["warning"], PROP["critical"], PROP["max_attempts"])
want_c, _ = model(results, CUR["warning"], CUR["critical"], CUR["max_attempts"])
t.diag("model: proposed %s, current %s" % (want_p, want_c))
t.ok(want_c["flaps"] > 0 and want_p["flaps"] > 0 and want_c["recoveries"] > 0,
     "the fixture flaps and recovers under both settings")
soft = sum(1 for i in range(1, N - 1) if results[i][1] > 0 and results[i - 1][1] == 0
           and results[i + 1][1] == 0)
t.ok(soft > 20, "the fixture has blips that stay SOFT (%d)" % soft)

events_before = psql("SELECT count(*) FROM events")[0][0]


def backtest(body, token=A, check=cid):
    return env.api("POST", "/api/v1/checks/%d/backtest" % check, token, body)


def side(want, settings):
    d = dict(want)
    d.update({"warning": settings["warning"], "critical": settings["critical"],
              "max_attempts": settings["max_attempts"]})
    return d


st, b, _ = backtest(dict(PROP, since=results[0][0]))
t.eq(st, 200, "backtest answers 200")
b = b or {}
t.eq(b.get("results"), N, "it replays all 43,200 results")
t.eq(b.get("since"), results[0][0], "since is the one asked for")
t.eq(b.get("proposed"), side(want_p, PROP), "proposed: equal to the independent replay")
t.eq(b.get("current"), side(want_c, CUR), "current: equal to the independent replay")
t.eq(b.get("changes"), want_changes[:100], "the first 100 HARD changes, equal")
t.ok(want_p["notifications"] != want_c["notifications"], "the two settings differ in pages")

# since as a duration; absent members keep the current settings
st, b2, _ = backtest(dict(PROP, since="31d"))
t.ok(st == 200 and b2["results"] == N and b2["proposed"] == b["proposed"],
     "since \"31d\": the same answer", (st, b2))
st, b3, _ = backtest({"warning": "1.2", "since": results[0][0]})
w3, _ = model(results, "1.2", CUR["critical"], CUR["max_attempts"])
t.eq(b3 and b3.get("proposed"), side(w3, dict(CUR, warning="1.2")),
     "only warning given: critical and max_attempts are the current ones")
st, b4, _ = backtest({"warning": None, "critical": None, "since": results[0][0]})
w4, _ = model(results, None, None, CUR["max_attempts"])
t.eq(b4 and b4.get("proposed"), side(w4, dict(CUR, warning=None, critical=None)),
     "null ranges: none (only stored failures remain)")
half = results[N // 2][0]
st, b5, _ = backtest(dict(PROP, since=half))
w5, c5 = model(results[N // 2:], PROP["warning"], PROP["critical"], PROP["max_attempts"])
t.ok(st == 200 and b5["results"] == N - N // 2 and b5["proposed"] == side(w5, PROP)
     and b5["changes"] == c5[:100], "a later since replays from there, from a fresh state")

# a viewer may ask; an agent may not; no token is 401
st, bv, _ = backtest(dict(PROP, since=results[0][0]), token=V)
t.ok(st == 200 and bv["proposed"] == b["proposed"], "a viewer token may backtest", st)
t.eq(backtest(PROP, token=atok)[0], 403, "an agent token may not")
t.eq(backtest(PROP, token=None)[0], 401, "no token: 401")

# refusals
for body, code, field, why in [
        ({"warning": "1.2", "bogus": 1}, 422, "bogus", "an unknown member"),
        ({"warning": "abc"}, 422, "warning", "a warning that is no range"),
        ({"critical": "5:1"}, 422, "critical", "a critical range whose start passes its end"),
        ({"warning": 80}, 400, "warning", "a number for a range"),
        ({"max_attempts": 0}, 422, "max_attempts", "max_attempts 0"),
        ({"max_attempts": 101}, 422, "max_attempts", "max_attempts 101"),
        ({"max_attempts": "3"}, 400, "max_attempts", "max_attempts as a string"),
        ({"since": "91d"}, 422, "since", "since 91 days back"),
        ({"since": rfc(now - 100 * 86400)}, 422, "since", "since an RFC 3339 time 100 days back"),
        ({"since": rfc(now + 3600)}, 422, "since", "since in the future"),
        ({"since": "yesterday"}, 422, "since", "since unreadable"),
        ({"since": "0d"}, 422, "since", "since 0d"),
        ({"since": 30}, 400, "since", "since as a number")]:
    st, e, _ = backtest(body)
    t.ok(st == code and (e or {}).get("field") == field, "%s: %d naming %s" % (why, code, field),
         (st, e))
st, e, _ = env.api("POST", "/api/v1/checks/%d/backtest" % cid, A, raw=b"[1]",
                   headers={"Content-Type": "application/json"})
t.eq(st, 400, "a body that is not an object: 400")
t.eq(backtest(PROP, check=987654)[0], 404, "an unknown check: 404")

t.eq(psql("SELECT warning, critical, max_attempts FROM checks WHERE id = %d" % cid),
     [["2", "4", "3"]], "the check's settings are unchanged")
t.eq(psql("SELECT count(*) FROM events")[0][0], events_before, "no event was recorded")

# a check with no results: zeros
empty = env.make_check(aid, "empty")
st, be, _ = backtest({"warning": "1"}, check=empty)
zero = {"hard_problems": 0, "recoveries": 0, "notifications": 0, "flaps": 0}
t.ok(st == 200 and be["results"] == 0 and be["changes"] == [] and
     all(be["proposed"][k] == 0 and be["current"][k] == 0 for k in zero),
     "a check without results: zeros", (st, be))

# a plugin's status is its own: thresholds change nothing, max_attempts does
plug = env.make_check(aid, "plug", "plugin", {"command": "x.sh"}, max_attempts=3)
pres = []
for i in range(600):
    st_ = [0, 0, 2, 2, 0, 1, 1, 1, 1, 0][i % 10] if i % 97 else 3
    pres.append((rfc(end - (599 - i) * 60), st_, float(i % 7)))
# stored out of order (as an agent's spool resent late would be): the replay
# still goes by observed_at
shuffled = list(pres)
rnd.shuffle(shuffled)
psql("INSERT INTO check_history (check_id, agent_id, status, value, observed_at) VALUES "
     + ",".join("(%d, %d, %d, %r, '%s')" % (plug, aid, s_, v, a) for a, s_, v in shuffled))
st, bp, _ = backtest({"warning": "0", "critical": "1", "max_attempts": 1, "since": pres[0][0]},
                     check=plug)
wp, cp = model([(a, s_, None) for a, s_, v in pres], None, None, 1)
wc, _ = model([(a, s_, None) for a, s_, v in pres], None, None, 3)
t.ok(st == 200 and bp["proposed"]["notifications"] == wp["notifications"] and
     bp["proposed"]["hard_problems"] == wp["hard_problems"] and
     bp["current"]["hard_problems"] == wc["hard_problems"] and bp["changes"] == cp[:100],
     "a plugin check (rows stored out of order): stored statuses kept, only max_attempts"
     " changes the outcome",
     (st, bp and bp.get("proposed"), wp))


# ---- the CLI ------------------------------------------------------------------

def run(*args, token=A):
    e = {"HOME": env.tmp, "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
         "CUSTOS_URL": "http://127.0.0.1:%d" % env.server.port, "CUSTOS_TOKEN": token}
    for k in ("ASAN_OPTIONS", "UBSAN_OPTIONS"):
        if k in os.environ:
            e[k] = os.environ[k]
    p = subprocess.run([CLI] + list(args), capture_output=True, text=True, env=e, timeout=60)
    return p.returncode, p.stdout, p.stderr


rc, out, err = run("backtest", "web01/load", "--warning", "1.2", "--critical", "3",
                   "--max-attempts", "2", "--since", "31d", token=V)
want = ("web01/load with warning 1.2, critical 3, max attempts 2: %d pages in 31 days instead of"
        " %d (HARD problems %d instead of %d, flapping %d instead of %d; %d results)\n" % (
            want_p["notifications"], want_c["notifications"], want_p["hard_problems"],
            want_c["hard_problems"], want_p["flaps"], want_c["flaps"], N))
t.ok(rc == 0 and out == want, "custos backtest: the summary, exit 0", (rc, out, err, want))
rc, out, err = run("--json", "backtest", "web01/load", "--warning", "1.2", "--critical", "3",
                   "--max-attempts", "2", "--since", "31d")
try:
    j = json.loads(out)
except ValueError:
    j = {}
t.ok(rc == 0 and j.get("proposed") == b["proposed"] and j.get("current") == b["current"],
     "custos --json backtest: the API's answer", (rc, out[:300], err))
rc, out, err = run("backtest", "web01/load", "--since", "100d")
t.ok(rc == 1 and "since" in err, "a refused since: exit 1 with the API's error", (rc, err))
rc, out, err = run("backtest", "web01/nope", "--warning", "1")
t.ok(rc == 1 and "no check named" in err, "an unknown check: exit 1", (rc, err))
for args, why in [(("backtest", "web01/load"), "no setting to try"),
                  (("backtest", "web01", "--warning", "1"), "no /CHECK"),
                  (("backtest", "web01/load", "--max-attempts", "x"), "a bad --max-attempts"),
                  (("status", "--warning", "1"), "--warning with another command"),
                  (("backtest", "web01/load", "--since"), "--since without a value")]:
    rc, out, err = run(*args)
    t.ok(rc == 2 and "usage:" in err, "%s: exit 2 with the usage" % why, (rc, err))

t.ok(not env.server.reports(), "no sanitizer report", env.server.reports())
t.done()
