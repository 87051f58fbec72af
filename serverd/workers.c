/*
 * workers.c - serverd's background threads: the outbox (a LISTEN thread
 * and the notification senders, outbox.c), the periodic jobs (jobs.c) and
 * the heartbeat watcher (alert/hbeat.c).
 * libcurl's and libesmtp's global state is set up here, before any of
 * them runs, and torn down after all have ended.
 */
#include "config.h"
#include "workers.h"
#include "hbeat.h"
#include "history.h"
#include "jobs.h"
#include "log.h"
#include "notify.h"
#include "outbox.h"

static int notify_ready, outbox_running, jobs_running, history_running, hbeat_running;

int
workers_start(void)
{
	if (notify_global_init() < 0) {
		log_error("workers: cannot initialise libcurl");
		return -1;
	}
	notify_ready = 1;
	outbox_running = 1;   /* outbox_stop() copes with a partial start */
	if (outbox_start() < 0) {
		log_error("workers: cannot start the notification senders");
		workers_stop();
		return -1;
	}
	jobs_running = 1;
	if (jobs_start() < 0) {
		log_error("workers: cannot start the jobs thread");
		workers_stop();
		return -1;
	}
	history_running = 1;
	if (history_start() < 0) {
		log_error("workers: cannot start the history thread");
		workers_stop();
		return -1;
	}
	hbeat_running = 1;
	if (hbeat_watch_start() < 0) {
		log_error("workers: cannot start the heartbeat watcher");
		workers_stop();
		return -1;
	}
	return 0;
}

void
workers_stop(void)
{
	if (hbeat_running)
		hbeat_watch_stop();
	hbeat_running = 0;
	if (history_running)
		history_stop();
	history_running = 0;
	if (jobs_running)
		jobs_stop();
	jobs_running = 0;
	if (outbox_running)
		outbox_stop();
	outbox_running = 0;
	if (notify_ready)
		notify_global_cleanup();
	notify_ready = 0;
}
