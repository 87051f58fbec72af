/*
 * api_status.c - GET /api/v1/status (the dashboard's front page) and
 * GET /healthz (for load balancers; no token).
 *
 * "problems" lists every enabled check whose current status is not OK,
 * SOFT ones included (each says its state_type), worst first.
 */
#include "config.h"
#include "api.h"
#include "apiutil.h"
#include "buf.h"
#include "check.h"
#include "db.h"
#include "stream.h"
#include "strnum.h"
#include "timeutil.h"

#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * Right after a change the answer is computed again; at 10,000 checks with
 * 500 problems that must stay within the budget (docs/design.md: p99 <= 30 ms).
 * So PostgreSQL does only what needs the data, set-based, and the JSON is
 * written here:
 *
 *  - counts: one pass over check_state grouped by status, the disabled
 *    checks (few; a partial index, sql/008_face_fast.sql) left out by an
 *    anti-join, instead of joining 10,000 states with their checks;
 *  - problems: the non-OK states (one pass over check_state), their check
 *    and agent by primary key, the newest result of all of them at once
 *    with check_last_many() (sql/functions/: the day partitions newest
 *    first, each by its name, one probe per check into the partition that
 *    has its result, instead of a probe into every partition per check),
 *    the active downtimes read once;
 *    availability is not part of this answer and is not computed;
 *  - plain columns (timestamps as microseconds): json_build_object() and
 *    its kin look up every argument's type on every call in PostgreSQL,
 *    about twenty times what writing the same JSON here costs
 *    (bench/README.md, "Figures behind the code").
 *
 * The counts and totals ride in the "head" column of the first row only
 * (the LEFT JOIN keeps one row when nothing is wrong), so the answer is one
 * statement and one snapshot.
 *
 * A problem object is the check object of the API without its
 * availability, with "agent_name": check_def_json()'s keys, "agent_name",
 * the check's own "labels", "managed", "template" and "overrides" (as
 * check_json() has them), "parents" and "suppressed_by" (a parent's name
 * when one is a HARD problem: check_suppressed_by(), called only for a
 * check that has parents or whose agent has), and "state" with exactly check_state_json()'s keys
 * (sql/functions/). Its members are the table below, one row each: the
 * key, the column of the statement it is read from, and how it is written.
 * The statement's select list and the writer are both made from that
 * table, so a member is added or changed in one line here and in the SQL
 * function beside it;
 * tests/e2e/test_face_status.py holds the SQL to this table (every
 * problem equal to check_json()'s object: the same keys, types and
 * values). Why a writer in C at all: docs/decisions.md ("The check object
 * has two writers"). Values are written as PostgreSQL's JSON functions
 * write them: timestamps by rfc3339() (same text as rfc3339_format()),
 * numbers as their text output (NaN and Infinity quoted as strings),
 * strings escaped as escape_json() does.
 */
#define US(t) "(extract(epoch FROM " t ") * 1000000)::int8"

/* X(key, the column's SQL, enum jkind): the check's members, then its state's */
#define CHECK_MEMBERS(X) \
	X(id, "c.id", J_RAW) \
	X(agent_id, "c.agent_id", J_RAW) \
	X(name, "c.name", J_STR) \
	X(type, "c.type", J_STR) \
	X(params, "c.params", J_RAW) \
	X(warning, "c.warning", J_STR) \
	X(critical, "c.critical", J_STR) \
	X(max_attempts, "c.max_attempts", J_RAW) \
	X(enabled, "c.enabled", J_BOOL) \
	X(contacts, "c.contacts", J_INT8_ARRAY) \
	X(created_at, US("c.created_at"), J_TIME) \
	X(updated_at, US("c.updated_at"), J_TIME) \
	X(agent_name, "a.name", J_STR) \
	X(labels, "c.labels", J_RAW) \
	X(managed, "c.managed", J_BOOL) \
	X(template, "c.template", J_STR) \
	X(overrides, "c.overrides", J_RAW) \
	X(parents, "CASE WHEN c.parents = '{}' THEN '[]' ELSE check_parent_names(c.parents) END", \
	    J_RAW) \
	X(suppressed_by, "CASE WHEN c.parents = '{}' AND a.parents = '{}' THEN NULL" \
	    " ELSE check_suppressed_by(c.id, c.agent_id) END", J_STR)
#define STATE_MEMBERS(X) \
	X(status, "p.status", J_STATUS) \
	X(state_type, "p.state_type", J_STR) \
	X(attempt, "p.attempt", J_RAW) \
	X(since, US("p.since"), J_TIME) \
	X(last_result_at, US("l.observed_at"), J_TIME) \
	X(output, "l.output", J_STR) \
	X(value, "l.value", J_NUM) \
	X(perfdata, "l.perfdata", J_STR) \
	X(acknowledged, "p.acknowledged", J_BOOL) \
	X(ack_by, "CASE WHEN p.acknowledged THEN p.ack_by END", J_STR) \
	X(in_downtime, "(p.check_id IN (SELECT check_id FROM dt WHERE check_id IS NOT NULL)" \
	    " OR p.agent_id IN (SELECT agent_id FROM dt WHERE agent_id IS NOT NULL))", J_BOOL) \
	X(flapping, "p.flapping", J_BOOL) \
	X(flap_pct, "p.flap_pct", J_NUM) \
	X(last_notified_at, US("p.last_notified_at"), J_TIME)

/* how a member's column is written (add_field()) */
enum jkind { J_STR, J_RAW, J_NUM, J_BOOL, J_TIME, J_STATUS, J_INT8_ARRAY };

struct member {
	const char *key;
	enum jkind kind;
};
#define MEMBER_ROW(k, sql, kind) { #k, kind },
#define MEMBER_SQL(k, sql, kind) ", " sql " AS \"" #k "\""
static const struct member check_members[] = { CHECK_MEMBERS(MEMBER_ROW) };
static const struct member state_members[] = { STATE_MEMBERS(MEMBER_ROW) };
#define N_CHECK_MEMBERS (int)(sizeof(check_members) / sizeof(check_members[0]))
#define N_STATE_MEMBERS (int)(sizeof(state_members) / sizeof(state_members[0]))

/* the columns: the head, the problem's place, then the members as the table has them */
enum { C_HEAD, C_ORD, C_MEMBERS, C_ID = C_MEMBERS };
#define C_NCOLS (C_MEMBERS + N_CHECK_MEMBERS + N_STATE_MEMBERS)

/*
 * The statement, with holes for ?selector= (check_selected(), sql/functions/): a first
 * CTE (W), the problems (P), the check counts (N) and the agent counts (A). Without a
 * selector they are empty, and the statement is the one measured above.
 */
#define STATUS_SQL(W, P, N, A) \
	"WITH " W "p AS MATERIALIZED (SELECT check_id, agent_id, status, state_type, attempt, since," \
	"    acknowledged, ack_by, flapping, flap_pct, last_notified_at FROM check_state WHERE status > 0" P ")," \
	" l AS MATERIALIZED (SELECT * FROM check_last_many(ARRAY(SELECT check_id FROM p)))," \
	" dt AS MATERIALIZED (SELECT check_id, agent_id FROM downtimes" \
	"    WHERE start_at <= now() AND end_at > now())," \
	" n AS MATERIALIZED (SELECT s.status, count(*) AS n FROM check_state s" \
	"    WHERE NOT EXISTS (SELECT FROM checks c WHERE c.id = s.check_id AND NOT c.enabled)" N \
	"    GROUP BY s.status)," \
	" head AS (SELECT concat_ws(' '," \
	"    COALESCE((SELECT n FROM n WHERE status = 0), 0)," \
	"    COALESCE((SELECT n FROM n WHERE status = 1), 0)," \
	"    COALESCE((SELECT n FROM n WHERE status = 2), 0)," \
	"    COALESCE((SELECT n FROM n WHERE status = 3), 0)," \
	"    COALESCE((SELECT n FROM n WHERE status IS NULL), 0)," \
	"    a.up, a.down, a.new, (SELECT COALESCE(max(id), 0) FROM events)) AS head" \
	"    FROM (SELECT count(*) FILTER (WHERE state = 'up') AS up," \
	"      count(*) FILTER (WHERE state = 'down') AS down," \
	"      count(*) FILTER (WHERE state = 'new') AS new FROM agents" A ") a)" \
	" SELECT CASE WHEN x.ord IS NULL OR x.ord = 1 THEN head.head END, x.*" \
	" FROM head LEFT JOIN (" \
	"  SELECT row_number() OVER (ORDER BY CASE p.status WHEN 2 THEN 0 WHEN 3 THEN 1 ELSE 2 END," \
	"      p.since, p.check_id) AS ord" \
	CHECK_MEMBERS(MEMBER_SQL) STATE_MEMBERS(MEMBER_SQL) \
	"  FROM p" \
	"  CROSS JOIN LATERAL (SELECT * FROM checks c WHERE c.id = p.check_id OFFSET 0) c" \
	"  CROSS JOIN LATERAL (SELECT a.name, a.parents FROM agents a WHERE a.id = c.agent_id" \
	"    OFFSET 0) a" \
	"  LEFT JOIN l ON l.check_id = p.check_id" \
	"  WHERE c.enabled) x ON true" \
	" ORDER BY x.ord"
static const struct db_stmt q_status = { "status_fast", STATUS_SQL("", "", "", ""), 0 };
/*
 * A check counts when it answers to the selector, an agent likewise. The
 * checks that answer are found once, in one join (W), rather than by a
 * function call per check_state row in P and N: a lookup per row cost
 * several times the selector itself (bench/selector).
 */
static const struct db_stmt q_status_sel = { "status_selector",
	STATUS_SQL("sel AS MATERIALIZED (SELECT c.id FROM checks c JOIN agents a ON a.id = c.agent_id"
	    " WHERE selector_match(a.agent_labels || a.labels || c.labels, a.facts, $1)), ",
	    " AND check_id IN (SELECT id FROM sel)", " AND s.check_id IN (SELECT id FROM sel)",
	    " WHERE agent_selected(agents, $1)"), 1 };

/* A JSON string as PostgreSQL's escape_json() writes it. */
static void
add_json_str(struct buf *b, const char *s)
{
	const char *run = s;

	buf_adds(b, "\"");
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;
		const char *esc = NULL;
		char u[8];

		switch (ch) {
		case '\b': esc = "\\b"; break;
		case '\f': esc = "\\f"; break;
		case '\n': esc = "\\n"; break;
		case '\r': esc = "\\r"; break;
		case '\t': esc = "\\t"; break;
		case '"': esc = "\\\""; break;
		case '\\': esc = "\\\\"; break;
		default:
			if (ch < ' ') {
				snprintf(u, sizeof(u), "\\u%04x", ch);
				esc = u;
			}
		}
		if (esc) {
			buf_add(b, run, (size_t)(s - run));
			buf_adds(b, esc);
			run = s + 1;
		}
	}
	buf_add(b, run, (size_t)(s - run));
	buf_adds(b, "\"");
}

