/*
 * jobs.c - the periodic jobs, run by one thread once a second:
 *
 *   agents     an agent 'up' that has not checked out by next_checkout_by
 *              plus agent_grace_s (0: one more interval_s) becomes 'down',
 *              with one AGENT DOWN event; 'new' agents are never down.
 *              (api_agent.c emits AGENT UP at its next checkout.)
 *   recurring  writes the occurrences of recurring downtimes that start
 *              within the next day as ordinary downtimes (recurring_id set),
 *              so the job below handles them like any other.
 *   downtimes  DOWNTIME START / DOWNTIME END events (recorded, never
 *              notified); when a downtime ends, a HARD state its contacts
 *              were not told about (check_state.notified_status differs)
 *              is notified then: PROBLEM, or RECOVERY of a problem they
 *              were told about before the downtime.
 *   untold     a HARD state its contacts were not told about (notified_status
 *              differs) while nothing suppresses it any more - its agent is
 *              up again, it stopped flapping - is notified now: PROBLEM, or
 *              RECOVERY of a problem they were told about. (A check whose
 *              parent is down waits for the parent's RECOVERY, which tells
 *              it in its own statement: check_parent_recovered().)
 *   acks       acknowledgements past ack_expires_at are lifted.
 *   renotify   every renotify_interval_s (0 = never) a RENOTIFY event for
 *              each HARD problem that was notified, is unacknowledged, not
 *              flapping, not in downtime, whose agent is not down and whose
 *              parents are not (check_suppressed_by()) - but for a problem
 *              a policy took on, which repeats by its own repeat_s (below).
 *   escalation the later steps of policies and their repeat_s, one SQL
 *              statement (sql/functions/policy_escalate.sql): a step fires
 *              when its after_s has passed since its problem began and the
 *              problem is still open, unacknowledged and not in downtime
 *              (an agent's AGENT DOWN: while the agent is still down).
 *
 * (History retention and roll-ups run on their own thread: store/history.c.)
 *
 * Each job is its own short transaction that first takes
 * pg_try_advisory_xact_lock(JOBS_LOCK_CLASS, job): with several serverd
 * instances on one database exactly one runs a job at a time, and the
 * others skip it for this tick. Events go through alert_record(), so the
 * suppression rules and the outbox fan-out are those of ingest. Of the
 * jobs only acknowledgement expiry changes a check's state, and it takes
 * the agent's lock with the try- variant (alert/state.h), leaving a busy
 * agent for the next tick. The others lock check_state rows only to write
 * what was notified (notified_status, last_notified_at: bookkeeping, not
 * state), in check_id order, and their sweeps skip rows that are locked
 * (an ingest holds them), so a job never waits for an ingest.
 */
#include "config.h"
#include "jobs.h"
#include "alert.h"
#include "state.h"
#include "buf.h"
#include "db.h"
#include "log.h"
#include "oncall.h"
#include "serverd.h"
#include "strnum.h"
#include "ticker.h"
#include "timeutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define JOBS_TICK_MS 1000
#define JOBS_LOCK_CLASS 0x63757374   /* "cust" */
#define JOBS_BATCH 1000               /* rows one job handles per tick */

/* advisory lock ids: 5 was the retention job (now store/history.c); kept unused */
enum job_id { JOB_AGENTS = 1, JOB_DOWNTIMES, JOB_ACKS, JOB_RENOTIFY, JOB_UNTOLD = 6,
	JOB_RECURRING, JOB_ESCALATE };
#define RECURRING_OCCURRENCES_MAX 64   /* a definition's per planning (a day of them) */


static const struct db_stmt q_lock = { "jobs_lock",
	"SELECT pg_try_advisory_xact_lock($1::int, $2::int)", 2 };

static const struct db_stmt q_agents_down = { "jobs_agents_down",
	"UPDATE agents a SET state = 'down'"
	" WHERE a.id IN (SELECT id FROM agents"
	"   WHERE state = 'up' AND next_checkout_by IS NOT NULL"
	"     AND now() > next_checkout_by + make_interval(secs =>"
	"       CASE WHEN $1::int > 0 THEN $1::int ELSE interval_s END)"
	"   ORDER BY id LIMIT 1000 FOR UPDATE SKIP LOCKED)"
	" RETURNING a.id, 'no checkout since ' || COALESCE(rfc3339(a.last_checkout_at), 'ever')"
	"   || ' (expected by ' || rfc3339(a.next_checkout_by) || ')'", 1 };

