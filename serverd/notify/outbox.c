/*
 * outbox.c - delivering the notifications outbox: per channel of the
 * registry (channel.h: email, Pushover, webhook), sender_threads sender
 * threads, woken through the LISTEN thread (listen.h). Nothing here names
 * a channel: what differs between them (the send, the time limit, the
 * retry limits, a cancel) is in their struct channel_type.
 *
 * DELIVERY GUARANTEES (docs/design.md, invariants; docs/alerting-delivery.md)
 *
 *   Never lost. alert_record() inserts outbox rows in the transaction that
 *   changed a state; a row leaves 'pending'/'sending' only for 'sent' or
 *   'failed', each committed after the outcome is known. An outcome the
 *   database could not take (it went away during the send) is recorded
 *   again every OUTCOME_RETRY_MS on a new connection until the lease would
 *   run out (exec_outcome()): the row is not left in doubt, holding its
 *   series behind it, because of a restart.
 *
 *   Never repeated silently. A sender
 *     1. claims the oldest due row of its channel (SELECT ... FOR UPDATE OF
 *        n SKIP LOCKED: a row pending and due, or 'sending' with its lease
 *        run out), records the attempt (notification_attempts, ok NULL),
 *        sets the row 'sending' with lease_until = now() + the channel's
 *        lease - one statement, committed (one round trip) before any
 *        network call;
 *     2. sends, holding no transaction and no row lock, within the
 *        channel's time limit;
 *     3. commits the outcome in one statement: the attempt's ok/error, and
 *        the row sent, failed, or pending again with a backoff - only if
 *        the lease is still its own (attempt_id), so a late outcome never
 *        overwrites a newer attempt.
 *   A row left 'sending' with no outcome (its serverd died, or lost the
 *   database, mid-send) is in doubt: whoever claims it next marks that
 *   attempt 'interrupted' (ok NULL) and sends again with n->resent set, and
 *   the message says so: email keeps its Message-ID and adds
 *   "X-Custos-Resent: yes", a Pushover title ends in " (resent)", a webhook
 *   keeps its Idempotency-Key and carries "resent": true. Every attempt is
 *   in the attempt log, the interrupted one included. So is an attempt
 *   that failed after its message went out whole with no answer (the
 *   relay or the API went away or timed out after the data: the channel
 *   sets n->in_doubt): the retry is marked the same way.
 *
 *   Taken over at once when its holder died. A lease names the serverd
 *   instance that took it (holder.h: its advisory lock proves it lives).
 *   A lease whose holder's lock is gone is claimable at once, not when it
 *   runs out; the holder thread wakes the senders when it sees one. A live
 *   but slow holder keeps its lease until it runs out.
 *
 *   In order per check, contact and channel. A row is not claimed while an
 *   earlier row of its series (the check; the agent for agent events),
 *   contact and channel is pending (new, or backing off after a failure)
 *   or sending (in flight, or in doubt): a retry never lets a newer row
 *   overtake, and two senders never take consecutive events of one series
 *   at once (the later one waits on the earlier's open status, which every
 *   snapshot sees until its outcome is committed). The sender that records
 *   an outcome claims again at once, so the next row goes without a wake.
 *   A PROBLEM (RENOTIFY, AGENT DOWN) whose check recovered (agent came up)
 *   by the time it is sent carries n->resolved_since: its title says
 *   " (resolved since)" (notify_format.c), never a bare PROBLEM after its
 *   RECOVERY.
 *
 *   Quiet hours hold, never lose. A row claimed for a person inside their
 *   quiet hours that is not urgent goes back to 'pending' until the quiet
 *   time ends (held_until; the claim's attempt is removed: nothing was
 *   tried). It does not hold back later rows of its series, so an urgent
 *   CRITICAL is not kept behind a held WARNING. Due again, it is sent, or
 *   'dropped' with the reason in last_error when it is no longer worth
 *   sending (recovered since, superseded by a later row sent, the recovery
 *   of a dropped problem): quiet_gate(), docs/people.md.
 *
 *   Storms go as one digest (docs/alerting.md, "Grouping (digests)"). A
 *   row claimed for the first time (not a retry, not in doubt) that has
 *   group_min or more rows to its person on its channel in the
 *   group_window_s before it (counted by creation: the same answer for
 *   every sender and every serverd, whoever claims first) is not sent:
 *   group_gate() puts it, with every fresh pending row after it of the
 *   same person and channel, into their open digest (table digests, one
 *   'open' per person and channel, found or made under its row lock),
 *   due when the window that began with the storm's first row ends; each
 *   row's route records "merged into digest N". The rows a parent's
 *   recovery made for one person on one channel (parent_recovered) go as
 *   one digest at once, whatever group_min: they are claimed through their
 *   first row only (GROUP_TURN), and its sender puts the whole group into
 *   the digest in one statement (q_digest_join), so no other sender holds
 *   a sibling alone, however long that one stalls. Rows of a digest are
 *   never claimed one by one: digest_one() claims the due digest under
 *   its row lock (SKIP LOCKED: one sender of all serverd takes it), leases
 *   it and every member (each 'sending' with an attempt of its own, the
 *   lease naming its holder), commits, sends ONE message, and records the
 *   outcome on the digest and all its members in one statement, if the
 *   claim is still the current one (digests.attempt). A digest in doubt is
 *   taken over like a row (its lease ran out, its holder died) and resent,
 *   marked. A failure retries the whole digest with the usual backoff.
 *   Order holds: a row joins only when no earlier row of its series to
 *   that person and channel is open outside the digest, and a member is
 *   an open row that holds back the later rows of its series until the
 *   digest's outcome (OPEN_BEFORE); the message lists a series' members
 *   together, in event order (digest.h). But a fresh row whose earlier
 *   row of its series waits in the open digest of its person and channel
 *   is not kept back by that one: it is claimed and joins the same digest,
 *   whatever the storm test (OPEN_BEFORE_FRESH, join_behind()), so a
 *   RECOVERY goes with its PROBLEM ("CRITICAL ..., then OK") when the
 *   window ends, not a window later in a digest of its own. Only when that
 *   digest was claimed between the row's claim and its join is the row put
 *   back untried, to go after the digest's outcome. Quiet hours still apply per
 *   member: when the digest goes out inside its person's quiet hours, its
 *   members that are not urgent - each at its own policy's urgent level,
 *   as it would be alone - leave it, held until the quiet time ends.
 *
 *   Channels never wait for each other. Each channel has its own threads
 *   and its own time limit (its time_limit_s); the lease is that limit
 *   plus CHANNEL_LEASE_MARGIN_S:
 *     email     smtp_timeout_s x 4 + margin (libesmtp limits each protocol
 *               step, not the session: a relay slow on more than 4 steps
 *               of one session can outlive the lease; the resend is then
 *               marked as such - never silent)
 *     pushover  pushover_timeout_s + margin (libcurl limits the request)
 *     webhook   webhook_timeout_s + margin
 *   So a relay that accepts TCP and never greets ties up email senders
 *   only; pages and webhooks go on.
 *
 *   Permanent means permanent. The channel's verdict SEND_FAIL (SMTP 5xx,
 *   HTTP 4xx but 408/429, a contact without an address) fails the row after
 *   one attempt. SEND_RETRY retries after 1, 2, 4 ... s (at most the
 *   channel's backoff_max_s) for its give_up_h hours, then fails it.
 *   A channel whose provider asks for a pause (struct send_result's
 *   pause_until: Pushover's 429 or X-Limit-App-Remaining: 0) is paused
 *   (table channel_pauses, shared by every serverd on the database) until
 *   then, with one event "<CHANNEL> PAUSED" (alert.c) per pause; the
 *   other channels go on meanwhile.
 *
 *   Emergency pages end. A priority-2 page's receipt is stored with its row.
 *   The senders of a channel that can cancel (its cancel: Pushover),
 *   whenever woken for anything but new rows of their channel (a RECOVERY
 *   or ACKNOWLEDGEMENT event NOTIFYs custos_outbox without channels:
 *   trigger in sql/004_delivery.sql; so does an AGENT UP that notifies),
 *   or after sending a page, and nothing is due to send - or, while sends
 *   keep coming, every CANCEL_LOOK_US - look for receipts not
 *   yet cancelled whose check is now OK or acknowledged (or whose agent is
 *   up again) and cancel them by tag - under the same
 *   lease-then-call-then-record rule - recording when and why
 *   (receipt_cancelled_at, receipt_cancel). The cancel's lease names its
 *   holder (receipt_holder) and is taken over at once when that died, as
 *   a send's is: a page does not ring on for a lease after a kill -9.
 *
 * Waking: this file subscribes to custos_outbox on the LISTEN thread;
 * nothing polls for fresh rows. The NOTIFY of new rows names their
 * channels and how many ("email:1,pushover:1", alert_record()); ingest's
 * comes tagged with the serverd that committed it ("tag/email:1"), which
 * woke its own senders already from the commit's answer
 * (outbox_wake_local(), outbox.h) and skips it here. As many
 * senders of each named channel are woken (pthread_cond_signal on the
 * channel's own condition), at most all of them, and each runs one claim
 * - not every sender of every channel, each a claim, a digest probe and
 * the look at the clock after it (measured for one problem mailed and
 * paged: about 40 statements before, 16 now, ingest's own included;
 * bench/README.md, QUERIES=1). A NOTIFY without channels (a recovery that
 * may end a page, an escalation, released quiet hours), a reconnect of the
 * LISTEN (what was notified meanwhile is found by the rescan that
 * follows), a SIGHUP and a holder that died wake every sender. No wake-up
 * is lost: a claim owed to a channel is taken by the next of its senders
 * to start a claim, whether one that slept or one busy meanwhile; a sender
 * that handled a row claims again at once; and between wake-ups a sender
 * sleeps until its channel's earliest retry, lease end, pause end or
 * digest due, at most OUTBOX_SAFETY_MS (the tests shorten it:
 * OUTBOX_TEST_SAFETY_ENV, outbox.h), then looks on its own. Whether
 * the channel has a digest to look at, and the mail's acknowledgement
 * link, ride on the claim itself (one round trip between the NOTIFY and
 * the send). A SIGHUP makes every waiting row due at once
 * (the admin may just have fixed the relay's address or password), and
 * ends every open digest's window (group_window_s may have changed). Each
 * send holds one configuration snapshot (conf_hold()) from its claim to
 * its outcome, so a SIGHUP mid-session is safe.
 */
#include "config.h"
#include "outbox.h"
#include "acklink.h"
#include "alert.h"
#include "channel.h"
#include "counters.h"
#include "db.h"
#include "digest.h"
#include "holder.h"
#include "listen.h"
#include "log.h"
#include "notify.h"
#include "oncall.h"
#include "receipt.h"
#include "serverd.h"
#include "strnum.h"
#include "timeutil.h"
#include "urgent.h"

#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define OUTBOX_MAX_SENDERS 64        /* per channel */
#define OUTBOX_SAFETY_MS 15000       /* longest sleep without a NOTIFY (OUTBOX_TEST_SAFETY_ENV) */
#define OUTBOX_MIN_WAIT_MS 20        /* a due row another sender is claiming */
#define CANCEL_RETRY_S "30"          /* a failed receipt cancel is tried again */
#define OUTCOME_RETRY_MS 1000        /* an outcome the database did not take, tried again */
#define CANCEL_LOOK_US 5000000       /* a busy sender looks for cancels this often */
#define HELD_GATHER_US 2000000       /* recovery rows released by quiet hours, gathered */
#define OUTBOX_STATS_US 2000000      /* how often a sender looks at the outbox's statistics */
#define OUTBOX_STORM_ROWS 1000       /* rows named by wake-ups that may be a storm's start */

/*
 * Waking, per channel of the registry (see "Waking" at the top), all
 * guarded by mu. gen moves on a wake of every sender (wake_all(): a
 * NOTIFY that names no channel, a reconnect, a SIGHUP, a holder that
 * died); wakes counts the claims owed to the rows a NOTIFY named for this
 * channel, at most its senders: each is taken by the next sender of the
 * channel to start a claim, so a row committed before its NOTIFY is
 * looked for by a claim that starts after it - whether by a sleeper this
 * wakes or by a sender busy meanwhile, which claims again anyway.
 */
struct chan_wake {
	pthread_cond_t cv;
	unsigned long gen;
	int wakes;
};
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static struct chan_wake cw[COUNTERS_CHANNELS_MAX];
static int per_channel;              /* sender threads of each channel */
static int stopping;                 /* guarded by mu */
static pthread_t sender_tid[COUNTERS_CHANNELS_MAX * OUTBOX_MAX_SENDERS];
static int nsenders, holder_started, receipts_started;
static int64_t stats_next_us;        /* the next look at the statistics; guarded by mu */
/*
 * The rows the wake-ups named since this serverd last analyzed the outbox,
 * and how many rows it held then (0 until the first analysis here); one
 * sender analyzes at a time, the others wait for it (stats_cv): all guarded
 * by mu. See outbox_storm_stats().
 */
static long long stats_woken, stats_held;
static int stats_running;
static pthread_cond_t stats_cv = PTHREAD_COND_INITIALIZER;
static long long safety_ms = OUTBOX_SAFETY_MS;   /* set before the senders start */

/*
 * The order tests below look up, for each candidate row, the rows before
 * it in its series: a probe of notifications_open_idx on the whole key
 * (contact, channel, series, event), a few pages, however many rows the
 * outbox holds. ROW_PROBE ("OFFSET 0") keeps each test a probe per
 * candidate: without it PostgreSQL may turn NOT EXISTS into an anti-join,
 * and with statistics taken before a storm - a grown install's, whose
 * outbox holds 100,000 sent rows and next to nothing pending - it plans
 * that join with an inner scan of the channel's whole open set for each
 * candidate: quadratic in the storm, measured at 137 s for one claim at
 * 40,000 pending rows (bench/README.md, "bench/digest-storm"); with the
 * probe, 91 ms, and 74 ms against 67 ms on fresh statistics. A table
 * whose statistics say it is empty (a fresh install's) plans even the
 * probe as a scan: outbox_storm_stats() analyzes it before such a storm's
 * claims.
 */
#define ROW_PROBE "OFFSET 0"

