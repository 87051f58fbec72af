/*
 * holder.c - see holder.h. One ticker thread with a connection of its own:
 *
 *   register  once: a row in serverd_instances (host, pid) gives the id;
 *             rows of dead instances that no lease names any more go.
 *   hold      every HOLDER_TICK_MS: serverd_hold(id) keeps the lock - or
 *             takes it again on a new session (a reconnect after the server
 *             restarted, failed over or dropped us), which restarts the
 *             grace. The server drops the session (and with it the lock)
 *             when the process dies: at once on kill -9 or a crash (the
 *             kernel closes the socket), within about 11 s when the host
 *             dies or the network drops (TCP keepalives set below).
 *   watch     once the grace has passed: is a lease of a holder whose lock
 *             is gone waiting (a send, or an emergency page's cancel)? Then
 *             wake the senders, which take it over.
 *
 * If the lock of our id is held by another session (nobody else should use
 * it), a new id is registered. The state the senders read (id, since when
 * held) is under mu.
 */
#include "config.h"
#include "holder.h"
#include "db.h"
#include "log.h"
#include "serverd.h"
#include "strnum.h"
#include "ticker.h"
#include "timeutil.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/*
 * The server's side of our TCP connection probes a silent peer after 5 s
 * and gives up after 3 unanswered probes 2 s apart: a dead host or a cut
 * network frees the lock in about 11 s instead of the kernel's two hours.
 * (Ignored on a Unix socket, where a dead process closes it at once.)
 */
#define HOLDER_KEEPALIVES \
	"SET tcp_keepalives_idle = 5; SET tcp_keepalives_interval = 2;" \
	" SET tcp_keepalives_count = 3"

static const struct db_stmt q_register = { "holder_register",
	"WITH gone AS (DELETE FROM serverd_instances i"
	"  WHERE i.id NOT IN (SELECT serverd_live())"
	"   AND NOT EXISTS (SELECT 1 FROM notifications n"
	"                   WHERE n.status = 'sending' AND n.holder = i.id)"
	"   AND NOT EXISTS (SELECT 1 FROM notifications n WHERE n.receipt IS NOT NULL"
	"                   AND n.receipt_cancelled_at IS NULL AND n.receipt_holder = i.id))"
	" INSERT INTO serverd_instances (host, pid) VALUES ($1, $2::int) RETURNING id", 2 };

/*
 * Our row again, after a new session took the lock: an instance starting
 * while PostgreSQL was coming back may have removed it as dead.
 */
static const struct db_stmt q_reinstate = { "holder_reinstate",
	"INSERT INTO serverd_instances (id, host, pid) VALUES ($1::int, $2, $3::int)"
	" ON CONFLICT (id) DO NOTHING", 3 };

/*
 * The lock, and ($2: the grace has passed) whether a lease of a dead holder
 * waits - a send's, or an emergency page's cancel (receipt_holder, 020):
 * one round trip a tick. The lease index (status 'sending') and the
 * receipt index (pages not yet cancelled) keep the second part to the few
 * rows in flight; a paused channel's rows wait for its pause to end and
 * need no wake meanwhile (a cancel is not paused).
 */
static const struct db_stmt q_hold = { "holder_hold",
	"SELECT serverd_hold($1::int),"
	" CASE WHEN $2::boolean THEN EXISTS (SELECT 1 FROM notifications n"
	"   WHERE n.status = 'sending' AND n.lease_until > now() AND n.holder IS NOT NULL"
	"    AND n.holder <> $1::int AND n.holder NOT IN (SELECT serverd_live())"
	"    AND NOT EXISTS (SELECT 1 FROM channel_pauses p"
	"                    WHERE p.channel = n.channel AND p.until > now()))"
	"  OR EXISTS (SELECT 1 FROM notifications n"
	"   WHERE n.receipt IS NOT NULL AND n.receipt_cancelled_at IS NULL"
	"    AND n.receipt_lease_until > now() AND n.receipt_holder IS NOT NULL"
	"    AND n.receipt_holder <> $1::int AND n.receipt_holder NOT IN (SELECT serverd_live()))"
	"  ELSE false END", 2 };

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static int my_id;                /* registered id, 0 before; guarded by mu */
static int64_t held_since_ms;    /* monotonic; 0: the lock is not held now; guarded by mu */
static void (*wake_fn)(void);

static void
set_state(int id, int64_t since)
{
	pthread_mutex_lock(&mu);
	my_id = id;
	held_since_ms = since;
	pthread_mutex_unlock(&mu);
}

