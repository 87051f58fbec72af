/*
 * api_agent.c - the agent protocol (agent tokens only): who am I, which
 * checks do I run (with ETag / If-None-Match, so an unchanged set costs the
 * token lookup and nothing else), and checkout at the end of a run.
 * POST /api/v1/check_history lives in ingest.c.
 */
#include "config.h"
#include "alert.h"
#include "api.h"
#include "apiutil.h"
#include "db.h"
#include "log.h"
#include "timeutil.h"
#include "utf8.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define AGENT_VERSION_MAX 64
#define AGENT_FACTS_MAX 65536   /* bytes of serialized facts */

static const struct db_stmt q_self = { "agent_self",
	"SELECT agent_json(a) || jsonb_build_object('server_time', rfc3339(now()))"
	" FROM agents a WHERE a.id = $1", 1 };
static const struct db_stmt q_checks = { "agent_checks",
	"SELECT json_build_object('revision', a.checks_revision::text, 'checks',"
	"  COALESCE(json_agg(check_def_json(c) ORDER BY c.id) FILTER (WHERE c.id IS NOT NULL),"
	"  '[]'::json)), a.checks_revision"
	" FROM agents a LEFT JOIN checks c ON c.agent_id = a.id AND c.enabled"
	/* heartbeats are fed by pings: no agent runs them (hbeat.h) */
	"  AND c.type <> 'heartbeat'"
	" WHERE a.id = $1 GROUP BY a.id", 1 };
static const struct db_stmt q_checkout = { "agent_checkout",
	"WITH old AS (SELECT state FROM agents WHERE id = $1 FOR UPDATE)"
	" UPDATE agents a SET last_checkout_at = now(),"
	"  next_checkout_by = now() + make_interval(secs => a.interval_s),"
	"  version = COALESCE($2, a.version), facts = COALESCE($3::jsonb, a.facts), state = 'up',"
	"  clock_skew_s = COALESCE($4::float8, a.clock_skew_s),"
	"  agent_labels = COALESCE($5::jsonb, a.agent_labels)"
	" FROM old WHERE a.id = $1"
	" RETURNING old.state, rfc3339(a.next_checkout_by), a.interval_s", 5 };

void
api_agent_self(struct req *r, struct resp *rs)
{
	char id[24];
	const char *v[1] = { id_text(r->who.id, id) };
	PGresult *q = db_exec(r->db, &q_self, v);

	if (!db_ok(q, PGRES_TUPLES_OK))
		resp_db_error(rs, r->db, q);
	else if (PQntuples(q) == 0)
		resp_error(rs, 401, NULL, "unknown token");
	else
		api_one(rs, 200, q, 0);
	PQclear(q);
}

void
api_agent_checks(struct req *r, struct resp *rs)
{
	char id[24];
	const char *v[1] = { id_text(r->who.id, id) };
	const char *inm = req_header(r, MHD_HTTP_HEADER_IF_NONE_MATCH);
	PGresult *q;

	/* the revision came with the token lookup: an unchanged set needs no query */
	snprintf(rs->etag, sizeof(rs->etag), "\"%lld\"", r->who.checks_revision);
	if (req_etag_matches(inm, rs->etag)) {
		rs->status = 304;
		return;
	}
	q = db_exec(r->db, &q_checks, v);
	if (!db_ok(q, PGRES_TUPLES_OK)) {
		resp_db_error(rs, r->db, q);
	} else if (PQntuples(q) == 0) {
		resp_error(rs, 401, NULL, "unknown token");
	} else {
		snprintf(rs->etag, sizeof(rs->etag), "\"%s\"", PQgetvalue(q, 0, 1));
		api_one(rs, 200, q, 0);
	}
	PQclear(q);
}

/*
 * The agent's labels and facts, where a checkout would put them: the
 * templates they select make their checks (trigger agents_templates_update,
 * sql/039_templates.sql) before the download reads them.
 */
static const struct db_stmt q_describe = { "agent_describe",
	"UPDATE agents SET facts = COALESCE($2::jsonb, facts),"
	" agent_labels = COALESCE($3::jsonb, agent_labels) WHERE id = $1", 3 };

/* The facts member as compact, escaped JSON text (heap): 1, 0 absent, -1 rs filled. */
static int
facts_arg(json_t *body, char **out, struct resp *rs)
{
	json_t *jf = json_object_get(body, "facts"), *clean;

	*out = NULL;
	if (jf == NULL || json_is_null(jf))
		return 0;
	if (!json_is_object(jf)) {
		resp_error(rs, 400, "facts", "facts must be an object");
		return -1;
	}
	/* an agent's facts are shown as they came, so a control character in
	 * them is escaped (utf8.h), not obeyed by a terminal */
	clean = jv_ctl_escaped(jf);
	*out = clean ? json_dumps(clean, JSON_COMPACT) : NULL;
	json_decref(clean);
	if (*out == NULL) {
		resp_error(rs, 500, NULL, "out of memory");
		return -1;
	}
	if (strlen(*out) > AGENT_FACTS_MAX) {
		resp_error(rs, 422, "facts", "facts larger than %d bytes", AGENT_FACTS_MAX);
		free(*out);
		*out = NULL;
		return -1;
	}
	return 1;
}

/*
 * POST /api/v1/agent/self/checks {"labels", "facts"}: the download of a
 * new agent (agentd's first of a run, or after its facts changed). Both are
 * stored first, in the transaction that reads the checks, so a host whose
 * labels or first facts match a template runs its checks from its very
 * first download. If-None-Match is honoured against the revision after.
 */
