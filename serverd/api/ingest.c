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
 *   build_params      per distinct check its id and the one status all its
 *                     results carry (-1 when they differ), as binary arrays
 *   store_and_read    one round trip: BEGIN, the agent's lock (alert/state.h:
 *                     the one lock rule for check_state), and q_states: the
 *                     state of each check that may change, with the newest
 *                     result stored before. A check whose results all repeat
 *                     its current status while it is HARD and not flapping
 *                     cannot change (a repeated status never raises the flap
 *                     share: a '0' pushed only moves older changes to lower
 *                     weights), so it is neither read nor evaluated, recent
 *                     changes or not: in a steady fleet, and in the 20
 *                     results after a blip, a check costs its row and nothing
 *                     more. A check that is read gets its flap window from
 *                     its newest 21 stored results (those of the last two
 *                     days; check_state keeps no window, sql/014), read
 *                     by check_flap_recent() (sql/017). A foreign or
 *                     unknown check refuses the whole batch (403 listing
 *                     every such check in "check_ids"), and nothing is
 *                     stored.
 *                     Then every result in one COPY (binary), the cheapest
 *                     way into PostgreSQL (heap rows written a page at a
 *                     time). When a result is already stored (a resend: the
 *                     COPY meets the unique key, which holds observed_at), or
 *                     carries a result_id without observed_at, the
 *                     transaction starts over the careful way: q_ingest_dedup,
 *                     one INSERT ... ON CONFLICT DO NOTHING whose RETURNING
 *                     says which results went in. Where the stored stamp
 *                     may not be the one sent (no observed_at, a stamp too
 *                     far ahead and so stored with our time, or an agent
 *                     whose clock was last seen that far ahead, resending
 *                     such results), every result_id is looked up as well.
 *   evaluate          the engine (engine.c) steps each new result of the
 *                     checks read, in observed order
 *   write_and_commit  the last round trip: the changed states through
 *                     alert/ (alert_q_write_states), the events through
 *                     alert_q_record (outbox rows in the same transaction),
 *                     COMMIT - and only then 201 {"accepted", "duplicates"}.
 *                     Behind the COMMIT, in the same pipeline, the live
 *                     stream is told which checks changed, and the events'
 *                     notifications go out (alert_q_after_commit: a NOTIFY
 *                     inside the batch's transaction would hold a
 *                     cluster-wide lock across its commit's flush).
 * Four round trips for a batch (the pipeline, COPY's two, the pipeline
 * that commits), two for a small one (INGEST_COPY_MIN: an alert's single
 * result is not held up by the COPY's exchanges).
 * A result without observed_at is stamped when it is inserted, under the
 * agent's lock, so it is never late.
 */
#include "config.h"
#include "alert.h"
#include "state.h"
#include "api.h"
#include "buf.h"
#include "apiutil.h"
#include "db.h"
#include "engine.h"
#include "history.h"
#include "ingest_parse.h"
#include "log.h"
#include "metrics.h"
#include "serverd.h"
#include "strnum.h"
#include "timeutil.h"
#include "utf8.h"

#include <stdlib.h>
#include <string.h>

#define INGEST_COPY_MIN 16          /* smaller batches go in by one INSERT */
#define INS_COLS 8                  /* array parameters of the insert */

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

/*
 * The checks named, as the statements below read them under the agent's
 * lock (taken by the statement before): AG the agent, IDS the distinct
 * checks named, STS per check the status all its results carry (-1: they
 * differ), FIRST per check the earliest observed_at of its results (µs),
 * SKEW max_clock_skew_s, LOW the least FIRST: a plain parameter, so that
 * PostgreSQL drops the partitions before LOW's day (and those after now +
 * SKEW) when the statement starts, instead of setting up a scan of each of
 * the retention's 31 days for every batch (bench/README.md, "Figures
 * behind the code").
 *
 * ks: their states, one probe of check_state's key per check (OFFSET 0
 * keeps it a nested loop: "check_id = ANY (IDS)" was planned, generic, as
 * a scan of the whole table comparing every row with every id, the largest
 * single cost of a batch; check_state.agent_id is the check's, kept by a
 * trigger). mine: every
 * check named exists and is this agent's. mv: the checks that may change
 * (see the file's head); for those, their definitions and the newest result
 * stored before, if it is newer than FIRST: only such a result can make one
 * of the batch's late, so one probe of the check's index in the partition
 * of FIRST's day (run-time partition pruning; the common answer is
 * "none"), where looking for the newest whatever its age probed every
 * recent partition, the empty ones made ahead included. A stamp stored
 * further ahead than max_clock_skew_s
 * (by a server older than that rule) is not looked at: a future stamp
 * never makes later results late; one within it counts as observed at
 * most 5 minutes after it came, as before.
 * The rows: 'k' per check that may change, or per check that is foreign or
 * unknown (agent_id not ours).
 */
#define STATES_CTES(AG, IDS, STS, FIRST) \
	"ks AS (SELECT s.* FROM unnest(" IDS ") k(id) CROSS JOIN LATERAL" \
	"  (SELECT s.check_id, s.agent_id, s.status, s.state_type, s.attempt," \
	"   s.hard_status, s.acknowledged, s.ack_sticky, s.flapping, s.flap_pct" \
	"   FROM check_state s WHERE s.check_id = k.id OFFSET 0) s)," \
	" mine AS (SELECT count(*) FILTER (WHERE ks.agent_id = " AG ")" \
	"   = cardinality(" IDS ") AS ok FROM ks)," \
	" mv AS MATERIALIZED (SELECT ks.*, u.first FROM ks" \
	"   JOIN unnest(" IDS ", " STS ", " FIRST ") u(id, st, first)" \
	"   ON u.id = ks.check_id" \
	"  WHERE (SELECT ok FROM mine) AND (u.st IS DISTINCT FROM ks.status" \
	"   OR ks.state_type <> 'HARD' OR ks.flapping))"
#define FLAP_RESULTS "21"   /* ENGINE_FLAP_WINDOW, as text */
_Static_assert(ENGINE_FLAP_WINDOW == 21, "FLAP_RESULTS must be ENGINE_FLAP_WINDOW");
#define STATES_ROWS(AG, IDS, SKEW, LOW) \
	" SELECT 'k', NULL::bigint, NULL::text, mv.check_id, mv.agent_id, c.max_attempts, mv.status," \
	"  mv.state_type, mv.attempt, mv.hard_status, mv.acknowledged, mv.ack_sticky, mv.flapping," \
	"  mv.flap_pct, c.enabled, COALESCE(p.us, 0)," \
	"  check_flap_recent(mv.check_id, " SKEW ", " FLAP_RESULTS ")" \
	" FROM mv JOIN LATERAL (SELECT c.max_attempts, c.enabled FROM checks c" \
	"   WHERE c.id = mv.check_id OFFSET 0) c ON true" \
	" LEFT JOIN LATERAL (SELECT (extract(epoch FROM" \
	"   LEAST(h.observed_at, h.received_at + interval '5 minutes')) * 1000000)::bigint AS us" \
	"  FROM check_history h WHERE h.check_id = mv.check_id" \
	"   AND h.observed_at > 'epoch'::timestamptz + mv.first * interval '1 microsecond'" \
	"   AND h.observed_at > 'epoch'::timestamptz + " LOW " * interval '1 microsecond'" \
	"   AND h.observed_at <= now() + " SKEW " * interval '1 second'" \
	"  ORDER BY h.observed_at DESC, h.id DESC LIMIT 1) p ON c.enabled" \
	" WHERE c.enabled" \
	" UNION ALL SELECT 'k', NULL, NULL, u.id, ks.agent_id, NULL, NULL, NULL, NULL, NULL, NULL," \
	"  NULL, NULL, NULL, NULL, NULL, NULL" \
	" FROM unnest(" IDS ") u(id) LEFT JOIN ks ON ks.check_id = u.id" \
	" WHERE NOT (SELECT ok FROM mine) AND ks.agent_id IS DISTINCT FROM " AG

/* a row 'a' when agent AG's clock was last seen further ahead than SKEW */
#define AGENT_AHEAD_ROW(AG, SKEW) \
	" UNION ALL SELECT 'a', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL," \
	"  NULL, NULL, NULL, NULL, NULL FROM agents a" \
	"  WHERE a.id = " AG " AND a.clock_skew_s > " SKEW

/* The usual way in: read the states ($1 the agent, $2 the checks, $3 their
 * statuses), then COPY the results (copy_results()). One row 'a' more when
 * the agent's clock was last seen further ahead than max_clock_skew_s: its
 * results may be resends of results we stamped with our time (see
 * parse_batch), which only their result_id finds. */
static const struct db_stmt q_states = { "ingest_states",
	"WITH " STATES_CTES("$1::bigint", "$2::bigint[]", "$3::smallint[]", "$4::bigint[]")
	STATES_ROWS("$1::bigint", "$2::bigint[]", "$5::integer", "$6::bigint")
	AGENT_AHEAD_ROW("$1::bigint", "$5::integer"), 6 };

static const char copy_sql[] = "COPY check_history (check_id, agent_id, status, value,"
	" output, perfdata, observed_at, duration_ms, result_id) FROM STDIN (FORMAT binary)";
#define COPY_FIELDS 9

/*
 * The careful way in, in one statement: $1..$8 the results' columns, $9
 * the agent, $10..$14 as IDS, STS, FIRST, SKEW and LOW above. The INSERT skips what is
 * already stored (ON CONFLICT: the key holds observed_at, which a resend
 * repeats; see sql/005_history.sql); its rows ('i': id and result_id) say
 * what went in, after the 'k' rows. The insert's rows are not visible to
 * the statement, so the states and "the newest before" are as they were.
 * Taken when a COPY met a duplicate (an agent's resend after a lost answer,
 * a result_id repeated in the request), and for results with a result_id
 * but no observed_at, which are looked up across the partitions instead
 * (rare: the agent always sends observed_at). Speculative insertion and
 * the row-at-a-time INSERT cost about twice a COPY's CPU per row, hence
 * not the usual way.
 */
#define INGEST_DEDUP(RID_LOOKUP) \
	"WITH " STATES_CTES("$9::bigint", "$10::bigint[]", "$11::smallint[]", "$12::bigint[]") "," \
	" ins AS (INSERT INTO check_history (check_id, agent_id, status, value, output, perfdata," \
	"   observed_at, duration_ms, result_id)" \
	"  SELECT x.c, $9::bigint, x.s, x.v, x.o, x.p, COALESCE(x.t, clock_timestamp()), x.d, x.r" \
	"  FROM unnest($1::bigint[], $2::smallint[], $3::float8[], $4::text[], $5::text[]," \
	"   $6::timestamptz[], $7::integer[], $8::text[]) AS x(c, s, v, o, p, t, d, r)" \
	"  WHERE (SELECT ok FROM mine)" RID_LOOKUP \
	"  ON CONFLICT (agent_id, result_id, observed_at) WHERE result_id IS NOT NULL DO NOTHING" \
	"  RETURNING id, result_id)" \
	STATES_ROWS("$9::bigint", "$10::bigint[]", "$13::integer", "$14::bigint") \
	" UNION ALL SELECT 'i', id, result_id, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL," \
	"  NULL, NULL, NULL, NULL, NULL, NULL FROM ins" \
	AGENT_AHEAD_ROW("$9::bigint", "$13::integer")
static const struct db_stmt q_ingest_dedup = { "ingest_dedup", INGEST_DEDUP(""), 14 };
/* the same, for a batch where a stored stamp may differ from the one sent:
 * a result with a result_id but no observed_at, or stamped too far ahead
 * (stored with our time), or from an agent whose clock was last seen that
 * far ahead (its resends may repeat a result we stamped with our time).
 * Every result_id is looked for in every
 * partition (the key cannot name one), a lookup whose setting up alone
 * costs a scan per partition, so it is not made for the batches that do
 * not need it (the agent always sends observed_at, and its clock is right) */
static const struct db_stmt q_ingest_dedup_rid = { "ingest_dedup_rid", INGEST_DEDUP(
	" AND (x.r IS NULL OR NOT EXISTS ("
	"   SELECT 1 FROM check_history h0 WHERE h0.agent_id = $9::bigint AND h0.result_id = x.r))"),
	14 };

static const struct db_stmt q_begin = { NULL, "BEGIN", 0 };
static const struct db_stmt q_commit = { NULL, "COMMIT", 0 };

/* 1 when the change is one the live stream shows (the check_state_stream
 * trigger's columns: flap_pct alone is not) */
static int
state_shown_changed(const struct eng_state *a, const struct eng_state *b)
{
	return a->status != b->status || a->hard != b->hard || a->attempt != b->attempt ||
	    a->acknowledged != b->acknowledged || a->flapping != b->flapping;
}

/* 1 when the engine changed anything that check_state stores: the flap
 * window moved means a result was evaluated, and flap_pct is then written
 * (check_state.flap_pct is as of the check's last evaluated change) */
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
 * the request, the first).
 */
static void
mark_inserted(PGresult *q, int idcol, struct result *res, size_t n,
    struct result **byrid, size_t nrid)
{
	int nr = PQntuples(q), k;
	size_t i;

	for (i = 0; i < n; i++)
		if (res[i].inserted == 0 && res[i].result_id == NULL)
			res[i].inserted = 1;
	for (k = 0; k < nr; k++) {
		const char *rid;
		size_t lo = 0, hi = nrid;

		if (PQgetisnull(q, k, idcol) || PQgetisnull(q, k, idcol + 1))
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
	size_t nrid;
	struct cstate *cs;          /* the checks that may change, by id */
	size_t ncs;
	struct alert_event *evs;    /* at most 3 per result */
	size_t nev;
	struct db_array cols[INS_COLS + 3];   /* the insert's columns, then $10..$12 */
	int cols_live;
	int ins_built;              /* cols[0..INS_COLS) made (build_columns) */
	const char *ins_vals[INS_COLS + 6];
	int ins_lens[INS_COLS + 6], ins_fmts[INS_COLS + 6];
	char agent_id[24], lock_id[24], skew_s[24], low_us[24];
	PGresult *pr[4];            /* the pipelines' results */
	char *upd_text;             /* the states to write back (JSON), or NULL */
	char *ev_text;              /* the events to record (JSON), or NULL */
	char *shown_text;           /* '{id,...}' of changes the stream shows, or NULL */
	int in_tx;
	size_t accepted, dups, expired;
	int64_t now_us, max_skew_us, ahead_us;
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
		 * its result_id looked up across the partitions.
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
		if (b->res[i].result_id)
			b->byrid[b->nrid++] = &b->res[i];
	qsort(b->byrid, b->nrid, sizeof(*b->byrid), cmp_rid);
	return 0;
}

/*
 * 2. The parameters every way in needs: the distinct checks and, per
 * check, the status all its results carry, or -1, and the earliest
 * observed_at of its results (binary arrays, $10..$12 of q_ingest_dedup;
 * a result without observed_at counts as now: it is never late), the
 * agent, its lock key and max_clock_skew_s.
 */
static int
build_params(struct batch *b)
{
	size_t i, k;
	int64_t low = b->now_us;
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
		if (first < low)
			low = first;
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
	snprintf(b->low_us, sizeof(b->low_us), "%lld", (long long)low);
	b->ins_vals[INS_COLS + 4] = b->skew_s;   /* $13, as text */
	b->ins_lens[INS_COLS + 4] = 0;
	b->ins_fmts[INS_COLS + 4] = 0;
	b->ins_vals[INS_COLS + 5] = b->low_us;   /* $14, as text */
	b->ins_lens[INS_COLS + 5] = 0;
	b->ins_fmts[INS_COLS + 5] = 0;
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
 * The columns of q_ingest_dedup's INSERT ($1..$8): one binary array each,
 * in request order (of a result_id repeated in the request the first one
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

static int
cmp_cstate(const void *a, const void *b)
{
	const struct cstate *x = a, *y = b;

	return x->check_id < y->check_id ? -1 : x->check_id > y->check_id;
}

/*
 * The 'k' rows of q_states or q_ingest_dedup: the checks that may change
 * into b->cs (by id), and every foreign or unknown check into foreign[]
 * (*nf of them).
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
		const char *es;
		struct cstate *c;
		int64_t id;

		if (PQgetvalue(q, row, 0)[0] != 'k')
			continue;
		id = str_to_ll(PQgetvalue(q, row, 3), 1, INT64_MAX, &es);
		if (PQgetisnull(q, row, 4) ||
		    str_to_ll(PQgetvalue(q, row, 4), 1, INT64_MAX, &es) != b->r->who.id) {
			foreign[(*nf)++] = id;   /* not this agent's, or no such check */
			continue;
		}
		c = &b->cs[b->ncs++];
		memset(c, 0, sizeof(*c));
		c->check_id = id;
		c->agent_id = b->r->who.id;
		c->p.max_attempts = (int)str_to_ll(PQgetvalue(q, row, 5), 1, 1000, &es);
		c->p.flap_low_pct = flap_lo;
		c->p.flap_high_pct = flap_hi;
		c->s.status = PQgetisnull(q, row, 6) ? -1 :
		    (int)str_to_ll(PQgetvalue(q, row, 6), 0, 3, &es);
		c->s.hard = strcmp(PQgetvalue(q, row, 7), "HARD") == 0;
		c->s.attempt = (int)str_to_ll(PQgetvalue(q, row, 8), 0, INT32_MAX, &es);
		c->s.hard_status = (int)str_to_ll(PQgetvalue(q, row, 9), 0, 3, &es);
		c->s.acknowledged = PQgetvalue(q, row, 10)[0] == 't';
		c->s.ack_sticky = PQgetvalue(q, row, 11)[0] == 't';
		c->s.flapping = PQgetvalue(q, row, 12)[0] == 't';
		c->s.flap_pct = str_to_double(PQgetvalue(q, row, 13), &es);
		/* the flap window from the check's newest stored results (a
		 * HARD check that is not flapping is not read while its results
		 * repeat its status, so no stored window could be current) */
		engine_flap_replay(PQgetvalue(q, row, 16), c->s.flap_history);
		c->enabled = PQgetvalue(q, row, 14)[0] == 't';
		c->last_us = str_to_ll(PQgetvalue(q, row, 15), INT64_MIN, INT64_MAX, &es);
		c->before = c->s;
	}
	qsort(b->cs, b->ncs, sizeof(*b->cs), cmp_cstate);
}

/* Rolls the open transaction back, for the batch to go in again the
 * careful way: 0, or -1 (answered; in_tx stays set for batch_free). */
static int
restart_careful(struct batch *b)
{
	if (db_cmd(b->r->db, "ROLLBACK") < 0) {
		resp_db_error(b->rs, b->r->db, NULL);
		return -1;
	}
	b->in_tx = 0;
	return 0;
}

/* 1 when q_states (or q_ingest_dedup) said the agent's clock was last seen
 * too far ahead (the 'a' row) */
static int
agent_clock_ahead(PGresult *q)
{
	int row;

	for (row = 0; row < PQntuples(q); row++)
		if (PQgetvalue(q, row, 0)[0] == 'a')
			return 1;
	return 0;
}

/*
 * The results in one COPY, under the lock (the states were read before,
 * so the rows are not "the newest before"). A result without observed_at
 * is stamped now, under the lock, so it is never late. Returns 0, 1 when a
 * result was already stored (unique_violation: the transaction is rolled
 * back, take the careful way), -1 on failure (answered).
 */
static int
copy_results(struct batch *b)
{
	struct db_array rows;
	int64_t now = time_now_us();
	PGresult *q;
	size_t i;
	int rc = -1;

	db_copy_begin(&rows);
	for (i = 0; i < b->n; i++) {
		db_copy_row(&rows, COPY_FIELDS);
		put_fields(&rows, 1, b->order[i], b->r->who.id, now);
	}
	if (db_copy_end(&rows) < 0) {
		db_array_free(&rows);
		resp_error(b->rs, 500, NULL, "out of memory");
		return -1;
	}
	q = db_copy_in(b->r->db, copy_sql, &rows);
	db_array_free(&rows);
	if (db_ok(q, PGRES_COMMAND_OK)) {
		for (i = 0; i < b->n; i++)
			b->res[i].inserted = 1;
		rc = 0;
	} else if (strcmp(db_sqlstate(q), "23505") == 0) {
		rc = restart_careful(b) < 0 ? -1 : 1;
	} else {
		resp_db_error(b->rs, b->r->db, q);
	}
	PQclear(q);
	return rc;
}

/* The careful way in (q_ingest_dedup): BEGIN, the lock, one statement. */
static int
ingest_dedup(struct batch *b, int64_t *foreign, size_t *nf, int rid_lookup)
{
	const struct db_stmt *const pst[3] = { &q_begin, &alert_q_lock_ingest,
		rid_lookup ? &q_ingest_dedup_rid : &q_ingest_dedup };
	const char *const av[1] = { b->lock_id };
	const char *const *const vals[3] = { NULL, av, b->ins_vals };
	const int *const lens[3] = { NULL, NULL, b->ins_lens };
	const int *const fmts[3] = { NULL, NULL, b->ins_fmts };

	clear_pipeline(b);
	if (!b->ins_built) {
		if (build_columns(b) < 0)
			return -1;
		b->ins_built = 1;
	}
	if (db_pipeline_bin(b->r->db, 3, pst, vals, lens, fmts, b->pr) < 0) {
		/* a failed statement leaves the transaction open: roll it back */
		b->in_tx = b->pr[0] && PQresultStatus(b->pr[0]) == PGRES_COMMAND_OK;
		return pipeline_failed(b, 3);
	}
	b->in_tx = 1;
	if (!rid_lookup && b->nrid > 0 && agent_clock_ahead(b->pr[2]))
		/* once more, every result_id looked up */
		return restart_careful(b) < 0 ? -1 : ingest_dedup(b, foreign, nf, 1);
	read_states(b, b->pr[2], foreign, nf);
	if (*nf == 0)
		mark_inserted(b->pr[2], 1, b->res, b->n, b->byrid, b->nrid);
	return 0;
}

/*
 * 3. BEGIN, the agent's lock (alert/state.h) and the states of the checks
 * named (q_states) in one round trip; one foreign or unknown check refuses
 * the whole batch. Then every result in one COPY - or, when a result was
 * already stored, has a result_id without observed_at (or stamped too far
 * ahead), or the agent's clock was last seen too far ahead (the 'a' row),
 * all over again the careful way (q_ingest_dedup; in the last three cases
 * with every result_id looked up). A batch of fewer than INGEST_COPY_MIN
 * results takes the careful way at once: one round trip instead of three,
 * and a single row costs an INSERT about what it costs a COPY.
 */
static int
store_and_read(struct batch *b)
{
	const struct db_stmt *const pst[3] = { &q_begin, &alert_q_lock_ingest, &q_states };
	const char *const av[1] = { b->lock_id };
	const char *const sv[6] = { b->agent_id, b->ins_vals[INS_COLS + 1],
		b->ins_vals[INS_COLS + 2], b->ins_vals[INS_COLS + 3], b->skew_s, b->low_us };
	const int sl[6] = { 0, b->ins_lens[INS_COLS + 1], b->ins_lens[INS_COLS + 2],
		b->ins_lens[INS_COLS + 3], 0, 0 };
	const int sf[6] = { 0, 1, 1, 1, 0, 0 };
	const char *const *const vals[3] = { NULL, av, sv };
	const int *const lens[3] = { NULL, NULL, sl };
	const int *const fmts[3] = { NULL, NULL, sf };
	int64_t *foreign;
	size_t nf = 0, i;
	int rc = -1, careful = 0, rid_lookup = 0;

	if ((foreign = calloc(b->n, sizeof(*foreign))) == NULL) {
		resp_error(b->rs, 500, NULL, "out of memory");
		return -1;
	}
	/* a small batch (an alert's single result) costs two round trips this
	 * way, against four for the states, the COPY and the commit */
	careful = b->n < INGEST_COPY_MIN;
	for (i = 0; i < b->n; i++)
		if (b->res[i].result_id && !b->res[i].observed_given)
			careful = rid_lookup = 1;
	if (!careful) {
		if (db_pipeline_bin(b->r->db, 3, pst, vals, lens, fmts, b->pr) < 0) {
			b->in_tx = b->pr[0] && PQresultStatus(b->pr[0]) == PGRES_COMMAND_OK;
			pipeline_failed(b, 3);
			goto done;
		}
		b->in_tx = 1;
		read_states(b, b->pr[2], foreign, &nf);
		if (nf == 0 && b->nrid > 0 && agent_clock_ahead(b->pr[2])) {
			/* the careful way, every result_id looked up */
			if (restart_careful(b) < 0)
				goto done;
			careful = rid_lookup = 1;
		} else if (nf == 0 && (careful = copy_results(b)) < 0)
			goto done;
	}
	if (careful && ingest_dedup(b, foreign, &nf, rid_lookup) < 0)
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

/* The state of check_id, or NULL: a check that cannot change (the steady
 * case) was not read. */
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
	return lo < b->ncs && b->cs[lo].check_id == check_id ? &b->cs[lo] : NULL;
}

/* 4. The engine steps each new result of the checks read (those that may
 * change), in (check, observed) order; late results stay history only. */
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
		if (c == NULL || !c->enabled)
			continue;   /* steady, or disabled (history only, no state, no event) */
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

/*
 * The states the engine changed, as alert_q_write_states wants them: JSON
 * written straight into one buffer (every value is a number, a boolean, or
 * engine-made text of '0' and '1', so nothing needs escaping; a jansson
 * object per state cost ~30 allocations each).
 */
static int
changed_states(struct batch *b)
{
	struct buf t, ids;
	size_t j;
	int n = 0, nid = 0, failed;

	buf_init(&t, (size_t)1 << 30);
	buf_init(&ids, (size_t)1 << 30);
	for (j = 0; j < b->ncs; j++) {
		struct cstate *c = &b->cs[j];
		char since[24] = "null";
		if (!state_changed(&c->before, &c->s))
			continue;   /* the common case: nothing to write */
		if (c->since_us)
			snprintf(since, sizeof(since), "%lld", (long long)c->since_us);
		buf_addf(&t, "%s{\"check_id\":%lld,\"status\":%d,\"state_type\":\"%s\","
		    "\"attempt\":%d,\"hard_status\":%d,\"since\":%s,\"ack_cleared\":%s,"
		    "\"flapping\":%s,\"flap_pct\":%.17g}",
		    n++ ? "," : "[", (long long)c->check_id, c->s.status, c->s.hard ? "HARD" : "SOFT",
		    c->s.attempt, c->s.hard_status, since,
		    c->before.acknowledged && !c->s.acknowledged ? "true" : "false",
		    c->s.flapping ? "true" : "false", c->s.flap_pct);
		if (state_shown_changed(&c->before, &c->s))
			buf_addf(&ids, "%s%lld", nid++ ? "," : "{", (long long)c->check_id);
	}
	if (n > 0 && buf_adds(&t, "]") == 0)
		b->upd_text = buf_take(&t);
	if (nid > 0 && buf_adds(&ids, "}") == 0)
		b->shown_text = buf_take(&ids);
	failed = t.failed || ids.failed;
	buf_free(&t);
	buf_free(&ids);
	if (failed) {
		resp_error(b->rs, 500, NULL, "out of memory");
		return -1;
	}
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
 * is stored, the senders look at the outbox within OUTBOX_SAFETY_MS anyway,
 * and the stream shows the checks at their next change (or a reconnecting
 * page reads them afresh).
 */
static int
write_and_commit(struct batch *b)
{
	const struct db_stmt *pst[4];
	const char *uv[1], *ev[1], *sv[1];
	const char *const *vals[4];
	int n = 0, k, rec = -1, shown = -1;
	enum db_outcome st;

	if (changed_states(b) < 0)
		return -1;
	if (b->nev > 0 && (b->ev_text = alert_record_text(b->evs, b->nev)) == NULL) {
		resp_error(b->rs, 500, NULL, "out of memory");
		return -1;
	}
	uv[0] = b->upd_text;
	ev[0] = b->ev_text;
	sv[0] = b->shown_text;
	if (b->upd_text) {
		pst[n] = &alert_q_write_states;
		vals[n++] = uv;
	}
	if (b->ev_text) {
		rec = n;
		pst[n] = &alert_q_record;
		vals[n++] = ev;
	}
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
		if (k == shown) {
			/* committed: only the notifications failed (the cause is
			 * logged by db_outcome(), on its own line) */
			db_outcome(b->r->db, b->pr[k]);
			log_warn("ingest: %s: results stored, but their notifications were not sent"
			    " (the live stream misses the changes of checks %s; the senders look"
			    " at the outbox within 15 s)", b->r->who.name,
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

	memset(&b, 0, sizeof(b));
	b.r = r;
	b.rs = rs;
	b.now_us = time_now_us();
	b.max_skew_us = CONF_VALUE(max_clock_skew_s) * 1000000LL;
	if (parse_batch(&b) != 0 || build_params(&b) < 0 || store_and_read(&b) < 0)
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
