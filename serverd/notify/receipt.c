/*
 * receipt.c - the receipt thread (receipt.h): the receipts of emergency
 * pages polled, and an acknowledgement in the Pushover app made a custos
 * acknowledgement.
 *
 * ONE POLL PER RECEIPT PER INTERVAL, HOWEVER MANY SERVERD
 *
 * A poll is leased as a send is (outbox.c): one statement claims the
 * receipt that is due (FOR UPDATE SKIP LOCKED: another serverd takes
 * another), moves its receipt_poll_due one interval on from now, and leases
 * it to this instance (receipt_poll_lease_until, receipt_poll_holder) for
 * the call's time limit plus CHANNEL_LEASE_MARGIN_S - committed before the
 * call to Pushover, with no transaction open across it. Whoever looks next
 * finds the receipt not due for an interval, and a slow poll still in
 * flight (Pushover slower than the interval) leased; a lease whose holder
 * died (holder.h: its lock is gone) is taken over at the receipt's next due
 * time, so a kill -9 costs no more than one missed poll. The outcome is
 * recorded in a transaction of its own.
 *
 * An acknowledgement from the app is applied once: its transaction holds
 * the notification's row (FOR UPDATE) and does nothing when
 * acknowledged_at is set already (a late outcome of a lease that ran out).
 * A check acknowledged meanwhile by other means is not acknowledged again:
 * the record says by whom it was. A check OK again has nothing to
 * acknowledge; the record says so.
 *
 * The thread is a ticker (ticker.h) on a connection of its own: a tick
 * claims and polls what is due, one receipt after the other, then sleeps
 * RECEIPT_TICK_MS (less under the test interval), so a receipt is polled
 * within a tick of its due time. No pushover_token: nothing is polled.
 */
#include "config.h"
#include "receipt.h"
#include "alert.h"
#include "channel.h"
#include "db.h"
#include "holder.h"
#include "log.h"
#include "notify.h"
#include "serverd.h"
#include "state.h"
#include "strnum.h"
#include "ticker.h"
#include "timeutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define RECEIPT_TICK_MS 1000
#define RECEIPT_TICK_MIN_MS 200       /* under the test interval of a second */
#define RECEIPT_MAX_PER_TICK 200      /* then the ticker's stop is looked at */
#define RECEIPT_ACK_COMMENT "acknowledged in the Pushover app"
#define RECEIPT_PERSON_MAX 256        /* bytes of the person's name we keep */

/*
 * The receipt due now (see the top of this file): a page neither cancelled,
 * acknowledged nor expired, sent within Pushover's week, whose problem is
 * open (its check neither OK nor acknowledged; its agent not up), not
 * paused; its poll due ($1 the interval, s: the first one an interval
 * after the send), and no poll in flight - or one whose lease ran out, or
 * ($3, when this instance has held its lock for the grace) whose holder
 * died. Claimed by $4 (NULL: no lock held now) for $2 s.
 */
static const struct db_stmt q_claim = { "receipt_claim",
	"WITH c AS ("
	"  SELECT n.id FROM notifications n JOIN events e ON e.id = n.event_id"
	"  LEFT JOIN check_state s ON s.check_id = e.check_id"
	"  LEFT JOIN agents a ON a.id = e.agent_id"
	"  WHERE n.receipt IS NOT NULL AND n.receipt_cancelled_at IS NULL"
	"   AND n.acknowledged_at IS NULL AND n.receipt_expired_at IS NULL"
	"   AND n.sent_at > now() - interval '7 days'"
	"   AND COALESCE(n.receipt_poll_due, n.sent_at + make_interval(secs => $1::int)) <= now()"
	"   AND (n.receipt_poll_lease_until IS NULL OR n.receipt_poll_lease_until <= now()"
	"    OR ($3::boolean AND n.receipt_poll_holder <> $4::int"
	"        AND n.receipt_poll_holder NOT IN (SELECT serverd_live())))"
	"   AND CASE WHEN e.check_id IS NULL THEN a.state IS DISTINCT FROM 'up'"
	"    ELSE s.status <> 0 AND NOT s.acknowledged END"
	"   AND NOT EXISTS (SELECT 1 FROM receipt_poll_pause p WHERE p.until > now())"
	"  ORDER BY COALESCE(n.receipt_poll_due, n.sent_at), n.id LIMIT 1"
	"  FOR UPDATE OF n SKIP LOCKED)"
	" UPDATE notifications n SET receipt_poll_due = now() + make_interval(secs => $1::int),"
	"  receipt_poll_lease_until = now() + make_interval(secs => $2::int),"
	"  receipt_poll_holder = $4::int, receipt_polls = n.receipt_polls + 1,"
	"  receipt_polled_at = now()"
	" FROM c WHERE n.id = c.id"
	" RETURNING n.id, n.receipt", 4 };