/*
 * The claim and the lease, in one statement and so one transaction (one
 * round trip, committed before the send): the oldest due row of channel $2
 * is locked (SKIP LOCKED: another sender, here or in another serverd, takes
 * the next). Due is: pending and its time come; or 'sending' (in doubt)
 * with its lease run out, or - when $4, this instance has held its own
 * lock for the grace (holder.h) - with a holder whose lock is gone (that
 * serverd died). A row waits while an earlier one of the same check (of
 * the same agent, for agent events), contact and channel is still pending
 * or sending (the same series: the order rule, see the top of this file).
 * The attempt before, when in doubt, becomes 'interrupted'; a new attempt
 * is recorded with no outcome yet; the row is 'sending' until now() + $3 s,
 * held by $5 (NULL when this instance does not hold its lock). Returns
 * what the channels need, whether the row was in doubt, the attempt's id,
 * whether this send is a resend, and when the problem it tells of was
 * resolved since (the first RECOVERY of its check, AGENT UP of its agent,
 * after it).
 */
#define OPEN_BEFORE(n) \
	" NOT EXISTS (SELECT 1 FROM notifications p WHERE p.status IN ('pending', 'sending')" \
	"  AND p.contact_id = " n ".contact_id AND p.channel = " n ".channel" \
	"  AND p.series = " n ".series AND p.event_id < " n ".event_id" \
	"  AND (p.held_until IS NULL OR p.held_until <= now() OR p.status <> 'pending')" \
	"  " ROW_PROBE ")"

/*
 * Row p waits in an open digest (a window not yet ended): pending, its
 * digest not claimed yet.
 */
#define IN_OPEN_DIGEST(p) \
	" (" p ".status = 'pending' AND " p ".digest_id IS NOT NULL AND EXISTS (SELECT 1" \
	"  FROM digests od WHERE od.id = " p ".digest_id AND od.status = 'open'))"

/*
 * OPEN_BEFORE at the claim: a fresh row (pending, never tried) is not kept
 * back by earlier rows of its series that wait in the open digest of its
 * person and channel: it joins that digest (group_gate(): the digest tells
 * the PROBLEM and its RECOVERY together, in event order) instead of waiting
 * for it to go and then perhaps for a window of its own. A retry, or a row
 * in doubt, keeps the strict order.
 */
#define OPEN_BEFORE_FRESH(n) \
	" NOT EXISTS (SELECT 1 FROM notifications p WHERE p.status IN ('pending', 'sending')" \
	"  AND p.contact_id = " n ".contact_id AND p.channel = " n ".channel" \
	"  AND p.series = " n ".series AND p.event_id < " n ".event_id" \
	"  AND (p.held_until IS NULL OR p.held_until <= now() OR p.status <> 'pending')" \
	"  AND NOT (" n ".status = 'pending' AND " n ".attempts = 0 AND" IN_OPEN_DIGEST("p") ")" \
	"  " ROW_PROBE ")"

/*
 * The turn of a parent's recovery's group (see "Storms go as one digest"
 * at the top of this file): the rows that recovery made for one person on
 * one channel (parent_recovered: one transaction, so one created_at) are
 * claimed through their first row only. Row n, fresh, waits while an
 * earlier row of its group is still to be grouped: fresh and pending (not
 * held by quiet hours, not itself waiting for its order), or 'sending'
 * outside any digest (claimed, on its way into one). So the one sender that
 * claims the first row (SKIP LOCKED: one of all senders and all serverd)
 * takes the whole group into one digest (q_digest_join), and no sender can
 * claim a sibling alone meanwhile, however long that one stalls. $on: the
 * grouping is on (group_window_s > 0); off, the rows go one by one, as any.
 */
#define GROUP_TURN(n, on) \
	" (NOT " n ".parent_recovered OR NOT " on "::boolean OR " n ".attempts > 0" \
	"  OR " n ".contact_id IS NULL OR NOT EXISTS (SELECT 1 FROM notifications g" \
	"   WHERE g.contact_id = " n ".contact_id AND g.channel = " n ".channel" \
	"    AND g.created_at = " n ".created_at AND g.id < " n ".id AND g.parent_recovered" \
	"    AND g.digest_id IS NULL AND (g.status = 'sending'" \
	"     OR (g.status = 'pending' AND g.attempts = 0 AND g.held_until IS NULL" \
	"         AND g.next_attempt_at <= now() AND" OPEN_BEFORE("g") "))" \
	"   " ROW_PROBE "))"

static const struct db_stmt q_claim = { "outbox_claim",
	"WITH live AS MATERIALIZED (SELECT l.id FROM serverd_live() AS l(id)),"
	" c AS ("
	"  SELECT n.id, n.status = 'sending' AS in_doubt"
	"  FROM notifications n"
	"  WHERE n.channel = $2 AND n.digest_id IS NULL"
	"   AND ((n.status = 'pending' AND n.next_attempt_at <= now())"
	"        OR (n.status = 'sending' AND (n.lease_until <= now()"
	"            OR ($4::boolean AND n.holder <> $5::int"
	"                AND NOT EXISTS (SELECT 1 FROM live WHERE live.id = n.holder)))))"
	"   AND NOT EXISTS (SELECT 1 FROM channel_pauses p WHERE p.channel = $2 AND p.until > now())"
	"   AND" OPEN_BEFORE_FRESH("n")
	"   AND" GROUP_TURN("n", "$6")
	"  ORDER BY n.next_attempt_at, n.id LIMIT 1"
	"  FOR UPDATE OF n SKIP LOCKED"
	"), i AS ("
	"  UPDATE notification_attempts t SET error = 'interrupted', finished_at = now()"
	"  FROM c JOIN notifications o ON o.id = c.id"
	"  WHERE c.in_doubt AND t.id = o.attempt_id AND t.ok IS NULL AND t.finished_at IS NULL"
	"  RETURNING 1"
	"), a AS ("
	"  INSERT INTO notification_attempts (notification_id, ok) SELECT c.id, NULL FROM c"
	"  RETURNING id, notification_id"
	"), u AS ("
	"  UPDATE notifications n SET status = 'sending', attempts = n.attempts + 1,"
	"   lease_until = now() + make_interval(secs => $3::int), attempt_id = a.id,"
	"   resend = n.resend OR c.in_doubt, holder = $5::int,"
	/* the routing record (sql/033_routing.sql) */
	"   route = CASE WHEN c.in_doubt THEN n.route || route_entry('resend (in doubt)',"
	"    'the attempt before ended without an outcome (its serverd died or its lease"
	" ran out): sent again, marked as a resend') ELSE n.route END"
	"  FROM a JOIN c ON c.id = a.notification_id WHERE n.id = a.notification_id"
	"  RETURNING n.id, n.channel, n.attempts - 1 AS attempts, n.created_at, n.event_id,"
	"   n.contact_id, c.in_doubt, a.id AS attempt_id, n.resend, n.series, n.held_until,"
	"   n.policy, n.step, n.route, n.priority"
	/* the acknowledgement link's row (acklink.c): $7 the token of a
	 * channel with ack_link, NULL for none; a problem of a check to a
	 * person, not resolved since. Long-expired links go on the way (a
	 * week past expiry, kept for the record). */
	"), k AS ("
	"  DELETE FROM ack_links WHERE $7::text IS NOT NULL AND EXISTS (SELECT 1 FROM u)"
	"   AND expires_at < now() - interval '7 days'"
	"), l AS ("
	"  INSERT INTO ack_links (token_hash, check_id, contact_id, event_id, notification_id,"
	"   expires_at)"
	"  SELECT sha256(convert_to($7::text, 'UTF8')), e.check_id, u.contact_id, u.event_id, u.id,"
	"   now() + make_interval(hours => $8::int)"
	"  FROM u JOIN events e ON e.id = u.event_id"
	"  WHERE $7::text IS NOT NULL AND u.contact_id IS NOT NULL AND e.check_id IS NOT NULL"
	"   AND e.kind IN ('PROBLEM', 'RENOTIFY') AND NOT EXISTS (SELECT 1 FROM events r"
	"    WHERE r.check_id = e.check_id AND r.id > e.id AND r.kind = 'RECOVERY')"
	"  RETURNING 1"
	")"
	"SELECT n.id, n.channel, n.attempts, n.created_at < now() - make_interval(hours => $1::int),"
	"  e.id, e.kind, COALESCE(e.status, -1), COALESCE(e.prev_status, -1),"
	"  COALESCE(e.state_type, ''), COALESCE(e.attempt, 0), e.value, COALESCE(e.output, ''),"
	"  rfc3339(e.created_at), extract(epoch FROM e.created_at)::bigint,"
	"  COALESCE(e.check_id, 0), COALESCE(e.agent_id, 0), COALESCE(e.detail::text, ''),"
	"  n.contact_id IS NOT NULL, COALESCE(ct.name, ''), COALESCE(ct.email, ''),"
	"  COALESCE(ct.pushover_user, ''), COALESCE(ct.pushover_device, ''),"
	"  COALESCE(ct.pushover_emergency, false), COALESCE(ct.webhook_url, ''),"
	"  COALESCE(ag.name, 'agent ' || e.agent_id), COALESCE(ch.name, 'check ' || e.check_id),"
	"  COALESCE(ch.type, ''), COALESCE(ch.warning, ''), COALESCE(ch.critical, ''),"
	"  COALESCE(ch.max_attempts, 0), COALESCE(rfc3339(s.since), ''),"
	"  n.in_doubt, n.attempt_id, n.resend, (SELECT count(*) FROM i),"
	"  COALESCE(CASE"
	"   WHEN e.kind IN ('PROBLEM', 'RENOTIFY') AND e.check_id IS NOT NULL THEN"
	"    (SELECT rfc3339(r.created_at) FROM events r WHERE r.check_id = e.check_id"
	"      AND r.id > e.id AND r.kind = 'RECOVERY' ORDER BY r.id LIMIT 1)"
	"   WHEN e.kind = 'AGENT DOWN' THEN"
	"    (SELECT rfc3339(r.created_at) FROM events r WHERE r.check_id IS NULL"
	"      AND r.agent_id = e.agent_id AND r.id > e.id AND r.kind = 'AGENT UP'"
	"      ORDER BY r.id LIMIT 1)"
	"   END, ''),"
	/* quiet hours (36-40): the person's windows; whether this row was held;
	 * the status of the row before it and whether a later one was sent, in
	 * its series to this person on this channel */
	"  COALESCE(ct.tz, 'UTC'), COALESCE(array_to_json(ct.quiet_hours)::text, '[]'),"
	"  n.held_until IS NOT NULL,"
	"  COALESCE((SELECT p.status FROM notifications p WHERE p.contact_id = n.contact_id"
	"    AND p.channel = n.channel AND p.series = n.series AND p.event_id < n.event_id"
	"    ORDER BY p.event_id DESC LIMIT 1), ''),"
	"  EXISTS (SELECT 1 FROM notifications p WHERE p.contact_id = n.contact_id"
	"    AND p.channel = n.channel AND p.series = n.series AND p.event_id > n.event_id"
	"    AND p.status = 'sent'),"
	/* the routing record so far (41-43), for the webhook's JSON */
	"  COALESCE(n.policy, ''), COALESCE(n.step, -1), n.route::text,"
	/* grouping (44) */
	"  COALESCE(n.contact_id, 0),"
	/* the row's policy's urgent level (45; -1: none), its step's priority (46) */
	"  COALESCE((SELECT pol.urgent FROM policies pol WHERE pol.name = n.policy), -1),"
	"  COALESCE(n.priority::text, ''),"
	/* the link made (47); whether the channel has a digest not finished
	 * (48: q_digest_any's question, asked here for the next round) */
	"  EXISTS (SELECT 1 FROM l),"
	"  EXISTS (SELECT 1 FROM digests WHERE channel = $2 AND status IN ('open', 'sending', 'pending')),"
	/* an earlier row of its series to this person on this channel waits
	 * in their open digest (49: OPEN_BEFORE_FRESH let it by; it joins) */
	"  NOT n.in_doubt AND n.attempts = 0 AND EXISTS (SELECT 1 FROM notifications p"
	"   WHERE p.contact_id = n.contact_id AND p.channel = n.channel AND p.series = n.series"
	"    AND p.event_id < n.event_id AND" IN_OPEN_DIGEST("p") ")"
	" FROM u n JOIN events e ON e.id = n.event_id"
	" LEFT JOIN contacts ct ON ct.id = n.contact_id"
	" LEFT JOIN agents ag ON ag.id = e.agent_id"
	" LEFT JOIN checks ch ON ch.id = e.check_id"
	" LEFT JOIN check_state s ON s.check_id = e.check_id", 8 };

/*
 * The link made by a claim whose mail was not sent after all (held by
 * quiet hours, merged into a digest): nobody holds its token ($1).
 */
static const struct db_stmt q_ack_forget = { "outbox_ack_forget",
	"DELETE FROM ack_links WHERE token_hash = sha256(convert_to($1::text, 'UTF8'))", 1 };

/*
 * The outcome, if the lease is still ours ($5 = our attempt). $7: the
 * attempt failed after the message went out whole (no answer): it may
 * have arrived, so the next attempt is a resend, marked.
 */
static const struct db_stmt q_result = { "outbox_result",
	"WITH a AS (UPDATE notification_attempts SET ok = ($2 = 'sent'), error = $3,"
	"  finished_at = now() WHERE id = $5 RETURNING 1)"
	" UPDATE notifications SET status = $2, last_error = $3, lease_until = NULL, holder = NULL,"
	"  resend = resend OR $7::boolean,"
	"  sent_at = CASE WHEN $2 = 'sent' THEN now() END,"
	"  next_attempt_at = CASE WHEN $2 = 'pending'"
	"    THEN now() + make_interval(secs => $4::int) ELSE next_attempt_at END,"
	"  receipt = COALESCE($6, receipt),"
	/* the routing record (sql/033_routing.sql): sent, retry or failed */
	"  route = route || CASE $2"
	"   WHEN 'sent' THEN route_entry('sent', channel || ', attempt ' || attempts)"
	"   WHEN 'pending' THEN route_entry('retry', COALESCE($3, '') || '; next attempt at '"
	"    || rfc3339(now() + make_interval(secs => $4::int)))"
	"   ELSE route_entry('failed', COALESCE($3, '')) END"
	" WHERE id = $1 AND status = 'sending' AND attempt_id = $5 RETURNING 1", 7 };

/*
 * A claimed row not sent after all: held by its person's quiet hours
 * ($3 'pending': due again at $4, epoch s, the window's end) or dropped
 * ($3 'dropped'). The attempt the claim recorded is removed (no message was
 * tried; the row's held_until and last_error are the record), if the lease
 * is still ours ($2).
 */
