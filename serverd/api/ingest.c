/*
 * ingest.c - POST /api/v1/check_history: store results and evaluate them.
 *
 * The steady case - every result repeats the current status of a check
 * that is HARD, not flapping and without recent changes - cannot change any
 * state, and costs one round trip, token check included (the route is
 * NEED_AGENT_LAZY): BEGIN, the agent's lock, one statement that finds the
 * agent by its token's hash and inserts only if all of that holds
 * (q_steady), COMMIT. Anything else (an unknown token too) inserts nothing
 * there: the token is then checked the usual way and the full path runs.
 *
 * Otherwise that transaction inserted nothing, and the full path runs, in
 * one transaction of two or three round trips however many results the
 * request carries (at most INGEST_MAX_RESULTS):
 *   1. BEGIN
 *   2. take the agent's transaction-scoped advisory lock (results for one
 *      agent's checks are evaluated one request at a time; one lock instead
 *      of a row lock per check), read the states of the checks named and
 *      verify they are all the agent's own: one foreign or unknown check
 *      refuses the whole batch (403). Other writers of check_state (ack,
 *      jobs) touch only columns the engine never writes back blindly: the
 *      engine only ever clears an acknowledgement.
 *   3. one INSERT of every result from one binary array per column
 *      (unnest; the server parses no text); ON CONFLICT skips result_ids
 *      already stored for this agent (or repeated in the batch), RETURNING
 *      tells which went in
 *   4. the engine (engine.c) steps each new result in observed order, and
 *      one UPDATE writes back the states that changed (a steady check's
 *      state does not change: its newest result is read from history);
 *      events go to alert_record()
 *   5. COMMIT - only then 201 {"accepted", "duplicates"}.
 * Steps 1-3 share a round trip (libpq pipeline mode), and so do 4-5 when
 * there are no events.
 * A result observed before the check's newest evaluated result (a late
 * resend from an agent's spool) is stored in history but does not move the
 * state backwards. A result without observed_at is stamped when it is
 * inserted, under the agent's lock, so it is never late.
 */
#include "config.h"
#include "alert.h"
#include "api.h"
#include "apiutil.h"
#include "buf.h"
#include "db.h"
#include "engine.h"
#include "log.h"
#include "metrics.h"
#include "serverd.h"
#include "strnum.h"
#include "timeutil.h"
#include "token.h"

#include <stdlib.h>
#include <string.h>

#define INGEST_MAX_RESULTS 5000     /* per request; more is a 422 */
#define INGEST_MAX_OUTPUT 65536     /* bytes of output or perfdata per result */
#define INGEST_MAX_RESULT_ID 128
#define INS_COLS 8                  /* array parameters of the insert */
#define INGEST_LOCK_CLASS "1668642164"  /* advisory lock class: one lock per agent id */

struct result {
	int64_t check_id;
	int status;
	int has_value;
	double value;
	const char *output;     /* borrowed from the request body */
	const char *perfdata;
	int64_t observed_us;    /* the agent's, or the request's arrival */
	int observed_given;     /* observed_at was in the result */
	long long duration_ms;  /* -1 when absent */
	const char *result_id;  /* NULL when absent */
	size_t idx;             /* position in the request */
	int inserted;
};

struct cstate {
	int64_t check_id;
	int64_t agent_id;
	struct eng_params p;
	struct eng_state s;
	int64_t last_us;        /* observed_at of the newest evaluated result */
	int64_t since_us;       /* 0 = unchanged */
	struct eng_state before;  /* as read, to write back only what changed */
};

/*
 * The agent's lock is its own statement: under READ COMMITTED each statement
 * reads from a snapshot taken when it starts, so the states must be read by
 * a statement that starts after the lock is held (or a concurrent request's
 * committed state changes would be missed).
 */
static const struct db_stmt q_agentlock = { "ingest_agentlock",
	"SELECT pg_advisory_xact_lock(" INGEST_LOCK_CLASS ", $1::integer)", 1 };
/* the same before the token is checked: by the token's hash (no lock when
 * no agent has it; the steady statement then inserts nothing) */
static const struct db_stmt q_agentlock_tok = { "ingest_agentlock_tok",
	"SELECT pg_advisory_xact_lock(" INGEST_LOCK_CLASS ", (SELECT (id & 2147483647)::integer"
	" FROM agents WHERE token_hash = decode($1, 'hex')))", 1 };

/* OFFSET 0 keeps the per-id lookup a nested loop over index scans whatever
 * the plan's estimate of the array's length (see db.c: plans are generic) */
