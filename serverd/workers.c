/*
 * workers.c - see workers.h. The order of the table is the order of the
 * rules between the parts, each written beside its row; stopping is the
 * same table read backwards.
 */
#include "config.h"
#include "workers.h"
#include "authcache.h"
#include "channel.h"
#include "dbwatch.h"
#include "edge.h"
#include "hbeat.h"
#include "history.h"
#include "http.h"
#include "jobs.h"
#include "listen.h"
#include "log.h"
#include "notify.h"
#include "outbox.h"
#include "serverd.h"
#include "stream.h"

#include <stddef.h>

static const struct srv_conf *cf;   /* workers_start()'s: lives until exit */

/* The parts whose start needs the configuration or says why it failed. */
static int
socket_open(void)
{
	char err[512];

	/* every channel's senders (outbox.c starts sender_threads each) */
	if (http_open(cf, (unsigned)(cf->sender_threads * (long long)channel_count()), err,
	    sizeof(err)) < 0) {
		log_error("%s", err);
		return -1;
	}
	return 0;
}

static int
notify_libs_init(void)
{
	if (notify_global_init() < 0) {
		log_error("workers: cannot initialise libcurl");
		return -1;
	}
	return 0;
}

/* outbox_start() may fail half-way; outbox_stop() joins what it started */
static int
senders_start(void)
{
	if (outbox_start() < 0) {
		outbox_stop();
		return -1;
	}
	return 0;
}

static int
edge_open(void)
{
	char err[512];

	if (edge_start((unsigned)cf->max_connections, cf->tls_cert != NULL, err, sizeof(err)) < 0) {
		log_error("%s", err);
		return -1;
	}
	return 0;
}

static int
http_serve(void)
{
	char err[512];

	if (http_start(err, sizeof(err)) < 0) {
		log_error("%s", err);
		return -1;
	}
	return 0;
}

/*
 * Everything serverd runs, in start order. A start that fails leaves
 * nothing of its own running; stop may be NULL (nothing to undo).
 */
static const struct part {
	const char *name;     /* for the log */
	int (*start)(void);
	void (*stop)(void);
} parts[] = {
	/* first, before any thread: an address in use refuses the start
	 * before a sender could claim a row */
	{ "the listening socket", socket_open, http_close },
	/* the answer deadline (dbwatch.h), before any part that queries: it
	 * starts after the migrations (main.c), which may rightly take long */
	{ "the database watch", db_watch_start, db_watch_stop },
	/* libcurl's and libesmtp's global state, before any sender runs and
	 * after all have ended */
	{ "libcurl and libesmtp", notify_libs_init, notify_global_cleanup },
	/* the holder and the senders; subscribes to custos_outbox */
	{ "the notification senders", senders_start, outbox_stop },
	{ "the jobs", jobs_start, jobs_stop },
	{ "the history thread", history_start, history_stop },
	{ "the heartbeat watcher", hbeat_watch_start, hbeat_watch_stop },
	/* subscribes to custos_auth: the cache is on whatever else runs */
	{ "the token cache", authcache_start, NULL },
	/* the stream's thread; subscribes to custos_stream */
	{ "the live stream", stream_start, stream_stop },
	/* after every subscriber (the list is fixed once it runs), before
	 * the requests whose token cache and stream it feeds; stopped
	 * before the parts whose hooks it calls */
	{ "the LISTEN thread", listen_start, listen_stop },
	/* the request deadline's watcher: libmicrohttpd reports every
	 * connection to it (edge_notify), so it is there before the first */
	{ "the connection watcher", edge_open, edge_stop },
	/* last: every part a request may call into runs, and the first to
	 * stop (its stop ends the open streams and waits for requests in
	 * flight) */
	{ "the HTTP daemon", http_serve, http_stop },
};
#define NPARTS (sizeof(parts) / sizeof(parts[0]))

static size_t nstarted;   /* parts[0 .. nstarted) are running */

int
workers_start(const struct srv_conf *start_conf)
{
	cf = start_conf;
	for (nstarted = 0; nstarted < NPARTS; nstarted++)
		if (parts[nstarted].start() < 0) {
			log_error("cannot start %s", parts[nstarted].name);
			workers_stop();
			return -1;
		}
	return 0;
}

void
workers_stop(void)
{
	while (nstarted > 0) {
		const struct part *p = &parts[--nstarted];
		if (p->stop)
			p->stop();
	}
}
