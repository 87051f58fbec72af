/*
 * api_summary.c - GET /api/v1/checks/{id}/summary, GET /api/v1/agents/{id}/summary
 * and GET /api/v1/agents/{id}/facts (issue #8; the tables are in
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
 * (history_raw_floor(); usually today's): probing every day of a month
 * through the check's index cost ~150 ms cold in bench/history. Minute buckets exist for
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
#include "db.h"
#include "strnum.h"
#include "timeutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

/* a bucket's start: whole seconds, so to_char alone (rfc3339() costs a
 * regexp per bucket: 720 of them for a month by hour) */
#define BUCKET_START "to_char(start AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"

/* the first bucket start and the end of the last bucket touched by [$2, $3) */
#define LO(u) "date_trunc('" u "', $2::timestamptz, 'UTC')"
#define HI(u) "((date_trunc('" u "', $3::timestamptz - interval '1 microsecond', 'UTC')" \
	" AT TIME ZONE 'UTC' + interval '1 " u "') AT TIME ZONE 'UTC')"

#define CHECK_SQL(t, u) \
	"SELECT COALESCE(json_agg(json_build_object('start', " BUCKET_START ", 'count', n," \
	"  'min', vmin, 'max', vmax, 'avg', CASE WHEN nv > 0 THEN vs / nv END," \
	"  'ok', ok, 'warning', w, 'critical', c, 'unknown', u, 'ok_ratio', ok::float8 / n)" \
	"  ORDER BY start), '[]')::text" \
	" FROM (SELECT start, sum(count) n, sum(nvalues) nv, min(vmin) vmin, max(vmax) vmax," \
	"   sum(vsum) vs, sum(ok) ok, sum(warning) w, sum(critical) c, sum(unknown) u" \
	"  FROM (SELECT x.start, x.count, x.nvalues, x.vmin, x.vmax, x.vsum, x.ok, x.warning," \
	"    x.critical, x.unknown FROM " t " x" \
	"    WHERE x.check_id = $1 AND x.start >= " LO(u) " AND x.start < $3::timestamptz" \
	"   UNION ALL" \
	"   SELECT date_trunc('" u "', h.observed_at, 'UTC'), 1, (h.value IS NOT NULL)::int," \
	"    h.value, h.value, COALESCE(h.value, 0), (h.status = 0)::int, (h.status = 1)::int," \
	"    (h.status = 2)::int, (h.status = 3)::int FROM check_history h" \
	"    WHERE h.check_id = $1 AND h.observed_at >= history_raw_floor(" LO(u) ") AND h.observed_at < " HI(u) \
	"     AND h.id > (SELECT last_id FROM rollup_watermark)) r" \
	"  GROUP BY start) b"

#define AGENT_SQL(t, u) \
	"SELECT COALESCE(json_agg(json_build_object('start', " BUCKET_START ", 'count', n," \
	"  'checks', k, 'min', NULL, 'max', NULL, 'avg', NULL, 'ok', ok, 'warning', w," \
	"  'critical', c, 'unknown', u, 'ok_ratio', ok::float8 / k) ORDER BY start), '[]')::text" \
	" FROM (SELECT start, sum(n) n, count(*) k," \
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
	"      AND h.observed_at >= history_raw_floor(" LO(u) ") AND h.observed_at < " HI(u) \
	"      AND h.id > (SELECT last_id FROM rollup_watermark)) r" \
	"   GROUP BY 1, 2) per" \
	"  GROUP BY start) b"

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
static const struct db_stmt q_check_exists = { "summary_check_exists",
	"SELECT 1 FROM checks WHERE id = $1", 1 };
static const struct db_stmt q_agent_exists = { "summary_agent_exists",
	"SELECT 1 FROM agents WHERE id = $1", 1 };

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

static void
summary(struct req *r, struct resp *rs, const struct db_stmt *exists,
    const struct db_stmt *by_level, const char *what)
{
	char id[24], sv[RFC3339_LEN], uv[RFC3339_LEN];
	const char *v[3] = { id, sv, uv };
	enum bucket by;
	int64_t since, until;
	PGresult *q = NULL;
	json_t *items;

	if (summary_args(r, rs, &by, &since, &until) < 0)
		return;
	id_text(r->id[0], id);
	rfc3339_format(since, sv);
	rfc3339_format(until, uv);
	q = db_exec(r->db, exists, v);
	if (!db_ok(q, PGRES_TUPLES_OK)) {
		resp_db_error(rs, r->db, q);
		goto done;
	}
	if (PQntuples(q) == 0) {
		resp_error(rs, 404, NULL, "no %s %lld", what, (long long)r->id[0]);
		goto done;
	}
	PQclear(q);
	q = db_exec(r->db, &by_level[by], v);
	if (!db_ok(q, PGRES_TUPLES_OK) || PQntuples(q) != 1) {
		resp_db_error(rs, r->db, q);
		goto done;
	}
	if ((items = json_loads(PQgetvalue(q, 0, 0), 0, NULL)) == NULL) {
		resp_error(rs, 500, NULL, "bad summary from the database");
		goto done;
	}
	resp_json(rs, 200, json_pack("{s:s,s:s,s:s,s:o}", "by", buckets[by].name,
	    "since", sv, "until", uv, "items", items));
done:
	PQclear(q);
}

void
api_checks_summary(struct req *r, struct resp *rs)
{
	summary(r, rs, &q_check_exists, q_check, "check");
}

void
api_agents_summary(struct req *r, struct resp *rs)
{
	summary(r, rs, &q_agent_exists, q_agent, "agent");
}

void
api_agents_facts(struct req *r, struct resp *rs)
{
	api_get_id(r, rs, &q_facts, r->id[0], 200, "agent");
}
