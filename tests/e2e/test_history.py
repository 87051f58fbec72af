#!/usr/bin/env python3
"""History (docs/history.md): day partitions, retention, roll-ups, summaries,
availability, inventory search and facts history.

Deterministic: results carry known observed times; roll-ups are waited for
through their watermark (a condition, never a duration); the roll-up that
is killed is held on a lock the test owns."""
import datetime as dt
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Env, Server, Tap, wait_for  # noqa: E402

t = Tap()
env = Env(conf={"rollup_interval_s": "1", "history_retention_days": "31"})
A = env.admin
api = env.api
psql = env.cluster.psql
UTC = dt.timezone.utc


def iso(d):
    return d.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def q1(sql):
    rows = psql(sql)
    return rows[0][0] if rows else None


def rolled_up():
    """every committed row is counted in the roll-ups"""
    return q1("SELECT (SELECT last_id FROM rollup_watermark)"
              " >= (SELECT COALESCE(max(id), 0) FROM check_history)") == "t"


def trunc(d, by):
    if by == "minute":
        return d.replace(second=0, microsecond=0)
    if by == "hour":
        return d.replace(minute=0, second=0, microsecond=0)
    return d.replace(hour=0, minute=0, second=0, microsecond=0)


def expected(results, by, since, until):
    """summary items computed here from what was posted"""
    b = {}
    for when, status, value in results:
        s = trunc(when, by)
        if s < trunc(since, by) or s >= until:
            continue
        b.setdefault(s, []).append((status, value))
    out = []
    for s in sorted(b):
        rs = b[s]
        vals = [v for _, v in rs if v is not None]
        n = len(rs)
        ok = sum(1 for st, _ in rs if st == 0)
        out.append({"start": s.strftime("%Y-%m-%dT%H:%M:%SZ"), "count": n,
                    "min": min(vals) if vals else None, "max": max(vals) if vals else None,
                    "avg": round(sum(vals) / len(vals), 6) if vals else None,
                    "ok": ok, "warning": sum(1 for st, _ in rs if st == 1),
                    "critical": sum(1 for st, _ in rs if st == 2),
                    "unknown": sum(1 for st, _ in rs if st == 3),
                    "ok_ratio": round(ok / n, 6)})
    return out


def summary(path, by, since, until):
    st, b, _ = api("GET", "%s/summary?by=%s&since=%s&until=%s" % (path, by, iso(since), iso(until)), A)
    if st != 200:
        return st, b
    for it in b["items"]:
        for k in ("avg", "ok_ratio"):
            if it.get(k) is not None:
                it[k] = round(it[k], 6)
    return st, b["items"]


aid, atok = env.make_agent("web01")
ca = env.make_check(aid, "load")
cb = env.make_check(aid, "load5")
now = dt.datetime.now(UTC)
today = now.date()

# ---- partitions ahead ------------------------------------------------------------------
def part(d):
    return q1("SELECT to_regclass('check_history_p%s') IS NOT NULL" % d.strftime("%Y%m%d")) == "t"


t.ok(wait_for(lambda: all(part(today + dt.timedelta(days=k)) for k in range(3))),
     "partitions made ahead: today and the next two days")
t.eq(q1("SELECT relkind FROM pg_class WHERE relname = 'check_history'"), "p",
     "check_history is a partitioned table")

# ---- summaries against known observed times --------------------------------------------
T = (now - dt.timedelta(hours=3)).replace(minute=0, second=0, microsecond=0)
S = dt.timedelta(seconds=1)
posted = [(T, 0, 1.0), (T + 30 * S, 1, 3.0), (T + 59 * S + dt.timedelta(microseconds=999999), 0, 2.0),
          (T + 60 * S, 2, 10.0), (T + 61 * S, 0, None), (T + 3600 * S, 0, 5.0),
          (T + 7199 * S, 3, 7.5)]
st, b, _ = env.post_results(atok, [{"check_id": ca, "status": s, "value": v, "observed_at": iso(w),
                                    "result_id": "a-%d" % i} for i, (w, s, v) in enumerate(posted)])
