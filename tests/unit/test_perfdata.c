/*
 * test_perfdata.c - lib/range and lib/perfdata against every example of the
 * monitoring-plugins development guidelines (threshold and range format,
 * performance data), plus the odd inputs real plugins print.
 */
#include "config.h"
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "perfdata.h"
#include "range.h"

static int
alerts(const char *range, double v)
{
	struct nrange r;

	assert_int_equal(range_parse(range, &r), 0);
	return range_alert(&r, v);
}

/* Guidelines, "Example ranges": "Generate an alert if x..." */
static void
test_range_guideline_table(void **state)
{
	(void)state;
	/* 10: < 0 or > 10 */
	assert_true(alerts("10", -0.5));
	assert_false(alerts("10", 0));
	assert_false(alerts("10", 10));
	assert_true(alerts("10", 10.01));
	/* 10: : < 10 */
	assert_true(alerts("10:", 9.99));
	assert_false(alerts("10:", 10));
	assert_false(alerts("10:", 1e9));
	/* ~:10 : > 10 */
	assert_false(alerts("~:10", -1e9));
	assert_false(alerts("~:10", 10));
	assert_true(alerts("~:10", 10.5));
	/* 10:20 : < 10 or > 20 */
	assert_true(alerts("10:20", 9));
	assert_false(alerts("10:20", 10));
	assert_false(alerts("10:20", 20));
	assert_true(alerts("10:20", 21));
	/* @10:20 : >= 10 and <= 20 */
	assert_false(alerts("@10:20", 9.9));
	assert_true(alerts("@10:20", 10));
	assert_true(alerts("@10:20", 15));
	assert_true(alerts("@10:20", 20));
	assert_false(alerts("@10:20", 20.1));
}

/* status as a plugin computes it from -w and -c */
static int
status_of(const char *w, const char *c, double v)
{
	struct nrange wr, cr;

	if (c) {
		assert_int_equal(range_parse(c, &cr), 0);
		if (range_alert(&cr, v))
			return 2;
	}
	if (w) {
		assert_int_equal(range_parse(w, &wr), 0);
		if (range_alert(&wr, v))
			return 1;
	}
	return 0;
}

/* Guidelines, "Command line examples" */
static void
test_range_guideline_command_lines(void **state)
{
	(void)state;
	/* -w10 -c20: critical over 20, else warn over 10, critical below 0 */
	assert_int_equal(status_of("10", "20", 5), 0);
	assert_int_equal(status_of("10", "20", 15), 1);
	assert_int_equal(status_of("10", "20", 25), 2);
	assert_int_equal(status_of("10", "20", -1), 2);
	/* -w~:10 -c~:20: same, negative is OK */
	assert_int_equal(status_of("~:10", "~:20", -1), 0);
	assert_int_equal(status_of("~:10", "~:20", 15), 1);
	assert_int_equal(status_of("~:10", "~:20", 25), 2);
	/* -w10: -c20: critical over 20, else warn below 10, critical below 0 */
	assert_int_equal(status_of("10:", "20", 5), 1);
	assert_int_equal(status_of("10:", "20", 15), 0);
	assert_int_equal(status_of("10:", "20", 25), 2);
	assert_int_equal(status_of("10:", "20", -1), 2);
	/* -c1: critical below 1 */
	assert_int_equal(status_of(NULL, "1:", 0), 2);
	assert_int_equal(status_of(NULL, "1:", 1), 0);
	/* -w~:0 -c10: critical above 10, warn above 0, critical below 0 */
	assert_int_equal(status_of("~:0", "10", 0), 0);
	assert_int_equal(status_of("~:0", "10", 5), 1);
	assert_int_equal(status_of("~:0", "10", 11), 2);
	assert_int_equal(status_of("~:0", "10", -1), 2);
	/* -c5:6: critical below 5 or above 6 */
	assert_int_equal(status_of(NULL, "5:6", 4), 2);
	assert_int_equal(status_of(NULL, "5:6", 5.5), 0);
	assert_int_equal(status_of(NULL, "5:6", 7), 2);
	/* -c@10:20: OK below 10 or above 20, else critical */
	assert_int_equal(status_of(NULL, "@10:20", 9), 0);
	assert_int_equal(status_of(NULL, "@10:20", 15), 2);
	assert_int_equal(status_of(NULL, "@10:20", 21), 0);
}