/* "key": then the value of column col of row i, as kind says */

static void
add_field(struct buf *b, const char *key, const PGresult *q, int i, int col, enum jkind kind)
{
	const char *v = PQgetvalue(q, i, col);
	char t[RFC3339_LEN];
	long long n;
	const char *es;

	buf_addf(b, "\"%s\": ", key);
	if (PQgetisnull(q, i, col)) {
		buf_adds(b, "null");
		return;
	}
	switch (kind) {
	case J_STR:
		add_json_str(b, v);
		break;
	case J_RAW:     /* integers, jsonb */
		buf_adds(b, v);
		break;
	case J_NUM:     /* float text output: NaN and the infinities are no JSON numbers */
		if (strcmp(v, "NaN") == 0 || strcmp(v, "Infinity") == 0 || strcmp(v, "-Infinity") == 0)
			add_json_str(b, v);
		else
			buf_adds(b, v);
		break;
	case J_BOOL:
		buf_adds(b, v[0] == 't' ? "true" : "false");
		break;
	case J_TIME:
		rfc3339_format((int64_t)str_to_ll(v, INT64_MIN, INT64_MAX, &es), t);
		add_json_str(b, t);
		break;
	case J_STATUS:
		n = str_to_ll(v, 0, CHECK_STATUS_COUNT - 1, &es);
		if (es == NULL)
			add_json_str(b, check_status_name((int)n));
		else
			buf_adds(b, "null");
		break;
	case J_INT8_ARRAY:   /* "{1,2}" -> [1, 2], as to_jsonb() writes it */
		buf_adds(b, "[");
		for (v++; *v && *v != '}'; v++)
			if (*v == ',')
				buf_adds(b, ", ");
			else
				buf_add(b, v, 1);
		buf_adds(b, "]");
		break;
	}
}

