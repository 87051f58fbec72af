/*
 * test_schedule.c - unit tests for lib/schedule.c and lib/tz.c: "every"
 * periods, common cron expressions, cron's day-of-month / day-of-week
 * rule, and the two time-zone change days of 2026 in Europe/Berlin and
 * America/New_York (expected instants cross-checked with Python's
 * zoneinfo). Reads the system's zoneinfo files. cmocka, TAP out.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "schedule.h"
#include "tztest.h"

/* The next run of expr in zone zn after t, as RFC 3339 UTC text. */
static const char *
next(const char *expr, const char *zn, const char *after)
{
	static char out[RFC3339_LEN];
	struct schedule s;
	char err[256];
	int64_t n;

	if (schedule_parse(expr, &s, err, sizeof(err)) < 0)
		fail_msg("%s: %s", expr, err);
	n = schedule_next(&s, zone(zn), at(after));
	if (n < 0)
		return "none";
	return fmt(n, out);
}

static void
every_period(void **state)
{
	(void)state;
	assert_string_equal(next("every 5m", "UTC", "2026-12-06T10:07:30Z"), "2026-12-06T10:12:30Z");
	assert_string_equal(next("every 30s", "UTC", "2026-12-06T10:07:30Z"), "2026-12-06T10:08:00Z");
	assert_string_equal(next("every 2h", "Europe/Berlin", "2026-03-29T00:30:00Z"),
	    "2026-03-29T02:30:00Z");   /* a period is elapsed time, not wall clock */
	assert_string_equal(next("every 1d", "UTC", "2026-12-06T10:00:00Z"), "2026-12-07T10:00:00Z");
}

static void
cron_common(void **state)
{
	(void)state;
	assert_string_equal(next("*/15 * * * *", "UTC", "2026-12-06T10:07:30Z"),
	    "2026-12-06T10:15:00Z");
	assert_string_equal(next("*/15 * * * *", "UTC", "2026-12-06T10:15:00Z"),
	    "2026-12-06T10:30:00Z");   /* strictly after */
	assert_string_equal(next("* * * * *", "UTC", "2026-12-06T10:07:30Z"), "2026-12-06T10:08:00Z");
	assert_string_equal(next("0 9 * * 1-5", "UTC", "2026-12-04T09:00:00Z"),
	    "2026-12-07T09:00:00Z");   /* Friday 09:00 -> Monday */
	assert_string_equal(next("0 0 1 * *", "UTC", "2026-12-06T00:00:00Z"), "2027-01-01T00:00:00Z");
	assert_string_equal(next("30 2 * * *", "Europe/Berlin", "2026-12-06T00:00:00Z"),
	    "2026-12-06T01:30:00Z");   /* CET is UTC+1 */
	assert_string_equal(next("30 2 * * *", "America/New_York", "2026-12-06T00:00:00Z"),
	    "2026-12-06T07:30:00Z");   /* EST is UTC-5 */
	assert_string_equal(next("5-10/5,50 1 * * *", "UTC", "2026-12-06T01:06:00Z"),
	    "2026-12-06T01:10:00Z");
	assert_string_equal(next("5/20 1 * * *", "UTC", "2026-12-06T01:30:00Z"),
	    "2026-12-06T01:45:00Z");   /* 5/20 is 5-59/20: 5, 25, 45 */
	assert_string_equal(next("0 6 * jan,jul mon", "UTC", "2026-12-06T00:00:00Z"),
	    "2027-01-04T06:00:00Z");   /* names of months and days */
	assert_string_equal(next("0 0 * * 7", "UTC", "2026-12-06T00:00:00Z"),
	    "2026-12-13T00:00:00Z");   /* 7 is Sunday, as 0 */
	assert_string_equal(next("@hourly", "UTC", "2026-12-06T10:07:30Z"), "2026-12-06T11:00:00Z");
	assert_string_equal(next("@weekly", "UTC", "2026-12-06T10:00:00Z"), "2026-12-13T00:00:00Z");
	assert_string_equal(next("0 0 29 2 *", "UTC", "2026-12-06T00:00:00Z"),
	    "2028-02-29T00:00:00Z");   /* the next leap day */
}

static void
cron_day_rules(void **state)
{
	(void)state;
	/* both restricted: the 13th OR a Friday (2026-12-06 is a Sunday) */
	assert_string_equal(next("0 12 13 * 5", "UTC", "2026-12-06T00:00:00Z"),
	    "2026-12-11T12:00:00Z");
	assert_string_equal(next("0 12 13 * 5", "UTC", "2026-12-11T12:00:00Z"),
	    "2026-12-13T12:00:00Z");
	/* one restricted: only it counts */
	assert_string_equal(next("0 12 13 * *", "UTC", "2026-12-06T00:00:00Z"),
	    "2026-12-13T12:00:00Z");
	assert_string_equal(next("0 12 * * 5", "UTC", "2026-12-06T00:00:00Z"),
	    "2026-12-11T12:00:00Z");
	/* a day-of-month field starting with '*' counts as unrestricted for the
	 * rule (as in Vixie cron): odd days AND Fridays, not odd days OR Fridays */
	assert_string_equal(next("0 0 */2 * 5", "UTC", "2026-12-06T00:00:00Z"),
	    "2026-12-11T00:00:00Z");
	/* the last day of a short month is skipped by a 31 */
	assert_string_equal(next("0 0 31 * *", "UTC", "2026-11-01T00:00:00Z"),
	    "2026-12-31T00:00:00Z");
}

