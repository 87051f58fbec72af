"""End-to-end: how the senders are woken (serverd/notify/outbox.c, "Waking").

A NOTIFY of custos_outbox names the channels that have new rows and how
many ("email:1,pushover:1"); serverd wakes as many senders of those
channels, not every sender of every channel. "" (or a payload serverd does
not read) wakes everyone. What this must never cost is a row: one due
without a NOTIFY of its own is still sent, by the sender's own clock
(OUTBOX_SAFETY_MS, 15 s) - the safety net, shortened here to 1 s by the
test knob CUSTOS_TEST_OUTBOX_SAFETY_MS (outbox.h), so that section 3 does
not wait 15 s.

1. A HARD change's NOTIFY names its rows' channels, tagged with the
   serverd that committed it: '<tag>/email:1,pushover:1'. That serverd
   woke its own senders from the commit's answer and skips the NOTIFY.
2. The payload kept by an ingest transaction (notify_or_defer() with
   custos.after_commit on) adds up per channel and is sent once;
   anything without channels makes it "everyone".
3. A NOTIFY naming pushover alone, with a pushover row and an email row
   due (both written without a NOTIFY): a pushover sender is woken, no
   email sender is - and the mail still goes, by the safety net.
   Another serverd's tagged NOTIFY is read like an untagged one; one
   with this serverd's tag is not acted on. When ingest's call that sends
   the wake-up fails after its COMMIT, ingest wakes every sender itself.
4. A payload serverd cannot read wakes everyone: the mail goes at once.
5. A claimed mail held by quiet hours leaves no acknowledgement link
   behind (the claim made it; nobody holds its token).
The senders' wake-ups are read from serverd's debug log."""
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from alertlib import AlertEnv  # noqa: E402
from harness import Tap, wait_for  # noqa: E402

t = Tap()
SAFETY_MS = 1000
e = AlertEnv(env={"CUSTOS_TEST_OUTBOX_SAFETY_MS": str(SAFETY_MS)})


def sql(q):
    return e.cluster.psql(q)


def log_count(text):
    with open(e.server.log_path, errors="replace") as f:
        return f.read().count(text)


def subject(name):
    return "[custos] PROBLEM web01/%s is CRITICAL" % name


t.eq(log_count("CUSTOS_TEST_OUTBOX_SAFETY_MS: the senders look on their own every %d ms"
               % SAFETY_MS), 1, "serverd warns of the test knob at start")

# ---- 1. the payload of a HARD change ---------------------------------------------------
c1 = e.check("payload")
ps = e.cluster.session()
ps.stdin.write("LISTEN custos_outbox;\nSELECT 'listening';\n")
ps.stdin.flush()
t.ok(wait_for(lambda: ps.stdout.readline().strip() == "listening", 10),
     "a psql session listens on custos_outbox")
e.post(c1, 2)
t.ok(e.wait_mail(lambda m: m["subject"] == subject("payload"), 10), "the mail went")
# psql prints a notification that came while it was idle after its next command
ps.stdin.write("SELECT 'after';\nSELECT 'end';\n")
ps.stdin.flush()
seen = []
while True:
    line = ps.stdout.readline()
    if not line or line.strip() == "end":
        break
    seen.append(line.strip())
ps.stdin.close()
ps.wait()
woken = [x for x in seen if 'notification "custos_outbox"' in x]
m = re.search(r'payload "([0-9a-f]{16})/email:1,pushover:1"', woken[0]) if len(woken) == 1 else None
t.ok(m is not None, "one NOTIFY, tagged with the serverd and naming the rows' channels:"
     " <tag>/email:1,pushover:1", seen)
tag = m.group(1) if m else "0" * 16

# ---- 1b. its own senders are woken at its commit; its own NOTIFY is skipped -------------
SKIP = "a wake-up of this serverd's own, woken at its commit: skipped"
# serverd's LISTEN thread may read section 1's NOTIFY after psql did: that
# skip is waited for first, so the count below starts from it (fresh-clone
# run 10791 counted it with 1b's)
t.ok(wait_for(lambda: log_count(SKIP) == 1, 10),
     "section 1's NOTIFY is skipped by serverd too", log_count(SKIP))
