/*
 * test_validate.c - unit tests for the API's JSON validators
 * (serverd/apiutil.c): every wrong type is a 400, every broken rule or
 * missing field a 422, and the error names the field.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "apiutil.h"

static json_t *
J(const char *text)
{
	json_t *j = json_loads(text, 0, NULL);

	assert_non_null(j);
	return j;
}

/* the field named by an error response */
static const char *
field_of(struct resp *rs)
{
	return json_string_value(json_object_get(rs->json, "field"));
}

static void
reset(struct resp *rs)
{
	json_decref(rs->json);
	memset(rs, 0, sizeof(*rs));
}

static void
object_required(void **state)
{
	struct req r;
	struct resp rs;

	(void)state;
	memset(&r, 0, sizeof(r));
	memset(&rs, 0, sizeof(rs));
	assert_int_equal(jv_object(&r, &rs), -1);
	assert_int_equal(rs.status, 400);
	reset(&rs);
	r.body = J("[1]");
	assert_int_equal(jv_object(&r, &rs), -1);
	assert_int_equal(rs.status, 400);
	assert_non_null(json_object_get(rs.json, "error"));
	json_decref(r.body);
	reset(&rs);
	r.body = J("{}");
	assert_int_equal(jv_object(&r, &rs), 0);
	json_decref(r.body);
}

static void
unknown_members(void **state)
{
	static const char *const allowed[] = { "name", "interval_s", NULL };
	struct resp rs;
	json_t *o = J("{\"name\": \"a\", \"colour\": 1}");

	(void)state;
	memset(&rs, 0, sizeof(rs));
	assert_int_equal(jv_known(o, allowed, &rs), -1);
	assert_int_equal(rs.status, 422);
	assert_string_equal(field_of(&rs), "colour");
	reset(&rs);
	json_object_del(o, "colour");
	assert_int_equal(jv_known(o, allowed, &rs), 0);
	json_decref(o);
}

static void
strings(void **state)
{
	struct resp rs;
	const char *s = NULL;
	json_t *o = J("{\"a\": \"web01\", \"n\": 5, \"z\": null, \"long\": \"abcdef\"}");

	(void)state;
	memset(&rs, 0, sizeof(rs));
	assert_int_equal(jv_str(o, "a", 1, 10, &s, &rs), 1);
	assert_string_equal(s, "web01");
	assert_int_equal(jv_str(o, "missing", 0, 10, &s, &rs), 0);
	assert_int_equal(jv_str(o, "z", 0, 10, &s, &rs), 0);
	assert_int_equal(jv_str(o, "missing", 1, 10, &s, &rs), -1);
	assert_int_equal(rs.status, 422);
	assert_string_equal(field_of(&rs), "missing");
	reset(&rs);
	assert_int_equal(jv_str(o, "n", 1, 10, &s, &rs), -1);
	assert_int_equal(rs.status, 400);
	assert_string_equal(field_of(&rs), "n");
	reset(&rs);
	assert_int_equal(jv_str(o, "long", 1, 5, &s, &rs), -1);
	assert_int_equal(rs.status, 422);
	reset(&rs);
	json_decref(o);
	/* jansson refuses \u0000 unless asked; a string with a NUL never gets here */
	o = json_loads("{\"nul\": \"x\\u0000y\"}", JSON_ALLOW_NUL, NULL);
	assert_non_null(o);
	assert_int_equal(jv_str(o, "nul", 1, 10, &s, &rs), -1);
	assert_int_equal(rs.status, 422);
	reset(&rs);
	json_decref(o);
}