t.eq((st, b), (201, {"accepted": len(posted), "duplicates": 0}), "results posted")
st, b, _ = env.post_results(atok, {"check_id": ca, "status": 1, "value": 3.0,
                                   "observed_at": iso(posted[1][0]), "result_id": "a-1"})
t.eq(b, {"accepted": 0, "duplicates": 1}, "a resend (same result_id and observed_at) is a duplicate")

path = "/api/v1/checks/%d" % ca
span = (T, T + 2 * 3600 * S)
st, items = summary(path, "minute", *span)
t.eq(items, expected(posted, "minute", *span), "minute buckets, read raw or rolled up")
t.ok(wait_for(rolled_up), "roll-ups caught up")
st, items = summary(path, "minute", *span)
t.eq(items, expected(posted, "minute", *span), "minute buckets from the roll-ups")
t.eq([i["count"] for i in items[:2]], [3, 2], "bucket edges: :59.999999 is the first minute, :60 the next")
st, items = summary(path, "hour", *span)
t.eq(items, expected(posted, "hour", *span), "hour buckets")
t.eq(items[0]["avg"], 4.0, "avg over the results with a value")
dspan = (T - dt.timedelta(days=2), now)
st, items = summary(path, "day", *dspan)
t.eq(items, expected(posted, "day", *dspan), "day buckets")
st, items = summary(path, "minute", T, T + 60 * S)
t.eq(len(items), 1, "until is exclusive: one minute bucket")
st, items = summary(path, "minute", T + 30 * S, T + 61 * S)
t.eq([i["count"] for i in items], [3, 2], "buckets touched by [since, until) count whole")
st, b = summary(path, "minute", T + 60 * S, T)
t.eq(st, 422, "since after until -> 422")
st, b, _ = api("GET", path + "/summary?by=week", A)
t.eq(st, 400, "by=week -> 400")
st, b, _ = api("GET", path + "/summary?by=minute&since=2000-01-01T00:00:00Z", A)
t.eq(st, 422, "too many buckets -> 422")
st, b, _ = api("GET", "/api/v1/checks/999999/summary", A)
t.eq(st, 404, "summary of an unknown check -> 404")
st, b, _ = api("GET", path + "/summary?by=hour", A)
t.ok(st == 200 and b["by"] == "hour" and "since" in b and "until" in b, "defaults answer", b)

# late result: counted at once (raw), and once after the roll-up
late = (T + 10 * S, 3, 100.0)
posted.append(late)
env.post_results(atok, {"check_id": ca, "status": 3, "value": 100.0, "observed_at": iso(late[0]),
                        "result_id": "late-1"})
st, items = summary(path, "minute", *span)
t.eq(items, expected(posted, "minute", *span), "a late result is in the summary at once")
t.ok(wait_for(rolled_up), "roll-ups caught up with the late result")
st, items = summary(path, "hour", *span)
t.eq(items, expected(posted, "hour", *span), "a late result is counted once after its roll-up")
st, items = summary(path, "minute", *span)
t.eq(items, expected(posted, "minute", *span), "and once in the minute buckets")

# late results of a past day, at an hour's edges, while the roll-up is held (the test owns the
# window: rollup_hour locked, so the watermark cannot move): read raw from their old partition
# at once (the raw floor goes back to it), then counted once from the roll-ups
t.ok(wait_for(rolled_up), "roll-ups caught up before the held one")
held_rollup = env.cluster.session()
held_rollup.stdin.write("BEGIN;\nLOCK TABLE rollup_hour IN EXCLUSIVE MODE;\nSELECT 'locked';\n")
held_rollup.stdin.flush()
t.eq(held_rollup.stdout.readline().strip(), "locked", "the test holds rollup_hour")
P = (now - dt.timedelta(days=14)).replace(hour=12, minute=0, second=0, microsecond=0)
US = dt.timedelta(microseconds=1)
late2 = [(P - US, 0, 8.0), (P, 2, 4.0), (P + 3600 * S - US, 1, 6.0), (P + 3600 * S, 3, None)]
st, b, _ = env.post_results(atok, [{"check_id": ca, "status": s_, "value": v, "observed_at": iso(w),
                                    "result_id": "late2-%d" % i} for i, (w, s_, v) in enumerate(late2)])
