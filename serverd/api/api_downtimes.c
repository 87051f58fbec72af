/*
 * api_downtimes.c - /api/v1/downtimes: planned maintenance windows.
 *
 * A downtime covers one agent (all its checks, and AGENT DOWN/UP) or one
 * check, from start (default: now) to end. While it is active,
 * alert_record() records events without notifying anybody. jobs.c emits
 * DOWNTIME START/END and, at the end, notifies what is still wrong (or
 * recovered) and was held back. DELETE of an active downtime ends it at
 * once in the same way; DELETE of a past or future one just removes it.
 */
#include "config.h"
#include "alert.h"
#include "api.h"
#include "apiutil.h"
#include "db.h"
#include "jobs.h"
#include "strnum.h"
#include "timeutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DOWNTIME_COMMENT_MAX 4096

static const char *const downtime_fields[] = { "agent_id", "check_id", "agent", "check",
	"start", "end", "comment", NULL };

#define DOWNTIME_JSON \
	"jsonb_build_object('id', d.id, 'agent_id', d.agent_id, 'check_id', d.check_id," \
	" 'start', rfc3339(d.start_at), 'end', rfc3339(d.end_at), 'comment', d.comment," \
	" 'active', d.start_at <= now() AND d.end_at > now(), 'created_at', rfc3339(d.created_at)," \
	" 'created_by', d.created_by, 'name', d.name, 'managed', d.managed)"

static const struct db_stmt q_list = { "downtimes_list",
	"SELECT " DOWNTIME_JSON ", d.id FROM downtimes d"
	" WHERE d.id > $1 AND ($3::bigint IS NULL OR d.agent_id = $3"
	"   OR d.check_id IN (SELECT id FROM checks WHERE agent_id = $3))"
	"  AND ($4::bigint IS NULL OR d.check_id = $4)"
	"  AND ($5::boolean IS NULL OR (d.start_at <= now() AND d.end_at > now()) = $5)"
	" ORDER BY d.id LIMIT $2", 5 };
static const struct db_stmt q_get = { "downtimes_get",
	"SELECT " DOWNTIME_JSON " FROM downtimes d WHERE d.id = $1", 1 };
static const struct db_stmt q_target = { "downtimes_target",
	"SELECT (SELECT count(*) FROM agents WHERE id = $1::bigint),"
	"  (SELECT count(*) FROM checks WHERE id = $2::bigint)", 2 };
static const struct db_stmt q_create = { "downtimes_create",
	"INSERT INTO downtimes AS d (agent_id, check_id, start_at, end_at, comment, created_by)"
	" VALUES ($1::bigint, $2::bigint,"
	"  COALESCE('epoch'::timestamptz + $3::bigint * interval '1 microsecond', now()),"
	"  'epoch'::timestamptz + $4::bigint * interval '1 microsecond', COALESCE($5, ''), $6)"
	" RETURNING " DOWNTIME_JSON, 6 };
static const struct db_stmt q_delete = { "downtimes_delete",
	"DELETE FROM downtimes d WHERE d.id = $1"
	" RETURNING COALESCE(d.agent_id, (SELECT c.agent_id FROM checks c WHERE c.id = d.check_id)),"
	"  COALESCE(d.check_id, 0), NOT d.ended AND d.start_at <= now() AND d.end_at > now(),"
	"  json_build_object('downtime_id', d.id, 'comment', d.comment, 'start', rfc3339(d.start_at),"
	"  'end', rfc3339(d.end_at), 'reason', 'deleted', 'by', $2::text)::text, d.agent_id IS NOT NULL", 2 };

void
api_downtimes_list(struct req *r, struct resp *rs)
{
	char cur[24], lim[24], agent[24], check[24];
	const char *v[5], *s, *es;
	long limit;
	int64_t cursor;

	if ((limit = api_limit(r, rs)) < 0 || (cursor = api_cursor(r, rs)) < 0)
		return;
	v[0] = id_text(cursor, cur);
	v[1] = id_text(limit + 1, lim);
	v[2] = v[3] = v[4] = NULL;
	if ((s = req_arg(r, "agent_id")) != NULL) {
		long long n = str_to_ll(s, 1, INT64_MAX, &es);
		if (es) {
			resp_error(rs, 400, "agent_id", "agent_id must be a positive integer");
			return;
		}
		v[2] = id_text(n, agent);
	}
	if ((s = req_arg(r, "check_id")) != NULL) {
		long long n = str_to_ll(s, 1, INT64_MAX, &es);
		if (es) {
			resp_error(rs, 400, "check_id", "check_id must be a positive integer");
			return;
		}
		v[3] = id_text(n, check);
	}
	if ((s = req_arg(r, "active")) != NULL) {
		if (strcmp(s, "true") != 0 && strcmp(s, "false") != 0) {
			resp_error(rs, 400, "active", "active must be true or false");
			return;
		}
		v[4] = s;
	}
	api_query_list(r, rs, &q_list, v, limit);
}

void
api_downtimes_get(struct req *r, struct resp *rs)
{
	api_get_id(r, rs, &q_get, r->id[0], 200, "downtime");
}

/* An RFC 3339 member into *us; 1 present, 0 absent, -1 error. */
static int
time_member(json_t *o, const char *key, int required, int64_t *us, struct resp *rs)
{
	const char *s = NULL;
	int rc = jv_str(o, key, required, 64, &s, rs);

	if (rc <= 0)
		return rc;
	if (rfc3339_parse(s, us) < 0) {
		resp_error(rs, 422, key, "%s \"%s\" is not an RFC 3339 time", key, s);
		return -1;
	}
	return 1;
}

