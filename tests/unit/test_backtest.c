/*
 * test_backtest.c - unit tests for the threshold backtest's replay
 * (serverd/alert/backtest.c): how a stored result is judged again, what
 * counts as a notification (held back while flapping, told when flapping
 * stops), and the list of HARD changes. The whole replay is checked
 * against an independent model end to end by tests/e2e/test_backtest.py.
 * cmocka, TAP out.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "backtest.h"

static struct bt_policy
policy(const char *warn, const char *crit, int max_attempts)
{
	struct bt_policy p;

	memset(&p, 0, sizeof(p));
	p.has_warn = warn && range_parse(warn, &p.warn) == 0;
	p.has_crit = crit && range_parse(crit, &p.crit) == 0;
	p.judge_values = 1;
	p.p.max_attempts = max_attempts;
	p.p.flap_low_pct = 25.0;
	p.p.flap_high_pct = 50.0;
	return p;
}

static struct stored_result
res(int64_t at, int status, int has_value, double value)
{
	struct stored_result r;

	r.observed_us = at;
	r.status = (signed char)status;
	r.has_value = (unsigned char)has_value;
	r.value = value;
	return r;
}

static void
test_judge(void **ctx)
{
	struct bt_policy p = policy("80", "90", 3);
	struct stored_result r;

	(void)ctx;
	r = res(0, 0, 1, 85);
	assert_int_equal(backtest_status(&p, &r), CHECK_WARNING);
	r = res(0, 0, 1, 95);
	assert_int_equal(backtest_status(&p, &r), CHECK_CRITICAL);
	r = res(0, 2, 1, 10);
	assert_int_equal(backtest_status(&p, &r), CHECK_OK);          /* judged again */
	r = res(0, 2, 0, 0);
	assert_int_equal(backtest_status(&p, &r), CHECK_CRITICAL);    /* no value: kept */
	r = res(0, 3, 1, 99);
	assert_int_equal(backtest_status(&p, &r), CHECK_UNKNOWN);     /* UNKNOWN: kept */
	p.judge_values = 0;
	r = res(0, 1, 1, 99);
	assert_int_equal(backtest_status(&p, &r), CHECK_WARNING);     /* a plugin's own */
	p = policy(NULL, "@10:20", 1);
	r = res(0, 0, 1, 15);
	assert_int_equal(backtest_status(&p, &r), CHECK_CRITICAL);
}

static void
test_soft_blips_and_one_problem(void **ctx)
{
	/* 2 blips of 2 results (SOFT at 3 attempts), then 4 bad, then OK */
	static const double v[] = { 1, 95, 95, 1, 95, 95, 1, 95, 95, 95, 95, 1, 1 };
	struct stored_result r[sizeof(v) / sizeof(v[0])];
	struct bt_policy p = policy("80", "90", 3);
	struct bt_outcome o;
	size_t i, n = sizeof(v) / sizeof(v[0]);

	(void)ctx;
	for (i = 0; i < n; i++)
		r[i] = res((int64_t)i * 60000000, 0, 1, v[i]);
	backtest_replay(r, n, &p, &o);
	assert_int_equal(o.hard_problems, 1);
	assert_int_equal(o.recoveries, 1);
	assert_int_equal(o.flaps, 0);
	assert_int_equal(o.notifications, 2);
	assert_int_equal(o.nchanges, 2);
	assert_int_equal(o.changes[0].at_us, 9 * 60000000LL);   /* the third bad result */
	assert_int_equal(o.changes[0].kind, EV_PROBLEM);
	assert_int_equal(o.changes[0].status, CHECK_CRITICAL);
	assert_int_equal(o.changes[1].kind, EV_RECOVERY);
	/* at max_attempts 2 the blips are problems too */
	p = policy("80", "90", 2);
	backtest_replay(r, n, &p, &o);
	assert_int_equal(o.hard_problems, 3);
	assert_int_equal(o.notifications, 6);
}

static void
test_flapping_holds_back_then_tells(void **ctx)
{
	struct stored_result r[80];
	struct bt_policy p = policy(NULL, "90", 1);
	struct bt_outcome o;
	size_t i, n = 0, held = 0;

	(void)ctx;
	for (i = 0; i < 30; i++, n++)   /* OK, CRITICAL, OK, ... : flaps */
		r[n] = res((int64_t)n, 0, 1, i % 2 ? 95 : 1);
	for (i = 0; i < 40; i++, n++)   /* then CRITICAL for good: flapping stops */
		r[n] = res((int64_t)n, 0, 1, 95);
	backtest_replay(r, n, &p, &o);
	assert_int_equal(o.flaps, 1);
	for (i = 0; i < o.nchanges; i++)
		held += !o.changes[i].notified;
	assert_true(held > 0);
	/* FLAPPING START + STOP, the PROBLEM/RECOVERY told before flapping,
	 * and the CRITICAL told once it stopped */
	assert_int_equal(o.notifications,
	    2 + (long)(o.nchanges - held) + 1);
}

static void
test_empty(void **ctx)
{
	struct bt_policy p = policy("1", NULL, 3);
	struct bt_outcome o;

	(void)ctx;
	backtest_replay(NULL, 0, &p, &o);
	assert_int_equal(o.hard_problems + o.recoveries + o.notifications + o.flaps, 0);
	assert_int_equal(o.nchanges, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_judge),
		cmocka_unit_test(test_soft_blips_and_one_problem),
		cmocka_unit_test(test_flapping_holds_back_then_tells),
		cmocka_unit_test(test_empty),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