/* The outcome of a poll that changes nothing: its error (NULL: none), the lease given back. */
static const struct db_stmt q_polled = { "receipt_polled",
	"UPDATE notifications SET receipt_poll_error = $2, receipt_poll_lease_until = NULL,"
	"  receipt_poll_holder = NULL WHERE id = $1", 2 };

/* Pushover says the page expired (or forgot it, $3 'gone'): not polled again, recorded. */
static const struct db_stmt q_expired = { "receipt_expired",
	"WITH u AS (UPDATE notifications SET receipt_expired_at = now(), receipt_poll_error = NULL,"
	"  receipt_poll_lease_until = NULL, receipt_poll_holder = NULL"
	"  WHERE id = $1 AND receipt_expired_at IS NULL AND acknowledged_at IS NULL RETURNING id)"
	" SELECT notification_route_add(u.id, 'expired', $2) FROM u", 2 };

/* 429: every poll pauses until $1 (epoch s). */
static const struct db_stmt q_pause = { "receipt_pause",
	"INSERT INTO receipt_poll_pause AS p (one, until, reason)"
	"  VALUES (true, to_timestamp($1::bigint), $2)"
	" ON CONFLICT (one) DO UPDATE SET until = GREATEST(p.until, EXCLUDED.until),"
	"  reason = EXCLUDED.reason", 2 };

/*
 * The acknowledgement's transaction, first: the row held, what it pages
 * about, whether it was acknowledged already, and the person whose
 * pushover_user is $2 (the row's own contact first, when two share a key).
 */
static const struct db_stmt q_ack_row = { "receipt_ack_row",
	"SELECT COALESCE(e.check_id, 0), e.agent_id, n.acknowledged_at IS NOT NULL,"
	"  (SELECT ct.name FROM contacts ct WHERE ct.pushover_user = $2"
	"    ORDER BY ct.id = n.contact_id DESC, ct.id LIMIT 1)"
	" FROM notifications n JOIN events e ON e.id = n.event_id WHERE n.id = $1"
	" FOR UPDATE OF n", 2 };

/* Under the check's agent lock: whether it is acknowledged already, by whom. */
static const struct db_stmt q_ack_state = { "receipt_ack_state",
	"SELECT acknowledged, COALESCE(ack_by, '') FROM check_state WHERE check_id = $1", 1 };

/* Then: the notification's record ($3 acknowledged_at, epoch s; $4 by whom; $5 the route's detail). */
static const struct db_stmt q_ack_done = { "receipt_ack_done",
	"WITH u AS (UPDATE notifications SET acknowledged_at = to_timestamp($2::bigint),"
	"  acknowledged_by = $3, receipt_poll_error = NULL, receipt_poll_lease_until = NULL,"
	"  receipt_poll_holder = NULL WHERE id = $1 RETURNING id)"
	" SELECT notification_route_add(u.id, 'acknowledged', $4) FROM u", 4 };

static long long test_interval_s;   /* CUSTOS_TEST_RECEIPT_POLL_S, 0: the key's */

static long long
interval_s(const struct srv_conf *cf)
{
	return test_interval_s > 0 ? test_interval_s : cf->pushover_receipt_poll_s;
}

/* Runs st; 0, or -1 (logged). */
static int
run(PGconn *c, const struct db_stmt *st, const char *const *v, ExecStatusType want,
    PGresult **out)
{
	PGresult *r = db_exec(c, st, v);

	if (!db_ok(r, want)) {
		log_error("receipts: %s: %s", st->name, PQerrorMessage(c));
		db_outcome(c, r);   /* a broken connection is replaced at the next tick */
		PQclear(r);
		return -1;
	}
	if (out)
		*out = r;
	else
		PQclear(r);
	return 0;
}

static void
rollback(PGconn *c)
{
	if (PQstatus(c) == CONNECTION_OK && PQtransactionStatus(c) != PQTRANS_IDLE)
		db_cmd(c, "ROLLBACK");
}

/* "gzne…": the first four characters of a user key nobody has, for the record. */
static void
key_redacted(const char *key, char *out, size_t outlen)
{
	snprintf(out, outlen, "%.4s\xe2\x80\xa6", key);
}

/*
 * The acknowledgement from the app, in one transaction: the check
 * acknowledged (alert_ack_problem()) by the person, the notification's
 * acknowledged_at/by and its routing record. 0, or -1 when the database
 * failed (rolled back; the next poll finds the page acknowledged again).
 */
