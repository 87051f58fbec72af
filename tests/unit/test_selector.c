/*
 * test_selector.c - unit tests for lib/selector.c: label keys and values,
 * the selector parser (each form, each error with its column), the label
 * list of agentd.conf, and the reference evaluator. cmocka, TAP out.
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

#include "selector.h"

static void
keys_and_values(void **state)
{
	char k63[64], k64[65], v256[257];

	(void)state;
	memset(k63, 'a', 63);
	k63[63] = '\0';
	memset(k64, 'a', 64);
	k64[64] = '\0';
	memset(v256, 'x', 256);
	v256[256] = '\0';
	assert_true(label_key_valid("team"));
	assert_true(label_key_valid("app.kubernetes_io-x9"));
	assert_true(label_key_valid(k63));
	assert_false(label_key_valid(k64));
	assert_false(label_key_valid(""));
	assert_false(label_key_valid("Team"));
	assert_false(label_key_valid("a b"));
	assert_false(label_key_valid("a=b"));
	assert_true(label_value_valid(""));
	assert_true(label_value_valid(v256 + 1));
	assert_false(label_value_valid(v256));
}

static void
parse_forms(void **state)
{
	struct selector s;
	char err[256];

	(void)state;
	assert_int_equal(selector_parse("selector",
	    "team=db, env!=dev,fact.os=debian,role in (web, api),role notin(x),key,!gone,a==b,"
	    "fact.interfaces.eth0,q=\"a, \\\"b\\\"\",e=\"\"", &s, err, sizeof(err)), 0);
	assert_int_equal(s.n, 11);
	assert_int_equal(s.reqs[0].op, SEL_IN);
	assert_string_equal(s.reqs[0].key, "team");
	assert_int_equal(s.reqs[0].nvalues, 1);
	assert_string_equal(s.reqs[0].values[0], "db");
	assert_int_equal(s.reqs[1].op, SEL_NOTIN);
	assert_string_equal(s.reqs[1].values[0], "dev");
	assert_true(s.reqs[2].fact);
	assert_string_equal(s.reqs[2].key, "os");
	assert_int_equal(s.reqs[3].op, SEL_IN);
	assert_int_equal(s.reqs[3].nvalues, 2);
	assert_string_equal(s.reqs[3].values[1], "api");
	assert_int_equal(s.reqs[4].op, SEL_NOTIN);
	assert_string_equal(s.reqs[4].values[0], "x");
	assert_int_equal(s.reqs[5].op, SEL_EXISTS);
	assert_int_equal(s.reqs[6].op, SEL_NOT_EXISTS);
	assert_string_equal(s.reqs[6].key, "gone");
	assert_string_equal(s.reqs[7].values[0], "b");
	assert_true(s.reqs[8].fact);
	assert_string_equal(s.reqs[8].key, "interfaces.eth0");
	assert_int_equal(s.reqs[8].op, SEL_EXISTS);
	assert_string_equal(s.reqs[9].values[0], "a, \"b\"");
	assert_string_equal(s.reqs[10].values[0], "");
	selector_free(&s);
	/* a key named like the operator is a key */
	assert_int_equal(selector_parse("selector", "in", &s, err, sizeof(err)), 0);
	assert_int_equal(s.reqs[0].op, SEL_EXISTS);
	selector_free(&s);
}

/* each bad text fails with this exact message */
static void
parse_errors(void **state)
{
	static const struct { const char *text, *msg; } cases[] = {
		{ "", "selector:1: empty" },
		{ "team=db,", "selector:9: expected a label key at the end" },
		{ "team=db,env", NULL },
		{ "team db", "selector:6: expected \"=\", \"!=\", \"in\", \"notin\" or \",\" after \"team\"" },
		{ "Team=db", "selector:1: label keys are lower case ([a-z0-9_.-])" },
		{ "team=", "selector:6: expected a value at the end (\"\" for an empty one)" },
		{ "team=(x)", "selector:6: expected a value, found \"(\" (quote values that contain it)" },
		{ "role in web", "selector:9: expected \"(\" after \"in\"" },
		{ "role in (a b)", "selector:12: expected \",\" or \")\" in the list of \"role\"" },
		{ "role in (a,", "selector:12: expected a value at the end (\"\" for an empty one)" },
		{ "q=\"open", "selector:3: unterminated quoted value" },
		{ "fact.=x", "selector:6: expected a fact name after \"fact.\"" },
		{ "fact.os.=x", "selector:9: expected a fact name after \"fact.os.\"" },
		{ "a=b)", "selector:4: expected \",\" or the end, found \")\"" },
		{ "!", "selector:2: expected a label key at the end" },
		{ "a=b c", "selector:5: expected \",\" or the end, found \"c\"" },
	};
	struct selector s;
	char err[256];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc = selector_parse("selector", cases[i].text, &s, err, sizeof(err));
		if (cases[i].msg == NULL) {
			assert_int_equal(rc, 0);
			selector_free(&s);
			continue;
		}
		if (rc != -1 || strcmp(err, cases[i].msg) != 0)
			fail_msg("\"%s\": rc %d, \"%s\", wanted \"%s\"", cases[i].text, rc, err, cases[i].msg);
		assert_null(s.reqs);
		assert_int_equal(s.n, 0);
	}
}

