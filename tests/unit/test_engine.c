/*
 * test_engine.c - unit tests for the alerting state machine (serverd/
 * engine.c: soft/hard, recovery, changes between problem states,
 * acknowledgements, flapping) and for the words of a notification
 * (serverd/notify/notify_format.c: the subjects of docs/alerting.md). cmocka, TAP out.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "buf.h"
#include "engine.h"
#include "notify.h"
#include "serverd.h"


static struct eng_state
fresh(void)
{
	struct eng_state s;

	memset(&s, 0, sizeof(s));
	s.status = -1;
	s.hard = 1;
	s.ack_sticky = 1;
	return s;
}

static const struct eng_params p3 = { 3, 25.0, 50.0 };
static const struct eng_params p1 = { 1, 25.0, 50.0 };

/* Steps and returns the number of events; the first one in *first. */
static int
step(struct eng_state *s, const struct eng_params *p, int st, enum ev_kind *first)
{
	enum ev_kind ev[3];
	int n = engine_step(s, p, st, ev);

	if (first)
		*first = n > 0 ? ev[0] : EV__COUNT;
	return n;
}

static void
test_soft_to_hard_at_max_attempts(void **ctx)
{
	struct eng_state s = fresh();
	enum ev_kind k;

	(void)ctx;
	assert_int_equal(step(&s, &p3, CHECK_OK, NULL), 0);
	assert_int_equal(step(&s, &p3, CHECK_CRITICAL, NULL), 0);
	assert_int_equal(s.hard, 0);
	assert_int_equal(s.attempt, 1);
	assert_int_equal(step(&s, &p3, CHECK_CRITICAL, NULL), 0);
	assert_int_equal(s.hard, 0);
	assert_int_equal(s.attempt, 2);
	assert_int_equal(step(&s, &p3, CHECK_CRITICAL, &k), 1);
	assert_int_equal(k, EV_PROBLEM);
	assert_int_equal(s.hard, 1);
	assert_int_equal(s.attempt, 3);
	assert_int_equal(s.hard_status, CHECK_CRITICAL);
	/* the same HARD state again: nothing, attempt stays at max */
	assert_int_equal(step(&s, &p3, CHECK_CRITICAL, NULL), 0);
	assert_int_equal(s.attempt, 3);
}

static void
test_first_result_max_attempts_one(void **ctx)
{
	struct eng_state s = fresh();
	enum ev_kind k;

	(void)ctx;
	assert_int_equal(step(&s, &p1, CHECK_WARNING, &k), 1);
	assert_int_equal(k, EV_PROBLEM);
	assert_int_equal(s.hard, 1);
}

static void
test_recovery(void **ctx)
{
	struct eng_state s = fresh();
	enum ev_kind k;

	(void)ctx;
	step(&s, &p1, CHECK_CRITICAL, NULL);
	assert_int_equal(step(&s, &p1, CHECK_OK, &k), 1);
	assert_int_equal(k, EV_RECOVERY);
	assert_int_equal(s.hard_status, CHECK_OK);
	assert_int_equal(step(&s, &p1, CHECK_OK, NULL), 0);
}

static void
test_soft_recovery_is_silent(void **ctx)
{
	struct eng_state s = fresh();

	(void)ctx;
	step(&s, &p3, CHECK_OK, NULL);
	assert_int_equal(step(&s, &p3, CHECK_CRITICAL, NULL), 0);
	assert_int_equal(step(&s, &p3, CHECK_CRITICAL, NULL), 0);
	assert_int_equal(step(&s, &p3, CHECK_OK, NULL), 0);
	assert_int_equal(s.hard, 1);
	assert_int_equal(s.attempt, 1);
}

