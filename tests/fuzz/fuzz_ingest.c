/* fuzz_ingest.c - the body of POST /api/v1/check_history, differentially:
 * serverd/api/ingest_parse.c against what it replaced, jansson's
 * json_loadb(JSON_REJECT_DUPLICATES) and ingest.c's checks on jansson's
 * tree (kept below as they were, resp_error() writing into a struct
 * instead). Aborts when the two differ: body accepted or refused, the
 * status, "field" and message of a refusal (for a syntax error only its
 * shape: the reason texts differ), the number of results, any member of
 * any result. */
#include "config.h"
#include <jansson.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ingest_parse.h"
#include "timeutil.h"

#define NOW_US 1767225600000000LL   /* 2026-01-01T00:00:00Z: the request's arrival */
#define SKEW_US 300000000LL          /* max_clock_skew_s = 300 */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* ---- ingest.c before ingest_parse.c ---------------------------------------- */

static void old_error(struct ingest_err *rs, int status, const char *field, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void
old_error(struct ingest_err *rs, int status, const char *field, const char *fmt, ...)
{
	va_list ap;

	rs->status = status;
	rs->field = field;
	va_start(ap, fmt);
	vsnprintf(rs->msg, sizeof(rs->msg), fmt, ap);
	va_end(ap);
}

static int
opt_text(json_t *o, const char *key, size_t idx, const char **out, struct ingest_err *rs)
{
	json_t *v = json_object_get(o, key);

	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_string(v)) {
		old_error(rs, 400, key, "result %zu: %s must be a string or null", idx, key);
		return -1;
	}
	if (json_string_length(v) > INGEST_MAX_OUTPUT) {
		old_error(rs, 422, key, "result %zu: %s longer than %d bytes", idx, key,
		    INGEST_MAX_OUTPUT);
		return -1;
	}
	*out = json_string_value(v);
	return 0;
}

static int
parse_result(json_t *o, size_t idx, int64_t now_us, int64_t max_skew_us, struct result *res,
    struct ingest_err *rs)
{
	json_t *v;
	const char *key;

	memset(res, 0, sizeof(*res));
	res->idx = idx;
	res->duration_ms = -1;
	if (!json_is_object(o)) {
		old_error(rs, 400, NULL, "result %zu: expected an object", idx);
		return -1;
	}
	json_object_foreach(o, key, v) {
		static const char *const known[] = { "check_id", "status", "output", "value",
		    "perfdata", "observed_at", "duration_ms", "result_id", NULL };
		int i;
		for (i = 0; known[i]; i++)
			if (strcmp(key, known[i]) == 0)
				break;
		if (known[i] == NULL) {
			old_error(rs, 422, key, "result %zu: unknown field \"%s\"", idx, key);
			return -1;
		}
	}
	v = json_object_get(o, "check_id");
	if (v == NULL) {
		old_error(rs, 422, "check_id", "result %zu: check_id is required", idx);
		return -1;
	}
	if (!json_is_integer(v) || json_integer_value(v) < 1) {
		old_error(rs, 400, "check_id", "result %zu: check_id must be a positive integer", idx);
		return -1;
	}
	res->check_id = json_integer_value(v);
	v = json_object_get(o, "status");
	if (v == NULL) {
		old_error(rs, 422, "status", "result %zu: status is required", idx);
		return -1;
	}
	if (!json_is_integer(v)) {
		old_error(rs, 400, "status", "result %zu: status must be an integer 0..3", idx);
		return -1;
	}
	if (json_integer_value(v) < 0 || json_integer_value(v) > 3) {
		old_error(rs, 422, "status", "result %zu: status must be 0 (OK), 1 (WARNING), "
		    "2 (CRITICAL) or 3 (UNKNOWN)", idx);
		return -1;
	}
	res->status = (int)json_integer_value(v);
	if (opt_text(o, "output", idx, &res->output, rs) < 0)
		return -1;
	v = json_object_get(o, "value");
	if (v && !json_is_null(v)) {
		if (!json_is_number(v)) {
			old_error(rs, 400, "value", "result %zu: value must be a number or null", idx);
			return -1;
		}
		res->has_value = 1;
		res->value = json_number_value(v);
	}
	if (opt_text(o, "perfdata", idx, &res->perfdata, rs) < 0)
		return -1;
	res->observed_us = now_us;
	v = json_object_get(o, "observed_at");
	if (v && !json_is_null(v)) {
		if (!json_is_string(v)) {
			old_error(rs, 400, "observed_at", "result %zu: observed_at must be an RFC 3339 string", idx);
			return -1;
		}
		res->observed_given = 1;
		if (rfc3339_parse(json_string_value(v), &res->observed_us) < 0) {
			old_error(rs, 422, "observed_at", "result %zu: observed_at \"%s\" is not RFC 3339",
			    idx, json_string_value(v));
			return -1;
		}
		if (res->observed_us > now_us + max_skew_us) {
			res->ahead_us = res->observed_us - now_us;
			res->observed_us = now_us;
		}
	}
	v = json_object_get(o, "duration_ms");
	if (v && !json_is_null(v)) {
		if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > INT32_MAX) {
			old_error(rs, 400, "duration_ms", "result %zu: duration_ms must be a non-negative integer", idx);
			return -1;
		}
		res->duration_ms = json_integer_value(v);
	}
	v = json_object_get(o, "result_id");
	if (v && !json_is_null(v)) {
		if (!json_is_string(v)) {
			old_error(rs, 400, "result_id", "result %zu: result_id must be a string or null", idx);
			return -1;
		}
		if (json_string_length(v) == 0 || json_string_length(v) > INGEST_MAX_RESULT_ID) {
			old_error(rs, 422, "result_id", "result %zu: result_id must be 1..%d bytes",
			    idx, INGEST_MAX_RESULT_ID);
			return -1;
		}
		res->result_id = json_string_value(v);
	}
	return 0;
}

