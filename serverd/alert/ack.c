/*
 * ack.c - an acknowledgement, whichever way it came (alert.h): the API
 * (POST /api/v1/checks/{id}/ack), the mail's link (/ack/<token>) and the
 * Pushover receipt (notify/receipt.c) all come here, so the flag, the
 * event and what they stop never differ by where it came from.
 *
 * An acknowledgement applies to a current problem (non-OK, SOFT or HARD).
 * It takes the check's agent lock first (state.h), so an acknowledgement
 * and an OK result for the same check are applied one after the other and
 * the acknowledgement never outlives its problem.
 */
#include "config.h"
#include "alert.h"
#include "db.h"
#include "state.h"
#include "strnum.h"

#include <stdio.h>
#include <string.h>

static const struct db_stmt q_ack_lock = { "ack_lock",
	"SELECT s.status, c.agent_id, s.state_type, s.attempt, (check_last(s.check_id)).value,"
	"  COALESCE((check_last(s.check_id)).output, '')"
	" FROM checks c JOIN check_state s ON s.check_id = c.id WHERE c.id = $1 FOR UPDATE OF s", 1 };

enum db_outcome
alert_ack_problem(PGconn *c, const struct ack_args *a, PGresult **out, int *status)
{
	enum db_outcome st;
	int64_t agent_id;
	char id[24];
	const char *v[1], *es;
	PGresult *q = NULL, *u = NULL;
	struct alert_event ev;
	json_t *detail = NULL;

	*out = NULL;
	*status = -1;
	if ((st = alert_lock_check(c, a->check_id, &agent_id)) != DB_OK)
		return st;
	snprintf(id, sizeof(id), "%lld", (long long)a->check_id);
	v[0] = id;
	q = db_exec(c, &q_ack_lock, v);
	if (!db_ok(q, PGRES_TUPLES_OK)) {
		st = db_outcome(c, q);
		goto done;
	}
	if (PQntuples(q) == 0) {
		st = DB_NOT_FOUND;
		goto done;
	}
	if (PQgetisnull(q, 0, 0) || strcmp(PQgetvalue(q, 0, 0), "0") == 0) {
		*status = PQgetisnull(q, 0, 0) ? -1 : 0;
		st = DB_CONFLICT;
		goto done;
	}
	memset(&ev, 0, sizeof(ev));
	ev.kind = EV_ACKNOWLEDGEMENT;
	ev.check_id = a->check_id;
	ev.agent_id = str_to_ll(PQgetvalue(q, 0, 1), 1, INT64_MAX, &es);
	ev.status = (int)str_to_ll(PQgetvalue(q, 0, 0), 0, 3, &es);
	*status = ev.status;
	ev.prev_status = -1;
	ev.hard = strcmp(PQgetvalue(q, 0, 2), "HARD") == 0;
	ev.attempt = (int)str_to_ll(PQgetvalue(q, 0, 3), 0, INT32_MAX, &es);
	if (!PQgetisnull(q, 0, 4)) {
		ev.value = str_to_double(PQgetvalue(q, 0, 4), &es);
		ev.has_value = es == NULL;
	}
	detail = json_pack("{s:s,s:s,s:b,s:s?}", "comment", a->comment, "by", a->by,
	    "sticky", a->sticky, "expires_at", a->expires_at);
	if (detail == NULL) {
		st = DB_NOMEM;
		goto done;
	}
	ev.detail = detail;
	/* q's output is used by alert_record below: keep q until then */
	ev.output = PQgetvalue(q, 0, 5);
	if ((st = alert_ack_set(c, a->check_id, a->comment, a->sticky,
	    a->expires_at ? a->expires_us : 0, a->by, &u)) != DB_OK)
		goto done;
	if ((st = alert_record(c, &ev, 1, NULL)) != DB_OK)
		goto done;
	*out = u;
	u = NULL;
done:
	json_decref(detail);
	PQclear(q);
	PQclear(u);
	return st;
}
