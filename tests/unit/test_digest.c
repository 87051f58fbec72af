/*
 * test_digest.c - unit tests for the words of a digest (serverd/notify/
 * digest.c, docs/alerting.md "Grouping (digests)"): worst first with a
 * check's members together in event order, the title's counts, the body's
 * lines and links, the cap on listed members, and the webhook's members.
 * cmocka, TAP out.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "digest.h"
#include "notify.h"
#include "serverd.h"

static struct digest_member
mem(int64_t id, int64_t check, int64_t agent, const char *kind, int status, const char *out)
{
	struct digest_member m;

	memset(&m, 0, sizeof(m));
	m.notification_id = 1000 + id;
	m.event_id = id;
	m.series = check ? check : -agent;
	m.check_id = check;
	m.agent_id = agent;
	m.kind = kind;
	m.status = status;
	m.prev_status = -1;
	m.agent = agent == 1 ? "web01" : agent == 2 ? "web02" : "db01";
	m.check = check ? (check == 10 ? "disk" : check == 11 ? "load" : check == 12 ? "http" : "ping") : "";
	m.output = out;
	return m;
}

static struct srv_conf conf;

static void
notice_of(struct notice *n, struct notice_digest *d)
{
	memset(n, 0, sizeof(*n));
	conf.public_url = (char *)"https://custos.example";
	n->conf = &conf;
	n->digest = d;
	n->id = d->id;
	n->kind = "DIGEST";
}

static void
test_sort_worst_first(void **ctx)
{
	struct digest_member m[] = {
		mem(1, 10, 1, "PROBLEM", 1, "disk 91%"),       /* WARNING */
		mem(2, 11, 1, "PROBLEM", 3, "no data"),        /* UNKNOWN */
		mem(3, 12, 2, "RECOVERY", 0, "ok"),            /* recovery */
		mem(4, 13, 3, "PROBLEM", 2, "timeout"),        /* CRITICAL */
		mem(5, 0, 2, "AGENT DOWN", -1, ""),            /* as bad as CRITICAL */
		mem(6, 10, 1, "PROBLEM", 2, "disk 99%"),       /* the WARNING check turns CRITICAL */
	};
	int64_t want[] = { 1, 6, 4, 5, 2, 3 };
	size_t i;

	(void)ctx;
	digest_sort(m, 6);
	for (i = 0; i < 6; i++)
		assert_int_equal(m[i].event_id, want[i]);
}

static void
test_title(void **ctx)
{
	struct digest_member m[] = {
		mem(1, 10, 1, "PROBLEM", 2, ""), mem(2, 11, 1, "PROBLEM", 1, ""),
		mem(3, 12, 2, "PROBLEM", 2, ""), mem(4, 13, 3, "RECOVERY", 0, ""),
		mem(5, 13, 3, "ACKNOWLEDGEMENT", 2, ""),
	};
	struct notice_digest d = { 7, 3, m };
	struct buf b;

	(void)ctx;
	buf_init(&b, 4096);
	digest_title(&d, &b);
	assert_string_equal(b.ptr, "3 problems on 2 agents");
	buf_reset(&b);
	d.n = 5;
	digest_title(&d, &b);
	assert_string_equal(b.ptr, "3 problems on 3 agents, 1 recovery, 1 other notification");
	buf_reset(&b);
	d.m = m + 3;
	d.n = 1;
	digest_title(&d, &b);   /* a digest of one: its notification's own title */
	assert_string_equal(b.ptr, "RECOVERY db01/ping is OK");
	buf_reset(&b);
	d.m = m + 1;
	digest_title(&d, &b);
	assert_string_equal(b.ptr, "PROBLEM web01/load is WARNING");
	buf_free(&b);
}

