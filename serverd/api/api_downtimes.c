/*
 * api_downtimes.c - /api/v1/downtimes: planned maintenance windows.
 *
 * A downtime covers one agent (all its checks, and AGENT DOWN/UP) or one
 * check, from start (default: now) to end. While it is active,
 * alert_record() records events without notifying anybody. jobs.c emits
 * DOWNTIME START/END and, at the end, notifies what is still wrong (or
 * recovered) and was held back. DELETE of an active downtime ends it at
 * once in the same way; DELETE of a past or future one just removes it.
 *
 * A recurring downtime ("recurring": "sun 02:00-04:00", "tz") is a
 * definition (downtime_recurring, ids from the same sequence, so the
 * routes take either): jobs.c writes its occurrences of the coming day as
 * ordinary downtimes carrying recurring_id, the first ones as it is made.
 * DELETE of a definition removes its future occurrences and ends an
 * active one as above; DELETE of one occurrence skips just that one.
 */
#include "config.h"
#include "alert.h"
#include "api.h"
#include "apiutil.h"
#include "db.h"
#include "jobs.h"
#include "oncall.h"
#include "strnum.h"
#include "timeutil.h"
#include "tz.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DOWNTIME_COMMENT_MAX 4096

static const char *const downtime_fields[] = { "agent_id", "check_id", "agent", "check",
	"start", "end", "comment", "recurring", "tz", NULL };

#define DOWNTIME_JSON \
	"jsonb_build_object('id', d.id, 'agent_id', d.agent_id, 'check_id', d.check_id," \
	" 'start', rfc3339(d.start_at), 'end', rfc3339(d.end_at), 'comment', d.comment," \
	" 'active', d.start_at <= now() AND d.end_at > now(), 'created_at', rfc3339(d.created_at)," \
	" 'created_by', d.created_by, 'name', d.name, 'managed', d.managed," \
	" 'recurring_id', d.recurring_id)"
/* a definition: active while one of its occurrences is */
#define RECURRING_ACTIVE \
	"EXISTS (SELECT 1 FROM downtimes o WHERE o.recurring_id = r.id" \
	" AND o.start_at <= now() AND o.end_at > now())"
#define RECURRING_JSON \
	"jsonb_build_object('id', r.id, 'agent_id', r.agent_id, 'check_id', r.check_id," \
	" 'recurring', r.recurring, 'tz', r.tz, 'comment', r.comment, 'active', " RECURRING_ACTIVE "," \
	" 'next', (SELECT jsonb_build_object('start', rfc3339(o.start_at), 'end', rfc3339(o.end_at))" \
	"   FROM downtimes o WHERE o.recurring_id = r.id AND o.end_at > now()" \
	"   ORDER BY o.start_at LIMIT 1)," \
	" 'created_at', rfc3339(r.created_at), 'created_by', r.created_by)"
/* downtimes and recurring definitions, one id space */
#define DOWNTIMES_ALL \
	"(SELECT " DOWNTIME_JSON " AS j, d.id, d.agent_id, d.check_id," \
	"  d.start_at <= now() AND d.end_at > now() AS active FROM downtimes d" \
	" UNION ALL SELECT " RECURRING_JSON ", r.id, r.agent_id, r.check_id, " RECURRING_ACTIVE \
	" FROM downtime_recurring r) x"

static const struct db_stmt q_list = { "downtimes_list",
	"SELECT x.j, x.id FROM " DOWNTIMES_ALL
	" WHERE x.id > $1 AND ($3::bigint IS NULL OR x.agent_id = $3"
	"   OR x.check_id IN (SELECT id FROM checks WHERE agent_id = $3))"
	"  AND ($4::bigint IS NULL OR x.check_id = $4)"
	"  AND ($5::boolean IS NULL OR x.active = $5)"
	" ORDER BY x.id LIMIT $2", 5 };
static const struct db_stmt q_get = { "downtimes_get",
	"SELECT x.j FROM " DOWNTIMES_ALL " WHERE x.id = $1", 1 };
static const struct db_stmt q_target = { "downtimes_target",
	"SELECT (SELECT count(*) FROM agents WHERE id = $1::bigint),"
	"  (SELECT count(*) FROM checks WHERE id = $2::bigint)", 2 };