/* The head row's nine counts, "n n n n n n n n n": 0, or -1 if malformed. */
static int
parse_head(const char *s, long long h[9])
{
	char tok[24];
	const char *es;
	int k;

	for (k = 0; k < 9; k++) {
		size_t n = strcspn(s, " ");
		if (n == 0 || n >= sizeof(tok))
			return -1;
		memcpy(tok, s, n);
		tok[n] = '\0';
		h[k] = str_to_ll(tok, 0, LLONG_MAX, &es);
		if (es)
			return -1;
		s += n;
		if (*s == ' ')
			s++;
	}
	return *s == '\0' ? 0 : -1;
}

/*
 * The answer without "server_time" ("{...}", NUL-terminated) built from
 * q_status's rows, or NULL when out of memory or the result is malformed.
 */
static char *
status_json(const PGresult *q, size_t *len)
{
	long long h[9];
	struct buf b;
	int i, k, col, n = PQntuples(q);

	if (n < 1 || PQnfields(q) != C_NCOLS || PQgetisnull(q, 0, C_HEAD) ||
	    parse_head(PQgetvalue(q, 0, C_HEAD), h) < 0)
		return NULL;
	buf_init(&b, (size_t)1 << 30);
	buf_adds(&b, "{\"counts\": {");
	for (i = 0; i < CHECK_STATUS_COUNT; i++)
		buf_addf(&b, "\"%s\": %lld, ", check_status_name(i), h[i]);
	buf_addf(&b, "\"" CHECK_PENDING_NAME "\": %lld}, \"agents\": {\"up\": %lld, \"down\": %lld, "
	    "\"new\": %lld}, \"problems\": [", h[4], h[5], h[6], h[7]);
	for (i = 0; i < n; i++) {
		if (PQgetisnull(q, i, C_ID))
			continue;   /* the head's row when nothing is wrong */
		col = C_MEMBERS;
		buf_adds(&b, i ? ", {" : "{");
		for (k = 0; k < N_CHECK_MEMBERS; k++) {
			add_field(&b, check_members[k].key, q, i, col++, check_members[k].kind);
			buf_adds(&b, ", ");
		}
		buf_adds(&b, "\"state\": {");
		for (k = 0; k < N_STATE_MEMBERS; k++) {
			add_field(&b, state_members[k].key, q, i, col++, state_members[k].kind);
			if (k + 1 < N_STATE_MEMBERS)
				buf_adds(&b, ", ");
		}
		buf_adds(&b, "}}");
	}
	buf_addf(&b, "], \"last_event_id\": %lld}", h[8]);
	if (b.failed) {
		buf_free(&b);
		return NULL;
	}
	*len = b.len;
	return buf_take(&b);
}