static void
test_body(void **ctx)
{
	struct digest_member m[] = {
		mem(1, 10, 1, "PROBLEM", 1, "disk 91%\nsecond line"),
		mem(2, 13, 3, "PROBLEM", 2, "timeout"),
		mem(3, 0, 2, "AGENT DOWN", -1, ""),
	};
	struct notice_digest d = { 42, 3, m };
	struct notice n;
	struct buf b;
	char *crit, *down, *warn;

	(void)ctx;
	digest_sort(m, 3);
	notice_of(&n, &d);
	buf_init(&b, 65536);
	notice_title(&n, &b);   /* notify_format.c speaks for the digest */
	assert_string_equal(b.ptr, "3 problems on 3 agents");   /* an agent down is one */
	buf_reset(&b);
	notice_body(&n, &b);
	crit = strstr(b.ptr, "CRITICAL db01/ping (PROBLEM): timeout\n"
	    "         https://custos.example/checks/13\n");
	down = strstr(b.ptr, "DOWN     web02 (AGENT DOWN)\n         https://custos.example/agents/2\n");
	warn = strstr(b.ptr, "WARNING  web01/disk (PROBLEM): disk 91% second line\n");
	assert_non_null(crit);
	assert_non_null(down);
	assert_non_null(warn);
	assert_true(crit < down && down < warn);
	assert_non_null(strstr(b.ptr, "Digest 42: 3 notifications"));
	buf_reset(&b);
	d.n = 1;   /* the worst alone: titled as itself, and not "1 notifications" */
	notice_body(&n, &b);
	assert_int_equal(strncmp(b.ptr, "PROBLEM db01/ping is CRITICAL\n", 30), 0);
	assert_non_null(strstr(b.ptr, "Digest 42: held back in a storm of notifications to you;"));
	assert_null(strstr(b.ptr, "1 notification"));
	buf_reset(&b);
	notice_link(&n, &b);
	assert_string_equal(b.ptr, "https://custos.example/");
	buf_free(&b);
}

static void
test_body_cap(void **ctx)
{
	size_t i, total = 3 * DIGEST_LINES_MAX;
	struct digest_member *m = calloc(total, sizeof(*m));
	struct notice_digest d = { 9, total, m };
	struct notice n;
	struct buf b;
	char more[64];
	const char *p;
	size_t lines = 0;

	(void)ctx;
	assert_non_null(m);
	for (i = 0; i < total; i++)
		m[i] = mem((int64_t)i + 1, 100 + (int64_t)i, 1, "PROBLEM", 2, "x");
	notice_of(&n, &d);
	buf_init(&b, 65536);   /* an email's cap: a storm's digest fits */
	notice_body(&n, &b);
	assert_false(b.failed);
	for (p = b.ptr; (p = strstr(p, "CRITICAL ")) != NULL; p++)
		lines++;
	assert_int_equal(lines, DIGEST_LINES_MAX);
	snprintf(more, sizeof(more), "... and %zu more: https://custos.example/", total - DIGEST_LINES_MAX);
	assert_non_null(strstr(b.ptr, more));
	buf_free(&b);
	free(m);
}

static void
test_output_one_line_cut(void **ctx)
{
	char big[DIGEST_OUTPUT_MAX * 2 + 1];
	struct digest_member m[1];
	struct notice_digest d = { 1, 1, m };
	struct notice n;
	json_t *a;
	const char *o;

	(void)ctx;
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	big[5] = '\n';
	m[0] = mem(1, 10, 1, "PROBLEM", 2, big);
	notice_of(&n, &d);
	a = digest_members_json(&n);
	assert_non_null(a);
	assert_int_equal(json_array_size(a), 1);
	o = json_string_value(json_object_get(json_array_get(a, 0), "output"));
	assert_non_null(o);
	assert_int_equal(strlen(o), DIGEST_OUTPUT_MAX + 3);   /* + U+2026 */
	assert_null(strchr(o, '\n'));
	assert_string_equal(json_string_value(json_object_get(json_array_get(a, 0), "status")),
	    "CRITICAL");
	assert_string_equal(json_string_value(json_object_get(json_array_get(a, 0), "url")),
	    "https://custos.example/checks/10");
	assert_int_equal(json_integer_value(json_object_get(json_array_get(a, 0), "event_id")), 1);
	json_decref(a);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sort_worst_first),
		cmocka_unit_test(test_title),
		cmocka_unit_test(test_body),
		cmocka_unit_test(test_body_cap),
		cmocka_unit_test(test_output_one_line_cut),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