static void
test_range_parse_bad(void **state)
{
	static const char *const bad[] = { "", "abc", "10:5", "1:2:3", "@", "~", "10::",
		"nan", "inf", "0x10", "1e999", " 10", "10 ", "~:x", NULL };
	struct nrange r;
	int i;

	(void)state;
	for (i = 0; bad[i]; i++)
		if (range_parse(bad[i], &r) == 0)
			fail_msg("range \"%s\" parsed", bad[i]);
	assert_int_equal(range_parse(NULL, &r), -1);
	/* accepted forms */
	assert_int_equal(range_parse("-5:-1", &r), 0);
	assert_true(range_alert(&r, 0));
	assert_false(range_alert(&r, -3));
	assert_int_equal(range_parse("@~:0", &r), 0);
	assert_true(range_alert(&r, -1));
	assert_false(range_alert(&r, 1));
	assert_int_equal(range_parse("1.5:2.5", &r), 0);
	assert_true(range_alert(&r, 2.6));
}

static void
test_perf_guideline_format(void **state)
{
	struct perf_item it[4];
	char err[256];
	size_t n;

	(void)state;
	/* the full form: 'label'=value[UOM];[warn];[crit];[min];[max] */
	assert_int_equal(perfdata_parse("'label'=12.5MB;10;20;0;100", it, 4, &n, err, sizeof(err)), 0);
	assert_int_equal(n, 1);
	assert_string_equal(it[0].label, "label");
	assert_true(it[0].value_known);
	assert_true(it[0].value == 12.5);
	assert_string_equal(it[0].uom, "MB");
	assert_true(it[0].has_warn && it[0].has_crit && it[0].has_min && it[0].has_max);
	assert_string_equal(it[0].warn_text, "10");
	assert_true(it[0].min == 0 && it[0].max == 100);
	/* label with a space needs quotes; '' is a quote */
	assert_int_equal(perfdata_parse("'free space /var'=3 'it''s'=4", it, 4, &n, err, sizeof(err)), 0);
	assert_int_equal(n, 2);
	assert_string_equal(it[0].label, "free space /var");
	assert_string_equal(it[1].label, "it's");
	/* warn, crit, min, max may be empty; trailing semicolons may be dropped */
	assert_int_equal(perfdata_parse("a=1;;;; b=2;5 c=3;;7", it, 4, &n, err, sizeof(err)), 0);
	assert_int_equal(n, 3);
	assert_false(it[0].has_warn || it[0].has_crit || it[0].has_min || it[0].has_max);
	assert_true(it[1].has_warn && !it[1].has_crit);
	assert_true(!it[2].has_warn && it[2].has_crit);
	/* min and max are not required for % */
	assert_int_equal(perfdata_parse("used=73%;80;90", it, 4, &n, err, sizeof(err)), 0);
	assert_string_equal(it[0].uom, "%");
	/* value may be the literal U */
	assert_int_equal(perfdata_parse("rta=U;1;2", it, 4, &n, err, sizeof(err)), 0);
	assert_false(it[0].value_known);
	/* the UOMs of the guidelines: none, s us ms, %, B KB MB TB, c */
	{
		static const char *const uoms[] = { "s", "us", "ms", "%", "B", "KB", "MB", "TB", "c", NULL };
		int i;
		for (i = 0; uoms[i]; i++) {
			char s[32];
			snprintf(s, sizeof(s), "x=1%s", uoms[i]);
			assert_int_equal(perfdata_parse(s, it, 1, &n, err, sizeof(err)), 0);
			assert_string_equal(it[0].uom, uoms[i]);
		}
	}
	/* warn and crit are ranges */
	assert_int_equal(perfdata_parse("x=5;@10:20;~:30", it, 1, &n, err, sizeof(err)), 0);
	assert_true(it[0].warn.inside && it[0].crit.start_inf);
	/* negative numbers */
	assert_int_equal(perfdata_parse("t=-3.5;-10:;-20:;-40;60", it, 1, &n, err, sizeof(err)), 0);
	assert_true(it[0].value == -3.5 && it[0].min == -40);
}