/* 1 when a lock held since since (monotonic ms; 0: not held) is past the grace. */
static int
past_grace(int64_t since)
{
	return since && mono_now_ms() - since >= (int64_t)CONF_VALUE(takeover_grace_s) * 1000;
}

int
holder_now(int *id)
{
	int64_t since;

	pthread_mutex_lock(&mu);
	*id = held_since_ms ? my_id : 0;
	since = held_since_ms;
	pthread_mutex_unlock(&mu);
	return past_grace(since);
}

static void
who_am_i(char *host, size_t hostlen, char *pid, size_t pidlen)
{
	if (gethostname(host, hostlen) != 0)
		snprintf(host, hostlen, "unknown");
	host[hostlen - 1] = '\0';
	snprintf(pid, pidlen, "%ld", (long)getpid());
}

/* Registers this process; its id, or 0 when the database said no. */
static int
register_instance(PGconn *c)
{
	char host[256], pid[24];
	const char *v[2] = { host, pid };
	PGresult *r;
	const char *es;
	long long id = 0;

	who_am_i(host, sizeof(host), pid, sizeof(pid));
	r = db_exec(c, &q_register, v);
	if (db_ok(r, PGRES_TUPLES_OK) && PQntuples(r) == 1)
		id = str_to_ll(PQgetvalue(r, 0, 0), 1, INT32_MAX, &es);
	else {
		log_error("holder: cannot register this instance: %s", PQerrorMessage(c));
		db_outcome(c, r);
		es = "failed";
	}
	PQclear(r);
	if (es)
		return 0;
	log_info("holder: this serverd is instance %lld (host %s, pid %s)", id, host, pid);
	return (int)id;
}

static void
holder_tick(struct ticker *t)
{
	PGconn *c = db_conn();
	PGresult *r;
	char idt[24];
	const char *v[2];
	int id, judge, dead = 0, first = 0;
	int64_t since;

	(void)t;
	pthread_mutex_lock(&mu);
	id = my_id;
	since = held_since_ms;
	pthread_mutex_unlock(&mu);
	if (c == NULL) {
		if (since)
			log_warn("holder: no database connection: instance %d's lock is lost;"
			    " leases taken meanwhile name no holder", id);
		set_state(id, 0);
		return;
	}
	if (id == 0) {
		if ((id = register_instance(c)) == 0) {
			set_state(0, 0);
			return;
		}
		first = 1;
	}
	judge = past_grace(since);
	snprintf(idt, sizeof(idt), "%d", id);
	v[0] = idt;
	v[1] = judge ? "true" : "false";
	r = db_exec(c, &q_hold, v);
	if (!db_ok(r, PGRES_TUPLES_OK) || PQntuples(r) != 1) {
		log_error("holder: checking instance %d's lock: %s", id, PQerrorMessage(c));
		db_outcome(c, r);   /* a broken connection is replaced at the next tick */
		PQclear(r);
		set_state(id, 0);
		return;
	}
	switch (PQgetvalue(r, 0, 0)[0]) {
	case '1':   /* held on this session since the last tick */
		if (since == 0)
			since = mono_now_ms();
		dead = PQgetvalue(r, 0, 1)[0] == 't';
		break;
	case '2':   /* a new session: taken now; the grace starts again */
		if (db_cmd(c, HOLDER_KEEPALIVES) < 0)
			log_warn("holder: cannot set TCP keepalives: %s", PQerrorMessage(c));
		if (!first) {   /* not just registered: our row may be gone */
			char host[256], pid[24];
			const char *w[3] = { idt, host, pid };
			PGresult *q;
			who_am_i(host, sizeof(host), pid, sizeof(pid));
			q = db_exec(c, &q_reinstate, w);
			if (!db_ok(q, PGRES_COMMAND_OK))
				log_warn("holder: instance %d: %s", id, PQerrorMessage(c));
			PQclear(q);
		}
		log_info("holder: instance %d holds its lock%s", id, since ? " again" : "");
		since = mono_now_ms();
		break;
	default:    /* another session holds our id: take a new one */
		log_error("holder: instance %d's lock is held by another session;"
		    " registering anew", id);
		id = 0;
		since = 0;
		break;
	}
	PQclear(r);
	set_state(id, since);
	if (dead && wake_fn)
		wake_fn();
}

static struct ticker holder = { .name = "holder", .tick = holder_tick,
	.period_ms = HOLDER_TICK_MS };

int
holder_start(void (*wake)(void))
{
	wake_fn = wake;
	set_state(0, 0);
	return ticker_start(&holder);
}

void
holder_stop(void)
{
	ticker_stop(&holder);
	set_state(0, 0);
}
