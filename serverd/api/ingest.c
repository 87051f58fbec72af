/*
 * ingest.c - POST /api/v1/check_history: store results and evaluate them.
 *
 * The handler (at the end of this file) is a short list of named steps
 * over one struct batch:
 *   parse_batch       the body: one result or an array, each validated
 *                     (a stamp too far ahead gets our time: max_clock_skew_s);
 *                     admit_history makes the day partitions it needs and
 *                     drops results older than the retention ("expired")
 *   build_params      the check ids and one binary array per insert column
 *   try_steady        the steady case - every result repeats the current
 *                     status of a check that is HARD, enabled, not flapping
 *                     and without recent changes - cannot change any state:
 *                     BEGIN, the agent's lock, one statement that inserts
 *                     only if all of that holds (q_steady), COMMIT: one
 *                     round trip. Otherwise nothing was inserted and:
 *   lock_and_insert   BEGIN, the agent's lock (alert/state.h: the one lock
 *                     rule for check_state), the states of the checks named,
 *                     the INSERT (ON CONFLICT skips result_ids already
 *                     stored with the same observed_at - a resend repeats
 *                     it, and the key must hold the partition key;
 *                     RETURNING says which went in): one round trip.
 *                     A foreign or unknown check refuses the whole batch
 *                     (403 listing every such check in "check_ids").
 *   read_prior        for checks whose state may change, the newest result
 *                     stored before: a result observed before it is late
 *                     and only kept in history
 *   evaluate          the engine (engine.c) steps each new result of an
 *                     enabled check in observed order
 *   write_and_commit  the changed states go back through alert/
 *                     (alert_q_write_states), events through alert_record()
 *                     (outbox rows in the same transaction), COMMIT - and
 *                     only then 201 {"accepted", "duplicates"}.
 * A result without observed_at is stamped when it is inserted, under the
 * agent's lock, so it is never late.
 */
#include "config.h"
#include "alert.h"
#include "state.h"
#include "api.h"
#include "apiutil.h"
#include "buf.h"
#include "db.h"
#include "engine.h"
#include "history.h"
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

struct result {
	int64_t check_id;
	int status;
	int has_value;
	double value;
	const char *output;     /* borrowed from the request body */
	const char *perfdata;
	int64_t observed_us;    /* the agent's, or the request's arrival */
	int observed_given;     /* observed_at was in the result */
	int64_t ahead_us;       /* how far ahead of our clock a refused stamp was, or 0 */
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
	int enabled;            /* a disabled check's results are history only */
	struct eng_state before;  /* as read, to write back only what changed */
};

/* OFFSET 0 keeps the per-id lookup a nested loop over index scans whatever
 * the plan's estimate of the array's length (see db.c: plans are generic) */
static const struct db_stmt q_lock = { "ingest_lock",
	"SELECT x.* FROM unnest($1::bigint[]) u(id),"
	" LATERAL (SELECT c.id, c.agent_id, c.max_attempts, s.status, s.state_type, s.attempt,"
	"  s.hard_status, s.acknowledged, s.ack_sticky, s.flapping, s.flap_pct, s.flap_history,"
	"  c.enabled"
	"  FROM checks c JOIN check_state s ON s.check_id = c.id WHERE c.id = u.id OFFSET 0) x"
	" ORDER BY x.id", 1 };

/*
 * The newest result stored before this request, for checks whose state this
 * request may change (a stamp stored far ahead of its arrival by a server
 * older than the max_clock_skew_s rule counts as observed when it came): rows of an agent's checks are only written under the
 * agent's lock, so every earlier row has an id below this request's first.
 */
static const struct db_stmt q_prior = { "ingest_prior",
	"SELECT x.id, COALESCE((SELECT (extract(epoch FROM"
	"   LEAST(h.observed_at, h.received_at + interval '5 minutes')) * 1000000)::bigint"
	"  FROM check_history h WHERE h.check_id = x.id AND h.id < $2"
	"  ORDER BY h.observed_at DESC, h.id DESC LIMIT 1), 0)"
	" FROM unnest($1::bigint[]) x(id)", 2 };

/*
 * The de-duplication key holds observed_at (the partition key, see
 * sql/005_history.sql), which a resend repeats. A result_id sent without
 * observed_at is stamped anew on each resend, so it is looked up across
 * the partitions instead (rare: the agent always sends observed_at).
 */
