/*
 * alert.c - see alert.h. The rules live in one SQL statement so that they
 * are applied identically by ingest, the periodic jobs and the API, and so
 * that a batch costs one round trip however many events it has.
 * Each event's check and agent are looked up by key (LATERAL ... OFFSET 0):
 * the plan is generic (db.c), and a plain join was planned as a scan of
 * every check per batch.
 */
#include "config.h"
#include "alert.h"
#include "db.h"
#include "log.h"
#include "strnum.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const struct db_stmt alert_q_record = { "alert_record",
	"WITH x AS ("
	"  SELECT * FROM json_to_recordset($1::json) AS x(kind text, agent_id bigint,"
	"    check_id bigint, status smallint, prev_status smallint, state_type text,"
	"    attempt integer, value float8, output text, detail jsonb)"
	/* each event's id, taken first, and why it is not notified (suppressed
	 * by a parent, downtime, agent down, acknowledged, flapping; NULL:
	 * notified); dependencies (sql/035_parents.sql): a parent's RECOVERY
	 * brings the events of its children that were suppressed meanwhile */
	"), xe AS MATERIALIZED ("
	"  SELECT nextval('events_id_seq') AS id, x.*, g.why"
	"  FROM (SELECT * FROM x UNION ALL SELECT r.* FROM x"
	"        CROSS JOIN LATERAL check_parent_recovered(x.check_id) r"
	"        WHERE x.kind = 'RECOVERY'"
	/* the probes of check_children() first, in the plan (two index reads):
	 * most checks are nobody's parent, and a recovery spares the call */
	"          AND (EXISTS (SELECT 1 FROM checks c WHERE c.parents <> '{}'"
	"               AND c.parents @> ARRAY[x.check_id]) OR EXISTS (SELECT 1 FROM agents a"
	"               WHERE a.parents <> '{}' AND a.parents @> ARRAY[x.check_id]))) x"
	/* in FROM: inlined into this plan (sql/functions/event_not_notified.sql) */
	"  CROSS JOIN LATERAL event_not_notified(x.kind, x.agent_id, x.check_id) g"
	/* the policies' rows (sql/functions/policy_route.sql), before the event
	 * is written: its row is written once, with whoever took it; an event
	 * a policy took is not its contacts' */
	"), pr AS MATERIALIZED ("
	"  SELECT xe.id, xe.check_id, xe.agent_id, COALESCE(xe.detail ? 'parent', false)"
	"    AS parent_recovered, r.*"
	"  FROM xe CROSS JOIN LATERAL policy_route(xe.id, xe.kind, xe.agent_id, xe.check_id,"
	"    xe.status, xe.prev_status) r WHERE xe.why IS NULL"
	"), ev AS ("
	"  INSERT INTO events (id, kind, agent_id, check_id, status, prev_status, state_type,"
	"    attempt, value, output, detail, notify, route)"
	"  SELECT xe.id, xe.kind, xe.agent_id, xe.check_id, xe.status, xe.prev_status,"
	"    xe.state_type, xe.attempt, xe.value, xe.output,"
	/* a parent's problem counts what depends on it; the probes here, in
	 * the plan, spare the other checks' events a function call */
	"    CASE WHEN xe.kind IN ('PROBLEM', 'RENOTIFY') AND (EXISTS (SELECT 1 FROM checks c"
	"        WHERE c.parents <> '{}' AND c.parents @> ARRAY[xe.check_id]) OR EXISTS (SELECT 1"
	"        FROM agents a WHERE a.parents <> '{}' AND a.parents @> ARRAY[xe.check_id]))"
	"      THEN check_dependents_detail(xe.kind, xe.check_id, xe.detail) ELSE xe.detail END,"
	"    xe.why IS NULL,"
	/* the routing record (sql/033_routing.sql): told because a parent
	 * recovered; then why it is not notified, else the policies that took
	 * it, else the contacts who are told */
	"    CASE WHEN xe.detail ? 'parent' THEN jsonb_build_array(route_entry('parent recovered',"
	"      xe.detail ->> 'reason')) ELSE '[]' END"
	"    || CASE WHEN xe.why IS NOT NULL THEN jsonb_build_array(xe.why)"
	"       WHEN p.route IS NOT NULL THEN p.route"
	"       ELSE jsonb_build_array(event_contacts_told(xe.kind, xe.status, xe.check_id,"
	"         xe.agent_id)) END"
	"  FROM xe LEFT JOIN (SELECT pr.id, pr.r_route AS route FROM pr WHERE pr.r_contact IS NULL) p"
	"    ON p.id = xe.id"
	"  ORDER BY xe.id"
	"  RETURNING *"
	"), st AS ("
	"  UPDATE check_state s SET last_notified_at = now(), notified_status = l.status"
	"  FROM (SELECT DISTINCT ON (check_id) check_id, status FROM ev"
	"        WHERE notify AND kind IN ('PROBLEM', 'RECOVERY', 'RENOTIFY')"
	"        ORDER BY check_id, id DESC) l"
	"  WHERE s.check_id = l.check_id"
	"  RETURNING 1"
	/* (a row's event is written in this statement too: the foreign key is
	 * checked at its end) */
	"), np AS ("
	"  INSERT INTO notifications (event_id, contact_id, channel, series, policy, step, priority,"
	"    route, parent_recovered)"
	"  SELECT pr.id, pr.r_contact, pr.r_channel, COALESCE(pr.check_id, -pr.agent_id), pr.r_policy,"
	"    pr.r_step, pr.r_priority, pr.r_route, pr.parent_recovered FROM pr"
	"  WHERE pr.r_contact IS NOT NULL"
	"  ON CONFLICT (event_id, contact_id, channel) DO NOTHING"
	"  RETURNING channel"
	"), n AS ("
	/* who and on which channel: sql/functions/event_contacts.sql */
	"  INSERT INTO notifications (event_id, contact_id, channel, series, parent_recovered)"
	"  SELECT ev.id, t.contact_id, t.channel, COALESCE(ev.check_id, -ev.agent_id),"
	"    ev.route @> '[{\"decision\": \"parent recovered\"}]'"
	"  FROM ev CROSS JOIN LATERAL event_contacts(ev.kind, ev.status, ev.check_id, ev.agent_id) t"
	"  WHERE ev.notify AND NOT EXISTS (SELECT 1 FROM pr WHERE pr.id = ev.id)"
	"  RETURNING channel"
	")"
	"SELECT (SELECT count(*) FROM ev), c.n, (SELECT count(*) FROM st),"
	/* the senders' wake-up names the channels and their rows, so that
	 * only as many senders of those channels look (outbox.c, "Waking");
	 * an agent up again may end a page: everyone looks */
	"  CASE WHEN c.n > 0 THEN notify_or_defer('custos_outbox',"
	"   CASE WHEN EXISTS (SELECT 1 FROM ev WHERE ev.kind = 'AGENT UP') THEN ''"
	"   ELSE (SELECT string_agg(w.channel || ':' || w.k, ',' ORDER BY w.channel)"
	"    FROM (SELECT x.channel, count(*) AS k FROM (SELECT channel FROM n"
	"     UNION ALL SELECT channel FROM np) x GROUP BY x.channel) w) END) END,"
	/* one log line per event, by name: "PROBLEM web01/sshd CRITICAL (HARD 3/3)" */
	"  (SELECT string_agg(ev.kind || ' ' || COALESCE(a.name, 'agent ' || ev.agent_id)"
	"     || COALESCE('/' || k.name, '') || COALESCE(' ' || status_name(ev.status), '')"
	"     || CASE WHEN ev.state_type IS NOT NULL AND k.id IS NOT NULL"
	"        THEN ' (' || ev.state_type || ' ' || ev.attempt || '/' || k.max_attempts || ')'"
	"        ELSE '' END"
	"     || CASE WHEN ev.notify THEN '' ELSE ' [not notified: '"
	"        || COALESCE(ev.route->0->>'detail', 'suppressed') || ']' END,"
	"     E'\\n' ORDER BY ev.id)"
	"   FROM ev"
	"   LEFT JOIN LATERAL (SELECT a.name FROM agents a WHERE a.id = ev.agent_id OFFSET 0) a ON true"
	"   LEFT JOIN LATERAL (SELECT k.id, k.name, k.max_attempts FROM checks k"
	"    WHERE k.id = ev.check_id OFFSET 0) k ON true)"
	"  FROM (SELECT (SELECT count(*) FROM n) + (SELECT count(*) FROM np) AS n) c", 1 };

