/*
 * test_yamlload.c - unit tests for cli/yamlload.c, the configuration
 * files of custos apply: values and their types (text members, labels),
 * the position of every member, documents and lists, a directory read in
 * name order (hidden and foreign files skipped), and bad YAML answered
 * with FILE:LINE:COLUMN. cmocka, TAP out.
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
#include <sys/stat.h>
#include <unistd.h>

#include "yamlload.h"

static char dir[] = "/tmp/test_yamlload.XXXXXX";

static void
put(const char *name, const char *text)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

/* Loads one path under dir; the set is the caller's to free. */
static int
load(const char *name, struct yaml_set *set, char *err, size_t errlen)
{
	char path[512];
	char *paths[1] = { path };

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	memset(set, 0, sizeof(*set));
	err[0] = '\0';
	return yaml_load_paths(paths, 1, set, err, errlen);
}

static void
values_and_positions(void **state)
{
	struct yaml_set set;
	char err[512], where[600], *s;
	json_t *o;

	(void)state;
	put("a.yaml",
	    "kind: check\n"                       /* 1 */
	    "agent: web01\n"                      /* 2 */
	    "name: 007\n"                         /* 3: text whatever it looks like */
	    "warning: 90\n"                       /* 4 */
	    "critical: ~\n"                       /* 5: null stays null */
	    "max_attempts: 3\n"                   /* 6 */
	    "enabled: false\n"                    /* 7 */
	    "params:\n"                           /* 8 */
	    "  url: \"http://x/\"\n"              /* 9 */
	    "  timeout: 2.5\n"                    /* 10 */
	    "  port: '80'\n"                      /* 11: quoted: a string */
	    "labels: {tier: 1, on: true}\n"       /* 12: values are text */
	    "contacts: [alice, 3]\n");            /* 13: names, even 3 */
	assert_int_equal(load("a.yaml", &set, err, sizeof(err)), 0);
	assert_int_equal(set.n, 1);
	o = set.o[0].obj;
	s = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
	assert_string_equal(s, "{\"agent\":\"web01\",\"contacts\":[\"alice\",\"3\"],\"critical\":null,"
	    "\"enabled\":false,\"kind\":\"check\",\"labels\":{\"on\":\"true\",\"tier\":\"1\"},"
	    "\"max_attempts\":3,\"name\":\"007\",\"params\":{\"port\":\"80\",\"timeout\":2.5,"
	    "\"url\":\"http://x/\"},\"warning\":\"90\"}");
	free(s);
	assert_int_equal(set.o[0].line, 1);
	assert_int_equal(set.o[0].col, 1);
	yaml_where(&set, 0, "warning", where, sizeof(where));
	assert_non_null(strstr(where, "/a.yaml:4:10"));
	yaml_where(&set, 0, "params.url", where, sizeof(where));
	assert_non_null(strstr(where, "/a.yaml:9:8"));
	/* a parameter's name alone is found under params */
	yaml_where(&set, 0, "timeout", where, sizeof(where));
	assert_non_null(strstr(where, "/a.yaml:10:12"));
	/* an unknown field: where the object begins */
	yaml_where(&set, 0, "nosuch", where, sizeof(where));
	assert_non_null(strstr(where, "/a.yaml:1:1"));
	yaml_set_free(&set);
}

static void
documents_and_lists(void **state)
{
	struct yaml_set set;
	char err[512], where[600];

	(void)state;
	put("b.yml",
	    "# a comment\n"
	    "kind: agent\n"
	    "name: a1\n"
	    "---\n"
	    "---\n"                                /* an empty document: skipped */
	    "- kind: agent\n"
	    "  name: a2\n"
	    "- &base {kind: agent, name: a3, interval_s: 30}\n"
	    "- *base\n");
	assert_int_equal(load("b.yml", &set, err, sizeof(err)), 0);
	assert_int_equal(set.n, 4);
	assert_string_equal(json_string_value(json_object_get(set.o[1].obj, "name")), "a2");
	assert_int_equal(set.o[1].line, 6);
	assert_int_equal(set.o[1].col, 3);
	assert_int_equal(json_integer_value(json_object_get(set.o[3].obj, "interval_s")), 30);
	yaml_where(&set, 1, "name", where, sizeof(where));
	assert_non_null(strstr(where, "/b.yml:7:9"));
	yaml_set_free(&set);

	put("c.json", "[{\"kind\": \"contact\", \"name\": \"alice\",\n \"email\": \"a@example.com\"}]");
	assert_int_equal(load("c.json", &set, err, sizeof(err)), 0);
	assert_int_equal(set.n, 1);
	yaml_where(&set, 0, "email", where, sizeof(where));
	assert_non_null(strstr(where, "/c.json:2:11"));
	yaml_set_free(&set);
}

