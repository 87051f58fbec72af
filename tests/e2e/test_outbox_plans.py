"""End-to-end: the senders' statements stay cheap in a storm whatever the
outbox's statistics say (serverd/notify/outbox.c, ROW_PROBE and
outbox_storm_stats(); bench/README.md, "bench/digest-storm").

serverd plans its statements once per connection (generic plans), on the
statistics of the moment. Two states make the claim's order test ("no
earlier row of this check, person and channel still open") quadratic in a
storm's pending rows, minutes per claim at 40,000:

1. A fresh install: the outbox analyzed while it held nothing. A storm's
   first rows, named by the wake-up, make the first sender analyze the
   outbox before it claims - seen here in serverd's log before the storm's
   sends (but for one per sender that happened to be awake already), and
   in PostgreSQL's own record of the analysis.
2. A grown install: 20,000 rows sent long ago, analyzed, next to nothing
   pending. Every claim and next-due look made in the storm is logged with
   its plan (auto_explain): the order test is a probe of the row's own
   series (an index condition on contact_id, per candidate), never an
   anti-join over the outbox - the shape that scans the channel's whole
   open set for each candidate.
"""
import json
import os
import re
import sys

os.environ["PGCTL_CONF"] = ("shared_preload_libraries = 'auto_explain'\n"
                            "auto_explain.log_format = json")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from alertlib import AlertEnv  # noqa: E402
from harness import Tap, wait_for  # noqa: E402

t = Tap()
# grouping off: no digest is made (a digest's making analyzes too)
e = AlertEnv(conf={"group_window_s": "0", "log_level": "info"})
sql = e.cluster.psql


def storm(first, n):
    """n checks c<first>..., CRITICAL in one batch: one wake-up names them all."""
    sql("INSERT INTO checks (agent_id, name, type, params, max_attempts, contacts)"
        " SELECT %d, 's' || lpad(g::text, 4, '0'), 'load', '{\"period\": 1}', 1,"
        "  ARRAY[%d]::bigint[] FROM generate_series(%d, %d) g"
        % (e.agent_id, e.contact_id, first, first + n - 1))
    ids = [int(r[0]) for r in sql(
        "SELECT id FROM checks WHERE name BETWEEN 's%04d' AND 's%04d' ORDER BY id"
        % (first, first + n - 1))]
    st, body, _ = e.post_results(e.agent_token, [
        {"check_id": c, "status": 2, "output": "CRITICAL - storm"} for c in ids])
    return st, ids


def sent_all(ids):
    want = 2 * len(ids)
    q = ("SELECT count(*) FROM notifications n JOIN events ev ON ev.id = n.event_id"
         " WHERE n.status = 'sent' AND ev.check_id IN (%s)" % ",".join(map(str, ids)))
    return wait_for(lambda: int(sql(q)[0][0]) == want, 60, 0.2)


# ---- 1. a fresh install's outbox, analyzed empty --------------------------
sql("ANALYZE notifications")
before = sql("SELECT last_analyze FROM pg_stat_user_tables WHERE relname = 'notifications'")
st, ids = storm(0, 600)   # 1,200 rows: an email and a page each
t.eq(st, 201, "a storm of 600 problems is stored in one batch")
t.ok(sent_all(ids), "its 1,200 notifications are sent (grouping off)")
log = open(e.server.log_path, errors="replace").read().splitlines()
an = [i for i, x in enumerate(log) if "analyzing it before claiming" in x]
sends = [i for i, x in enumerate(log) if re.search(r"notification \d+: PROBLEM \w+ to .* sent", x)]
t.ok(an and re.search(r": 1200 rows to send since the outbox was analyzed here", log[an[0]]),
     "the wake-up's 1,200 rows make a sender analyze the outbox", log[an[0]] if an else log[-20:])
# A sender already awake when the rows came (its own clock) may claim one
# before the wake-up is read; then its next round waits for the analysis.
# So at most one send per sender (2 per channel here) comes before it; in
# practice none.
early = [i for i in sends if an and i < an[0]]
t.ok(an and sends and len(early) <= 4,
     "before the claims: at most one send per sender (4) precedes the analysis (%d did)"
     % len(early), [log[i] for i in early])
after = sql("SELECT last_analyze IS NOT NULL AND last_analyze IS DISTINCT FROM %s"
            " FROM pg_stat_user_tables WHERE relname = 'notifications'"
            % ("NULL" if not before or not before[0][0] else "'%s'" % before[0][0]))