t.eq((st, b), (201, {"accepted": 4, "duplicates": 0}), "late results of a past day posted")
posted += late2
t.eq(q1("SELECT count(*) FROM check_history WHERE id > (SELECT last_id FROM rollup_watermark)"
        " AND observed_at < now() - interval '13 days'"), "4", "they are above the watermark")
pspan = (P - 3600 * S, P + 2 * 3600 * S)
st, items = summary(path, "hour", *pspan)
t.eq(items, expected(posted, "hour", *pspan), "hour buckets at once: :59:59.999999 and :00 apart")
t.eq([i["count"] for i in items], [1, 2, 1], "bucket edges of a late past hour")
mspan = (now - dt.timedelta(days=30), now)
st, items = summary(path, "hour", *mspan)
t.eq(items, expected(posted, "hour", *mspan), "hour buckets over 30 days, raw and rolled up merged")
st, items = summary(path, "day", *mspan)
t.eq(items, expected(posted, "day", *mspan), "day buckets over 30 days, raw and rolled up merged")
held_rollup.stdin.write("ROLLBACK;\n\\q\n")
held_rollup.stdin.flush()
held_rollup.wait()
t.ok(wait_for(rolled_up, 30), "roll-ups caught up with the late past results")
st, items = summary(path, "hour", *mspan)
t.eq(items, expected(posted, "hour", *mspan), "the late past results counted once from the roll-ups")
# the roll-up builds the minute level only within rollup_minute_days (2 here), the hour and day
# levels whatever the result's age
t.eq(psql("SELECT (SELECT count(*) FROM rollup_minute WHERE check_id = %d AND start < now() - interval"
          " '13 days'), (SELECT sum(count) FROM rollup_hour WHERE check_id = %d AND start >= '%s'"
          " AND start < '%s'), (SELECT sum(count) FROM rollup_day WHERE check_id = %d AND start = '%s')"
          % (ca, ca, iso(P - 3600 * S), iso(P + 2 * 3600 * S), ca, iso(P.replace(hour=0)))),
     [["0", "4", "4"]], "a late result older than the minute retention: hour and day rows, no minute row")

# a result posted now (no observed_at) is visible at once in the default window
st, b, _ = env.post_results(atok, {"check_id": cb, "status": 2, "value": 91.5})
st, b, _ = api("GET", "/api/v1/checks/%d/summary" % cb, A)
t.ok(st == 200 and b["by"] == "minute" and sum(i["count"] for i in b["items"]) == 1
     and b["items"][-1]["critical"] == 1, "a result posted now is in the summary at once", b)

# ---- agent summary: each check's worst state per bucket ---------------------------------
env.post_results(atok, [{"check_id": cb, "status": 1, "observed_at": iso(T + 5 * S)},
                        {"check_id": cb, "status": 0, "observed_at": iso(T + 3600 * S)}])
st, b, _ = api("GET", "/api/v1/agents/%d/summary?by=hour&since=%s&until=%s"
               % (aid, iso(span[0]), iso(span[1])), A)
it = b["items"] if st == 200 else []
t.eq([(i["start"], i["checks"], i["ok"], i["warning"], i["critical"], i["unknown"]) for i in it],
     [(T.strftime("%Y-%m-%dT%H:%M:%SZ"), 2, 0, 1, 1, 0),
      ((T + 3600 * S).strftime("%Y-%m-%dT%H:%M:%SZ"), 2, 1, 0, 0, 1)],
     "agent summary: worst state of each check per bucket")
viewer = env.server.create_token("viewer1", role="viewer")
st, _, _ = api("GET", path + "/summary", viewer)
t.eq(st, 200, "a viewer token reads summaries")
st, _, _ = api("GET", path + "/summary", atok)
t.ok(st in (401, 403), "an agent token does not")

# ---- availability ----------------------------------------------------------------------
t.ok(wait_for(rolled_up), "roll-ups caught up")
st, c, _ = api("GET", path, A)
day_ago = now - dt.timedelta(hours=24)
in24 = [r for r in posted if trunc(r[0], "hour") >= trunc(day_ago, "hour")]
want = sum(1 for r in in24 if r[1] == 0) / len(in24)
t.ok(st == 200 and abs(c["availability"]["24h"] - want) < 1e-9
     and abs(c["availability"]["7d"] - want) < 1e-9 and c["availability"]["30d"] is not None,
     "availability of a check from the roll-ups", c.get("availability"))