static int
apply_ack(PGconn *c, const char *id, const struct receipt_status *st)
{
	PGresult *q = NULL, *u = NULL, *s = NULL;
	char at[RFC3339_LEN], who[RECEIPT_PERSON_MAX + 64], detail[RECEIPT_PERSON_MAX + 256];
	char when[24], cid[24];
	const char *v[4], *es;
	int64_t check_id, ack_at = st->acknowledged_at;
	int64_t now = (int64_t)time(NULL), agent_id;
	int status, known;
	enum db_outcome o;
	struct ack_args a;

	/* Pushover's clock, when it says something sensible; ours otherwise */
	if (ack_at <= 0 || ack_at > now + 86400)
		ack_at = now;
	rfc3339_format(ack_at * 1000000, at);
	snprintf(when, sizeof(when), "%lld", (long long)ack_at);
	if (db_cmd(c, "BEGIN") < 0)
		return -1;
	v[0] = id;
	v[1] = st->acknowledged_by;
	if (run(c, &q_ack_row, v, PGRES_TUPLES_OK, &q) < 0)
		goto fail;
	if (PQntuples(q) == 0 || PQgetvalue(q, 0, 2)[0] == 't') {
		PQclear(q);   /* deleted, or applied already by another poll */
		return db_cmd(c, "COMMIT") < 0 ? -1 : 0;
	}
	check_id = str_to_ll(PQgetvalue(q, 0, 0), 0, INT64_MAX, &es);
	if ((known = !PQgetisnull(q, 0, 3)))
		snprintf(who, sizeof(who), "%.*s", RECEIPT_PERSON_MAX, PQgetvalue(q, 0, 3));
	else
		key_redacted(st->acknowledged_by, who, sizeof(who));
	snprintf(detail, sizeof(detail), "from Pushover by %s%s at %s", who,
	    known ? "" : " (no person has this Pushover key)", at);
	if (check_id == 0) {
		/* an agent's page: custos has no acknowledgement of an agent */
		size_t n = strlen(detail);
		snprintf(detail + n, sizeof(detail) - n, "; an agent has no acknowledgement:"
		    " the page stops ringing, nothing else changes");
	} else {
		snprintf(cid, sizeof(cid), "%lld", (long long)check_id);
		if ((o = alert_lock_check(c, check_id, &agent_id)) != DB_OK && o != DB_NOT_FOUND)
			goto fail;
		v[0] = cid;
		if (o == DB_OK && run(c, &q_ack_state, v, PGRES_TUPLES_OK, &s) < 0)
			goto fail;
		if (o == DB_NOT_FOUND || PQntuples(s) == 0) {
			size_t n = strlen(detail);
			snprintf(detail + n, sizeof(detail) - n, "; the check was deleted");
		} else if (PQgetvalue(s, 0, 0)[0] == 't') {
			size_t n = strlen(detail);
			snprintf(detail + n, sizeof(detail) - n, "; already acknowledged by %.*s",
			    RECEIPT_PERSON_MAX, PQgetvalue(s, 0, 1));
		} else {
			memset(&a, 0, sizeof(a));
			a.check_id = check_id;
			a.comment = RECEIPT_ACK_COMMENT;
			a.sticky = 1;
			a.by = who;
			o = alert_ack_problem(c, &a, &u, &status);
			if (o == DB_CONFLICT && status <= 0) {
				size_t n = strlen(detail);
				snprintf(detail + n, sizeof(detail) - n, "; the check was %s by then:"
				    " nothing to acknowledge", status < 0 ? "PENDING" : "OK");
			} else if (o != DB_OK) {
				log_error("receipts: notification %s: acknowledging check %s: %s", id, cid,
				    PQerrorMessage(c));
				goto fail;
			}
		}
	}
	v[0] = id;
	v[1] = when;
	v[2] = who;
	v[3] = detail;
	if (run(c, &q_ack_done, v, PGRES_TUPLES_OK, NULL) < 0 || db_cmd(c, "COMMIT") < 0)
		goto fail;
	log_info("notification %s: emergency page acknowledged %s", id, detail);
	PQclear(q);
	PQclear(s);
	PQclear(u);
	return 0;
fail:
	rollback(c);
	PQclear(q);
	PQclear(s);
	PQclear(u);
	return -1;
}

/* Records err as the poll's outcome and gives the lease back. */
static void
record_error(PGconn *c, const char *id, const char *err)
{
	const char *v[2] = { id, err };

	run(c, &q_polled, v, PGRES_COMMAND_OK, NULL);
}

static void
record_pause(PGconn *c, int64_t until, const char *reason)
{
	char u[24];
	const char *v[2] = { u, reason };
	char at[RFC3339_LEN];

	snprintf(u, sizeof(u), "%lld", (long long)until);
	rfc3339_format(until * 1000000, at);
	if (run(c, &q_pause, v, PGRES_COMMAND_OK, NULL) == 0)
		log_warn("receipts: Pushover asked for a pause (%s): no receipt is polled until %s",
		    reason, at);
}

