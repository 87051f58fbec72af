/*
 * api_summary.c - GET /api/v1/checks/{id}/summary, GET /api/v1/agents/{id}/summary
 * and GET /api/v1/agents/{id}/facts (docs/history.md; the tables are in
 * sql/005_history.sql, the roll-ups are built by store/history.c).
 *
 * A summary answers {"by", "since", "until", "items"}: one item per bucket
 * of `by` (minute, hour, day; UTC) whose start lies in [since truncated to
 * the bucket, until) and that has results, oldest first. A bucket is always
 * counted whole. Defaults: until now; since one hour (minute), one day
 * (hour) or 90 days (day) before until; by=minute. At most
 * SUMMARY_MAX_BUCKETS buckets per request (422 beyond).
 *
 * Always current: one statement reads the roll-ups and, from check_history,
 * the rows above the roll-up watermark (not rolled up yet), and merges them
 * per bucket. Roll-ups and watermark commit together, so the statement's
 * snapshot never counts a row twice or misses one. The raw rows are looked
 * for only from the oldest partition holding ids above the watermark
 * (RAW_FLOOR, from history_raw_floor() and history_tops(); usually today's): probing
 * every day of a month through the check's index cost several times the
 * budget, cold.
 *
 * Where the time of an hour-by-month summary went (figures in
 * bench/README.md, "Figures behind the code"): json_build_object/to_char
 * over 720 buckets in PostgreSQL (now: plain columns, JSON made here with
 * jansson), history_raw_floor()'s one dynamic EXECUTE per partition (now
 * an InitPlan over history_tops(), cached with the statement), and the
 * heap pages of rollup_hour per check (now an index-only scan of its
 * covering primary key); and one round trip for the existence of the
 * check (now the same statement: no row means no check). Minute buckets exist for
 * rollup_minute_days and hour buckets for rollup_hour_days: older buckets
 * of those sizes are not answered (ask by=day).
 *
 * A check's item: {"start", "count", "min", "max", "avg" (over the results
 * that carry a value; null when none did), "ok", "warning", "critical",
 * "unknown" (results per state), "ok_ratio" (ok / count)}.
 * An agent's item: per bucket, each of the agent's checks that has results
 * counts once, in its worst state there (CRITICAL > UNKNOWN > WARNING > OK):
 * {"start", "count" (results), "checks" (checks with results), "min", "max",
 * "avg" (null: the checks' values have no common unit), "ok", "warning",
 * "critical", "unknown" (checks per worst state), "ok_ratio" (ok / checks)}.
 */
#include "config.h"
#include "api.h"
#include "apiutil.h"
#include "buf.h"
#include "db.h"
#include "strnum.h"
#include "timeutil.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SUMMARY_MAX_BUCKETS 100000

enum bucket { BY_MINUTE, BY_HOUR, BY_DAY };

static const struct {
	const char *name;
	int64_t us;           /* bucket length */
	int64_t default_us;   /* default span */
} buckets[] = {
	[BY_MINUTE] = { "minute", 60000000LL, 3600000000LL },
	[BY_HOUR] = { "hour", 3600000000LL, 86400000000LL },
	[BY_DAY] = { "day", 86400000000LL, 90 * 86400000000LL },
};

/* the first bucket start and the end of the last bucket touched by [$2, $3) */
#define LO(u) "date_trunc('" u "', $2::timestamptz, 'UTC')"
#define HI(u) "((date_trunc('" u "', $3::timestamptz - interval '1 microsecond', 'UTC')" \
	" AT TIME ZONE 'UTC' + interval '1 " u "') AT TIME ZONE 'UTC')"

/*
 * Where raw rows may lie (history_raw_floor() of 007 written out, so that
 * history_tops() is inlined into the statement's cached plan instead of
 * being planned at every call of a non-inlinable SQL function): an
 * InitPlan, evaluated once per request.
 */
#define RAW_FLOOR(u) \
	"(SELECT GREATEST(" LO(u) ", COALESCE(min(t.day)::timestamp AT TIME ZONE 'UTC', 'infinity'))" \
	"  FROM history_tops() t WHERE t.day >= (" LO(u) " AT TIME ZONE 'UTC')::date" \
	"   AND t.top > (SELECT last_id FROM rollup_watermark))"