static const struct db_stmt q_dt_start = { "jobs_dt_start",
	"UPDATE downtimes d SET started = true"
	" WHERE d.id IN (SELECT id FROM downtimes WHERE NOT started AND start_at <= now()"
	"   ORDER BY id LIMIT 1000 FOR UPDATE SKIP LOCKED)"
	" RETURNING d.id, COALESCE(d.agent_id, (SELECT c.agent_id FROM checks c WHERE c.id = d.check_id)),"
	"   COALESCE(d.check_id, 0), json_build_object('downtime_id', d.id, 'comment', d.comment,"
	"   'start', rfc3339(d.start_at), 'end', rfc3339(d.end_at))::text", 0 };

static const struct db_stmt q_dt_end = { "jobs_dt_end",
	"UPDATE downtimes d SET ended = true"
	" WHERE d.id IN (SELECT id FROM downtimes WHERE NOT ended AND end_at <= now()"
	"   ORDER BY id LIMIT 1000 FOR UPDATE SKIP LOCKED)"
	" RETURNING d.id, COALESCE(d.agent_id, (SELECT c.agent_id FROM checks c WHERE c.id = d.check_id)),"
	"   COALESCE(d.check_id, 0), json_build_object('downtime_id', d.id, 'comment', d.comment,"
	"   'start', rfc3339(d.start_at), 'end', rfc3339(d.end_at))::text", 0 };

/* recurring definitions to plan: new ones, and those planned less than a
 * day ahead (re-planned an hour before, so a slow tick loses nothing) */
static const struct db_stmt q_rec_due = { "jobs_rec_due",
	"SELECT r.id, r.recurring, r.tz, floor(extract(epoch FROM r.planned_until))::bigint,"
	"  floor(extract(epoch FROM now()))::bigint FROM downtime_recurring r"
	" WHERE ($1::bigint > 0 AND r.id = $1::bigint) OR ($1::bigint = 0 AND"
	"   (r.planned_until IS NULL OR r.planned_until < now() + interval '23 hours'))"
	" ORDER BY r.id LIMIT 100 FOR UPDATE SKIP LOCKED", 1 };
static const struct db_stmt q_rec_occ = { "jobs_rec_occurrence",
	"INSERT INTO downtimes (agent_id, check_id, start_at, end_at, comment, created_by,"
	"  recurring_id)"
	" SELECT r.agent_id, r.check_id, to_timestamp($2::bigint), to_timestamp($3::bigint),"
	"  r.comment, r.created_by, r.id FROM downtime_recurring r WHERE r.id = $1", 3 };
static const struct db_stmt q_rec_planned = { "jobs_rec_planned",
	"UPDATE downtime_recurring SET planned_until = to_timestamp($2::bigint) WHERE id = $1", 2 };

/* HARD states of the given checks / agents' checks that contacts have not
 * heard about, now that nothing suppresses them any more */
#define UNTOLD_SQL(filter, lock) \
	"SELECT s.check_id, c.agent_id, s.status, COALESCE(s.notified_status, 0), s.attempt," \
	"  (check_last(s.check_id)).value, COALESCE((check_last(s.check_id)).output, '')" \
	" FROM check_state s JOIN checks c ON c.id = s.check_id JOIN agents a ON a.id = c.agent_id" \
	" WHERE " filter " AND c.enabled" \
	"   AND s.state_type = 'HARD' AND s.status IS NOT NULL" \
	"   AND s.status <> COALESCE(s.notified_status, 0)" \
	"   AND NOT check_in_downtime(c.id, c.agent_id)" \
	"   AND (a.state <> 'down' OR c.type = 'heartbeat')" \
	"   AND NOT s.flapping AND NOT (s.acknowledged AND s.status > 0)" \
	"   AND check_suppressed_by(c.id, c.agent_id) IS NULL" \
	" ORDER BY s.check_id " lock