static const struct db_stmt q_paused = { "alert_channel_paused",
	"INSERT INTO events (kind, notify, detail) VALUES (upper($1) || ' PAUSED', false,"
	"  jsonb_build_object('channel', $1::text, 'until', rfc3339(to_timestamp($2::bigint)),"
	"    'reason', $3::text))", 3 };

enum db_outcome
alert_channel_paused(PGconn *c, const char *channel, long long until, const char *reason)
{
	char u[24];
	const char *v[3] = { channel, u, reason };
	PGresult *r;
	enum db_outcome o = DB_OK;

	snprintf(u, sizeof(u), "%lld", until);
	r = db_exec(c, &q_paused, v);
	if (!db_ok(r, PGRES_COMMAND_OK))
		o = db_outcome(c, r);
	PQclear(r);
	if (o == DB_OK)
		log_warn("%s PAUSED until %lld (epoch s): %s", channel, until, reason);
	return o;
}

static json_t *
event_json(const struct alert_event *e)
{
	json_t *o = json_object();

	if (o == NULL)
		return NULL;
	json_object_set_new(o, "kind", json_string(ev_kind_names[e->kind]));
	json_object_set_new(o, "agent_id", json_integer(e->agent_id));
	json_object_set_new(o, "check_id", e->check_id ? json_integer(e->check_id) : json_null());
	json_object_set_new(o, "status", e->status >= 0 ? json_integer(e->status) : json_null());
	json_object_set_new(o, "prev_status", e->prev_status >= 0 ? json_integer(e->prev_status) : json_null());
	json_object_set_new(o, "state_type", e->hard < 0 ? json_null() : json_string(e->hard ? "HARD" : "SOFT"));
	json_object_set_new(o, "attempt", e->attempt > 0 ? json_integer(e->attempt) : json_null());
	json_object_set_new(o, "value", e->has_value ? json_real(e->value) : json_null());
	json_object_set_new(o, "output", e->output ? json_string(e->output) : json_null());
	json_object_set(o, "detail", e->detail ? e->detail : json_null());
	return o;
}

