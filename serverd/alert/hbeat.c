/*
 * hbeat.c - see hbeat.h. decide_report() and decide_due() turn a
 * heartbeat's row and what happened (a report; a missed run or a run open
 * too long) into a result and the row's new columns; the engine, the state
 * write-back and alert_record() then do what they do for every result.
 *
 * A report (hbeat_report), in two round trips in the common case:
 *   history_admit (no transaction yet: it may make a day partition)
 *   BEGIN, the agent's lock (by ping uuid, or by agent), [the report id,
 *   once], the row read and locked                        -- one pipeline
 *   the result, the row, COMMIT                           -- one pipeline
 * and, when the result may change the state (not a repeat of a steady
 * HARD status), the flap window, the engine, the state and the events
 * statement by statement (store_result) before the COMMIT.
 *
 * The watcher (watch_tick), per agent with due heartbeats, set-based:
 *   BEGIN, the agent's lock, every due row read and claimed  -- one pipeline
 *   every result, state, event and row, COMMIT               -- one pipeline
 * Times are µs since the epoch in C and in the statements' parameters.
 */
#include "config.h"
#include "hbeat.h"
#include "alert.h"
#include "engine.h"
#include "heartbeat.h"
#include "history.h"
#include "log.h"
#include "schedule.h"
#include "serverd.h"
#include "state.h"
#include "strnum.h"
#include "ticker.h"
#include "timeutil.h"
#include "tz.h"
#include "utf8.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#define US 1000000LL
#define EP(col) "(extract(epoch FROM " col ") * 1000000)::bigint"
#define TS(p) "('epoch'::timestamptz + " p "::bigint * interval '1 microsecond')"
#define HBEAT_DUE_BATCH 5000   /* due rows read per round: ~50 per agent in a burst */
#define FLAP_RESULTS "21"

/* The heartbeat, its check and its state, locked (FOR UPDATE OF h). The
 * watcher's variant only while it is still due (claimed: SKIP LOCKED). The
 * flap window (column 12) is read apart, by q_flap, and only when the
 * result may change the state (load_flap()): a steady heartbeat's success
 * pays nothing for it, as a steady check's result in ingest does not. */
#define READ_SQL(where) \
	"SELECT c.agent_id, c.params::text, c.max_attempts, c.enabled, s.status," \
	"  s.state_type, s.attempt, s.hard_status, s.acknowledged, s.ack_sticky, s.flapping," \
	"  s.flap_pct, NULL::text," \
	"  " EP("h.created_at") ", " EP("h.anchor_at") ", " EP("h.expected_at") "," \
	"  " EP("h.late_at") ", " EP("h.last_success_at") ", h.last_duration_ms," \
	"  h.last_exit_code, " EP("h.last_result_at") ", " EP("h.started_at") "," \
	"  " EP("h.run_deadline") ", " EP("now()") ", h.check_id" \
	" FROM heartbeats h JOIN checks c ON c.id = h.check_id" \
	" JOIN check_state s ON s.check_id = h.check_id" \
	" WHERE " where " FOR UPDATE OF h"
static const struct db_stmt q_read = { "hbeat_read", READ_SQL("h.check_id = $1"), 1 };
static const struct db_stmt q_read_uuid = { "hbeat_read_uuid",
	READ_SQL("h.ping_uuid = $1::uuid"), 1 };
/* the watcher's: the due heartbeats among $1, claimed; the flap window
 * (column 12) read where a CRITICAL result may change the state */
static const struct db_stmt q_read_due_many = { "hbeat_read_due_many",
	"SELECT r.* FROM unnest($1::bigint[]) k(id) CROSS JOIN LATERAL ("
	"SELECT c.agent_id, c.params::text, c.max_attempts, c.enabled, s.status,"
	"  s.state_type, s.attempt, s.hard_status, s.acknowledged, s.ack_sticky, s.flapping,"
	"  s.flap_pct, CASE WHEN s.status IS NULL THEN ''"   /* no result yet: no window */
	"   WHEN s.status <> 2 OR s.state_type <> 'HARD'"
	"   OR s.flapping THEN COALESCE(check_flap_recent(c.id, $2::integer, " FLAP_RESULTS "),"
	"   '') END,"
	"  " EP("h.created_at") ", " EP("h.anchor_at") ", " EP("h.expected_at") ","
	"  " EP("h.late_at") ", " EP("h.last_success_at") ", h.last_duration_ms,"
	"  h.last_exit_code, " EP("h.last_result_at") ", " EP("h.started_at") ","
	"  " EP("h.run_deadline") ", " EP("now()") ", h.check_id"
	" FROM heartbeats h JOIN checks c ON c.id = h.check_id"
	" JOIN check_state s ON s.check_id = h.check_id"
	/* "+ 0 s": not the due index's expression, so the plan takes the key
	 * (a generic plan took heartbeats_due_idx, estimating one due row, and
	 * filtered every due row by id: quadratic in a burst of misses) */
	" WHERE h.check_id = k.id AND LEAST(h.late_at, h.run_deadline) + interval '0 s' <= now()"
	"  AND c.enabled"
	" OFFSET 0 FOR UPDATE OF h SKIP LOCKED) r", 2 };
static const struct db_stmt q_insert_many = { "hbeat_insert_many",
	"INSERT INTO check_history (check_id, agent_id, status, value, output, perfdata,"
	"  observed_at, duration_ms, received_at)"
	" SELECT x.c, x.a, x.s, x.v, x.o, x.p, " TS("x.t") ", x.d, clock_timestamp()"
	" FROM json_to_recordset($1::json) AS x(c bigint, a bigint, s smallint, v float8,"
	"  o text, p text, t bigint, d integer)", 1 };
static const struct db_stmt q_write_due = { "hbeat_write_due",
	"SELECT heartbeats_write_due($1::json)", 1 };
static const struct db_stmt q_flap = { "hbeat_flap",
	"SELECT check_flap_recent($1, $2::integer, " FLAP_RESULTS ")", 2 };
/* a ping's lock: its heartbeat's agent, found by the uuid (state.h's rule:
 * the lock in a statement of its own, before the state is read) */
static const struct db_stmt q_lock_uuid = { "hbeat_lock_uuid",
	"SELECT pg_advisory_xact_lock(" ALERT_LOCK_CLASS ", (c.agent_id & 2147483647)::integer)"
	" FROM heartbeats h JOIN checks c ON c.id = h.check_id WHERE h.ping_uuid = $1::uuid", 1 };
static const struct db_stmt q_begin = { NULL, "BEGIN", 0 };
static const struct db_stmt q_commit = { NULL, "COMMIT", 0 };