void
api_agent_checks_post(struct req *r, struct resp *rs)
{
	static const char *const fields[] = { "labels", "facts", NULL };
	const char *inm = req_header(r, MHD_HTTP_HEADER_IF_NONE_MATCH);
	char id[24], *facts = NULL, *labels = NULL;
	const char *v[3];
	PGresult *q = NULL;
	int in_tx = 0;

	if (jv_object(r, rs) < 0 || jv_known(r->body, fields, rs) < 0 ||
	    jv_labels(r->body, "labels", &labels, rs) < 0 || facts_arg(r->body, &facts, rs) < 0)
		goto done;
	if (api_begin(r, rs) < 0)
		goto done;
	in_tx = 1;
	v[0] = id_text(r->who.id, id);
	v[1] = facts;
	v[2] = labels;
	q = db_exec(r->db, &q_describe, v);
	if (!db_ok(q, PGRES_COMMAND_OK)) {
		resp_db_error(rs, r->db, q);
		goto done;
	}
	PQclear(q);
	q = db_exec(r->db, &q_checks, v);
	if (!db_ok(q, PGRES_TUPLES_OK)) {
		resp_db_error(rs, r->db, q);
		goto done;
	}
	if (PQntuples(q) == 0) {
		resp_error(rs, 401, NULL, "unknown token");
		goto done;
	}
	in_tx = 0;
	if (api_commit(r, rs) < 0)
		goto done;
	snprintf(rs->etag, sizeof(rs->etag), "\"%s\"", PQgetvalue(q, 0, 1));
	if (req_etag_matches(inm, rs->etag))
		rs->status = 304;
	else
		api_one(rs, 200, q, 0);
done:
	if (in_tx)
		api_rollback(r);
	PQclear(q);
	free(facts);
	free(labels);
}

void
api_agent_checkout(struct req *r, struct resp *rs)
{
	static const char *const fields[] = { "started_at", "duration_ms", "results",
		"version", "facts", "labels", NULL };
	const char *version = NULL, *started = NULL;
	long long dur = 0, nres = 0;
	char id[24], *facts = NULL, *labels = NULL, skew[32], *version_esc = NULL;
	const char *v[5];
	PGresult *q = NULL;
	int64_t us;
	int in_tx = 0;

	if (jv_object(r, rs) < 0 || jv_known(r->body, fields, rs) < 0 ||
	    jv_str(r->body, "started_at", 0, 64, &started, rs) < 0 ||
	    jv_int(r->body, "duration_ms", 0, 0, INT32_MAX, &dur, rs) < 0 ||
	    jv_int(r->body, "results", 0, 0, INT32_MAX, &nres, rs) < 0 ||
	    jv_str(r->body, "version", 0, AGENT_VERSION_MAX, &version, rs) < 0 ||
	    jv_labels(r->body, "labels", &labels, rs) < 0)
		return;
	/* an agent's version is shown as it came, so a control
	 * character in them is escaped (utf8.h), not obeyed by a terminal */
	if (version && utf8_ctl_find(version, strlen(version), 0) < strlen(version)) {
		if ((version_esc = utf8_ctl_escape(version, strlen(version), 0)) == NULL) {
			resp_error(rs, 500, NULL, "out of memory");
			return;
		}
		version = version_esc;
	}
	if (started && rfc3339_parse(started, &us) < 0) {
		resp_error(rs, 422, "started_at", "started_at is not an RFC 3339 time");
		goto done;
	}
	if (facts_arg(r->body, &facts, rs) < 0)
		goto done;
	if (api_begin(r, rs) < 0)
		goto done;
	in_tx = 1;
	v[0] = id_text(r->who.id, id);
	v[1] = version;
	v[2] = facts;
	v[3] = NULL;
	v[4] = labels;   /* the agent's own (agentd.conf), replaced whole; NULL keeps them */
	if (started) {
		/* the agent's clock at the end of its run against ours now */
		double off = (double)(us + dur * 1000 - time_now_us()) / 1e6;
		snprintf(skew, sizeof(skew), "%.3f", off);
		v[3] = skew;
	}
	q = db_exec(r->db, &q_checkout, v);
	if (!db_ok(q, PGRES_TUPLES_OK) || PQntuples(q) != 1) {
		resp_db_error(rs, r->db, q);
		goto done;
	}
	if (strcmp(PQgetvalue(q, 0, 0), "down") == 0) {
		struct alert_event ev;
		enum db_outcome st;

		memset(&ev, 0, sizeof(ev));
		ev.kind = EV_AGENT_UP;
		ev.agent_id = r->who.id;
		ev.status = ev.prev_status = ev.hard = -1;
		ev.output = "agent checked out again";
		if ((st = alert_record(r->db, &ev, 1, NULL)) != DB_OK) {
			resp_db_outcome(rs, st, "could not record event");
			goto done;
		}
	}
	{
		json_t *o = json_pack("{s:s,s:I}", "next_checkout_by", PQgetvalue(q, 0, 1),
		    "interval_s", (json_int_t)r->who.interval_s);
		PQclear(q);
		q = NULL;
		in_tx = 0;   /* a failed COMMIT ends the transaction too */
		if (api_commit(r, rs) < 0) {
			json_decref(o);
			goto done;
		}
		resp_json(rs, 200, o);
	}
done:
	if (in_tx)
		api_rollback(r);
	PQclear(q);
	free(facts);
	free(version_esc);
	free(labels);
}
