/*
 * api_alerts.c - acknowledgements (/api/v1/checks/{id}/ack), the event log
 * (/api/v1/events) and the delivery log (/api/v1/notifications).
 *
 * An acknowledgement applies to a current problem (non-OK, SOFT or HARD):
 * an OK or never-run check answers 409. It stops re-notification and the
 * PROBLEM notifications of the same problem; it is sticky by default
 * (kept when the problem changes between WARNING/CRITICAL/UNKNOWN) and
 * always ends when the check returns to OK (engine.c) or at expires_at
 * (jobs.c). Both take the check's agent lock first (alert/state.h), so an
 * ack and an OK result for the same check are applied one after the other
 * and the ack never outlives its problem. The ACKNOWLEDGEMENT event goes through alert_record(), in the
 * transaction that sets the flag, so contacts with "acknowledgement" in
 * notify_on hear who acknowledged and why.
 */
#include "config.h"
#include "alert.h"
#include "api.h"
#include "apiutil.h"
#include "channel.h"
#include "db.h"
#include "state.h"
#include "strnum.h"
#include "timeutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ACK_COMMENT_MAX 4096

static const char *const ack_fields[] = { "comment", "sticky", "expires_at", NULL };

/*
 * The acknowledgement itself (alert_ack_problem(), alert/ack.c), with its
 * answer: 404 no check, 409 no problem, 503/500 the database. The caller
 * rolls back on -1.
 */
int
api_ack_apply(struct req *r, struct resp *rs, const struct ack_args *a, PGresult **out)
{
	enum db_outcome st;
	int status;

	st = alert_ack_problem(r->db, a, out, &status);
	if (st == DB_OK)
		return 0;
	if (st == DB_CONFLICT && status <= 0)
		resp_error(rs, 409, NULL, "check %lld is %s: there is no problem to acknowledge",
		    (long long)a->check_id, status < 0 ? "PENDING (no result yet)" : "OK");
	else if (st == DB_NOT_FOUND)
		resp_error(rs, 404, NULL, "no check %lld", (long long)a->check_id);
	else
		resp_db_outcome(rs, st, NULL);
	return -1;
}

void
api_ack_post(struct req *r, struct resp *rs)
{
	struct ack_args a = { 0, NULL, 1, NULL, 0, NULL };
	int in_tx = 0;
	PGresult *q = NULL;

	if (jv_object(r, rs) < 0 || jv_known(r->body, ack_fields, rs) < 0 ||
	    jv_str(r->body, "comment", 1, ACK_COMMENT_MAX, &a.comment, rs) < 0 ||
	    jv_bool(r->body, "sticky", &a.sticky, rs) < 0 ||
	    jv_str(r->body, "expires_at", 0, 64, &a.expires_at, rs) < 0)
		goto done;
	if (a.expires_at) {
		if (rfc3339_parse(a.expires_at, &a.expires_us) < 0 || a.expires_us == 0) {
			resp_error(rs, 422, "expires_at", "expires_at \"%s\" is not RFC 3339",
			    a.expires_at);
			goto done;
		}
		if (a.expires_us <= time_now_us()) {
			resp_error(rs, 422, "expires_at", "expires_at is in the past");
			goto done;
		}
	}
	a.check_id = r->id[0];
	a.by = r->who.name;
	if (api_begin(r, rs) < 0)
		goto done;
	in_tx = 1;
	if (api_ack_apply(r, rs, &a, &q) < 0)
		goto done;
	in_tx = 0;   /* a failed COMMIT ends the transaction too */
	if (api_commit(r, rs) < 0)
		goto done;
	api_one(rs, 201, q, 0);
done:
	if (in_tx)
		api_rollback(r);
	PQclear(q);
}

void
api_ack_delete(struct req *r, struct resp *rs)
{
	int64_t agent_id;
	enum db_outcome st;
	char what[48];

	snprintf(what, sizeof(what), "no check %lld", (long long)r->id[0]);
	if (api_begin(r, rs) < 0)
		return;
	if ((st = alert_lock_check(r->db, r->id[0], &agent_id)) != DB_OK ||
	    (st = alert_ack_clear(r->db, r->id[0])) != DB_OK) {
		resp_db_outcome(rs, st, what);
		api_rollback(r);
		return;
	}
	if (api_commit(r, rs) < 0)
		return;
	rs->status = 204;
}

/* ---- events --------------------------------------------------------------- */