void
api_downtimes_create(struct req *r, struct resp *rs)
{
	long long agent_id = 0, check_id = 0;
	int ha, hc, hs;
	int64_t start = 0, end = 0;
	const char *comment = NULL, *v[6];
	char a[24], c[24], st[24], en[24];
	PGresult *q = NULL;

	if (jv_object(r, rs) < 0 || jv_known(r->body, downtime_fields, rs) < 0 ||
	    agent_name(r, r->body, rs) < 0 || check_name(r, r->body, rs) < 0 ||
	    (ha = jv_int(r->body, "agent_id", 0, 1, INT64_MAX, &agent_id, rs)) < 0 ||
	    (hc = jv_int(r->body, "check_id", 0, 1, INT64_MAX, &check_id, rs)) < 0 ||
	    (hs = time_member(r->body, "start", 0, &start, rs)) < 0 ||
	    time_member(r->body, "end", 1, &end, rs) < 0 ||
	    jv_str(r->body, "comment", 0, DOWNTIME_COMMENT_MAX, &comment, rs) < 0)
		goto done;
	if (ha == hc) {
		resp_error(rs, 422, ha ? "check_id" : "agent_id",
		    "a downtime names exactly one of agent_id and check_id");
		goto done;
	}
	if (end <= (hs ? start : time_now_us())) {
		resp_error(rs, 422, "end", hs ? "end must be after start" : "end must be in the future");
		goto done;
	}
	if (end <= time_now_us()) {
		resp_error(rs, 422, "end", "end is in the past");
		goto done;
	}
	v[0] = ha ? id_text(agent_id, a) : "0";
	v[1] = hc ? id_text(check_id, c) : "0";
	q = db_exec(r->db, &q_target, v);
	if (!db_ok(q, PGRES_TUPLES_OK)) {
		resp_db_error(rs, r->db, q);
		goto done;
	}
	if (strcmp(PQgetvalue(q, 0, ha ? 0 : 1), "0") == 0) {
		resp_error(rs, 422, ha ? "agent_id" : "check_id", "%s %lld does not exist",
		    ha ? "agent" : "check", ha ? agent_id : check_id);
		goto done;
	}
	PQclear(q);
	snprintf(st, sizeof(st), "%lld", (long long)start);
	snprintf(en, sizeof(en), "%lld", (long long)end);
	v[0] = ha ? a : NULL;
	v[1] = hc ? c : NULL;
	v[2] = hs ? st : NULL;
	v[3] = en;
	v[4] = comment;
	v[5] = r->who.name;   /* the user's name under a user's session, else the token's */
	q = db_exec(r->db, &q_create, v);
	if (!db_ok(q, PGRES_TUPLES_OK)) {
		resp_db_error(rs, r->db, q);
		goto done;
	}
	api_one(rs, 201, q, 0);
done:
	PQclear(q);
}

enum db_outcome
downtime_delete(PGconn *c, int64_t id, const char *by, int *found)
{
	char ids[24];
	const char *v[2] = { id_text(id, ids), by }, *es;
	PGresult *q = db_exec(c, &q_delete, v);
	json_t *detail = NULL;
	enum db_outcome st = DB_OK;

	*found = 0;
	if (!db_ok(q, PGRES_TUPLES_OK)) {
		st = db_outcome(c, q);
		goto done;
	}
	if (PQntuples(q) == 0)
		goto done;
	*found = 1;
	if (PQgetvalue(q, 0, 2)[0] == 't') {
		/* an active downtime ends now: DOWNTIME END, then what it held back */
		struct alert_event ev;
		char list[32];
		int is_agent = PQgetvalue(q, 0, 4)[0] == 't';

		memset(&ev, 0, sizeof(ev));
		ev.kind = EV_DOWNTIME_END;
		ev.agent_id = str_to_ll(PQgetvalue(q, 0, 0), 0, INT64_MAX, &es);
		ev.check_id = str_to_ll(PQgetvalue(q, 0, 1), 0, INT64_MAX, &es);
		ev.status = ev.prev_status = ev.hard = -1;
		ev.output = "downtime deleted";
		detail = json_loads(PQgetvalue(q, 0, 3), 0, NULL);
		ev.detail = detail;
		if ((st = alert_record(c, &ev, 1, NULL)) != DB_OK)
			goto done;
		snprintf(list, sizeof(list), "{%s}", PQgetvalue(q, 0, is_agent ? 0 : 1));
		st = jobs_notify_untold(c, is_agent ? NULL : list, is_agent ? list : NULL,
		    "downtime deleted");
	}
done:
	json_decref(detail);
	PQclear(q);
	return st;
}

void
api_downtimes_delete(struct req *r, struct resp *rs)
{
	enum db_outcome st;
	int in_tx = 0, found;

	if (api_begin(r, rs) < 0)
		goto done;
	in_tx = 1;
	if ((st = downtime_delete(r->db, r->id[0], r->who.name, &found)) != DB_OK) {
		resp_db_outcome(rs, st, "could not end the downtime");
		goto done;
	}
	if (!found) {
		resp_error(rs, 404, NULL, "no downtime %lld", (long long)r->id[0]);
		goto done;
	}
	in_tx = 0;   /* a failed COMMIT ends the transaction too */
	if (api_commit(r, rs) < 0)
		goto done;
	rs->status = 204;
done:
	if (in_tx)
		api_rollback(r);
}
