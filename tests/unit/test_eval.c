/*
 * test_eval.c - unit tests for ingest's evaluation (serverd/alert/eval.c):
 * which results are stepped (late, unstamped, disabled, steady checks), the
 * events they make, the states written back, and the flap window kept with
 * them (struct eval_window: when it is kept, when dropped). cmocka, TAP out.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "eval.h"

/* check id, HARD OK (attempt 1), max_attempts 1, its newest evaluated result at last_us */
static struct eval_check
ok_check(int64_t id, int64_t last_us)
{
	struct eval_check c;

	memset(&c, 0, sizeof(c));
	c.check_id = id;
	c.agent_id = 7;
	c.p.max_attempts = 1;
	c.p.flap_low_pct = 25.0;
	c.p.flap_high_pct = 50.0;
	c.s.status = 0;
	c.s.hard = 1;
	c.s.attempt = 1;   /* as an OK leaves it */
	c.s.ack_sticky = 1;
	engine_flap_replay("000", c.s.flap_history);
	c.enabled = 1;
	c.last_us = last_us;
	c.before = c.s;
	return c;
}

static struct eval_result
result(int64_t check, int64_t us, int stamped, int status)
{
	struct eval_result r;

	memset(&r, 0, sizeof(r));
	r.check_id = check;
	r.observed_us = us;
	r.stamped = stamped;
	r.stored_us = us;   /* as stored (a server-stamped one: set apart where it matters) */
	r.status = status;
	r.output = "out";
	return r;
}

static void
test_problem_and_write_back(void **state)
{
	struct eval_check cs[2] = { ok_check(9, 0), ok_check(5, 0) };
	struct eval_result rs[2] = { result(5, 100, 1, 2), result(9, 100, 1, 0) };
	struct alert_event ev[6];
	char *states, *shown;
	size_t n;

	(void)state;
	eval_sort_checks(cs, 2);
	assert_int_equal(cs[0].check_id, 5);
	n = eval_batch(cs, 2, rs, 2, ev);
	assert_int_equal(n, 1);
	assert_int_equal(ev[0].kind, EV_PROBLEM);
	assert_int_equal(ev[0].check_id, 5);
	assert_int_equal(ev[0].agent_id, 7);
	assert_int_equal(ev[0].prev_status, 0);
	assert_string_equal(ev[0].output, "out");
	assert_int_equal(cs[0].since_us, 100);
	assert_int_equal(eval_changed(cs, 2, &states, &shown), 0);
	/* check 5 changed (shown); check 9 repeated its OK: nothing to write */
	assert_non_null(states);
	assert_non_null(strstr(states, "{\"check_id\":5,\"status\":2,\"state_type\":\"HARD\""));
	assert_non_null(strstr(states, "\"since\":100,"));
	assert_null(strstr(states, "\"check_id\":9,"));
	assert_string_equal(shown, "{5}");
	free(states);
	free(shown);
}

static void
test_late_unstamped_disabled_steady(void **state)
{
	struct eval_check cs[3] = { ok_check(1, 500), ok_check(2, 500), ok_check(3, 0) };
	struct eval_result rs[4] = {
		result(1, 400, 1, 2),   /* stamped, older than the newest: late */
		result(2, 400, 0, 2),   /* stamped by the server: never late */
		result(3, 600, 1, 2),   /* a disabled check: history only */
		result(4, 600, 1, 2),   /* not read (steady): not stepped */
	};
	struct alert_event ev[12];
	char *states, *shown;

	(void)state;
	cs[2].enabled = 0;
	eval_sort_checks(cs, 3);
	assert_int_equal(eval_batch(cs, 3, rs, 4, ev), 1);
	assert_int_equal(ev[0].check_id, 2);
	assert_int_equal(cs[0].s.status, 0);
	assert_int_equal(cs[1].s.status, 2);
	assert_int_equal(cs[1].last_us, 400);
	assert_int_equal(eval_changed(cs, 3, &states, &shown), 0);
	assert_non_null(states);
	assert_null(strstr(states, "\"check_id\":1,"));
	assert_null(strstr(states, "\"check_id\":3,"));
	assert_string_equal(shown, "{2}");
	free(states);
	free(shown);
}

static void
test_nothing_changed(void **state)
{
	struct eval_check cs[1] = { ok_check(1, 0) };
	char *states = (char *)"x", *shown = (char *)"x";

	(void)state;
	assert_int_equal(eval_batch(cs, 1, NULL, 0, NULL), 0);
	assert_int_equal(eval_changed(cs, 1, &states, &shown), 0);
	assert_null(states);
	assert_null(shown);
}

/* check id, SOFT CRITICAL attempt 1 of 3, its kept window "02" (from 50, newest 100) */
static struct eval_check
soft_check(int64_t id)
{
	struct eval_check c = ok_check(id, 100);

	c.p.max_attempts = 3;
	c.s.status = 2;
	c.s.hard = 0;
	c.s.attempt = 1;
	eval_window_set(&c.w, "02", 50, 100, 1, 1);
	engine_flap_replay(c.w.st, c.s.flap_history);
	c.before = c.s;
	return c;
}

static char *
written(struct eval_check *cs, size_t n)
{
	char *states = NULL, *shown = NULL;

	assert_int_equal(eval_changed(cs, n, &states, &shown), 0);
	free(shown);
	return states;
}

