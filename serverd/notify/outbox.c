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
 *   'failed', each committed after the outcome is known.
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
 *   whenever woken (a RECOVERY or ACKNOWLEDGEMENT event NOTIFYs
 *   custos_outbox: trigger in sql/004_delivery.sql), look for receipts not
 *   yet cancelled whose check is now OK or acknowledged (or whose agent is
 *   up again) and cancel them by tag - under the same
 *   lease-then-call-then-record rule - recording when and why
 *   (receipt_cancelled_at, receipt_cancel). The cancel's lease names its
 *   holder (receipt_holder) and is taken over at once when that died, as
 *   a send's is: a page does not ring on for a lease after a kill -9.
 *
 * Waking: this file subscribes to custos_outbox on the LISTEN thread, which
 * wakes every sender the moment a NOTIFY arrives, and again after each
 * reconnect (what was notified meanwhile is found by the rescan that
 * follows); nothing polls for fresh rows. Between wake-ups a
 * sender sleeps until its channel's earliest retry, lease end or pause end,
 * at most OUTBOX_SAFETY_MS. A SIGHUP makes every waiting row due at once
 * (the admin may just have fixed the relay's address or password). Each
 * send holds one configuration snapshot (conf_hold()) from its claim to
 * its outcome, so a SIGHUP mid-session is safe.
 */
#include "config.h"
#include "outbox.h"
#include "alert.h"
#include "channel.h"
#include "counters.h"
#include "db.h"
#include "holder.h"
#include "listen.h"
#include "log.h"
#include "notify.h"
#include "oncall.h"
#include "receipt.h"
#include "serverd.h"
#include "strnum.h"
#include "timeutil.h"

#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define OUTBOX_MAX_SENDERS 64        /* per channel */
#define OUTBOX_SAFETY_MS 15000       /* longest sleep without a NOTIFY */
#define OUTBOX_MIN_WAIT_MS 20        /* a due row another sender is claiming */
#define CANCEL_RETRY_S "30"          /* a failed receipt cancel is tried again */

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv;
static unsigned long wake_gen;       /* bumped on every NOTIFY; guarded by mu */
static int stopping;                 /* guarded by mu */
static pthread_t sender_tid[COUNTERS_CHANNELS_MAX * OUTBOX_MAX_SENDERS];
static int nsenders, holder_started, receipts_started;

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
	"  AND (p.held_until IS NULL OR p.held_until <= now() OR p.status <> 'pending'))"

static const struct db_stmt q_claim = { "outbox_claim",
	"WITH live AS MATERIALIZED (SELECT l.id FROM serverd_live() AS l(id)),"
	" c AS ("
	"  SELECT n.id, n.status = 'sending' AS in_doubt"
	"  FROM notifications n"
	"  WHERE n.channel = $2"
	"   AND ((n.status = 'pending' AND n.next_attempt_at <= now())"
	"        OR (n.status = 'sending' AND (n.lease_until <= now()"
	"            OR ($4::boolean AND n.holder <> $5::int"
	"                AND NOT EXISTS (SELECT 1 FROM live WHERE live.id = n.holder)))))"
	"   AND NOT EXISTS (SELECT 1 FROM channel_pauses p WHERE p.channel = $2 AND p.until > now())"
	"   AND" OPEN_BEFORE("n")
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
	"   resend = n.resend OR c.in_doubt, holder = $5::int"
	"  FROM a JOIN c ON c.id = a.notification_id WHERE n.id = a.notification_id"
	"  RETURNING n.id, n.channel, n.attempts - 1 AS attempts, n.created_at, n.event_id,"
	"   n.contact_id, c.in_doubt, a.id AS attempt_id, n.resend, n.series, n.held_until,"
	"   n.policy, n.priority"
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
	/* the row's policy's urgent level (41; -1: none), its step's priority (42) */
	"  COALESCE((SELECT pol.urgent FROM policies pol WHERE pol.name = n.policy), -1),"
	"  COALESCE(n.priority::text, '')"
	" FROM u n JOIN events e ON e.id = n.event_id"
	" LEFT JOIN contacts ct ON ct.id = n.contact_id"
	" LEFT JOIN agents ag ON ag.id = e.agent_id"
	" LEFT JOIN checks ch ON ch.id = e.check_id"
	" LEFT JOIN check_state s ON s.check_id = e.check_id", 5 };

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
	"  receipt = COALESCE($6, receipt)"
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
 * When something of channel $1 is due: a retry, a lease end, a pause end. A
 * pending row behind an earlier open one of its check, contact and channel
 * is not counted: it becomes due when that one's outcome is recorded, by a
 * sender that then claims again at once. A lease of a holder that died is
 * announced by the holder thread (holder.c).
 */
static const struct db_stmt q_next_due = { "outbox_next_due",
	"SELECT CASE WHEN m.t IS NULL THEN -1 ELSE ceil(extract(epoch FROM"
	"  GREATEST(m.t, (SELECT until FROM channel_pauses WHERE channel = $1)) - now()) * 1000)"
	"  END::bigint"
	" FROM (SELECT min(t) AS t FROM ("
	"  SELECT min(n.next_attempt_at) AS t FROM notifications n"
	"   WHERE n.status = 'pending' AND n.channel = $1 AND" OPEN_BEFORE("n")
	"  UNION ALL SELECT min(lease_until) FROM notifications"
	"   WHERE status = 'sending' AND channel = $1) x) m", 1 };

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

/* ---- waking ------------------------------------------------------------- */

static void
wake_all(void)
{
	pthread_mutex_lock(&mu);
	wake_gen++;
	pthread_cond_broadcast(&cv);
	pthread_mutex_unlock(&mu);
}

/*
 * Sleeps until stopped, ms pass, or - when by_notify - a NOTIFY arrives
 * (wake_gen moves past gen).
 */
static void
wait_for(unsigned long gen, long long ms, int by_notify)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += (time_t)(ms / 1000);
	ts.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&mu);
	while (!stopping && (!by_notify || wake_gen == gen))
		if (pthread_cond_timedwait(&cv, &mu, &ts) == ETIMEDOUT)
			break;
	pthread_mutex_unlock(&mu);
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
	    " WHERE status = 'pending' AND next_attempt_at > now()"
	    "  AND (held_until IS NULL OR held_until <> next_attempt_at)");

	if (db_ok(q, PGRES_COMMAND_OK) && strcmp(PQcmdTuples(q), "0") != 0)
		log_info("outbox: configuration reloaded: retrying %s pending notification(s) now",
		    PQcmdTuples(q));
	PQclear(q);
	wake_all();
}