/* The plugin output examples of the guidelines */
static void
test_perf_guideline_outputs(void **state)
{
	struct perf_item it[4];
	char err[256];
	size_t n;

	(void)state;
	/* "DISK OK - free space: / 3326 MB (56%); | /=2643MB;5948;5958;0;5968" */
	assert_int_equal(perfdata_parse("/=2643MB;5948;5958;0;5968", it, 4, &n, err, sizeof(err)), 0);
	assert_int_equal(n, 1);
	assert_string_equal(it[0].label, "/");
	assert_true(it[0].value == 2643 && it[0].max == 5968);
	/* the multi-line example's perfdata lines */
	assert_int_equal(perfdata_parse("/boot=68MB;88;93;0;98", it, 4, &n, err, sizeof(err)), 0);
	assert_string_equal(it[0].label, "/boot");
	assert_int_equal(perfdata_parse("/home=69357MB;253404;253409;0;253414 ", it, 4, &n, err, sizeof(err)), 0);
	assert_int_equal(n, 1);
	assert_int_equal(perfdata_parse("/var/log=818MB;970;975;0;980", it, 4, &n, err, sizeof(err)), 0);
	assert_true(it[0].crit.end == 975);
	/* check_load and check_ping style */
	assert_int_equal(perfdata_parse("load1=0.230;5.000;10.000;0; load5=0.280;5.000;10.000;0; "
	    "load15=0.150;5.000;10.000;0;", it, 4, &n, err, sizeof(err)), 0);
	assert_int_equal(n, 3);
	assert_true(it[2].value == 0.15 && !it[2].has_max);
	assert_int_equal(perfdata_parse("rta=0.080000ms;100.000000;500.000000;0.000000 pl=0%;20;60;0",
	    it, 4, &n, err, sizeof(err)), 0);
	assert_int_equal(n, 2);
	assert_string_equal(it[0].uom, "ms");
	/* exponent, as some plugins print */
	assert_int_equal(perfdata_parse("time=1.5e-05s;;;0", it, 4, &n, err, sizeof(err)), 0);
	assert_true(it[0].value > 1.4e-05 && it[0].value < 1.6e-05);
	assert_string_equal(it[0].uom, "s");
}

static void
test_perf_bad_and_limits(void **state)
{
	static const char *const bad[] = {
		"novalue", "=5", "a=", "a=abc", "a=1;x", "a=1;;x", "a=1;;;x", "a=1;;;;x",
		"a=1;1;2;3;4;5", "'unterminated=1", "'a'5", "a'b=1", "a=1ZZZZZZZZZZ", "a=1;10:5",
		"a=1;;;1x", NULL };
	struct perf_item it[2];
	char err[256], big[300];
	size_t n;
	int i;

	(void)state;
	for (i = 0; bad[i]; i++) {
		err[0] = '\0';
		if (perfdata_parse(bad[i], it, 2, &n, err, sizeof(err)) == 0)
			fail_msg("perfdata \"%s\" parsed", bad[i]);
		assert_true(strncmp(err, "item 1", 6) == 0);
	}
	/* the second item is named in the error */
	assert_int_equal(perfdata_parse("a=1 rta=x", it, 2, &n, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "item 2 (rta)"));
	/* empty text has no items */
	assert_int_equal(perfdata_parse("", it, 2, &n, err, sizeof(err)), 0);
	assert_int_equal(n, 0);
	assert_int_equal(perfdata_parse("   ", it, 2, &n, err, sizeof(err)), 0);
	assert_int_equal(n, 0);
	assert_int_equal(perfdata_parse(NULL, it, 2, &n, err, sizeof(err)), 0);
	/* more items than room: counted, first ones stored */
	assert_int_equal(perfdata_parse("a=1 b=2 c=3", it, 2, &n, err, sizeof(err)), 0);
	assert_int_equal(n, 3);
	assert_string_equal(it[1].label, "b");
	assert_int_equal(perfdata_parse("a=1 b=2 c=3", NULL, 0, &n, err, sizeof(err)), 0);
	assert_int_equal(n, 3);
	/* overlong label */
	memset(big, 'x', sizeof(big) - 3);
	memcpy(big + sizeof(big) - 3, "=1", 3);
	assert_int_equal(perfdata_parse(big, it, 2, &n, err, sizeof(err)), -1);
	/* a stray trailing ';' after max is tolerated */
	assert_int_equal(perfdata_parse("a=1;2;3;0;9;", it, 2, &n, err, sizeof(err)), 0);
	assert_true(it[0].max == 9);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_range_guideline_table),
		cmocka_unit_test(test_range_guideline_command_lines),
		cmocka_unit_test(test_range_parse_bad),
		cmocka_unit_test(test_perf_guideline_format),
		cmocka_unit_test(test_perf_guideline_outputs),
		cmocka_unit_test(test_perf_bad_and_limits),
	};

	return cmocka_run_group_tests_name("perfdata", tests, NULL, NULL);
}