static const struct db_stmt q_unsend = { "outbox_unsend",
	"WITH a AS (DELETE FROM notification_attempts WHERE id = $2 RETURNING 1)"
	" UPDATE notifications SET status = $3, attempts = attempts - 1, lease_until = NULL,"
	"  holder = NULL, attempt_id = NULL, last_error = $5,"
	/* the routing record (sql/033_routing.sql), as
	 * notification_route_add() writes it */
	"  route = route || jsonb_build_array(jsonb_build_object('at', rfc3339(now()),"
	"   'decision', CASE WHEN $3 = 'pending' THEN 'held' ELSE 'dropped' END, 'detail', $5::text)),"
	"  next_attempt_at = CASE WHEN $3 = 'pending' THEN to_timestamp($4::bigint)"
	"   ELSE next_attempt_at END,"
	"  held_until = CASE WHEN $3 = 'pending' THEN to_timestamp($4::bigint) ELSE held_until END"
	" WHERE id = $1 AND status = 'sending' AND attempt_id = $2 RETURNING 1", 5 };

/*
 * When something of channel $1 is due: a retry, a lease end, a pause end,
 * a digest's window end (or its retry, or its lease end); and whether the
 * channel has a digest not finished (q_digest_any's question). A
 * pending row behind an earlier open one of its check, contact and channel
 * is not counted: it becomes due when that one's outcome is recorded, by a
 * sender that then claims again at once; nor is a row waiting for its
 * group's turn ($2, GROUP_TURN): it goes into a digest with its group's
 * first row, or is due when that one's outcome is recorded. A lease of a
 * holder that died is announced by the holder thread (holder.c).
 */
static const struct db_stmt q_next_due = { "outbox_next_due",
	"SELECT CASE WHEN m.t IS NULL THEN -1 ELSE ceil(extract(epoch FROM"
	"  GREATEST(m.t, (SELECT until FROM channel_pauses WHERE channel = $1)) - now()) * 1000)"
	"  END::bigint,"
	"  EXISTS (SELECT 1 FROM digests WHERE channel = $1 AND status IN ('open', 'sending', 'pending'))"
	" FROM (SELECT min(t) AS t FROM ("
	"  SELECT min(n.next_attempt_at) AS t FROM notifications n"
	"   WHERE n.status = 'pending' AND n.channel = $1 AND n.digest_id IS NULL AND"
	OPEN_BEFORE_FRESH("n") " AND" GROUP_TURN("n", "$2")
	"  UNION ALL SELECT min(lease_until) FROM notifications"
	"   WHERE status = 'sending' AND channel = $1"
	"  UNION ALL SELECT min(CASE status WHEN 'open' THEN due_at"
	"    WHEN 'pending' THEN next_attempt_at ELSE lease_until END) FROM digests"
	"   WHERE channel = $1 AND status IN ('open', 'pending', 'sending')) x) m", 2 };

/* A pause of channel $1 until $2 (epoch s): true when none was in force. */
static const struct db_stmt q_pause = { "outbox_pause",
	"WITH prev AS (SELECT until > now() AS active FROM channel_pauses WHERE channel = $1)"
	" INSERT INTO channel_pauses AS p (channel, until, reason)"
	"  VALUES ($1, to_timestamp($2::bigint), $3)"
	" ON CONFLICT (channel) DO UPDATE SET until = EXCLUDED.until, reason = EXCLUDED.reason"
	"  WHERE p.until < EXCLUDED.until"
	" RETURNING NOT COALESCE((SELECT active FROM prev), false)", 3 };

/*
 * An emergency page to cancel: its check is OK or acknowledged, its agent
 * up; no cancel in flight, or one whose lease ran out or - $1, when this
 * instance has held its own lock for the grace - whose holder died
 * ($2: this instance's id, never judged dead by itself).
 */
static const struct db_stmt q_cancel_claim = { "outbox_cancel_claim",
	"SELECT n.id, COALESCE(e.check_id, 0), COALESCE(e.agent_id, 0),"
	"  CASE WHEN e.check_id IS NULL THEN 'agent up' WHEN s.status = 0 THEN 'recovered'"
	"   ELSE 'acknowledged' END"
	" FROM notifications n JOIN events e ON e.id = n.event_id"
	" LEFT JOIN check_state s ON s.check_id = e.check_id"
	" LEFT JOIN agents a ON a.id = e.agent_id"
	" WHERE n.receipt IS NOT NULL AND n.receipt_cancelled_at IS NULL"
	"  AND (n.receipt_lease_until IS NULL OR n.receipt_lease_until <= now()"
	"   OR ($1::boolean AND n.receipt_holder <> $2::int"
	"       AND n.receipt_holder NOT IN (SELECT serverd_live())))"
	"  AND CASE WHEN e.check_id IS NULL THEN a.state = 'up'"
	"   ELSE s.status = 0 OR s.acknowledged END"
	" ORDER BY n.id LIMIT 1 FOR UPDATE OF n SKIP LOCKED", 2 };

/* The cancel's lease, held by $3 (NULL: this instance does not hold its lock now). */
static const struct db_stmt q_cancel_lease = { "outbox_cancel_lease",
	"UPDATE notifications SET receipt_lease_until = now() + make_interval(secs => $2::int),"
	"  receipt_holder = $3::int WHERE id = $1", 3 };

/* $2: ok | failed (never again) | retry (in CANCEL_RETRY_S s). */
static const struct db_stmt q_cancel_done = { "outbox_cancel_done",
	"UPDATE notifications SET receipt_cancel = $3,"
	"  receipt_cancelled_at = CASE WHEN $2 = 'ok' THEN now() END,"
	"  receipt_lease_until = CASE $2 WHEN 'ok' THEN NULL WHEN 'failed' THEN 'infinity'"
	"   ELSE now() + make_interval(secs => " CANCEL_RETRY_S ") END,"
	"  receipt_holder = NULL"
	" WHERE id = $1", 3 };

/*
 * Whether the outbox changed by more than it held when last analyzed (and
 * by 1,000 rows at least): a storm, on a table whose statistics say it is
 * nearly empty (a fresh install's, analyzed empty or never). See
 * outbox_stats().
 */
static const struct db_stmt q_stats = { "outbox_stats",
	"SELECT COALESCE((SELECT s.n_mod_since_analyze > GREATEST(1000, c.reltuples)"
	"  FROM pg_stat_user_tables s JOIN pg_class c ON c.oid = s.relid"
	"  WHERE s.relid = 'notifications'::regclass), false)", 0 };

/* How many rows the outbox held when last analyzed (outbox_storm_stats()). */
static const struct db_stmt q_held = { "outbox_held",
	"SELECT reltuples::bigint FROM pg_class WHERE oid = 'notifications'::regclass", 0 };

/* ---- grouping into digests (see "Storms go as one digest" above) --------- */

/*
 * The storm test of row $1: how many rows to its person on its channel
 * were made in the $2 s before it (at most $3: the count stops there),
 * and when its window ends: $2 s after the first of them - or, when a
 * digest of this person and channel was due within the window (a storm
 * longer than one window), $2 s after that one: one digest per window,
 * not one per batch once the first window has passed.
 */
static const struct db_stmt q_group_probe = { "outbox_group_probe",
	"SELECT (SELECT count(*) FROM (SELECT 1 FROM notifications p"
	"   WHERE p.contact_id = r.contact_id AND p.channel = r.channel"
	"    AND p.created_at > r.created_at - make_interval(secs => $2::int)"
	"    AND p.created_at <= r.created_at AND p.id < r.id LIMIT $3::int) x),"
	"  GREATEST((SELECT min(p.created_at) FROM notifications p"
	"   WHERE p.contact_id = r.contact_id AND p.channel = r.channel"
	"    AND p.created_at > r.created_at - make_interval(secs => $2::int)"
	"    AND p.created_at <= r.created_at),"
	"   (SELECT max(d.due_at) FROM digests d"
	"    WHERE d.contact_id = r.contact_id AND d.channel = r.channel"
	"     AND d.due_at > r.created_at - make_interval(secs => $2::int)))"
	"  + make_interval(secs => $2::int),"
	/* the children a parent's recovery found still failing (alert.c:
	 * their events say "parent recovered", and their rows were made with
	 * parent_recovered set, sql/040_policy_mends.sql) are told as one
	 * digest at once, whatever group_min (docs/alerting.md,
	 * "Dependencies"): how many rows to this person on this channel that
	 * recovery made - read from the rows alone, no event joined */
	"  CASE WHEN r.parent_recovered THEN"
	"   (SELECT count(*) FROM notifications p"
	"    WHERE p.contact_id = r.contact_id AND p.channel = r.channel"
	"     AND p.created_at = r.created_at AND p.parent_recovered) ELSE 0 END"
	" FROM notifications r WHERE r.id = $1::bigint", 3 };

/* The open digest of person $1 on channel $2, made when there is none, due at $3. */
static const struct db_stmt q_digest_make = { "outbox_digest_make",
	"INSERT INTO digests (contact_id, channel, due_at) VALUES ($1::bigint, $2, $3::timestamptz)"
	" ON CONFLICT (contact_id, channel) WHERE status = 'open' DO NOTHING", 3 };

/*
 * ... and locked, in a statement of its own (a snapshot that sees the
 * digest another sender made meanwhile). Held to the COMMIT: a digest
 * claim waits for the join, and a join after the claim finds it no
 * longer open (and makes the next one).
 */
static const struct db_stmt q_digest_lock = { "outbox_digest_lock",
	"SELECT id, due_at FROM digests WHERE contact_id = $1::bigint AND channel = $2"
	"  AND status = 'open' FOR UPDATE", 2 };

/*
 * Row $2 (claimed by us, attempt $3) and every fresh pending row after it
 * of person $5 on channel $6 join digest $1, due at $4; a row only when no
 * earlier row of its series to this person on this channel is open outside
 * the digest (the order rule, OPEN_BEFORE). Rows another sender is claiming
 * this moment are skipped (it groups them itself). So are the rows of a
 * parent's recovery (parent_recovered), but those of row $2's own group:
 * a group goes into a digest whole, with its first row (GROUP_TURN), and
 * this statement waits for a sibling someone holds rather than leave it
 * behind (nobody claims one: none is claimable before the group's first
 * row is in a digest). The claim's attempt is removed: nothing was tried.
 * $7 is the routing record's detail (the record written as
 * notification_route_add() writes it).
 */
static const struct db_stmt q_digest_join = { "outbox_digest_join",
	"WITH r AS (SELECT id, series, event_id, parent_recovered, created_at FROM notifications"
	"   WHERE id = $2::bigint AND status = 'sending' AND attempt_id = $3::bigint),"
	" cand AS (SELECT n.id, n.series, n.event_id FROM notifications n"
	"   WHERE n.contact_id = $5::bigint AND n.channel = $6 AND n.status = 'pending'"
	"    AND n.digest_id IS NULL AND n.attempts = 0 AND n.held_until IS NULL"
	"    AND n.id > $2::bigint AND n.next_attempt_at <= now() AND NOT n.parent_recovered"
	"   FOR UPDATE SKIP LOCKED),"
	" sib AS (SELECT n.id, n.series, n.event_id FROM notifications n JOIN r"
	"    ON r.parent_recovered AND n.created_at = r.created_at"
	"   WHERE n.contact_id = $5::bigint AND n.channel = $6 AND n.parent_recovered"
	"    AND n.status = 'pending' AND n.digest_id IS NULL AND n.attempts = 0"
	"    AND n.held_until IS NULL AND n.id <> $2::bigint AND n.next_attempt_at <= now()"
	"   ORDER BY n.id FOR UPDATE OF n),"
	" allc AS (SELECT id, series, event_id FROM r"
	"   UNION ALL SELECT * FROM cand UNION ALL SELECT * FROM sib),"
	" ok AS (SELECT c.id FROM allc c WHERE NOT EXISTS (SELECT 1 FROM notifications p"
	"   WHERE p.status IN ('pending', 'sending') AND p.contact_id = $5::bigint"
	"    AND p.channel = $6 AND p.series = c.series AND p.event_id < c.event_id"
	"    AND (p.held_until IS NULL OR p.held_until <= now() OR p.status <> 'pending')"
	"    AND p.id NOT IN (SELECT id FROM allc)"
	"    AND NOT (p.status = 'pending' AND p.digest_id IS NOT DISTINCT FROM $1::bigint))),"
	" a AS (DELETE FROM notification_attempts WHERE id = $3::bigint"
	"   AND EXISTS (SELECT 1 FROM ok WHERE ok.id = $2::bigint))"
	" UPDATE notifications n SET status = 'pending', digest_id = $1::bigint,"
	"  next_attempt_at = $4::timestamptz, lease_until = NULL, holder = NULL,"
	"  attempt_id = CASE WHEN n.id = $2::bigint THEN NULL ELSE n.attempt_id END,"
	"  attempts = n.attempts - CASE WHEN n.id = $2::bigint THEN 1 ELSE 0 END,"
	"  route = n.route || jsonb_build_array(jsonb_build_object('at', rfc3339(now()),"
	"   'decision', 'digest', 'detail', $7::text))"
	" FROM ok WHERE n.id = ok.id RETURNING n.id = $2::bigint", 7 };

/*
 * Row $1 (claimed by us, attempt $2) put back, untried, to wait for its
 * turn: it came to join the open digest of an earlier row of its series
 * (OPEN_BEFORE_FRESH), and that digest was claimed to be sent meanwhile.
 * Its order holds it until the digest's outcome.
 */
static const struct db_stmt q_digest_missed = { "outbox_digest_missed",
	"WITH a AS (DELETE FROM notification_attempts WHERE id = $2::bigint RETURNING 1)"
	" UPDATE notifications SET status = 'pending', attempts = attempts - 1,"
	"  lease_until = NULL, holder = NULL, attempt_id = NULL,"
	"  route = route || jsonb_build_array(jsonb_build_object('at', rfc3339(now()),"
	"   'decision', 'waits', 'detail', 'the digest of an earlier notification of its check'"
	"   || ' went out as it came to join it: sent after that one''s outcome'))"
	" WHERE id = $1::bigint AND status = 'sending' AND attempt_id = $2::bigint", 2 };

/*
 * Whether channel $1 has a digest that is not finished: one probe of a
 * small partial index, so that a send without any storm pays one cheap
 * round trip, not the claim's transaction.
 */
static const struct db_stmt q_digest_any = { "outbox_digest_any",
	"SELECT EXISTS (SELECT 1 FROM digests WHERE channel = $1"
	"  AND status IN ('open', 'sending', 'pending'))", 1 };

/*
 * A digest of channel $1 to send: its window ended, its retry is due, or
 * it is in doubt (its lease ran out, or - $2, when this instance has held
 * its own lock for the grace - its holder died; $3: this instance). Locked
 * to the COMMIT; SKIP LOCKED: another sender takes the next one.
 */