static const struct db_stmt q_report_once = { "hbeat_report_once",
	"INSERT INTO heartbeat_reports (check_id, report_id) VALUES ($1, $2)"
	" ON CONFLICT DO NOTHING RETURNING 1", 2 };
static const struct db_stmt q_status = { "hbeat_status",
	"SELECT COALESCE(status, -1) FROM check_state WHERE check_id = $1", 1 };

static const struct db_stmt q_insert = { "hbeat_insert",
	"INSERT INTO check_history (check_id, agent_id, status, value, output, perfdata,"
	"  observed_at, duration_ms, result_id, received_at)"
	" VALUES ($1, $2, $3, $4::float8, $5, $6, " TS("$7") ", $8, $9, clock_timestamp())"
	" ON CONFLICT DO NOTHING", 9 };

static const struct db_stmt q_write = { "hbeat_write",
	"UPDATE heartbeats SET anchor_at = " TS("$2") ", expected_at = " TS("$3") ","
	"  late_at = " TS("$4") ", last_ping_at = GREATEST(" TS("$5") ", last_ping_at),"
	"  last_success_at = " TS("$6") ", last_duration_ms = $7, last_exit_code = $8,"
	"  last_result_at = " TS("$9") ", started_at = " TS("$10") ","
	"  run_deadline = " TS("$11")
	" WHERE check_id = $1", 11 };

static const struct db_stmt q_sync_read = { "hbeat_sync_read",
	"SELECT c.type, c.params::text, c.enabled, h.check_id IS NOT NULL,"
	"  " EP("h.anchor_at") ", " EP("h.started_at") ", " EP("now()")
	" FROM checks c LEFT JOIN heartbeats h ON h.check_id = c.id WHERE c.id = $1", 1 };
static const struct db_stmt q_sync_insert = { "hbeat_sync_insert",
	"INSERT INTO heartbeats (check_id, ping_uuid) VALUES ($1, $2::uuid)", 2 };
static const struct db_stmt q_sync_delete = { "hbeat_sync_delete",
	"DELETE FROM heartbeats WHERE check_id = $1", 1 };
static const struct db_stmt q_sync_sched = { "hbeat_sync_sched",
	"UPDATE heartbeats SET expected_at = " TS("$2") ", late_at = " TS("$3") ","
	"  run_deadline = " TS("$4") " WHERE check_id = $1", 4 };

static const struct db_stmt q_due = { "hbeat_due",
	"SELECT h.check_id, c.agent_id FROM heartbeats h JOIN checks c ON c.id = h.check_id"
	" WHERE LEAST(h.late_at, h.run_deadline) <= now()"
	" ORDER BY LEAST(h.late_at, h.run_deadline) LIMIT " "5000", 0 };
_Static_assert(HBEAT_DUE_BATCH == 5000, "q_due's LIMIT");
static const struct db_stmt q_next = { "hbeat_next",
	"SELECT (extract(epoch FROM LEAST(late_at, run_deadline) - clock_timestamp()) * 1000)::bigint"
	" FROM heartbeats WHERE LEAST(late_at, run_deadline) IS NOT NULL"
	" ORDER BY LEAST(late_at, run_deadline) LIMIT 1", 0 };
static const struct db_stmt q_prune = { "hbeat_prune",
	"DELETE FROM heartbeat_reports WHERE received_at < now() - interval '30 days'", 0 };

/* ---- the row, as read -------------------------------------------------------- */

struct hbrow {
	int64_t check_id, agent_id;
	struct heartbeat_params hp;
	int params_ok;
	int enabled;
	struct eng_params ep;
	struct eng_state s, before;
	/* the heartbeat's columns, µs (0: NULL) */
	int64_t created, anchor, expected, late, last_success, last_result, started, run_deadline;
	int64_t last_duration_ms;   /* -1: NULL */
	int last_exit;              /* -1: NULL */
	int64_t now;
	/* what apply() changes besides */
	int64_t last_ping;          /* 0: unchanged */
	int flap_loaded;            /* s.flap_history was read (load_flap()) */
};

static int64_t
col_i64(const PGresult *q, int row, int col, int64_t null_value)
{
	const char *es;
	long long v;

	if (PQgetisnull(q, row, col))
		return null_value;
	v = str_to_ll(PQgetvalue(q, row, col), INT64_MIN, INT64_MAX, &es);
	return es ? null_value : v;
}

static void
read_row(const PGresult *q, int row, int64_t check_id, struct hbrow *w)
{
	const struct srv_conf *cf = conf_hold();
	char err[256];
	const char *field, *es;
	json_t *params;

	memset(w, 0, sizeof(*w));
	w->check_id = check_id;
	w->agent_id = col_i64(q, row, 0, 0);
	params = json_loads(PQgetvalue(q, row, 1), 0, NULL);
	w->params_ok = params && heartbeat_params_parse(params, &w->hp, err, sizeof(err),
	    &field) == 0;
	if (!w->params_ok)
		log_warn("heartbeat %lld: params unreadable: %s", (long long)check_id,
		    params ? err : "not JSON");
	json_decref(params);
	w->ep.max_attempts = (int)col_i64(q, row, 2, 1);
	w->ep.flap_low_pct = (double)cf->flap_low_pct;
	w->ep.flap_high_pct = (double)cf->flap_high_pct;
	conf_drop(cf);
	w->enabled = PQgetvalue(q, row, 3)[0] == 't';
	w->s.status = (int)col_i64(q, row, 4, -1);
	w->s.hard = strcmp(PQgetvalue(q, row, 5), "HARD") == 0;
	w->s.attempt = (int)col_i64(q, row, 6, 0);
	w->s.hard_status = (int)col_i64(q, row, 7, 0);
	w->s.acknowledged = PQgetvalue(q, row, 8)[0] == 't';
	w->s.ack_sticky = PQgetvalue(q, row, 9)[0] == 't';
	w->s.flapping = PQgetvalue(q, row, 10)[0] == 't';
	w->s.flap_pct = str_to_double(PQgetvalue(q, row, 11), &es);
	w->before = w->s;
	w->created = col_i64(q, row, 13, 0);
	w->anchor = col_i64(q, row, 14, 0);
	w->expected = col_i64(q, row, 15, 0);
	w->late = col_i64(q, row, 16, 0);
	w->last_success = col_i64(q, row, 17, 0);
	w->last_duration_ms = col_i64(q, row, 18, -1);
	w->last_exit = (int)col_i64(q, row, 19, -1);
	w->last_result = col_i64(q, row, 20, 0);
	w->started = col_i64(q, row, 21, 0);
	w->run_deadline = col_i64(q, row, 22, 0);
	w->now = col_i64(q, row, 23, time_now_us());
	w->check_id = col_i64(q, row, 24, check_id);
	if (!PQgetisnull(q, row, 12)) {
		engine_flap_replay(PQgetvalue(q, row, 12), w->s.flap_history);
		memcpy(w->before.flap_history, w->s.flap_history, sizeof(w->s.flap_history));
		w->flap_loaded = 1;
	}
}

