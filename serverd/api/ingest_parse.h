/*
 * ingest_parse.h - the body of POST /api/v1/check_history, read in one
 * pass into struct result (ingest.c does the rest).
 *
 * jansson built and freed one json_t per value and per key, only for eight
 * members of each result to be copied out: the largest part of serverd's
 * CPU under batched ingest (bench/README.md has the figures). This parser
 * reads the raw body once, checks it exactly as
 * json_loadb(JSON_REJECT_DUPLICATES) does (what jansson refuses is refused,
 * what it takes is taken: tests/fuzz/fuzz_ingest.c compares the two on
 * every input) and validates each result exactly as ingest.c did from
 * jansson's tree (same status, "field" and message). Every string is
 * decoded into one buffer of the body's length + 1, allocated once per
 * request: a decoded JSON string is never longer than its source.
 *
 * Because jansson parsed the whole document before any result was looked
 * at, a syntax error anywhere wins over a result found invalid before it:
 * the first invalid result is remembered and answered only when the whole
 * body parsed.
 */
#ifndef CUSTOS_INGEST_PARSE_H
#define CUSTOS_INGEST_PARSE_H

#include <stddef.h>
#include <stdint.h>

#define INGEST_MAX_RESULTS 5000     /* per request; more is a 422 */
#define INGEST_MAX_OUTPUT 65536     /* bytes of output or perfdata per result */
#define INGEST_MAX_RESULT_ID 128    /* bytes of result_id */
#define INGEST_ERR_LEN 512          /* resp_error()'s message buffer */

struct result {
	int64_t check_id;
	int status;
	int has_value;
	double value;
	const char *output;     /* borrowed from the decoded strings (ingest_body) */
	const char *perfdata;
	int64_t observed_us;    /* the agent's, or the request's arrival */
	int observed_given;     /* observed_at was in the result */
	int64_t ahead_us;       /* how far ahead of our clock a refused stamp was, or 0 */
	long long duration_ms;  /* -1 when absent */
	const char *result_id;  /* NULL when absent */
	size_t idx;             /* position in the request */
	int inserted;
};

/* A parsed body. Owns both allocations; ingest_body_free() releases them. */
struct ingest_body {
	struct result *res;     /* n results in request order (heap) */
	size_t n;
	char *strs;             /* every decoded string, NUL-terminated: res[] and
	                         * ingest_err.field point here (heap) */
};

/* Why a body was refused, as resp_error(status, field, "%s", msg) answers it. */
struct ingest_err {
	int status;             /* 400, 422, or 500 (out of memory) */
	const char *field;      /* a member's name, or NULL; may point into ingest_body.strs */
	char msg[INGEST_ERR_LEN];
};

/*
 * Reads raw[0..len) (raw may be NULL when len is 0: no body). now_us is the
 * request's arrival (the stamp of a result without observed_at) and
 * max_skew_us how far ahead of it an observed_at may be (max_clock_skew_s;
 * a stamp further ahead is replaced by now_us and its distance kept in
 * ahead_us). Returns 0 with body->n results (0 for an empty array), or -1
 * with err filled: a syntax error (400 "malformed JSON: ... (line L,
 * column C)"), too many results (422), the first invalid result (400/422)
 * or 500. Either way body holds memory: call ingest_body_free() once err
 * has been answered.
 */
int ingest_parse(const char *raw, size_t len, int64_t now_us, int64_t max_skew_us,
    struct ingest_body *body, struct ingest_err *err);
/* Frees what ingest_parse() allocated; safe on a zeroed or freed body. */
void ingest_body_free(struct ingest_body *body);

#endif