static void
test_warning_to_critical_while_hard(void **ctx)
{
	struct eng_state s = fresh();
	enum ev_kind k;

	(void)ctx;
	step(&s, &p1, CHECK_WARNING, NULL);
	assert_int_equal(step(&s, &p1, CHECK_CRITICAL, &k), 1);
	assert_int_equal(k, EV_PROBLEM);
	assert_int_equal(s.hard_status, CHECK_CRITICAL);
	assert_int_equal(step(&s, &p1, CHECK_UNKNOWN, &k), 1);
	assert_int_equal(k, EV_PROBLEM);
	assert_int_equal(step(&s, &p1, CHECK_UNKNOWN, NULL), 0);
}

static void
test_acknowledgements(void **ctx)
{
	struct eng_state s = fresh();

	(void)ctx;
	step(&s, &p1, CHECK_WARNING, NULL);
	s.acknowledged = 1;
	s.ack_sticky = 1;
	step(&s, &p1, CHECK_CRITICAL, NULL);
	assert_int_equal(s.acknowledged, 1);      /* sticky: kept across problem states */
	step(&s, &p1, CHECK_OK, NULL);
	assert_int_equal(s.acknowledged, 0);      /* OK ends every acknowledgement */

	step(&s, &p1, CHECK_WARNING, NULL);
	s.acknowledged = 1;
	s.ack_sticky = 0;
	step(&s, &p1, CHECK_WARNING, NULL);
	assert_int_equal(s.acknowledged, 1);      /* same state: kept */
	step(&s, &p1, CHECK_CRITICAL, NULL);
	assert_int_equal(s.acknowledged, 0);      /* non-sticky: a new problem state ends it */
}

static void
test_flap_pct(void **ctx)
{
	(void)ctx;
	/* the argument is the transitions ('1' a change), oldest first */
	assert_true(engine_flap_pct("") == 0.0);
	assert_true(engine_flap_pct("00000000000000000000") == 0.0);
	/* 21 alternating results: every one of the 20 transitions, weights 0.8..1.2 */
	assert_true(engine_flap_pct("11111111111111111111") > 99.99);
	assert_true(engine_flap_pct("11111111111111111111") < 100.01);
	/* more than 20 flags: only the newest 20 count */
	assert_true(engine_flap_pct("111111111111111111111111") > 99.99);
	assert_true(engine_flap_pct("111111111111111111111111") < 100.01);
	/* one change, newest: weight 1.2 of 20 -> 6 % */
	assert_true(engine_flap_pct("1") > 5.99);
	assert_true(engine_flap_pct("1") < 6.01);
	/* one change, oldest of the window: weight 0.8 of 20 -> 4 % */
	assert_true(engine_flap_pct("10000000000000000000") > 3.99);
	assert_true(engine_flap_pct("10000000000000000000") < 4.01);
}

static void
test_flapping_start_stop_once(void **ctx)
{
	struct eng_state s = fresh();
	enum ev_kind ev[3];
	int i, k, n, starts = 0, stops = 0, problems_while_flapping = 0;

	(void)ctx;
	for (i = 0; i < 60; i++) {
		int flapping_before = s.flapping;
		n = engine_step(&s, &p1, (i % 2) ? CHECK_OK : CHECK_CRITICAL, ev);
		for (k = 0; k < n; k++) {
			starts += ev[k] == EV_FLAPPING_START;
			stops += ev[k] == EV_FLAPPING_STOP;
			if (flapping_before && (ev[k] == EV_PROBLEM || ev[k] == EV_RECOVERY))
				problems_while_flapping++;
		}
	}
	assert_int_equal(starts, 1);
	assert_int_equal(stops, 0);
	assert_int_equal(s.flapping, 1);
	/* the engine still reports the HARD changes; alert_record() suppresses them */
	assert_true(problems_while_flapping > 0);
	for (i = 0; i < 30; i++) {
		n = engine_step(&s, &p1, CHECK_OK, ev);
		for (k = 0; k < n; k++) {
			starts += ev[k] == EV_FLAPPING_START;
			stops += ev[k] == EV_FLAPPING_STOP;
		}
	}
	assert_int_equal(starts, 1);
	assert_int_equal(stops, 1);
	assert_int_equal(s.flapping, 0);
}

