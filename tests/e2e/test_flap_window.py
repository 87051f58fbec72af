#!/usr/bin/env python3
"""test_flap_window.py - check_state keeps a check's flap window (sql/042,
docs/decisions.md "check_state keeps the flap window"): the engine decides
exactly as it did when every check in motion re-read its newest results.

Every case runs twin checks that get the same results in the same batches:
"a" as serverd leaves it, "b" with its kept window cleared before each
batch, so that ingest rebuilds b's window from the history every time (the
way it always did). Their states and events must agree after every batch,
and every window check_state keeps must be the one the history gives
(check_flap_recent(), and its newest stamp). Results carry their own stamps
(a minute apart, in the past), so nothing depends on timing; one case sends
none (the server stamps them)."""
import datetime as dt
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Env, Tap, wait_for  # noqa: E402

t = Tap()
# a retention of one day: the retention may then retire a day a kept window
# still holds (the last case)
env = Env(conf={"history_retention_days": "1"})
A = env.admin
psql = env.cluster.psql
aid, tok = env.make_agent("flaphost")
other_aid, _ = env.make_agent("otherhost")
BASE = dt.datetime.now(dt.timezone.utc) - dt.timedelta(hours=6)
clock = [0]   # minutes after BASE of the next stamp


def stamp(minutes=None):
    if minutes is None:
        clock[0] += 1
        minutes = clock[0]
    return (BASE + dt.timedelta(minutes=minutes)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def twins(name, n=1, max_attempts=1):
    return [(env.make_check(aid, "%s-a%d" % (name, i), max_attempts=max_attempts),
             env.make_check(aid, "%s-b%d" % (name, i), max_attempts=max_attempts))
            for i in range(n)]


def clear(ids):
    psql("UPDATE check_state SET flap_window = NULL, flap_from = NULL, flap_last = NULL"
         " WHERE check_id IN (%s)" % ",".join(str(i) for i in ids))


def state(c):
    return psql("SELECT status, state_type, attempt, hard_status, flapping,"
                " round(flap_pct::numeric, 4), acknowledged FROM check_state"
                " WHERE check_id = %d" % c)[0]


def kinds(c):
    return [r[0] for r in psql("SELECT kind FROM events WHERE check_id = %d ORDER BY id" % c)]


def window(c):
    return psql("SELECT COALESCE(flap_window, '-') FROM check_state WHERE check_id = %d" % c)[0][0]


# every window kept equals the one the history gives, its newest stamp the
# newest stored result's, its bound at or below the oldest of them
WRONG_IF = ("s.flap_window IS NOT NULL AND ("
            " s.flap_window IS DISTINCT FROM check_flap_recent(s.check_id, 300, 21)"
            " OR s.flap_last IS DISTINCT FROM (SELECT max(observed_at) FROM check_history h"
            "  WHERE h.check_id = s.check_id)"
            " OR s.flap_from > (SELECT min(observed_at) FROM (SELECT observed_at"
            "  FROM check_history h WHERE h.check_id = s.check_id"
            "  ORDER BY observed_at DESC, id DESC LIMIT 21) x))")
WRONG = ("SELECT s.check_id, s.flap_window, check_flap_recent(s.check_id, 300, 21)"
         " FROM check_state s WHERE " + WRONG_IF)

problems = []


def batch(pairs, statuses, stamped=True, extra=None):
    """One request: per pair, the statuses of statuses[i] (an int or a list)
    for both twins, a minute apart; b's window cleared first."""
    body = []
    per = [s if isinstance(s, list) else [s] for s in statuses]
    for k in range(max(len(p) for p in per)):
        ts = stamp()
        for (a, b), sts in zip(pairs, per):
            if k < len(sts):
                for c in (a, b):
                    r = {"check_id": c, "status": sts[k], "output": "x"}
                    if stamped:
                        r["observed_at"] = ts
                    body.append(r)
    body += extra or []
    clear([b for _, b in pairs])
    st, r, _ = env.post_results(tok, body)
    if st != 201:
        problems.append("post: %s %s" % (st, r))
    # one query: each check's state and events, and whether its window is wrong
    ids = ",".join(str(c) for p in pairs for c in p)
    rows = psql("SELECT s.check_id, concat_ws(' ', s.status, s.state_type, s.attempt,"
                " s.hard_status, s.flapping, round(s.flap_pct::numeric, 4), s.acknowledged,"
                " (SELECT string_agg(e.kind, ',' ORDER BY e.id) FROM events e"
                "  WHERE e.check_id = s.check_id)), " + WRONG_IF +
                " FROM check_state s WHERE s.check_id IN (%s)" % ids)
    got = {}
    for c, text, wrong in rows:
        got[int(c)] = text
        if wrong == "t":
            problems.append("check %s: its window is not the history's" % c)
    for a, b in pairs:
        if got.get(a) != got.get(b):
            problems.append("check %d: %s; twin %d: %s" % (a, got.get(a), b, got.get(b)))


def same(pairs, what):
    t.eq(problems, [], what)
    del problems[:]


# ---- flapping across many batches, by COPY (16 results a batch) ----------------
P = twins("flap", 8, max_attempts=1)
kept_mid = None
for i in range(30):
    batch(P, [(2 if (i + k) % 2 else 0) for k in range(8)])
    if i == 20:
        kept_mid = [window(a) for a, _ in P]
for i in range(30):
    batch(P, [0] * 8)
same(P, "flapping for 30 batches, then steady for 30: states and events as rebuilt from history")
t.ok(all(w != "-" and len(w) == 21 for w in kept_mid),
     "a flapping check's window is kept in check_state", kept_mid)
ks = kinds(P[0][0])
t.ok(ks.count("FLAPPING START") == 1 and ks.count("FLAPPING STOP") == 1,
     "one FLAPPING START, one FLAPPING STOP", ks)
t.eq([window(a) for a, _ in P], ["-"] * 8,
     "calmed down to HARD OK, not flapping: no window kept")

# ...and the next change reads the history again (its window was dropped)
batch(P[:1], [2])
batch(P[:1], [0])
same(P[:1], "after calming down, the next changes read the history again")
t.eq(state(P[0][0])[4], "f", "two blips after 30 steady results: not flapping")

# ---- SOFT sequences, max_attempts 3, several results a batch (by INSERT) -------
S = twins("soft", 2, max_attempts=3)
seqs = [[2, 2], [0], [2, 2, 2], [2, 0], [2], [2, 0, 2], [2, 2], [0, 0], [2, 0, 2, 0],
        [1, 2, 3], [3, 3, 3], [0], [2], [2], [2], [0, 2], [0, 2], [0, 2, 0, 2]]
for i, s in enumerate(seqs):
    batch(S, [s, list(reversed(s))])
    if i == 4:
        soft_kept = window(S[0][0])
same(S, "SOFT sequences with max_attempts 3: states and events as rebuilt from history")
t.ok(soft_kept != "-", "a SOFT check's window is kept", soft_kept)

# ---- the window kept is the one used -------------------------------------------
# a SOFT check whose kept window is made to alternate starts flapping on its
# next result: ingest took the window from check_state, not the history
U = twins("used", 1, max_attempts=3)
batch(U, [2])
t.eq(state(U[0][0])[1], "SOFT", "SOFT after one failure")
psql("UPDATE check_state SET flap_window = '020202020202020202022' WHERE check_id = %d" % U[0][0])
env.post_results(tok, [{"check_id": U[0][0], "status": 2, "observed_at": stamp()}])
t.ok("FLAPPING START" in kinds(U[0][0]), "the kept window is the one the engine steps",
     kinds(U[0][0]))
t.eq(kinds(U[0][1]), [], "(its twin, not posted to, did not move)")
clear(U[0])   # the window made up above is no history's

# ---- late results: the window is dropped, and rebuilt from the history ---------
L = twins("late", 1, max_attempts=3)
batch(L, [[2, 0, 2]])
t.ok(window(L[0][0]) != "-", "SOFT: window kept")
old = stamp(clock[0] - 2)   # between two stored results: late, history only
batch(L, [[]], extra=[{"check_id": c, "status": 0, "observed_at": old} for c in L[0]])
t.eq(window(L[0][0]), "-", "a late result drops the kept window")
for s in ([2], [2, 0], [2, 2], [0, 2], [2]):
    batch(L, [s])
same(L, "after a late result: states and events as rebuilt from history")

# ---- disabled, then enabled ----------------------------------------------------
D = twins("dis", 1, max_attempts=3)
batch(D, [[2, 0, 2, 0, 2]])
t.ok(window(D[0][0]) != "-", "SOFT and flapping-prone: window kept")
for c in D[0]:
    env.api("PATCH", "/api/v1/checks/%d" % c, A, {"enabled": False})
t.eq(window(D[0][0]), "-", "disabling a check drops its window")
batch(D, [[0, 2, 0, 2, 0, 2]])   # history only
for c in D[0]:
    env.api("PATCH", "/api/v1/checks/%d" % c, A, {"enabled": True})
for s in ([2], [0], [2, 2], [0], [2]):
    batch(D, [s])
same(D, "disabled then enabled: states and events as rebuilt from history")

# a window written back by an ingest that read it before a disable is cleared
# when the check is enabled again: a disable and an enable each drop it
psql("UPDATE check_state SET flap_window = '02', flap_from = now() - interval '1 hour',"
     " flap_last = now() - interval '1 hour' WHERE check_id = %d" % D[0][0])
env.api("PATCH", "/api/v1/checks/%d" % D[0][0], A, {"enabled": False})
psql("UPDATE check_state SET flap_window = '02' WHERE check_id = %d" % D[0][0])
env.api("PATCH", "/api/v1/checks/%d" % D[0][0], A, {"enabled": True})
t.eq(window(D[0][0]), "-", "enabling a check drops a window kept meanwhile")

# ---- moved to another agent ----------------------------------------------------
M = twins("move", 1, max_attempts=3)
batch(M, [[2, 0, 2]])
t.ok(window(M[0][0]) != "-", "window kept before the move")
psql("UPDATE checks SET agent_id = %d WHERE id = %d" % (other_aid, M[0][0]))
t.eq(window(M[0][0]), "-", "a check moved to another agent forgets its window")
psql("UPDATE checks SET agent_id = %d WHERE id = %d" % (aid, M[0][0]))

# ---- server-stamped results ----------------------------------------------------
N = twins("unstamped", 2, max_attempts=2)
for i in range(14):
    batch(N, [[2, 0][i % 2], [[2, 2], [0]][i % 2]], stamped=False)
same(N, "results the server stamps: states and events as rebuilt from history")
t.ok(window(N[0][0]) != "-", "a flapping check's window is kept (server stamps)", window(N[0][0]))
# one stamped by the agent a minute ahead of the server's stamps: then a
# server-stamped result is stored before it (older), out of the engine's
# order: the window is dropped
ahead = (dt.datetime.now(dt.timezone.utc) + dt.timedelta(minutes=1)).strftime(
    "%Y-%m-%dT%H:%M:%S.%fZ")
batch(N, [[], []], extra=[{"check_id": c, "status": 2, "observed_at": ahead} for c in N[0]])
batch(N, [[0], [0]], stamped=False)
t.eq(window(N[0][0]), "-", "a result stored before the window's newest drops it")
for i in range(4):
    batch(N, [[2, 0][i % 2], [0, 2][i % 2]], stamped=False)
same(N, "... and the decisions still are the history's")

# ---- a heartbeat's window is never kept ------------------------------------------
st, hb, _ = env.api("POST", "/api/v1/checks", A, {
    "agent_id": aid, "name": "beat", "type": "heartbeat", "max_attempts": 3,
    "params": {"schedule": "every 1m", "grace_s": 30}})
t.eq(st, 201, "heartbeat check made")
for i in range(12):
    env.server.request("GET", "/ping/" + hb["ping_uuid"] + ("/fail" if i % 2 else ""))
t.eq(window(hb["id"]), "-", "the watcher's and pings' results keep no window")
t.ok("FLAPPING START" in kinds(hb["id"]), "(pings flap it all the same)", kinds(hb["id"]))
# an agent's results for it neither
env.post_results(tok, [{"check_id": hb["id"], "status": s, "observed_at": stamp()}
                       for s in (0, 2, 0, 2)])
t.eq(window(hb["id"]), "-", "nor an agent's results for a heartbeat check")

t.eq(psql(WRONG), [], "every window kept is the history's")

# ---- the retention retires a day a kept window holds -----------------------------
# With history_retention_days 1 the day before yesterday goes, while a window
# may hold results of it (the read looks back two days): such windows are
# cleared when the day is retired; one that holds none stays. The day's
# partition is made here; serverd's retention at its start retires it.
R = twins("ret", 1, max_attempts=3)
batch(R, [[2, 0, 2]])
inday = ("now() - interval '48 hours' + (((now() AT TIME ZONE 'UTC')::date - 1)"
         " AT TIME ZONE 'UTC' - (now() - interval '48 hours')) / 2")
psql("SELECT history_partition_ensure((now() AT TIME ZONE 'UTC')::date - 2);"
     "UPDATE check_state SET flap_from = %s WHERE check_id = %d" % (inday, R[0][0]))
t.ok(window(R[0][0]) != "-" and window(R[0][1]) != "-", "two windows kept")
env.server.stop()
env.server.start()
gone = wait_for(lambda: psql("SELECT to_regclass(history_partition_name("
                             "(now() AT TIME ZONE 'UTC')::date - 2)) IS NULL")[0][0] == "t", 30)
t.ok(gone, "the retention retired the day before yesterday")
t.eq((window(R[0][0]), window(R[0][1]) != "-"), ("-", True),
     "a window holding a result of the retired day is cleared; one that holds none stays")
t.done()