st, a, _ = api("GET", "/api/v1/agents/%d" % aid, A)
t.ok(st == 200 and set(a["availability"]) == {"24h", "7d", "30d"}
     and 0 < a["availability"]["24h"] < 1, "availability of an agent", a.get("availability"))
# 7d reads hours up to its window's first UTC midnight and whole days after
# it: over eight days of hour rows (and day rows that are their sums, as the
# roll-up makes them), the same share as the 168 hour rows of the window,
# whatever the hour of the day the suite runs at, which moves the window's
# start (checks of their own, roll-up rows written here, with a mix of
# statuses that differs per hour)
psql("INSERT INTO checks (agent_id, name, type, params) SELECT %d, 'av' || g, 'load', '{}'"
     " FROM generate_series(1, 3) g" % aid)
psql("INSERT INTO rollup_hour (check_id, start, count, nvalues, vsum, ok, warning, critical, unknown)"
     " SELECT c.id, date_trunc('hour', now()) - g * interval '1 hour', 60, 0, 0,"
     "  40 + (c.id + g * 7) %% 19, 20 - (c.id + g * 7) %% 19, 0, 0"
     " FROM checks c, generate_series(0, 24 * 8) g WHERE c.agent_id = %d AND c.name LIKE 'av%%'" % aid)
psql("INSERT INTO rollup_day (check_id, start, count, nvalues, vsum, ok, warning, critical, unknown)"
     " SELECT check_id, date_trunc('day', start, 'UTC'), sum(count), 0, 0, sum(ok), sum(warning), 0, 0"
     " FROM rollup_hour WHERE check_id IN (SELECT id FROM checks WHERE name LIKE 'av%' AND agent_id = "
     + str(aid) + ") GROUP BY 1, 2")
got = psql("SELECT round((check_availability(array_agg(id)) ->> '7d')::numeric, 12),"
           " round((SELECT sum(ok)::numeric / sum(count) FROM rollup_hour WHERE check_id = ANY (array_agg(c.id))"
           "   AND start >= now() - interval '7 days'), 12)"
           " FROM checks c WHERE c.name LIKE 'av%' AND c.agent_id = " + str(aid))
t.ok(len(got) == 1 and got[0][0] == got[0][1] and got[0][0] != "", "7d from hours and whole days:"
     " the share of the window's 168 hour rows", got)
psql("DELETE FROM checks WHERE name LIKE 'av%' AND agent_id = " + str(aid))

# ---- expired results and partitions on demand --------------------------------------------
old = now - dt.timedelta(days=40)
st, b, _ = env.post_results(atok, {"check_id": ca, "status": 0, "observed_at": iso(old)})
t.eq((st, b), (201, {"accepted": 0, "duplicates": 0, "expired": 1}),
     "a result older than the retention window is expired")
past = now - dt.timedelta(days=10)
t.ok(not part(past.date()), "no partition for a past day yet")
st, b, _ = env.post_results(atok, [{"check_id": ca, "status": 0, "observed_at": iso(old)},
                                   {"check_id": ca, "status": 1, "observed_at": iso(past)}])
t.eq((st, b), (201, {"accepted": 1, "duplicates": 0, "expired": 1}),
     "mixed batch: the old one expired, the other stored")
t.ok(part(past.date()), "the partition of a past day is made on demand")
st, items = summary(path, "day", past - dt.timedelta(days=1), past + dt.timedelta(days=1))
t.eq([(i["start"], i["count"], i["warning"]) for i in items],
     [(past.strftime("%Y-%m-%dT00:00:00Z"), 1, 1)], "a result of a past day is in its day's summary")
t.eq(q1("SELECT count(*) FROM check_history WHERE observed_at < now() - interval '31 days'"), "0",
     "nothing older than the window was stored")
