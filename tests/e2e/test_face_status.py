"""End-to-end: GET /api/v1/status, as serverd computes it (plain columns,
JSON written in C, check_last_many() of sql/functions/), equals the
reference built from the schema's own JSON functions (check_json(), whose
state comes from check_last() and check_in_downtime()) in the same
database: fresh, right after a change through this serverd, after a change
made behind its back (seen through the NOTIFY), and for many clients asking
at once right after a change (they share one computation)."""
import http.client
import json
import os
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Env, Tap, wait_for  # noqa: E402

# The reference: every enabled non-OK check as check_json() minus
# "availability" plus "agent_name", worst first, then oldest, then by id.
# "in_downtime" is check_in_downtime() of the check and its agent:
# check_state_json() names the check's agent by position ($2), since its
# parameter agent_id is shadowed by the column of check_last()'s row (when
# it was not, a check without any result never showed its agent's
# downtime there; /status always did it right).
REFERENCE = """
SELECT json_build_object(
 'counts', (SELECT json_build_object(
    'OK', count(*) FILTER (WHERE s.status = 0),
    'WARNING', count(*) FILTER (WHERE s.status = 1),
    'CRITICAL', count(*) FILTER (WHERE s.status = 2),
    'UNKNOWN', count(*) FILTER (WHERE s.status = 3),
    'PENDING', count(*) FILTER (WHERE s.status IS NULL))
    FROM check_state s JOIN checks c ON c.id = s.check_id WHERE c.enabled),
 'agents', (SELECT json_build_object(
    'up', count(*) FILTER (WHERE state = 'up'),
    'down', count(*) FILTER (WHERE state = 'down'),
    'new', count(*) FILTER (WHERE state = 'new')) FROM agents),
 'problems', COALESCE((SELECT json_agg(jsonb_set(check_json(c) - 'availability', '{state,in_downtime}',
      to_jsonb(check_in_downtime(c.id, c.agent_id)))
      || jsonb_build_object('agent_name', a.name)
    ORDER BY CASE s.status WHEN 2 THEN 0 WHEN 3 THEN 1 ELSE 2 END, s.since, c.id)
    FROM checks c JOIN check_state s ON s.check_id = c.id JOIN agents a ON a.id = c.agent_id
    WHERE c.enabled AND s.status > 0), '[]'::json),
 'last_event_id', (SELECT COALESCE(max(id), 0) FROM events))
"""

t = Tap()
env = Env()
A = env.admin


def reference():
    return json.loads(env.cluster.psql(REFERENCE)[0][0])


def status():
    st, s, _ = env.api("GET", "/api/v1/status", A)
    assert st == 200, st
    s = dict(s)
    del s["server_time"]
    return s


def diff(got, want, path=""):
    if isinstance(got, dict) and isinstance(want, dict):
        out = []
        for k in sorted(set(got) | set(want)):
            out += diff(got.get(k, "<missing>"), want.get(k, "<missing>"), path + "." + k)
        return out
    if isinstance(got, list) and isinstance(want, list) and len(got) == len(want):
        out = []
        for i, (g, w) in enumerate(zip(got, want)):
            out += diff(g, w, path + "[%d]" % i)
        return out
    return [] if got == want else ["%s: got %r, want %r" % (path, got, want)]


def same(desc):
    got, want = status(), reference()
    t.ok(got == want, desc, diag="\n".join(diff(got, want))[:3000])


def settled():
    """the jobs thread's DOWNTIME START events are in, and /status has seen them"""
    n = int(env.cluster.psql("SELECT count(*) FROM downtimes WHERE start_at <= now()")[0][0])
    wait_for(lambda: int(env.cluster.psql("SELECT count(*) FROM events"
                                          " WHERE kind = 'DOWNTIME START'")[0][0]) >= n, timeout=20)
    wait_for(lambda: status() == reference(), timeout=10)


t.eq(status(), reference(), "no checks: equal to the reference")