static void
bad_yaml(void **state)
{
	static const struct { const char *text, *want; } bad[] = {
		{ "kind: agent\nname: x\n  interval_s: 5\n", ":3:13: YAML: mapping values are not allowed" },
		{ "kind: agent\nname: [x\n", ":3:1: YAML: did not find expected ',' or ']'" },
		{ "kind: agent\nname: x\nname: y\n", ":3:1: duplicate key \"name\"" },
		{ "kind: agent\n[a]: x\n", ":2:1: a key must be a plain word" },
		{ "- kind: agent\n- 5\n", ":2:3: expected an object" },
		{ "just text\n", ":1:1: expected an object" },
		{ "a: *nowhere\n", ":1:4: YAML: found undefined alias" },
		{ "a: \xff\n", "YAML: invalid leading UTF-8 octet" },   /* not text */
	};
	struct yaml_set set;
	char err[512];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		put("bad.yaml", bad[i].text);
		assert_int_equal(load("bad.yaml", &set, err, sizeof(err)), -1);
		if (strstr(err, bad[i].want) == NULL) {
			print_error("case %zu: \"%s\" does not hold \"%s\"\n", i, err, bad[i].want);
			fail();
		}
		assert_non_null(strstr(err, "/bad.yaml:"));
		yaml_set_free(&set);
	}
	assert_int_equal(load("missing.yaml", &set, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "missing.yaml: No such file"));
	yaml_set_free(&set);
}

static void
directory_order(void **state)
{
	struct yaml_set set;
	char err[512], sub[600];
	const char *want[] = { "n1", "n2", "n3", "n4", "n5" };
	size_t i;

	(void)state;
	snprintf(sub, sizeof(sub), "%s/tree", dir);
	assert_int_equal(mkdir(sub, 0700), 0);
	snprintf(sub, sizeof(sub), "%s/tree/b", dir);
	assert_int_equal(mkdir(sub, 0700), 0);
	put("tree/c.yaml", "{kind: agent, name: n5}\n");
	put("tree/b/z.yml", "{kind: agent, name: n4}\n");
	put("tree/b/a.json", "{\"kind\": \"agent\", \"name\": \"n3\"}\n");
	put("tree/a.yaml", "{kind: agent, name: n1}\n---\n{kind: agent, name: n2}\n");
	put("tree/.hidden.yaml", "{kind: agent, name: hidden}\n");
	put("tree/notes.txt", "not: read\n");
	put("tree/b/broken.yaml~", "[[[\n");
	assert_int_equal(load("tree", &set, err, sizeof(err)), 0);
	assert_int_equal(set.n, 5);
	for (i = 0; i < 5; i++)
		assert_string_equal(json_string_value(json_object_get(set.o[i].obj, "name")), want[i]);
	assert_non_null(strstr(set.o[3].file, "/tree/b/z.yml"));
	yaml_set_free(&set);
	/* a file named on the command line is read whatever its name */
	assert_int_equal(load("tree/notes.txt", &set, err, sizeof(err)), 0);
	assert_int_equal(set.n, 1);
	yaml_set_free(&set);
}

static void
aliases_capped(void **state)
{
	struct yaml_set set;
	char err[512];
	char text[2048] = "a: &a [x, x, x, x, x, x, x, x, x, x]\n";
	int i;

	(void)state;
	/* nine levels of ten aliases each: a billion nodes, refused */
	for (i = 0; i < 9; i++)
		snprintf(text + strlen(text), sizeof(text) - strlen(text),
		    "%c: &%c [*%c, *%c, *%c, *%c, *%c, *%c, *%c, *%c, *%c, *%c]\n", 'b' + i, 'b' + i,
		    'a' + i, 'a' + i, 'a' + i, 'a' + i, 'a' + i, 'a' + i, 'a' + i, 'a' + i, 'a' + i,
		    'a' + i);
	put("laughs.yaml", text);
	assert_int_equal(load("laughs.yaml", &set, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "too many nodes"));
	yaml_set_free(&set);
}

static int
setup(void **state)
{
	(void)state;
	return mkdtemp(dir) ? 0 : -1;
}

static int
teardown(void **state)
{
	char cmd[600];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(values_and_positions),
		cmocka_unit_test(documents_and_lists),
		cmocka_unit_test(bad_yaml),
		cmocka_unit_test(directory_order),
		cmocka_unit_test(aliases_capped),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