static const struct db_stmt q_digest_claim = { "outbox_digest_claim",
	"SELECT d.id, d.contact_id IS NOT NULL, d.created_at < now() - make_interval(hours => $4::int)"
	" FROM digests d WHERE d.channel = $1"
	"  AND ((d.status = 'open' AND d.due_at <= now())"
	"   OR (d.status = 'pending' AND d.next_attempt_at <= now())"
	"   OR (d.status = 'sending' AND (d.lease_until <= now()"
	"       OR ($2::boolean AND d.holder <> $3::int"
	"           AND d.holder NOT IN (SELECT serverd_live())))))"
	"  AND NOT EXISTS (SELECT 1 FROM channel_pauses p WHERE p.channel = $1 AND p.until > now())"
	" ORDER BY d.due_at, d.id LIMIT 1 FOR UPDATE OF d SKIP LOCKED", 4 };

/*
 * The lease of digest $1 and of every member, until now() + $2 s, held by
 * $3: as q_claim does for one row (the attempt before, when in doubt,
 * becomes 'interrupted'; a new attempt per member). Returns the claim's
 * number, whether the message is a resend, and how many members it has.
 */
static const struct db_stmt q_digest_lease = { "outbox_digest_lease",
	"WITH m AS (SELECT id, status = 'sending' AS in_doubt, attempt_id FROM notifications"
	"   WHERE digest_id = $1::bigint AND status IN ('pending', 'sending') FOR UPDATE),"
	" i AS (UPDATE notification_attempts t SET error = 'interrupted', finished_at = now()"
	"   FROM m WHERE m.in_doubt AND t.id = m.attempt_id AND t.ok IS NULL"
	"    AND t.finished_at IS NULL RETURNING 1),"
	" a AS (INSERT INTO notification_attempts (notification_id, ok)"
	"   SELECT id, NULL FROM m RETURNING id, notification_id),"
	" u AS (UPDATE notifications n SET status = 'sending', attempts = n.attempts + 1,"
	"   lease_until = now() + make_interval(secs => $2::int), attempt_id = a.id,"
	"   resend = n.resend OR m.in_doubt, holder = $3::int"
	"   FROM a JOIN m ON m.id = a.notification_id WHERE n.id = a.notification_id"
	"   RETURNING n.id, m.in_doubt)"
	" UPDATE digests d SET status = 'sending', attempt = d.attempt + 1,"
	"  lease_until = now() + make_interval(secs => $2::int), holder = $3::int,"
	"  resend = d.resend OR d.status = 'sending' OR EXISTS (SELECT 1 FROM u WHERE u.in_doubt)"
	"   OR EXISTS (SELECT 1 FROM i),"
	"  members = (SELECT count(*) FROM u)"
	" WHERE d.id = $1::bigint RETURNING d.attempt, d.resend, d.members", 3 };

/* The person of digest $1 (columns as q_claim's 18-23, 36-37). */
static const struct db_stmt q_digest_contact = { "outbox_digest_contact",
	"SELECT COALESCE(ct.name, ''), COALESCE(ct.email, ''), COALESCE(ct.pushover_user, ''),"
	"  COALESCE(ct.pushover_device, ''), COALESCE(ct.webhook_url, ''),"
	"  COALESCE(ct.tz, 'UTC'), COALESCE(array_to_json(ct.quiet_hours)::text, '[]')"
	" FROM digests d LEFT JOIN contacts ct ON ct.id = d.contact_id WHERE d.id = $1::bigint", 1 };

/*
 * The members of digest $1 leased by claim $2, in event order; the last
 * column is the member's policy's urgent level (-1: none), as q_claim's 45.
 */
static const struct db_stmt q_digest_members = { "outbox_digest_members",
	"SELECT n.id, e.id, COALESCE(n.series, 0), COALESCE(e.check_id, 0), COALESCE(e.agent_id, 0),"
	"  e.kind, COALESCE(e.status, -1), COALESCE(e.prev_status, -1),"
	"  COALESCE(ag.name, 'agent ' || e.agent_id), COALESCE(ch.name, 'check ' || e.check_id),"
	"  COALESCE(e.output, ''),"
	"  COALESCE((SELECT pol.urgent FROM policies pol WHERE pol.name = n.policy), -1)"
	" FROM notifications n JOIN events e ON e.id = n.event_id"
	" JOIN digests d ON d.id = n.digest_id AND d.attempt = $2::int"
	" LEFT JOIN agents ag ON ag.id = e.agent_id LEFT JOIN checks ch ON ch.id = e.check_id"
	" WHERE n.digest_id = $1::bigint AND n.status = 'sending' ORDER BY n.event_id", 2 };

/*
 * Members $3 of digest $1 (claim $2) leave it, held by their person's
 * quiet hours until $4 (epoch s), as q_unsend holds a row; $5 the reason.
 */
static const struct db_stmt q_digest_quiet = { "outbox_digest_quiet",
	"WITH m AS (SELECT n.id, n.attempt_id FROM notifications n"
	"   JOIN digests d ON d.id = n.digest_id AND d.status = 'sending' AND d.attempt = $2::int"
	"   WHERE n.digest_id = $1::bigint AND n.status = 'sending' AND n.id = ANY ($3::bigint[])),"
	" a AS (DELETE FROM notification_attempts t USING m WHERE t.id = m.attempt_id)"
	" UPDATE notifications n SET status = 'pending', digest_id = NULL,"
	"  attempts = n.attempts - 1, lease_until = NULL, holder = NULL, attempt_id = NULL,"
	"  last_error = $5, held_until = to_timestamp($4::bigint),"
	"  next_attempt_at = to_timestamp($4::bigint),"
	"  route = n.route || jsonb_build_array(jsonb_build_object('at', rfc3339(now()),"
	"   'decision', 'held', 'detail', $5::text))"
	" FROM m WHERE n.id = m.id", 5 };

/*
 * The outcome of digest $1, if claim $5 is still the current one: on the
 * digest, every member leased with it and their attempts, in one
 * statement. $2: sent | failed | pending (retry in $4 s) | dropped (nothing
 * left to send); $6: in doubt, the next attempt is a resend.
 */
static const struct db_stmt q_digest_result = { "outbox_digest_result",
	"WITH d AS (UPDATE digests SET status = $2, last_error = $3, lease_until = NULL,"
	"   holder = NULL, resend = resend OR $6::boolean,"
	"   sent_at = CASE WHEN $2 = 'sent' THEN now() END,"
	"   next_attempt_at = CASE WHEN $2 = 'pending'"
	"    THEN now() + make_interval(secs => $4::int) ELSE next_attempt_at END"
	"   WHERE id = $1::bigint AND status = 'sending' AND attempt = $5::int RETURNING id),"
	" m AS (UPDATE notifications n SET status = $2, last_error = $3, lease_until = NULL,"
	"   holder = NULL, resend = n.resend OR $6::boolean,"
	"   sent_at = CASE WHEN $2 = 'sent' THEN now() END,"
	"   next_attempt_at = CASE WHEN $2 = 'pending'"
	"    THEN now() + make_interval(secs => $4::int) ELSE n.next_attempt_at END"
	"   FROM d WHERE n.digest_id = d.id AND n.status = 'sending' RETURNING n.attempt_id),"
	" a AS (UPDATE notification_attempts t SET ok = ($2 = 'sent'), error = $3,"
	"   finished_at = now() FROM m WHERE t.id = m.attempt_id RETURNING 1)"
	" SELECT (SELECT count(*) FROM d), (SELECT count(*) FROM m)", 6 };

/* ---- waking ------------------------------------------------------------- */

/* Every sender of every channel looks again. */
static void
wake_all(void)
{
	size_t i;

	pthread_mutex_lock(&mu);
	for (i = 0; i < channel_count(); i++) {
		cw[i].gen++;
		pthread_cond_broadcast(&cw[i].cv);
	}
	pthread_mutex_unlock(&mu);
}

/*
 * k rows of channel i are due: k claims are owed (at most one per sender
 * of the channel), and as many sleepers are woken - one, for one row.
 * With mu held.
 */
static void
wake_channel_locked(size_t i, long long k)
{
	long long j;

	if (k >= per_channel) {
		cw[i].wakes = per_channel;
		pthread_cond_broadcast(&cw[i].cv);
		return;
	}
	cw[i].wakes = cw[i].wakes + k > per_channel ? per_channel : cw[i].wakes + (int)k;
	for (j = 0; j < k; j++)
		pthread_cond_signal(&cw[i].cv);
}

/*
 * Takes the claim owed to channel i, if any (mu held): its taker is about
 * to claim, which is what the NOTIFY asked for. 1 when there was one.
 */
static int
take_wake_locked(size_t i)
{
	if (cw[i].wakes == 0)
		return 0;
	cw[i].wakes--;
	return 1;
}

/* How a sender's sleep ended (wait_for()). */
enum woken { WOKEN_TIME, WOKEN_ALL, WOKEN_ROWS };

/*
 * Sleeps until stopped, ms pass, every sender is woken (cw[i].gen moves
 * past gen), or a claim is owed to channel i - which it then takes.
 */
static enum woken
wait_for(size_t i, unsigned long gen, long long ms)
{
	struct timespec ts;
	enum woken w = WOKEN_TIME;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += (time_t)(ms / 1000);
	ts.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&mu);
	for (;;) {
		if (stopping)
			break;
		if (cw[i].gen != gen) {
			w = WOKEN_ALL;
			break;
		}
		if (take_wake_locked(i)) {
			w = WOKEN_ROWS;
			break;
		}
		if (pthread_cond_timedwait(&cw[i].cv, &mu, &ts) == ETIMEDOUT)
			break;
	}
	pthread_mutex_unlock(&mu);
	return w;
}

/* ---- the LISTEN thread's subscriber (listen.h) ---------------------------- */

/*
 * After a SIGHUP (a new configuration snapshot is installed) the settings
 * of a channel may have been fixed - a relay, a password, a token: retry
 * what waits at once rather than at its backed-off time. Run from the
 * LISTEN thread's round (outbox_tick()), on its connection.
 */
static void
retry_now_after_reload(PGconn *c)
{
	/* not the rows held by quiet hours: their time is the window's end */
	PGresult *q = db_query(c, "UPDATE notifications SET next_attempt_at = now()"
	    " WHERE status = 'pending' AND next_attempt_at > now() AND digest_id IS NULL"
	    "  AND (held_until IS NULL OR held_until <> next_attempt_at)");

	if (db_ok(q, PGRES_COMMAND_OK) && strcmp(PQcmdTuples(q), "0") != 0)
		log_info("outbox: configuration reloaded: retrying %s pending notification(s) now",
		    PQcmdTuples(q));
	PQclear(q);
	/* digests: a window ends now (group_window_s may have changed), a
	 * failed one is retried now */
	q = db_query(c, "UPDATE digests SET due_at = LEAST(due_at, now()),"
	    "  next_attempt_at = LEAST(next_attempt_at, now())"
	    " WHERE status IN ('open', 'pending') AND (due_at > now() OR next_attempt_at > now())");
	if (db_ok(q, PGRES_COMMAND_OK) && strcmp(PQcmdTuples(q), "0") != 0)
		log_info("outbox: configuration reloaded: %s digest(s) due now", PQcmdTuples(q));
	PQclear(q);
	wake_all();
}

/*
 * The payload of custos_outbox: "" (everyone looks), or the channels that
 * have new rows and how many, "email:2,pushover:1" (alert_record(),
 * sql/functions/outbox_wake_merge.sql). Into k[] by registry row; -1 when
 * it is not such a list (a channel this serverd does not know included):
 * then everyone looks, as for "".
 */
static int
wake_parse(const char *payload, long long k[COUNTERS_CHANNELS_MAX])
{
	const char *p = payload;
	size_t i;

	for (i = 0; i < COUNTERS_CHANNELS_MAX; i++)
		k[i] = 0;
	if (*p == '\0')
		return -1;
	while (*p) {
		const char *colon = strchr(p, ':'), *end = strchr(p, ','), *es;
		const struct channel_type *ch;
		char name[32], num[24];
		size_t nlen, dlen;
		long long v;

		if (end == NULL)
			end = p + strlen(p);
		if (colon == NULL || colon > end)
			return -1;
		nlen = (size_t)(colon - p);
		dlen = (size_t)(end - colon - 1);
		if (nlen == 0 || nlen >= sizeof(name) || dlen == 0 || dlen >= sizeof(num))
			return -1;
		memcpy(name, p, nlen);
		name[nlen] = '\0';
		memcpy(num, colon + 1, dlen);
		num[dlen] = '\0';
		v = str_to_ll(num, 1, INT32_MAX, &es);
		if (es || (ch = channel_find(name)) == NULL)
			return -1;
		k[channel_index(ch)] += v;
		p = *end ? end + 1 : end;
	}
	return 0;
}

/* this process's tag: OUTBOX_TAG_LEN hex digits, set once by outbox_start()
 * before any thread reads it */
#define OUTBOX_TAG_LEN 16
static char self_tag[OUTBOX_TAG_LEN + 1];

const char *
outbox_tag(void)
{
	return self_tag;
}

static void
wake_payload(const char *payload)
{
	long long k[COUNTERS_CHANNELS_MAX];
	size_t i;

	if (wake_parse(payload, k) < 0) {
		wake_all();
		return;
	}
	pthread_mutex_lock(&mu);
	for (i = 0; i < channel_count(); i++)
		if (k[i] > 0) {
			wake_channel_locked(i, k[i]);
			stats_woken += k[i];
		}
	pthread_mutex_unlock(&mu);
}

void
outbox_wake_local(const char *payload)
{
	log_debug("outbox: senders woken by ingest at its commit: \"%s\"", payload);
	wake_payload(payload);
}

/*
 * custos_outbox: rows were written, or an outcome asks for a look (sql/004).
 * An ingest's wake-up comes as "tag/payload" (after_commit_notify()): this
 * process's own was handed to outbox_wake_local() already; another
 * serverd's is read without its tag. A tag of another form is read as a
 * payload, and so wakes everyone.
 */
static void
on_outbox(const char *payload)
{
	const char *slash = strchr(payload, '/');

	if (slash != NULL && slash - payload == OUTBOX_TAG_LEN) {
		if (self_tag[0] != '\0' && memcmp(payload, self_tag, OUTBOX_TAG_LEN) == 0) {
			log_debug("outbox: a wake-up of this serverd's own, woken at its commit: skipped");
			return;
		}
		payload = slash + 1;
	}
	wake_payload(payload);
}

/* (Re)connected: whatever was queued while nobody listened is looked for. */
static void
outbox_up(PGconn *c)
{
	(void)c;
	wake_all();
}

/* Nothing to turn off: until the next outbox_up() the senders wake on their
 * own clock (OUTBOX_SAFETY_MS at most), as between any two notifications. */
static void
outbox_down(void)
{
}