static const struct db_stmt q_untold = { "jobs_untold",
	UNTOLD_SQL("(c.id = ANY ($1::bigint[]) OR c.agent_id = ANY ($2::bigint[]))",
	    "FOR UPDATE OF s"), 2 };
/* the sweep: every check, skipping rows an ingest holds (next tick) */
static const struct db_stmt q_untold_all = { "jobs_untold_all",
	UNTOLD_SQL("$1::text IS NULL AND $2::text IS NULL",
	    "LIMIT 1000 FOR UPDATE OF s SKIP LOCKED"), 2 };

static const struct db_stmt q_renotify = { "jobs_renotify",
	"SELECT s.check_id, c.agent_id, s.status, s.attempt,"
	"  (check_last(s.check_id)).value, COALESCE((check_last(s.check_id)).output, '')"
	" FROM check_state s JOIN checks c ON c.id = s.check_id JOIN agents a ON a.id = c.agent_id"
	" WHERE c.enabled AND s.state_type = 'HARD' AND s.status > 0"
	"   AND NOT s.acknowledged AND NOT s.flapping AND s.notified_status > 0"
	"   AND s.last_notified_at <= now() - make_interval(secs => $1::int)"
	"   AND (a.state <> 'down' OR c.type = 'heartbeat')"
	"   AND NOT check_in_downtime(c.id, c.agent_id)"
	"   AND check_suppressed_by(c.id, c.agent_id) IS NULL"
	"   AND NOT EXISTS (SELECT 1 FROM policy_open o WHERE o.check_id = s.check_id)"
	" ORDER BY s.check_id LIMIT 1000 FOR UPDATE OF s SKIP LOCKED", 1 };

static const struct db_stmt q_escalate = { "jobs_escalate",
	"SELECT policy_escalate()", 0 };

static int64_t
val_i64(const PGresult *q, int row, int col)
{
	const char *es;
	long long v = str_to_ll(PQgetvalue(q, row, col), INT64_MIN, INT64_MAX, &es);

	return es ? 0 : v;
}

/*
 * Runs st and records one event per row of it, as fill makes it from the
 * row (detail: every event's, or NULL). DB_OK, or what went wrong.
 */
static enum db_outcome
record_rows(PGconn *c, const struct db_stmt *st, const char *const *v,
    void (*fill)(const PGresult *q, int row, struct alert_event *e), json_t *detail)
{
	PGresult *q = db_exec(c, st, v);
	struct alert_event *ev = NULL;
	enum db_outcome rc = DB_NOMEM;
	int i, n;

	if (!db_ok(q, PGRES_TUPLES_OK)) {
		rc = db_outcome(c, q);
		goto done;
	}
	if ((n = PQntuples(q)) == 0) {
		rc = DB_OK;
		goto done;
	}
	if ((ev = calloc((size_t)n, sizeof(*ev))) == NULL)
		goto done;
	for (i = 0; i < n; i++) {
		fill(q, i, &ev[i]);
		ev[i].detail = detail;
	}
	rc = alert_record(c, ev, (size_t)n, NULL);
done:
	free(ev);
	PQclear(q);
	return rc;
}

/* A check's HARD event from columns check_id, agent_id, status (0..2)
 * and attempt, value, output (from column col on). */
static void
fill_check_event(const PGresult *q, int i, struct alert_event *e, enum ev_kind kind,
    int prev, int col)
{
	const char *es;

	e->kind = kind;
	e->check_id = val_i64(q, i, 0);
	e->agent_id = val_i64(q, i, 1);
	e->status = (int)val_i64(q, i, 2);
	e->prev_status = prev;
	e->hard = 1;
	e->attempt = (int)val_i64(q, i, col);
	if (!PQgetisnull(q, i, col + 1)) {
		e->value = str_to_double(PQgetvalue(q, i, col + 1), &es);
		e->has_value = es == NULL;
	}
	e->output = PQgetvalue(q, i, col + 2);
}

/* ---- downtime end: tell what was held back ---------------------------------- */

/* q_untold's rows: check_id, agent_id, status, the status last told,
 * attempt, value, output */