/*
 * http.c's json_loadb and parse_batch() as they were, up to the results:
 * 0 with *res (n of them; *arr holds their strings) or -1 with rs filled.
 */
static int
old_parse(const char *raw, size_t len, json_t **arr, struct result **res, size_t *n,
    struct ingest_err *rs)
{
	json_error_t jerr;
	json_t *body = NULL;
	size_t i;

	*arr = NULL;
	*res = NULL;
	*n = 0;
	if (len > 0) {
		body = json_loadb(raw, len, JSON_REJECT_DUPLICATES, &jerr);
		if (body == NULL) {
			old_error(rs, 400, NULL, "malformed JSON: %s (line %d, column %d)",
			    jerr.text, jerr.line, jerr.column);
			return -1;
		}
	}
	if (body == NULL || !(json_is_array(body) || json_is_object(body))) {
		old_error(rs, 400, NULL, "expected a result object or an array of them");
		json_decref(body);
		return -1;
	}
	if (json_is_array(body)) {
		*arr = body;
	} else {
		*arr = json_array();
		if (*arr == NULL || json_array_append_new(*arr, body) < 0)
			abort();
	}
	*n = json_array_size(*arr);
	if (*n > INGEST_MAX_RESULTS) {
		old_error(rs, 422, NULL, "%zu results in one request (at most %d)", *n,
		    INGEST_MAX_RESULTS);
		return -1;
	}
	if (*n == 0)
		return 0;
	if ((*res = calloc(*n, sizeof(**res))) == NULL)
		abort();
	for (i = 0; i < *n; i++)
		if (parse_result(json_array_get(*arr, i), i, NOW_US, SKEW_US, &(*res)[i], rs) < 0)
			return -1;
	return 0;
}

/* ---- the comparison ------------------------------------------------------- */

static void
same_text(const char *a, const char *b)
{
	if ((a == NULL) != (b == NULL) || (a && strcmp(a, b) != 0))
		abort();
}

/* digits at *s, stepped over: 1 when there was at least one */
static int
digits(const char **s)
{
	const char *p = *s;

	while (**s >= '0' && **s <= '9')
		(*s)++;
	return *s > p;
}

/* "malformed JSON: <reason> (line L, column C)" */
static int
malformed_shape(const char *m)
{
	const char *t = strrchr(m, '(');

	if (strncmp(m, "malformed JSON: ", 16) != 0 || t == NULL || strncmp(t, "(line ", 6) != 0)
		return 0;
	t += 6;
	if (!digits(&t) || strncmp(t, ", column ", 9) != 0)
		return 0;
	t += 9;
	return digits(&t) && strcmp(t, ")") == 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ingest_body body;
	struct ingest_err enew, eold;
	struct result *ores;
	json_t *arr;
	size_t on, i;
	int rnew, rold;

	memset(&eold, 0, sizeof(eold));
	rnew = ingest_parse((const char *)data, size, NOW_US, SKEW_US, &body, &enew);
	rold = old_parse((const char *)data, size, &arr, &ores, &on, &eold);
	if (rnew != rold)
		abort();
	if (rold < 0) {
		if (enew.status != eold.status)
			abort();
		same_text(enew.field, eold.field);
		if (strncmp(eold.msg, "malformed JSON: ", 16) == 0) {
			if (!malformed_shape(enew.msg))
				abort();
		} else if (strcmp(enew.msg, eold.msg) != 0) {
			abort();
		}
	} else {
		if (body.n != on)
			abort();
		for (i = 0; i < on; i++) {
			const struct result *x = &body.res[i], *y = &ores[i];
			if (x->check_id != y->check_id || x->status != y->status ||
			    x->has_value != y->has_value ||
			    memcmp(&x->value, &y->value, sizeof(x->value)) != 0 ||
			    x->observed_us != y->observed_us || x->observed_given != y->observed_given ||
			    x->ahead_us != y->ahead_us || x->duration_ms != y->duration_ms ||
			    x->idx != y->idx || x->inserted != y->inserted)
				abort();
			same_text(x->output, y->output);
			same_text(x->perfdata, y->perfdata);
			same_text(x->result_id, y->result_id);
		}
	}
	ingest_body_free(&body);
	free(ores);
	json_decref(arr);
	return 0;
}