/*
 * One row per bucket with results, oldest first: the start (seconds since
 * the epoch), count, checks (agents only), min, max, avg, ok, warning,
 * critical, unknown, ok_ratio; the JSON text is put together in C from the
 * columns' text (json_build_object over 720 buckets cost PostgreSQL more
 * than building and dumping jansson objects costs here). No row at
 * all: no such check; one row of nulls: the check has no results there.
 */
#define CHECK_SQL(t, u) \
	"SELECT extract(epoch FROM b.start)::bigint, b.n, NULL, b.vmin, b.vmax," \
	"  CASE WHEN b.nv > 0 THEN b.vs / b.nv END, b.ok, b.w, b.c, b.u, b.ok::float8 / b.n" \
	" FROM checks k LEFT JOIN LATERAL (SELECT start, sum(count) n, sum(nvalues) nv, min(vmin) vmin," \
	"   max(vmax) vmax, sum(vsum) vs, sum(ok) ok, sum(warning) w, sum(critical) c, sum(unknown) u" \
	"  FROM (SELECT x.start, x.count, x.nvalues, x.vmin, x.vmax, x.vsum, x.ok, x.warning," \
	"    x.critical, x.unknown FROM " t " x" \
	"    WHERE x.check_id = $1 AND x.start >= " LO(u) " AND x.start < $3::timestamptz" \
	"   UNION ALL" \
	"   SELECT date_trunc('" u "', h.observed_at, 'UTC'), 1, (h.value IS NOT NULL)::int," \
	"    h.value, h.value, COALESCE(h.value, 0), (h.status = 0)::int, (h.status = 1)::int," \
	"    (h.status = 2)::int, (h.status = 3)::int FROM check_history h" \
	"    WHERE h.check_id = $1 AND h.observed_at >= " RAW_FLOOR(u) " AND h.observed_at < " HI(u) \
	"     AND h.id > (SELECT last_id FROM rollup_watermark)) r" \
	"  GROUP BY start) b ON true" \
	" WHERE k.id = $1 ORDER BY b.start"

/* the same columns per agent: ok..unknown count checks per worst state */
#define AGENT_SQL(t, u) \
	"SELECT extract(epoch FROM b.start)::bigint, b.n, b.k, NULL, NULL, NULL, b.ok, b.w, b.c, b.u," \
	"  b.ok::float8 / b.k" \
	" FROM agents a LEFT JOIN LATERAL (SELECT start, sum(n) n, count(*) k," \
	"   count(*) FILTER (WHERE c = 0 AND u = 0 AND w = 0) ok," \
	"   count(*) FILTER (WHERE w > 0 AND c = 0 AND u = 0) w," \
	"   count(*) FILTER (WHERE c > 0) c, count(*) FILTER (WHERE u > 0 AND c = 0) u" \
	"  FROM (SELECT check_id, start, sum(count) n, sum(warning) w, sum(critical) c," \
	"    sum(unknown) u FROM (" \
	"    SELECT x.check_id, x.start, x.count, x.warning, x.critical, x.unknown FROM " t " x" \
	"     WHERE x.check_id IN (SELECT id FROM checks WHERE agent_id = $1)" \
	"      AND x.start >= " LO(u) " AND x.start < $3::timestamptz" \
	"    UNION ALL" \
	"    SELECT h.check_id, date_trunc('" u "', h.observed_at, 'UTC'), 1, (h.status = 1)::int," \
	"     (h.status = 2)::int, (h.status = 3)::int FROM check_history h" \
	"     WHERE h.check_id IN (SELECT id FROM checks WHERE agent_id = $1)" \
	"      AND h.observed_at >= " RAW_FLOOR(u) " AND h.observed_at < " HI(u) \
	"      AND h.id > (SELECT last_id FROM rollup_watermark)) r" \
	"   GROUP BY 1, 2) per" \
	"  GROUP BY start) b ON true" \
	" WHERE a.id = $1 ORDER BY b.start"