/* ---- notification words -------------------------------------------------- */

static void
title_is(const char *kind, int status, int64_t check_id, const char *want)
{
	struct notice n;
	struct buf b;

	memset(&n, 0, sizeof(n));
	n.kind = kind;
	n.status = status;
	n.prev_status = -1;
	n.agent = "web01";
	n.agent_id = 1;
	n.check = check_id ? "sshd" : "";
	n.check_id = check_id;
	n.state_type = n.warning = n.critical = n.output = n.event_at = "";
	n.since = n.detail = n.check_type = "";
	buf_init(&b, 4096);
	notice_title(&n, &b);
	assert_non_null(b.ptr);
	assert_string_equal(b.ptr, want);
	buf_free(&b);
}

static void
test_titles(void **ctx)
{
	(void)ctx;
	title_is("PROBLEM", 2, 7, "PROBLEM web01/sshd is CRITICAL");
	title_is("RENOTIFY", 1, 7, "PROBLEM web01/sshd is WARNING");
	title_is("RECOVERY", 0, 7, "RECOVERY web01/sshd is OK");
	title_is("ACKNOWLEDGEMENT", 2, 7, "ACKNOWLEDGED web01/sshd is CRITICAL");
	title_is("FLAPPING START", 2, 7, "FLAPPING START web01/sshd");
	title_is("FLAPPING STOP", 0, 7, "FLAPPING STOP web01/sshd");
	title_is("AGENT DOWN", -1, 0, "AGENT DOWN web01");
	title_is("AGENT UP", -1, 0, "AGENT UP web01");
}

static void
test_body(void **ctx)
{
	struct srv_conf cf;
	struct notice n;
	struct buf b;

	(void)ctx;
	memset(&cf, 0, sizeof(cf));
	cf.public_url = "https://mon.example.com";
	memset(&n, 0, sizeof(n));
	n.conf = &cf;
	n.kind = "PROBLEM";
	n.status = 2;
	n.prev_status = 0;
	n.state_type = "HARD";
	n.attempt = 3;
	n.max_attempts = 3;
	n.has_value = 1;
	n.value = 97.5;
	n.warning = "80";
	n.critical = "90";
	n.output = "DISK CRITICAL - 97.5% used";
	n.event_at = "2026-11-25T06:00:00Z";
	n.since = "2026-11-25T05:58:00Z";
	n.agent = "web01";
	n.agent_id = 1;
	n.check = "root";
	n.check_id = 12;
	n.check_type = "disk";
	n.detail = "";
	buf_init(&b, 65536);
	notice_body(&n, &b);
	assert_non_null(b.ptr);
	assert_non_null(strstr(b.ptr, "State:     CRITICAL (HARD, was OK)\n"));
	assert_non_null(strstr(b.ptr, "Value:     97.5 (warning 80, critical 90)\n"));
	assert_non_null(strstr(b.ptr, "Attempts:  3/3\n"));
	assert_non_null(strstr(b.ptr, "Since:     2026-11-25T05:58:00Z\n"));
	assert_non_null(strstr(b.ptr, "Output:    DISK CRITICAL - 97.5% used\n"));
	assert_non_null(strstr(b.ptr, "https://mon.example.com/checks/12\n"));
	/* the value as the dashboard shows it, not to 15 digits */
	{
		static const struct { double v; const char *want; } vs[] = {
			{ 22.0545945537162, "Value:     22.055 (" }, { 1234.5678, "Value:     1234.6 (" },
			{ 100, "Value:     100 (" }, { 0, "Value:     0 (" }, { -0.0001, "Value:     -1.00e-04 (" },
			{ 5e6, "Value:     5.00e+06 (" }, { 0.25, "Value:     0.25 (" }, { -0.0004999, "Value:     -5.00e-04 (" },
			{ -3.0002, "Value:     -3 (" },
		};
		for (size_t i = 0; i < sizeof(vs) / sizeof(vs[0]); i++) {
			n.value = vs[i].v;
			buf_reset(&b);
			notice_body(&n, &b);
			if (strstr(b.ptr, vs[i].want) == NULL)
				fail_msg("%.17g: want \"%s\" in:\n%s", vs[i].v, vs[i].want, b.ptr);
		}
	}
	buf_free(&b);
}