skips0 = log_count(SKIP)
LOCAL = 'senders woken by ingest at its commit: "email:1,pushover:1"'
local0 = log_count(LOCAL)
c1b = e.check("own")
e.post(c1b, 2)
t.ok(e.wait_mail(lambda m: m["subject"] == subject("own"), 10)
     and e.wait_push(lambda r: r["fields"].get("title") == subject("own")[len("[custos] "):], 10),
     "a HARD change: the mail and the page go")
t.ok(wait_for(lambda: log_count(SKIP) == skips0 + 1, 10),
     "its NOTIFY, carrying this serverd's tag, is skipped by the LISTEN thread",
     (skips0, log_count(SKIP)))
t.eq(log_count(LOCAL), local0 + 1,
     "so the senders were woken by ingest itself, from the answer at the commit")

# ---- 2. kept by an ingest transaction, sent once -----------------------------------------
merge = sql("SELECT outbox_wake_merge('email:1', 'pushover:2,email:3'),"
            " outbox_wake_merge('', 'email:1'), outbox_wake_merge('email:1', ''),"
            " outbox_wake_merge('*', 'email:1'), outbox_wake_merge('email:1', 'bad payload'),"
            " outbox_wake_merge('email:999', 'email:999')")[0]
t.eq(merge, ["email:4,pushover:2", "email:1", "*", "*", "*", "email:1000"],
     "outbox_wake_merge(): counts added per channel; '' or anything else: everyone")
CHANNELS = ("email", "pushover", "webhook")
alls0 = [log_count("%s sender woken: everyone looks" % ch) for ch in CHANNELS]
out = e.cluster.psql_script("""LISTEN custos_outbox;
BEGIN;
SELECT set_config('custos.after_commit', 'on', true);
SELECT notify_or_defer('custos_outbox', 'email:1');
SELECT notify_or_defer('custos_outbox', 'email:2,pushover:1');
COMMIT;
SELECT 'committed';
SELECT after_commit_notify(NULL);
SELECT 'sent';
BEGIN;
SELECT set_config('custos.after_commit', 'on', true);
SELECT notify_or_defer('custos_outbox', 'email:1');
SELECT notify_or_defer('custos_outbox', '');
COMMIT;
SELECT after_commit_notify(NULL);
SELECT 'sent again';
""")
lines = out.splitlines()
got = [x for x in lines if x.startswith('Asynchronous notification "custos_outbox"')]
t.ok(len(got) == 2 and 'payload "email:3,pushover:1"' in got[0]
     and lines.index("committed") < lines.index(got[0]) < lines.index("sent"),
     "after the COMMIT, one NOTIFY: email:3,pushover:1", out)
t.ok(len(got) == 2 and "payload" not in got[1],   # psql names no empty payload
     "a wake-up without channels: everyone (an empty payload)", out)

# serverd hears these too: its senders' wake-ups settle before the counting below
# (two senders of each channel: sender_threads = 2)
wait_for(lambda: all(log_count("%s sender woken: everyone looks" % ch) >= n + 2
                     for ch, n in zip(CHANNELS, alls0)), 10)

# ---- 3. pushover named alone: the email row goes by the safety net ------------------------
c3 = e.check("silent")


def silent_rows(check_id, channels):
    """A PROBLEM event and its rows, written without any NOTIFY."""
    sql("WITH ev AS (INSERT INTO events (kind, agent_id, check_id, status, prev_status,"
        " state_type, attempt, output, notify) VALUES ('PROBLEM', %d, %d, 2, 0, 'HARD', 1,"
        " 'written without a NOTIFY', true) RETURNING id)"
        " INSERT INTO notifications (event_id, contact_id, channel, series)"
        " SELECT ev.id, %d, ch, %d FROM ev, unnest(ARRAY[%s]) ch"
        % (e.agent_id, check_id, e.contact_id, check_id,
           ",".join("'%s'" % c for c in channels)))


mail_rows0 = log_count("email sender woken: rows notified")
mail_all0 = log_count("email sender woken: everyone looks")
push_rows0 = log_count("pushover sender woken: rows notified")
silent_rows(c3, ["email", "pushover"])
sql("SELECT pg_notify('custos_outbox', 'pushover:1')")
t.ok(e.wait_push(lambda r: r["fields"].get("title") == subject("silent")[len("[custos] "):], 10),
     "NOTIFY 'pushover:1': the page goes")
t.ok(e.wait_mail(lambda m: m["subject"] == subject("silent"), 15),
     "the email row, due without a NOTIFY of its own, goes too (the senders' own clock,"
     " %d ms here)" % SAFETY_MS)