st, b, _ = api("POST", "/api/v1/check_history", "0" * 64,
               {"check_id": ca, "status": 0, "observed_at": iso(now - dt.timedelta(days=9))})
t.eq(st, 401, "an unknown token makes no partition")
t.ok(not part((now - dt.timedelta(days=9)).date()), "... and none was made")

# ---- kill -9 during a roll-up --------------------------------------------------------------
t.ok(wait_for(rolled_up), "roll-ups caught up before the crash")
holder = env.cluster.session()
holder.stdin.write("BEGIN;\nLOCK TABLE rollup_hour IN EXCLUSIVE MODE;\nSELECT 'locked';\n")
holder.stdin.flush()
t.eq(holder.stdout.readline().strip(), "locked", "the test holds rollup_hour")
K = (now - dt.timedelta(hours=5)).replace(minute=7, second=0, microsecond=0)
crash = [(K + i * S, i % 2, float(i)) for i in range(5)]
env.post_results(atok, [{"check_id": cb, "status": s, "value": v, "observed_at": iso(w)}
                        for w, s, v in crash])
waiting = ("SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation"
           " WHERE c.relname = 'rollup_hour' AND NOT l.granted")
t.ok(wait_for(lambda: q1(waiting) != "0", 30), "a roll-up is waiting for rollup_hour mid-transaction")
env.server.kill9()
holder.stdin.write("ROLLBACK;\n\\q\n")
holder.stdin.flush()
holder.wait()
t.eq(q1("SELECT count(*) FROM rollup_minute WHERE check_id = %d AND start = '%s'" % (cb, iso(K))), "0",
     "the killed roll-up left nothing behind")
env.server.start()
t.ok(wait_for(rolled_up, 30), "roll-ups caught up after the restart")
kmin = psql("SELECT count, ok, warning FROM rollup_minute WHERE check_id = %d AND start = '%s'"
            % (cb, iso(K)))
t.eq(kmin, [["5", "3", "2"]], "minute roll-up counted once after the crash")
khour = q1("SELECT count FROM rollup_hour WHERE check_id = %d AND start = '%s'"
           % (cb, iso(K.replace(minute=0))))
t.eq(khour, "5", "hour roll-up counted once after the crash")
st, items = summary("/api/v1/checks/%d" % cb, "minute", K, K + 60 * S)
t.eq(items, expected(crash, "minute", K, K + 60 * S), "summary after the crash")

# ---- retention on a restarted server ---------------------------------------------------------
# Expired days in every state a retention run can meet: attached partitions (d40, d35), a
# DETACH ... CONCURRENTLY interrupted half-way ("pending", d38), a table detached but not
# dropped (d37); and a detached day table inside the window (din), which is not retention's.
def pname(d):
    return "check_history_p" + d.strftime("%Y%m%d")


def psql_session(*stmts):
    """the statements one by one in one session, outside any transaction block"""
    args = []
    for st in stmts:
        args += ["-c", st]
    return subprocess.run(env.cluster.psql_cmd(*args), capture_output=True, text=True)


def hold_reader():
    """a session that holds check_history (ACCESS SHARE) until told to let go"""
    h = env.cluster.session()
    h.stdin.write("BEGIN;\nSELECT count(*) >= 0 FROM check_history;\n")
    h.stdin.flush()
    return h, h.stdout.readline().strip() == "t"


def let_go(h):
    h.stdin.write("ROLLBACK;\n\\q\n")
    h.stdin.flush()
    h.wait()


def state(d):
    """'attached', 'pending', 'detached' or None (no such table)"""
    return q1("SELECT CASE WHEN i.inhrelid IS NULL THEN 'detached' WHEN i.inhdetachpending"
              " THEN 'pending' ELSE 'attached' END FROM pg_class c LEFT JOIN pg_inherits i"
              " ON i.inhrelid = c.oid WHERE c.relname = '%s'" % pname(d))