/* A problem resolved by the time it is sent says so, in the title and first in the body. */
static void
test_resolved_since(void **ctx)
{
	struct notice n;
	struct buf b;

	(void)ctx;
	memset(&n, 0, sizeof(n));
	n.kind = "RENOTIFY";
	n.status = 2;
	n.prev_status = -1;
	n.agent = "web01";
	n.agent_id = 1;
	n.check = "sshd";
	n.check_id = 7;
	n.state_type = n.warning = n.critical = n.output = n.check_type = "";
	n.since = n.detail = "";
	n.event_at = "2026-11-25T06:00:00Z";
	n.resolved_since = "2026-11-25T06:01:30Z";
	buf_init(&b, 65536);
	notice_title(&n, &b);
	assert_non_null(b.ptr);
	assert_string_equal(b.ptr, "PROBLEM web01/sshd is CRITICAL (resolved since)");
	buf_free(&b);
	buf_init(&b, 65536);
	notice_body(&n, &b);
	assert_non_null(b.ptr);
	/* no "reminder: still unresolved" for a reminder resolved since */
	assert_non_null(strstr(b.ptr, "PROBLEM web01/sshd is CRITICAL (resolved since)\n\n"
	    "Resolved:  2026-11-25T06:01:30Z\nHost:      web01\n"));
	assert_null(strstr(b.ptr, "still unresolved"));
	buf_free(&b);
	n.resolved_since = "";
	buf_init(&b, 65536);
	notice_body(&n, &b);
	assert_non_null(b.ptr);
	assert_non_null(strstr(b.ptr, "(reminder: still unresolved)"));
	assert_null(strstr(b.ptr, "Resolved:"));
	buf_free(&b);
}

/* notice_output(): 1000 characters at a UTF-8 boundary, then an ellipsis */
static void
test_output_cut(void **ctx)
{
	static char big[3 * 1500 + 1];
	struct notice n;
	struct buf b;
	size_t i;

	(void)ctx;
	for (i = 0; i < 1500; i++)
		memcpy(big + 3 * i, "\xe2\x82\xac", 3);   /* U+20AC, 3 bytes */
	memset(&n, 0, sizeof(n));
	n.output = big;
	buf_init(&b, 65536);
	notice_output(&n, &b);
	assert_non_null(b.ptr);
	assert_int_equal(b.len, 3 * 1000 + 3);
	assert_memory_equal(b.ptr + 3 * 1000, "\xe2\x80\xa6", 3);
	buf_free(&b);
	big[3 * 1000] = '\0';                            /* exactly 1000: not cut */
	buf_init(&b, 65536);
	notice_output(&n, &b);
	assert_int_equal(b.len, 3 * 1000);
	buf_free(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_soft_to_hard_at_max_attempts),
		cmocka_unit_test(test_first_result_max_attempts_one),
		cmocka_unit_test(test_recovery),
		cmocka_unit_test(test_soft_recovery_is_silent),
		cmocka_unit_test(test_warning_to_critical_while_hard),
		cmocka_unit_test(test_acknowledgements),
		cmocka_unit_test(test_flap_pct),
		cmocka_unit_test(test_flapping_start_stop_once),
		cmocka_unit_test(test_titles),
		cmocka_unit_test(test_resolved_since),
		cmocka_unit_test(test_body),
		cmocka_unit_test(test_output_cut),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
