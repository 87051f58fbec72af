/*
 * test_urgent.c - unit tests for serverd/urgent.c: a page being made holds
 * the next bulk batches back, released when the page is made or at
 * bulk_yield_ms, and never more than half a bulk thread's time.
 * The configuration is this file's own conf_value_ll() (the limit below);
 * the threads and the condition variable are the real ones. cmocka, TAP out.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

#include "serverd.h"
#include "timeutil.h"
#include "urgent.h"

static _Atomic long long limit_ms;

/* serverd.h: the one value urgent.c reads is bulk_yield_ms */
long long
conf_value_ll(size_t offset)
{
	assert_int_equal(offset, offsetof(struct srv_conf, bulk_yield_ms));
	return atomic_load(&limit_ms);
}

static void *
yielder(void *arg)
{
	int64_t *took = arg, t0 = mono_now_us();

	urgent_yield();
	*took = mono_now_us() - t0;
	return NULL;
}

static struct urgent_stats
stats(void)
{
	struct urgent_stats s;

	urgent_stats(&s);
	return s;
}

/* the rules: until limit after the episode began; a thread that waited w
 * runs w unheld before it may wait again */
static void
test_rules(void **state)
{
	(void)state;
	assert_int_equal(urgent_may_wait_us(1000, 1000, 0, 50), 50000);
	assert_int_equal(urgent_may_wait_us(21000, 1000, 0, 50), 30000);
	assert_int_equal(urgent_may_wait_us(51000, 1000, 0, 50), 0);
	assert_int_equal(urgent_may_wait_us(1000, 1000, 0, 0), 0);
	assert_int_equal(urgent_waited(5000, 3000), 8000);
	assert_int_equal(urgent_may_wait_us(7999, 7000, 8000, 50), 0);
	assert_int_equal(urgent_may_wait_us(8000, 7000, 8000, 50), 49000);
}

/* nothing urgent, or bulk_yield_ms 0: a batch goes at once */
static void
test_no_wait(void **state)
{
	struct urgent_stats s0 = stats();

	(void)state;
	atomic_store(&limit_ms, 10000);
	urgent_yield();
	assert_int_equal(stats().yields, s0.yields);
	atomic_store(&limit_ms, 0);
	urgent_enter();
	urgent_yield();
	urgent_leave();
	assert_int_equal(stats().yields, s0.yields);
}

/* a page being made: the batch waits, and goes when the page is made */
static void
test_wait_until_left(void **state)
{
	struct urgent_stats s0 = stats();
	pthread_t t;
	int64_t took = -1;

	(void)state;
	atomic_store(&limit_ms, 10000);
	urgent_enter();
	urgent_enter();   /* two pages: the batch waits for both */
	assert_int_equal(pthread_create(&t, NULL, yielder, &took), 0);
	while (stats().waiting == 0)
		sleep_ms(1);
	urgent_leave();
	sleep_ms(20);
	assert_int_equal(stats().waiting, 1);   /* one page still being made */
	urgent_leave();
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_int_equal(stats().waiting, 0);
	assert_int_equal(stats().yields, s0.yields + 1);
	assert_true(took >= 20000 && took < 10000000);
	assert_true(stats().waited_us - s0.waited_us >= 20000);
}

/* a page that takes longer than bulk_yield_ms: the batch goes at the limit,
 * and one that comes later in that episode does not wait at all */
static void
test_limit(void **state)
{
	struct urgent_stats s0 = stats();
	pthread_t t;
	int64_t took = -1, t0;

	(void)state;
	atomic_store(&limit_ms, 30);
	t0 = mono_now_us();
	urgent_enter();
	assert_int_equal(pthread_create(&t, NULL, yielder, &took), 0);
	assert_int_equal(pthread_join(t, NULL), 0);   /* returns with the page still urgent */
	assert_true(mono_now_us() - t0 >= 30000);
	assert_true(stats().yields <= s0.yields + 1);
	s0 = stats();
	assert_int_equal(pthread_create(&t, NULL, yielder, &took), 0);
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_int_equal(stats().yields, s0.yields);   /* the episode is older than the limit */
	urgent_leave();
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rules),
		cmocka_unit_test(test_no_wait),
		cmocka_unit_test(test_wait_until_left),
		cmocka_unit_test(test_limit),
	};

	cmocka_set_message_output(CM_OUTPUT_TAP);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
