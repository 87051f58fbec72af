/*
 * test_oncall.c - unit tests for lib/oncall.c: rotations (hours, day and
 * week shifts) and quiet hours, across the 2026 daylight-saving changes in
 * Europe/Berlin and America/New_York, hand-offs in the skipped and the
 * repeated hour, and the parsers' refusals. Expected instants cross-checked
 * with Python's zoneinfo. cmocka, TAP out.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "oncall.h"
#include "tztest.h"

static struct rotation
rot(const char *shift, const char *handoff, const char *wday, int64_t y, unsigned m,
    unsigned d, size_t members)
{
	struct rotation r;
	char err[256];

	memset(&r, 0, sizeof(r));
	if (shift_parse(shift, &r, err, sizeof(err)) < 0 ||
	    hhmm_parse(handoff, &r.handoff_min, err, sizeof(err)) < 0 ||
	    (wday && weekday_parse(wday, &r.handoff_wday, err, sizeof(err)) < 0))
		fail_msg("%s", err);
	r.start_day = days_from_civil(y, m, d);
	r.members = members;
	return r;
}

/* who is on call at `when`, and the shift's bounds */
static void
expect(const struct rotation *r, const char *zn, const char *when, size_t member,
    const char *start, const char *end)
{
	struct shift s;
	char a[RFC3339_LEN], b[RFC3339_LEN];

	rotation_at(r, zone(zn), at(when), &s);
	if (s.member != member || strcmp(fmt(s.start, a), start) != 0 ||
	    strcmp(fmt(s.end, b), end) != 0)
		fail_msg("%s at %s: member %zu %s - %s, expected %zu %s - %s", zn, when,
		    s.member, a, b, member, start, end);
}

static void
daily_across_berlin_changes(void **state)
{
	struct rotation r = rot("day", "09:00", NULL, 2026, 3, 27, 3);

	(void)state;
	/* the spring shift is 23 hours, the autumn one 25: hand-off at 09:00 local */
	expect(&r, "Europe/Berlin", "2026-03-28T09:00:00Z", 1,
	    "2026-03-28T08:00:00Z", "2026-03-29T07:00:00Z");
	expect(&r, "Europe/Berlin", "2026-03-29T06:59:59Z", 1,
	    "2026-03-28T08:00:00Z", "2026-03-29T07:00:00Z");
	expect(&r, "Europe/Berlin", "2026-03-29T07:00:00Z", 2,
	    "2026-03-29T07:00:00Z", "2026-03-30T07:00:00Z");
	/* 2026-03-27 + 211 days = 2026-10-24: shift 211, 211 mod 3 = 1 */
	expect(&r, "Europe/Berlin", "2026-10-25T07:30:00Z", 1,
	    "2026-10-24T07:00:00Z", "2026-10-25T08:00:00Z");
	/* before the first shift the order runs backwards */
	expect(&r, "Europe/Berlin", "2026-03-27T07:00:00Z", 2,
	    "2026-03-26T08:00:00Z", "2026-03-27T08:00:00Z");
}

static void
twelve_hours_new_york_spring(void **state)
{
	struct rotation r = rot("hours:12", "09:00", NULL, 2026, 3, 7, 2);

	(void)state;
	expect(&r, "America/New_York", "2026-03-07T15:00:00Z", 0,
	    "2026-03-07T14:00:00Z", "2026-03-08T02:00:00Z");
	/* the night shift of the change is 11 hours */
	expect(&r, "America/New_York", "2026-03-08T12:59:59Z", 1,
	    "2026-03-08T02:00:00Z", "2026-03-08T13:00:00Z");
	expect(&r, "America/New_York", "2026-03-08T13:00:00Z", 0,
	    "2026-03-08T13:00:00Z", "2026-03-09T01:00:00Z");
}