static void
test_window_moves_and_is_kept(void **state)
{
	struct eval_check cs[1] = { soft_check(1) };
	struct eval_result rs[2] = { result(1, 200, 1, 2), result(1, 300, 1, 0) };
	struct alert_event ev[6];
	char *states;

	(void)state;
	eval_batch(cs, 1, rs, 1, ev);
	assert_string_equal(cs[0].w.st, "022");
	assert_true(eval_window_keep(&cs[0]));   /* SOFT, attempt 2 */
	eval_batch(cs, 1, rs + 1, 1, ev);
	assert_string_equal(cs[0].w.st, "0220");
	assert_int_equal(cs[0].w.from_us, 50);
	assert_int_equal(cs[0].w.last_us, 300);
	/* OK: HARD and not flapping - its repeats would be stored unseen */
	assert_false(eval_window_keep(&cs[0]));
	states = written(cs, 1);
	assert_non_null(strstr(states, "\"win\":null}"));
	free(states);
	/* flapping keeps it */
	cs[0].s.flapping = 1;
	assert_true(eval_window_keep(&cs[0]));
	states = written(cs, 1);
	assert_non_null(strstr(states,
	    "\"win\":\"0220\",\"win_from\":50,\"win_last\":300,\"win_kept\":true}"));
	free(states);
}

static void
test_window_slides(void **state)
{
	struct eval_check cs[1] = { soft_check(1) };
	struct eval_result rs[ENGINE_FLAP_WINDOW + 2];
	struct alert_event ev[3 * (ENGINE_FLAP_WINDOW + 2)];
	char flags[ENGINE_FLAP_WINDOW + 1];
	int i;

	(void)state;
	cs[0].p.max_attempts = 1000;   /* stays SOFT */
	for (i = 0; i < ENGINE_FLAP_WINDOW + 2; i++)
		rs[i] = result(1, 200 + i, 1, i % 3 == 0 ? 1 : 2);
	eval_batch(cs, 1, rs, ENGINE_FLAP_WINDOW + 2, ev);
	assert_int_equal(strlen(cs[0].w.st), ENGINE_FLAP_WINDOW);
	assert_string_equal(cs[0].w.st, "212212212212212212212");   /* the newest 21 */
	assert_int_equal(cs[0].w.from_us, 50);   /* a bound at or below the oldest */
	/* the engine's transitions are those the digits replay to */
	engine_flap_replay(cs[0].w.st, flags);
	assert_string_equal(flags, cs[0].s.flap_history);
	assert_true(eval_window_keep(&cs[0]));
}

static void
test_window_dropped(void **state)
{
	struct eval_check cs[6] = { soft_check(1), soft_check(2), soft_check(3), soft_check(4),
		soft_check(5), soft_check(6) };
	struct eval_result rs[8] = {
		result(1, 90, 1, 2),    /* late (before the newest, 100): history only */
		result(2, 150, 0, 2),   /* server-stamped, but stored at 90: before the newest */
		result(3, 200, 1, 2),   /* stamped 200, then one stored at 200 by the server */
		result(3, 200, 0, 2),
		result(4, 100, 1, 2),   /* ties the window's newest: stored after it, kept */
		result(5, 200, 1, 2),   /* may not keep a window (a heartbeat) */
		result(6, 200, 1, 2),   /* read from the history, nothing kept yet */
		result(6, 300, 0, 2),   /* server-stamped, stored at 310 */
	};
	struct alert_event ev[24];
	char *states;

	(void)state;
	rs[1].stored_us = 90;
	rs[7].stored_us = 310;
	cs[4].w.ok = 0;
	cs[5].p.max_attempts = 10;   /* stays SOFT */
	eval_window_set(&cs[5].w, NULL, 0, 0, 0, 1);
	eval_batch(cs, 6, rs, 8, ev);
	assert_true(cs[0].w.broken);
	assert_true(cs[1].w.broken);
	assert_true(cs[2].w.broken);
	assert_false(cs[3].w.broken);
	assert_true(eval_window_keep(&cs[3]));
	assert_false(eval_window_keep(&cs[4]));
	assert_true(eval_window_keep(&cs[5]));
	assert_int_equal(cs[5].w.from_us, 200);
	assert_int_equal(cs[5].w.last_us, 310);
	assert_string_equal(cs[5].w.st, "22");
	states = written(cs, 6);
	/* the late one changed no state, but its kept window is dropped */
	assert_non_null(strstr(states, "{\"check_id\":1,"));
	assert_non_null(strstr(states, "\"win_last\":310,\"win_kept\":false}"));
	free(states);
}

static void
test_window_unmoved_not_written(void **state)
{
	struct eval_check cs[1] = { soft_check(1) };
	char *states = (char *)"x", *shown = (char *)"x";

	(void)state;
	assert_int_equal(eval_changed(cs, 1, &states, &shown), 0);
	assert_null(states);   /* kept, and no result stepped: nothing to write */
	assert_null(shown);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_problem_and_write_back),
		cmocka_unit_test(test_late_unstamped_disabled_steady),
		cmocka_unit_test(test_nothing_changed),
		cmocka_unit_test(test_window_moves_and_is_kept),
		cmocka_unit_test(test_window_slides),
		cmocka_unit_test(test_window_dropped),
		cmocka_unit_test(test_window_unmoved_not_written),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