static void
cron_refused(void **state)
{
	static const char *const bad[] = { "60 * * * *", "* 24 * * *", "* * 0 * *", "* * * 13 *",
		"* * * * 8", "* * *", "* * * * * *", "0 0 30 2 *", "every 0m", "every 5x",
		"every 5", "every m", "1-0 * * * *", "*/0 * * * *", "1,,2 * * * *", "1, * * * *",
		"foo * * * *", "@sometimes", "", "every 400d", NULL };
	struct schedule s;
	char err[256];
	int i;

	(void)state;
	for (i = 0; bad[i]; i++) {
		err[0] = '\0';
		if (schedule_parse(bad[i], &s, err, sizeof(err)) == 0)
			fail_msg("accepted \"%s\"", bad[i]);
		assert_true(err[0] != '\0');
	}
}

static void
dst_berlin(void **state)
{
	(void)state;
	/* spring, 2026-03-29: 02:00 CET -> 03:00 CEST; 02:30 does not exist:
	 * expected at the first instant after the gap, 03:00 CEST (01:00Z) */
	assert_string_equal(next("30 2 * * *", "Europe/Berlin", "2026-03-28T02:00:00Z"),
	    "2026-03-29T01:00:00Z");
	assert_string_equal(next("30 2 * * *", "Europe/Berlin", "2026-03-29T01:00:00Z"),
	    "2026-03-30T00:30:00Z");
	/* a job in the gap and one at 03:00 fall on the same instant */
	assert_string_equal(next("0 3 * * *", "Europe/Berlin", "2026-03-28T12:00:00Z"),
	    "2026-03-29T01:00:00Z");
	/* autumn, 2026-10-25: 03:00 CEST -> 02:00 CET; 02:30 exists twice:
	 * expected once, at the first (00:30Z), then the next day */
	assert_string_equal(next("30 2 * * *", "Europe/Berlin", "2026-10-24T12:00:00Z"),
	    "2026-10-25T00:30:00Z");
	assert_string_equal(next("30 2 * * *", "Europe/Berlin", "2026-10-25T00:30:00Z"),
	    "2026-10-26T01:30:00Z");
}

static void
dst_new_york(void **state)
{
	(void)state;
	/* spring, 2026-03-08: 02:00 EST -> 03:00 EDT */
	assert_string_equal(next("30 2 * * *", "America/New_York", "2026-03-07T12:00:00Z"),
	    "2026-03-08T07:00:00Z");
	assert_string_equal(next("30 2 * * *", "America/New_York", "2026-03-08T07:00:00Z"),
	    "2026-03-09T06:30:00Z");
	/* autumn, 2026-11-01: 02:00 EDT -> 01:00 EST; 01:30 exists twice */
	assert_string_equal(next("30 1 * * *", "America/New_York", "2026-10-31T12:00:00Z"),
	    "2026-11-01T05:30:00Z");
	assert_string_equal(next("30 1 * * *", "America/New_York", "2026-11-01T05:30:00Z"),
	    "2026-11-02T06:30:00Z");
	/* hourly over the repeated hour: 01:00 is expected once */
	assert_string_equal(next("0 * * * *", "America/New_York", "2026-11-01T05:00:00Z"),
	    "2026-11-01T07:00:00Z");
}

static void
tz_offsets(void **state)
{
	char err[256];
	const struct tz *b = tz_get("Europe/Berlin", err, sizeof(err));
	const struct tz *s = tz_get("Australia/Sydney", err, sizeof(err));
	int kind;

	(void)state;
	assert_non_null(b);
	assert_non_null(s);
	assert_ptr_equal(b, tz_get("Europe/Berlin", err, sizeof(err)));   /* cached */
	assert_int_equal(tz_offset(b, at("2026-07-01T00:00:00Z")), 7200);
	assert_int_equal(tz_offset(b, at("2026-12-01T00:00:00Z")), 3600);
	/* past the file's last transition: the footer's rule */
	assert_int_equal(tz_offset(b, at("2045-07-01T00:00:00Z")), 7200);
	assert_int_equal(tz_offset(b, at("2045-01-01T00:00:00Z")), 3600);
	assert_int_equal(tz_offset(s, at("2045-01-01T00:00:00Z")), 39600);   /* southern summer */
	assert_int_equal(tz_offset(s, at("2045-07-01T00:00:00Z")), 36000);
	/* the kinds of wall-clock time */
	tz_from_local(b, at("2026-03-29T02:30:00Z"), &kind);
	assert_int_equal(kind, 2);
	tz_from_local(b, at("2026-10-25T02:30:00Z"), &kind);
	assert_int_equal(kind, 1);
	tz_from_local(b, at("2026-10-26T02:30:00Z"), &kind);
	assert_int_equal(kind, 0);
	assert_null(tz_get("Mars/Olympus", err, sizeof(err)));
	assert_null(tz_get("../../etc/passwd", err, sizeof(err)));
	assert_null(tz_get("/etc/passwd", err, sizeof(err)));
	assert_non_null(tz_get("UTC", err, sizeof(err)));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(every_period),
		cmocka_unit_test(cron_common),
		cmocka_unit_test(cron_day_rules),
		cmocka_unit_test(cron_refused),
		cmocka_unit_test(dst_berlin),
		cmocka_unit_test(dst_new_york),
		cmocka_unit_test(tz_offsets),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);

	tz_cache_free();
	return rc;
}