static const struct db_stmt q_check[] = {
	[BY_MINUTE] = { "summary_check_minute", CHECK_SQL("rollup_minute", "minute"), 3 },
	[BY_HOUR] = { "summary_check_hour", CHECK_SQL("rollup_hour", "hour"), 3 },
	[BY_DAY] = { "summary_check_day", CHECK_SQL("rollup_day", "day"), 3 },
};
static const struct db_stmt q_agent[] = {
	[BY_MINUTE] = { "summary_agent_minute", AGENT_SQL("rollup_minute", "minute"), 3 },
	[BY_HOUR] = { "summary_agent_hour", AGENT_SQL("rollup_hour", "hour"), 3 },
	[BY_DAY] = { "summary_agent_day", AGENT_SQL("rollup_day", "day"), 3 },
};

/* the current facts and their changes, newest first */
static const struct db_stmt q_facts = { "agents_facts",
	"SELECT json_build_object('agent_id', a.id, 'facts', a.facts, 'items',"
	"  COALESCE((SELECT json_agg(json_build_object('changed_at', rfc3339(f.changed_at),"
	"   'facts', f.facts) ORDER BY f.id DESC)"
	"   FROM (SELECT * FROM agent_facts_history f WHERE f.agent_id = a.id"
	"    ORDER BY f.id DESC LIMIT 1000) f), '[]'))::text"
	" FROM agents a WHERE a.id = $1", 1 };

/* Parses ?by=&since=&until=; 0, or -1 with rs filled. */
static int
summary_args(struct req *r, struct resp *rs, enum bucket *by, int64_t *since, int64_t *until)
{
	const char *s;
	size_t k;

	*by = BY_MINUTE;
	if ((s = req_arg(r, "by")) != NULL) {
		for (k = 0; k < sizeof(buckets) / sizeof(buckets[0]); k++)
			if (strcmp(s, buckets[k].name) == 0)
				break;
		if (k == sizeof(buckets) / sizeof(buckets[0])) {
			resp_error(rs, 400, "by", "by must be minute, hour or day");
			return -1;
		}
		*by = (enum bucket)k;
	}
	*until = time_now_us();
	if ((s = req_arg(r, "until")) != NULL && rfc3339_parse(s, until) < 0) {
		resp_error(rs, 400, "until", "until must be an RFC 3339 time");
		return -1;
	}
	*since = *until - buckets[*by].default_us;
	if ((s = req_arg(r, "since")) != NULL && rfc3339_parse(s, since) < 0) {
		resp_error(rs, 400, "since", "since must be an RFC 3339 time");
		return -1;
	}
	if (*since >= *until) {
		resp_error(rs, 422, "since", "since must be before until");
		return -1;
	}
	if ((*until - *since) / buckets[*by].us > SUMMARY_MAX_BUCKETS) {
		resp_error(rs, 422, "since", "more than %d %s buckets; ask for a larger by",
		    SUMMARY_MAX_BUCKETS, buckets[*by].name);
		return -1;
	}
	return 0;
}

/* two digits of v at p */
static void
put2(char *p, int v)
{
	p[0] = (char)('0' + v / 10 % 10);
	p[1] = (char)('0' + v % 10);
}

/* "YYYY-MM-DDTHH:MM:SSZ" of sec (seconds since the epoch, UTC); 0 or -1 */
static int
bucket_start(int64_t sec, char out[24])
{
	time_t t = (time_t)sec;
	struct tm tm;
	int y;

	if (gmtime_r(&t, &tm) == NULL || (y = tm.tm_year + 1900) < 0 || y > 9999)
		return -1;
	put2(out, y / 100);
	put2(out + 2, y % 100);
	out[4] = '-';
	put2(out + 5, tm.tm_mon + 1);
	out[7] = '-';
	put2(out + 8, tm.tm_mday);
	out[10] = 'T';
	put2(out + 11, tm.tm_hour);
	out[13] = ':';
	put2(out + 14, tm.tm_min);
	out[16] = ':';
	put2(out + 17, tm.tm_sec);
	out[19] = 'Z';
	out[20] = '\0';
	return 0;
}

/*
 * ,"key":value with the column's text as the value: PostgreSQL's output of
 * integers and of float8 (shortest exact form) is JSON as it stands, but
 * for SQL NULL, NaN and the infinities, which become null.
 */