/* ---- words ----------------------------------------------------------------- */

/* "HH:MM" (date 0) or "YYYY-MM-DD HH:MM" of instant us in zone z */
static void
fmt_local(const struct tz *z, int64_t us, int date, char *out, size_t len)
{
	int64_t s = us / US, l = z ? tz_to_local(z, s) : s, days, y, sec;
	unsigned m, d;

	days = l >= 0 ? l / 86400 : -((-l + 86399) / 86400);
	sec = l - days * 86400;
	civil_from_days(days, &y, &m, &d);
	if (date)
		snprintf(out, len, "%04lld-%02u-%02u %02lld:%02lld", (long long)y, m, d,
		    (long long)(sec / 3600), (long long)(sec / 60 % 60));
	else
		snprintf(out, len, "%02lld:%02lld", (long long)(sec / 3600), (long long)(sec / 60 % 60));
}

/* "12.3 s", "4 min", "2 h", "2 h 5 min", "3 d 2 h" */
static void
fmt_dur(int64_t ms, char *out, size_t len)
{
	int64_t s = ms / 1000;

	if (ms < 0)
		ms = 0;
	if (ms < 60000)
		snprintf(out, len, "%.1f s", (double)ms / 1000.0);
	else if (s < 3600)
		snprintf(out, len, "%lld min", (long long)(s / 60));
	else if (s < 86400 && s / 60 % 60 == 0)
		snprintf(out, len, "%lld h", (long long)(s / 3600));
	else if (s < 86400)
		snprintf(out, len, "%lld h %lld min", (long long)(s / 3600), (long long)(s / 60 % 60));
	else
		snprintf(out, len, "%lld d %lld h", (long long)(s / 86400), (long long)(s / 3600 % 24));
}

/* ---- the schedule ---------------------------------------------------------- */

/* The run expected next after anchor (µs), or 0 when none can be said. */
static int64_t
next_after(const struct heartbeat_params *hp, int64_t anchor_us)
{
	int64_t n = schedule_next(&hp->sched, hp->tz, anchor_us / US);

	return n < 0 ? 0 : n * US;
}

/* expected/late from anchor; a schedule whose deadline already passed
 * (PATCHed, re-enabled) starts from now instead */
static void
reschedule(struct hbrow *w, int64_t anchor, int from_now_if_past)
{
	w->expected = next_after(&w->hp, anchor);
	if (from_now_if_past && w->expected && w->expected + w->hp.grace_s * US <= w->now)
		w->expected = next_after(&w->hp, w->now);
	w->late = w->expected ? w->expected + w->hp.grace_s * US : 0;
}

static int64_t
run_limit_us(const struct heartbeat_params *hp)
{
	return (hp->max_duration_s > 0 ? hp->max_duration_s : hp->grace_s) * US;
}

/* when the watcher wakes up next (µs, wall clock): a report that sets an
 * earlier deadline wakes it (hbeat_report) */
static _Atomic int64_t watch_until_us;

/* ---- apply: a result and everything it moves ----------------------------- */

struct outcome {
	int status;             /* -1: no result (a plain start) */
	int step;               /* evaluate it (else history only) */
	int has_value;
	double value;
	char output[HBEAT_OUTPUT_MAX + 512];
	char perfdata[96];
	int64_t observed;
	int64_t duration_ms;    /* -1: none */
	const char *result_id;
};

static enum db_outcome
exec_ok(PGconn *c, const struct db_stmt *st, const char *const *v, ExecStatusType want)
{
	PGresult *q = db_exec(c, st, v);
	enum db_outcome o = db_ok(q, want) ? DB_OK : db_outcome(c, q);

	PQclear(q);
	return o;
}

static const char *
i64(int64_t v, char buf[24])
{
	snprintf(buf, 24, "%lld", (long long)v);
	return buf;
}

static const char *
ts_or_null(int64_t us, char buf[24])
{
	return us ? i64(us, buf) : NULL;
}

/* q_write's values for w (b: their text) */
static void
write_vals(const struct hbrow *w, char b[11][24], const char *v[11])
{
	v[0] = i64(w->check_id, b[0]);
	v[1] = i64(w->anchor ? w->anchor : w->now, b[1]);
	v[2] = ts_or_null(w->expected, b[2]);
	v[3] = ts_or_null(w->late, b[3]);
	v[4] = ts_or_null(w->last_ping, b[4]);
	v[5] = ts_or_null(w->last_success, b[5]);
	v[6] = w->last_duration_ms >= 0 ? i64(w->last_duration_ms, b[6]) : NULL;
	v[7] = w->last_exit >= 0 ? i64(w->last_exit, b[7]) : NULL;
	v[8] = ts_or_null(w->last_result, b[8]);
	v[9] = ts_or_null(w->started, b[9]);
	v[10] = ts_or_null(w->run_deadline, b[10]);
}

/* The row's columns back (q_write). */
static enum db_outcome
write_row(PGconn *c, const struct hbrow *w)
{
	char b[11][24];
	const char *v[11];

	write_vals(w, b, v);
	return exec_ok(c, &q_write, v, PGRES_COMMAND_OK);
}

/* q_insert's values for o's result on w (b, val: their text) */
static void
insert_vals(const struct hbrow *w, const struct outcome *o, char b[5][24], char val[40],
    const char *v[9])
{
	v[0] = i64(w->check_id, b[0]);
	v[1] = i64(w->agent_id, b[1]);
	v[2] = i64(o->status, b[2]);
	snprintf(val, 40, "%.17g", o->value);
	v[3] = o->has_value ? val : NULL;
	v[4] = o->output;
	v[5] = o->perfdata[0] ? o->perfdata : NULL;
	v[6] = i64(o->observed, b[3]);
	v[7] = o->duration_ms >= 0 && o->duration_ms <= INT32_MAX ? i64(o->duration_ms, b[4]) : NULL;
	v[8] = o->result_id;
}

/* 1 when the engine changed what check_state stores (as ingest.c asks) */
/* 1 when a result of status st may change w's state: anything but a
 * repeat of a HARD status that is not flapping (ingest.c's steady rule) */
static int
may_change(const struct hbrow *w, int st)
{
	return st != w->s.status || !w->s.hard || w->s.flapping;
}