#define UNSTAMPED_NEW(agent) \
	"(x.t IS NOT NULL OR x.r IS NULL OR NOT EXISTS (SELECT 1 FROM check_history h0" \
	"  WHERE h0.agent_id = " agent " AND h0.result_id = x.r))"

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
	"   s.flapping, c.enabled FROM check_state s JOIN checks c ON c.id = s.check_id"
	"   WHERE s.check_id = r.c OFFSET 0) k ON true"
	"  WHERE k.agent_id IS DISTINCT FROM (SELECT id FROM me)"
	"   OR NOT k.enabled"
	"   OR k.status IS DISTINCT FROM r.st"
	"   OR k.state_type <> 'HARD' OR k.flap_history <> '' OR k.flapping) AS steady),"
	" ins AS (INSERT INTO check_history (check_id, agent_id, status, value, output, perfdata,"
	"  observed_at, duration_ms, result_id)"
	"  SELECT x.c, (SELECT id FROM me), x.s, x.v, x.o, x.p, COALESCE(x.t, clock_timestamp()),"
	"   x.d, x.r"
	"  FROM unnest($1::bigint[], $2::smallint[], $3::float8[], $4::text[], $5::text[],"
	"   $6::timestamptz[], $7::integer[], $8::text[]) AS x(c, s, v, o, p, t, d, r)"
	"  WHERE (SELECT steady FROM chk) AND " UNSTAMPED_NEW("(SELECT id FROM me)")
	"  ON CONFLICT (agent_id, result_id, observed_at) WHERE result_id IS NOT NULL DO NOTHING"
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
	" WHERE " UNSTAMPED_NEW("$9::bigint")
	" ON CONFLICT (agent_id, result_id, observed_at) WHERE result_id IS NOT NULL DO NOTHING"
	" RETURNING id, result_id", 9 };

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
parse_result(json_t *o, size_t idx, int64_t now_us, int64_t max_skew_us, struct result *res,
    struct resp *rs)
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
		/*
		 * Never trust an agent's clock blindly: a stamp further ahead of
		 * ours than max_clock_skew_s would make every later result "late"
		 * and freeze the check. It is stored with our time instead, and
		 * the offset is shown as the agent's clock_skew_s.
		 */
		if (res->observed_us > now_us + max_skew_us) {
			res->ahead_us = res->observed_us - now_us;
			res->observed_us = now_us;
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

static const struct db_stmt q_clock_ahead = { "ingest_clock_ahead",
	"UPDATE agents SET clock_skew_s = $2::float8 WHERE id = $1", 2 };

/*
 * After the commit: the agent's clock ran ahead of ours by more than
 * max_clock_skew_s. Shown on the agent object and logged; the results were
 * stored with our time. Best effort: a failure here costs nothing stored.
 */
static void
note_clock_ahead(struct req *r, int64_t ahead_us)
{
	char id[24], off[32];
	const char *v[2] = { id_text(r->who.id, id), off };
	PGresult *q;

	snprintf(off, sizeof(off), "%.3f", (double)ahead_us / 1e6);
	log_warn("ingest: %s stamps results %.0f s ahead of this server's clock; "
	    "stored with the server's time (max_clock_skew_s)", r->who.name, (double)ahead_us / 1e6);
	q = db_exec(r->db, &q_clock_ahead, v);
	if (!db_ok(q, PGRES_COMMAND_OK))
		db_outcome(r->db, q);
	PQclear(q);
}

/*
 * One request's results on their way in. Every step below fills rs and
 * returns -1 on failure (0 when it went on, 1 where it says so); the
 * handler then answers rs, and batch_free() releases all of it, rolling
 * back an open transaction.
 */
struct batch {
	struct req *r;
	struct resp *rs;
	json_t *arr;                /* the results, as an array (a reference) */
	size_t n;
	struct result *res;         /* sorted by (check, observed, position) */
	struct result **order;      /* res in request order */
	struct result **byrid;      /* results with a result_id, by (result_id, position) */
	size_t nrid;
	struct cstate *cs;          /* the checks named, by id */
	size_t ncs;
	struct alert_event *evs;    /* at most 3 per result */
	size_t nev;
	char *ids_text;             /* the distinct check ids, a PostgreSQL array literal */
	struct db_array cols[INS_COLS];
	int cols_live;
	const char *ins_vals[INS_COLS + 1];
	int ins_lens[INS_COLS + 1], ins_fmts[INS_COLS + 1];
	char tok_hex[SHA256_LEN * 2 + 1], agent_id[24], lock_id[24];
	PGresult *pr[4];            /* the pipelines' results */
	PGresult *prior;
	char *upd_text;             /* the states to write back (JSON), or NULL */
	int in_tx;
	size_t accepted, dups, expired;
	int64_t now_us, min_id, max_skew_us, ahead_us;
};

static void
batch_free(struct batch *b)
{
	size_t i;

	if (b->in_tx && b->r->db && PQstatus(b->r->db) == CONNECTION_OK)
		db_cmd(b->r->db, "ROLLBACK");
	for (i = 0; i < 4; i++)
		PQclear(b->pr[i]);
	PQclear(b->prior);
	if (b->cols_live)
		for (i = 0; i < INS_COLS; i++)
			db_array_free(&b->cols[i]);
	free(b->order);
	free(b->upd_text);
	free(b->ids_text);
	json_decref(b->arr);
	free(b->evs);
	free(b->cs);
	free(b->byrid);
	free(b->res);
}

static void
clear_pipeline(struct batch *b)
{
	int k;

	for (k = 0; k < 4; k++) {
		PQclear(b->pr[k]);
		b->pr[k] = NULL;
	}
}

/* A failed pipeline of n statements: answers the first failure. */
static int
pipeline_failed(struct batch *b, int n)
{
	int k;

	for (k = 0; k < n; k++)
		if (!db_ok(b->pr[k], PQresultStatus(b->pr[k]) == PGRES_TUPLES_OK ?
		    PGRES_TUPLES_OK : PGRES_COMMAND_OK))
			break;
	resp_db_error(b->rs, b->r->db, k < n ? b->pr[k] : NULL);
	return -1;
}

/* 201's body; "expired" (results older than history_retention_days, not
 * stored and not to be resent) only when there were any */
static json_t *
ingest_answer(size_t accepted, size_t dups, size_t expired)
{
	if (expired == 0)
		return json_pack("{s:I,s:I}", "accepted", (json_int_t)accepted,
		    "duplicates", (json_int_t)dups);
	return json_pack("{s:I,s:I,s:I}", "accepted", (json_int_t)accepted,
	    "duplicates", (json_int_t)dups, "expired", (json_int_t)expired);
}

/*
 * History (store/history.h): the partitions for the days present exist;
 * results older than the retention window are dropped here and counted
 * "expired". 0: go on; 1: nothing left to store (answered 201); -1: failed.
 */
static int
admit_history(struct batch *b)
{
	int64_t *obs = malloc(b->n * sizeof(*obs));
	unsigned char *keep = malloc(b->n);
	size_t i, j;
	int ex = HISTORY_ADMIT_FAILED, rc = -1;

	if (obs == NULL || keep == NULL) {
		resp_error(b->rs, 500, NULL, "out of memory");
		goto done;
	}
	for (i = 0; i < b->n; i++)
		obs[i] = b->res[i].observed_us;
	/* the token was checked at the door: this agent may make a partition */
	ex = history_admit(b->r->db, obs, b->n, keep, 1);
	if (ex < 0) {
		if (PQstatus(b->r->db) != CONNECTION_OK)
			resp_error(b->rs, 503, NULL, "database unavailable");
		else
			resp_error(b->rs, 500, NULL, "could not store history");
		goto done;
	}
	for (i = 0, j = 0; ex > 0 && i < b->n; i++)
		if (keep[i]) {
			b->res[j] = b->res[i];
			b->res[j].idx = j;
			j++;
		}
	b->expired = (size_t)ex;
	b->n -= b->expired;
	rc = 0;
	if (b->n == 0) {
		resp_json(b->rs, 201, ingest_answer(0, 0, b->expired));
		rc = 1;
	}
done:
	free(obs);
	free(keep);
	return rc;
}

/* 1. The body: one result or an array of them, each valid, at most
 * INGEST_MAX_RESULTS; sorted, indexed by result_id. 1: an empty batch,
 * answered. */
static int
parse_batch(struct batch *b)
{
	json_t *body = b->r->body;
	size_t i;
	int admitted;

	if (body == NULL || !(json_is_array(body) || json_is_object(body))) {
		resp_error(b->rs, 400, NULL, "expected a result object or an array of them");
		return -1;
	}
	if (json_is_array(body)) {
		b->arr = json_incref(body);
	} else if ((b->arr = json_array()) == NULL || json_array_append(b->arr, body) < 0) {
		resp_error(b->rs, 500, NULL, "out of memory");
		return -1;
	}
	b->n = json_array_size(b->arr);
	if (b->n > INGEST_MAX_RESULTS) {
		resp_error(b->rs, 422, NULL, "%zu results in one request (at most %d)", b->n,
		    INGEST_MAX_RESULTS);
		return -1;
	}
	if (b->n == 0) {
		resp_json(b->rs, 201, json_pack("{s:i,s:i}", "accepted", 0, "duplicates", 0));
		return 1;
	}
	b->res = calloc(b->n, sizeof(*b->res));
	b->byrid = calloc(b->n, sizeof(*b->byrid));
	b->cs = calloc(b->n, sizeof(*b->cs));
	b->evs = calloc(b->n * 3, sizeof(*b->evs));
	b->order = malloc(b->n * sizeof(*b->order));
	if (!b->res || !b->byrid || !b->cs || !b->evs || !b->order) {
		resp_error(b->rs, 500, NULL, "out of memory");
		return -1;
	}
	for (i = 0; i < b->n; i++) {
		if (parse_result(json_array_get(b->arr, i), i, b->now_us, b->max_skew_us,
		    &b->res[i], b->rs) < 0)
			return -1;
		if (b->res[i].ahead_us > b->ahead_us)
			b->ahead_us = b->res[i].ahead_us;
	}
	if ((admitted = admit_history(b)) != 0)
		return admitted;   /* 1: nothing left to store (answered), -1: failed */
	qsort(b->res, b->n, sizeof(*b->res), cmp_result);
	for (i = 0; i < b->n; i++)
		b->order[b->res[i].idx] = &b->res[i];
	/* results by (result_id, position), to mark what the INSERT took: of a
	 * result_id repeated in the request, PostgreSQL takes the first */
	for (i = 0; i < b->n; i++)
		if (b->res[i].result_id)
			b->byrid[b->nrid++] = &b->res[i];
	qsort(b->byrid, b->nrid, sizeof(*b->byrid), cmp_rid);
	return 0;
}

/*
 * 2. The statements' parameters: the distinct check ids as an array
 * literal, and one binary array per column of the insert, in request order
 * (of a result_id repeated in the request the first one counts, and
 * PostgreSQL keeps the first it inserts).
 */
static int
build_params(struct batch *b)
{
	static const uint32_t oids[INS_COLS] = { DB_OID_INT8, DB_OID_INT2, DB_OID_FLOAT8,
		DB_OID_TEXT, DB_OID_TEXT, DB_OID_TIMESTAMPTZ, DB_OID_INT4, DB_OID_TEXT };
	size_t cap = b->n * 21 + 3, off = 0, i;
	uint8_t h[SHA256_LEN];
	int k;

	if ((b->ids_text = malloc(cap)) == NULL) {
		resp_error(b->rs, 500, NULL, "out of memory");
		return -1;
	}
	b->ids_text[off++] = '{';
	for (i = 0; i < b->n; i++)
		if (i == 0 || b->res[i].check_id != b->res[i - 1].check_id)
			off += (size_t)snprintf(b->ids_text + off, cap - off, "%s%lld",
			    off > 1 ? "," : "", (long long)b->res[i].check_id);
	b->ids_text[off++] = '}';
	b->ids_text[off] = '\0';

	cap = b->r->raw_len * 2 + b->n * 64 + 1024;
	for (k = 0; k < INS_COLS; k++)
		db_array_begin(&b->cols[k], oids[k], cap);
	b->cols_live = 1;
	for (i = 0; i < b->n; i++) {
		const struct result *x = b->order[i];
		db_array_int8(&b->cols[0], x->check_id);
		db_array_int2(&b->cols[1], (int16_t)x->status);
		if (x->has_value)
			db_array_float8(&b->cols[2], x->value);
		else
			db_array_null(&b->cols[2]);
		db_array_text(&b->cols[3], x->output ? x->output : "");
		db_array_text(&b->cols[4], x->perfdata);
		if (x->observed_given)
			db_array_time(&b->cols[5], x->observed_us);
		else
			db_array_null(&b->cols[5]);   /* stamped under the lock */
		if (x->duration_ms >= 0)
			db_array_int4(&b->cols[6], (int32_t)x->duration_ms);
		else
			db_array_null(&b->cols[6]);
		db_array_text(&b->cols[7], x->result_id);
	}
	for (k = 0; k < INS_COLS; k++) {
		if (db_array_end(&b->cols[k]) < 0) {
			resp_error(b->rs, 500, NULL, "out of memory");
			return -1;
		}
		b->ins_vals[k] = b->cols[k].b.ptr;
		b->ins_lens[k] = (int)b->cols[k].b.len;
		b->ins_fmts[k] = 1;
	}
	token_hash(b->r->token, h);
	hex_encode(h, sizeof(h), b->tok_hex);
	secure_zero(h, sizeof(h));
	b->ins_lens[INS_COLS] = 0;
	b->ins_fmts[INS_COLS] = 0;
	snprintf(b->agent_id, sizeof(b->agent_id), "%lld", (long long)b->r->who.id);
	snprintf(b->lock_id, sizeof(b->lock_id), "%lld", (long long)(b->r->who.id & 0x7fffffff));
	return 0;
}

/* Counts what went in and answers 201 - only ever after COMMIT. */
static void
answer_accepted(struct batch *b)
{
	size_t i;

	if (b->accepted == 0 && b->dups == 0)
		for (i = 0; i < b->n; i++) {
			if (b->res[i].inserted == 1)
				b->accepted++;
			else
				b->dups++;
		}
	metrics_count_ingested((long long)b->accepted);
	resp_json(b->rs, 201, ingest_answer(b->accepted, b->dups, b->expired));
}

/*
 * 3. The steady case in one round trip: BEGIN, the agent's lock, insert if
 * nothing can change (q_steady), COMMIT. 1: done (answered), 0: not steady,
 * nothing inserted - take the full path. A stamp from an agent ahead of our
 * clock always takes the full path (it is recorded on the agent).
 */
static int
try_steady(struct batch *b)
{
	const struct db_stmt *const pst[4] = { &q_begin, &alert_q_lock_agent_by_token, &q_steady,
		&q_commit };
	const char *const av[1] = { b->tok_hex };
	const char *const *const vals[4] = { NULL, av, b->ins_vals, NULL };
	const int *const lens[4] = { NULL, NULL, b->ins_lens, NULL };
	const int *const fmts[4] = { NULL, NULL, b->ins_fmts, NULL };
	int k, steady = 0;

	if (b->ahead_us > 0)
		return 0;
	b->ins_vals[INS_COLS] = b->tok_hex;
	if (db_pipeline_bin(b->r->db, 4, pst, vals, lens, fmts, b->pr) < 0) {
		/* a failed statement leaves the transaction open: roll it back */
		b->in_tx = b->pr[0] && PQresultStatus(b->pr[0]) == PGRES_COMMAND_OK;
		return pipeline_failed(b, 4);
	}
	for (k = 0; k < PQntuples(b->pr[2]); k++)
		if (!PQgetisnull(b->pr[2], k, 0))
			steady = PQgetvalue(b->pr[2], k, 0)[0] == 't';
	if (!steady) {
		clear_pipeline(b);
		return 0;
	}
	mark_inserted(b->pr[2], 1, b->res, b->n, b->byrid, b->nrid);
	answer_accepted(b);
	return 1;
}

/*
 * The 403 of DESIGN.md: every check named that is not this agent's (or no
 * longer exists), listed in "check_ids" so the agent drops those results
 * only and resends the rest.
 */
static int
refuse_foreign(struct batch *b, const int64_t *foreign, size_t nf)
{
	json_t *ids = json_array();
	size_t i;

	resp_error(b->rs, 403, "check_id", "check %lld%s does not belong to this agent",
	    (long long)foreign[0], nf > 1 ? " (and others)" : "");
	for (i = 0; ids && i < nf; i++)
		json_array_append_new(ids, json_integer(foreign[i]));
	if (ids && b->rs->json)
		json_object_set_new(b->rs->json, "check_ids", ids);
	else
		json_decref(ids);
	return -1;
}

/*
 * 4. In one round trip: BEGIN, the agent's lock (alert/state.h), the states
 * of the checks named (read after the lock), and one INSERT of every result
 * (ON CONFLICT skips result_ids already stored; RETURNING says which went
 * in). One foreign or unknown check refuses the whole batch.
 */
static int
lock_and_insert(struct batch *b)
{
	const struct db_stmt *const pst[4] = { &q_begin, &alert_q_lock_agent, &q_lock, &q_insert };
	const char *const av[1] = { b->lock_id };
	const char *const lv[1] = { b->ids_text };
	const char *const *const vals[4] = { NULL, av, lv, b->ins_vals };
	const int *const lens[4] = { NULL, NULL, NULL, b->ins_lens };
	const int *const fmts[4] = { NULL, NULL, NULL, b->ins_fmts };
	const struct srv_conf *cf;
	double flap_lo, flap_hi;
	int64_t *foreign;
	size_t i, j, nf = 0;
	PGresult *q;
	int rc = -1;

	b->ins_vals[INS_COLS] = b->agent_id;
	if (db_pipeline_bin(b->r->db, 4, pst, vals, lens, fmts, b->pr) < 0) {
		b->in_tx = b->pr[0] && PQresultStatus(b->pr[0]) == PGRES_COMMAND_OK;
		return pipeline_failed(b, 4);
	}
	b->in_tx = 1;
	cf = conf_hold();
	flap_lo = (double)cf->flap_low_pct;
	flap_hi = (double)cf->flap_high_pct;
	conf_drop(cf);
	if ((foreign = calloc(b->n, sizeof(*foreign))) == NULL) {
		resp_error(b->rs, 500, NULL, "out of memory");
		return -1;
	}
	q = b->pr[2];
	b->ncs = (size_t)PQntuples(q);
	for (i = 0; i < b->ncs; i++) {
		const char *es;
		struct cstate *c = &b->cs[i];
		int row = (int)i;

		c->check_id = str_to_ll(PQgetvalue(q, row, 0), 1, INT64_MAX, &es);
		c->agent_id = str_to_ll(PQgetvalue(q, row, 1), 1, INT64_MAX, &es);
		if (c->agent_id != b->r->who.id)
			foreign[nf++] = c->check_id;
		c->p.max_attempts = (int)str_to_ll(PQgetvalue(q, row, 2), 1, 1000, &es);
		c->p.flap_low_pct = flap_lo;
		c->p.flap_high_pct = flap_hi;
		c->s.status = PQgetisnull(q, row, 3) ? -1 :
		    (int)str_to_ll(PQgetvalue(q, row, 3), 0, 3, &es);
		c->s.hard = strcmp(PQgetvalue(q, row, 4), "HARD") == 0;
		c->s.attempt = (int)str_to_ll(PQgetvalue(q, row, 5), 0, INT32_MAX, &es);
		c->s.hard_status = (int)str_to_ll(PQgetvalue(q, row, 6), 0, 3, &es);
		c->s.acknowledged = PQgetvalue(q, row, 7)[0] == 't';
		c->s.ack_sticky = PQgetvalue(q, row, 8)[0] == 't';
		c->s.flapping = PQgetvalue(q, row, 9)[0] == 't';
		c->s.flap_pct = str_to_double(PQgetvalue(q, row, 10), &es);
		snprintf(c->s.flap_history, sizeof(c->s.flap_history), "%s", PQgetvalue(q, row, 11));
		c->enabled = PQgetvalue(q, row, 12)[0] == 't';
		c->last_us = INT64_MIN;   /* see read_prior() */
		c->before = c->s;
	}
	/* every named check must have been found (rows come in id order) */
	for (i = 0, j = 0; i < b->n; i++) {
		if (i > 0 && b->res[i].check_id == b->res[i - 1].check_id)
			continue;
		while (j < b->ncs && b->cs[j].check_id < b->res[i].check_id)
			j++;
		if (j >= b->ncs || b->cs[j].check_id != b->res[i].check_id)
			foreign[nf++] = b->res[i].check_id;
	}
	if (nf > 0) {
		refuse_foreign(b, foreign, nf);
		goto done;
	}
	b->min_id = mark_inserted(b->pr[3], 0, b->res, b->n, b->byrid, b->nrid);
	rc = 0;
done:
	free(foreign);
	return rc;
}

/* The state of check_id (present: lock_and_insert() refused any other). */
static struct cstate *
cstate_of(struct batch *b, int64_t check_id)
{
	size_t lo = 0, hi = b->ncs;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (b->cs[mid].check_id < check_id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return &b->cs[lo];
}

/*
 * 5. Which checks might change state? A check whose every new result
 * leaves its state as it is (the steady case) needs nothing more. For the
 * others, results observed before the newest one already stored are late
 * and must not move the state: fetch that time (one more round trip, only
 * when some state may change).
 */
static int
read_prior(struct batch *b)
{
	struct buf ids;
	size_t i, k, nprior = 0;
	char mid[24];
	const char *v[2];
	int row;

	buf_init(&ids, b->n * 21 + 3);
	buf_adds(&ids, "{");
	for (i = 0; i < b->n; i = k) {
		struct cstate *c = cstate_of(b, b->res[i].check_id);
		struct eng_state sim = c->s;
		enum ev_kind ek[3];
		int moves = 0;

		for (k = i; k < b->n && b->res[k].check_id == b->res[i].check_id; k++) {
			if (moves || !c->enabled || b->res[k].inserted != 1)
				continue;   /* a disabled check has no state to change */
			if (engine_step(&sim, &c->p, b->res[k].status, ek) > 0 ||
			    state_changed(&sim, &c->before))
				moves = 1;
		}
		if (moves) {
			buf_addf(&ids, "%s%lld", nprior ? "," : "", (long long)c->check_id);
			nprior++;
		}
	}
	if (buf_adds(&ids, "}") < 0) {
		buf_free(&ids);
		resp_error(b->rs, 500, NULL, "out of memory");
		return -1;
	}
	if (nprior == 0) {
		buf_free(&ids);
		return 0;
	}
	v[0] = ids.ptr;
	v[1] = id_text(b->min_id ? b->min_id : INT64_MAX, mid);
	b->prior = db_exec(b->r->db, &q_prior, v);
	buf_free(&ids);
	if (!db_ok(b->prior, PGRES_TUPLES_OK)) {
		resp_db_error(b->rs, b->r->db, b->prior);
		return -1;
	}
	for (row = 0; row < PQntuples(b->prior); row++) {
		const char *es;
		int64_t cid = str_to_ll(PQgetvalue(b->prior, row, 0), 1, INT64_MAX, &es);
		cstate_of(b, cid)->last_us = str_to_ll(PQgetvalue(b->prior, row, 1),
		    INT64_MIN, INT64_MAX, &es);
	}
	return 0;
}

/* 6. The engine steps each new result of an enabled check, in (check,
 * observed) order; late results stay history only. */
static void
evaluate(struct batch *b)
{
	size_t i;

	for (i = 0; i < b->n; i++) {
		struct result *x = &b->res[i];
		struct cstate *c = cstate_of(b, x->check_id);
		enum ev_kind ek[3];
		int k, ne, prev;

		if (x->inserted != 1) {
			b->dups++;
			continue;
		}
		b->accepted++;
		if (!c->enabled)
			continue;   /* a disabled check: history only, no state, no event */
		if (x->observed_given && x->observed_us < c->last_us)
			continue;   /* late result: history only */
		prev = c->s.status;
		ne = engine_step(&c->s, &c->p, x->status, ek);
		c->last_us = x->observed_us;
		if (c->s.status_changed)
			c->since_us = x->observed_us;
		for (k = 0; k < ne; k++) {
			struct alert_event *e = &b->evs[b->nev++];
			e->kind = ek[k];
			e->agent_id = b->r->who.id;
			e->check_id = c->check_id;
			e->status = x->status;
			e->prev_status = prev;
			e->hard = c->s.hard;
			e->attempt = c->s.attempt;
			e->has_value = x->has_value;
			e->value = x->value;
			e->output = x->output;
		}
	}
}

/* The states the engine changed, as alert_q_write_states wants them. */
static int
changed_states(struct batch *b)
{
	json_t *upd = json_array();
	size_t j;
	int rc = -1;

	if (upd == NULL)
		goto done;
	for (j = 0; j < b->ncs; j++) {
		struct cstate *c = &b->cs[j];
		if (!state_changed(&c->before, &c->s))
			continue;   /* the common case: nothing to write */
		if (json_array_append_new(upd, json_pack("{s:I,s:i,s:s,s:i,s:i,s:o,s:b,s:b,s:s,s:f}",
		    "check_id", (json_int_t)c->check_id, "status", c->s.status,
		    "state_type", c->s.hard ? "HARD" : "SOFT", "attempt", c->s.attempt,
		    "hard_status", c->s.hard_status,
		    "since", c->since_us ? json_integer(c->since_us) : json_null(),
		    "ack_cleared", c->before.acknowledged && !c->s.acknowledged,
		    "flapping", c->s.flapping, "flap_history", c->s.flap_history,
		    "flap_pct", c->s.flap_pct)) < 0)
			goto done;
	}
	if (json_array_size(upd) > 0 && (b->upd_text = json_dumps(upd, JSON_COMPACT)) == NULL)
		goto done;
	rc = 0;
done:
	json_decref(upd);
	if (rc < 0)
		resp_error(b->rs, 500, NULL, "out of memory");
	return rc;
}

/*
 * 7. Write back what changed (alert/), record the events (alert_record(),
 * which queues their notifications in this same transaction), COMMIT.
 * Without events the write-back and the COMMIT share a round trip.
 */
static int
write_and_commit(struct batch *b)
{
	const char *uv[1];
	enum db_outcome st;
	PGresult *q;

	if (changed_states(b) < 0)
		return -1;
	uv[0] = b->upd_text;
	if (b->nev == 0) {
		const struct db_stmt *const st2[2] = { &alert_q_write_states, &q_commit };
		const char *const *const vals[2] = { uv, NULL };
		int skip = b->upd_text == NULL;   /* nothing changed: commit only */

		clear_pipeline(b);
		if (db_pipeline(b->r->db, 2 - skip, st2 + skip, vals + skip, b->pr) < 0) {
			PGresult *bad = b->pr[0];
			if (!skip && db_ok(b->pr[0], PGRES_COMMAND_OK))
				bad = b->pr[1];
			resp_db_error(b->rs, b->r->db, bad);
			return -1;   /* in_tx: batch_free() ends the failed transaction */
		}
		b->in_tx = 0;
		return 0;
	}
	if (b->upd_text) {
		q = db_exec(b->r->db, &alert_q_write_states, uv);
		if (!db_ok(q, PGRES_COMMAND_OK)) {
			resp_db_error(b->rs, b->r->db, q);
			PQclear(q);
			return -1;
		}
		PQclear(q);
	}
	if ((st = alert_record(b->r->db, b->evs, b->nev, NULL)) != DB_OK) {
		resp_db_outcome(b->rs, st, "could not record events");
		return -1;
	}
	q = PQexec(b->r->db, "COMMIT");
	b->in_tx = 0;
	if (!db_ok(q, PGRES_COMMAND_OK)) {
		resp_db_error(b->rs, b->r->db, q);
		PQclear(q);
		return -1;
	}
	PQclear(q);
	return 0;
}

/*
 * POST /api/v1/check_history. The token was checked at the door (http.c),
 * so r->who is this agent. The steps are named above; see the file's head
 * for what each costs.
 */
void
api_check_history_post(struct req *r, struct resp *rs)
{
	struct batch b;
	int st;

	memset(&b, 0, sizeof(b));
	b.r = r;
	b.rs = rs;
	b.now_us = time_now_us();
	b.max_skew_us = CONF_VALUE(max_clock_skew_s) * 1000000LL;
	if (parse_batch(&b) != 0 || build_params(&b) < 0)
		goto done;
	if ((st = try_steady(&b)) != 0)
		goto done;   /* answered (1) or refused (-1) */
	if (lock_and_insert(&b) < 0 || read_prior(&b) < 0)
		goto done;
	evaluate(&b);
	if (write_and_commit(&b) < 0)
		goto done;
	if (b.ahead_us > 0)
		note_clock_ahead(r, b.ahead_us);
	/* only a committed batch is acknowledged */
	metrics_count_ingested((long long)b.accepted);
	resp_json(rs, 201, ingest_answer(b.accepted, b.dups, b.expired));
done:
	batch_free(&b);
}