char *
alert_record_text(const struct alert_event *ev, size_t n)
{
	json_t *arr = json_array();
	char *text = NULL;
	size_t i;

	if (arr == NULL)
		return NULL;
	for (i = 0; i < n; i++)
		if (json_array_append_new(arr, event_json(&ev[i])) < 0)
			goto done;
	text = json_dumps(arr, JSON_COMPACT);
done:
	json_decref(arr);
	return text;
}

enum db_outcome
alert_record_done(PGconn *c, PGresult *r, long *notifications)
{
	const char *es;
	char *lines, *nl;

	if (notifications)
		*notifications = 0;
	if (!db_ok(r, PGRES_TUPLES_OK))
		return db_outcome(c, r);
	if (notifications)
		*notifications = (long)str_to_ll(PQgetvalue(r, 0, 1), 0, LONG_MAX, &es);
	/* the lines come joined by \n: one log record each */
	lines = PQgetvalue(r, 0, 4);
	while (*lines) {
		if ((nl = strchr(lines, '\n')) != NULL)
			*nl = '\0';
		log_info("%s", lines);
		if (nl == NULL)
			break;
		lines = nl + 1;
	}
	return DB_OK;
}

enum db_outcome
alert_record(PGconn *c, const struct alert_event *ev, size_t n, long *notifications)
{
	const char *vals[1];
	PGresult *r;
	enum db_outcome rc;

	if (notifications)
		*notifications = 0;
	if (n == 0)
		return DB_OK;
	if ((vals[0] = alert_record_text(ev, n)) == NULL)
		return DB_NOMEM;
	r = db_exec(c, &alert_q_record, vals);
	rc = alert_record_done(c, r, notifications);
	PQclear(r);
	free((char *)vals[0]);
	return rc;
}