/*
 * Claims, polls and records one receipt. 1 when it handled one, 0 when
 * none was due, -1 when the database failed.
 */
static int
poll_one(PGconn *c, const struct srv_conf *cf)
{
	PGresult *q = NULL;
	struct receipt_status st;
	enum receipt_verdict verdict;
	char every[24], lease[24], me[24], id[24], receipt[64], err[NOTIFY_ERR_MAX];
	char note[NOTIFY_ERR_MAX + 64];
	const char *v[4];
	int my_id, judge;
	int64_t pause_until = 0;

	judge = holder_now(&my_id);
	snprintf(every, sizeof(every), "%lld", interval_s(cf));
	snprintf(lease, sizeof(lease), "%lld", cf->pushover_timeout_s + CHANNEL_LEASE_MARGIN_S);
	snprintf(me, sizeof(me), "%d", my_id);
	v[0] = every;
	v[1] = lease;
	v[2] = judge ? "true" : "false";
	v[3] = my_id ? me : NULL;
	/* one statement: claimed, leased and committed before the call */
	if (run(c, &q_claim, v, PGRES_TUPLES_OK, &q) < 0)
		return -1;
	if (PQntuples(q) == 0) {
		PQclear(q);
		return 0;
	}
	snprintf(id, sizeof(id), "%s", PQgetvalue(q, 0, 0));
	snprintf(receipt, sizeof(receipt), "%s", PQgetvalue(q, 0, 1));
	PQclear(q);
	verdict = pushover_receipt_poll(cf, receipt, &st, &pause_until, err, sizeof(err));
	switch (verdict) {
	case RECEIPT_OK:
		if (st.acknowledged)
			return apply_ack(c, id, &st) < 0 ? -1 : 1;
		if (st.expired) {
			char at[RFC3339_LEN];
			rfc3339_format(time_now_us(), at);
			snprintf(note, sizeof(note), "the emergency page expired unacknowledged"
			    " (Pushover, %s): it rings no more", at);
			v[0] = id;
			v[1] = note;
			if (run(c, &q_expired, v, PGRES_TUPLES_OK, NULL) < 0)
				return -1;
			log_info("notification %s: %s", id, note);
			return 1;
		}
		log_debug("notification %s: receipt polled: not acknowledged yet", id);
		record_error(c, id, NULL);
		return 1;
	case RECEIPT_GONE:
		snprintf(note, sizeof(note), "Pushover no longer knows the receipt (%s):"
		    " not polled again", err);
		v[0] = id;
		v[1] = note;
		if (run(c, &q_expired, v, PGRES_TUPLES_OK, NULL) < 0)
			return -1;
		log_warn("notification %s: %s", id, note);
		return 1;
	case RECEIPT_PAUSE:
		record_pause(c, pause_until, err);
		record_error(c, id, err);
		return 1;
	case RECEIPT_ERROR:
	default:
		log_warn("notification %s: polling its receipt: %s (nothing changed; polled again"
		    " in %s s)", id, err, every);
		record_error(c, id, err);
		return 1;
	}
}

static void
receipt_tick(struct ticker *t)
{
	const struct srv_conf *cf;
	PGconn *c;
	int i, r = 1;

	t->next_ms = test_interval_s > 0 && test_interval_s < 5 ? RECEIPT_TICK_MIN_MS : 0;
	if ((c = db_conn()) == NULL)
		return;
	for (i = 0; r == 1 && i < RECEIPT_MAX_PER_TICK && !ticker_stopping(t); i++) {
		/* one snapshot per poll, as per send: a SIGHUP applies to the next */
		cf = conf_hold();
		r = cf->pushover_token && *cf->pushover_token ? poll_one(c, cf) : 0;
		conf_drop(cf);
	}
}

static struct ticker receipts = { .name = "receipts", .tick = receipt_tick,
	.period_ms = RECEIPT_TICK_MS };

int
receipt_start(void)
{
	const char *v = getenv(RECEIPT_TEST_ENV), *es;
	long long s;

	test_interval_s = 0;
	if (v != NULL && *v != '\0') {
		s = str_to_ll(v, 1, 86400, &es);
		if (es != NULL)
			log_error("%s: %s: ignored (pushover_receipt_poll_s applies)", RECEIPT_TEST_ENV, es);
		else {
			test_interval_s = s;
			log_warn("%s: receipts are polled every %lld s (a test knob, never for"
			    " production: Pushover asks for 5 s at least)", RECEIPT_TEST_ENV, s);
		}
	}
	return ticker_start(&receipts);
}

void
receipt_stop(void)
{
	ticker_stop(&receipts);
}
