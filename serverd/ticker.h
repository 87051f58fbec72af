/*
 * ticker.h - a background thread that does one thing every period: the
 * periodic jobs (alert/jobs.c) and the history thread (store/history.c).
 *
 * ticker_stop() wakes the thread's wait at once and joins it; a tick
 * already under way finishes first, so a long one polls ticker_stopping()
 * between its steps. The thread closes its own database connection
 * (db_close()) before it ends.
 */
#ifndef CUSTOS_TICKER_H
#define CUSTOS_TICKER_H

#include <pthread.h>

struct ticker {
	const char *name;               /* for the log */
	void (*tick)(struct ticker *t);
	long period_ms;                 /* from the end of one tick to the next */
	long next_ms;                   /* set by a tick: wait this long instead,
	                                 * once (0: period_ms) */
	/* the rest is the ticker's own */
	pthread_t tid;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	_Atomic int stopping;           /* read by ticks without mu */
	int woken;                      /* ticker_wake() was called (under mu) */
	_Atomic int started;            /* read by ticker_wake() in any thread */
};

/* Starts the thread (name, tick and period_ms set); 0 or -1. */
int ticker_start(struct ticker *t);
/* Stops and joins it; nothing when it was not started. */
void ticker_stop(struct ticker *t);
/* Ends the current wait now: the next tick runs at once (a tick under way
 * is followed by another without waiting). Nothing when not started. */
void ticker_wake(struct ticker *t);
/* 1 once ticker_stop() was called: a long tick should return. */
int ticker_stopping(struct ticker *t);

#endif
