/*
 * test_eval.c - unit tests for ingest's evaluation (serverd/alert/eval.c):
 * which results are stepped (late, unstamped, disabled, steady checks), the
 * events they make, and the states written back. cmocka, TAP out.
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

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_problem_and_write_back),
		cmocka_unit_test(test_late_unstamped_disabled_steady),
		cmocka_unit_test(test_nothing_changed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