t.ok(log_count("pushover sender woken: rows notified") - push_rows0 <= 1,
     "one pushover sender was woken for the row, not both")
t.eq((log_count("email sender woken: rows notified") - mail_rows0,
      log_count("email sender woken: everyone looks") - mail_all0), (0, 0),
     "no email sender was woken by it")

# ---- 3b. another serverd's tagged wake-up is read; this serverd's own is not acted on ----
c3b = e.check("tagged")
mail_rows0 = log_count("email sender woken: rows notified")
silent_rows(c3b, ["pushover"])
sql("SELECT pg_notify('custos_outbox', 'feedfacefeedface/pushover:1')")
t.ok(e.wait_push(lambda r: r["fields"].get("title") == subject("tagged")[len("[custos] "):], 10),
     "NOTIFY 'feedfacefeedface/pushover:1' (another serverd's): the page goes")
t.eq(log_count("email sender woken: rows notified"), mail_rows0,
     "and no email sender was woken by it")
c3c = e.check("forged")
skips0 = log_count(SKIP)
all0 = log_count("email sender woken: everyone looks")
rows0 = log_count("email sender woken: rows notified")
silent_rows(c3c, ["email"])
sql("SELECT pg_notify('custos_outbox', '%s/email:1')" % tag)
t.ok(wait_for(lambda: log_count(SKIP) == skips0 + 1, 10),
     "a NOTIFY with this serverd's tag that it did not send: skipped")
t.eq(log_count("email sender woken: rows notified"), rows0, "no email sender woken by it")
t.ok(e.wait_mail(lambda m: m["subject"] == subject("forged"), 15),
     "the row still goes, by the senders' own clock")

# ---- 3c. ingest's wake-up lost after the COMMIT: every sender looks -----------------------
sql("ALTER FUNCTION after_commit_notify(bigint[], text) RENAME TO saved_notify;"
    " CREATE FUNCTION after_commit_notify(ids bigint[], tag text) RETURNS text"
    " LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'test: no notifications'; END $$")
c3d = e.check("lost")
all0 = log_count("email sender woken: everyone looks")
e.post(c3d, 2)
t.ok(wait_for(lambda: "results stored, but their notifications were not sent"
              in e.server.log(), 10), "after_commit_notify() failing: logged")
t.ok(wait_for(lambda: log_count("email sender woken: everyone looks") > all0, 10),
     "and ingest wakes every sender itself")
t.ok(e.wait_mail(lambda m: m["subject"] == subject("lost"), 10), "the mail goes")
sql("DROP FUNCTION after_commit_notify(bigint[], text);"
    " ALTER FUNCTION saved_notify(bigint[], text) RENAME TO after_commit_notify")

# ---- 4. a payload serverd cannot read wakes everyone ------------------------------------
c4 = e.check("unread")
all0 = log_count("email sender woken: everyone looks")
silent_rows(c4, ["email"])
sql("SELECT pg_notify('custos_outbox', 'carrier-pigeon:1')")
t.ok(wait_for(lambda: log_count("email sender woken: everyone looks") > all0, 10),
     "NOTIFY 'carrier-pigeon:1' (no such channel): the email senders are woken")
t.ok(e.wait_mail(lambda m: m["subject"] == subject("unread"), 10), "and the mail goes")

# ---- 5. a mail held by quiet hours leaves no link ----------------------------------------
st, u, _ = e.api("PATCH", "/api/v1/users/%d" % e.contact_id, e.admin,
                 {"quiet_hours": ["daily 00:00-00:00"]})
t.eq(st, 200, "the contact is quiet all day")
links0 = int(sql("SELECT count(*) FROM ack_links")[0][0])
c5 = e.check("quiet")
e.post(c5, 1, "WARNING - not urgent")
t.ok(wait_for(lambda: any(n["channel"] == "email" and n["status"] == "pending"
                          and n["held_until"] is not None
                          for n in e.notifications(check_id=c5)), 10),
     "a WARNING mail in quiet hours is held")
t.ok(wait_for(lambda: int(sql("SELECT count(*) FROM ack_links")[0][0]) == links0, 10),
     "the claim's acknowledgement link went with it (no token was sent)")

t.eq(e.sanitizer_reports(), [], "no sanitizer report")
t.eq(e.server.stop(), 0, "serverd exits cleanly")
t.done()
