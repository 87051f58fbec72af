/*
 * urgent.c - a page goes before bulk history: see urgent.h.
 */
#include "config.h"
#include "urgent.h"
#include "serverd.h"
#include "timeutil.h"

#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

static _Atomic int urgent;              /* pages being made now */
static _Atomic int64_t since_us;        /* when urgent last went from 0 to 1 (monotonic) */
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv;               /* urgent went to 0 (CLOCK_MONOTONIC) */
static pthread_once_t cv_once = PTHREAD_ONCE_INIT;
static _Atomic long long st_waiting, st_yields, st_waited_us;
/* this bulk thread may wait again from this time on (CLOCK_MONOTONIC µs) */
static _Thread_local int64_t free_at_us;

static void
cv_init(void)
{
	pthread_condattr_t a;

	pthread_condattr_init(&a);
	pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
	pthread_cond_init(&cv, &a);
	pthread_condattr_destroy(&a);
}

void
urgent_enter(void)
{
	/* an episode: from the first page to the moment none is being made;
	 * two that overlap make one. When one ends just as another begins,
	 * either's stamp may stay: that episode's waits end a little sooner
	 * or later, never beyond bulk_yield_ms from a page's start */
	if (atomic_fetch_add(&urgent, 1) == 0)
		atomic_store(&since_us, mono_now_us());
}

void
urgent_leave(void)
{
	if (atomic_fetch_sub(&urgent, 1) == 1) {
		/* under mu: a yield that saw urgent > 0 is waiting by now, or
		 * sees 0 when it looks again */
		pthread_once(&cv_once, cv_init);
		pthread_mutex_lock(&mu);
		pthread_cond_broadcast(&cv);
		pthread_mutex_unlock(&mu);
	}
}

int64_t
urgent_may_wait_us(int64_t now_us, int64_t since, int64_t free_at, long long limit_ms)
{
	int64_t left = since + (int64_t)limit_ms * 1000 - now_us;

	if (limit_ms <= 0 || now_us < free_at || left <= 0)
		return 0;
	return left;
}

int64_t
urgent_waited(int64_t end_us, int64_t waited_us)
{
	return end_us + waited_us;
}

void
urgent_yield(void)
{
	struct timespec ts;
	int64_t start, end, may;

	if (atomic_load(&urgent) == 0)
		return;
	start = mono_now_us();
	may = urgent_may_wait_us(start, atomic_load(&since_us), free_at_us, CONF_VALUE(bulk_yield_ms));
	if (may == 0)
		return;
	pthread_once(&cv_once, cv_init);
	ts.tv_sec = (time_t)((start + may) / 1000000);
	ts.tv_nsec = (long)((start + may) % 1000000) * 1000;
	atomic_fetch_add(&st_waiting, 1);
	pthread_mutex_lock(&mu);
	while (atomic_load(&urgent) > 0)
		if (pthread_cond_timedwait(&cv, &mu, &ts) != 0)
			break;
	pthread_mutex_unlock(&mu);
	atomic_fetch_sub(&st_waiting, 1);
	end = mono_now_us();
	free_at_us = urgent_waited(end, end - start);
	atomic_fetch_add(&st_yields, 1);
	atomic_fetch_add(&st_waited_us, end - start);
}

void
urgent_stats(struct urgent_stats *out)
{
	out->waiting = atomic_load(&st_waiting);
	out->yields = atomic_load(&st_yields);
	out->waited_us = atomic_load(&st_waited_us);
}