static const struct db_stmt q_create = { "downtimes_create",
	"INSERT INTO downtimes AS d (agent_id, check_id, start_at, end_at, comment, created_by)"
	" VALUES ($1::bigint, $2::bigint,"
	"  COALESCE('epoch'::timestamptz + $3::bigint * interval '1 microsecond', now()),"
	"  'epoch'::timestamptz + $4::bigint * interval '1 microsecond', COALESCE($5, ''), $6)"
	" RETURNING " DOWNTIME_JSON, 6 };
static const struct db_stmt q_rec_create = { "downtimes_rec_create",
	"INSERT INTO downtime_recurring (agent_id, check_id, recurring, tz, comment, created_by)"
	" VALUES ($1::bigint, $2::bigint, $3, $4, COALESCE($5, ''), $6) RETURNING id", 6 };
static const struct db_stmt q_rec_get = { "downtimes_rec_get",
	"SELECT " RECURRING_JSON " FROM downtime_recurring r WHERE r.id = $1", 1 };
/* a definition's end: its future occurrences go, the active ones are
 * answered (downtime_delete() ends them), the past ones stay (history) */
static const struct db_stmt q_rec_delete = { "downtimes_rec_delete",
	"WITH def AS (DELETE FROM downtime_recurring WHERE id = $1 RETURNING id),"
	" fut AS (DELETE FROM downtimes WHERE recurring_id = $1 AND start_at > now())"
	" SELECT (SELECT count(*) FROM def), d.id FROM (SELECT 1) one"
	" LEFT JOIN downtimes d ON d.recurring_id = $1 AND NOT d.ended"
	"  AND d.start_at <= now() AND d.end_at > now()", 1 };
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
	const char *v[5], *s;
	long limit;
	int64_t cursor;

	if ((limit = api_limit(r, rs)) < 0 || (cursor = api_cursor(r, rs)) < 0)
		return;
	v[0] = id_text(cursor, cur);
	v[1] = id_text(limit + 1, lim);
	v[2] = v[3] = v[4] = NULL;
	switch (api_agent_arg(r, rs, agent)) {   /* ?agent_id= or ?agent=NAME */
	case -1:
		return;
	case 1:
		v[2] = agent;
		break;
	}
	switch (api_check_arg(r, rs, check)) {   /* ?check_id= or ?check=AGENT/CHECK */
	case -1:
		return;
	case 1:
		v[3] = check;
		break;
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

/*
 * A recurring definition (the body's target already checked): made and
 * its first occurrences written in one transaction, answered as GET.
 */
static void
create_recurring(struct req *r, struct resp *rs, const char *const *target,
    const char *recurring, const char *zone, const char *comment)
{
	struct quiet_window w;
	char err[256], ids[24];
	const char *v[6], *es;
	PGresult *q = NULL;
	int64_t id;
	int in_tx = 0;
	enum db_outcome st;

	if (quiet_window_parse(recurring, &w, err, sizeof(err)) < 0) {
		resp_error(rs, 422, "recurring", "recurring: %s", err);
		return;
	}
	if (tz_get(zone, err, sizeof(err)) == NULL) {
		resp_error(rs, 422, "tz", "tz: %s", err);
		return;
	}
	if (api_begin(r, rs) < 0)
		return;
	in_tx = 1;
	v[0] = target[0];
	v[1] = target[1];
	v[2] = recurring;
	v[3] = zone;
	v[4] = comment;
	v[5] = r->who.name;
	q = db_exec(r->db, &q_rec_create, v);
	if (!db_ok(q, PGRES_TUPLES_OK)) {
		resp_db_error(rs, r->db, q);
		goto done;
	}
	id = str_to_ll(PQgetvalue(q, 0, 0), 1, INT64_MAX, &es);
	PQclear(q);
	q = NULL;
	if ((st = jobs_plan_recurring(r->db, id)) != DB_OK) {
		resp_db_outcome(rs, st, "could not plan the recurring downtime");
		goto done;
	}
	in_tx = 0;
	if (api_commit(r, rs) < 0)
		goto done;
	v[0] = id_text(id, ids);
	q = db_exec(r->db, &q_rec_get, v);
	if (!db_ok(q, PGRES_TUPLES_OK) || PQntuples(q) != 1) {
		resp_db_error(rs, r->db, q);
		goto done;
	}
	api_one(rs, 201, q, 0);
done:
	PQclear(q);
	if (in_tx)
		api_rollback(r);
}

void
api_downtimes_create(struct req *r, struct resp *rs)
{
	long long agent_id = 0, check_id = 0;
	int ha, hc, hs, he, hr;
	int64_t start = 0, end = 0;
	const char *comment = NULL, *recurring = NULL, *zone = NULL, *v[6];
	char a[24], c[24], st[24], en[24];
	PGresult *q = NULL;

	if (jv_object(r, rs) < 0 || jv_known(r->body, downtime_fields, rs) < 0 ||
	    agent_name(r, r->body, rs) < 0 || check_name(r, r->body, rs) < 0 ||
	    (ha = jv_int(r->body, "agent_id", 0, 1, INT64_MAX, &agent_id, rs)) < 0 ||
	    (hc = jv_int(r->body, "check_id", 0, 1, INT64_MAX, &check_id, rs)) < 0 ||
	    (hs = time_member(r->body, "start", 0, &start, rs)) < 0 ||
	    (he = time_member(r->body, "end", 0, &end, rs)) < 0 ||
	    (hr = jv_str(r->body, "recurring", 0, 128, &recurring, rs)) < 0 ||
	    jv_str(r->body, "tz", 0, 64, &zone, rs) < 0 ||
	    jv_str(r->body, "comment", 0, DOWNTIME_COMMENT_MAX, &comment, rs) < 0)
		goto done;
	if (ha == hc) {
		resp_error(rs, 422, ha ? "check_id" : "agent_id",
		    "a downtime names exactly one of agent_id and check_id");
		goto done;
	}
	if (hr && (hs || he)) {
		resp_error(rs, 422, "recurring",
		    "a downtime is either recurring or has a start and end, not both");
		goto done;
	}
	if (!hr && zone != NULL) {
		resp_error(rs, 422, "tz", "tz is for a recurring downtime only");
		goto done;
	}
	if (!hr && !he) {
		resp_error(rs, 422, "end", "a downtime needs an end (or \"recurring\")");
		goto done;
	}
	if (!hr && end <= (hs ? start : time_now_us())) {
		resp_error(rs, 422, "end", hs ? "end must be after start" : "end must be in the future");
		goto done;
	}
	if (!hr && end <= time_now_us()) {
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
	q = NULL;
	v[0] = ha ? a : NULL;
	v[1] = hc ? c : NULL;
	if (hr) {
		create_recurring(r, rs, v, recurring, zone ? zone : "UTC", comment);
		goto done;
	}
	snprintf(st, sizeof(st), "%lld", (long long)start);
	snprintf(en, sizeof(en), "%lld", (long long)end);
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

/*
 * A recurring definition's end: its future occurrences removed, an active
 * one ended by downtime_delete(). *found 0 when id is no definition.
 */
enum db_outcome
recurring_delete(PGconn *c, int64_t id, const char *by, int *found)
{
	char ids[24];
	const char *v[1] = { id_text(id, ids) }, *es;
	PGresult *q = db_exec(c, &q_rec_delete, v);
	enum db_outcome st = DB_OK;
	int f;

	*found = 0;
	if (!db_ok(q, PGRES_TUPLES_OK)) {
		st = db_outcome(c, q);
		goto done;
	}
	*found = strcmp(PQgetvalue(q, 0, 0), "0") != 0;
	for (int i = 0; *found && i < PQntuples(q) && st == DB_OK; i++)
		if (!PQgetisnull(q, i, 1))
			st = downtime_delete(c, str_to_ll(PQgetvalue(q, i, 1), 1, INT64_MAX, &es), by,
			    &f);
done:
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
	if ((st = downtime_delete(r->db, r->id[0], r->who.name, &found)) != DB_OK ||
	    (!found && (st = recurring_delete(r->db, r->id[0], r->who.name, &found)) != DB_OK)) {
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