d40, d38, d37, d35 = [(now - dt.timedelta(days=k)).date() for k in (40, 38, 37, 35)]
din = (now - dt.timedelta(days=20)).date()
xid, _ = env.make_agent("facts-x")
yid, _ = env.make_agent("facts-y")
env.server.stop()
psql("CREATE TABLE deleted_log (n int);"
     "CREATE FUNCTION log_delete() RETURNS trigger LANGUAGE plpgsql AS"
     " $$BEGIN INSERT INTO deleted_log VALUES (1); RETURN OLD; END$$;"
     "CREATE TRIGGER history_deletes BEFORE DELETE ON check_history"
     " FOR EACH ROW EXECUTE FUNCTION log_delete()")
for d in (d40, d38, d37, d35):
    psql("SELECT history_partition_ensure('%s')" % d)
    psql("INSERT INTO check_history (check_id, agent_id, status, observed_at)"
         " SELECT %d, %d, 0, '%s'::timestamptz + g * interval '1 minute'"
         " FROM generate_series(0, 99) g" % (ca, aid, d.isoformat() + "T00:00:00Z"))
psql("INSERT INTO rollup_minute (check_id, start, count, nvalues, vsum, ok, warning, critical,"
     " unknown) VALUES (%d, now() - interval '3 days', 1, 0, 0, 1, 0, 0, 0)" % ca)
# d38: a reader holds check_history, so the detach's wait for it times out half-way
holder, held = hold_reader()
t.ok(held, "a reader holds check_history")
out = psql_session("SET lock_timeout = '200ms'",
                   "ALTER TABLE check_history DETACH PARTITION %s CONCURRENTLY" % pname(d38))
let_go(holder)
t.ok("lock timeout" in out.stderr and state(d38) == "pending",
     "a DETACH CONCURRENTLY interrupted half-way leaves its partition pending", out.stderr)
psql("ALTER TABLE check_history DETACH PARTITION %s" % pname(d37))
psql("CREATE TABLE %s (LIKE check_history)" % pname(din))
t.eq([state(d) for d in (d40, d38, d37, d35, din)],
     ["attached", "pending", "detached", "attached", "detached"], "the states retention will meet")
# facts history: X's two old entries go, its recent one stays; Y keeps its newest though old
for agent, days in ((xid, 45), (xid, 40), (xid, 1), (yid, 50), (yid, 45)):
    psql("INSERT INTO agent_facts_history (agent_id, changed_at, facts) VALUES"
         " (%d, now() - interval '%d days', '{\"age\": %d}')" % (agent, days, days))
# the result_ids the server stamped (sql/021): kept a day longer than history
for rid, days in (("rs-old", 33), ("rs-edge", 31), ("rs-new", 1)):
    psql("INSERT INTO result_stamps (agent_id, result_id, stamped_at) VALUES"
         " (%d, '%s', now() - interval '%d days')" % (xid, rid, days))
kept = q1("SELECT count(*) FROM check_history WHERE observed_at >= now() - interval '31 days'")
env.server.start()
t.ok(wait_for(lambda: all(state(d) is None for d in (d40, d38, d37, d35)), 30),
     "retention finished the pending detach, dropped the detached table and the old partitions",
     [state(d) for d in (d40, d38, d37, d35)])
t.eq(state(din), "detached", "a detached table of a day inside the window is left alone")
psql("DROP TABLE %s" % pname(din))
t.eq(q1("SELECT count(*) FROM check_history WHERE observed_at < now() - interval '32 days'"), "0",
     "their rows are gone")
t.eq(q1("SELECT count(*) FROM check_history WHERE observed_at >= now() - interval '31 days'"), kept,
     "the rows inside the window are all there")
t.eq(q1("SELECT count(*) FROM deleted_log"), "0", "no row was DELETEd from check_history")
t.eq(q1("SELECT COALESCE(sum(n_tup_del), 0) FROM pg_stat_user_tables"
        " WHERE relname LIKE 'check_history%'"), "0", "n_tup_del of the history tables is 0")
t.eq(q1("SELECT count(*) FROM pg_proc WHERE proname = 'history_tops' AND (prosrc LIKE '%%%s%%'"
        " OR prosrc LIKE '%%%s%%')" % (pname(d40), pname(d35))), "0",
     "history_tops() no longer names the dropped partitions")