static const struct db_stmt q_lock = { "ingest_lock",
	"SELECT x.* FROM unnest($1::bigint[]) u(id),"
	" LATERAL (SELECT c.id, c.agent_id, c.max_attempts, s.status, s.state_type, s.attempt,"
	"  s.hard_status, s.acknowledged, s.ack_sticky, s.flapping, s.flap_pct, s.flap_history"
	"  FROM checks c JOIN check_state s ON s.check_id = c.id WHERE c.id = u.id OFFSET 0) x"
	" ORDER BY x.id", 1 };

/*
 * The newest result stored before this request, for checks whose state this
 * request may change: rows of an agent's checks are only written under the
 * agent's lock, so every earlier row has an id below this request's first.
 */
static const struct db_stmt q_prior = { "ingest_prior",
	"SELECT x.id, COALESCE((SELECT (extract(epoch FROM h.observed_at) * 1000000)::bigint"
	"  FROM check_history h WHERE h.check_id = x.id AND h.id < $2"
	"  ORDER BY h.observed_at DESC, h.id DESC LIMIT 1), 0)"
	" FROM unnest($1::bigint[]) x(id)", 2 };

/*
 * The steady case in one statement: when every result repeats its check's
 * current status, and that state is HARD, not flapping and without recent
 * changes (engine.h: flap_history ""), the engine would change nothing, so
 * the results are inserted and the request is done. Otherwise (or when a
 * check is not this agent's) nothing is inserted and the full path runs.
 * The first row says which; the others are the RETURNING of the insert.
 */
static const struct db_stmt q_steady = { "ingest_steady",
	"WITH me AS (SELECT id FROM agents WHERE token_hash = decode($9, 'hex')),"
	" chk AS (SELECT EXISTS (SELECT 1 FROM me) AND NOT EXISTS ("
	"  SELECT 1 FROM unnest($1::bigint[], $2::smallint[]) r(c, st)"
	"  LEFT JOIN LATERAL (SELECT s.agent_id, s.status, s.state_type, s.flap_history,"
	"   s.flapping FROM check_state s WHERE s.check_id = r.c OFFSET 0) k ON true"
	"  WHERE k.agent_id IS DISTINCT FROM (SELECT id FROM me)"
	"   OR k.status IS DISTINCT FROM r.st"
	"   OR k.state_type <> 'HARD' OR k.flap_history <> '' OR k.flapping) AS steady),"
	" ins AS (INSERT INTO check_history (check_id, agent_id, status, value, output, perfdata,"
	"  observed_at, duration_ms, result_id)"
	"  SELECT x.c, (SELECT id FROM me), x.s, x.v, x.o, x.p, COALESCE(x.t, clock_timestamp()),"
	"   x.d, x.r"
	"  FROM unnest($1::bigint[], $2::smallint[], $3::float8[], $4::text[], $5::text[],"
	"   $6::timestamptz[], $7::integer[], $8::text[]) AS x(c, s, v, o, p, t, d, r)"
	"  WHERE (SELECT steady FROM chk)"
	"  ON CONFLICT (agent_id, result_id) WHERE result_id IS NOT NULL DO NOTHING"
	"  RETURNING id, result_id)"
	" SELECT (SELECT steady FROM chk), NULL::bigint, NULL::text"
	" UNION ALL SELECT NULL, id, result_id FROM ins", 9 };

static const struct db_stmt q_begin = { NULL, "BEGIN", 0 };
static const struct db_stmt q_commit = { NULL, "COMMIT", 0 };

static const struct db_stmt q_insert = { "ingest_insert",
	"INSERT INTO check_history (check_id, agent_id, status, value, output, perfdata,"
	"  observed_at, duration_ms, result_id)"
	" SELECT x.c, $9::bigint, x.s, x.v, x.o, x.p, COALESCE(x.t, clock_timestamp()), x.d, x.r"
	" FROM unnest($1::bigint[], $2::smallint[], $3::float8[], $4::text[], $5::text[],"
	"  $6::timestamptz[], $7::integer[], $8::text[]) AS x(c, s, v, o, p, t, d, r)"
	" ON CONFLICT (agent_id, result_id) WHERE result_id IS NOT NULL DO NOTHING"
	" RETURNING id, result_id", 9 };

