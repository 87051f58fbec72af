/*
 * listen.c - see listen.h.
 *
 * The thread owns its connection (db_conn(): this thread's own) and waits
 * on two descriptors: the connection's socket and an eventfd that
 * listen_stop() writes, so a stop never waits out a round or a retry (a
 * ping in flight is the exception: it ends within database_timeout_s).
 * Everything the hooks touch is theirs to guard; this file's only shared
 * state is the stop flag, and the subscriber list, which is written
 * before the thread starts and read-only while it runs.
 */
#include "config.h"
#include "listen.h"
#include "db.h"
#include "log.h"
#include "serverd.h"
#include "timeutil.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

static const struct listen_sub *subs[LISTEN_MAX_SUBS];
static int nsubs;
static pthread_t tid;
static int started;
static atomic_int stopping;
static int stop_fd = -1;   /* eventfd: readable once listen_stop() was called */

static int
is_stopping(void)
{
	return atomic_load(&stopping);
}

/* Sleeps until fd (-1: none) is readable, ms pass, or the thread is stopped. */
static void
wait_fd(int fd, int ms)
{
	struct pollfd p[2] = { { stop_fd, POLLIN, 0 }, { fd, POLLIN, 0 } };

	if (poll(p, fd >= 0 ? 2 : 1, ms) < 0 && errno != EINTR)
		log_error("listen: poll: %s", strerror(errno));
}

/* LISTENs on every channel subscribed to (each once); 0 or -1. */
static int
listen_all(PGconn *c)
{
	char sql[96];
	int i, j;

	for (i = 0; i < nsubs; i++) {
		for (j = 0; j < i; j++)
			if (strcmp(subs[j]->channel, subs[i]->channel) == 0)
				break;
		if (j < i)
			continue;   /* an earlier subscriber of the same channel */
		snprintf(sql, sizeof(sql), "LISTEN %s", subs[i]->channel);
		if (db_cmd(c, sql) < 0)
			return -1;
	}
	return 0;
}

/*
 * Hands every notification libpq holds to the subscribers of its channel;
 * how many there were.
 */
static int
dispatch(PGconn *c)
{
	PGnotify *nt;
	int i, n = 0;

	while ((nt = PQnotifies(c)) != NULL) {
		for (i = 0; i < nsubs; i++)
			if (strcmp(subs[i]->channel, nt->relname) == 0)
				subs[i]->notify(nt->extra);
		PQfreemem(nt);
		n++;
	}
	return n;
}

/*
 * How long the connection may stay quiet before a ping asks whether the
 * server still answers: half of database_timeout_s (read each round: a
 * SIGHUP changes it), at most LISTEN_PING_MAX_MS; 0 when that is 0 (a ping
 * nothing would give up could hold the thread, and listen_stop(), for
 * ever: the connection is then left to TCP keepalives).
 */
static int64_t
ping_after_ms(void)
{
	long long t = CONF_VALUE(database_timeout_s);

	if (t <= 0)
		return 0;
	return t * 1000 / 2 < LISTEN_PING_MAX_MS ? t * 1000 / 2 : LISTEN_PING_MAX_MS;
}

/*
 * A cheap statement on a quiet connection, under the answer deadline
 * (db_query(), db.h): a server that went silent fails it within
 * database_timeout_s. Notifications that arrive meanwhile are kept by
 * libpq for dispatch(). 0, or -1 when the connection is to be dropped.
 */
static int
ping(PGconn *c)
{
	PGresult *r = db_query(c, "SELECT 1");
	int ok = db_ok(r, PGRES_TUPLES_OK);

	if (!ok)
		log_warn("listen: the database did not answer a ping (%s)",
		    PQresultErrorMessage(r));
	PQclear(r);
	return ok ? 0 : -1;
}

static void
all_down(void)
{
	int i;

	for (i = 0; i < nsubs; i++)
		subs[i]->down();
}

static void *
listen_main(void *arg)
{
	PGconn *c = NULL;
	int64_t heard = 0;   /* monotonic ms: the server last proved it answers */
	int64_t quiet;
	int i, lost;

	(void)arg;
	while (!is_stopping()) {
		if (c == NULL) {
			if ((c = db_conn()) == NULL || listen_all(c) < 0) {
				db_close();
				c = NULL;
				wait_fd(-1, LISTEN_RETRY_MS);
				continue;
			}
			log_debug("listen: listening on %d channel(s)", nsubs);
			/* from here on nothing is missed: what was, is caught up */
			for (i = 0; i < nsubs; i++)
				subs[i]->up(c);
			/* the catch-up's queries may have read notifications already */
			dispatch(c);
			heard = mono_now_ms();
		}
		wait_fd(PQsocket(c), LISTEN_ROUND_MS);
		lost = !PQconsumeInput(c) || PQstatus(c) != CONNECTION_OK;
		/* quiet for long: does the server still answer? (listen.h) */
		quiet = ping_after_ms();
		if (!lost && quiet > 0 && mono_now_ms() - heard >= quiet) {
			lost = ping(c) < 0;
			heard = mono_now_ms();
		}
		if (lost) {
			log_warn("listen: lost the database connection (%s); reconnecting",
			    PQerrorMessage(c));
			all_down();
			db_close();
			c = NULL;
			continue;
		}
		if (dispatch(c) > 0)
			heard = mono_now_ms();
		for (i = 0; i < nsubs; i++)
			if (subs[i]->tick)
				subs[i]->tick(c);
		dispatch(c);
	}
	if (c != NULL)
		all_down();
	db_close();
	return NULL;
}

int
listen_subscribe(const struct listen_sub *s)
{
	size_t i;

	if (started || nsubs == LISTEN_MAX_SUBS) {
		log_error("listen: cannot subscribe to %s (%s)", s->channel,
		    started ? "the thread runs already" : "too many subscribers");
		return -1;
	}
	/* the name goes into the LISTEN statement as it is */
	for (i = 0; s->channel[i]; i++)
		if (!(s->channel[i] == '_' || (s->channel[i] >= 'a' && s->channel[i] <= 'z')))
			break;
	if (i == 0 || s->channel[i] != '\0' || i > 63) {
		log_error("listen: \"%s\" is not a channel name", s->channel);
		return -1;
	}
	subs[nsubs++] = s;
	return 0;
}

int
listen_start(void)
{
	int e;

	if ((stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0) {
		log_error("listen: eventfd: %s", strerror(errno));
		return -1;
	}
	atomic_store(&stopping, 0);
	if ((e = pthread_create(&tid, NULL, listen_main, NULL)) != 0) {
		log_error("listen: cannot start the LISTEN thread: %s", strerror(e));
		close(stop_fd);
		stop_fd = -1;
		return -1;
	}
	started = 1;
	return 0;
}

void
listen_stop(void)
{
	uint64_t one = 1;

	if (started) {
		atomic_store(&stopping, 1);
		if (write(stop_fd, &one, sizeof(one)) < 0)
			log_warn("listen: waking the thread: %s", strerror(errno));
		pthread_join(tid, NULL);
		started = 0;
	}
	if (stop_fd >= 0)
		close(stop_fd);
	stop_fd = -1;
	nsubs = 0;
}
