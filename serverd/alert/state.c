/*
 * state.c - the writes of check_state, under the lock rule of state.h.
 * The SQL that changes a check's state lives here and nowhere else, but
 * for the write-back of a batch's states, which is a function of the
 * schema's (sql/functions/check_state_write.sql) for its plan's sake.
 */
#include "config.h"
#include "state.h"
#include "invariant.h"
#include "strnum.h"

#include <stdio.h>

const struct db_stmt alert_q_lock_agent = { "alert_lock_agent",
	"SELECT pg_advisory_xact_lock(" ALERT_LOCK_CLASS ", $1::integer)", 1 };

const struct db_stmt alert_q_lock_ingest = { "alert_lock_ingest",
	"SELECT pg_advisory_xact_lock(" ALERT_LOCK_CLASS ", $1::integer),"
	"  set_config('custos.after_commit', 'on', true)", 1 };

const struct db_stmt alert_q_after_commit = { "alert_after_commit",
	"SELECT after_commit_notify($1::bigint[], $2)", 2 };

/* the UPDATE itself is check_state_write() (sql/functions/): a
 * function, so that its plan can be pinned to key lookups */
const struct db_stmt alert_q_write_states = { "alert_write_states",
	"SELECT check_state_write($1::json)", 1 };

static const struct db_stmt q_check_agent = { "alert_check_agent",
	"SELECT agent_id FROM checks WHERE id = $1", 1 };

static const struct db_stmt q_ack_set = { "alert_ack_set",
	"UPDATE check_state SET acknowledged = true, ack_comment = $2, ack_sticky = $3::boolean,"
	"  ack_by = $5,"
	"  ack_expires_at = 'epoch'::timestamptz + $4::bigint * interval '1 microsecond',"
	"  updated_at = now() WHERE check_id = $1"
	" RETURNING json_build_object('check_id', check_id, 'acknowledged', acknowledged,"
	"  'comment', ack_comment, 'sticky', ack_sticky, 'expires_at', rfc3339(ack_expires_at),"
	"  'by', $5::text)", 5 };

static const struct db_stmt q_ack_clear = { "alert_ack_clear",
	"UPDATE check_state SET acknowledged = false, ack_comment = NULL, ack_expires_at = NULL,"
	"  updated_at = now() WHERE check_id = $1 RETURNING 1", 1 };

/* the try-lock per agent: an agent that is busy now is left for the next tick */
static const struct db_stmt q_ack_expire = { "alert_ack_expire",
	"UPDATE check_state SET acknowledged = false, ack_comment = NULL, ack_expires_at = NULL,"
	"  updated_at = now()"
	" WHERE check_id IN (SELECT check_id FROM check_state"
	"   WHERE acknowledged AND ack_expires_at <= now()"
	"   ORDER BY check_id LIMIT 1000)"
	"  AND pg_try_advisory_xact_lock(" ALERT_LOCK_CLASS ", (agent_id & 2147483647)::integer)"
	" RETURNING check_id", 0 };

static enum db_outcome
run(PGconn *c, const struct db_stmt *st, const char *const *v, ExecStatusType want,
    PGresult **out)
{
	PGresult *q = db_exec(c, st, v);
	enum db_outcome o = DB_OK;

	if (!db_ok(q, want))
		o = db_outcome(c, q);
	if (out && o == DB_OK)
		*out = q;
	else
		PQclear(q);
	return o;
}

enum db_outcome
alert_lock_agent(PGconn *c, int64_t agent_id)
{
	char a[24];
	const char *v[1] = { a };

	CUSTOS_ASSERT(agent_id > 0);   /* an agents.id: the lock of no agent locks nothing */
	snprintf(a, sizeof(a), "%lld", (long long)(agent_id & 0x7fffffff));
	return run(c, &alert_q_lock_agent, v, PGRES_TUPLES_OK, NULL);
}

/* The agent that owns check_id now; DB_NOT_FOUND when there is no check. */
static enum db_outcome
check_agent(PGconn *c, int64_t check_id, int64_t *agent_id)
{
	char id[24];
	const char *v[1] = { id }, *es;
	PGresult *q = NULL;
	enum db_outcome o;

	snprintf(id, sizeof(id), "%lld", (long long)check_id);
	if ((o = run(c, &q_check_agent, v, PGRES_TUPLES_OK, &q)) != DB_OK)
		return o;
	if (PQntuples(q) == 0)
		o = DB_NOT_FOUND;
	else
		*agent_id = str_to_ll(PQgetvalue(q, 0, 0), 1, INT64_MAX, &es);
	PQclear(q);
	return o;
}

enum db_outcome
alert_lock_check(PGconn *c, int64_t check_id, int64_t *agent_id)
{
	int64_t locked = 0, now = 0;
	enum db_outcome o;
	int tries;

	/* a check moved between agents after we looked: lock its new agent too
	 * (locks are held to COMMIT; moves are rare, so a few rounds suffice) */
	for (tries = 0; tries < 8; tries++) {
		if ((o = check_agent(c, check_id, &now)) != DB_OK)
			return o;
		if (now == locked) {
			CUSTOS_ASSERT(locked > 0);   /* the lock rule holds: its agent's lock is ours */
			*agent_id = now;
			return DB_OK;
		}
		if ((o = alert_lock_agent(c, now)) != DB_OK)
			return o;
		locked = now;
	}
	return DB_ERROR;
}

enum db_outcome
alert_ack_set(PGconn *c, int64_t check_id, const char *comment, int sticky,
    int64_t expires_us, const char *by, PGresult **out)
{
	char id[24], exp[24];
	const char *v[5];

	CUSTOS_ASSERT(check_id > 0 && expires_us >= 0);   /* 0: no expiry */
	snprintf(id, sizeof(id), "%lld", (long long)check_id);
	snprintf(exp, sizeof(exp), "%lld", (long long)expires_us);
	v[0] = id;
	v[1] = comment;
	v[2] = sticky ? "true" : "false";
	v[3] = expires_us ? exp : NULL;
	v[4] = by;
	return run(c, &q_ack_set, v, PGRES_TUPLES_OK, out);
}

enum db_outcome
alert_ack_clear(PGconn *c, int64_t check_id)
{
	char id[24];
	const char *v[1] = { id };
	PGresult *q = NULL;
	enum db_outcome o;

	snprintf(id, sizeof(id), "%lld", (long long)check_id);
	if ((o = run(c, &q_ack_clear, v, PGRES_TUPLES_OK, &q)) != DB_OK)
		return o;
	o = PQntuples(q) == 0 ? DB_NOT_FOUND : DB_OK;
	PQclear(q);
	return o;
}

enum db_outcome
alert_ack_expire(PGconn *c, int *n)
{
	PGresult *q = NULL;
	enum db_outcome o;

	*n = 0;
	if ((o = run(c, &q_ack_expire, NULL, PGRES_TUPLES_OK, &q)) != DB_OK)
		return o;
	*n = PQntuples(q);
	PQclear(q);
	return DB_OK;
}
