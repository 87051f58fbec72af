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
#include "db.h"
#include "stream.h"
#include "timeutil.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/*
 * The problems are built here rather than with check_json() per row: that
 * function reads the last result once per column it expands and asks for
 * downtimes per check, which at 500 problems cost seconds. Here the last
 * result is one LATERAL index probe per problem and the active downtimes
 * are read once. The "state" object has exactly check_state_json()'s keys
 * (sql/001_init.sql): change both together.
 */
static const struct db_stmt q_status = { "status",
	"WITH dt AS MATERIALIZED (SELECT check_id, agent_id FROM downtimes"
	"  WHERE start_at <= now() AND end_at > now())"
	" SELECT json_build_object("
	" 'counts', (SELECT json_build_object("
	"    'OK', count(*) FILTER (WHERE s.status = 0),"
	"    'WARNING', count(*) FILTER (WHERE s.status = 1),"
	"    'CRITICAL', count(*) FILTER (WHERE s.status = 2),"
	"    'UNKNOWN', count(*) FILTER (WHERE s.status = 3),"
	"    'PENDING', count(*) FILTER (WHERE s.status IS NULL))"
	"    FROM check_state s JOIN checks c ON c.id = s.check_id WHERE c.enabled),"
	" 'agents', (SELECT json_build_object("
	"    'up', count(*) FILTER (WHERE state = 'up'),"
	"    'down', count(*) FILTER (WHERE state = 'down'),"
	"    'new', count(*) FILTER (WHERE state = 'new')) FROM agents),"
	" 'problems', COALESCE((SELECT json_agg(check_def_json(c) || jsonb_build_object("
	"    'agent_name', a.name, 'state', jsonb_build_object("
	"      'status', status_name(s.status), 'state_type', s.state_type,"
	"      'attempt', s.attempt, 'since', rfc3339(s.since),"
	"      'last_result_at', rfc3339(l.observed_at), 'output', l.output,"
	"      'value', l.value, 'perfdata', l.perfdata, 'acknowledged', s.acknowledged,"
	"      'in_downtime', (c.id IN (SELECT check_id FROM dt WHERE check_id IS NOT NULL)"
	"        OR c.agent_id IN (SELECT agent_id FROM dt WHERE agent_id IS NOT NULL)),"
	"      'flapping', s.flapping, 'flap_pct', s.flap_pct,"
	"      'last_notified_at', rfc3339(s.last_notified_at)))"
	"    ORDER BY CASE s.status WHEN 2 THEN 0 WHEN 3 THEN 1 ELSE 2 END, s.since, c.id)"
	"    FROM checks c JOIN check_state s ON s.check_id = c.id JOIN agents a ON a.id = c.agent_id"
	"    LEFT JOIN LATERAL (SELECT h.output, h.value, h.perfdata, h.observed_at"
	"      FROM check_history h WHERE h.check_id = c.id"
	"      ORDER BY h.observed_at DESC, h.id DESC LIMIT 1) l ON true"
	"    WHERE c.enabled AND s.status > 0), '[]'::json),"
	" 'last_event_id', (SELECT COALESCE(max(id), 0) FROM events))", 0 };

static const struct db_stmt q_ping = { "healthz", "SELECT 1", 0 };

/*
 * The answer without "server_time", remembered with the change generation
 * (stream.h) it was read under: while nothing an operator sees changed -
 * no custos_stream notification from any serverd, no write through this
 * one - and for at most STATUS_CACHE_MS (time alone moves downtimes and
 * acknowledgement expiry, which their jobs then write), /status answers
 * from memory. A change through another serverd is seen when its NOTIFY
 * arrives (a millisecond or so).
 */
#define STATUS_CACHE_MS 5000

static pthread_mutex_t cache_mu = PTHREAD_MUTEX_INITIALIZER;
static char *cache_text;        /* "{...}" without server_time; owned here */
static size_t cache_len;
static uint64_t cache_gen;
static int64_t cache_at_ms;

/* A copy of the cached text, or NULL when stale. */
static char *
cache_get(size_t *len)
{
	char *t = NULL;
	uint64_t g = stream_generation();

	pthread_mutex_lock(&cache_mu);
	if (g != 0 && cache_text && cache_gen == g && mono_now_ms() - cache_at_ms < STATUS_CACHE_MS &&
	    (t = malloc(cache_len + 1)) != NULL) {
		memcpy(t, cache_text, cache_len + 1);
		*len = cache_len;
	}
	pthread_mutex_unlock(&cache_mu);
	return t;
}

static void
cache_put(const char *text, uint64_t gen, int64_t at_ms)
{
	char *t = strdup(text);

	if (t == NULL || gen == 0) {
		free(t);
		return;
	}
	pthread_mutex_lock(&cache_mu);
	free(cache_text);
	cache_text = t;
	cache_len = strlen(t);
	cache_gen = gen;
	cache_at_ms = at_ms;
	pthread_mutex_unlock(&cache_mu);
}

void
api_status(struct req *r, struct resp *rs)
{
	uint64_t gen = stream_generation();
	int64_t at = mono_now_ms();
	char now[RFC3339_LEN], *text;
	size_t len = 0;
	struct buf b;
	struct MHD_Response *mr;
	PGresult *q = NULL;

	if ((text = cache_get(&len)) == NULL) {
		q = db_exec(r->db, &q_status, NULL);
		if (!db_ok(q, PGRES_TUPLES_OK)) {
			resp_db_error(rs, r->db, q);
			PQclear(q);
			return;
		}
		cache_put(PQgetvalue(q, 0, 0), gen, at);
		len = (size_t)PQgetlength(q, 0, 0);
	}
	/* {"server_time": "...", + the rest after the opening brace */
	rfc3339_format(time_now_us(), now);
	buf_init(&b, (size_t)1 << 30);
	buf_addf(&b, "{\"server_time\": \"%s\", ", now);
	buf_add(&b, (text ? text : PQgetvalue(q, 0, 0)) + 1, len - 1);
	buf_adds(&b, "\n");
	free(text);
	PQclear(q);
	if (b.failed) {
		buf_free(&b);
		resp_error(rs, 500, NULL, "out of memory");
		return;
	}
	len = b.len;
	text = buf_take(&b);
	if ((mr = MHD_create_response_from_buffer(len, text, MHD_RESPMEM_MUST_FREE)) == NULL) {
		free(text);
		resp_error(rs, 500, NULL, "out of memory");
		return;
	}
	MHD_add_response_header(mr, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
	rs->status = 200;
	rs->raw = mr;
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