#define EVENT_ROW \
	"SELECT jsonb_build_object('id', e.id, 'created_at', rfc3339(e.created_at), 'kind', e.kind," \
	"  'agent_id', e.agent_id, 'agent', a.name, 'check_id', e.check_id, 'check', c.name," \
	"  'status', status_name(e.status), 'prev_status', status_name(e.prev_status)," \
	"  'state_type', e.state_type, 'attempt', e.attempt, 'value', e.value, 'output', e.output," \
	"  'notify', e.notify, 'detail', e.detail," \
	"  'notifications', (SELECT count(*) FROM notifications n WHERE n.event_id = e.id)), e.id" \
	" FROM events e LEFT JOIN agents a ON a.id = e.agent_id LEFT JOIN checks c ON c.id = e.check_id"
#define EVENT_FILTERS \
	"  AND ($3::bigint IS NULL OR e.check_id = $3)" \
	"  AND ($4::bigint IS NULL OR e.agent_id = $4) AND ($5::text IS NULL OR e.kind = $5)"

/* oldest first after since_id $1 (a poll, or paging forwards) */
static const struct db_stmt q_events = { "events_list",
	EVENT_ROW " WHERE e.id > $1" EVENT_FILTERS " ORDER BY e.id LIMIT $2", 5 };

/*
 * newest first before before_id $1: a check's or an agent's last events
 * (the check page), however many it had before them (events_check_idx
 * reads them backwards)
 */
static const struct db_stmt q_events_before = { "events_list_before",
	EVENT_ROW " WHERE e.id < $1" EVENT_FILTERS " ORDER BY e.id DESC LIMIT $2", 5 };

/* An optional id argument >= min: 0 absent, 1 present, -1 error. */
static int
id_arg_min(struct req *r, const char *key, long long min, char buf[24], struct resp *rs)
{
	const char *s = req_arg(r, key), *es;
	long long n;

	if (s == NULL || *s == '\0')
		return 0;
	n = str_to_ll(s, min, INT64_MAX, &es);
	if (es) {
		resp_error(rs, 400, key, "%s must be an integer from %lld", key, min);
		return -1;
	}
	id_text(n, buf);
	return 1;
}

static int
id_arg(struct req *r, const char *key, char buf[24], struct resp *rs)
{
	return id_arg_min(r, key, 1, buf, rs);
}

void
api_events_list(struct req *r, struct resp *rs)
{
	char since[24] = "0", before[24], lim[24], check[24], agent[24];
	const char *v[5], *kind = req_arg(r, "kind");
	int hb, hc, ha;
	long limit;

	if ((limit = api_limit(r, rs)) < 0)
		return;
	/*
	 * since_id (or cursor, the "next" of the previous page): ids after it;
	 * or before_id (its "next" is the before_id of the page after): ids
	 * before it, newest first. One direction a request.
	 */
	if ((hb = id_arg(r, "before_id", before, rs)) < 0)
		return;
	if (hb && (req_arg(r, "since_id") || req_arg(r, "cursor"))) {
		resp_error(rs, 400, "before_id", "before_id pages backwards: not with since_id or cursor");
		return;
	}
	if ((!hb && id_arg_min(r, req_arg(r, "since_id") ? "since_id" : "cursor", 0, since, rs) < 0) ||
	    (hc = api_check_arg(r, rs, check)) < 0 || (ha = api_agent_arg(r, rs, agent)) < 0)
		return;
	if (kind && *kind == '\0')
		kind = NULL;
	v[0] = hb ? before : since;
	v[1] = id_text(limit + 1, lim);
	v[2] = hc ? check : NULL;
	v[3] = ha ? agent : NULL;
	v[4] = kind;
	api_query_list(r, rs, hb ? &q_events_before : &q_events, v, limit);
}

/* ---- why an event was, or was not, notified ------------------------------------- */

/*
 * The routing record (sql/033_routing.sql) of one event and of every
 * notification row it made, oldest first: what "custos why" and the
 * check page's "why" show (docs/alerting.md, "Why was I paged"). Read as
 * recorded: the decision words are whatever the writers appended.
 */
static const struct db_stmt q_routing = { "events_routing",
	"SELECT jsonb_build_object("
	"  'event', jsonb_build_object('id', e.id, 'kind', e.kind, 'agent_id', e.agent_id,"
	"   'agent', a.name, 'check_id', e.check_id, 'check', c.name,"
	"   'status', status_name(e.status), 'state_type', e.state_type,"
	"   'at', rfc3339(e.created_at), 'notify', e.notify),"
	"  'route', e.route,"
	"  'notifications', COALESCE((SELECT jsonb_agg(jsonb_build_object('id', n.id,"
	"     'contact_id', n.contact_id, 'contact', ct.name, 'channel', n.channel,"
	"     'status', n.status, 'policy', n.policy, 'step', n.step, 'route', n.route,"
	"     'attempts', n.attempts, 'sent_at', rfc3339(n.sent_at)) ORDER BY n.id)"
	"    FROM notifications n LEFT JOIN contacts ct ON ct.id = n.contact_id"
	"    WHERE n.event_id = e.id), '[]'::jsonb))"
	" FROM events e LEFT JOIN agents a ON a.id = e.agent_id LEFT JOIN checks c ON c.id = e.check_id"
	" WHERE e.id = $1", 1 };