static unsigned long seen_conf;   /* conf_generation() last acted on; LISTEN thread only */

static void
outbox_tick(PGconn *c)
{
	if (conf_generation() != seen_conf) {
		seen_conf = conf_generation();
		retry_now_after_reload(c);
	}
}

static const struct listen_sub outbox_sub = {
	"custos_outbox", on_outbox, outbox_up, outbox_down, outbox_tick
};

/* ---- a sender ------------------------------------------------------------- */

/* The lease of one send (or cancel) on ch, in seconds (see the top of this file). */
static long long
lease_s(const struct channel_type *ch, const struct srv_conf *cf)
{
	return ch->time_limit_s(cf) + CHANNEL_LEASE_MARGIN_S;
}

static int
col_int(PGresult *q, int col)
{
	const char *es;
	long long v = str_to_ll(PQgetvalue(q, 0, col), INT32_MIN, INT32_MAX, &es);

	return es ? 0 : (int)v;
}

static int64_t
col_i64(PGresult *q, int col)
{
	const char *es;
	long long v = str_to_ll(PQgetvalue(q, 0, col), INT64_MIN, INT64_MAX, &es);

	return es ? 0 : v;
}

/* col_i64() of row row. */
static int64_t
col_i64r(PGresult *q, int row, int col)
{
	const char *es;
	long long v = str_to_ll(PQgetvalue(q, row, col), INT64_MIN, INT64_MAX, &es);

	return es ? 0 : v;
}

static void
fill_notice(PGresult *q, struct notice *n)
{
	memset(n, 0, sizeof(*n));
	n->id = col_i64(q, 0);
	n->event_id = col_i64(q, 4);
	n->kind = PQgetvalue(q, 0, 5);
	n->status = col_int(q, 6);
	n->prev_status = col_int(q, 7);
	n->state_type = PQgetvalue(q, 0, 8);
	n->attempt = col_int(q, 9);
	if (!PQgetisnull(q, 0, 10)) {
		const char *es;
		n->value = str_to_double(PQgetvalue(q, 0, 10), &es);
		n->has_value = es == NULL;
	}
	n->output = PQgetvalue(q, 0, 11);
	n->event_at = PQgetvalue(q, 0, 12);
	n->event_epoch = col_i64(q, 13);
	n->check_id = col_i64(q, 14);
	n->agent_id = col_i64(q, 15);
	n->detail = PQgetvalue(q, 0, 16);
	n->contact = PQgetvalue(q, 0, 18);
	n->email = PQgetvalue(q, 0, 19);
	n->pushover_user = PQgetvalue(q, 0, 20);
	n->pushover_device = PQgetvalue(q, 0, 21);
	n->pushover_emergency = PQgetvalue(q, 0, 22)[0] == 't';
	n->webhook_url = PQgetvalue(q, 0, 23);
	n->agent = PQgetvalue(q, 0, 24);
	n->check = n->check_id ? PQgetvalue(q, 0, 25) : "";
	n->check_type = PQgetvalue(q, 0, 26);
	n->warning = PQgetvalue(q, 0, 27);
	n->critical = PQgetvalue(q, 0, 28);
	n->max_attempts = col_int(q, 29);
	n->since = PQgetvalue(q, 0, 30);
	n->policy = PQgetvalue(q, 0, 41);
	n->step = col_int(q, 42);
	n->route = PQgetvalue(q, 0, 43);
}

/* Runs one statement; 0, or -1 with *gone set when the connection was lost. */
static int
exec_ok(PGconn *c, const struct db_stmt *st, const char *const *v, ExecStatusType want,
    PGresult **out, int *gone)
{
	PGresult *r = db_exec(c, st, v);

	if (!db_ok(r, want)) {
		log_error("outbox: %s: %s", st->name, PQerrorMessage(c));
		*gone = db_outcome(c, r) == DB_UNAVAILABLE;
		PQclear(r);
		return -1;
	}
	if (out)
		*out = r;
	else
		PQclear(r);
	return 0;
}

static int
commit(PGconn *c, int *gone)
{
	PGresult *r = db_query(c, "COMMIT");
	int ok = db_ok(r, PGRES_COMMAND_OK);

	if (!ok) {
		log_error("outbox: COMMIT failed: %s", PQerrorMessage(c));
		*gone = db_outcome(c, r) == DB_UNAVAILABLE;
	}
	PQclear(r);
	return ok ? 0 : -1;
}

/* Whether outbox_stop() began (the senders' waits end at once then). */
static int
stop_requested(void)
{
	int st;

	pthread_mutex_lock(&mu);
	st = stopping;
	pthread_mutex_unlock(&mu);
	return st;
}

/*
 * Records an outcome: st (q_result, q_digest_result; guarded by the
 * attempt, so it changes nothing once the lease was taken over) on *cp.
 * A send whose outcome is not recorded leaves its row 'sending' until its
 * lease runs out (63 s for email by default), and the order rule holds
 * every later row of its series behind it: in bench/chaos a PostgreSQL
 * restart during a send held one check's mails for 51 s. So while the
 * database is unavailable the outcome is tried again, on a new connection
 * (*cp follows it), every OUTCOME_RETRY_MS until lease_end_us (monotonic:
 * when the lease runs out; after it the row is someone else's to take) or
 * serverd stops. what names the row in the log. 0 with *out set, or -1:
 * the statement failed on its own, or the database stayed away (the lease
 * runs out and the row is sent again, marked as a resend).
 */
static int
exec_outcome(PGconn **cp, const struct db_stmt *st, const char *const *v, PGresult **out,
    int64_t lease_end_us, const char *what)
{
	int gone = 0, tries = 0;

	for (;;) {
		if (*cp != NULL && exec_ok(*cp, st, v, PGRES_TUPLES_OK, out, &gone) == 0) {
			if (tries > 0)
				log_info("outbox: %s: the outcome is recorded (the database is back)", what);
			return 0;
		}
		if (*cp != NULL && !gone)
			return -1;
		if (mono_now_us() + OUTCOME_RETRY_MS * 1000LL >= lease_end_us || stop_requested())
			return -1;
		if (tries++ == 0)
			log_warn("outbox: %s: the database is unavailable; recording the outcome again"
			    " every %d ms until the lease runs out", what, OUTCOME_RETRY_MS);
		{
			int k;
			/* in steps, so that a stop does not wait a whole step */
			for (k = 0; k < 10 && !stop_requested(); k++)
				sleep_ms(OUTCOME_RETRY_MS / 10);
		}
		*cp = db_conn();
	}
}

/*
 * The wait until ch has something due (lease ends and a pause included), or
 * -1; *digests: whether ch has a digest not finished (-1: unknown).
 */
static long long
next_due_ms(PGconn *c, const struct channel_type *ch, const struct srv_conf *cf, int *digests)
{
	const char *v[2] = { ch->name, cf->group_window_s > 0 ? "true" : "false" };
	PGresult *q = db_exec(c, &q_next_due, v);
	long long ms = -1;

	*digests = -1;
	if (db_ok(q, PGRES_TUPLES_OK) && PQntuples(q) == 1) {
		if (!PQgetisnull(q, 0, 0))
			ms = col_i64(q, 0);
		*digests = PQgetvalue(q, 0, 1)[0] == 't';
	}
	PQclear(q);
	if (ms >= 0 && ms < OUTBOX_MIN_WAIT_MS)
		ms = OUTBOX_MIN_WAIT_MS;   /* due but claimed by another sender this moment */
	return ms;
}

/* Records a pause of ch until (epoch s), with its event when it is a new one. */
static void
record_pause(PGconn *c, const struct channel_type *ch, int64_t until, const char *reason)
{
	char u[24];
	const char *v[3] = { ch->name, u, reason };
	PGresult *q = NULL;
	int gone = 0;

	snprintf(u, sizeof(u), "%lld", (long long)until);
	if (db_cmd(c, "BEGIN") < 0)
		return;
	if (exec_ok(c, &q_pause, v, PGRES_TUPLES_OK, &q, &gone) < 0)
		goto fail;
	if (PQntuples(q) == 1 && PQgetvalue(q, 0, 0)[0] == 't' &&
	    alert_channel_paused(c, ch->name, (long long)until, reason) != DB_OK)
		goto fail;
	PQclear(q);
	q = NULL;
	if (commit(c, &gone) == 0)
		return;
fail:
	PQclear(q);
	if (!gone && PQstatus(c) == CONNECTION_OK)
		db_cmd(c, "ROLLBACK");
}

/*
 * Cancels one emergency page whose check recovered or was acknowledged
 * (whose agent is up again): lease, COMMIT, call, record. 1 when it
 * handled one, 0 when none is waiting, -1 on a database failure (*gone
 * set when the connection is lost).
 */
static int
cancel_one(PGconn *c, const struct channel_type *ch, const struct srv_conf *cf, int *gone)
{
	PGresult *q = NULL;
	char lease[24], tag[64], err[NOTIFY_ERR_MAX] = "", note[NOTIFY_ERR_MAX + 32];
	char id[24], reason[32], me[24];
	const char *v[3];
	enum send_verdict verdict;
	int rc = -1, my_id;

	/* a cancel in flight at a kill -9 is taken over at once, as a send is */
	v[0] = holder_now(&my_id) ? "true" : "false";
	snprintf(me, sizeof(me), "%d", my_id);
	v[1] = me;
	if (db_cmd(c, "BEGIN") < 0) {
		*gone = PQstatus(c) != CONNECTION_OK;
		return -1;
	}
	if (exec_ok(c, &q_cancel_claim, v, PGRES_TUPLES_OK, &q, gone) < 0)
		goto fail;
	if (PQntuples(q) == 0) {
		PQclear(q);
		return commit(c, gone) == 0 ? 0 : -1;
	}
	/* copied: q is cleared before the outcome is recorded */
	snprintf(id, sizeof(id), "%s", PQgetvalue(q, 0, 0));
	snprintf(reason, sizeof(reason), "%s", PQgetvalue(q, 0, 3));
	snprintf(lease, sizeof(lease), "%lld", lease_s(ch, cf));
	v[0] = id;
	v[1] = lease;
	v[2] = my_id ? me : NULL;
	if (exec_ok(c, &q_cancel_lease, v, PGRES_COMMAND_OK, NULL, gone) < 0 ||
	    commit(c, gone) < 0)
		goto fail;
	/* leased and committed: no transaction is open across the call */
	ch->tag(col_i64(q, 1), col_i64(q, 2), tag, sizeof(tag));
	verdict = ch->cancel(cf, tag, err, sizeof(err));
	if (verdict == SEND_OK) {
		snprintf(note, sizeof(note), "%s", reason);
		log_info("notification %s: emergency page %s cancelled (%s)", id, tag, reason);
	} else {
		snprintf(note, sizeof(note), "%s: %s", verdict == SEND_FAIL ? "failed" : "retrying", err);
		log_warn("notification %s: cancelling emergency page %s: %s", id, tag, note);
	}
	v[1] = verdict == SEND_OK ? "ok" : verdict == SEND_FAIL ? "failed" : "retry";
	v[2] = note;
	PQclear(q);
	q = NULL;
	if (exec_ok(c, &q_cancel_done, v, PGRES_COMMAND_OK, NULL, gone) < 0)
		return -1;   /* the lease runs out and the cancel is tried again */
	return 1;
fail:
	if (!*gone && PQstatus(c) == CONNECTION_OK)
		db_cmd(c, "ROLLBACK");
	PQclear(q);
	return rc;
}

/* ---- quiet hours ------------------------------------------------------------ */

/* A status's severity: OK < WARNING < UNKNOWN < CRITICAL (policies' urgent). */
static int
severity(int status)
{
	static const int rank[4] = { 0, 1, 3, 2 };

	return status >= 0 && status <= 3 ? rank[status] : -1;
}

/*
 * What a person's quiet hours let through at once: an agent down or up
 * again; a problem at or above the urgent level, and the recovery of one
 * (whoever was woken by the problem hears that it ended). The level is
 * the row's policy's `urgent` (level: a status, 1..3) when a policy made
 * the row, else (level < 0) CRITICAL.
 */
static int
urgent(const struct notice *n, int level)
{
	int min = severity(level >= 0 ? level : 2);

	if (strcmp(n->kind, "AGENT DOWN") == 0 || strcmp(n->kind, "AGENT UP") == 0)
		return 1;
	if (strcmp(n->kind, "PROBLEM") == 0 || strcmp(n->kind, "RENOTIFY") == 0)
		return severity(n->status) >= min;
	return strcmp(n->kind, "RECOVERY") == 0 && severity(n->prev_status) >= min;
}

/* The end of the quiet time the person is in now (epoch s), or 0. */
static int64_t
quiet_now(const char *zone, const char *windows, const char *id)
{
	struct quiet_window w[QUIET_WINDOWS_MAX];
	char err[256];
	const struct tz *z;
	json_t *arr, *e;
	size_t i, nw = 0;
	int64_t until = 0;

	if (strcmp(windows, "[]") == 0)
		return 0;
	if ((z = tz_get(zone, err, sizeof(err))) == NULL) {
		log_warn("notification %s: quiet hours not applied: zone %s: %s", id, zone, err);
		return 0;
	}
	if ((arr = json_loads(windows, 0, NULL)) == NULL)
		return 0;
	json_array_foreach(arr, i, e) {
		/* stored by the users API after the same parse; one that no longer
		 * parses is skipped, not a reason to hold everything */
		if (nw < QUIET_WINDOWS_MAX && json_is_string(e) &&
		    quiet_window_parse(json_string_value(e), &w[nw], err, sizeof(err)) == 0)
			nw++;
	}
	json_decref(arr);
	if (nw > 0)
		until = quiet_until(w, nw, z, (int64_t)time(NULL));
	return until;
}

/*
 * Quiet hours at the claim (docs/people.md): 0 send the row now; 1 it was
 * held until its person's quiet time ends, or dropped as not worth sending
 * any more, and recorded (q_unsend); -1 the database failed (*gone).
 *   - a recovery whose problem was dropped is dropped: its problem was
 *     never told;
 *   - a row held before and now due is dropped when a later notification
 *     of its check went out meanwhile (a CRITICAL is urgent and passes the
 *     held WARNING), or when its problem recovered meanwhile;
 *   - a row that is not urgent, inside its person's quiet hours, is held
 *     until they end. It does not hold back the later rows of its check
 *     (OPEN_BEFORE): an urgent one still goes at once.
 */
