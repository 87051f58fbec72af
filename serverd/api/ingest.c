/*
 * ingest.c - POST /api/v1/check_history: store results and evaluate them.
 *
 * The handler (at the end of this file) is a short list of named steps
 * over one struct batch:
 *   parse_batch       the body (one result or an array), read from the raw
 *                     text in one pass by ingest_parse.c (http.c leaves it
 *                     unparsed: BODY_RAW), each result validated (a stamp
 *                     too far ahead gets our time: max_clock_skew_s);
 *                     admit_history makes the day partitions it needs and
 *                     drops results older than the retention ("expired")
 *   build_params      per distinct check its id, the one status all its
 *                     results carry (-1 when they differ) and its earliest
 *                     stamp, as binary arrays; and the way in, chosen here
 *                     once: by COPY, or by one INSERT for a small batch
 *                     (INGEST_COPY_MIN: an alert's single result is not held
 *                     up by the COPY's exchanges)
 *   store             the statements of store/ingest_sql.h, under the
 *                     agent's lock (alert/state.h: the one lock rule for
 *                     check_state), in one transaction: the states of the
 *                     checks that may change (a check whose results all
 *                     repeat its status while it is HARD and not flapping
 *                     is neither read nor evaluated: in a steady fleet a
 *                     check costs its row and nothing more; a check in
 *                     motion takes its flap window from check_state where
 *                     that keeps it, and from its history otherwise:
 *                     store/ingest_sql.h), the claims of
 *                     the result_ids the server stamps (result_stamps: a
 *                     resend of such a result is found by its key, not
 *                     looked for in every day partition), and the results.
 *                     A foreign or unknown check refuses the whole batch
 *                     (403 listing every such check in "check_ids"), and
 *                     nothing is stored. By COPY: one round trip for BEGIN,
 *                     the lock, the states and the claims, then every
 *                     result not refused in one COPY (binary), the cheapest
 *                     way into PostgreSQL. When a result with its own stamp
 *                     is already stored (a resend: the COPY meets the unique
 *                     key, which holds observed_at), or a result_id we stamp
 *                     was claimed before (the claims go in all or nothing),
 *                     the transaction is rolled back and the batch goes in
 *                     by the INSERT (ON CONFLICT DO NOTHING, whose RETURNING
 *                     says which results went in): the one place the way
 *                     changes.
 *   evaluate          alert/eval.h steps each new result of the checks read,
 *                     in observed order
 *   write_and_commit  the last round trip: the changed states through
 *                     alert/ (alert_q_write_states), the events through
 *                     alert_q_record (outbox rows in the same transaction),
 *                     COMMIT - and only then 201 {"accepted", "duplicates"}.
 *                     Behind the COMMIT, in the same pipeline, the live
 *                     stream is told which checks changed, and the events'
 *                     notifications go out (alert_q_after_commit: a NOTIFY
 *                     inside the batch's transaction would hold a
 *                     cluster-wide lock across its commit's flush).
 * Four round trips for a batch (the pipeline, COPY's two, the pipeline that
 * commits), two for a small one; one more when an agent whose clock was
 * last seen ahead sends result_ids with stamps of its own (they are claimed
 * too: its resends may repeat results that were stored with our time).
 * A result without observed_at is stamped with our time when it is
 * stored: by COPY after the lock is held, so it is never late.
 */
#include "config.h"
#include "alert.h"
#include "state.h"
#include "api.h"
#include "apiutil.h"
#include "db.h"
#include "eval.h"
#include "history.h"
#include "ingest_parse.h"
#include "ingest_sql.h"
#include "log.h"
#include "metrics.h"
#include "outbox.h"
#include "urgent.h"
#include "http.h"
#include "serverd.h"
#include "strnum.h"
#include "timeutil.h"
#include "utf8.h"

#include <stdlib.h>
#include <string.h>

#define INGEST_COPY_MIN 16          /* smaller batches go in by one INSERT */
_Static_assert(INGEST_FLAP_RESULTS == ENGINE_FLAP_WINDOW,
    "the flap window read (store/ingest_sql.h) must be the engine's");
#define INS_COLS INGEST_INSERT_COLS /* array parameters of the insert */

/* The way a batch goes in (build_params chooses; store follows). */
enum way { WAY_COPY, WAY_INSERT };

/* res[i].inserted: not yet known, stored, or refused as a duplicate */
enum { RES_PENDING = 0, RES_STORED = 1, RES_DUPLICATE = 2 };

static const struct db_stmt q_begin = { NULL, "BEGIN", 0 };
static const struct db_stmt q_commit = { NULL, "COMMIT", 0 };

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

/* The first result in byrid (of those pick() takes) whose result_id is
 * rid, or NULL. */