st, items = summary(path, "day", now - dt.timedelta(days=60), now)
t.eq(st, 200, "a day summary over the dropped days answers")
t.ok(wait_for(lambda: q1("SELECT count(*) FROM rollup_minute WHERE start < now() - interval '2 days'")
              == "0"), "minute roll-ups older than rollup_minute_days trimmed")
t.eq(psql("SELECT agent_id, facts->>'age' FROM agent_facts_history WHERE agent_id IN (%d, %d)"
          " ORDER BY id" % (xid, yid)), [[str(xid), "1"], [str(yid), "45"]],
     "facts history: older than the window gone, each agent's newest kept")
stamps = lambda: psql("SELECT result_id FROM result_stamps WHERE result_id LIKE 'rs-%' ORDER BY 1")
t.ok(wait_for(lambda: stamps() == [["rs-edge"], ["rs-new"]], 30),
     "stamped result_ids: those older than the window and a day gone", stamps())

# ---- retention blocks neither ingest nor readers ---------------------------------------------
# A reader holds check_history while retention detaches d33: the detach waits for it (as it
# must) holding no lock on check_history (its first step marked the partition and committed),
# and a result posted meanwhile is stored. (A plain DROP would ask for ACCESS EXCLUSIVE and
# queue every insert behind it.)
d33 = (now - dt.timedelta(days=33)).date()
env.server.stop()
psql("SELECT history_partition_ensure('%s')" % d33)
psql("INSERT INTO check_history (check_id, agent_id, status, observed_at)"
     " VALUES (%d, %d, 0, '%sT12:00:00Z')" % (ca, aid, d33.isoformat()))
# The test owns the window: its session holds the partition creators' advisory lock, so the
# history thread stops at history_tops_make() just before retention; the session then takes
# check_history as a reader and lets the advisory lock go (retention's detach then waits for
# the reader, up to its 5 s lock_timeout; past that it would be finished a minute later).
holder = env.cluster.session()
holder.stdin.write("SELECT pg_advisory_lock(1751741300, 1) IS NOT NULL;\n")
holder.stdin.flush()
t.eq(holder.stdout.readline().strip(), "t", "the test holds the partition creators' lock")
env.server.start()
t.ok(wait_for(lambda: q1("SELECT count(*) FROM pg_stat_activity WHERE query = 'SELECT history_tops_make()'"
                         " AND wait_event = 'advisory'") == "1", 30),
     "the history thread waits for it before retention")
holder.stdin.write("BEGIN;\nSELECT count(*) >= 0 FROM check_history;\n"
                   "SELECT pg_advisory_unlock(1751741300, 1);\n")
holder.stdin.flush()
t.eq([holder.stdout.readline().strip() for _ in range(2)], ["t", "t"],
     "a reader holds check_history; the lock is let go")
detaching = ("SELECT a.pid FROM pg_stat_activity a"
             " WHERE a.query LIKE 'ALTER TABLE check_history DETACH PARTITION %%%s%% CONCURRENTLY'"
             " AND a.wait_event = 'virtualxid'" % pname(d33))
pid = wait_for(lambda: q1(detaching), 30)
t.ok(pid is not None, "retention's detach waits for the reader")
t.eq(q1("SELECT count(*) FROM pg_locks WHERE pid = %s AND relation = 'check_history'::regclass"
        % (pid or "0")), "0", "... holding no lock on check_history meanwhile")
st, b, _ = env.post_results(atok, {"check_id": cb, "status": 0, "value": 1.5, "result_id": "during"})
t.eq((st, b), (201, {"accepted": 1, "duplicates": 0}), "a result is posted while the detach waits")
t.eq(psql("SELECT (SELECT count(*) FROM check_history WHERE result_id = 'during'),"
          " (SELECT inhdetachpending FROM pg_inherits WHERE inhrelid = '%s'::regclass)" % pname(d33)),
     [["1", "t"]], "... and stored while the partition was still being detached")
let_go(holder)
# done at once, or (if the detach's lock_timeout ran out first) FINALIZEd by the retry a minute later
t.ok(wait_for(lambda: state(d33) is None, 100), "the partition is gone once the reader let go")