/* The flap window from the check's newest stored results (q_flap). */
static enum db_outcome
load_flap(PGconn *c, struct hbrow *w)
{
	char id[24], skew[24];
	const char *v[2] = { i64(w->check_id, id), i64(CONF_VALUE(max_clock_skew_s), skew) };
	PGresult *q;
	enum db_outcome rc = DB_OK;

	if (w->s.status < 0) {
		w->flap_loaded = 1;   /* no result yet: an empty window */
		return DB_OK;
	}
	q = db_exec(c, &q_flap, v);
	if (!db_ok(q, PGRES_TUPLES_OK) || PQntuples(q) != 1) {
		rc = db_outcome(c, q);
	} else {
		engine_flap_replay(PQgetvalue(q, 0, 0), w->s.flap_history);
		memcpy(w->before.flap_history, w->s.flap_history, sizeof(w->s.flap_history));
		w->flap_loaded = 1;
	}
	PQclear(q);
	return rc;
}

/* Stores o's result and, when o->step, evaluates it (engine, state, events). */
static enum db_outcome
store_result(PGconn *c, struct hbrow *w, const struct outcome *o)
{
	char b[5][24], val[40], since[24] = "null", *state = NULL;
	const char *v[9];
	struct alert_event ev[3];
	enum ev_kind ek[3];
	enum db_outcome rc;
	int ne = 0, k, prev;

	insert_vals(w, o, b, val, v);
	if ((rc = exec_ok(c, &q_insert, v, PGRES_COMMAND_OK)) != DB_OK)
		return rc;
	if (!o->step || !w->enabled || !may_change(w, o->status))
		return DB_OK;   /* history only, or a repeat that changes nothing */
	if (!w->flap_loaded && (rc = load_flap(c, w)) != DB_OK)
		return rc;
	prev = w->s.status;
	ne = engine_step(&w->s, &w->ep, o->status, ek);
	if (w->s.status_changed)
		i64(o->observed, since);
	if (!eng_state_changed(&w->before, &w->s))
		return DB_OK;   /* a repeated status: nothing to write, no event */
	{
		struct buf t;
		buf_init(&t, 4096);
		buf_addf(&t, "[{\"check_id\":%lld,\"status\":%d,\"state_type\":\"%s\","
		    "\"attempt\":%d,\"hard_status\":%d,\"since\":%s,\"ack_cleared\":%s,"
		    "\"flapping\":%s,\"flap_pct\":%.17g}]",
		    (long long)w->check_id, w->s.status, w->s.hard ? "HARD" : "SOFT",
		    w->s.attempt, w->s.hard_status, since,
		    w->before.acknowledged && !w->s.acknowledged ? "true" : "false",
		    w->s.flapping ? "true" : "false", w->s.flap_pct);
		if (t.failed) {
			buf_free(&t);
			return DB_NOMEM;
		}
		state = buf_take(&t);
	}
	{
		const char *sv[1] = { state };
		rc = exec_ok(c, &alert_q_write_states, sv, PGRES_TUPLES_OK);
		free(state);
		if (rc != DB_OK)
			return rc;
	}
	w->before = w->s;
	memset(ev, 0, sizeof(ev));
	for (k = 0; k < ne; k++) {
		ev[k].kind = ek[k];
		ev[k].agent_id = w->agent_id;
		ev[k].check_id = w->check_id;
		ev[k].status = o->status;
		ev[k].prev_status = prev;
		ev[k].hard = w->s.hard;
		ev[k].attempt = w->s.attempt;
		ev[k].has_value = o->has_value;
		ev[k].value = o->value;
		ev[k].output = o->output;
	}
	return ne > 0 ? alert_record(c, ev, (size_t)ne, NULL) : DB_OK;
}

/* The output: a summary line, then the report's own text, if any. */
static void
set_output(struct outcome *o, const char *summary, const char *text)
{
	if (text && *text)
		snprintf(o->output, sizeof(o->output), "%s\n%s", summary, text);
	else
		snprintf(o->output, sizeof(o->output), "%s", summary);
}

/* What report r does to row w: fills o (status -1: no result). */
static void
decide_report(struct hbrow *w, const struct hbeat_report *r, struct outcome *o)
{
	char t1[64], t2[64], d[64], sum[256];
	const struct tz *z = w->hp.tz;
	int64_t at = r->at_us, start;
	int code = -1, ok;

	memset(o, 0, sizeof(*o));
	o->status = -1;
	o->duration_ms = -1;
	o->observed = at;
	o->result_id = r->report_id;
	o->step = at >= w->last_result;
	w->last_ping = at;
	if (r->kind == HB_START) {
		if (w->started && w->started <= at) {
			fmt_local(z, at, 0, t1, sizeof(t1));
			fmt_local(z, w->started, 0, t2, sizeof(t2));
			o->status = CHECK_WARNING;
			snprintf(sum, sizeof(sum), "overlapping runs: a run started %s while the run"
			    " started %s (%s) is still open", t1, t2, tz_name(z));
			set_output(o, sum, r->output);
		}
		if (at >= w->started) {
			/* while a run is open its own deadline stands in for the
			 * schedule's: a long run is not a missed one */
			w->started = at;
			w->run_deadline = at + run_limit_us(&w->hp);
			w->late = 0;
		}
		if (o->status >= 0 && o->step)
			w->last_result = at;
		return;
	}
	/* an end: success, fail or an exit code */
	if (r->kind == HB_SUCCESS)
		code = 0;
	else if (r->kind == HB_EXIT)
		code = r->exit_code;
	ok = r->kind == HB_SUCCESS || (r->kind == HB_EXIT && code == 0);
	start = r->started_us ? r->started_us : (w->started && w->started <= at ? w->started : 0);
	if (start) {
		o->duration_ms = (at - start) / 1000;
		o->has_value = 1;
		o->value = (double)(at - start) / 1e6;
	}
	if (o->has_value && code >= 0)
		snprintf(o->perfdata, sizeof(o->perfdata), "duration=%.3fs exit=%d", o->value, code);
	else if (o->has_value)
		snprintf(o->perfdata, sizeof(o->perfdata), "duration=%.3fs", o->value);
	else if (code >= 0)
		snprintf(o->perfdata, sizeof(o->perfdata), "exit=%d", code);
	fmt_dur(o->duration_ms, d, sizeof(d));
	if (ok && w->hp.max_duration_s > 0 && start && at - start > w->hp.max_duration_s * US) {
		char lim[64];
		fmt_dur(w->hp.max_duration_s * 1000, lim, sizeof(lim));
		o->status = CHECK_WARNING;
		snprintf(sum, sizeof(sum), "the run succeeded but took %s, longer than"
		    " max_duration_s (%s)", d, lim);
	} else if (ok) {
		o->status = CHECK_OK;
		if (start)
			snprintf(sum, sizeof(sum), "the run succeeded after %s", d);
		else
			snprintf(sum, sizeof(sum), "the run succeeded");
	} else {
		o->status = CHECK_CRITICAL;
		if (code > 0)
			snprintf(sum, sizeof(sum), "the run failed with exit code %d%s%s", code,
			    start ? " after " : "", start ? d : "");
		else
			snprintf(sum, sizeof(sum), "the run failed%s%s", start ? " after " : "",
			    start ? d : "");
	}
	set_output(o, sum, r->output);
	/* a success newer than the last one is news even when a miss was
	 * recorded after it happened (a spooled report) */
	if (ok && at > w->last_success)
		o->step = 1;
	if (o->step && at > w->last_result)
		w->last_result = at;
	/* the run is over: the open one ends when this end is not older */
	if (w->started && at >= w->started) {
		w->started = 0;
		w->run_deadline = 0;
	}
	if (at >= w->anchor) {
		if (ok)
			w->last_success = at;
		if (o->duration_ms >= 0 || code >= 0) {
			w->last_duration_ms = o->duration_ms;
			w->last_exit = code;
		}
		w->anchor = at;
		reschedule(w, at, 0);
	} else if (ok && at > w->last_success) {
		w->last_success = at;
	}
}

