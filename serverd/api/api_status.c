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

static const struct db_stmt q_status = { "status",
	"SELECT json_build_object("
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
	" 'problems', COALESCE((SELECT json_agg(check_json(c) || jsonb_build_object('agent_name', a.name)"
	"    ORDER BY CASE s.status WHEN 2 THEN 0 WHEN 3 THEN 1 ELSE 2 END, s.since, c.id)"
	"    FROM checks c JOIN check_state s ON s.check_id = c.id JOIN agents a ON a.id = c.agent_id"
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