static void
add_num(struct buf *b, const char *key, const PGresult *q, int row, int col)
{
	const char *v = PQgetvalue(q, row, col);

	buf_adds(b, key);
	if (PQgetisnull(q, row, col) || v[0] == 'N' || v[0] == 'I' || (v[0] == '-' && v[1] == 'I'))
		buf_adds(b, "null");
	else
		buf_add(b, v, (size_t)PQgetlength(q, row, col));
}

/* The answer's text from the rows of CHECK_SQL or AGENT_SQL, or NULL (out of memory). */
static char *
summary_text(const PGresult *q, int agent, const char *by, const char *since,
    const char *until, size_t *len)
{
	struct buf b;
	const char *sep = "";
	int i;

	buf_init(&b, (size_t)1 << 30);
	buf_addf(&b, "{\"by\":\"%s\",\"since\":\"%s\",\"until\":\"%s\",\"items\":[", by, since, until);
	for (i = 0; i < PQntuples(q); i++) {
		char start[24];
		const char *es;

		if (PQgetisnull(q, i, 0))
			continue;   /* the row of a check or agent without buckets */
		if (bucket_start(str_to_ll(PQgetvalue(q, i, 0), INT64_MIN, INT64_MAX, &es), start) < 0)
			continue;   /* beyond year 9999: not a bucket we store */
		buf_addf(&b, "%s{\"start\":\"%s\"", sep, start);
		add_num(&b, ",\"count\":", q, i, 1);
		if (agent)
			add_num(&b, ",\"checks\":", q, i, 2);
		add_num(&b, ",\"min\":", q, i, 3);
		add_num(&b, ",\"max\":", q, i, 4);
		add_num(&b, ",\"avg\":", q, i, 5);
		add_num(&b, ",\"ok\":", q, i, 6);
		add_num(&b, ",\"warning\":", q, i, 7);
		add_num(&b, ",\"critical\":", q, i, 8);
		add_num(&b, ",\"unknown\":", q, i, 9);
		add_num(&b, ",\"ok_ratio\":", q, i, 10);
		buf_adds(&b, "}");
		sep = ",";
	}
	buf_adds(&b, "]}\n");
	if (b.failed) {
		buf_free(&b);
		return NULL;
	}
	*len = b.len;
	return buf_take(&b);
}

static void
summary(struct req *r, struct resp *rs, const struct db_stmt *by_level, const char *what)
{
	char id[24], sv[RFC3339_LEN], uv[RFC3339_LEN];
	const char *v[3] = { id, sv, uv };
	enum bucket by;
	int64_t since, until;
	PGresult *q = NULL;
	struct MHD_Response *mr;
	char *text;
	size_t len = 0;

	if (summary_args(r, rs, &by, &since, &until) < 0)
		return;
	id_text(r->id[0], id);
	rfc3339_format(since, sv);
	rfc3339_format(until, uv);
	q = db_exec(r->db, &by_level[by], v);
	if (!db_ok(q, PGRES_TUPLES_OK)) {
		resp_db_error(rs, r->db, q);
		goto done;
	}
	if (PQntuples(q) == 0) {
		resp_error(rs, 404, NULL, "no %s %lld", what, (long long)r->id[0]);
		goto done;
	}
	if ((text = summary_text(q, by_level == q_agent, buckets[by].name, sv, uv, &len)) == NULL) {
		resp_error(rs, 500, NULL, "out of memory");
		goto done;
	}
	/* MUST_FREE: the response owns text from here on (not when it fails) */
	if ((mr = MHD_create_response_from_buffer(len, text, MHD_RESPMEM_MUST_FREE)) == NULL) {
		free(text);
		resp_error(rs, 500, NULL, "out of memory");
		goto done;
	}
	MHD_add_response_header(mr, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
	rs->status = 200;
	rs->raw = mr;
done:
	PQclear(q);
}

void
api_checks_summary(struct req *r, struct resp *rs)
{
	summary(r, rs, q_check, "check");
}

void
api_agents_summary(struct req *r, struct resp *rs)
{
	summary(r, rs, q_agent, "agent");
}

void
api_agents_facts(struct req *r, struct resp *rs)
{
	api_get_id(r, rs, &q_facts, r->id[0], 200, "agent");
}