# ---- inventory: search and facts history ---------------------------------------------------
facts = {"hostname": "web01", "kernel": "Linux 6.1.0-18-amd64", "os": "Debian GNU/Linux 12",
         "cpu_model": "Intel(R) Xeon(R) Gold 6230", "interfaces": {"eth0": ["10.20.30.40/24"]}}
st, _, _ = api("PUT", "/api/v1/agent/self/checkout", atok, {"facts": facts})
t.eq(st, 200, "checkout with facts")
bid, btok = env.make_agent("db02")
api("PUT", "/api/v1/agent/self/checkout", btok, {"facts": dict(facts, kernel="Linux 5.10.0",
                                                              interfaces={"eth0": ["10.9.9.9/24"]},
                                                              cpu_model="AMD EPYC 7302")})


def search(q):
    st, b, _ = api("GET", "/api/v1/agents?search=" + q, A)
    return [x["name"] for x in b["items"]] if st == 200 else st


t.eq(search("xeon"), ["web01"], "search by CPU model, case-insensitive")
t.eq(search("10.20.30"), ["web01"], "search by IP address")
t.eq(search("debian"), ["web01", "db02"], "search by OS")
t.eq(search("5.10"), ["db02"], "search by kernel")
t.eq(search("db0"), ["db02"], "search by name")
t.eq(search("nothing-like-this"), [], "no match")
api("PUT", "/api/v1/agent/self/checkout", atok, {"facts": facts})
api("PUT", "/api/v1/agent/self/checkout", atok, {"facts": dict(facts, kernel="Linux 6.1.0-20-amd64")})
st, f, _ = api("GET", "/api/v1/agents/%d/facts" % aid, A)
t.ok(st == 200 and [i["facts"]["kernel"] for i in f["items"]]
     == ["Linux 6.1.0-20-amd64", "Linux 6.1.0-18-amd64"]
     and f["facts"]["kernel"] == "Linux 6.1.0-20-amd64",
     "facts history: one entry per change, newest first", f)
st, _, _ = api("GET", "/api/v1/agents/999999/facts", A)
t.eq(st, 404, "facts of an unknown agent -> 404")

# ---- midnight UTC for results the server stamps -----------------------------------------
# A second serverd whose clock is 1 hour past the next midnight
# (CUSTOS_TEST_CLOCK_OFFSET_S; PostgreSQL's clock stays, so the skew allowed
# covers the difference): the results it stamps go into tomorrow's
# partition (made ahead, empty until now); a resend is a
# duplicate there as well; the check's state follows its results.
now_s = int(dt.datetime.now(UTC).timestamp())
offset = (now_s // 86400 + 1) * 86400 + 3600 - now_s
late = Server(env.tmp, env.cluster, name="tomorrow", conf={"max_clock_skew_s": "172800"},
              env={"CUSTOS_TEST_CLOCK_OFFSET_S": str(offset)}).start()
tomorrow = (dt.datetime.fromtimestamp(now_s + offset, UTC)).strftime("%Y%m%d")
mid_id, mid_tok = env.make_agent("midnight")
mid = env.make_check(mid_id, "past-midnight", max_attempts=1)
batch = [{"check_id": mid, "status": 2 if i == 19 else 0, "output": "m",
          "result_id": "mid-%d" % i} for i in range(20)]
got = [late.request("POST", "/api/v1/check_history", mid_tok, x)[1]
       for x in (batch[:1], batch, batch)]
t.eq(got, [{"accepted": 1, "duplicates": 0}, {"accepted": 19, "duplicates": 1},
           {"accepted": 0, "duplicates": 20}],
     "a server past midnight: its stamped results stored once, resends duplicates")
t.eq(psql("SELECT count(*) FROM check_history_p%s WHERE check_id = %d" % (tomorrow, mid)),
     [["20"]], "... all of them in tomorrow's partition")
t.eq(q1("SELECT status FROM check_state WHERE check_id = %d" % mid), "2",
     "... and evaluated: the check is CRITICAL")
t.ok("CUSTOS_TEST_CLOCK_OFFSET_S" in late.log(), "serverd warns that its clock is moved")
t.eq(late.stop(), 0, "the moved serverd exits cleanly")

t.eq(env.server.stop(), 0, "SIGTERM exits cleanly")
t.done()