static void
fill_untold(const PGresult *q, int i, struct alert_event *e)
{
	fill_check_event(q, i, e, val_i64(q, i, 2) == 0 ? EV_RECOVERY : EV_PROBLEM,
	    (int)val_i64(q, i, 3), 4);
}

enum db_outcome
jobs_notify_untold(PGconn *c, const char *check_ids, const char *agent_ids, const char *reason)
{
	const char *v[2] = { NULL, NULL };   /* both NULL: the sweep (q_untold_all) */
	json_t *detail = json_pack("{s:s}", "reason", reason);
	enum db_outcome rc;

	if (detail == NULL)
		return DB_NOMEM;
	if (check_ids || agent_ids) {
		v[0] = check_ids ? check_ids : "{}";
		v[1] = agent_ids ? agent_ids : "{}";
	}
	rc = record_rows(c, check_ids || agent_ids ? &q_untold : &q_untold_all, v, fill_untold,
	    detail);
	json_decref(detail);
	return rc;
}

/* ---- the jobs ------------------------------------------------------------- */

/* q_agents_down's rows: agent id, what to say */
static void
fill_agent_down(const PGresult *q, int i, struct alert_event *e)
{
	e->kind = EV_AGENT_DOWN;
	e->agent_id = val_i64(q, i, 0);
	e->status = e->prev_status = e->hard = -1;
	e->output = PQgetvalue(q, i, 1);
}

static int
job_agents(PGconn *c)
{
	char grace[24];
	const char *v[1] = { grace };

	snprintf(grace, sizeof(grace), "%lld", CONF_VALUE(agent_grace_s));
	return record_rows(c, &q_agents_down, v, fill_agent_down, NULL) == DB_OK ? 0 : -1;
}

/* Records DOWNTIME START or END events for the rows of q. */
static int
downtime_events(PGconn *c, PGresult *q, enum ev_kind kind)
{
	int i, n = PQntuples(q), rc = -1;
	struct alert_event *ev;
	json_t **det;

	if (n == 0)
		return 0;
	ev = calloc((size_t)n, sizeof(*ev));
	det = calloc((size_t)n, sizeof(*det));
	if (ev == NULL || det == NULL)
		goto done;
	for (i = 0; i < n; i++) {
		ev[i].kind = kind;
		ev[i].agent_id = val_i64(q, i, 1);
		ev[i].check_id = val_i64(q, i, 2);
		ev[i].status = ev[i].prev_status = ev[i].hard = -1;
		det[i] = json_loads(PQgetvalue(q, i, 3), 0, NULL);
		ev[i].detail = det[i];
		if (det[i] && json_is_string(json_object_get(det[i], "comment")))
			ev[i].output = json_string_value(json_object_get(det[i], "comment"));
	}
	rc = alert_record(c, ev, (size_t)n, NULL) == 0 ? 0 : -1;
done:
	if (det)
		for (i = 0; i < n; i++)
			json_decref(det[i]);
	free(det);
	free(ev);
	return rc;
}

static int
job_downtimes(PGconn *c)
{
	PGresult *q = db_exec(c, &q_dt_start, NULL);
	struct buf checks, agents;
	int i, n, rc = -1;

	buf_init(&checks, 1 << 20);
	buf_init(&agents, 1 << 20);
	if (!db_ok(q, PGRES_TUPLES_OK)) {
		db_outcome(c, q);
		goto done;
	}
	if (downtime_events(c, q, EV_DOWNTIME_START) < 0)
		goto done;
	PQclear(q);
	q = db_exec(c, &q_dt_end, NULL);
	if (!db_ok(q, PGRES_TUPLES_OK)) {
		db_outcome(c, q);
		goto done;
	}
	if ((n = PQntuples(q)) == 0) {
		rc = 0;
		goto done;
	}
	if (downtime_events(c, q, EV_DOWNTIME_END) < 0)
		goto done;
	buf_adds(&checks, "{");
	buf_adds(&agents, "{");
	for (i = 0; i < n; i++) {
		if (val_i64(q, i, 2) > 0)
			buf_addf(&checks, "%s%s", checks.len > 1 ? "," : "", PQgetvalue(q, i, 2));
		else
			buf_addf(&agents, "%s%s", agents.len > 1 ? "," : "", PQgetvalue(q, i, 1));
	}
	if (buf_adds(&checks, "}") < 0 || buf_adds(&agents, "}") < 0)
		goto done;
	rc = jobs_notify_untold(c, checks.ptr, agents.ptr, "downtime ended") == 0 ? 0 : -1;
done:
	buf_free(&checks);
	buf_free(&agents);
	PQclear(q);
	return rc;
}