static const struct db_stmt q_ping = { "healthz", "SELECT 1", 0 };

/*
 * The answer without "server_time", remembered with the change generation
 * (stream.h) it was read under: while nothing an operator sees changed -
 * no custos_stream notification from any serverd, no write through this
 * one - and for at most STATUS_CACHE_MS (time alone moves downtimes and
 * acknowledgement expiry, which their jobs then write), /status answers
 * from memory. A change through another serverd is seen when its NOTIFY
 * arrives (a millisecond or so).
 *
 * After a change, the requests that arrive while one of them computes the
 * answer for the same generation wait for it instead of running the same
 * query beside it (every open page asks about a second after a change):
 * its snapshot is taken after that generation was read, so it holds every
 * change the waiters could have seen. A request under a newer generation
 * computes its own.
 */
#define STATUS_CACHE_MS 5000

static pthread_mutex_t cache_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cache_cv = PTHREAD_COND_INITIALIZER;
static char *cache_text;        /* "{...}" without server_time; owned here */
static size_t cache_len;
static uint64_t cache_gen;
static int64_t cache_at_ms;
static uint64_t busy_gen;       /* generation being computed, 0 when none */

/* a copy of the cached text if it is fresh for gen; with cache_mu held */
static char *
cache_copy(uint64_t gen, int64_t now_ms, size_t *len)
{
	char *t;

	if (gen == 0 || cache_text == NULL || cache_gen != gen || now_ms - cache_at_ms >= STATUS_CACHE_MS)
		return NULL;
	if ((t = malloc(cache_len + 1)) != NULL) {
		memcpy(t, cache_text, cache_len + 1);
		*len = cache_len;
	}
	return t;
}