a1, tok1 = env.make_agent("web01")
a2, tok2 = env.make_agent("db01", contacts=[])
ids = [env.make_check(a1, "c%d" % i, max_attempts=1) for i in range(8)]
soft = env.make_check(a1, "soft", max_attempts=3, warning="80", critical="~:90")
off = env.make_check(a1, "off", max_attempts=1)
quiet = env.make_check(a2, "quiet", max_attempts=1)
old = env.make_check(a2, "old", max_attempts=1)
env.make_check(a2, "pending")
odd = "quote \" back\\slash\nnew line\ttab \x01 ctrl \u00e9\u4e2d \U0001F600 </script>"
st, _, _ = env.post_results(tok1, [
    {"check_id": ids[0], "status": 2, "output": odd, "value": 97.25, "perfdata": "load=97.25;80;90"},
    {"check_id": ids[1], "status": 1, "output": "warn", "value": -0.1},
    {"check_id": ids[2], "status": 3, "output": "unknown", "value": None},
    {"check_id": ids[3], "status": 0, "output": "fine", "value": 1e300},
    {"check_id": ids[4], "status": 2, "output": "acked", "value": 3},
    {"check_id": ids[5], "status": 2, "output": "in downtime", "value": 0.30000000000000004},
    {"check_id": ids[6], "status": 1, "output": "twice", "value": 1},
    {"check_id": ids[6], "status": 1, "output": "twice, the newer", "value": 2},
    {"check_id": soft, "status": 2, "output": "soft"},
    {"check_id": off, "status": 2, "output": "disabled"}])
t.eq(st, 201, "results posted")
st, _, _ = env.post_results(tok2, [
    {"check_id": old, "status": 2, "output": "three days ago",
     "observed_at": "%s" % env.cluster.psql(
         "SELECT to_char((now() - interval '3 days') AT TIME ZONE 'UTC',"
         " 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')")[0][0]}])
t.eq(st, 201, "a result three days old posted (an older day partition)")
# a problem without any result (state written directly; the newest result
# then is null), and one acknowledged, one in downtime, one disabled
env.cluster.psql("UPDATE check_state SET status = 2, hard_status = 2, since = now() WHERE check_id = %d;"
                 "UPDATE check_state SET flapping = true, flap_pct = 33.333332 WHERE check_id = %d"
                 % (quiet, ids[1]))
env.api("POST", "/api/v1/checks/%d/ack" % ids[4], A, {"comment": "on it"})
env.api("POST", "/api/v1/downtimes", A, {"check_id": ids[5], "start": "2020-01-01T00:00:00Z",
                                          "end": "2099-01-01T00:00:00Z", "comment": "c"})
env.api("PATCH", "/api/v1/checks/%d" % off, A, {"enabled": False})

settled()
same("problems of every kind: equal to the reference")
s = status()
names = [p["name"] for p in s["problems"]]
t.ok("off" not in names and "c3" not in names and "pending" not in names,
     "OK, PENDING and disabled checks are no problems", diag=names)
t.ok(s["counts"]["PENDING"] >= 1 and sum(s["counts"].values()) == 12,
     "counts leave the disabled check out", diag=s["counts"])
p0 = [p for p in s["problems"] if p["id"] == ids[0]][0]
# a control character is stored escaped (docs/api.md), newline and tab kept
t.eq(p0["state"]["output"], odd.replace("\x01", "\\u0001"),
     "output with quotes, controls and non-ASCII round-trips")
t.eq([p["state"]["output"] for p in s["problems"] if p["id"] == ids[6]], ["twice, the newer"],
     "the newest result of a check is shown")
t.eq([p["state"]["output"] for p in s["problems"] if p["id"] == old], ["three days ago"],
     "a result in an older partition is found")
t.eq([p["state"]["last_result_at"] for p in s["problems"] if p["id"] == quiet], [None],
     "a problem without results has no last result")

# a day partition that retention drops after check_last_many() listed it
# (it asks each day by name) is skipped, not an error: the list is
# made, for one call, to name a day table that does not exist
env.cluster.psql(
    "ALTER FUNCTION history_partitions() RENAME TO saved_partitions;"
    " CREATE FUNCTION history_partitions() RETURNS TABLE (name text, day date)"
    " LANGUAGE sql STABLE AS $$ SELECT * FROM saved_partitions()"
    " UNION ALL SELECT 'check_history_p29990101', '2999-01-01'::date $$")
try:
    got = env.cluster.psql("SELECT check_id, observed_at IS NOT NULL FROM check_last_many("
                           "ARRAY[%d, %d]::bigint[])" % (quiet, old))
except RuntimeError as e:
    got = str(e)
env.cluster.psql("DROP FUNCTION history_partitions();"
                 " ALTER FUNCTION saved_partitions() RENAME TO history_partitions")
t.eq(got, [[str(old), "t"]], "a listed day that is gone is skipped")