/* custos_outbox: a row was written, or an outcome asks for a look (sql/004). */
static void
on_outbox(const char *payload)
{
	(void)payload;
	wake_all();
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

/* The wait until ch has something due (lease ends and a pause included), or -1. */
static long long
next_due_ms(PGconn *c, const struct channel_type *ch)
{
	const char *v[1] = { ch->name };
	PGresult *q = db_exec(c, &q_next_due, v);
	long long ms = -1;

	if (db_ok(q, PGRES_TUPLES_OK) && PQntuples(q) == 1 && !PQgetisnull(q, 0, 0))
		ms = col_i64(q, 0);
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
 * handled one, 0 when none is waiting, -1 on a database failure.
 */
static int
cancel_one(PGconn *c, const struct channel_type *ch, const struct srv_conf *cf)
{
	PGresult *q = NULL;
	char lease[24], tag[64], err[NOTIFY_ERR_MAX] = "", note[NOTIFY_ERR_MAX + 32];
	char id[24], reason[32], me[24];
	const char *v[3];
	enum send_verdict verdict;
	int gone = 0, rc = -1, my_id;

	/* a cancel in flight at a kill -9 is taken over at once, as a send is */
	v[0] = holder_now(&my_id) ? "true" : "false";
	snprintf(me, sizeof(me), "%d", my_id);
	v[1] = me;
	if (db_cmd(c, "BEGIN") < 0)
		return -1;
	if (exec_ok(c, &q_cancel_claim, v, PGRES_TUPLES_OK, &q, &gone) < 0)
		goto fail;
	if (PQntuples(q) == 0) {
		PQclear(q);
		return commit(c, &gone) == 0 ? 0 : -1;
	}
	/* copied: q is cleared before the outcome is recorded */
	snprintf(id, sizeof(id), "%s", PQgetvalue(q, 0, 0));
	snprintf(reason, sizeof(reason), "%s", PQgetvalue(q, 0, 3));
	snprintf(lease, sizeof(lease), "%lld", lease_s(ch, cf));
	v[0] = id;
	v[1] = lease;
	v[2] = my_id ? me : NULL;
	if (exec_ok(c, &q_cancel_lease, v, PGRES_COMMAND_OK, NULL, &gone) < 0 ||
	    commit(c, &gone) < 0)
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
	if (exec_ok(c, &q_cancel_done, v, PGRES_COMMAND_OK, NULL, &gone) < 0)
		return -1;   /* the lease runs out and the cancel is tried again */
	return 1;
fail:
	if (!gone && PQstatus(c) == CONNECTION_OK)
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
quiet_now(const char *tzname, const char *windows, const char *id)
{
	struct quiet_window w[QUIET_WINDOWS_MAX];
	char err[256];
	const struct tz *z;
	json_t *arr, *e;
	size_t i, nw = 0;
	int64_t until = 0;

	if (strcmp(windows, "[]") == 0)
		return 0;
	if ((z = tz_get(tzname, err, sizeof(err))) == NULL) {
		log_warn("notification %s: quiet hours not applied: zone %s: %s", id, tzname, err);
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
	else if (!urgent(n, col_int(q, 41)) && (until = quiet_now(PQgetvalue(q, 0, 36), PQgetvalue(q, 0, 37), id)) > 0) {
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

/* The backoff of ch after attempts attempts, in seconds. */
static long long
backoff_s(const struct channel_type *ch, int attempts)
{
	int shift = attempts < 20 ? attempts : 20;
	long long d = 1LL << shift;

	return d > ch->backoff_max_s ? ch->backoff_max_s : d;
}

/*
 * Claims, leases, sends and records one due row of ch. Returns 1 when it
 * handled one, 0 when none was due (*next_ms: the wait until something of
 * ch is due, or -1), -1 when the database is unavailable.
 */
static int
send_one(const struct channel_type *ch, long long *next_ms)
{
	PGconn *c = db_conn();
	PGresult *q = NULL;
	struct notice n = { 0 };
	struct send_result res = { "", 0, "" };
	char err[NOTIFY_ERR_MAX] = "", secs[24], id[24], hours[24], lease[24], me[24];
	const char *status, *v[7], *attempt_id;
	const struct srv_conf *cf = NULL;
	enum send_verdict verdict;
	int attempts, rc = -1, gone = 0, in_doubt, my_id, judge, doubt = 0;
	int64_t t0;
	long long delay;

	*next_ms = -1;
	if (c == NULL)
		return -1;
	cf = conf_hold();   /* held from the lease to the outcome; dropped at done: */
	if (ch->cancel != NULL) {
		int r;
		while ((r = cancel_one(c, ch, cf)) == 1)
			;
		if (r < 0)
			goto done;
	}
	snprintf(hours, sizeof(hours), "%d", ch->give_up_h);
	snprintf(lease, sizeof(lease), "%lld", lease_s(ch, cf));
	judge = holder_now(&my_id);
	snprintf(me, sizeof(me), "%d", my_id);
	v[0] = hours;
	v[1] = ch->name;
	v[2] = lease;
	v[3] = judge ? "true" : "false";
	v[4] = my_id ? me : NULL;   /* no lock held now: a lease that only runs out */
	if (exec_ok(c, &q_claim, v, PGRES_TUPLES_OK, &q, &gone) < 0)
		goto done;
	if (PQntuples(q) == 0) {
		*next_ms = next_due_ms(c, ch);
		rc = 0;
		goto done;
	}
	/* the lease is committed: from here on no transaction or lock is held */
	fill_notice(q, &n);
	n.conf = cf;
	n.in_doubt = &doubt;
	attempts = col_int(q, 2);
	in_doubt = PQgetvalue(q, 0, 31)[0] == 't';
	attempt_id = PQgetvalue(q, 0, 32);
	n.resent = PQgetvalue(q, 0, 33)[0] == 't';
	n.resolved_since = PQgetvalue(q, 0, 35);
	n.priority = PQgetvalue(q, 0, 42);
	snprintf(id, sizeof(id), "%lld", (long long)n.id);
	if (in_doubt)
		log_warn("notification %s: the attempt before was interrupted (its serverd died,"
		    " or its lease ran out, without an outcome): sending again, marked as a resend", id);
	if (*n.resolved_since)
		log_info("notification %s: its problem was resolved since %s: marked so", id,
		    n.resolved_since);
	if (PQgetvalue(q, 0, 17)[0] == 't') {
		int g = quiet_gate(c, q, &n, ch->name, id, attempt_id, &gone);
		if (g != 0) {
			rc = g;   /* held or dropped: claim the next; or the database failed */
			goto done;
		}
	}
	t0 = mono_now_us();
	if (PQgetvalue(q, 0, 17)[0] != 't') {
		snprintf(err, sizeof(err), "the contact was deleted");
		verdict = SEND_FAIL;
	} else {
		verdict = ch->send(&n, &res, err, sizeof(err));
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
		if (exec_ok(c, &q_result, v, PGRES_TUPLES_OK, &u, &gone) < 0) {
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
	rc = 1;
done:
	PQclear(q);
	conf_drop(cf);
	return rc;
}

static void *
sender_main(void *arg)
{
	const struct channel_type *ch = arg;

	for (;;) {
		unsigned long gen;
		long long next_ms, wait_ms;
		int r;

		pthread_mutex_lock(&mu);
		if (stopping) {
			pthread_mutex_unlock(&mu);
			break;
		}
		gen = wake_gen;
		pthread_mutex_unlock(&mu);
		r = send_one(ch, &next_ms);
		if (r == 1)
			continue;
		if (r < 0)
			wait_ms = 1000;   /* database down: look again in a second */
		else if (next_ms >= 0 && next_ms < OUTBOX_SAFETY_MS)
			wait_ms = next_ms;
		else
			wait_ms = OUTBOX_SAFETY_MS;
		wait_for(gen, wait_ms, 1);
	}
	db_close();
	return NULL;
}

/* ---- start and stop ------------------------------------------------------- */

int
outbox_start(void)
{
	pthread_condattr_t ca;
	int i, n = (int)CONF_VALUE(sender_threads);

	if (n < 1)
		n = 1;
	if (n > OUTBOX_MAX_SENDERS)
		n = OUTBOX_MAX_SENDERS;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&cv, &ca);
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
	pthread_cond_broadcast(&cv);
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
	pthread_cond_destroy(&cv);
}