static void
integers(void **state)
{
	struct resp rs;
	long long v = 0;
	json_t *o = J("{\"i\": 60, \"f\": 1.5, \"s\": \"60\", \"big\": 100000, \"neg\": -1}");

	(void)state;
	memset(&rs, 0, sizeof(rs));
	assert_int_equal(jv_int(o, "i", 1, 5, 86400, &v, &rs), 1);
	assert_int_equal(v, 60);
	assert_int_equal(jv_int(o, "f", 1, 5, 86400, &v, &rs), -1);
	assert_int_equal(rs.status, 400);
	reset(&rs);
	assert_int_equal(jv_int(o, "s", 1, 5, 86400, &v, &rs), -1);
	assert_int_equal(rs.status, 400);
	assert_string_equal(field_of(&rs), "s");
	reset(&rs);
	assert_int_equal(jv_int(o, "big", 1, 5, 86400, &v, &rs), -1);
	assert_int_equal(rs.status, 422);
	reset(&rs);
	assert_int_equal(jv_int(o, "neg", 1, 0, 10, &v, &rs), -1);
	assert_int_equal(rs.status, 422);
	reset(&rs);
	assert_int_equal(jv_int(o, "absent", 0, 0, 10, &v, &rs), 0);
	json_decref(o);
}

static void
booleans(void **state)
{
	struct resp rs;
	int b = -1;
	json_t *o = J("{\"t\": true, \"f\": false, \"s\": \"yes\", \"n\": 1}");

	(void)state;
	memset(&rs, 0, sizeof(rs));
	assert_int_equal(jv_bool(o, "t", &b, &rs), 1);
	assert_int_equal(b, 1);
	assert_int_equal(jv_bool(o, "f", &b, &rs), 1);
	assert_int_equal(b, 0);
	assert_int_equal(jv_bool(o, "s", &b, &rs), -1);
	assert_int_equal(rs.status, 400);
	reset(&rs);
	assert_int_equal(jv_bool(o, "n", &b, &rs), -1);
	assert_int_equal(rs.status, 400);
	reset(&rs);
	json_decref(o);
}

static void
id_lists(void **state)
{
	struct resp rs;
	char *lit = NULL;
	int present = 0;
	json_t *o = J("{\"ok\": [3, 1, 2], \"empty\": [], \"null\": null, \"str\": [\"1\"],"
	    " \"zero\": [0], \"obj\": {}}");

	(void)state;
	memset(&rs, 0, sizeof(rs));
	assert_int_equal(jv_ids(o, "ok", &lit, &present, &rs), 1);
	assert_string_equal(lit, "{3,1,2}");
	assert_int_equal(present, 1);
	free(lit);
	assert_int_equal(jv_ids(o, "empty", &lit, &present, &rs), 1);
	assert_string_equal(lit, "{}");
	free(lit);
	assert_int_equal(jv_ids(o, "null", &lit, &present, &rs), 0);
	assert_null(lit);
	assert_int_equal(present, 1);   /* explicitly null: clears the list */
	assert_int_equal(jv_ids(o, "absent", &lit, &present, &rs), 0);
	assert_int_equal(present, 0);
	assert_int_equal(jv_ids(o, "str", &lit, &present, &rs), -1);
	assert_int_equal(rs.status, 400);
	assert_string_equal(field_of(&rs), "str");
	reset(&rs);
	assert_int_equal(jv_ids(o, "zero", &lit, &present, &rs), -1);
	assert_int_equal(rs.status, 400);
	reset(&rs);
	assert_int_equal(jv_ids(o, "obj", &lit, &present, &rs), -1);
	assert_int_equal(rs.status, 400);
	reset(&rs);
	json_decref(o);
}

static void
error_shape(void **state)
{
	struct resp rs;

	(void)state;
	memset(&rs, 0, sizeof(rs));
	resp_error(&rs, 422, "warning", "bad range \"%s\"", "10:5");
	assert_int_equal(rs.status, 422);
	assert_string_equal(json_string_value(json_object_get(rs.json, "error")), "bad range \"10:5\"");
	assert_string_equal(field_of(&rs), "warning");
	assert_int_equal(json_object_size(rs.json), 2);
	reset(&rs);
	resp_error(&rs, 404, NULL, "no such route");
	assert_null(json_object_get(rs.json, "field"));
	reset(&rs);
	resp_json(&rs, 200, NULL);   /* a failed allocation upstream becomes a 500 */
	assert_int_equal(rs.status, 500);
	reset(&rs);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(object_required),
		cmocka_unit_test(unknown_members),
		cmocka_unit_test(strings),
		cmocka_unit_test(integers),
		cmocka_unit_test(booleans),
		cmocka_unit_test(id_lists),
		cmocka_unit_test(error_shape),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