static void
handoff_in_the_gap_and_the_repeat(void **state)
{
	struct rotation gap = rot("day", "02:30", NULL, 2026, 3, 1, 2);
	struct rotation rep = rot("day", "01:30", NULL, 2026, 10, 1, 2);

	(void)state;
	/* 02:30 does not exist on 2026-03-08 in New York: 03:00 EDT instead */
	expect(&gap, "America/New_York", "2026-03-08T06:59:59Z", 0,
	    "2026-03-07T07:30:00Z", "2026-03-08T07:00:00Z");
	expect(&gap, "America/New_York", "2026-03-08T07:00:00Z", 1,
	    "2026-03-08T07:00:00Z", "2026-03-09T06:30:00Z");
	/* 01:30 happens twice on 2026-11-01: the first one hands off, and the
	 * repeated hour (01:00-01:59 EST, 06:00-06:59Z) stays with the new person */
	expect(&rep, "America/New_York", "2026-11-01T05:29:59Z", 0,
	    "2026-10-31T05:30:00Z", "2026-11-01T05:30:00Z");
	expect(&rep, "America/New_York", "2026-11-01T06:00:00Z", 1,
	    "2026-11-01T05:30:00Z", "2026-11-02T06:30:00Z");
	expect(&rep, "America/New_York", "2026-11-01T06:45:00Z", 1,
	    "2026-11-01T05:30:00Z", "2026-11-02T06:30:00Z");
}

static void
weekly(void **state)
{
	/* made on a Tuesday, handing off on Mondays: the first shift starts
	 * 2026-12-07 09:00 UTC; the week before belongs to the last member */
	struct rotation r = rot("week", "09:00", "mon", 2026, 12, 1, 2);

	(void)state;
	expect(&r, "UTC", "2026-12-06T10:00:00Z", 1, "2026-11-30T09:00:00Z", "2026-12-07T09:00:00Z");
	expect(&r, "UTC", "2026-12-07T09:00:00Z", 0, "2026-12-07T09:00:00Z", "2026-12-14T09:00:00Z");
	expect(&r, "UTC", "2026-12-20T00:00:00Z", 1, "2026-12-14T09:00:00Z", "2026-12-21T09:00:00Z");
}

static const char *
quiet(const char *const *spec, const char *zn, const char *when)
{
	static char out[RFC3339_LEN];
	struct quiet_window w[QUIET_WINDOWS_MAX];
	char err[256];
	size_t n = 0;
	int64_t e;

	for (; spec[n] != NULL; n++)
		if (quiet_window_parse(spec[n], &w[n], err, sizeof(err)) < 0)
			fail_msg("%s", err);
	e = quiet_until(w, n, zone(zn), at(when));
	return e == 0 ? "awake" : fmt(e, out);
}

static void
quiet_hours(void **state)
{
	const char *weeknights[] = { "mon-fri 22:00-07:00", NULL };
	const char *nightly[] = { "daily 22:00-07:00", NULL };
	const char *ny[] = { "daily 23:00-07:00", NULL };
	const char *weekend[] = { "sat,sun 00:00-00:00", "mon 00:00-07:00", NULL };

	(void)state;
	/* Friday 23:00 CET: the Friday window runs into Saturday 07:00 */
	assert_string_equal(quiet(weeknights, "Europe/Berlin", "2026-03-27T22:00:00Z"),
	    "2026-03-28T06:00:00Z");
	assert_string_equal(quiet(weeknights, "Europe/Berlin", "2026-03-28T05:30:00Z"),
	    "2026-03-28T06:00:00Z");
	/* no window starts on Saturday */
	assert_string_equal(quiet(weeknights, "Europe/Berlin", "2026-03-28T21:30:00Z"), "awake");
	assert_string_equal(quiet(weeknights, "Europe/Berlin", "2026-03-27T12:00:00Z"), "awake");
	/* the spring night is an hour shorter: 07:00 CEST */
	assert_string_equal(quiet(nightly, "Europe/Berlin", "2026-03-28T22:30:00Z"),
	    "2026-03-29T05:00:00Z");
	/* the autumn night in New York an hour longer: 07:00 EST */
	assert_string_equal(quiet(ny, "America/New_York", "2026-11-01T03:30:00Z"),
	    "2026-11-01T12:00:00Z");
	assert_string_equal(quiet(ny, "America/New_York", "2026-11-01T06:30:00Z"),
	    "2026-11-01T12:00:00Z");
	/* windows that touch are followed to the end of the last */
	assert_string_equal(quiet(weekend, "UTC", "2026-12-05T12:00:00Z"), "2026-12-07T07:00:00Z");
	assert_string_equal(quiet(weekend, "UTC", "2026-12-07T07:00:00Z"), "awake");
}