/*
 * A copy of the cached text for generation gen, waiting while another
 * request computes exactly that generation; or NULL, and then *mine is 1
 * when this request computes it (it must call cache_done()).
 */
static char *
cache_get(uint64_t gen, size_t *len, int *mine)
{
	char *t;

	*mine = 0;
	pthread_mutex_lock(&cache_mu);
	while ((t = cache_copy(gen, mono_now_ms(), len)) == NULL && gen != 0 && busy_gen == gen)
		pthread_cond_wait(&cache_cv, &cache_mu);
	if (t == NULL && gen != 0 && busy_gen == 0) {
		busy_gen = gen;
		*mine = 1;
	}
	pthread_mutex_unlock(&cache_mu);
	return t;
}

/*
 * Keeps text (NULL: the query failed) as the answer for gen unless a newer
 * one is kept already; mine: this request was the one computing (it ends
 * that, and wakes the waiters).
 */
static void
cache_done(const char *text, size_t len, uint64_t gen, int64_t at_ms, int mine)
{
	char *t = text && gen != 0 ? malloc(len + 1) : NULL;

	if (t)
		memcpy(t, text, len + 1);
	pthread_mutex_lock(&cache_mu);
	if (t && gen >= cache_gen) {
		free(cache_text);
		cache_text = t;
		t = NULL;
		cache_len = len;
		cache_gen = gen;
		cache_at_ms = at_ms;
	}
	if (mine) {
		busy_gen = 0;
		pthread_cond_broadcast(&cache_cv);
	}
	pthread_mutex_unlock(&cache_mu);
	free(t);
}

void
api_status_warm(void)
{
	db_warm(&q_status);
}

void
api_status(struct req *r, struct resp *rs)
{
	uint64_t gen = stream_generation();
	int64_t at = mono_now_ms();
	char now[RFC3339_LEN], *text, *sel = NULL;
	size_t len = 0;
	int mine;
	struct buf b;
	PGresult *q;

	if (api_selector(r, rs, &sel) < 0)
		return;
	if (sel) {
		/* a selected view is computed each time, and not kept */
		const char *v[1] = { sel };
		q = db_exec(r->db, &q_status_sel, v);
		free(sel);
		if (!db_ok(q, PGRES_TUPLES_OK)) {
			resp_db_error(rs, r->db, q);
			PQclear(q);
			return;
		}
		text = status_json(q, &len);
		PQclear(q);
		if (text == NULL) {
			resp_error(rs, 500, NULL, "out of memory");
			return;
		}
	} else if ((text = cache_get(gen, &len, &mine)) == NULL) {
		q = db_exec(r->db, &q_status, NULL);
		if (!db_ok(q, PGRES_TUPLES_OK)) {
			cache_done(NULL, 0, gen, at, mine);
			resp_db_error(rs, r->db, q);
			PQclear(q);
			return;
		}
		text = status_json(q, &len);
		PQclear(q);
		cache_done(text, len, gen, at, mine);
		if (text == NULL) {
			resp_error(rs, 500, NULL, "out of memory");
			return;
		}
	}
	/* {"server_time": "...", + the rest after the opening brace */
	rfc3339_format(time_now_us(), now);
	buf_init(&b, (size_t)1 << 30);
	buf_addf(&b, "{\"server_time\": \"%s\", ", now);
	buf_add(&b, text + 1, len - 1);
	buf_adds(&b, "\n");
	free(text);
	/* the cached text is everyone's; an operator's or a viewer's copy
	 * loses its URLs' user:password@ (resp_json_buf()) */
	resp_json_buf(rs, 200, &b);
}

void
api_healthz(struct req *r, struct resp *rs)
{
	PGconn *c = db_conn();
	PGresult *q;

	(void)r;
	if (c == NULL) {
		resp_error(rs, 503, NULL, "database unavailable");
		return;
	}
	q = db_exec(c, &q_ping, NULL);
	if (db_ok(q, PGRES_TUPLES_OK))
		resp_json(rs, 200, json_pack("{s:s}", "status", "ok"));
	else
		resp_db_error(rs, c, q);
	PQclear(q);
}
