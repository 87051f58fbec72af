#!/usr/bin/python3
"""test_quiet_gather.py - the rows of a parent's recovery that a person's
quiet hours held are gathered into one digest when the quiet time ends
(serverd/notify/outbox.c, group_gate(): HELD_GATHER_US), against the real
SMTP sink.

A parent's recovery makes one row per child still failing for each person
and channel; told at once they go as one digest. Inside the person's quiet
hours a WARNING child is not urgent: each row is held on its own (held rows
are no group: each may be dropped on its own when it is due again). When
the quiet time ends they come due together but are claimed one by one; the
first one's digest is due 2 s (HELD_GATHER_US) after it, by serverd's
clock, so the others join it and the person gets one digest, not one
digest of the first and the rest after it.

The 2 s are not raced: serverd's clock is moved ahead
(CUSTOS_TEST_CLOCK_OFFSET_S, docs/decisions.md; PostgreSQL's clock stays),
so the gathering digest is due OFFSET + 2 s later in the database's time,
and the test ends its window itself (SIGHUP) once every row joined it.
group_min is high: nothing else of this suite is a storm."""
import os
import re
import signal
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from alertlib import AlertEnv  # noqa: E402
from harness import Tap, wait_for  # noqa: E402

t = Tap()
OFFSET = 600
env = AlertEnv(conf={"group_window_s": "30", "group_min": "20"}, agent_interval=86400,
               env={"CUSTOS_TEST_CLOCK_OFFSET_S": str(OFFSET)})
A = env.admin


def sql(q):
    return env.cluster.psql(q)


def api(method, path, body=None):
    return env.api(method, path, A, body)


def quiet_mail():
    return [m["subject"] for m in env.sink.messages() if "quiet@example.test" in m["rcpt_tos"]]


st, q, _ = api("POST", "/api/v1/users", {"name": "quiet", "email": "quiet@example.test",
                                         "quiet_hours": ["daily 00:00-00:00"]})
if st != 201:
    t.bail("user quiet: %s %s" % (st, q))
Q = q["id"]
core = env.check("core", contacts=[Q])
kids = [env.check("k%d" % i, parents=["web01/core"], contacts=[Q]) for i in range(3)]
kids_sql = ",".join(str(k) for k in kids)

env.post(core, 2, "core down")
t.ok(wait_for(lambda: "[custos] PROBLEM web01/core is CRITICAL" in quiet_mail()),
     "core CRITICAL: urgent, mailed through the quiet hours", quiet_mail())
for k in kids:
    env.post(k, 1, "slow")
t.ok(wait_for(lambda: sql("SELECT count(*) FROM events WHERE kind = 'PROBLEM' AND NOT notify"
                          " AND check_id IN (%s)" % kids_sql) == [["3"]]),
     "its 3 children turn WARNING, suppressed by it")
env.post(core, 0, "core back")

ROWS = ("SELECT n.id, n.status, n.held_until IS NOT NULL, n.digest_id FROM notifications n"
        " JOIN events e ON e.id = n.event_id WHERE e.check_id IN (%s) AND e.kind = 'PROBLEM'"
        " AND n.contact_id = %d AND n.channel = 'email' ORDER BY n.id" % (kids_sql, Q))


def rows():
    return sql(ROWS)


t.ok(wait_for(lambda: len(rows()) == 3 and all(r[1] == "pending" and r[2] == "t" and r[3] == ""
                                               for r in rows())),
     "core recovers: its 3 children still failing, told to the quiet person, are held"
     " (a WARNING is not urgent), each on its own, in no digest", rows())
t.ok(wait_for(lambda: "[custos] RECOVERY web01/core is OK" in quiet_mail()),
     "core's RECOVERY (of a CRITICAL) goes through", quiet_mail())
t.eq(sql("SELECT count(*) FROM digests WHERE contact_id = %d" % Q), [["0"]], "no digest yet")

# the quiet time ends: the held rows come due together, and are claimed one by one
st, u, _ = api("PATCH", "/api/v1/users/%d" % Q, {"quiet_hours": []})
t.ok(st == 200 and u["quiet_hours"] == [], "the person's quiet hours end", (st, u))


def gathered():
    r = rows()
    return (len(r) == 3 and all(x[1] == "pending" and x[3] != "" for x in r)
            and len({x[3] for x in r}) == 1)


t.ok(wait_for(gathered, 20), "the 3 released rows are gathered in one digest", rows())
did = int(rows()[0][3])
d = sql("SELECT status, due_at > now() + interval '%d seconds',"
        " extract(epoch FROM due_at - created_at) <= %d + 2.5 FROM digests WHERE id = %d"
        % (OFFSET - 60, OFFSET, did))
t.eq(d, [["open", "t", "t"]],
     "the digest waits, open, due 2 s after its first row by serverd's clock (moved %d s)" % OFFSET)
t.eq(sql("SELECT count(*) FROM digests WHERE contact_id = %d" % Q), [["1"]],
     "one digest for the person, none sent with the first row alone")
t.eq([s for s in quiet_mail() if "web01/k" in s or "problem" in s], [],
     "no child mailed yet")

env.server.proc.send_signal(signal.SIGHUP)
dig = lambda: [s for s in quiet_mail() if re.match(r"\[custos\] \d+ problems? on", s)]  # noqa: E731
t.ok(wait_for(lambda: dig(), 20), "the window ended (SIGHUP): the digest is mailed", quiet_mail())
t.ok(wait_for(lambda: all(r[1] == "sent" for r in rows()), 10), "every child's row is sent with it",
     rows())
t.eq(dig(), ["[custos] 3 problems on 1 agent"], "one digest mail with the 3 children")
t.eq([s for s in quiet_mail() if "web01/k" in s], [], "no child mailed on its own")
t.eq(sql("SELECT count(*) FROM notifications WHERE id IN (%s) AND digest_id = %d"
         " AND route @> '[{\"decision\": \"held\"}]'"
         " AND route @> '[{\"decision\": \"digest\", \"detail\": \"merged into digest %d\"}]'"
         % (",".join(r[0] for r in rows()), did, did)), [["3"]],
     "each row's routing record: held by quiet hours, then merged into the digest")
t.eq(sql("SELECT status, members FROM digests WHERE id = %d" % did), [["sent", "3"]],
     "the digest is sent, with 3 members")

t.eq(env.sanitizer_reports(), [], "no sanitizer report")
t.eq(env.server.stop(), 0, "serverd exits cleanly")
t.done()