t.eq(after, [["t"]], "PostgreSQL recorded the analysis (pg_stat_user_tables.last_analyze)")
t.eq(len(an), 1, "one analysis for the storm, not one per sender")

# ---- 2. a grown install: 20,000 rows sent long ago, analyzed --------------
sql("INSERT INTO events (created_at, kind, agent_id, check_id, status, prev_status,"
    "  state_type, attempt, output)"
    " SELECT now() - interval '3 days', 'RECOVERY', c.agent_id, c.id, 0, 2, 'HARD', 1, 'OK - old'"
    " FROM checks c, generate_series(1, 20) g WHERE c.name LIKE 's%'")
sql("INSERT INTO notifications (event_id, contact_id, channel, series, status, attempts,"
    "  created_at, sent_at)"
    " SELECT ev.id, %d, ch, ev.check_id, 'sent', 1, ev.created_at, ev.created_at"
    " FROM events ev, unnest('{email,pushover}'::text[]) ch WHERE ev.output = 'OK - old'"
    % e.contact_id)
sql("ANALYZE notifications")
old = int(sql("SELECT count(*) FROM notifications")[0][0])
t.ok(old > 20000, "the outbox holds %d rows, analyzed, none pending" % old)
# every statement's plan from now on, JSON in PostgreSQL's log
sql("ALTER SYSTEM SET auto_explain.log_min_duration = 0")
sql("SELECT pg_reload_conf()")
pglog = os.path.join(e.cluster.dir, "postgres.log")
mark = os.path.getsize(pglog)
st, ids2 = storm(600, 300)   # 600 rows: fewer than a storm's analysis needs
t.eq(st, 201, "a storm of 300 problems on the grown install")
t.ok(sent_all(ids2), "its 600 notifications are sent")
sql("ALTER SYSTEM RESET auto_explain.log_min_duration")
sql("SELECT pg_reload_conf()")
log2 = open(e.server.log_path, errors="replace").read()
t.eq(log2.count("analyzing it before claiming"), 1,
     "no analysis this time: the probes do not need one")


def plans(path, start):
    """The auto_explain plans logged after byte start: [(query text, plan)]."""
    with open(path, errors="replace") as f:
        f.seek(start)
        lines = f.read().splitlines()
    out, i = [], 0
    while i < len(lines):
        if lines[i].endswith("plan:") and "duration:" in lines[i]:
            j = i + 1
            body = []
            while j < len(lines) and lines[j].startswith("\t"):
                body.append(lines[j])
                j += 1
            try:
                doc = json.loads("\n".join(body))
                out.append((doc.get("Query Text", ""), doc["Plan"]))
            except (ValueError, KeyError):
                pass
            i = j
        else:
            i += 1
    return out


def nodes(n):
    yield n
    for k in n.get("Plans", []):
        yield from nodes(k)


def scans_outbox(n):
    return any(x.get("Relation Name") == "notifications" for x in nodes(n))


def anti_over_outbox(plan):
    return [n for n in nodes(plan) if n.get("Join Type") == "Anti"
            and any(k.get("Parent Relationship") == "Inner" and scans_outbox(k)
                    for k in n.get("Plans", []))]


def probes(plan):
    return [n for n in nodes(plan) if n.get("Relation Name") == "notifications"
            and "contact_id = n" in n.get("Index Cond", "")]


got = plans(pglog, mark)
CLAIM = "WITH live AS MATERIALIZED (SELECT l.id FROM serverd_live() AS l(id)), c AS ("
claims = [p for q, p in got if q.startswith(CLAIM)]
bare = [q[:120] for q, p in got if q.startswith(CLAIM) and not probes(p)]
nexts = [p for q, p in got if q.startswith("SELECT CASE WHEN m.t IS NULL")]
t.ok(len(claims) >= 600, "the storm's claims were logged with their plans (%d)" % len(claims))
t.eq([len(anti_over_outbox(p)) for p in claims if anti_over_outbox(p)], [],
     "no claim joins the outbox against itself (an anti-join)")
t.ok(claims and not bare,
     "every claim's order test probes the row's own series (Index Cond on contact_id)", bare)
t.ok(nexts, "next-due looks were logged (%d)" % len(nexts))
t.eq([1 for p in nexts if anti_over_outbox(p)], [],
     "no next-due look joins the outbox against itself either")

t.eq(e.sanitizer_reports(), [], "no sanitizer report")
t.eq(e.server.stop(), 0, "serverd exits cleanly")
t.done()
