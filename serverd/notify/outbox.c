/*
 * outbox.c - delivering the notifications outbox: one listener thread and
 * sender_threads sender threads.
 *
 * alert_record() inserts outbox rows in the transaction that changed a
 * state and calls pg_notify('custos_outbox'), which PostgreSQL delivers at
 * COMMIT. The listener holds a connection that LISTENs on that channel and
 * wakes every sender the moment a notification arrives; nothing polls for
 * fresh rows. A sender then, in one transaction:
 *
 *   1. claims the oldest due row: SELECT ... FOR UPDATE OF n SKIP LOCKED
 *      (another sender - in this process or another serverd on the same
 *      database - skips it, so no row is ever sent twice at once);
 *   2. sends it (email, Pushover or webhook) while holding the row lock;
 *   3. records the attempt (notification_attempts) and sets the row to
 *      sent, to failed (permanent error), or back to pending with an
 *      exponential backoff next_attempt_at (1 s, 2 s, 4 s ... 10 min);
 *   4. COMMITs.
 * A crash (or kill -9) before step 4 rolls the claim back and the row is
 * sent again after a restart, by whichever instance gets it first: a
 * notification is never lost. It can be sent twice only when the process
 * dies between the relay's acceptance and the COMMIT, a window of one
 * round trip; the stable Message-ID / Idempotency-Key lets receivers drop
 * that rare resend.
 *
 * A SIGHUP makes every waiting row due at once (the admin may just have
 * fixed the relay's address or password).
 *
 * Between wake-ups a sender sleeps until the earliest future retry, at
 * most OUTBOX_SAFETY_MS: the cap only matters when a row was held by a
 * serverd that died (its lock goes with its connection, without a NOTIFY).
 * A transient failure is retried for OUTBOX_GIVE_UP_H hours, then failed.
 */
#include "config.h"
#include "outbox.h"
#include "authcache.h"
#include "db.h"
#include "log.h"
#include "metrics.h"
#include "notify.h"
#include "serverd.h"
#include "strnum.h"
#include "timeutil.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define OUTBOX_MAX_SENDERS 64
#define OUTBOX_SAFETY_MS 15000       /* longest sleep without a NOTIFY */
#define OUTBOX_BACKOFF_MAX_S 600     /* retry at least every 10 minutes */
#define OUTBOX_GIVE_UP_H 24          /* transient failures: give up after a day */
#define LISTEN_POLL_MS 250           /* how often the listener looks at the stop flag */

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv;
static unsigned long wake_gen;       /* bumped on every NOTIFY; guarded by mu */
static int stopping;                 /* guarded by mu */
static pthread_t listener_tid, sender_tid[OUTBOX_MAX_SENDERS];
static int nsenders, listener_started;

static const struct db_stmt q_claim = { "outbox_claim",
	"SELECT n.id, n.channel, n.attempts, n.created_at < now() - make_interval(hours => $1::int),"
	"  e.id, e.kind, COALESCE(e.status, -1), COALESCE(e.prev_status, -1),"
	"  COALESCE(e.state_type, ''), COALESCE(e.attempt, 0), e.value, COALESCE(e.output, ''),"
	"  rfc3339(e.created_at), extract(epoch FROM e.created_at)::bigint,"
	"  COALESCE(e.check_id, 0), COALESCE(e.agent_id, 0), COALESCE(e.detail::text, ''),"
	"  n.contact_id IS NOT NULL, COALESCE(ct.name, ''), COALESCE(ct.email, ''),"
	"  COALESCE(ct.pushover_user, ''), COALESCE(ct.pushover_device, ''),"
	"  COALESCE(ct.pushover_emergency, false), COALESCE(ct.webhook_url, ''),"
	"  COALESCE(a.name, 'agent ' || e.agent_id), COALESCE(c.name, 'check ' || e.check_id),"
	"  COALESCE(c.type, ''), COALESCE(c.warning, ''), COALESCE(c.critical, ''),"
	"  COALESCE(c.max_attempts, 0), COALESCE(rfc3339(s.since), '')"
	" FROM notifications n JOIN events e ON e.id = n.event_id"
	" LEFT JOIN contacts ct ON ct.id = n.contact_id"
	" LEFT JOIN agents a ON a.id = e.agent_id"
	" LEFT JOIN checks c ON c.id = e.check_id"
	" LEFT JOIN check_state s ON s.check_id = e.check_id"
	" WHERE n.status = 'pending' AND n.next_attempt_at <= now()"
	" ORDER BY n.next_attempt_at, n.id LIMIT 1"
	" FOR UPDATE OF n SKIP LOCKED", 1 };