static struct result *
first_with_rid(struct result **byrid, size_t nrid, const char *rid, int (*pick)(const struct result *))
{
	size_t lo = 0, hi = nrid;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (strcmp(byrid[mid]->result_id, rid) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (; lo < nrid && strcmp(byrid[lo]->result_id, rid) == 0; lo++)
		if (pick == NULL || pick(byrid[lo]))
			return byrid[lo];
	return NULL;
}

/*
 * Marks the results that ingest_q_insert's 'i' rows say went in: those
 * without result_id always do, the others by result_id (of a result_id
 * repeated in the request, the first); the rest are duplicates.
 */
static void
mark_inserted(PGresult *q, struct result *res, size_t n, struct result **byrid, size_t nrid)
{
	int nr = PQntuples(q), k;
	size_t i;

	for (k = 0; k < nr; k++) {
		struct result *x;

		if (PQgetvalue(q, k, C_KIND)[0] != INGEST_ROW_STORED || PQgetisnull(q, k, C_RID))
			continue;
		x = first_with_rid(byrid, nrid, PQgetvalue(q, k, C_RID), NULL);
		if (x != NULL && x->inserted == RES_PENDING)
			x->inserted = RES_STORED;
	}
	for (i = 0; i < n; i++)
		if (res[i].inserted == RES_PENDING)
			res[i].inserted = res[i].result_id == NULL ? RES_STORED : RES_DUPLICATE;
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
	struct ingest_body body;    /* the results and their strings (ingest_parse.h) */
	size_t n;
	struct result *res;         /* body.res, sorted by (check, observed, position) */
	struct result **order;      /* res in request order */
	struct result **byrid;      /* results with a result_id, by (result_id, position) */
	size_t nrid, nrid_ours;     /* of them, those we stamp */
	enum way way;
	struct eval_check *cs;      /* the checks that may change, by id */
	size_t ncs;
	struct alert_event *evs;    /* at most 3 per result */
	size_t nev;
	struct db_array cols[INS_COLS + 3];   /* the insert's columns, then IDS, STS, FIRST */
	int cols_live;
	int ins_built;              /* cols[0..INS_COLS) made (build_columns) */
	const char *ins_vals[INS_COLS + 6];
	int ins_lens[INS_COLS + 6], ins_fmts[INS_COLS + 6];
	char agent_id[24], lock_id[24], skew_s[24], now_us_text[24];
	int ahead;                  /* the agent's clock was last seen ahead */
	PGresult *pr[4];            /* the pipelines' results */
	char *upd_text;             /* the states to write back (JSON), or NULL */
	char *ev_text;              /* the events to record (JSON), or NULL */
	char *shown_text;           /* '{id,...}' of changes the stream shows, or NULL */
	int in_tx;
	size_t accepted, dups, expired;
	int64_t now_us, max_skew_us, ahead_us;
	int64_t stamp_us;           /* the stamp stored on results without their own */
	char **esc;                 /* escaped outputs and perfdata (heap), or NULL */
	size_t nesc;
};

static void
batch_free(struct batch *b)
{
	size_t i;

	if (b->in_tx && b->r->db && PQstatus(b->r->db) == CONNECTION_OK)
		db_cmd(b->r->db, "ROLLBACK");
	for (i = 0; i < 4; i++)
		PQclear(b->pr[i]);
	if (b->cols_live)
		for (i = 0; i < INS_COLS + 3; i++)
			db_array_free(&b->cols[i]);
	free(b->order);
	free(b->upd_text);
	free(b->ev_text);
	free(b->shown_text);
	free(b->evs);
	free(b->cs);
	free(b->byrid);
	while (b->nesc > 0)
		free(b->esc[--b->nesc]);
	free(b->esc);
	ingest_body_free(&b->body);
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

/* One text's control characters escaped (utf8.h), the copy kept in b. */
static int
escape_one(struct batch *b, const char **text, int flags)
{
	size_t n;
	char *e;

	if (*text == NULL)
		return 0;
	n = strlen(*text);
	if (utf8_ctl_find(*text, n, flags) == n)
		return 0;
	if (b->esc == NULL && (b->esc = calloc(b->n * 2, sizeof(*b->esc))) == NULL)
		return -1;
	if ((e = utf8_ctl_escape(*text, n, flags)) == NULL)
		return -1;
	b->esc[b->nesc++] = e;
	*text = e;
	return 0;
}

/*
 * What a host prints is shown to operators in terminals and mail: a
 * control character in an output or in perfdata (LF and TAB kept: a
 * plugin's lines) is stored escaped as \u00XX, never as the byte
 * (docs/api.md).
 * A scan of each text; a copy only for the rare text that has one.
 */
static int
escape_controls(struct batch *b)
{
	size_t i;

	for (i = 0; i < b->n; i++)
		if (escape_one(b, &b->res[i].output, UTF8_CTL_KEEP_NL_TAB) < 0 ||
		    escape_one(b, &b->res[i].perfdata, UTF8_CTL_KEEP_NL_TAB) < 0)
			return -1;
	return 0;
}

/*
 * 1. The body: one result or an array of them, each valid, at most
 * INGEST_MAX_RESULTS, read straight from the raw text (ingest_parse.h:
 * jansson's rules, without a json_t per value); sorted, indexed by
 * result_id. 1: an empty batch, answered.
 */
static int
parse_batch(struct batch *b)
{
	struct ingest_err e;
	size_t i;
	int admitted;

	if (ingest_parse(b->r->raw, b->r->raw_len, b->now_us, b->max_skew_us, &b->body, &e) < 0) {
		resp_error(b->rs, e.status, e.field, "%s", e.msg);
		return -1;
	}
	b->res = b->body.res;
	b->n = b->body.n;
	if (escape_controls(b) < 0) {
		resp_error(b->rs, 500, NULL, "out of memory");
		return -1;
	}
	if (b->n == 0) {
		resp_json(b->rs, 201, json_pack("{s:i,s:i}", "accepted", 0, "duplicates", 0));
		return 1;
	}
	b->byrid = calloc(b->n, sizeof(*b->byrid));
	b->cs = calloc(b->n, sizeof(*b->cs));
	b->evs = calloc(b->n * 3, sizeof(*b->evs));
	b->order = malloc(b->n * sizeof(*b->order));
	if (!b->byrid || !b->cs || !b->evs || !b->order) {
		resp_error(b->rs, 500, NULL, "out of memory");
		return -1;
	}
	for (i = 0; i < b->n; i++) {
		if (b->res[i].ahead_us == 0)
			continue;
		if (b->res[i].ahead_us > b->ahead_us)
			b->ahead_us = b->res[i].ahead_us;
		/*
		 * A stamp too far ahead is replaced by our time, which a resend
		 * (the agent's answer lost) cannot repeat: the key that holds
		 * observed_at would not see the duplicate. Such a result goes in
		 * as one without observed_at: stamped when inserted, never late,
		 * its result_id claimed (store/ingest_sql.h).
		 */
		b->res[i].observed_given = 0;
	}
	if ((admitted = admit_history(b)) != 0)
		return admitted;   /* 1: nothing left to store (answered), -1: failed */
	qsort(b->res, b->n, sizeof(*b->res), cmp_result);
	for (i = 0; i < b->n; i++)
		b->order[b->res[i].idx] = &b->res[i];
	/* results by (result_id, position), to mark what the INSERT took: of a
	 * result_id repeated in the request, PostgreSQL takes the first */
	for (i = 0; i < b->n; i++)
		if (b->res[i].result_id) {
			b->byrid[b->nrid++] = &b->res[i];
			b->nrid_ours += !b->res[i].observed_given;
		}
	qsort(b->byrid, b->nrid, sizeof(*b->byrid), cmp_rid);
	return 0;
}

/*
 * 2. The parameters every way in needs: the distinct checks and, per
 * check, the status all its results carry, or -1, and the earliest
 * observed_at of its results (binary arrays; a result without observed_at
 * counts as now: it is never late), the agent, its lock key and
 * max_clock_skew_s. And the way in (enum way), chosen once.
 */
static int
build_params(struct batch *b)
{
	size_t i, k;
	int c;

	db_array_begin(&b->cols[INS_COLS], DB_OID_INT8, b->n * 16 + 64);
	db_array_begin(&b->cols[INS_COLS + 1], DB_OID_INT2, b->n * 16 + 64);
	db_array_begin(&b->cols[INS_COLS + 2], DB_OID_INT8, b->n * 16 + 64);
	b->cols_live = 1;
	/* res is sorted by check, then observed: one entry per run of a check's
	 * results */
	for (i = 0; i < b->n; i = k) {
		int st = b->res[i].status;
		int64_t first = b->now_us;
		for (k = i; k < b->n && b->res[k].check_id == b->res[i].check_id; k++) {
			if (b->res[k].status != st)
				st = -1;
			if (b->res[k].observed_given && b->res[k].observed_us < first)
				first = b->res[k].observed_us;
		}
		db_array_int8(&b->cols[INS_COLS], b->res[i].check_id);
		db_array_int2(&b->cols[INS_COLS + 1], (int16_t)st);
		db_array_int8(&b->cols[INS_COLS + 2], first);
	}
	for (c = INS_COLS; c < INS_COLS + 3; c++) {
		if (db_array_end(&b->cols[c]) < 0) {
			resp_error(b->rs, 500, NULL, "out of memory");
			return -1;
		}
		b->ins_vals[c + 1] = b->cols[c].b.ptr;
		b->ins_lens[c + 1] = (int)b->cols[c].b.len;
		b->ins_fmts[c + 1] = 1;
	}
	snprintf(b->agent_id, sizeof(b->agent_id), "%lld", (long long)b->r->who.id);
	snprintf(b->lock_id, sizeof(b->lock_id), "%lld", (long long)(b->r->who.id & 0x7fffffff));
	snprintf(b->skew_s, sizeof(b->skew_s), "%lld", (long long)(b->max_skew_us / 1000000));
	b->ins_vals[INS_COLS] = b->agent_id;   /* $9, as text */
	b->ins_lens[INS_COLS] = 0;
	b->ins_fmts[INS_COLS] = 0;
	b->ins_vals[INS_COLS + 4] = b->skew_s;   /* $13, as text */
	b->ins_lens[INS_COLS + 4] = 0;
	b->ins_fmts[INS_COLS + 4] = 0;
	b->ins_vals[INS_COLS + 5] = b->now_us_text;   /* $14, as text: set when sent */
	b->ins_lens[INS_COLS + 5] = 0;
	b->ins_fmts[INS_COLS + 5] = 0;
	/* a small batch (an alert's single result) costs two round trips by
	 * the INSERT, against four for the states, the COPY and the commit */
	b->way = b->n < INGEST_COPY_MIN ? WAY_INSERT : WAY_COPY;
	return 0;
}

/* One result's fields, as an array element or a COPY field each (db.h). */
static void
put_fields(struct db_array *col, int ncol, const struct result *x, int64_t agent,
    int64_t unstamped_us)
{
#define COL(k) (&col[ncol > 1 ? (k) : 0])
	db_array_int8(COL(0), x->check_id);
	if (ncol == 1)
		db_array_int8(COL(0), agent);
	db_array_int2(COL(1), (int16_t)x->status);
	if (x->has_value)
		db_array_float8(COL(2), x->value);
	else
		db_array_null(COL(2));
	db_array_text(COL(3), x->output ? x->output : "");
	db_array_text(COL(4), x->perfdata);
	if (x->observed_given)
		db_array_time(COL(5), x->observed_us);
	else if (unstamped_us)
		db_array_time(COL(5), unstamped_us);
	else
		db_array_null(COL(5));   /* stamped by the INSERT, under the lock */
	if (x->duration_ms >= 0)
		db_array_int4(COL(6), (int32_t)x->duration_ms);
	else
		db_array_null(COL(6));
	db_array_text(COL(7), x->result_id);
#undef COL
}

/*
 * The columns of ingest_q_insert ($1..$8): one binary array each, in
 * request order (of a result_id repeated in the request the first one
 * counts, and PostgreSQL keeps the first it inserts).
 */
static int
build_columns(struct batch *b)
{
	static const uint32_t oids[INS_COLS] = { DB_OID_INT8, DB_OID_INT2, DB_OID_FLOAT8,
		DB_OID_TEXT, DB_OID_TEXT, DB_OID_TIMESTAMPTZ, DB_OID_INT4, DB_OID_TEXT };
	size_t i;
	int c;

	for (c = 0; c < INS_COLS; c++)
		db_array_begin(&b->cols[c], oids[c], b->r->raw_len * 2 + b->n * 64 + 1024);
	for (i = 0; i < b->n; i++)
		put_fields(b->cols, INS_COLS, b->order[i], b->r->who.id, 0);
	for (c = 0; c < INS_COLS; c++) {
		if (db_array_end(&b->cols[c]) < 0) {
			resp_error(b->rs, 500, NULL, "out of memory");
			return -1;
		}
		b->ins_vals[c] = b->cols[c].b.ptr;
		b->ins_lens[c] = (int)b->cols[c].b.len;
		b->ins_fmts[c] = 1;
	}
	return 0;
}

/*
 * The 403 of docs/api.md: every check named that is not this agent's (or no
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
 * The 'k' and 'a' rows of ingest_q_states or ingest_q_insert: the checks
 * that may change into b->cs (by id), every foreign or unknown check into
 * foreign[] (*nf of them), the agent's clock seen ahead into b->ahead.
 */
static void
read_states(struct batch *b, PGresult *q, int64_t *foreign, size_t *nf)
{
	const struct srv_conf *cf = conf_hold();
	double flap_lo = (double)cf->flap_low_pct, flap_hi = (double)cf->flap_high_pct;
	int row;

	conf_drop(cf);
	b->ncs = 0;
	*nf = 0;
	for (row = 0; row < PQntuples(q); row++) {
		const char *es, *kind = PQgetvalue(q, row, C_KIND);
		struct eval_check *c;
		int64_t id;

		if (kind[0] == INGEST_ROW_AHEAD)
			b->ahead = 1;
		if (kind[0] != INGEST_ROW_STATE)
			continue;
		id = str_to_ll(PQgetvalue(q, row, C_CHECK), 1, INT64_MAX, &es);
		if (PQgetisnull(q, row, C_AGENT) ||
		    str_to_ll(PQgetvalue(q, row, C_AGENT), 1, INT64_MAX, &es) != b->r->who.id) {
			foreign[(*nf)++] = id;   /* not this agent's, or no such check */
			continue;
		}
		c = &b->cs[b->ncs++];
		memset(c, 0, sizeof(*c));
		c->check_id = id;
		c->agent_id = b->r->who.id;
		c->p.max_attempts = (int)str_to_ll(PQgetvalue(q, row, C_MAX_ATTEMPTS), 1, 1000, &es);
		c->p.flap_low_pct = flap_lo;
		c->p.flap_high_pct = flap_hi;
		c->s.status = PQgetisnull(q, row, C_STATUS) ? -1 :
		    (int)str_to_ll(PQgetvalue(q, row, C_STATUS), 0, 3, &es);
		c->s.hard = strcmp(PQgetvalue(q, row, C_STATE_TYPE), "HARD") == 0;
		c->s.attempt = (int)str_to_ll(PQgetvalue(q, row, C_ATTEMPT), 0, INT32_MAX, &es);
		c->s.hard_status = (int)str_to_ll(PQgetvalue(q, row, C_HARD_STATUS), 0, 3, &es);
		c->s.acknowledged = PQgetvalue(q, row, C_ACK)[0] == 't';
		c->s.ack_sticky = PQgetvalue(q, row, C_ACK_STICKY)[0] == 't';
		c->s.flapping = PQgetvalue(q, row, C_FLAPPING)[0] == 't';
		c->s.flap_pct = str_to_double(PQgetvalue(q, row, C_FLAP_PCT), &es);
		/* the flap window: kept in check_state, or read from the check's
		 * newest stored results (a HARD check that is not flapping is not
		 * read while its results repeat its status, so check_state keeps
		 * no window for it: alert/eval.h) */
		eval_window_set(&c->w, PQgetisnull(q, row, C_FLAP) ? NULL : PQgetvalue(q, row, C_FLAP),
		    PQgetisnull(q, row, C_WIN_FROM) ? 0 :
		    str_to_ll(PQgetvalue(q, row, C_WIN_FROM), INT64_MIN, INT64_MAX, &es),
		    PQgetisnull(q, row, C_WIN_LAST) ? 0 :
		    str_to_ll(PQgetvalue(q, row, C_WIN_LAST), INT64_MIN, INT64_MAX, &es),
		    PQgetvalue(q, row, C_WIN_KEPT)[0] == 't', PQgetvalue(q, row, C_WIN_OK)[0] == 't');
		engine_flap_replay(c->w.st, c->s.flap_history);
		c->enabled = PQgetvalue(q, row, C_ENABLED)[0] == 't';
		c->last_us = str_to_ll(PQgetvalue(q, row, C_NEWEST_US), INT64_MIN, INT64_MAX, &es);
		c->before = c->s;
	}
	eval_sort_checks(b->cs, b->ncs);
}

static int
stamped_by_us(const struct result *x)
{
	return !x->observed_given;
}

static int
stamped_by_agent(const struct result *x)
{
	return x->observed_given;
}

/* The result_ids of the results pick() takes, as ingest_q_claim's $2. */
static int
claim_array(struct batch *b, int (*pick)(const struct result *), struct db_array *a)
{
	size_t i;

	db_array_begin(a, DB_OID_TEXT, b->nrid * 48 + 64);
	for (i = 0; i < b->nrid; i++)
		if (pick(b->byrid[i]))
			db_array_text(a, b->byrid[i]->result_id);
	if (db_array_end(a) < 0) {
		db_array_free(a);
		resp_error(b->rs, 500, NULL, "out of memory");
		return -1;
	}
	return 0;
}

/* ingest_q_claim's answer for the results pick() takes: those whose
 * result_id it does not name (or a later one of a result_id repeated in
 * the request) are duplicates, not to be stored */
static void
mark_claimed(struct batch *b, PGresult *q, int (*pick)(const struct result *))
{
	size_t i;
	int k;

	for (i = 0; i < b->nrid; i++)
		if (pick(b->byrid[i]))
			b->byrid[i]->inserted = RES_DUPLICATE;
	for (k = 0; k < PQntuples(q); k++) {
		struct result *x = first_with_rid(b->byrid, b->nrid, PQgetvalue(q, k, 0), pick);
		if (x != NULL)
			x->inserted = RES_PENDING;
	}
}

/*
 * The claims of an agent whose clock was last seen ahead: the result_ids
 * it stamped itself, claimed like ours (its resends may repeat results
 * stored with our time). One statement in the open transaction; 0 or -1.
 */
static int
claim_agent_stamped(struct batch *b)
{
	struct db_array a;
	const char *v[2] = { b->agent_id, NULL };
	int l[2] = { 0, 0 };
	const int f[2] = { 0, 1 };
	const struct db_stmt *const pst[1] = { &ingest_q_claim };
	const char *const *const vals[1] = { v };
	const int *const lens[1] = { l };
	const int *const fmts[1] = { f };
	int rc;

	if (claim_array(b, stamped_by_agent, &a) < 0)
		return -1;
	v[1] = a.b.ptr;
	l[1] = (int)a.b.len;
	clear_pipeline(b);
	rc = db_pipeline_bin(b->r->db, 1, pst, vals, lens, fmts, b->pr);
	db_array_free(&a);
	if (rc < 0)
		return pipeline_failed(b, 1);
	mark_claimed(b, b->pr[0], stamped_by_agent);
	return 0;
}

/*
 * The results not refused, in one COPY, under the lock (the states were
 * read before, so the rows are not "the newest before"). A result without
 * observed_at is stamped now, under the lock, so it is never late. Returns
 * 0, 1 when a result was already stored (unique_violation: the
 * transaction is rolled back, for the INSERT), -1 on failure (answered).
 */
static int
copy_results(struct batch *b)
{
	struct db_array rows;
	int64_t now = time_now_us();
	PGresult *q;
	size_t i;
	int rc = -1;

	b->stamp_us = now;
	db_copy_begin(&rows);
	for (i = 0; i < b->n; i++) {
		if (b->order[i]->inserted == RES_DUPLICATE)
			continue;
		db_copy_row(&rows, INGEST_COPY_FIELDS);
		put_fields(&rows, 1, b->order[i], b->r->who.id, now);
	}
	if (db_copy_end(&rows) < 0) {
		db_array_free(&rows);
		resp_error(b->rs, 500, NULL, "out of memory");
		return -1;
	}
	q = db_copy_in(b->r->db, ingest_copy_sql, &rows);
	db_array_free(&rows);
	if (db_ok(q, PGRES_COMMAND_OK)) {
		for (i = 0; i < b->n; i++)
			if (b->res[i].inserted == RES_PENDING)
				b->res[i].inserted = RES_STORED;
		rc = 0;
	} else if (strcmp(db_sqlstate(q), "23505") == 0) {
		if (db_cmd(b->r->db, "ROLLBACK") < 0)
			resp_db_error(b->rs, b->r->db, NULL);
		else
			b->in_tx = 0, rc = 1;
	} else {
		resp_db_error(b->rs, b->r->db, q);
	}
	PQclear(q);
	return rc;
}

/*
 * By COPY: BEGIN, the lock, the states (ingest_q_states) and the claims of
 * the result_ids we stamp (ingest_q_claim_all: all or nothing) in one round
 * trip; the claims of an agent seen ahead; the COPY. 0, 1 (a result was
 * already stored or claimed: rolled back, take the INSERT), -1 (answered).
 */
static int
store_by_copy(struct batch *b, int64_t *foreign, size_t *nf)
{
	const struct db_stmt *const pst[4] = { &q_begin, &alert_q_lock_ingest, &ingest_q_states,
		&ingest_q_claim_all };
	const char *const av[1] = { b->lock_id };
	const char *const sv[5] = { b->agent_id, b->ins_vals[INS_COLS + 1],
		b->ins_vals[INS_COLS + 2], b->ins_vals[INS_COLS + 3], b->skew_s };
	const int sl[5] = { 0, b->ins_lens[INS_COLS + 1], b->ins_lens[INS_COLS + 2],
		b->ins_lens[INS_COLS + 3], 0 };
	const int sf[5] = { 0, 1, 1, 1, 0 };
	const char *cv[2] = { b->agent_id, NULL };
	int cl[2] = { 0, 0 };
	const int cf[2] = { 0, 1 };
	const char *const *const vals[4] = { NULL, av, sv, cv };
	const int *const lens[4] = { NULL, NULL, sl, cl };
	const int *const fmts[4] = { NULL, NULL, sf, cf };
	struct db_array claims;
	int n = b->nrid_ours > 0 ? 4 : 3, rc;

	if (n == 4) {
		if (claim_array(b, stamped_by_us, &claims) < 0)
			return -1;
		cv[1] = claims.b.ptr;
		cl[1] = (int)claims.b.len;
	}
	clear_pipeline(b);
	rc = db_pipeline_bin(b->r->db, n, pst, vals, lens, fmts, b->pr);
	if (n == 4)
		db_array_free(&claims);
	if (rc < 0) {
		b->in_tx = b->pr[0] && PQresultStatus(b->pr[0]) == PGRES_COMMAND_OK;
		/* a result_id claimed before (a resend) or named twice: the
		 * INSERT's claim says which (a foreign check is refused there) */
		if (n == 4 && b->in_tx && b->pr[3] != NULL &&
		    PQresultStatus(b->pr[3]) == PGRES_FATAL_ERROR &&
		    strcmp(db_sqlstate(b->pr[3]), "23505") == 0) {
			if (db_cmd(b->r->db, "ROLLBACK") < 0) {
				resp_db_error(b->rs, b->r->db, NULL);
				return -1;
			}
			b->in_tx = 0;
			return 1;
		}
		return pipeline_failed(b, n);
	}
	b->in_tx = 1;
	read_states(b, b->pr[2], foreign, nf);
	if (*nf > 0)
		return 0;
	/* (every result_id of ours is claimed: the claim would have failed) */
	if (b->ahead && b->nrid > b->nrid_ours && claim_agent_stamped(b) < 0)
		return -1;
	return copy_results(b);
}

/* By INSERT (ingest_q_insert): BEGIN, the lock, one statement. 0 or -1. */
static int
store_by_insert(struct batch *b, int64_t *foreign, size_t *nf)
{
	const struct db_stmt *const pst[3] = { &q_begin, &alert_q_lock_ingest, &ingest_q_insert };
	const char *const av[1] = { b->lock_id };
	const char *const *const vals[3] = { NULL, av, b->ins_vals };
	const int *const lens[3] = { NULL, NULL, b->ins_lens };
	const int *const fmts[3] = { NULL, NULL, b->ins_fmts };
	size_t i;

	clear_pipeline(b);
	if (!b->ins_built) {
		if (build_columns(b) < 0)
			return -1;
		b->ins_built = 1;
	}
	for (i = 0; i < b->n; i++)
		b->res[i].inserted = RES_PENDING;   /* again, after a COPY's roll-back */
	b->stamp_us = time_now_us();
	snprintf(b->now_us_text, sizeof(b->now_us_text), "%lld", (long long)b->stamp_us);
	if (db_pipeline_bin(b->r->db, 3, pst, vals, lens, fmts, b->pr) < 0) {
		/* a failed statement leaves the transaction open: roll it back */
		b->in_tx = b->pr[0] && PQresultStatus(b->pr[0]) == PGRES_COMMAND_OK;
		return pipeline_failed(b, 3);
	}
	b->in_tx = 1;
	read_states(b, b->pr[2], foreign, nf);
	if (*nf == 0)
		mark_inserted(b->pr[2], b->res, b->n, b->byrid, b->nrid);
	return 0;
}

/*
 * 3. The batch into check_history the way build_params chose, the states
 * of the checks that may change read on the way; one foreign or unknown
 * check refuses the whole batch.
 */
static int
store(struct batch *b)
{
	int64_t *foreign;
	size_t nf = 0;
	int rc = -1, st = 0;

	if ((foreign = calloc(b->n, sizeof(*foreign))) == NULL) {
		resp_error(b->rs, 500, NULL, "out of memory");
		return -1;
	}
	if (b->way == WAY_COPY && (st = store_by_copy(b, foreign, &nf)) < 0)
		goto done;
	if (st == 1)
		b->way = WAY_INSERT;   /* a resend met the unique key: the one change of way */
	if (b->way == WAY_INSERT && store_by_insert(b, foreign, &nf) < 0)
		goto done;
	if (nf > 0) {
		refuse_foreign(b, foreign, nf);
		goto done;
	}
	rc = 0;
done:
	free(foreign);
	return rc;
}

/* 4. The engine steps each new result of the checks read (those that may
 * change), in (check, observed) order (alert/eval.h). */
static int
evaluate(struct batch *b)
{
	struct eval_result *er = malloc(b->n * sizeof(*er));
	size_t i, m = 0;

	if (er == NULL) {
		resp_error(b->rs, 500, NULL, "out of memory");
		return -1;
	}
	for (i = 0; i < b->n; i++) {
		const struct result *x = &b->res[i];

		if (x->inserted != RES_STORED) {
			b->dups++;
			continue;
		}
		b->accepted++;
		er[m].check_id = x->check_id;
		er[m].observed_us = x->observed_us;
		er[m].stamped = x->observed_given;
		er[m].stored_us = x->observed_given ? x->observed_us : b->stamp_us;
		er[m].status = x->status;
		er[m].has_value = x->has_value;
		er[m].value = x->value;
		er[m].output = x->output;
		m++;
	}
	b->nev = eval_batch(b->cs, b->ncs, er, m, b->evs);
	free(er);
	return 0;
}

/*
 * 5. In the last round trip: write back what changed (alert/), record
 * the events (alert_q_record, which queues their notifications in this
 * same transaction), COMMIT, and then, in a transaction of its own, send
 * the notifications the transaction left for after its COMMIT
 * (alert_q_after_commit: the checks changed, the events, the senders'
 * wake-up). A failure up to the COMMIT leaves the transaction open (in_tx)
 * and batch_free() rolls it back; one after it is only logged: the batch
 * is stored, and the stream shows the checks at their next change (or a
 * reconnecting page reads them afresh).
 *
 * The senders' wake-up carries this process's tag, and its payload comes
 * back in the same pipeline: this thread wakes its own senders from it
 * (outbox_wake_local(), outbox.h), and the LISTEN thread skips the NOTIFY.
 * When the COMMIT's or that call's answer is lost, whether they went
 * through is not known, and every sender looks once (the batch had
 * events): a look that finds nothing costs one claim, and rows committed
 * with no wake-up would otherwise wait for the senders' safety clock.
 */
static int
write_and_commit(struct batch *b)
{
	const struct db_stmt *pst[4];
	const char *uv[1], *ev[1], *sv[2];
	const char *const *vals[4];
	int n = 0, k, rec = -1, shown = -1, commit;
	enum db_outcome st;

	if (eval_changed(b->cs, b->ncs, &b->upd_text, &b->shown_text) < 0) {
		resp_error(b->rs, 500, NULL, "out of memory");
		return -1;
	}
	if (b->nev > 0 && (b->ev_text = alert_record_text(b->evs, b->nev)) == NULL) {
		resp_error(b->rs, 500, NULL, "out of memory");
		return -1;
	}
	uv[0] = b->upd_text;
	ev[0] = b->ev_text;
	sv[0] = b->shown_text;
	sv[1] = outbox_tag()[0] ? outbox_tag() : NULL;
	if (b->upd_text) {
		pst[n] = &alert_q_write_states;
		vals[n++] = uv;
	}
	if (b->ev_text) {
		rec = n;
		pst[n] = &alert_q_record;
		vals[n++] = ev;
	}
	commit = n;
	pst[n] = &q_commit;
	vals[n++] = NULL;
	/* only events leave notifications pending (sql/013): a batch that
	 * merely moved flap windows sends nothing more */
	if (b->shown_text || b->ev_text) {
		shown = n;
		pst[n] = &alert_q_after_commit;
		vals[n++] = sv;
	}
	clear_pipeline(b);
	if (db_pipeline(b->r->db, n, pst, vals, b->pr) < 0) {
		for (k = 0; k < n; k++)
			if (PQresultStatus(b->pr[k]) != PGRES_COMMAND_OK &&
			    PQresultStatus(b->pr[k]) != PGRES_TUPLES_OK)
				break;
		if (b->ev_text && k >= commit)
			outbox_wake_local("");
		if (k == shown) {
			/* committed: only the notifications failed (the cause is
			 * logged by db_outcome(), on its own line) */
			db_outcome(b->r->db, b->pr[k]);
			log_warn("ingest: %s: results stored, but their notifications were not sent"
			    " (the live stream misses the changes of checks %s)", b->r->who.name,
			    b->shown_text ? b->shown_text : "{}");
		} else {
			if (k == rec && (st = alert_record_done(b->r->db, b->pr[k], NULL)) != DB_OK)
				resp_db_outcome(b->rs, st, "could not record events");
			else
				resp_db_error(b->rs, b->r->db, k < n ? b->pr[k] : NULL);
			return -1;
		}
	}
	b->in_tx = 0;
	if (shown >= 0 && PQresultStatus(b->pr[shown]) == PGRES_TUPLES_OK &&
	    PQntuples(b->pr[shown]) == 1 && !PQgetisnull(b->pr[shown], 0, 0))
		outbox_wake_local(PQgetvalue(b->pr[shown], 0, 0));
	if (rec >= 0)
		alert_record_done(b->r->db, b->pr[rec], NULL);   /* logs the events */
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
	int urg, rc;

	memset(&b, 0, sizeof(b));
	/* a batch aside waits while a page is being made (urgent.h): before
	 * it holds anything */
	if (http_on_bulk_thread())
		urgent_yield();
	b.r = r;
	b.rs = rs;
	b.now_us = time_now_us();
	b.max_skew_us = CONF_VALUE(max_clock_skew_s) * 1000000LL;
	if (parse_batch(&b) != 0 || build_params(&b) < 0 || store(&b) < 0 || evaluate(&b) < 0)
		goto done;
	/* events made here, on an HTTP worker: a page may be on its way, and
	 * batches wait until its senders are woken (and then for them) */
	urg = b.nev > 0 && !http_on_bulk_thread();
	if (urg)
		urgent_enter();
	rc = write_and_commit(&b);
	if (urg)
		urgent_leave();
	if (rc < 0)
		goto done;
	if (b.ahead_us > 0)
		note_clock_ahead(r, b.ahead_us);
	/* only a committed batch is acknowledged */
	metrics_count_ingested((long long)b.accepted);
	resp_json(rs, 201, ingest_answer(b.accepted, b.dups, b.expired));
done:
	batch_free(&b);
}