static enum db_outcome
apply(PGconn *c, struct hbrow *w, const struct outcome *o)
{
	enum db_outcome rc = DB_OK;

	if (o->status >= 0 && (rc = store_result(c, w, o)) != DB_OK)
		return rc;
	return write_row(c, w);
}

/* The partition of at's day exists (before the transaction); 0, 1 when at
 * is older than the retention (no result stored), -1 on failure. */
static int
admit(PGconn *c, int64_t at)
{
	unsigned char keep = 1;
	int ex = history_admit(c, &at, 1, &keep, 1);

	return ex < 0 ? -1 : !keep;
}

static void
rollback(PGconn *c)
{
	if (PQstatus(c) == CONNECTION_OK)
		db_cmd(c, "ROLLBACK");
}

static int
status_of(PGconn *c, int64_t check_id)
{
	char id[24];
	const char *v[1] = { i64(check_id, id) }, *es;
	PGresult *q = db_exec(c, &q_status, v);
	int st = -1;

	if (db_ok(q, PGRES_TUPLES_OK) && PQntuples(q) == 1)
		st = (int)str_to_ll(PQgetvalue(q, 0, 0), -1, 3, &es);
	PQclear(q);
	return st;
}

/* The first failed statement of a pipeline of n: its outcome. */
static enum db_outcome
pipeline_outcome(PGconn *c, PGresult **pr, int n)
{
	int k;

	for (k = 0; k < n; k++)
		if (PQresultStatus(pr[k]) != PGRES_COMMAND_OK &&
		    PQresultStatus(pr[k]) != PGRES_TUPLES_OK)
			return db_outcome(c, pr[k]);
	return DB_ERROR;
}

static void
clear_all(PGresult **pr, int n)
{
	int k;

	for (k = 0; k < n; k++) {
		PQclear(pr[k]);
		pr[k] = NULL;
	}
}

/*
 * The end of a report's transaction: its result, the row and COMMIT. The
 * common case - a result that repeats a steady state, or none - is one
 * round trip (a pipeline); one that may change the state goes through
 * store_result() (the flap window, the engine, the state, events).
 */
static enum db_outcome
finish_report(PGconn *c, struct hbrow *w, const struct outcome *o)
{
	char ib[5][24], val[40], wb[11][24];
	const char *iv[9], *wv[11];
	const struct db_stmt *st[3];
	const char *const *vals[3];
	PGresult *pr[3] = { NULL, NULL, NULL };
	enum db_outcome rc = DB_OK;
	int n = 0;

	if (o->status >= 0 && o->step && w->enabled && may_change(w, o->status)) {
		if ((rc = apply(c, w, o)) != DB_OK)
			return rc;
		return db_cmd(c, "COMMIT") < 0 ?
		    (PQstatus(c) == CONNECTION_OK ? DB_ERROR : DB_UNAVAILABLE) : DB_OK;
	}
	if (o->status >= 0) {
		insert_vals(w, o, ib, val, iv);
		st[n] = &q_insert;
		vals[n++] = iv;
	}
	write_vals(w, wb, wv);
	st[n] = &q_write;
	vals[n++] = wv;
	st[n] = &q_commit;
	vals[n++] = NULL;
	if (db_pipeline(c, n, st, vals, pr) < 0)
		rc = pipeline_outcome(c, pr, n);
	clear_all(pr, n);
	return rc;
}

enum db_outcome
hbeat_report(PGconn *c, const char *uuid, int64_t *check_id, int64_t agent_id,
    const struct hbeat_report *r, int *status, int *dup)
{
	struct hbrow w;
	struct outcome *o = NULL;
	const struct db_stmt *st[4];
	const char *const *vals[4];
	const char *v_uuid[1] = { uuid }, *v_lock[1], *v_once[2], *v_id[1];
	char id[24], lk[24];
	PGresult *pr[4] = { NULL, NULL, NULL, NULL };
	enum db_outcome rc = DB_OK;
	int expired, n = 0, ilock, ionce = -1, iread, began = 0;

	*status = -1;
	*dup = 0;
	if ((expired = admit(c, r->at_us)) < 0)
		return PQstatus(c) == CONNECTION_OK ? DB_ERROR : DB_UNAVAILABLE;
	if ((o = malloc(sizeof(*o))) == NULL)
		return DB_NOMEM;
	/* one round trip: BEGIN, the agent's lock, [the report id], the read */
	st[n] = &q_begin;
	vals[n++] = NULL;
	ilock = n;
	if (uuid) {
		st[n] = &q_lock_uuid;
		vals[n++] = v_uuid;
	} else {
		snprintf(lk, sizeof(lk), "%lld", (long long)(agent_id & 0x7fffffff));
		v_lock[0] = lk;
		v_id[0] = i64(*check_id, id);
		st[n] = &alert_q_lock_agent;
		vals[n++] = v_lock;
		if (r->report_id) {
			v_once[0] = id;
			v_once[1] = r->report_id;
			ionce = n;
			st[n] = &q_report_once;
			vals[n++] = v_once;
		}
	}
	iread = n;
	st[n] = uuid ? &q_read_uuid : &q_read;
	vals[n++] = uuid ? v_uuid : v_id;
	if (db_pipeline(c, n, st, vals, pr) < 0) {
		began = PQresultStatus(pr[0]) == PGRES_COMMAND_OK;
		rc = pipeline_outcome(c, pr, n);
		goto fail;
	}
	began = 1;
	if ((uuid && PQntuples(pr[ilock]) == 0) || PQntuples(pr[iread]) == 0) {
		rc = DB_NOT_FOUND;
		goto fail;
	}
	if (ionce >= 0 && PQntuples(pr[ionce]) == 0) {
		/* a resend: nothing stored */
		*dup = 1;
		rollback(c);
		*status = status_of(c, *check_id);
		clear_all(pr, n);
		free(o);
		return DB_OK;
	}
	read_row(pr[iread], 0, uuid ? 0 : *check_id, &w);
	*check_id = w.check_id;
	clear_all(pr, n);
	if (!w.params_ok) {
		rc = DB_ERROR;
		goto fail;
	}
	decide_report(&w, r, o);
	if (expired)
		o->status = -1;   /* older than the history keeps: the schedule only */
	if ((rc = finish_report(c, &w, o)) != DB_OK) {
		began = PQstatus(c) == CONNECTION_OK &&
		    PQtransactionStatus(c) != PQTRANS_IDLE;
		goto fail;
	}
	*status = w.s.status;
	free(o);
	/* only a deadline before the watcher's wake-up needs it sooner (a
	 * success moves the deadline later: the common ping wakes nobody) */
	if ((w.late && w.late < atomic_load(&watch_until_us)) ||
	    (w.run_deadline && w.run_deadline < atomic_load(&watch_until_us)))
		hbeat_wake();
	return DB_OK;
fail:
	clear_all(pr, n);
	if (began)
		rollback(c);
	free(o);
	return rc;
}