static int
quiet_gate(PGconn *c, PGresult *q, const struct notice *n, const char *chname,
    const char *id, const char *attempt_id, int *gone)
{
	int was_held = PQgetvalue(q, 0, 38)[0] == 't';
	const char *prev = PQgetvalue(q, 0, 39);
	int superseded = PQgetvalue(q, 0, 40)[0] == 't';
	int recovery = strcmp(n->kind, "RECOVERY") == 0 || strcmp(n->kind, "AGENT UP") == 0;
	int problem = strcmp(n->kind, "PROBLEM") == 0 || strcmp(n->kind, "RENOTIFY") == 0 ||
	    strcmp(n->kind, "AGENT DOWN") == 0;
	char note[160], until_s[24], at[RFC3339_LEN];
	const char *v[5];
	int64_t until = 0;
	PGresult *u = NULL;

	if (recovery && strcmp(prev, "dropped") == 0)
		snprintf(note, sizeof(note), "dropped: the problem it ends was not sent"
		    " (dropped in quiet hours)");
	else if (was_held && superseded)
		snprintf(note, sizeof(note), "dropped: held by quiet hours, and a later"
		    " notification of its check was sent meanwhile");
	else if (was_held && problem && *n->resolved_since)
		snprintf(note, sizeof(note), "dropped: held by quiet hours, and resolved since %s",
		    n->resolved_since);
	else if (!urgent(n, col_int(q, 45)) && (until = quiet_now(PQgetvalue(q, 0, 36), PQgetvalue(q, 0, 37), id)) > 0) {
		rfc3339_format(until * 1000000, at);
		snprintf(note, sizeof(note), "held by quiet hours until %s", at);
	} else
		return 0;
	snprintf(until_s, sizeof(until_s), "%lld", (long long)until);
	v[0] = id;
	v[1] = attempt_id;
	v[2] = until > 0 ? "pending" : "dropped";
	v[3] = until_s;
	v[4] = note;
	if (exec_ok(c, &q_unsend, v, PGRES_TUPLES_OK, &u, gone) < 0)
		return -1;
	if (PQntuples(u) == 1)
		log_info("notification %s: %s %s to %s %s", id, n->kind, chname, n->contact, note);
	PQclear(u);
	return 1;
}

/*
 * ANALYZE notifications, and how many rows it holds now (-1: it failed,
 * logged under what). Every analysis here counts: the rows the wake-ups
 * named before it are in its statistics (stats_woken starts again), and
 * outbox_storm_stats() compares the next ones with this size.
 */
static long long
analyze_outbox(PGconn *c, const char *what)
{
	PGresult *q;
	long long held = -1;

	pthread_mutex_lock(&mu);
	stats_woken = 0;
	pthread_mutex_unlock(&mu);
	if (db_cmd(c, "ANALYZE notifications") < 0) {
		log_warn("%s: ANALYZE notifications failed: %s", what, PQerrorMessage(c));
		return -1;
	}
	q = db_exec(c, &q_held, NULL);
	if (db_ok(q, PGRES_TUPLES_OK) && PQntuples(q) == 1) {
		const char *es;
		long long v = str_to_ll(PQgetvalue(q, 0, 0), -1, INT64_MAX, &es);
		if (es == NULL)
			held = v < 0 ? 0 : v;   /* -1: never analyzed (cannot be, just done) */
	}
	PQclear(q);
	pthread_mutex_lock(&mu);
	if (held >= 0)
		stats_held = held;
	pthread_mutex_unlock(&mu);
	return held;
}

/*
 * The outbox's statistics follow a storm. The claim's order test and a
 * digest's lease are planned on them; a table analyzed when it held a few
 * rows (a fresh install: autovacuum analyzes a minute later at best) gets
 * nested loops over full scans, quadratic in the rows a storm leaves
 * pending (measured: claims of 40 s at 18,000 rows, given up at
 * database_timeout_s). One sender looks every OUTBOX_STATS_US and runs
 * ANALYZE when the table changed by more than it held; cached plans are
 * made again on the new statistics.
 */
static void
outbox_stats(PGconn *c)
{
	int64_t now = mono_now_us();
	PGresult *q;
	int due;

	pthread_mutex_lock(&mu);
	due = now >= stats_next_us;
	if (due)
		stats_next_us = now + OUTBOX_STATS_US;
	pthread_mutex_unlock(&mu);
	if (!due)
		return;
	q = db_exec(c, &q_stats, NULL);
	due = db_ok(q, PGRES_TUPLES_OK) && PQntuples(q) == 1 && PQgetvalue(q, 0, 0)[0] == 't';
	PQclear(q);
	if (due) {
		log_info("outbox: the notifications table grew past its statistics (a storm):"
		    " analyzing it");
		analyze_outbox(c, "outbox");
	}
}

/*
 * Before a round: a storm's first rows, on an outbox whose statistics are
 * older than them. The order tests are probes (ROW_PROBE), whatever the
 * statistics - but a table analyzed when it held next to nothing (a fresh
 * install's) is planned as a scan even there, and a claim in flight keeps
 * its plan however long it runs (measured: 24-47 s per claim at the start
 * of bench/digest-storm; outbox_stats() looks only after a round, and the
 * cumulative statistics reach it a second or more late). The wake-ups name
 * every row as it is committed (wake_parse()), in every serverd: once they
 * named OUTBOX_STORM_ROWS, and more than the table held when this serverd
 * last analyzed it, the first sender to start a round analyzes, and the
 * others wait for it rather than claim on the old plans (an ANALYZE of a
 * few hundred milliseconds; cached plans are made again on the new
 * statistics). A grown install analyzes once, at its first storm, and
 * learns its size; a fresh one at 1,000 rows, 2,000, 4,000... A failed
 * ANALYZE is logged and the round goes on, as before it.
 */
static void
outbox_storm_stats(PGconn *c)
{
	long long woken, held;
	int run;

	pthread_mutex_lock(&mu);
	while (stats_running && !stopping)
		pthread_cond_wait(&stats_cv, &mu);
	woken = stats_woken;
	held = stats_held;
	run = !stopping && woken >= OUTBOX_STORM_ROWS && woken > held;
	if (run)
		stats_running = 1;
	pthread_mutex_unlock(&mu);
	if (!run)
		return;
	log_info("outbox: %lld rows to send since the outbox was analyzed here (it held %lld):"
	    " analyzing it before claiming", woken, held);
	analyze_outbox(c, "outbox");
	pthread_mutex_lock(&mu);
	stats_running = 0;
	pthread_cond_broadcast(&stats_cv);
	pthread_mutex_unlock(&mu);
}

/* The backoff of ch after attempts attempts, in seconds. */
static long long
backoff_s(const struct channel_type *ch, int attempts)
{
	int shift = attempts < 20 ? attempts : 20;
	long long d = 1LL << shift;

	return d > ch->backoff_max_s ? ch->backoff_max_s : d;
}

/* ---- grouping into digests ---------------------------------------------------- */

/*
 * Row id (attempt attempt_id) and the fresh rows after it join digest did
 * (due at due) of contact on ch, each recorded "merged into digest N", in
 * the caller's transaction, which holds the digest's lock: 1 when row id
 * is among them, 0 when an earlier row of its check keeps it out, -1 when
 * the database failed (*gone). *joined gets how many rows joined.
 */
static int
digest_join(PGconn *c, const struct channel_type *ch, const char *contact, const char *id,
    const char *attempt_id, const char *did, const char *due, int *joined, int *gone)
{
	char detail[64];
	const char *v[7];
	PGresult *r = NULL;
	int i, mine = 0;

	snprintf(detail, sizeof(detail), "merged into digest %s", did);
	v[0] = did;
	v[1] = id;
	v[2] = attempt_id;
	v[3] = due;
	v[4] = contact;
	v[5] = ch->name;
	v[6] = detail;
	if (exec_ok(c, &q_digest_join, v, PGRES_TUPLES_OK, &r, gone) < 0)
		return -1;
	*joined = PQntuples(r);
	for (i = 0; i < *joined; i++)
		if (PQgetvalue(r, i, 0)[0] == 't')
			mine = 1;
	PQclear(r);
	return mine;
}

/*
 * The open digest of person contact on ch, locked to the COMMIT
 * (q_digest_lock): its id into did and its due time into due, or did
 * left empty when the person has none open. 0, or -1 the database
 * failed (*gone).
 */
static int
digest_lock(PGconn *c, const struct channel_type *ch, const char *contact, char did[24],
    char due[64], int *gone)
{
	const char *v[2];
	PGresult *r = NULL;

	v[0] = contact;
	v[1] = ch->name;
	did[0] = '\0';
	if (exec_ok(c, &q_digest_lock, v, PGRES_TUPLES_OK, &r, gone) < 0)
		return -1;
	if (PQntuples(r) == 1) {
		snprintf(did, 24, "%s", PQgetvalue(r, 0, 0));
		snprintf(due, 64, "%s", PQgetvalue(r, 0, 1));
	}
	PQclear(r);
	return 0;
}

/*
 * Row id (attempt attempt_id) came to join the open digest of an earlier
 * row of its series (q_claim's 49): it joins it (with the fresh rows after
 * it), whatever the storm test would say - grouping may even have been
 * turned off since: its order still binds it to that digest. When the
 * digest went meanwhile (claimed between our claim and our join) the row is
 * put back untried (q_digest_missed), to go after the digest's outcome.
 * 1 handled (joined or put back), -1 the database failed (*gone).
 */
static int
join_behind(PGconn *c, const struct channel_type *ch, const char *contact, const char *id,
    const char *attempt_id, int *gone)
{
	char did[24] = "", due[64] = "";
	const char *v[2];
	int joined = 0, mine = 0;

	if (db_cmd(c, "BEGIN") < 0) {
		*gone = PQstatus(c) != CONNECTION_OK;
		return -1;
	}
	if (digest_lock(c, ch, contact, did, due, gone) < 0)
		goto fail;
	if (did[0] != '\0' &&
	    (mine = digest_join(c, ch, contact, id, attempt_id, did, due, &joined, gone)) < 0)
		goto fail;
	if (mine) {
		if (commit(c, gone) < 0)
			return -1;
		log_info("notification %s: %s joined digest %s, where an earlier notification of"
		    " its check waits (%d row(s) joined now; due %s)", id, ch->name, did, joined, due);
		return 1;
	}
	db_cmd(c, "ROLLBACK");
	v[0] = id;
	v[1] = attempt_id;
	if (exec_ok(c, &q_digest_missed, v, PGRES_COMMAND_OK, NULL, gone) < 0)
		return -1;
	log_info("notification %s: %s: the digest of an earlier notification of its check went"
	    " out as it came to join it: it waits for that one's outcome", id, ch->name);
	return 1;
fail:
	if (!*gone && PQstatus(c) == CONNECTION_OK)
		db_cmd(c, "ROLLBACK");
	return -1;
}

/*
 * The storm test at the claim of row id (attempt attempt_id, claimed for
 * the first time): 0 send it now; 1 it joined its person's open digest on
 * ch, with the fresh rows after it (recorded), or was put back to wait for
 * the digest of an earlier row of its series (join_behind()); -1 the
 * database failed (*gone). See "Storms go as one digest" at the top of
 * this file.
 */
static int
group_gate(PGconn *c, PGresult *q, const struct channel_type *ch, const struct srv_conf *cf,
    const char *id, const char *attempt_id, int *gone)
{
	char win[24], min[24], did[24], due[64];
	const char *contact = PQgetvalue(q, 0, 44), *v[7];
	PGresult *r = NULL;
	int i, joined = 0, mine = 0, made = 0;

	if (PQgetvalue(q, 0, 49)[0] == 't')
		return join_behind(c, ch, contact, id, attempt_id, gone);
	if (cf->group_window_s <= 0 || strcmp(contact, "0") == 0)
		return 0;
	snprintf(win, sizeof(win), "%lld", cf->group_window_s);
	snprintf(min, sizeof(min), "%lld", cf->group_min);
	v[0] = id;
	v[1] = win;
	v[2] = min;
	if (exec_ok(c, &q_group_probe, v, PGRES_TUPLES_OK, &r, gone) < 0)
		return -1;
	if (PQntuples(r) == 1 && col_i64r(r, 0, 2) >= 2) {
		/*
		 * A parent's recovery: its children still failing, one digest
		 * at once. This row is its group's first (GROUP_TURN: no sender
		 * claims another before it is in a digest), and q_digest_join
		 * takes the whole group with it; nothing to wait for. Due at
		 * PostgreSQL's own now() ('now': the transaction's start).
		 * But rows held by quiet hours are no group: each is due again
		 * at the quiet time's end, claimed on its own (its quiet_gate()
		 * may drop it), and those are gathered for HELD_GATHER_US into
		 * the digest the first of them makes.
		 */
		if (PQgetvalue(q, 0, 38)[0] == 't')
			rfc3339_format(time_now_us() + HELD_GATHER_US, due);
		else
			snprintf(due, sizeof(due), "now");
	} else if (PQntuples(r) != 1 || PQgetisnull(r, 0, 1) || col_i64(r, 0) < cf->group_min) {
		PQclear(r);
		return 0;   /* no storm: this one goes at once */
	} else
		snprintf(due, sizeof(due), "%s", PQgetvalue(r, 0, 1));
	PQclear(r);
	r = NULL;
	if (db_cmd(c, "BEGIN") < 0) {
		*gone = PQstatus(c) != CONNECTION_OK;
		return -1;
	}
	/* the open digest, made or found, locked to the COMMIT; made anew when
	 * the one found was claimed meanwhile */
	did[0] = '\0';
	for (i = 0; i < 3 && did[0] == '\0'; i++) {
		v[0] = contact;
		v[1] = ch->name;
		v[2] = due;
		if (exec_ok(c, &q_digest_make, v, PGRES_COMMAND_OK, &r, gone) < 0)
			goto fail;
		made |= strcmp(PQcmdTuples(r), "1") == 0;
		PQclear(r);
		r = NULL;
		if (digest_lock(c, ch, contact, did, due, gone) < 0)
			goto fail;
	}
	if (did[0] == '\0')
		goto individual;
	if ((mine = digest_join(c, ch, contact, id, attempt_id, did, due, &joined, gone)) < 0)
		goto fail;
	if (!mine)
		goto individual;   /* an earlier row of its check is open: it goes on its own, in turn */
	if (commit(c, gone) < 0)
		return -1;
	log_info("notification %s: %s merged into digest %s (%d row(s) joined now; due %s)",
	    id, ch->name, did, joined, due);
	/*
	 * A storm begins: thousands of rows will wait in the outbox, where
	 * usually a few pass through. Statistics of a table that was nearly
	 * empty when last analyzed (a fresh install: autovacuum analyzes a
	 * minute later at best) plan the claim's order test and the digest's
	 * lease as nested loops over full scans, quadratic in the storm
	 * (measured: 40 s per claim at 18,000 rows). Analyzed now, with the
	 * storm's first rows in it, they scale with the table.
	 */
	if (made) {
		char what[64];
		snprintf(what, sizeof(what), "outbox: digest %s", did);
		analyze_outbox(c, what);
	}
	return 1;
individual:
	db_cmd(c, "ROLLBACK");
	return 0;
fail:
	PQclear(r);
	if (!*gone && PQstatus(c) == CONNECTION_OK)
		db_cmd(c, "ROLLBACK");
	return -1;
}