# a check's newest results are read from the newest end of its index even
# when the plan is made on statistics of one row per check (check_last_many(),
# check_flap_recent() and check_last() in sql/functions/):
# 300 checks with one result each in yesterday's partition (UTC), analysed;
# then one of them gets 3,000 more there. Each lookup, in a transaction of
# its own, may fetch only what it returns (heap rows fetched through the
# partition's indexes), not the check's 3,001 rows sorted.
a3, _ = env.make_agent("stats01")
day = env.cluster.psql("SELECT (now() AT TIME ZONE 'UTC')::date - 1")[0][0]
noon = "('%s 12:00'::timestamp AT TIME ZONE 'UTC')" % day
env.cluster.psql(
    "SELECT history_partition_ensure('%s');"
    "INSERT INTO checks (agent_id, name, type, params) SELECT %d, 's' || g, 'load', '{}'"
    " FROM generate_series(1, 300) g;"
    "INSERT INTO check_history (check_id, agent_id, status, output, observed_at)"
    " SELECT id, %d, 0, 'one', %s - interval '1 hour' FROM checks WHERE agent_id = %d;"
    "ANALYZE check_history" % (day, a3, a3, noon, a3))
busy = int(env.cluster.psql("SELECT min(id) FROM checks WHERE agent_id = %d" % a3)[0][0])
env.cluster.psql("INSERT INTO check_history (check_id, agent_id, status, output, observed_at)"
                 " SELECT %d, %d, g %% 2, 'many', %s - g * interval '1 millisecond'"
                 " FROM generate_series(0, 2999) g" % (busy, a3, noon))
part = env.cluster.psql("SELECT history_partition_name('%s')" % day)[0][0]


def fetched(call):
    out = env.cluster.psql_script(
        "BEGIN;\n%s;\nSELECT 'fetched=' || sum(pg_stat_get_xact_tuples_fetched(indexrelid))"
        " FROM pg_index WHERE indrelid = '%s'::regclass;\nCOMMIT;\n" % (call, part))
    return [x for x in out.splitlines() if x.startswith("fetched=")]


for n in range(6):   # PL/pgSQL makes its generic plan after five calls
    flap = fetched("SELECT check_flap_recent(%d, 300, 21)" % busy)
    many = fetched("SELECT count(*) FROM check_last_many(ARRAY[%d]::bigint[])" % busy)
t.eq(flap, ["fetched=21"], "the flap window's 21 results: 21 rows fetched, not the day's")
t.eq(many, ["fetched=1"], "check_last_many: one row fetched for the newest")
t.eq(fetched("SELECT (check_last(%d)).output" % busy), ["fetched=1"],
     "check_last: one row fetched for the newest")

# an agent-wide downtime
env.api("POST", "/api/v1/downtimes", A, {"agent_id": a2, "start": "2020-01-01T00:00:00Z",
                                          "end": "2099-01-01T00:00:00Z"})
settled()
same("agent downtime: equal to the reference")

# a change through this serverd: the very next /status has it
status()
env.post_results(tok1, [{"check_id": ids[3], "status": 2, "output": "now broken"}])
same("right after a POST through this serverd: equal to a fresh computation")
env.post_results(tok1, [{"check_id": ids[0], "status": 0, "output": "recovered"}])
same("right after a recovery: equal to a fresh computation")

# a change behind serverd's back (SQL): seen once its NOTIFY arrived
env.cluster.psql("UPDATE check_state SET status = 3 WHERE check_id = %d" % ids[7])
t.ok(wait_for(lambda: status() == reference(), timeout=10),
     "a change made in SQL: /status follows its notification")

# many clients right after a change: every answer is the fresh one
env.post_results(tok1, [{"check_id": ids[7], "status": 1, "output": "many"}])
want = reference()
got = [None] * 8


def ask(i):
    c = http.client.HTTPConnection("127.0.0.1", env.server.port, timeout=30)
    c.request("GET", "/api/v1/status", headers={"Authorization": "Bearer " + A})
    r = c.getresponse()
    got[i] = json.loads(r.read())
    del got[i]["server_time"]
    c.close()


th = [threading.Thread(target=ask, args=(i,)) for i in range(8)]
for x in th:
    x.start()
for x in th:
    x.join()
t.ok(all(g == want for g in got), "8 clients at once right after a change: all fresh")

# nothing wrong at all: an empty list, counts still there
env.cluster.psql("UPDATE check_state SET status = 0")
t.ok(wait_for(lambda: status() == reference(), timeout=10), "no problems: equal to the reference")
t.eq(status()["problems"], [], "no problems: an empty list")
t.done()