/* the next window's start and end after `when`, "start end" */
static const char *
next(const char *spec, const char *zn, const char *when)
{
	static char out[2 * RFC3339_LEN + 2];
	struct quiet_window w;
	char err[256], a[RFC3339_LEN], b[RFC3339_LEN];
	int64_t s, e = 0;

	if (quiet_window_parse(spec, &w, err, sizeof(err)) < 0)
		fail_msg("%s", err);
	s = quiet_next(&w, 1, zone(zn), at(when), &e);
	if (s == 0)
		return "never";
	snprintf(out, sizeof(out), "%s %s", fmt(s, a), fmt(e, b));
	return out;
}

static void
next_window(void **state)
{
	(void)state;
	/* Sunday 02:00-04:00 Berlin: CET before the spring change... */
	assert_string_equal(next("sun 02:00-04:00", "Europe/Berlin", "2026-03-20T00:00:00Z"),
	    "2026-03-22T01:00:00Z 2026-03-22T03:00:00Z");
	/* ...on it 02:00 does not exist: from the change (03:00 CEST) to 04:00 CEST */
	assert_string_equal(next("sun 02:00-04:00", "Europe/Berlin", "2026-03-22T03:00:00Z"),
	    "2026-03-29T01:00:00Z 2026-03-29T02:00:00Z");
	/* ...and CEST after it */
	assert_string_equal(next("sun 02:00-04:00", "Europe/Berlin", "2026-03-29T02:00:00Z"),
	    "2026-04-05T00:00:00Z 2026-04-05T02:00:00Z");
	/* a start exactly at t is the next one; a window running past midnight */
	assert_string_equal(next("mon-fri 22:00-06:00", "UTC", "2026-12-04T22:00:00Z"),
	    "2026-12-04T22:00:00Z 2026-12-05T06:00:00Z");
	assert_string_equal(next("mon-fri 22:00-06:00", "UTC", "2026-12-04T22:00:01Z"),
	    "2026-12-07T22:00:00Z 2026-12-08T06:00:00Z");
	/* whole days that touch are one occurrence */
	assert_string_equal(next("sat,sun 00:00-00:00", "UTC", "2026-12-01T00:00:00Z"),
	    "2026-12-05T00:00:00Z 2026-12-07T00:00:00Z");
}

static void
refusals(void **state)
{
	struct rotation r;
	struct quiet_window w;
	int x;
	char err[256];

	(void)state;
	assert_int_equal(shift_parse("hours:5", &r, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "dividing 24"));
	assert_int_equal(shift_parse("hours:", &r, err, sizeof(err)), -1);
	assert_int_equal(shift_parse("month", &r, err, sizeof(err)), -1);
	assert_int_equal(shift_parse("hours:24", &r, err, sizeof(err)), 0);
	assert_int_equal(r.kind, SHIFT_DAY);
	assert_int_equal(hhmm_parse("24:00", &x, err, sizeof(err)), -1);
	assert_int_equal(hhmm_parse("9:5", &x, err, sizeof(err)), -1);
	assert_int_equal(hhmm_parse("09:00x", &x, err, sizeof(err)), -1);
	assert_int_equal(hhmm_parse("9:05", &x, err, sizeof(err)), 0);
	assert_int_equal(x, 545);
	assert_int_equal(weekday_parse("funday", &x, err, sizeof(err)), -1);
	assert_int_equal(quiet_window_parse("mon-fri 22:00", &w, err, sizeof(err)), -1);
	assert_int_equal(quiet_window_parse("funday 22:00-07:00", &w, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "funday"));
	assert_int_equal(quiet_window_parse("22:00-07:00", &w, err, sizeof(err)), -1);
	assert_int_equal(quiet_window_parse("fri-mon 20:00-08:00", &w, err, sizeof(err)), 0);
	assert_int_equal(w.days, (1u << 5) | (1u << 6) | (1u << 0) | (1u << 1));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(daily_across_berlin_changes),
		cmocka_unit_test(twelve_hours_new_york_spring),
		cmocka_unit_test(handoff_in_the_gap_and_the_repeat),
		cmocka_unit_test(weekly),
		cmocka_unit_test(quiet_hours),
		cmocka_unit_test(next_window),
		cmocka_unit_test(refusals),
	};
	int rc;

	cmocka_set_message_output(CM_OUTPUT_TAP);
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	tz_cache_free();
	return rc;
}