static void
parse_limits(void **state)
{
	char text[SELECTOR_TEXT_MAX + 2], err[256];
	struct selector s;
	size_t i, n = 0;

	(void)state;
	/* 33 requirements */
	for (i = 0; i < SELECTOR_REQS_MAX + 1; i++)
		n += (size_t)snprintf(text + n, sizeof(text) - n, "%sk%zu", i ? "," : "", i);
	assert_int_equal(selector_parse("selector", text, &s, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "more than 32 requirements"));
	/* 65 values */
	n = (size_t)snprintf(text, sizeof(text), "k in (");
	for (i = 0; i < SELECTOR_VALUES_MAX + 1; i++)
		n += (size_t)snprintf(text + n, sizeof(text) - n, "%sv%zu", i ? "," : "", i);
	snprintf(text + n, sizeof(text) - n, ")");
	assert_int_equal(selector_parse("selector", text, &s, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "more than 64 values"));
	/* too long a text, key, value */
	memset(text, 'a', sizeof(text) - 1);
	text[sizeof(text) - 1] = '\0';
	assert_int_equal(selector_parse("selector", text, &s, err, sizeof(err)), -1);
	assert_string_equal(err, "selector:1: longer than 4096 bytes");
	text[64] = '\0';
	assert_int_equal(selector_parse("selector", text, &s, err, sizeof(err)), -1);
	assert_string_equal(err, "selector:64: label key longer than 63 bytes");
	text[0] = 'k';
	text[1] = '=';
	text[258] = '\0';
	memset(text + 2, 'v', 256);
	assert_int_equal(selector_parse("selector", text, &s, err, sizeof(err)), -1);
	assert_string_equal(err, "selector:3: value longer than 255 bytes");
}

static void
labels_list(void **state)
{
	struct selector s;
	char err[256];

	(void)state;
	assert_int_equal(labels_parse("labels", "role=web, env=prod", &s, err, sizeof(err)), 0);
	assert_int_equal(s.n, 2);
	assert_string_equal(s.reqs[1].key, "env");
	assert_string_equal(s.reqs[1].values[0], "prod");
	selector_free(&s);
	assert_int_equal(labels_parse("labels", "  ", &s, err, sizeof(err)), 0);
	assert_int_equal(s.n, 0);
	assert_int_equal(labels_parse("labels", "role=web,role=db", &s, err, sizeof(err)), -1);
	assert_string_equal(err, "labels: label \"role\" given twice");
	assert_int_equal(labels_parse("labels", "role!=web", &s, err, sizeof(err)), -1);
	assert_string_equal(err, "labels: \"role\": labels are key=value pairs");
	assert_int_equal(labels_parse("labels", "fact.os=x", &s, err, sizeof(err)), -1);
	assert_int_equal(labels_parse("labels", "role in (a)", &s, err, sizeof(err)), -1);
	assert_int_equal(labels_parse("labels", "role", &s, err, sizeof(err)), -1);
	assert_int_equal(labels_parse("labels", "Role=x", &s, err, sizeof(err)), -1);
	assert_string_equal(err, "labels:1: label keys are lower case ([a-z0-9_.-])");
}

/* the object under test: labels and facts as "key=value" lists */
struct obj {
	const char *const *labels, *const *facts;
};

static const char *
lookup(void *ctx, int fact, const char *key)
{
	const struct obj *o = ctx;
	const char *const *l = fact ? o->facts : o->labels;
	size_t n = strlen(key);

	for (; l && *l; l++)
		if (strncmp(*l, key, n) == 0 && (*l)[n] == '=')
			return *l + n + 1;
	return NULL;
}

static int
matches(const char *text, const struct obj *o)
{
	struct selector s;
	char err[256];
	int m;

	if (selector_parse("selector", text, &s, err, sizeof(err)) < 0)
		fail_msg("%s", err);
	m = selector_match(&s, lookup, (void *)o);
	selector_free(&s);
	return m;
}

static void
evaluate(void **state)
{
	static const char *const wl[] = { "team=db", "role=web", "env=prod", "empty=", NULL };
	static const char *const wf[] = { "os=debian", "interfaces.eth0=x", NULL };
	const struct obj web = { wl, wf }, bare = { NULL, NULL };

	(void)state;
	assert_true(matches("team=db", &web));
	assert_false(matches("team=web", &web));
	assert_false(matches("team=db", &bare));
	assert_true(matches("env!=dev", &web));
	assert_false(matches("env!=prod", &web));
	assert_true(matches("env!=dev", &bare));          /* absent: not "dev" */
	assert_true(matches("role in (api,web)", &web));
	assert_false(matches("role in (api,db)", &web));
	assert_false(matches("role in (web)", &bare));
	assert_true(matches("role notin (api,db)", &web));
	assert_false(matches("role notin (web)", &web));
	assert_true(matches("role notin (web)", &bare));
	assert_true(matches("team", &web));
	assert_false(matches("team", &bare));
	assert_true(matches("!team", &bare));
	assert_false(matches("!team", &web));
	assert_true(matches("fact.os=debian", &web));
	assert_false(matches("fact.os=debian", &bare));
	assert_false(matches("os=debian", &web));          /* a label, not the fact */
	assert_true(matches("fact.interfaces.eth0", &web));
	assert_true(matches("empty=\"\"", &web));
	assert_true(matches("team=db,env!=dev,fact.os=debian,role in (web,api)", &web));
	assert_false(matches("team=db,env=dev", &web));    /* AND */
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(keys_and_values),
		cmocka_unit_test(parse_forms),
		cmocka_unit_test(parse_errors),
		cmocka_unit_test(parse_limits),
		cmocka_unit_test(labels_list),
		cmocka_unit_test(evaluate),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