/* A notice with every string "" (never NULL, notify.h), no event. */
static void
notice_empty(struct notice *n)
{
	memset(n, 0, sizeof(*n));
	n->kind = n->state_type = n->warning = n->critical = n->output = n->event_at = "";
	n->since = n->agent = n->check = n->check_type = n->detail = "";
	n->contact = n->email = n->pushover_user = n->pushover_device = n->webhook_url = "";
	n->resolved_since = "";
	n->status = n->prev_status = -1;
}

/*
 * Records digest did's outcome (claim attempt), trying again until
 * lease_end_us while the database is away (exec_outcome(): *cp may be a
 * new connection then); 0, or -1 (*gone).
 */
static int
digest_record(PGconn **cp, const char *did, const char *status, const char *err,
    long long delay, const char *attempt, int doubt, int64_t lease_end_us, int *gone)
{
	char secs[24], what[48];
	const char *v[6];
	PGresult *u = NULL;

	snprintf(secs, sizeof(secs), "%lld", delay);
	v[0] = did;
	v[1] = status;
	v[2] = err;
	v[3] = secs;
	v[4] = attempt;
	v[5] = doubt ? "true" : "false";
	snprintf(what, sizeof(what), "digest %s", did);
	if (exec_outcome(cp, &q_digest_result, v, &u, lease_end_us, what) < 0) {
		*gone = *cp == NULL || PQstatus(*cp) != CONNECTION_OK;
		log_error("outbox: digest %s: the outcome (%s) is not recorded; the lease runs out"
		    " and it is sent again, marked as a resend", did, status);
		return -1;
	}
	if (PQntuples(u) == 1 && strcmp(PQgetvalue(u, 0, 0), "0") == 0)
		log_warn("digest %s: the lease ran out (or this serverd lost its lock) during the"
		    " send and another attempt took it over; this outcome (%s) is not recorded", did,
		    status);
	PQclear(u);
	return 0;
}

/*
 * Claims, leases, sends and records one due digest of ch: 1 when it handled
 * one, 0 when none was due, -1 when the database failed. any: whether ch
 * has a digest not finished, as the sender's last claim or look at the
 * clock answered it (1 yes, 0 no), or -1 when unknown: then q_digest_any
 * asks first.
 */
static int
digest_one(PGconn **cp, const struct channel_type *ch, const struct srv_conf *cf, int any)
{
	PGconn *c = *cp;   /* *cp follows it when an outcome's retry reconnects */
	PGresult *q = NULL, *ct = NULL, *mq = NULL;
	struct digest_member *m = NULL;
	struct notice_digest dg = { 0, 0, NULL };
	struct notice n;
	struct send_result res = { "", 0, "" };
	char did[24], attempt[24], lease[24], me[24], hours[24], at[RFC3339_LEN];
	char err[NOTIFY_ERR_MAX] = "", note[160];
	struct buf held;
	const char *v[5], *status;
	enum send_verdict verdict;
	int gone = 0, my_id, has_contact, too_old, resent, doubt = 0, rc = -1, i, nrows;
	size_t nheld = 0;
	int64_t until = 0, t0, lease_end = 0;
	long long delay = 0;

	if (any == 0)
		return 0;
	v[0] = ch->name;
	if (any < 0) {
		if (exec_ok(c, &q_digest_any, v, PGRES_TUPLES_OK, &q, &gone) < 0)
			return -1;
		if (PQntuples(q) != 1 || PQgetvalue(q, 0, 0)[0] != 't') {
			PQclear(q);
			return 0;
		}
		PQclear(q);
		q = NULL;
	}
	snprintf(hours, sizeof(hours), "%d", ch->give_up_h);
	v[1] = holder_now(&my_id) ? "true" : "false";
	snprintf(me, sizeof(me), "%d", my_id);
	v[2] = my_id ? me : NULL;
	v[3] = hours;
	buf_init(&held, 16);
	if (db_cmd(c, "BEGIN") < 0)
		return -1;
	if (exec_ok(c, &q_digest_claim, v, PGRES_TUPLES_OK, &q, &gone) < 0)
		goto fail;
	if (PQntuples(q) == 0) {
		PQclear(q);
		return commit(c, &gone) == 0 ? 0 : -1;
	}
	snprintf(did, sizeof(did), "%s", PQgetvalue(q, 0, 0));
	has_contact = PQgetvalue(q, 0, 1)[0] == 't';
	too_old = PQgetvalue(q, 0, 2)[0] == 't';
	PQclear(q);
	q = NULL;
	snprintf(lease, sizeof(lease), "%lld", lease_s(ch, cf));
	/* (the lease counts from the transaction's start, a little earlier:
	 * a retry past its end finds it taken over and changes nothing) */
	lease_end = mono_now_us() + lease_s(ch, cf) * 1000000LL;
	v[0] = did;
	v[1] = lease;
	v[2] = my_id ? me : NULL;
	if (exec_ok(c, &q_digest_lease, v, PGRES_TUPLES_OK, &q, &gone) < 0 || PQntuples(q) != 1)
		goto fail;
	snprintf(attempt, sizeof(attempt), "%s", PQgetvalue(q, 0, 0));
	resent = PQgetvalue(q, 0, 1)[0] == 't';
	PQclear(q);
	q = NULL;
	if (commit(c, &gone) < 0)
		return -1;
	/* leased and committed: from here on no transaction or lock is held */
	v[0] = did;
	v[1] = attempt;
	if (exec_ok(c, &q_digest_contact, v, PGRES_TUPLES_OK, &ct, &gone) < 0 ||
	    exec_ok(c, &q_digest_members, v, PGRES_TUPLES_OK, &mq, &gone) < 0 ||
	    PQntuples(ct) != 1)
		goto out;
	nrows = PQntuples(mq);
	if (nrows == 0) {
		rc = digest_record(&c, did, "dropped", "no members left", 0, attempt, 0, lease_end,
		    &gone) < 0 ? -1 : 1;
		*cp = c;
		goto out;
	}
	held.toobig = (size_t)nrows * 24 + 16;
	if ((m = calloc((size_t)nrows, sizeof(*m))) == NULL) {
		log_error("outbox: digest %s: out of memory; its lease runs out and it is tried again", did);
		goto out;
	}
	/* quiet hours apply to every member: outside them (or urgent) it stays */
	if (has_contact)
		until = quiet_now(PQgetvalue(ct, 0, 5), PQgetvalue(ct, 0, 6), did);
	buf_adds(&held, "{");
	for (i = 0; i < nrows; i++) {
		struct digest_member x;
		struct notice t;
		x.notification_id = col_i64r(mq, i, 0);
		x.event_id = col_i64r(mq, i, 1);
		x.series = col_i64r(mq, i, 2);
		x.check_id = col_i64r(mq, i, 3);
		x.agent_id = col_i64r(mq, i, 4);
		x.kind = PQgetvalue(mq, i, 5);
		x.status = (int)col_i64r(mq, i, 6);
		x.prev_status = (int)col_i64r(mq, i, 7);
		x.agent = PQgetvalue(mq, i, 8);
		x.check = PQgetvalue(mq, i, 9);
		x.output = PQgetvalue(mq, i, 10);
		notice_empty(&t);
		t.kind = x.kind;
		t.status = x.status;
		t.prev_status = x.prev_status;
		/* each member at its own policy's urgent level (the default when
		 * no policy made it), as the row would be sent alone */
		if (until > 0 && !urgent(&t, (int)col_i64r(mq, i, 11))) {
			buf_addf(&held, "%s%lld", nheld ? "," : "", (long long)x.notification_id);
			nheld++;
		} else {
			m[dg.n++] = x;
		}
	}
	if (nheld > 0) {
		char u[24];
		if (buf_adds(&held, "}") < 0) {
			log_error("outbox: digest %s: out of memory; its lease runs out and it is tried"
			    " again", did);
			goto out;
		}
		rfc3339_format(until * 1000000, at);
		snprintf(note, sizeof(note), "held by quiet hours until %s (left digest %s)", at, did);
		snprintf(u, sizeof(u), "%lld", (long long)until);
		v[0] = did;
		v[1] = attempt;
		v[2] = held.ptr;
		v[3] = u;
		v[4] = note;
		if (exec_ok(c, &q_digest_quiet, v, PGRES_COMMAND_OK, NULL, &gone) < 0)
			goto out;
		log_info("digest %s: %zu member(s) %s", did, nheld, note);
		if (dg.n == 0) {
			rc = digest_record(&c, did, "dropped", "every member held by quiet hours", 0,
			    attempt, 0, lease_end, &gone) < 0 ? -1 : 1;
			*cp = c;
			goto out;
		}
	}
	{
		const char *es;
		dg.id = str_to_ll(did, 1, INT64_MAX, &es);
	}
	dg.m = m;
	digest_sort(dg.m, dg.n);
	notice_empty(&n);
	n.id = dg.id;
	n.kind = "DIGEST";
	n.contact = PQgetvalue(ct, 0, 0);
	n.email = PQgetvalue(ct, 0, 1);
	n.pushover_user = PQgetvalue(ct, 0, 2);
	n.pushover_device = PQgetvalue(ct, 0, 3);
	n.webhook_url = PQgetvalue(ct, 0, 4);
	n.event_epoch = (int64_t)time(NULL);
	rfc3339_format(n.event_epoch * 1000000, at);
	n.event_at = at;
	n.resent = resent;
	n.conf = cf;
	n.in_doubt = &doubt;
	n.digest = &dg;
	t0 = mono_now_us();
	if (!has_contact) {
		snprintf(err, sizeof(err), "the contact was deleted");
		verdict = SEND_FAIL;
	} else {
		verdict = ch->send(&n, &res, err, sizeof(err));
	}
	if (verdict == SEND_RETRY && too_old) {
		size_t len = strlen(err);
		snprintf(err + len, sizeof(err) - len, " (giving up after %d hours)", ch->give_up_h);
		verdict = SEND_FAIL;
	}
	status = verdict == SEND_OK ? "sent" : verdict == SEND_FAIL ? "failed" : "pending";
	{
		const char *es;
		long long tries = str_to_ll(attempt, 1, INT32_MAX, &es);
		delay = backoff_s(ch, es ? 1 : (int)(tries - 1));
	}
	if (res.pause_until > 0 && verdict == SEND_RETRY) {
		long long w = (long long)res.pause_until - (long long)time(NULL);
		if (w > delay)
			delay = w;
	}
	if (verdict == SEND_OK)
		log_info("digest %s: %zu notification(s) %s to %s sent as one%s in %lld ms", did, dg.n,
		    ch->name, n.contact, n.resent ? " (resent)" : "",
		    (long long)((mono_now_us() - t0) / 1000));
	else
		log_warn("digest %s: %zu notification(s) %s to %s %s: %s%s", did, dg.n, ch->name,
		    n.contact, verdict == SEND_FAIL ? "failed" : "not sent", err,
		    verdict == SEND_RETRY && doubt ? " (it may have arrived: the retry is marked as a"
		    " resend)" : "");
	counters_send(channel_index(ch), verdict == SEND_OK ? COUNT_SENT :
	    verdict == SEND_FAIL ? COUNT_FAILED : COUNT_RETRIED);
	rc = digest_record(&c, did, status, verdict == SEND_OK ? NULL : err, delay, attempt,
	    verdict == SEND_RETRY && doubt, lease_end, &gone);
	*cp = c;
	if (rc < 0)
		goto out;
	if (res.pause_until > 0)
		record_pause(c, ch, res.pause_until, res.pause_reason[0] ? res.pause_reason :
		    "the provider asked for a pause");
	rc = 1;
out:
	free(m);
	buf_free(&held);
	PQclear(ct);
	PQclear(mq);
	return rc;
fail:
	PQclear(q);
	if (!gone && PQstatus(c) == CONNECTION_OK)
		db_cmd(c, "ROLLBACK");
	return -1;
}

/*
 * Whether this sender looks for emergency pages to cancel now: always when
 * it found nothing to send (idle), else when it has not looked for
 * CANCEL_LOOK_US (a stream of sends). The cancel's look is a transaction of
 * three round trips; before every claim it stood between a NOTIFY and the
 * page that NOTIFY was for, so it comes after a round (send_one()'s end),
 * and an idle look is owed only when something other than new rows of the
 * channel woke the sender (struct sender's for_rows).
 */
static _Thread_local int64_t cancel_looked_us;

static int
cancel_due(int idle)
{
	int64_t now = mono_now_us();

	if (!idle && now - cancel_looked_us < CANCEL_LOOK_US)
		return 0;
	cancel_looked_us = now;
	return 1;
}

/*
 * Every cancel waiting, one after the other: 0, or -1 when the database
 * failed; *gone is set when the connection was lost (the database is
 * down, or cut us off), not for a statement that failed on its own.
 */
static int
cancels(PGconn *c, const struct channel_type *ch, const struct srv_conf *cf, int *gone)
{
	int r;

	*gone = 0;
	while ((r = cancel_one(c, ch, cf, gone)) == 1)
		;
	if (r < 0 && PQstatus(c) != CONNECTION_OK)
		*gone = 1;
	return r < 0 ? -1 : 0;
}

/*
 * What a sender knows from one round to the next (sender_main()).
 *   digests   whether its channel has a digest not finished, as its last
 *             claim or look at the clock answered it: 1, 0, or -1 unknown
 *             (after a wake of everyone, a timeout, a failure): then
 *             digest_one() asks first.
 *   for_rows  the rounds since the last sleep follow a NOTIFY of new rows
 *             of its channel: with nothing (left) to send, the idle look
 *             for pages to cancel is not owed then (an event that may end
 *             a page wakes everyone: sql/functions/outbox_wake.sql); the
 *             look every CANCEL_LOOK_US stays.
 *   paged     a send left a receipt (an emergency page) since its last
 *             look for cancels: the next idle look is made, whatever woke
 *             it (the page's check may have recovered while it was being
 *             sent, and that recovery found no page ringing to wake for).
 */
struct sender {
	const struct channel_type *ch;
	int digests, for_rows, paged;
};