/* ---- recurring downtimes ---------------------------------------------------- */

static enum db_outcome
rec_occurrence(PGconn *c, const char *id, int64_t start, int64_t end)
{
	char s[24], e[24];
	const char *v[3] = { id, s, e };
	PGresult *q;
	enum db_outcome rc = DB_OK;

	snprintf(s, sizeof(s), "%lld", (long long)start);
	snprintf(e, sizeof(e), "%lld", (long long)end);
	q = db_exec(c, &q_rec_occ, v);
	if (!db_ok(q, PGRES_COMMAND_OK))
		rc = db_outcome(c, q);
	PQclear(q);
	return rc;
}

/*
 * One definition: from where its planning stopped (or now) to a day
 * ahead. The wall-clock arithmetic is lib/oncall's, in the definition's
 * zone, never the process's.
 */
static enum db_outcome
rec_plan_one(PGconn *c, const PGresult *q, int row)
{
	const char *id = PQgetvalue(q, row, 0);
	struct quiet_window w;
	const struct tz *z;
	char err[256], until[24];
	const char *v[2] = { id, until };
	int64_t now = val_i64(q, row, 4), t, s, e = 0, horizon = now + JOBS_RECURRING_AHEAD_S;
	PGresult *u;
	enum db_outcome rc;
	int k;

	if (quiet_window_parse(PQgetvalue(q, row, 1), &w, err, sizeof(err)) < 0 ||
	    (z = tz_get(PQgetvalue(q, row, 2), err, sizeof(err))) == NULL) {
		/* validated when made: only a zone the system no longer has */
		log_warn("jobs: recurring downtime %s: %s", id, err);
		t = horizon;
		goto planned;
	}
	t = PQgetisnull(q, row, 3) ? 0 : val_i64(q, row, 3);
	if (t < now) {
		/* first planning, or serverd was away: an occurrence on now
		 * starts now */
		t = now;
		if ((e = quiet_until(&w, 1, z, now)) > now) {
			if ((rc = rec_occurrence(c, id, now, e)) != DB_OK)
				return rc;
			t = e;
		}
	}
	for (k = 0; k < RECURRING_OCCURRENCES_MAX && (s = quiet_next(&w, 1, z, t, &e)) > 0 &&
	    s < horizon; k++) {
		if ((rc = rec_occurrence(c, id, s, e)) != DB_OK)
			return rc;
		t = e;
	}
	if (t < horizon)
		t = horizon;
planned:
	snprintf(until, sizeof(until), "%lld", (long long)t);
	u = db_exec(c, &q_rec_planned, v);
	rc = db_ok(u, PGRES_COMMAND_OK) ? DB_OK : db_outcome(c, u);
	PQclear(u);
	return rc;
}

enum db_outcome
jobs_plan_recurring(PGconn *c, int64_t only)
{
	char ids[24];
	const char *v[1] = { ids };
	PGresult *q;
	enum db_outcome rc = DB_OK;

	snprintf(ids, sizeof(ids), "%lld", (long long)(only > 0 ? only : 0));
	q = db_exec(c, &q_rec_due, v);
	if (!db_ok(q, PGRES_TUPLES_OK)) {
		rc = db_outcome(c, q);
		PQclear(q);
		return rc;
	}
	for (int i = 0; i < PQntuples(q) && rc == DB_OK; i++)
		rc = rec_plan_one(c, q, i);
	PQclear(q);
	return rc;
}

static int
job_recurring(PGconn *c)
{
	return jobs_plan_recurring(c, 0) == DB_OK ? 0 : -1;
}