/* ---- create / change --------------------------------------------------------- */

int
hbeat_new_uuid(char out[37])
{
	unsigned char b[16];
	size_t got = 0;
	int i, k = 0;

	while (got < sizeof(b)) {
		ssize_t n = getrandom(b + got, sizeof(b) - got, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		got += (size_t)n;
	}
	/* all 128 bits random; shown as a uuid, which PostgreSQL stores as is */
	for (i = 0; i < 16; i++) {
		static const char hex[] = "0123456789abcdef";
		if (i == 4 || i == 6 || i == 8 || i == 10)
			out[k++] = '-';
		out[k++] = hex[b[i] >> 4];
		out[k++] = hex[b[i] & 15];
	}
	out[k] = '\0';
	return 0;
}

enum db_outcome
hbeat_sync(PGconn *c, int64_t check_id, const char *ping_uuid)
{
	char id[24], b[3][24], err[256];
	const char *v[4] = { i64(check_id, id) }, *field;
	struct hbrow w;
	PGresult *q = db_exec(c, &q_sync_read, v);
	enum db_outcome rc = DB_OK;
	json_t *params = NULL;
	int is_hb, has_row, enabled;
	int64_t anchor, started;

	if (!db_ok(q, PGRES_TUPLES_OK)) {
		rc = db_outcome(c, q);
		goto done;
	}
	if (PQntuples(q) == 0) {
		rc = DB_NOT_FOUND;
		goto done;
	}
	is_hb = strcmp(PQgetvalue(q, 0, 0), "heartbeat") == 0;
	enabled = PQgetvalue(q, 0, 2)[0] == 't';
	has_row = PQgetvalue(q, 0, 3)[0] == 't';
	if (!is_hb) {
		if (has_row)
			rc = exec_ok(c, &q_sync_delete, v, PGRES_COMMAND_OK);
		goto done;
	}
	memset(&w, 0, sizeof(w));
	w.now = col_i64(q, 0, 6, time_now_us());
	anchor = col_i64(q, 0, 4, w.now);
	started = col_i64(q, 0, 5, 0);
	params = json_loads(PQgetvalue(q, 0, 1), 0, NULL);
	if (params == NULL || heartbeat_params_parse(params, &w.hp, err, sizeof(err), &field) < 0) {
		rc = DB_ERROR;   /* validated by the API before: cannot happen */
		goto done;
	}
	if (!has_row) {
		const char *iv[2] = { id, ping_uuid };
		if ((rc = exec_ok(c, &q_sync_insert, iv, PGRES_COMMAND_OK)) != DB_OK)
			goto done;
		anchor = w.now;
	}
	/* a disabled heartbeat is never late; enabled again, it counts from now */
	if (enabled) {
		reschedule(&w, anchor, 1);
		if (started) {
			/* an open run: its own deadline stands in for the schedule's,
			 * unless it passed (then it was said, or is not worth saying) */
			w.run_deadline = started + run_limit_us(&w.hp);
			if (w.run_deadline <= w.now) {
				w.run_deadline = 0;
				reschedule(&w, started, 1);
			} else {
				w.late = 0;
			}
		}
	}
	v[1] = ts_or_null(w.expected, b[0]);
	v[2] = ts_or_null(w.late, b[1]);
	v[3] = ts_or_null(w.run_deadline, b[2]);
	rc = exec_ok(c, &q_sync_sched, v, PGRES_COMMAND_OK);
done:
	json_decref(params);
	PQclear(q);
	return rc;
}

/* ---- the watcher --------------------------------------------------------------- */

/* What is due on w at its now: a run open too long, else a missed run. */
static int
decide_due(struct hbrow *w, struct outcome *o)
{
	char t1[64], t2[64], d[64], sum[512];
	const struct tz *z = w->hp.tz;

	memset(o, 0, sizeof(*o));
	o->duration_ms = -1;
	o->step = 1;
	o->status = CHECK_CRITICAL;
	if (w->run_deadline && w->run_deadline <= w->now &&
	    (!w->late || w->late > w->now || w->run_deadline <= w->late)) {
		fmt_local(z, w->started, 0, t1, sizeof(t1));
		fmt_dur((w->run_deadline - w->started) / 1000, d, sizeof(d));
		snprintf(o->output, sizeof(o->output), "started %s (%s), still running after %s",
		    t1, tz_name(z), d);
		o->observed = w->run_deadline;
		w->run_deadline = 0;   /* said once; the run stays open */
		/* and the schedule resumes: the run after the one that started */
		reschedule(w, w->started, 0);
	} else if (w->late && w->late <= w->now) {
		fmt_local(z, w->expected, 0, t1, sizeof(t1));
		if (w->last_success) {
			fmt_local(z, w->last_success, 1, t2, sizeof(t2));
			if (w->last_duration_ms >= 0) {
				fmt_dur(w->last_duration_ms, d, sizeof(d));
				snprintf(sum, sizeof(sum), "; last success %s, took %s", t2, d);
			} else {
				snprintf(sum, sizeof(sum), "; last success %s", t2);
			}
		} else {
			fmt_local(z, w->created, 1, t2, sizeof(t2));
			snprintf(sum, sizeof(sum), "; no success since it was made (%s)", t2);
		}
		snprintf(o->output, sizeof(o->output), "the %s run (%s) has not reported%s", t1,
		    tz_name(z), sum);
		o->observed = w->late;
		/* the run after the missed one is expected next; runs whose
		 * deadlines passed meanwhile too (serverd was stopped for a day)
		 * are one miss, not one result each */
		w->expected = next_after(&w->hp, w->expected);
		if (w->expected && w->expected + w->hp.grace_s * US <= w->now)
			w->expected = next_after(&w->hp, w->now - w->hp.grace_s * US);
		w->late = w->expected ? w->expected + w->hp.grace_s * US : 0;
	} else {
		return 0;
	}
	/* a miss is news whatever came before it: always evaluated */
	if (o->observed > w->last_result)
		w->last_result = o->observed;
	return 1;
}

static int64_t due_lateness_max_us;   /* the watcher thread's own */

#define HBEAT_GROUP_MAX 100   /* due heartbeats of one agent per transaction */

struct due {
	int64_t check_id, agent_id;
	int pos;                 /* in deadline order */
};

static int
cmp_due(const void *a, const void *b)
{
	const struct due *x = a, *y = b;

	if (x->agent_id != y->agent_id)
		return x->agent_id < y->agent_id ? -1 : 1;
	return x->pos - y->pos;
}

static json_t *
tsj(int64_t us)
{
	return us ? json_integer((json_int_t)us) : json_null();
}

/* One state of check_state_write()'s array (as ingest.c writes it). */
static void
state_json(struct buf *t, const struct hbrow *w, int64_t since_us)
{
	char since[24] = "null";

	if (since_us)
		i64(since_us, since);
	buf_addf(t, "%s{\"check_id\":%lld,\"status\":%d,\"state_type\":\"%s\","
	    "\"attempt\":%d,\"hard_status\":%d,\"since\":%s,\"ack_cleared\":%s,"
	    "\"flapping\":%s,\"flap_pct\":%.17g}", t->len ? "," : "[",
	    (long long)w->check_id, w->s.status, w->s.hard ? "HARD" : "SOFT",
	    w->s.attempt, w->s.hard_status, since,
	    w->before.acknowledged && !w->s.acknowledged ? "true" : "false",
	    w->s.flapping ? "true" : "false", w->s.flap_pct);
}

/* What the watcher writes for one group, set-based (handle_due()). */
struct due_batch {
	json_t *results;            /* q_insert_many's rows */
	json_t *rows;               /* heartbeats_write_due()'s */
	struct buf states;          /* check_state_write()'s array, "[..." */
	struct alert_event *ev;
	char **outs;                /* the events' outputs, owned */
	size_t nev;
};

/* Evaluates o on w into b (engine, state, events: as store_result()). */
static int
due_result(struct due_batch *b, struct hbrow *w, const struct outcome *o)
{
	enum ev_kind ek[3];
	int ne, k, prev;

	if (json_array_append_new(b->results, json_pack("{s:I,s:I,s:i,s:n,s:s,s:n,s:I,s:n}",
	    "c", (json_int_t)w->check_id, "a", (json_int_t)w->agent_id, "s", o->status, "v",
	    "o", o->output, "p", "t", (json_int_t)o->observed, "d")) < 0)
		return -1;
	if (!w->enabled || !may_change(w, o->status))
		return 0;
	prev = w->s.status;
	ne = engine_step(&w->s, &w->ep, o->status, ek);
	if (eng_state_changed(&w->before, &w->s)) {
		state_json(&b->states, w, w->s.status_changed ? o->observed : 0);
		w->before = w->s;
	}
	for (k = 0; k < ne; k++) {
		struct alert_event *e = &b->ev[b->nev];
		if ((b->outs[b->nev] = strdup(o->output)) == NULL)
			return -1;
		e->kind = ek[k];
		e->agent_id = w->agent_id;
		e->check_id = w->check_id;
		e->status = o->status;
		e->prev_status = prev;
		e->hard = w->s.hard;
		e->attempt = w->s.attempt;
		e->output = b->outs[b->nev];
		b->nev++;
	}
	return 0;
}

/*
 * Claims and records what is due on the heartbeats d[0..n) of one agent,
 * in one transaction under its lock, set-based: one round trip reads and
 * claims them all (q_read_due_many), one writes every result, state,
 * event and row and commits. A row another serverd did first, or that is
 * no longer due, is not among those read. 0 or -1 (rolled back; the rows
 * are due again at the next tick).
 */
static int
handle_due(PGconn *c, const struct due *d, size_t n)
{
	const struct db_stmt *st[5];
	const char *const *vals[5];
	const char *v_lock[1], *v_read[2], *v_res[1], *v_st[1], *v_ev[1], *v_rows[1];
	char lk[24], skew[24], *res_text = NULL, *rows_text = NULL, *ev_text = NULL;
	PGresult *pr[5] = { NULL, NULL, NULL, NULL, NULL };
	struct due_batch b;
	struct outcome *o = malloc(sizeof(*o));
	struct buf ids;
	struct hbrow w;
	int64_t now = time_now_us();
	int np = 0, i, nrows, rec = -1, rc = -1, began = 0;
	size_t k;

	memset(&b, 0, sizeof(b));
	buf_init(&ids, (size_t)1 << 20);
	buf_init(&b.states, (size_t)1 << 30);
	for (k = 0; k < n; k++)
		buf_addf(&ids, "%s%lld", k ? "," : "{", (long long)d[k].check_id);
	if (o == NULL || buf_adds(&ids, "}") < 0)
		goto done;
	/* the results are stamped at their deadlines, today or yesterday */
	if (admit(c, now) < 0 || admit(c, now - 86400 * US) < 0)
		goto done;
	snprintf(lk, sizeof(lk), "%lld", (long long)(d[0].agent_id & 0x7fffffff));
	v_lock[0] = lk;
	v_read[0] = ids.ptr;
	v_read[1] = i64(CONF_VALUE(max_clock_skew_s), skew);
	st[0] = &q_begin;
	vals[0] = NULL;
	st[1] = &alert_q_lock_agent;
	vals[1] = v_lock;
	st[2] = &q_read_due_many;
	vals[2] = v_read;
	if (db_pipeline(c, 3, st, vals, pr) < 0) {
		began = PQresultStatus(pr[0]) == PGRES_COMMAND_OK;
		pipeline_outcome(c, pr, 3);
		goto done;
	}
	began = 1;
	if ((nrows = PQntuples(pr[2])) == 0) {   /* done by another serverd */
		rc = 0;
		goto done;
	}
	/* at most two results a row (a run open too long, then a miss) */
	b.results = json_array();
	b.rows = json_array();
	b.ev = calloc((size_t)nrows * 6, sizeof(*b.ev));
	b.outs = calloc((size_t)nrows * 6, sizeof(*b.outs));
	if (!b.results || !b.rows || !b.ev || !b.outs)
		goto done;
	for (i = 0; i < nrows; i++) {
		read_row(pr[2], i, 0, &w);
		if (!w.params_ok) {
			/* cannot say when it is due: never, rather than every tick */
			w.late = w.run_deadline = 0;
		} else {
			while (decide_due(&w, o)) {
				if (w.now - o->observed > due_lateness_max_us)
					due_lateness_max_us = w.now - o->observed;
				if (due_result(&b, &w, o) < 0)
					goto done;
			}
		}
		if (json_array_append_new(b.rows, json_pack("{s:I,s:o,s:o,s:o,s:o}",
		    "c", (json_int_t)w.check_id, "e", tsj(w.expected), "l", tsj(w.late),
		    "r", tsj(w.last_result), "d", tsj(w.run_deadline))) < 0)
			goto done;
	}
	clear_all(pr, 3);
	/* one round trip: results, states, events, rows, COMMIT */
	if (json_array_size(b.results) > 0) {
		if ((res_text = json_dumps(b.results, JSON_COMPACT)) == NULL)
			goto done;
		v_res[0] = res_text;
		st[np] = &q_insert_many;
		vals[np++] = v_res;
	}
	if (b.states.len > 0) {
		if (buf_adds(&b.states, "]") < 0)
			goto done;
		v_st[0] = b.states.ptr;
		st[np] = &alert_q_write_states;
		vals[np++] = v_st;
	}
	if (b.nev > 0) {
		if ((ev_text = alert_record_text(b.ev, b.nev)) == NULL)
			goto done;
		v_ev[0] = ev_text;
		rec = np;
		st[np] = &alert_q_record;
		vals[np++] = v_ev;
	}
	if ((rows_text = json_dumps(b.rows, JSON_COMPACT)) == NULL)
		goto done;
	v_rows[0] = rows_text;
	st[np] = &q_write_due;
	vals[np++] = v_rows;
	st[np] = &q_commit;
	vals[np++] = NULL;
	if (db_pipeline(c, np, st, vals, pr) < 0) {
		if (rec >= 0 && PQresultStatus(pr[rec]) != PGRES_TUPLES_OK &&
		    PQresultStatus(pr[rec]) != PGRES_COMMAND_OK)
			alert_record_done(c, pr[rec], NULL);
		else
			pipeline_outcome(c, pr, np);
		goto done;
	}
	began = 0;
	if (rec >= 0)
		alert_record_done(c, pr[rec], NULL);   /* logs the events */
	rc = 0;
done:
	if (rc < 0)
		log_warn("heartbeats of agent %lld: could not record what is due",
		    (long long)d[0].agent_id);
	clear_all(pr, 5);
	if (began && PQstatus(c) == CONNECTION_OK && PQtransactionStatus(c) != PQTRANS_IDLE)
		rollback(c);
	for (k = 0; b.outs && k < b.nev; k++)
		free(b.outs[k]);
	free(b.outs);
	free(b.ev);
	json_decref(b.results);
	json_decref(b.rows);
	buf_free(&b.states);
	buf_free(&ids);
	free(res_text);
	free(rows_text);
	free(ev_text);
	free(o);
	return rc;
}

/* The rows of q_due, by agent then deadline, in groups of one agent. */
static int
handle_due_rows(struct ticker *t, PGconn **cp, PGresult *q)
{
	int n = PQntuples(q), i, k, failed = 0;
	struct due *d;

	if (n == 0)
		return 0;
	if ((d = calloc((size_t)n, sizeof(*d))) == NULL)
		return -1;
	for (i = 0; i < n; i++) {
		const char *es;
		d[i].check_id = str_to_ll(PQgetvalue(q, i, 0), 1, INT64_MAX, &es);
		d[i].agent_id = str_to_ll(PQgetvalue(q, i, 1), 1, INT64_MAX, &es);
		d[i].pos = i;
	}
	qsort(d, (size_t)n, sizeof(*d), cmp_due);
	for (i = 0; i < n && !ticker_stopping(t); i = k) {
		for (k = i + 1; k < n && k - i < HBEAT_GROUP_MAX && d[k].agent_id == d[i].agent_id; k++)
			;
		if (handle_due(*cp, d + i, (size_t)(k - i)) < 0) {
			failed = 1;
			if ((*cp = db_conn()) == NULL)
				break;
		}
	}
	free(d);
	return failed ? -1 : 0;
}

static void
watch_tick(struct ticker *t)
{
	PGconn *c = db_conn();
	PGresult *q = NULL;
	int n, failed = 0;
	long long wait = HBEAT_POLL_MS;
	static int64_t last_prune;

	t->next_ms = 1000;   /* after a failure */
	atomic_store(&watch_until_us, time_now_us() + 1000 * 1000);
	if (c == NULL)
		return;
	do {
		q = db_exec(c, &q_due, NULL);
		if (!db_ok(q, PGRES_TUPLES_OK)) {
			db_outcome(c, q);
			PQclear(q);
			return;
		}
		n = PQntuples(q);
		failed = handle_due_rows(t, &c, q) < 0;
		PQclear(q);
		q = NULL;
	} while (n == HBEAT_DUE_BATCH && !failed && c && !ticker_stopping(t));
	if (c == NULL || failed)
		return;
	if (time_now_us() - last_prune > 3600 * US) {
		PGresult *p = db_exec(c, &q_prune, NULL);
		if (!db_ok(p, PGRES_COMMAND_OK))
			db_outcome(c, p);
		PQclear(p);
		last_prune = time_now_us();
	}
	q = db_exec(c, &q_next, NULL);
	if (db_ok(q, PGRES_TUPLES_OK)) {
		if (PQntuples(q) == 1 && !PQgetisnull(q, 0, 0)) {
			const char *es;
			long long ms = str_to_ll(PQgetvalue(q, 0, 0), INT64_MIN, INT64_MAX, &es);
			if (es == NULL && ms < wait)
				wait = ms < 1 ? 1 : ms + 1;   /* +1: never before the deadline */
		}
	} else {
		db_outcome(c, q);
	}
	PQclear(q);
	t->next_ms = (long)wait;
	atomic_store(&watch_until_us, time_now_us() + wait * 1000);
}

static struct ticker watcher = { .name = "heartbeats", .tick = watch_tick,
	.period_ms = HBEAT_POLL_MS };

int
hbeat_watch_start(void)
{
	return ticker_start(&watcher);
}

void
hbeat_watch_stop(void)
{
	ticker_stop(&watcher);
	if (due_lateness_max_us > 0)
		log_info("heartbeats: the latest miss was recorded %.3f s after its deadline",
		    (double)due_lateness_max_us / 1e6);
}

void
hbeat_wake(void)
{
	ticker_wake(&watcher);
}