/* The link of a claimed mail that is not sent after all goes (acklink.c). */
static void
ack_forget(PGconn *c, const char *token)
{
	const char *v[1] = { token };
	int gone = 0;

	if (exec_ok(c, &q_ack_forget, v, PGRES_COMMAND_OK, NULL, &gone) < 0)
		log_warn("outbox: an unsent mail's acknowledgement link stays until it expires");
}

/*
 * Claims, leases, sends and records one due row of sd's channel. Returns 1
 * when it handled one, 0 when none was due (*next_ms: the wait until
 * something of the channel is due, or -1), -1 when the database is
 * unavailable.
 */
static int
send_one(struct sender *sd, long long *next_ms)
{
	const struct channel_type *ch = sd->ch;
	PGconn *c = db_conn();
	PGresult *q = NULL;
	struct notice n = { 0 };
	struct send_result res = { "", 0, "" };
	char err[NOTIFY_ERR_MAX] = "", secs[24], id[24], hours[24], lease[24], me[24], ttl[24];
	char token[ACK_TOKEN_LEN + 1] = "";
	const char *status, *v[8], *attempt_id;
	const struct srv_conf *cf = NULL;
	enum send_verdict verdict;
	int attempts, rc = -1, gone = 0, in_doubt, my_id, judge, doubt = 0, linked = 0;
	int64_t t0, lease_end;
	long long delay;
	struct buf link;

	*next_ms = -1;
	buf_init(&link, 1024);
	if (c == NULL)
		return -1;
	outbox_storm_stats(c);
	cf = conf_hold();   /* held from the lease to the outcome; dropped at done: */
	{
		/* a digest due goes first: its members wait for nothing else */
		int r = digest_one(&c, ch, cf, sd->digests);
		if (r != 0) {
			sd->digests = -1;   /* another may be due: asked again */
			rc = r;
			goto done;
		}
	}
	snprintf(hours, sizeof(hours), "%d", ch->give_up_h);
	snprintf(lease, sizeof(lease), "%lld", lease_s(ch, cf));
	snprintf(ttl, sizeof(ttl), "%d", ACK_LINK_TTL_H);
	judge = holder_now(&my_id);
	snprintf(me, sizeof(me), "%d", my_id);
	/* the claim makes the acknowledgement link's row too (acklink.c) */
	if (ch->ack_link && cf->public_url != NULL && *cf->public_url != '\0')
		ack_token_new(token);
	v[0] = hours;
	v[1] = ch->name;
	v[2] = lease;
	v[3] = judge ? "true" : "false";
	v[4] = my_id ? me : NULL;   /* no lock held now: a lease that only runs out */
	v[5] = cf->group_window_s > 0 ? "true" : "false";   /* GROUP_TURN */
	v[6] = token[0] ? token : NULL;
	v[7] = ttl;
	/* (the lease counts from the claim's start: no earlier than this) */
	lease_end = mono_now_us() + lease_s(ch, cf) * 1000000LL;
	if (exec_ok(c, &q_claim, v, PGRES_TUPLES_OK, &q, &gone) < 0)
		goto done;
	if (PQntuples(q) == 0) {
		/* nothing to send now: the cancels' turn (after the sends, whose
		 * page is the one someone waits for) */
		if (ch->cancel != NULL && cancel_due(!sd->for_rows || sd->paged)) {
			int lost;
			sd->paged = 0;
			if (cancels(c, ch, cf, &lost) < 0) {
				if (lost)
					goto done;   /* the database is gone: its wait */
				sd->paged = 1;   /* looked for again when next idle */
			}
		}
		*next_ms = next_due_ms(c, ch, cf, &sd->digests);
		rc = 0;
		goto done;
	}
	/* the lease is committed: from here on no transaction or lock is held */
	fill_notice(q, &n);
	n.conf = cf;
	n.in_doubt = &doubt;
	sd->digests = PQgetvalue(q, 0, 48)[0] == 't';
	if (token[0] && PQgetvalue(q, 0, 47)[0] == 't') {
		linked = 1;
		if (buf_addf(&link, "%s/ack/%s", cf->public_url, token) == 0 && !link.failed)
			n.ack_url = link.ptr;
	}
	attempts = col_int(q, 2);
	in_doubt = PQgetvalue(q, 0, 31)[0] == 't';
	attempt_id = PQgetvalue(q, 0, 32);
	n.resent = PQgetvalue(q, 0, 33)[0] == 't';
	n.resolved_since = PQgetvalue(q, 0, 35);
	n.priority = PQgetvalue(q, 0, 46);
	snprintf(id, sizeof(id), "%lld", (long long)n.id);
	if (in_doubt)
		log_warn("notification %s: the attempt before was interrupted (its serverd died,"
		    " or its lease ran out, without an outcome): sending again, marked as a resend", id);
	if (*n.resolved_since)
		log_info("notification %s: its problem was resolved since %s: marked so", id,
		    n.resolved_since);
	if (PQgetvalue(q, 0, 17)[0] == 't') {
		int g = quiet_gate(c, q, &n, ch->name, id, attempt_id, &gone);
		if (g > 0 && linked)
			ack_forget(c, token);
		if (g != 0) {
			rc = g;   /* held or dropped: claim the next; or the database failed */
			goto done;
		}
	}
	if (PQgetvalue(q, 0, 17)[0] == 't' && attempts == 0 && !in_doubt) {
		int g = group_gate(c, q, ch, cf, id, attempt_id, &gone);
		if (g > 0 && linked)
			ack_forget(c, token);
		if (g != 0) {
			sd->digests = -1;   /* it may have made one */
			rc = g;   /* merged into a digest: claim the next; or the database failed */
			goto done;
		}
	}
	t0 = mono_now_us();
	if (PQgetvalue(q, 0, 17)[0] != 't') {
		snprintf(err, sizeof(err), "the contact was deleted");
		verdict = SEND_FAIL;
	} else {
		/* a first send is a page on its way, however this sender woke
		 * (urgent.h); a retry is not */
		if (attempts == 0)
			urgent_enter();
		verdict = ch->send(&n, &res, err, sizeof(err));
		if (attempts == 0)
			urgent_leave();
	}
	if (verdict == SEND_RETRY && PQgetvalue(q, 0, 3)[0] == 't') {
		size_t len = strlen(err);
		snprintf(err + len, sizeof(err) - len, " (giving up after %d hours)", ch->give_up_h);
		verdict = SEND_FAIL;
	}
	status = verdict == SEND_OK ? "sent" : verdict == SEND_FAIL ? "failed" : "pending";
	delay = backoff_s(ch, attempts);
	if (res.pause_until > 0 && verdict == SEND_RETRY) {
		long long until = (long long)res.pause_until - (long long)time(NULL);
		if (until > delay)
			delay = until;   /* no sooner than the provider's reset */
	}
	snprintf(secs, sizeof(secs), "%lld", delay);
	if (verdict == SEND_OK)
		log_info("notification %s: %s %s to %s sent%s in %lld ms", id, n.kind, ch->name,
		    n.contact, n.resent ? " (resent)" : "", (long long)((mono_now_us() - t0) / 1000));
	else
		log_warn("notification %s: %s %s to %s %s: %s%s%s%s", id, n.kind, ch->name, n.contact,
		    verdict == SEND_FAIL ? "failed" : "not sent", err,
		    verdict == SEND_RETRY ? "; retry in " : "", verdict == SEND_RETRY ? secs : "",
		    verdict == SEND_RETRY && doubt ? " (it may have arrived: the retry is marked as a resend)" : "");
	/* counted before the outcome is recorded: whoever sees the outcome
	 * in the database finds it counted (and a send is one even when its
	 * outcome cannot be recorded) */
	counters_send(channel_index(ch), verdict == SEND_OK ? COUNT_SENT :
	    verdict == SEND_FAIL ? COUNT_FAILED : COUNT_RETRIED);
	v[0] = id;
	v[1] = status;
	v[2] = verdict == SEND_OK ? NULL : err;
	v[3] = secs;
	v[4] = attempt_id;
	v[5] = res.receipt[0] ? res.receipt : NULL;
	v[6] = verdict == SEND_RETRY && doubt ? "true" : "false";
	{
		PGresult *u = NULL;
		char what[48];

		snprintf(what, sizeof(what), "notification %s", id);
		if (exec_outcome(&c, &q_result, v, &u, lease_end, what) < 0) {
			log_error("outbox: notification %s: the outcome (%s) is not recorded; the"
			    " lease runs out and it is sent again, marked as a resend", id, status);
			goto done;
		}
		if (PQntuples(u) == 0)
			log_warn("notification %s: the lease ran out (or this serverd lost its lock) during"
			    " the send and another attempt took it over; this outcome (%s) is recorded in"
			    " the attempt log only",
			    id, status);
		PQclear(u);
	}
	if (res.pause_until > 0)
		record_pause(c, ch, res.pause_until, res.pause_reason[0] ? res.pause_reason :
		    "the provider asked for a pause");
	if (res.receipt[0])
		sd->paged = 1;
	rc = 1;
done:
	/*
	 * After the round, not before its claim: nothing stands between a
	 * NOTIFY and its send but the claim. A stream of sends does not keep
	 * the cancels waiting longer than CANCEL_LOOK_US; the statistics are
	 * looked at every OUTBOX_STATS_US by one sender.
	 */
	if (rc > 0 && ch->cancel != NULL && cancel_due(0)) {
		int lost;
		sd->paged = 0;
		/*
		 * A look that failed does not undo the round: the send is
		 * recorded, and the next row may be due at once. Only a lost
		 * connection (the database down) is the database-down path,
		 * the 1 s wait; a statement that failed on its own (logged)
		 * leaves the cancel to the next look, made when next idle.
		 */
		if (cancels(c, ch, cf, &lost) < 0) {
			if (lost)
				rc = -1;
			else
				sd->paged = 1;
		}
	}
	if (rc >= 0)
		outbox_stats(c);
	if (rc < 0)
		sd->digests = -1;
	PQclear(q);
	conf_drop(cf);
	sodium_memzero(token, sizeof(token));
	buf_free(&link);
	return rc;
}

static void *
sender_main(void *arg)
{
	struct sender sd = { arg, -1, 0, 0 };
	size_t ci = channel_index(sd.ch);

	for (;;) {
		unsigned long gen;
		long long next_ms, wait_ms;
		enum woken w;
		int r;

		pthread_mutex_lock(&mu);
		if (stopping) {
			pthread_mutex_unlock(&mu);
			break;
		}
		gen = cw[ci].gen;
		/* the claim this round starts is one a NOTIFY may have asked for:
		 * taken here, a sleeper is not woken for it too */
		take_wake_locked(ci);
		pthread_mutex_unlock(&mu);
		/* new rows: their claims and sends go before bulk history (urgent.h) */
		if (sd.for_rows)
			urgent_enter();
		r = send_one(&sd, &next_ms);
		if (sd.for_rows)
			urgent_leave();
		if (r == 1)
			continue;
		if (r < 0)
			wait_ms = 1000;   /* database down: look again in a second */
		else if (next_ms >= 0 && next_ms < safety_ms)
			wait_ms = next_ms;
		else
			wait_ms = safety_ms;
		w = wait_for(ci, gen, wait_ms);
		if (w == WOKEN_ROWS)
			log_debug("outbox: %s sender woken: rows notified", sd.ch->name);
		else if (w == WOKEN_ALL)
			log_debug("outbox: %s sender woken: everyone looks", sd.ch->name);
		sd.for_rows = w == WOKEN_ROWS;
		if (w != WOKEN_ROWS)
			sd.digests = -1;
	}
	db_close();
	return NULL;
}

/* ---- start and stop ------------------------------------------------------- */

/* OUTBOX_TEST_SAFETY_ENV (outbox.h): the tests' shorter safety net. */
static void
safety_from_env(void)
{
	const char *v = getenv(OUTBOX_TEST_SAFETY_ENV), *es;
	long long ms;

	safety_ms = OUTBOX_SAFETY_MS;
	if (v == NULL || *v == '\0')
		return;
	ms = str_to_ll(v, 100, OUTBOX_SAFETY_MS, &es);
	if (es != NULL) {
		log_error("%s: %s: ignored (the senders look every %d ms)", OUTBOX_TEST_SAFETY_ENV,
		    es, OUTBOX_SAFETY_MS);
		return;
	}
	safety_ms = ms;
	log_warn("%s: the senders look on their own every %lld ms at most (a test knob,"
	    " never for production)", OUTBOX_TEST_SAFETY_ENV, ms);
}

int
outbox_start(void)
{
	pthread_condattr_t ca;
	int i, n = (int)CONF_VALUE(sender_threads);

	if (n < 1)
		n = 1;
	if (n > OUTBOX_MAX_SENDERS)
		n = OUTBOX_MAX_SENDERS;
	per_channel = n;
	safety_from_env();
	if (self_tag[0] == '\0') {
		unsigned char raw[OUTBOX_TAG_LEN / 2];

		randombytes_buf(raw, sizeof(raw));
		sodium_bin2hex(self_tag, sizeof(self_tag), raw, sizeof(raw));
	}
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	for (i = 0; i < (int)channel_count(); i++) {
		pthread_cond_init(&cw[i].cv, &ca);
		cw[i].wakes = 0;
	}
	pthread_condattr_destroy(&ca);
	stopping = 0;
	if (holder_start(wake_all) < 0)
		return -1;
	holder_started = 1;
	/* after the holder: a poll's lease names this instance */
	if (receipt_start() < 0)
		return -1;
	receipts_started = 1;
	seen_conf = conf_generation();
	if (listen_subscribe(&outbox_sub) < 0)
		return -1;
	for (i = 0; i < n * (int)channel_count(); i++) {
		const struct channel_type *ch = channel_types[i % (int)channel_count()];
		if (pthread_create(&sender_tid[nsenders], NULL, sender_main, (void *)ch) != 0) {
			log_error("outbox: cannot start a %s sender thread", ch->name);
			return -1;   /* outbox_stop() joins the ones started */
		}
		nsenders++;
	}
	return 0;
}

void
outbox_stop(void)
{
	int i;

	pthread_mutex_lock(&mu);
	stopping = 1;
	for (i = 0; i < (int)channel_count(); i++)
		pthread_cond_broadcast(&cw[i].cv);
	pthread_cond_broadcast(&stats_cv);
	pthread_mutex_unlock(&mu);
	for (i = 0; i < nsenders; i++)
		pthread_join(sender_tid[i], NULL);
	nsenders = 0;
	if (receipts_started)
		receipt_stop();
	receipts_started = 0;
	/* after the senders and the receipt polls: no lease of ours is in
	 * flight when the lock goes */
	if (holder_started)
		holder_stop();
	holder_started = 0;
	for (i = 0; i < (int)channel_count(); i++)
		pthread_cond_destroy(&cw[i].cv);
}