static const struct db_stmt q_result = { "outbox_result",
	"WITH a AS (INSERT INTO notification_attempts (notification_id, ok, error)"
	"  VALUES ($1, $2 = 'sent', $3))"
	" UPDATE notifications SET attempts = attempts + 1, status = $2, last_error = $3,"
	"  sent_at = CASE WHEN $2 = 'sent' THEN now() END,"
	"  next_attempt_at = CASE WHEN $2 = 'pending'"
	"    THEN now() + make_interval(secs => $4::int) ELSE next_attempt_at END"
	" WHERE id = $1", 4 };

static const struct db_stmt q_next_due = { "outbox_next_due",
	"SELECT COALESCE(ceil(extract(epoch FROM min(next_attempt_at) - now()) * 1000), -1)::bigint"
	" FROM notifications WHERE status = 'pending' AND next_attempt_at > now()", 0 };

/* ---- waking ------------------------------------------------------------- */

static void
wake_all(void)
{
	pthread_mutex_lock(&mu);
	wake_gen++;
	pthread_cond_broadcast(&cv);
	pthread_mutex_unlock(&mu);
}

static int
is_stopping(void)
{
	int s;

	pthread_mutex_lock(&mu);
	s = stopping;
	pthread_mutex_unlock(&mu);
	return s;
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

/* ---- the listener --------------------------------------------------------- */

/*
 * After a SIGHUP (a new configuration snapshot is installed) the settings of a channel may have
 * been fixed - a relay, a password, a token: retry what waits at once
 * rather than at its backed-off time.
 */
static void
retry_now_after_reload(PGconn *c)
{
	PGresult *q = PQexec(c, "UPDATE notifications SET next_attempt_at = now()"
	    " WHERE status = 'pending' AND next_attempt_at > now()");

	if (db_ok(q, PGRES_COMMAND_OK) && strcmp(PQcmdTuples(q), "0") != 0)
		log_info("outbox: configuration reloaded: retrying %s pending notification(s) now",
		    PQcmdTuples(q));
	PQclear(q);
	wake_all();
}

static void *
listener_main(void *arg)
{
	PGconn *c = NULL;
	unsigned long seen = conf_generation();

	(void)arg;
	while (!is_stopping()) {
		PGnotify *nt;
		struct pollfd pfd;
		int got = 0;

		if (c != NULL && conf_generation() != seen) {
			seen = conf_generation();
			retry_now_after_reload(c);
		}

		if (c == NULL) {
			if ((c = db_conn()) == NULL || db_cmd(c, "LISTEN custos_outbox") < 0 ||
			    db_cmd(c, "LISTEN custos_auth") < 0) {
				db_close();
				c = NULL;
				wait_for(0, 1000, 0);   /* retry in a second (or at stop) */
				continue;
			}
			log_debug("outbox: listening on custos_outbox and custos_auth");
			authcache_enable(1);   /* invalidations reach us from now on */
			wake_all();   /* whatever was queued while we were not listening */
		}
		pfd.fd = PQsocket(c);
		pfd.events = POLLIN;
		pfd.revents = 0;
		if (poll(&pfd, 1, LISTEN_POLL_MS) < 0 && errno != EINTR) {
			log_error("outbox: poll: %s", strerror(errno));
			continue;
		}
		if (!PQconsumeInput(c) || PQstatus(c) != CONNECTION_OK) {
			log_warn("outbox: listener connection lost: %s", PQerrorMessage(c));
			authcache_enable(0);   /* invalidations could be missed */
			db_close();
			c = NULL;
			continue;
		}
		while ((nt = PQnotifies(c)) != NULL) {
			if (strcmp(nt->relname, "custos_auth") == 0)
				authcache_invalidate();
			else
				got = 1;
			PQfreemem(nt);
		}
		if (got)
			wake_all();
	}
	authcache_enable(0);
	db_close();
	return NULL;
}

/* ---- a sender ------------------------------------------------------------- */

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

/*
 * Claims and delivers one due row. Returns 1 when it handled one, 0 when
 * none was due (*next_ms: the wait until the earliest retry, or -1), -1
 * when the database is unavailable.
 */
static int
send_one(long long *next_ms)
{
	PGconn *c = db_conn();
	PGresult *q = NULL;
	struct notice n = { 0 };
	char err[NOTIFY_ERR_MAX] = "", secs[24], id[24], hours[24];
	const char *channel, *status, *v[4];
	char chan[16];
	enum send_verdict verdict;
	int attempts, rc = -1, in_tx = 0, gone = 0;
	int64_t t0;

	*next_ms = -1;
	if (c == NULL)
		return -1;
	if (db_cmd(c, "BEGIN") < 0)
		goto done;
	in_tx = 1;
	snprintf(hours, sizeof(hours), "%d", OUTBOX_GIVE_UP_H);
	v[0] = hours;
	q = db_exec(c, &q_claim, v);
	if (!db_ok(q, PGRES_TUPLES_OK)) {
		gone = db_fail_status(c, q) == 503;   /* 503: c was closed */
		goto done;
	}
	if (PQntuples(q) == 0) {
		PQclear(q);
		q = db_exec(c, &q_next_due, NULL);
		if (db_ok(q, PGRES_TUPLES_OK) && PQntuples(q) == 1)
			*next_ms = col_i64(q, 0);
		rc = 0;
		goto done;
	}
	fill_notice(q, &n);
	n.conf = conf_hold();   /* held for this one send; dropped at done: */
	channel = PQgetvalue(q, 0, 1);
	attempts = col_int(q, 2);
	t0 = mono_now_us();
	if (PQgetvalue(q, 0, 17)[0] != 't') {
		snprintf(err, sizeof(err), "the contact was deleted");
		verdict = SEND_FAIL;
	} else if (strcmp(channel, "email") == 0) {
		verdict = notify_email(&n, err, sizeof(err));
	} else if (strcmp(channel, "pushover") == 0) {
		verdict = notify_pushover(&n, err, sizeof(err));
	} else if (strcmp(channel, "webhook") == 0) {
		verdict = notify_webhook(&n, err, sizeof(err));
	} else {
		snprintf(err, sizeof(err), "unknown channel \"%s\"", channel);
		verdict = SEND_FAIL;
	}
	if (verdict == SEND_RETRY && PQgetvalue(q, 0, 3)[0] == 't') {
		size_t l = strlen(err);
		snprintf(err + l, sizeof(err) - l, " (giving up after %d hours)", OUTBOX_GIVE_UP_H);
		verdict = SEND_FAIL;
	}
	status = verdict == SEND_OK ? "sent" : verdict == SEND_FAIL ? "failed" : "pending";
	{
		int shift = attempts < 10 ? attempts : 10;
		long long delay = 1LL << shift;
		if (delay > OUTBOX_BACKOFF_MAX_S)
			delay = OUTBOX_BACKOFF_MAX_S;
		snprintf(secs, sizeof(secs), "%lld", delay);
	}
	if (verdict == SEND_OK)
		log_info("notification %lld: %s %s to %s sent in %lld ms", (long long)n.id,
		    n.kind, channel, n.contact, (long long)((mono_now_us() - t0) / 1000));
	else
		log_warn("notification %lld: %s %s to %s %s: %s%s%s", (long long)n.id, n.kind,
		    channel, n.contact, verdict == SEND_FAIL ? "failed" : "not sent", err,
		    verdict == SEND_RETRY ? "; retry in " : "", verdict == SEND_RETRY ? secs : "");
	snprintf(id, sizeof(id), "%lld", (long long)n.id);
	v[0] = id;
	v[1] = status;
	v[2] = verdict == SEND_OK ? NULL : err;
	v[3] = secs;
	{
		PGresult *u = db_exec(c, &q_result, v);
		int ok = db_ok(u, PGRES_COMMAND_OK);
		if (!ok)
			gone = db_fail_status(c, u) == 503;
		PQclear(u);
		if (!ok)
			goto done;
	}
	snprintf(chan, sizeof(chan), "%s", channel);   /* for metrics, past PQclear */
	PQclear(q);
	q = PQexec(c, "COMMIT");
	in_tx = 0;
	if (!db_ok(q, PGRES_COMMAND_OK)) {
		log_error("outbox: COMMIT of notification %s failed (%s); it will be sent again",
		    id, PQerrorMessage(c));
		gone = db_fail_status(c, q) == 503;
		goto done;
	}
	if (verdict != SEND_RETRY)
		metrics_count_notification(chan, verdict == SEND_OK);
	rc = 1;
done:
	if (in_tx && !gone && PQstatus(c) == CONNECTION_OK)
		db_cmd(c, "ROLLBACK");
	PQclear(q);
	conf_drop(n.conf);
	return rc;
}

static void *
sender_main(void *arg)
{
	(void)arg;
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
		r = send_one(&next_ms);
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
	if (pthread_create(&listener_tid, NULL, listener_main, NULL) != 0)
		return -1;
	listener_started = 1;
	for (i = 0; i < n; i++) {
		if (pthread_create(&sender_tid[i], NULL, sender_main, NULL) != 0) {
			log_error("outbox: cannot start sender thread %d", i);
			break;
		}
		nsenders++;
	}
	return nsenders > 0 ? 0 : -1;
}

void
outbox_stop(void)
{
	int i;

	pthread_mutex_lock(&mu);
	stopping = 1;
	pthread_cond_broadcast(&cv);
	pthread_mutex_unlock(&mu);
	if (listener_started)
		pthread_join(listener_tid, NULL);
	listener_started = 0;
	for (i = 0; i < nsenders; i++)
		pthread_join(sender_tid[i], NULL);
	nsenders = 0;
	pthread_cond_destroy(&cv);
}