static const struct db_stmt q_update = { "ingest_update",
	"UPDATE check_state s SET status = x.status, state_type = x.state_type,"
	"  attempt = x.attempt, hard_status = x.hard_status,"
	"  since = COALESCE('epoch'::timestamptz + x.since * interval '1 microsecond', s.since),"
	"  acknowledged = s.acknowledged AND NOT x.ack_cleared,"
	"  ack_comment = CASE WHEN x.ack_cleared THEN NULL ELSE s.ack_comment END,"
	"  ack_expires_at = CASE WHEN x.ack_cleared THEN NULL ELSE s.ack_expires_at END,"
	"  flapping = x.flapping, flap_history = x.flap_history, flap_pct = x.flap_pct,"
	"  updated_at = now()"
	" FROM json_to_recordset($1::json) AS x(check_id bigint, status smallint,"
	"  state_type text, attempt integer, hard_status smallint, since bigint,"
	"  ack_cleared boolean, flapping boolean,"
	"  flap_history text, flap_pct real)"
	" WHERE s.check_id = x.check_id", 1 };

/* ---- parsing ------------------------------------------------------------ */

/* An optional string member of a result (output, perfdata): 0 or -1. */
static int
opt_text(json_t *o, const char *key, size_t idx, const char **out, struct resp *rs)
{
	json_t *v = json_object_get(o, key);

	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_string(v)) {
		resp_error(rs, 400, key, "result %zu: %s must be a string or null", idx, key);
		return -1;
	}
	if (json_string_length(v) > INGEST_MAX_OUTPUT) {
		resp_error(rs, 422, key, "result %zu: %s longer than %d bytes", idx, key,
		    INGEST_MAX_OUTPUT);
		return -1;
	}
	*out = json_string_value(v);
	return 0;
}

/* Validates one result object; on error fills rs and returns -1. */
static int
parse_result(json_t *o, size_t idx, int64_t now_us, struct result *res, struct resp *rs)
{
	json_t *v;
	const char *key;

	memset(res, 0, sizeof(*res));
	res->idx = idx;
	res->duration_ms = -1;
	if (!json_is_object(o)) {
		resp_error(rs, 400, NULL, "result %zu: expected an object", idx);
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
			resp_error(rs, 422, key, "result %zu: unknown field \"%s\"", idx, key);
			return -1;
		}
	}
	v = json_object_get(o, "check_id");
	if (v == NULL) {
		resp_error(rs, 422, "check_id", "result %zu: check_id is required", idx);
		return -1;
	}
	if (!json_is_integer(v) || json_integer_value(v) < 1) {
		resp_error(rs, 400, "check_id", "result %zu: check_id must be a positive integer", idx);
		return -1;
	}
	res->check_id = json_integer_value(v);
	v = json_object_get(o, "status");
	if (v == NULL) {
		resp_error(rs, 422, "status", "result %zu: status is required", idx);
		return -1;
	}
	if (!json_is_integer(v)) {
		resp_error(rs, 400, "status", "result %zu: status must be an integer 0..3", idx);
		return -1;
	}
	if (json_integer_value(v) < 0 || json_integer_value(v) > 3) {
		resp_error(rs, 422, "status", "result %zu: status must be 0 (OK), 1 (WARNING), "
		    "2 (CRITICAL) or 3 (UNKNOWN)", idx);
		return -1;
	}
	res->status = (int)json_integer_value(v);
	if (opt_text(o, "output", idx, &res->output, rs) < 0)
		return -1;
	v = json_object_get(o, "value");
	if (v && !json_is_null(v)) {
		if (!json_is_number(v)) {
			resp_error(rs, 400, "value", "result %zu: value must be a number or null", idx);
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
			resp_error(rs, 400, "observed_at", "result %zu: observed_at must be an RFC 3339 string", idx);
			return -1;
		}
		res->observed_given = 1;
		if (rfc3339_parse(json_string_value(v), &res->observed_us) < 0) {
			resp_error(rs, 422, "observed_at", "result %zu: observed_at \"%s\" is not RFC 3339",
			    idx, json_string_value(v));
			return -1;
		}
	}
	v = json_object_get(o, "duration_ms");
	if (v && !json_is_null(v)) {
		if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > INT32_MAX) {
			resp_error(rs, 400, "duration_ms", "result %zu: duration_ms must be a non-negative integer", idx);
			return -1;
		}
		res->duration_ms = json_integer_value(v);
	}
	v = json_object_get(o, "result_id");
	if (v && !json_is_null(v)) {
		if (!json_is_string(v)) {
			resp_error(rs, 400, "result_id", "result %zu: result_id must be a string or null", idx);
			return -1;
		}
		if (json_string_length(v) == 0 || json_string_length(v) > INGEST_MAX_RESULT_ID) {
			resp_error(rs, 422, "result_id", "result %zu: result_id must be 1..%d bytes",
			    idx, INGEST_MAX_RESULT_ID);
			return -1;
		}
		res->result_id = json_string_value(v);
	}
	return 0;
}

