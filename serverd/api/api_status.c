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
#include "db.h"

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
	" 'last_event_id', (SELECT COALESCE(max(id), 0) FROM events),"
	" 'server_time', rfc3339(now()))", 0 };

static const struct db_stmt q_ping = { "healthz", "SELECT 1", 0 };

void
api_status(struct req *r, struct resp *rs)
{
	PGresult *q = db_exec(r->db, &q_status, NULL);

	if (db_ok(q, PGRES_TUPLES_OK))
		api_one(rs, 200, q, 0);
	else
		resp_db_error(rs, r->db, q);
	PQclear(q);
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
