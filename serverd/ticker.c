/*
 * ticker.c - see ticker.h. The wait is on CLOCK_MONOTONIC, so a wall-clock
 * step never makes a tick early or late.
 */
#include "config.h"
#include "ticker.h"
#include "db.h"
#include "log.h"

#include <errno.h>
#include <time.h>

static void *
ticker_main(void *arg)
{
	struct ticker *t = arg;

	for (;;) {
		struct timespec ts;
		long wait;

		t->tick(t);
		wait = t->next_ms > 0 ? t->next_ms : t->period_ms;
		t->next_ms = 0;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		ts.tv_sec += wait / 1000;
		ts.tv_nsec += (wait % 1000) * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_mutex_lock(&t->mu);
		while (!t->stopping && !t->woken)
			if (pthread_cond_timedwait(&t->cv, &t->mu, &ts) == ETIMEDOUT)
				break;
		t->woken = 0;
		if (t->stopping) {
			pthread_mutex_unlock(&t->mu);
			break;
		}
		pthread_mutex_unlock(&t->mu);
	}
	db_close();
	return NULL;
}

int
ticker_start(struct ticker *t)
{
	pthread_condattr_t ca;

	pthread_mutex_init(&t->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&t->cv, &ca);
	pthread_condattr_destroy(&ca);
	t->stopping = 0;
	t->woken = 0;
	if (pthread_create(&t->tid, NULL, ticker_main, t) != 0) {
		log_error("%s: cannot start its thread", t->name);
		pthread_cond_destroy(&t->cv);
		pthread_mutex_destroy(&t->mu);
		return -1;
	}
	t->started = 1;
	return 0;
}

void
ticker_stop(struct ticker *t)
{
	if (!t->started)
		return;
	pthread_mutex_lock(&t->mu);
	t->stopping = 1;
	pthread_cond_broadcast(&t->cv);
	pthread_mutex_unlock(&t->mu);
	pthread_join(t->tid, NULL);
	t->started = 0;
	pthread_cond_destroy(&t->cv);
	pthread_mutex_destroy(&t->mu);
}

void
ticker_wake(struct ticker *t)
{
	if (!t->started)
		return;
	pthread_mutex_lock(&t->mu);
	t->woken = 1;
	pthread_cond_signal(&t->cv);
	pthread_mutex_unlock(&t->mu);
}

int
ticker_stopping(struct ticker *t)
{
	return t->stopping;
}