/* 1 when the engine changed anything that check_state stores */
static int
state_changed(const struct eng_state *a, const struct eng_state *b)
{
	return a->status != b->status || a->hard != b->hard || a->attempt != b->attempt ||
	    a->hard_status != b->hard_status || a->acknowledged != b->acknowledged ||
	    a->flapping != b->flapping || strcmp(a->flap_history, b->flap_history) != 0;
}

static int
cmp_result(const void *a, const void *b)
{
	const struct result *x = a, *y = b;

	if (x->check_id != y->check_id)
		return x->check_id < y->check_id ? -1 : 1;
	if (x->observed_us != y->observed_us)
		return x->observed_us < y->observed_us ? -1 : 1;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

static int
cmp_rid(const void *a, const void *b)
{
	const struct result *const *x = a, *const *y = b;
	int c = strcmp((*x)->result_id, (*y)->result_id);

	return c ? c : ((*x)->idx < (*y)->idx ? -1 : 1);
}

/*
 * Marks the results that a "RETURNING id, result_id" answer (columns idcol
 * and idcol + 1; rows with a NULL id are skipped) says went in: those
 * without result_id always do, the others by id (of a result_id repeated in
 * the request, the first). Returns the smallest id inserted, or 0.
 */
static int64_t
mark_inserted(PGresult *q, int idcol, struct result *res, size_t n,
    struct result **byrid, size_t nrid)
{
	int64_t min_id = 0;
	int nr = PQntuples(q), k;
	size_t i;

	for (i = 0; i < n; i++)
		if (res[i].inserted == 0 && res[i].result_id == NULL)
			res[i].inserted = 1;
	for (k = 0; k < nr; k++) {
		const char *rid, *es;
		size_t lo = 0, hi = nrid;
		int64_t id;

		if (PQgetisnull(q, k, idcol))
			continue;
		id = str_to_ll(PQgetvalue(q, k, idcol), 1, INT64_MAX, &es);
		if (min_id == 0 || id < min_id)
			min_id = id;
		if (PQgetisnull(q, k, idcol + 1))
			continue;
		rid = PQgetvalue(q, k, idcol + 1);
		/* lower bound: the first occurrence of rid in byrid */
		while (lo < hi) {
			size_t mid = (lo + hi) / 2;
			if (strcmp(byrid[mid]->result_id, rid) < 0)
				lo = mid + 1;
			else
				hi = mid;
		}
		if (lo < nrid && strcmp(byrid[lo]->result_id, rid) == 0 && byrid[lo]->inserted == 0)
			byrid[lo]->inserted = 1;
	}
	return min_id;
}

/* ---- the handler -------------------------------------------------------- */

void
api_check_history_post(struct req *r, struct resp *rs)
{
	struct result *res = NULL;
	struct result **byrid = NULL;
	struct cstate *cs = NULL;
	struct alert_event *evs = NULL;
	size_t n = 0, i, j, ncs = 0, nrid = 0, nev = 0, accepted = 0, dups = 0;
	json_t *arr = NULL, *upd = NULL;
	char *upd_text = NULL, *ids_text = NULL;
	char agent_id[24], tok_hex[SHA256_LEN * 2 + 1];
	struct db_array cols[INS_COLS];
	const char *ins_vals[INS_COLS + 1];
	int ins_lens[INS_COLS + 1], ins_fmts[INS_COLS + 1], cols_live = 0;
	struct result **order = NULL;
	PGresult *q = NULL, *pr[4] = { NULL, NULL, NULL, NULL }, *pr2[2] = { NULL, NULL };
	char lock_id[24];
	int64_t now_us = time_now_us(), min_id = 0;
	double flap_lo, flap_hi;
	int in_tx = 0, st;

	if (r->body == NULL) {
		resp_error(rs, 400, NULL, "expected a result object or an array of them");
		goto done;   /* where an unchecked token is answered first */
	}
	if (json_is_array(r->body)) {
		arr = json_incref(r->body);
	} else if (json_is_object(r->body)) {
		arr = json_array();
		if (arr == NULL || json_array_append(arr, r->body) < 0) {
			resp_error(rs, 500, NULL, "out of memory");
			goto done;
		}
	} else {
		resp_error(rs, 400, NULL, "expected a result object or an array of them");
		goto done;
	}
	n = json_array_size(arr);
	if (n > INGEST_MAX_RESULTS) {
		resp_error(rs, 422, NULL, "%zu results in one request (at most %d)", n, INGEST_MAX_RESULTS);
		goto done;
	}
	if (n == 0) {
		if (http_authenticate(r, NEED_AGENT, rs) == 0)
			resp_json(rs, 201, json_pack("{s:i,s:i}", "accepted", 0, "duplicates", 0));
		goto done;
	}
	res = calloc(n, sizeof(*res));
	byrid = calloc(n, sizeof(*byrid));
	cs = calloc(n, sizeof(*cs));
	evs = calloc(n * 3, sizeof(*evs));
	if (!res || !byrid || !cs || !evs) {
		resp_error(rs, 500, NULL, "out of memory");
		goto done;
	}
	for (i = 0; i < n; i++) {
		if (parse_result(json_array_get(arr, i), i, now_us, &res[i], rs) < 0)
			goto done;
	}
	qsort(res, n, sizeof(*res), cmp_result);
	/* results by (result_id, position), to mark what the INSERT took: of a
	 * result_id repeated in the request, PostgreSQL takes the first */
	for (i = 0; i < n; i++)
		if (res[i].result_id)
			byrid[nrid++] = &res[i];
	qsort(byrid, nrid, sizeof(*byrid), cmp_rid);
	/* distinct check ids as a PostgreSQL array literal */
	{
		size_t cap = n * 21 + 3, off = 0;
		if ((ids_text = malloc(cap)) == NULL) {
			resp_error(rs, 500, NULL, "out of memory");
			goto done;
		}
		ids_text[off++] = '{';
		for (i = 0; i < n; i++)
			if (i == 0 || res[i].check_id != res[i - 1].check_id)
				off += (size_t)snprintf(ids_text + off, cap - off, "%s%lld",
				    off > 1 ? "," : "", (long long)res[i].check_id);
		ids_text[off++] = '}';
		ids_text[off] = '\0';
	}

	/*
	 * The insert's parameters: one binary array per column, in request
	 * order (of a result_id repeated in the request the first one counts,
	 * and PostgreSQL keeps the first it inserts).
	 */
	if ((order = malloc(n * sizeof(*order))) == NULL) {
		resp_error(rs, 500, NULL, "out of memory");
		goto done;
	}
	for (i = 0; i < n; i++)
		order[res[i].idx] = &res[i];
	{
		static const uint32_t oids[INS_COLS] = { DB_OID_INT8, DB_OID_INT2, DB_OID_FLOAT8,
			DB_OID_TEXT, DB_OID_TEXT, DB_OID_TIMESTAMPTZ, DB_OID_INT4, DB_OID_TEXT };
		size_t cap = r->raw_len * 2 + n * 64 + 1024;
		int k;

		for (k = 0; k < INS_COLS; k++)
			db_array_begin(&cols[k], oids[k], cap);
		cols_live = 1;
		for (i = 0; i < n; i++) {
			const struct result *x = order[i];
			db_array_int8(&cols[0], x->check_id);
			db_array_int2(&cols[1], (int16_t)x->status);
			if (x->has_value)
				db_array_float8(&cols[2], x->value);
			else
				db_array_null(&cols[2]);
			db_array_text(&cols[3], x->output ? x->output : "");
			db_array_text(&cols[4], x->perfdata);
			if (x->observed_given)
				db_array_time(&cols[5], x->observed_us);
			else
				db_array_null(&cols[5]);   /* stamped under the lock */
			if (x->duration_ms >= 0)
				db_array_int4(&cols[6], (int32_t)x->duration_ms);
			else
				db_array_null(&cols[6]);
			db_array_text(&cols[7], x->result_id);
		}
		for (k = 0; k < INS_COLS; k++) {
			if (db_array_end(&cols[k]) < 0) {
				resp_error(rs, 500, NULL, "out of memory");
				goto done;
			}
			ins_vals[k] = cols[k].b.ptr;
			ins_lens[k] = (int)cols[k].b.len;
			ins_fmts[k] = 1;
		}
	}
	{
		uint8_t h[SHA256_LEN];
		token_hash(r->token, h);
		hex_encode(h, sizeof(h), tok_hex);
		secure_zero(h, sizeof(h));
	}
	ins_vals[INS_COLS] = tok_hex;
	ins_lens[INS_COLS] = 0;
	ins_fmts[INS_COLS] = 0;

	/* the steady case: BEGIN, lock, insert if steady, COMMIT: one round trip */
	{
		const struct db_stmt *const pst[4] = { &q_begin, &q_agentlock_tok, &q_steady, &q_commit };
		const char *const av[1] = { tok_hex };
		const char *const *const vals[4] = { NULL, av, ins_vals, NULL };
		const int *const lens[4] = { NULL, NULL, ins_lens, NULL };
		const int *const fmts[4] = { NULL, NULL, ins_fmts, NULL };
		int prc = db_pipeline_bin(r->db, 4, pst, vals, lens, fmts, pr), k, steady = 0;

		if (prc < 0) {
			/* a failed statement leaves the transaction open: roll it back */
			in_tx = pr[0] && PQresultStatus(pr[0]) == PGRES_COMMAND_OK;
			for (k = 0; k < 4; k++)
				if (!db_ok(pr[k], PQresultStatus(pr[k]) == PGRES_TUPLES_OK ?
				    PGRES_TUPLES_OK : PGRES_COMMAND_OK))
					break;
			resp_db_error(rs, r->db, k < 4 ? pr[k] : NULL);
			goto done;
		}
		for (k = 0; k < PQntuples(pr[2]); k++)
			if (!PQgetisnull(pr[2], k, 0))
				steady = PQgetvalue(pr[2], k, 0)[0] == 't';
		if (steady) {
			mark_inserted(pr[2], 1, res, n, byrid, nrid);
			for (i = 0; i < n; i++) {
				if (res[i].inserted == 1)
					accepted++;
				else
					dups++;
			}
			metrics_count_ingested((long long)accepted);
			resp_json(rs, 201, json_pack("{s:I,s:I}", "accepted", (json_int_t)accepted,
			    "duplicates", (json_int_t)dups));
			goto done;
		}
		for (k = 0; k < 4; k++) {
			PQclear(pr[k]);
			pr[k] = NULL;
		}
	}

	/* the full path: check the token the usual way first */
	if (http_authenticate(r, NEED_AGENT, rs) < 0)
		goto done;
	snprintf(agent_id, sizeof(agent_id), "%lld", (long long)r->who.id);
	snprintf(lock_id, sizeof(lock_id), "%lld", (long long)(r->who.id & 0x7fffffff));
	ins_vals[INS_COLS] = agent_id;

	/* 2. and 3. in one round trip: BEGIN, lock and read, insert */
	{
		const struct db_stmt *const pst[4] = { &q_begin, &q_agentlock, &q_lock, &q_insert };
		const char *const av[1] = { lock_id };
		const char *const lv[1] = { ids_text };
		const char *const *const vals[4] = { NULL, av, lv, ins_vals };
		const int *const lens[4] = { NULL, NULL, NULL, ins_lens };
		const int *const fmts[4] = { NULL, NULL, NULL, ins_fmts };
		int prc = db_pipeline_bin(r->db, 4, pst, vals, lens, fmts, pr);

		if (pr[0] && PQresultStatus(pr[0]) == PGRES_COMMAND_OK)
			in_tx = 1;
		if (prc < 0) {
			int k;
			for (k = 0; k < 4; k++)
				if (!db_ok(pr[k], PQresultStatus(pr[k]) == PGRES_TUPLES_OK ?
				    PGRES_TUPLES_OK : PGRES_COMMAND_OK))
					break;
			resp_db_error(rs, r->db, k < 4 ? pr[k] : NULL);
			goto done;
		}
		q = pr[2];
	}
	{
		const struct srv_conf *cf = conf_hold();
		flap_lo = (double)cf->flap_low_pct;
		flap_hi = (double)cf->flap_high_pct;
		conf_drop(cf);
	}
	ncs = (size_t)PQntuples(q);
	for (i = 0; i < ncs; i++) {
		const char *es;
		struct cstate *c = &cs[i];
		c->check_id = str_to_ll(PQgetvalue(q, (int)i, 0), 1, INT64_MAX, &es);
		c->agent_id = str_to_ll(PQgetvalue(q, (int)i, 1), 1, INT64_MAX, &es);
		if (c->agent_id != r->who.id) {
			resp_error(rs, 403, "check_id", "check %lld does not belong to this agent",
			    (long long)c->check_id);
			goto done;
		}
		c->p.max_attempts = (int)str_to_ll(PQgetvalue(q, (int)i, 2), 1, 1000, &es);
		c->p.flap_low_pct = flap_lo;
		c->p.flap_high_pct = flap_hi;
		c->s.status = PQgetisnull(q, (int)i, 3) ? -1 :
		    (int)str_to_ll(PQgetvalue(q, (int)i, 3), 0, 3, &es);
		c->s.hard = strcmp(PQgetvalue(q, (int)i, 4), "HARD") == 0;
		c->s.attempt = (int)str_to_ll(PQgetvalue(q, (int)i, 5), 0, INT32_MAX, &es);
		c->s.hard_status = (int)str_to_ll(PQgetvalue(q, (int)i, 6), 0, 3, &es);
		c->s.acknowledged = PQgetvalue(q, (int)i, 7)[0] == 't';
		c->s.ack_sticky = PQgetvalue(q, (int)i, 8)[0] == 't';
		c->s.flapping = PQgetvalue(q, (int)i, 9)[0] == 't';
		c->s.flap_pct = str_to_double(PQgetvalue(q, (int)i, 10), &es);
		snprintf(c->s.flap_history, sizeof(c->s.flap_history), "%s", PQgetvalue(q, (int)i, 11));
		c->last_us = INT64_MIN;   /* see "prior" below */
		c->before = c->s;
	}
	/* every named check must have been found (rows come in id order) */
	for (i = 0, j = 0; i < n; i++) {
		if (i > 0 && res[i].check_id == res[i - 1].check_id)
			continue;
		if (j >= ncs || cs[j].check_id != res[i].check_id) {
			resp_error(rs, 403, "check_id", "check %lld does not belong to this agent",
			    (long long)res[i].check_id);
			goto done;
		}
		j++;
	}

	q = pr[3];
	min_id = mark_inserted(q, 0, res, n, byrid, nrid);
	q = NULL;

	/*
	 * Which checks might change state? A check whose every new result
	 * leaves its state as it is (the steady case) needs nothing more. For
	 * the others, results observed before the newest one already stored are
	 * late and must not move the state: fetch that time (one more round
	 * trip, only when some state may change).
	 */
	{
		struct buf ids;
		size_t nprior = 0;

		buf_init(&ids, n * 21 + 3);
		buf_adds(&ids, "{");
		for (i = 0, j = 0; i < n; i++) {
			struct eng_state sim;
			enum ev_kind ek[3];
			size_t k;

			if (i > 0 && res[i].check_id == res[i - 1].check_id)
				continue;
			while (j < ncs && cs[j].check_id != res[i].check_id)
				j++;
			sim = cs[j].s;
			for (k = i; k < n && res[k].check_id == res[i].check_id; k++) {
				if (res[k].inserted != 1)
					continue;
				if (engine_step(&sim, &cs[j].p, res[k].status, ek) > 0 ||
				    state_changed(&sim, &cs[j].before))
					break;
			}
			if (k < n && res[k].check_id == res[i].check_id) {
				buf_addf(&ids, "%s%lld", nprior ? "," : "", (long long)cs[j].check_id);
				nprior++;
			}
		}
		if (buf_adds(&ids, "}") < 0) {
			buf_free(&ids);
			resp_error(rs, 500, NULL, "out of memory");
			goto done;
		}
		if (nprior > 0) {
			char mid[24];
			const char *v[2] = { ids.ptr, id_text(min_id ? min_id : INT64_MAX, mid) };
			int k;

			q = db_exec(r->db, &q_prior, v);
			if (!db_ok(q, PGRES_TUPLES_OK)) {
				buf_free(&ids);
				resp_db_error(rs, r->db, q);
				goto done;
			}
			for (k = 0; k < PQntuples(q); k++) {
				const char *es;
				int64_t cid = str_to_ll(PQgetvalue(q, k, 0), 1, INT64_MAX, &es);
				for (j = 0; j < ncs; j++)
					if (cs[j].check_id == cid)
						cs[j].last_us = str_to_ll(PQgetvalue(q, k, 1),
						    INT64_MIN, INT64_MAX, &es);
			}
			PQclear(q);
			q = NULL;
		}
		buf_free(&ids);
	}

	/* 4. evaluate, in (check, observed) order */
	for (i = 0, j = 0; i < n; i++) {
		struct cstate *c;
		enum ev_kind ek[3];
		int k, ne, prev;

		while (j < ncs && cs[j].check_id != res[i].check_id)
			j++;
		c = &cs[j];
		if (res[i].inserted != 1) {
			dups++;
			continue;
		}
		accepted++;
		if (res[i].observed_given && res[i].observed_us < c->last_us)
			continue;   /* late result: history only */
		prev = c->s.status;
		ne = engine_step(&c->s, &c->p, res[i].status, ek);
		c->last_us = res[i].observed_us;
		if (c->s.status_changed)
			c->since_us = res[i].observed_us;
		for (k = 0; k < ne; k++) {
			struct alert_event *e = &evs[nev++];
			e->kind = ek[k];
			e->agent_id = r->who.id;
			e->check_id = c->check_id;
			e->status = res[i].status;
			e->prev_status = ek[k] == EV_RECOVERY ? (prev >= 0 ? prev : -1) : prev;
			e->hard = c->s.hard;
			e->attempt = c->s.attempt;
			e->has_value = res[i].has_value;
			e->value = res[i].value;
			e->output = res[i].output;
		}
	}
	if ((upd = json_array()) == NULL) {
		resp_error(rs, 500, NULL, "out of memory");
		goto done;
	}
	for (j = 0; j < ncs; j++) {
		struct cstate *c = &cs[j];
		if (!state_changed(&c->before, &c->s))
			continue;   /* the common case: nothing to write */
		if (json_array_append_new(upd, json_pack("{s:I,s:i,s:s,s:i,s:i,s:o,s:b,s:b,s:s,s:f}",
		    "check_id", (json_int_t)c->check_id, "status", c->s.status,
		    "state_type", c->s.hard ? "HARD" : "SOFT", "attempt", c->s.attempt,
		    "hard_status", c->s.hard_status,
		    "since", c->since_us ? json_integer(c->since_us) : json_null(),
		    "ack_cleared", c->before.acknowledged && !c->s.acknowledged,
		    "flapping", c->s.flapping, "flap_history", c->s.flap_history,
		    "flap_pct", c->s.flap_pct)) < 0) {
			resp_error(rs, 500, NULL, "out of memory");
			goto done;
		}
	}
	if (json_array_size(upd) > 0 && (upd_text = json_dumps(upd, JSON_COMPACT)) == NULL) {
		resp_error(rs, 500, NULL, "out of memory");
		goto done;
	}
	if (nev > 0) {
		/* state changes with events: update, record, then commit */
		if (upd_text) {
			const char *v[1] = { upd_text };
			q = db_exec(r->db, &q_update, v);
			if (!db_ok(q, PGRES_COMMAND_OK)) {
				resp_db_error(rs, r->db, q);
				goto done;
			}
			PQclear(q);
			q = NULL;
		}
		if ((st = alert_record(r->db, evs, nev, NULL)) != 0) {
			if (st == 503)
				resp_error(rs, 503, NULL, "database unavailable");
			else
				resp_error(rs, 500, NULL, "could not record events");
			goto done;
		}
		q = PQexec(r->db, "COMMIT");
		in_tx = 0;
		if (!db_ok(q, PGRES_COMMAND_OK)) {
			resp_db_error(rs, r->db, q);
			goto done;
		}
	} else {
		/* 5. the common case: (update and) commit in one round trip */
		const struct db_stmt *const st2[2] = { &q_update, &q_commit };
		const char *const uv[1] = { upd_text };
		const char *const *const vals[2] = { uv, NULL };
		int skip = upd_text == NULL;   /* nothing changed: commit only */
		int prc = db_pipeline(r->db, 2 - skip, st2 + skip, vals + skip, pr2);

		if (prc < 0) {
			PGresult *bad = pr2[0];
			if (!skip && db_ok(pr2[0], PGRES_COMMAND_OK))
				bad = pr2[1];
			resp_db_error(rs, r->db, bad);
			goto done;   /* in_tx: the ROLLBACK below ends the failed transaction */
		}
		in_tx = 0;
	}
	/* only a committed batch is acknowledged */
	metrics_count_ingested((long long)accepted);
	resp_json(rs, 201, json_pack("{s:I,s:I}", "accepted", (json_int_t)accepted,
	    "duplicates", (json_int_t)dups));
done:
	if (in_tx && r->db && PQstatus(r->db) == CONNECTION_OK)
		db_cmd(r->db, "ROLLBACK");
	if (r->who.kind == WHO_NONE && rs->status >= 400 && rs->status < 500) {
		/* refused before the token was checked: who may not post hears that */
		struct resp a;

		memset(&a, 0, sizeof(a));
		if (http_authenticate(r, NEED_AGENT, &a) < 0) {
			json_decref(rs->json);
			*rs = a;
		} else {
			json_decref(a.json);
		}
	}
	if (q != pr[2] && q != pr[3])
		PQclear(q);
	for (i = 0; i < 4; i++)
		PQclear(pr[i]);
	PQclear(pr2[0]);
	PQclear(pr2[1]);
	if (cols_live)
		for (i = 0; i < INS_COLS; i++)
			db_array_free(&cols[i]);
	free(order);
	free(upd_text);
	free(ids_text);
	json_decref(upd);
	json_decref(arr);
	free(evs);
	free(cs);
	free(byrid);
	free(res);
}