void
api_events_routing(struct req *r, struct resp *rs)
{
	api_get_id(r, rs, &q_routing, r->id[0], 200, "event");
}

/* ---- notifications ---------------------------------------------------------- */

static const struct db_stmt q_notifications = { "notifications_list",
	"SELECT jsonb_build_object('id', n.id, 'event_id', n.event_id, 'kind', e.kind,"
	"  'agent_id', e.agent_id, 'agent', a.name, 'check_id', e.check_id, 'check', c.name,"
	"  'status_of_check', status_name(e.status),"
	"  'contact_id', n.contact_id, 'contact', ct.name, 'channel', n.channel, 'status', n.status,"
	"  'attempts', n.attempts, 'last_error', n.last_error, 'created_at', rfc3339(n.created_at),"
	"  'sent_at', rfc3339(n.sent_at),"
	"  'next_attempt_at', CASE WHEN n.status = 'pending' THEN rfc3339(n.next_attempt_at) END,"
	"  'lease_until', CASE WHEN n.status = 'sending' THEN rfc3339(n.lease_until) END,"
	"  'holder', CASE WHEN n.status = 'sending' THEN n.holder END,"
	"  'resent', n.resend, 'receipt', n.receipt, 'held_until', rfc3339(n.held_until),"
	"  'digest_id', n.digest_id,"
	"  'receipt_cancelled_at', rfc3339(n.receipt_cancelled_at), 'receipt_cancel', n.receipt_cancel,"
	/* the receipt poll (notify/receipt.c, sql/037_receipt_poll.sql) */
	"  'receipt_polls', n.receipt_polls, 'receipt_polled_at', rfc3339(n.receipt_polled_at),"
	"  'receipt_poll_error', n.receipt_poll_error,"
	"  'receipt_expired_at', rfc3339(n.receipt_expired_at),"
	"  'acknowledged_at', rfc3339(n.acknowledged_at), 'acknowledged_by', n.acknowledged_by,"
	"  'attempt_log', COALESCE((SELECT jsonb_agg(jsonb_build_object('at', rfc3339(t.at),"
	"     'ok', t.ok, 'error', t.error) ORDER BY t.id)"
	"     FROM notification_attempts t WHERE t.notification_id = n.id), '[]'::jsonb)), n.id"
	" FROM notifications n JOIN events e ON e.id = n.event_id"
	" LEFT JOIN contacts ct ON ct.id = n.contact_id"
	" LEFT JOIN agents a ON a.id = e.agent_id LEFT JOIN checks c ON c.id = e.check_id"
	" WHERE ($1::bigint = 0 OR n.id < $1) AND ($3::text IS NULL OR n.status = $3)"
	"  AND ($4::text IS NULL OR n.channel = $4) AND ($5::bigint IS NULL OR n.event_id = $5)"
	"  AND ($6::bigint IS NULL OR e.check_id = $6) AND ($7::bigint IS NULL OR n.contact_id = $7)"
	" ORDER BY n.id DESC LIMIT $2", 7 };

void
api_notifications_list(struct req *r, struct resp *rs)
{
	static const char *const statuses[] = { "pending", "sending", "sent", "failed", "dropped",
		NULL };
	char cur[24], lim[24], ev[24], check[24], contact[24];
	const char *v[7], *status = req_arg(r, "status"), *channel = req_arg(r, "channel");
	int he, hc, hct, i;
	long limit;
	int64_t cursor;

	if ((limit = api_limit(r, rs)) < 0 || (cursor = api_cursor(r, rs)) < 0 ||
	    (he = id_arg(r, "event_id", ev, rs)) < 0 || (hc = api_check_arg(r, rs, check)) < 0 ||
	    (hct = id_arg(r, "contact_id", contact, rs)) < 0)
		return;
	if (status) {
		for (i = 0; statuses[i] && strcmp(statuses[i], status) != 0; i++)
			;
		if (statuses[i] == NULL) {
			resp_error(rs, 400, "status", "status must be pending, sending, sent, failed or dropped");
			return;
		}
	}
	if (channel && channel_find(channel) == NULL) {
		char names[256];
		channel_names(names, sizeof(names));
		resp_error(rs, 400, "channel", "channel must be %s", names);
		return;
	}
	v[0] = id_text(cursor, cur);
	v[1] = id_text(limit + 1, lim);
	v[2] = status;
	v[3] = channel;
	v[4] = he ? ev : NULL;
	v[5] = hc ? check : NULL;
	v[6] = hct ? contact : NULL;
	api_query_list(r, rs, &q_notifications, v, limit);
}