/*
 * What a suppression held back - an agent that was DOWN and is up again,
 * a check that stopped flapping, a downtime that ended between ticks - is
 * told once nothing suppresses it any more.
 */
static int
job_untold(PGconn *c)
{
	return jobs_notify_untold(c, NULL, NULL, "no longer suppressed") == 0 ? 0 : -1;
}

static int
job_acks(PGconn *c)
{
	int n;

	if (alert_ack_expire(c, &n) != DB_OK)
		return -1;
	if (n > 0)
		log_info("jobs: %d acknowledgement(s) expired", n);
	return 0;
}

/* q_renotify's rows: check_id, agent_id, status, attempt, value, output */
static void
fill_renotify(const PGresult *q, int i, struct alert_event *e)
{
	fill_check_event(q, i, e, EV_RENOTIFY, -1, 3);
}

static int
job_renotify(PGconn *c)
{
	char secs[24];
	const char *v[1] = { secs };
	long long every = CONF_VALUE(renotify_interval_s);

	if (every <= 0)
		return 0;
	snprintf(secs, sizeof(secs), "%lld", every);
	return record_rows(c, &q_renotify, v, fill_renotify, NULL) == DB_OK ? 0 : -1;
}

static int
job_escalate(PGconn *c)
{
	PGresult *q = db_exec(c, &q_escalate, NULL);
	const char *n, *es;
	long long made;

	if (!db_ok(q, PGRES_TUPLES_OK)) {
		(void)db_outcome(c, q);   /* a broken connection is marked for the next tick */
		PQclear(q);
		return -1;
	}
	n = PQgetvalue(q, 0, 0);
	made = str_to_ll(n, 0, INT64_MAX, &es);
	if (made > 0)
		log_info("jobs: policies: %lld notification(s) escalated or repeated", made);
	PQclear(q);
	return 0;
}

/*
 * Runs fn in its own transaction under the job's advisory lock; another
 * instance holding it means this tick skips the job.
 */
static void
run_job(enum job_id id, const char *name, int (*fn)(PGconn *))
{
	PGconn *c = db_conn();
	char cls[24], job[24];
	const char *v[2] = { cls, job };
	PGresult *q = NULL;
	int locked;

	if (c == NULL)
		return;
	if (db_cmd(c, "BEGIN") < 0)
		return;
	snprintf(cls, sizeof(cls), "%d", JOBS_LOCK_CLASS);
	snprintf(job, sizeof(job), "%d", (int)id);
	q = db_exec(c, &q_lock, v);
	if (!db_ok(q, PGRES_TUPLES_OK)) {
		if (db_outcome(c, q) != DB_UNAVAILABLE)
			db_cmd(c, "ROLLBACK");
		PQclear(q);
		return;
	}
	locked = PQgetvalue(q, 0, 0)[0] == 't';
	PQclear(q);
	if (!locked) {
		db_cmd(c, "ROLLBACK");
		return;
	}
	if (fn(c) < 0) {
		log_warn("jobs: %s failed; retrying at the next tick", name);
		c = db_conn();   /* fn may have closed a broken connection */
		if (c && PQstatus(c) == CONNECTION_OK)
			db_cmd(c, "ROLLBACK");
		return;
	}
	if (db_cmd(c, "COMMIT") < 0)
		log_warn("jobs: %s: COMMIT failed", name);
}

static void
jobs_tick(struct ticker *t)
{
	(void)t;
	run_job(JOB_AGENTS, "agents", job_agents);
	run_job(JOB_RECURRING, "recurring downtimes", job_recurring);
	run_job(JOB_DOWNTIMES, "downtimes", job_downtimes);
	run_job(JOB_ACKS, "acknowledgement expiry", job_acks);
	run_job(JOB_UNTOLD, "held-back notifications", job_untold);
	run_job(JOB_RENOTIFY, "renotify", job_renotify);
	run_job(JOB_ESCALATE, "escalation", job_escalate);
}

static struct ticker jobs = { .name = "jobs", .tick = jobs_tick, .period_ms = JOBS_TICK_MS };

int
jobs_start(void)
{
	return ticker_start(&jobs);
}

void
jobs_stop(void)
{
	ticker_stop(&jobs);
}
