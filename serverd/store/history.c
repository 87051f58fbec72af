/*
 * history.c - check_history's day partitions, retention and roll-ups, on
 * a thread of their own (see history.h; the schema is sql/005_history.sql).
 *
 * Partitions. check_history is partitioned by UTC day of observed_at. The
 * thread makes today's and the next HISTORY_AHEAD_DAYS days' partitions at
 * start and every hour; history_admit() makes one on demand for a past day
 * (an agent's spool after an outage) before the batch is inserted, outside
 * the ingest transaction. Both go through history_partition_ensure(), which
 * serialises creators on an advisory lock. There is no DEFAULT partition: a
 * row for a day without a partition fails loudly instead of landing in a
 * catch-all that would have to be split later. Partitions are not created
 * years ahead: ingest stamps a result more than max_clock_skew_s in the
 * future with the server's time (docs/design.md), so only the days present in
 * real results exist. Which days exist is remembered in a bitmap, so the
 * usual batch runs no statement here at all; a day is forgotten when
 * retention drops it.
 *
 * Retention. At start and every hour, the day tables older than
 * history_retention_days (0 = keep for ever) are retired, under a
 * session-level advisory lock (one instance at a time): each partition is
 * detached with ALTER TABLE ... DETACH PARTITION ... CONCURRENTLY, which
 * takes only the parent's SHARE UPDATE EXCLUSIVE lock (ingest's ROW
 * EXCLUSIVE and readers' ACCESS SHARE do not conflict with it, so nothing
 * queues behind it) and waits for the transactions already using
 * check_history; then history_tops() (history_tops_make()) is remade without it and the
 * detached table is dropped, which locks that table alone, so the unlinking
 * of its files (a noticeable pause for a day's rows) blocks nobody. A
 * plain DROP of a partition held the parent's ACCESS EXCLUSIVE lock for
 * that whole time, with every insert and summary queued behind it. DETACH
 * CONCURRENTLY cannot run in a transaction block, and an interruption
 * (lock_timeout, cancel, crash) leaves the partition "pending detach"; one
 * pending detach per parent is allowed, so the next run finishes it first
 * with DETACH ... FINALIZE; a table detached but not dropped is dropped by
 * the next run (history_retention_list() names the three states). The
 * detach's lock and wait are capped by HISTORY_DETACH_LOCK_TIMEOUT (while
 * it waits, a partition made on demand by history_admit() waits too).
 * No row is ever DELETEd from check_history. The minute and hour roll-ups
 * are trimmed to rollup_minute_days and rollup_hour_days by batched DELETEs
 * (BRIN on start); day roll-ups are kept for ever. agent_facts_history
 * keeps history_retention_days too, but never loses an agent's newest
 * entry (its current facts), and result_stamps (the result_ids of the
 * results the server stamped, sql/021) a day longer. The same UTC-day rule decides what
 * history_admit() refuses as expired, so a result is refused exactly when
 * its partition would be dropped.
 *
 * Roll-ups. Every rollup_interval_s the rows with id above
 * rollup_watermark.last_id are added into rollup_minute/hour/day (count,
 * values, per-state counts) and the watermark is moved, all in one
 * transaction: a crash (kill -9) at any point leaves either all of it or
 * none of it, so no row is ever counted twice or lost. Late results are
 * new ids, so they are counted whatever their observed_at. The upper bound
 * must not pass an id whose transaction is still in flight (it would commit
 * later, below the watermark, and never be counted): it is read from the
 * id sequence while holding check_history's SHARE lock for an instant -
 * granted only when no insert is in flight (every INSERT holds ROW
 * EXCLUSIVE on the parent before it draws an id). That briefly queues new
 * ingest transactions behind the ones in flight, once per roll-up, capped
 * by lock_timeout. A roll-up runs under an advisory lock, so with several
 * serverd instances one builds at a time. Minute and hour buckets older
 * than their retention are not built (a late result still counts in its
 * day). Known limit: anything inserting into a partition directly (not
 * through check_history) escapes the SHARE lock; only bench/history does,
 * and never concurrently with a roll-up.
 */
#include "config.h"
#include "history.h"
#include "db.h"
#include "invariant.h"
#include "log.h"
#include "serverd.h"
#include "strnum.h"
#include "ticker.h"
#include "timeutil.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HISTORY_LOCK_CLASS 1751741300  /* "hist"; also in 005_history.sql */
#define HISTORY_LOCK_RETENTION 2       /* advisory lock ids within the class */
#define HISTORY_LOCK_ROLLUP 3
#define HISTORY_AHEAD_DAYS 3           /* partitions made ahead of today */
#define HISTORY_MAINT_EVERY_MS (3600 * 1000LL)
#define HISTORY_RETRY_MS (60 * 1000LL) /* after a failed maintenance */
#define HISTORY_TICK_MS 1000
#define HISTORY_ROLLUP_CHUNK 500000    /* ids per roll-up transaction */
#define HISTORY_TRIM_BATCH "50000"     /* roll-up rows per trimming DELETE */
#define HISTORY_CACHE_DAYS 65536       /* days since 1970 remembered (to 2149) */
#define HISTORY_DETACH_LOCK_TIMEOUT "5s" /* DETACH CONCURRENTLY's lock and wait */

static struct ticker hist;   /* the thread (ticker.h); defined below */

/* which day partitions are known to exist, one bit per day since 1970 */
static pthread_mutex_t cache_mu = PTHREAD_MUTEX_INITIALIZER;
static unsigned char known_days[HISTORY_CACHE_DAYS / 8];

static const struct db_stmt q_ensure = { "history_ensure",
	"SELECT history_partition_ensure('epoch'::date + $1::integer)", 1 };
static const struct db_stmt q_retention_list = { "history_retention_list",
	"SELECT name, day - 'epoch'::date, state FROM history_retention_list($1::integer)"
	" ORDER BY state <> 'pending', day", 1 };   /* a pending detach refuses any other */
static const struct db_stmt q_session_trylock = { "history_session_trylock",
	"SELECT pg_try_advisory_lock($1::integer, $2::integer)", 2 };
static const struct db_stmt q_session_unlock = { "history_session_unlock",
	"SELECT pg_advisory_unlock($1::integer, $2::integer)", 2 };
/*
 * The flap windows check_state keeps (sql/042_flap_window.sql) that hold a
 * result of the day $1 retired (days since the epoch): the history no
 * longer has it, so the next ingest of such a check reads what is left.
 * Only a window still within the two days it is used in can (with
 * history_retention_days 1): with a longer retention this finds nothing.
 * The rows are locked in check_id order, as ingest's write-back locks
 * them, so the two cannot deadlock; an ingest that read such a window
 * before this and writes it back after leaves it cleared
 * (check_state_write()'s win_kept).
 */
static const struct db_stmt q_forget_windows = { "history_forget_windows",
	"UPDATE check_state SET flap_window = NULL, flap_from = NULL, flap_last = NULL"
	" WHERE check_id IN (SELECT check_id FROM check_state"
	"  WHERE flap_window IS NOT NULL AND flap_from > now() - interval '2 days'"
	"   AND flap_from < 'epoch'::timestamptz + ($1::integer + 1) * interval '1 day'"
	"  ORDER BY check_id FOR UPDATE)", 1 };
/* an agent's facts changes older than the window, but never its newest */
static const struct db_stmt q_trim_facts = { "history_trim_facts",
	"DELETE FROM agent_facts_history WHERE id = ANY (ARRAY(SELECT f.id FROM agent_facts_history f"
	" WHERE f.changed_at < now() - make_interval(days => $1::integer)"
	"  AND EXISTS (SELECT 1 FROM agent_facts_history n WHERE n.agent_id = f.agent_id AND n.id > f.id)"
	" LIMIT " HISTORY_TRIM_BATCH "))", 1 };
/* the result_ids the server stamped (sql/021), kept a day longer than the
 * history they de-duplicate */
static const struct db_stmt q_trim_stamps = { "history_trim_stamps",
	"DELETE FROM result_stamps WHERE ctid = ANY (ARRAY(SELECT ctid FROM result_stamps"
	" WHERE stamped_at < now() - make_interval(days => $1::integer + 1)"
	" LIMIT " HISTORY_TRIM_BATCH "))", 1 };
static const struct db_stmt q_trylock = { "history_trylock",
	"SELECT pg_try_advisory_xact_lock($1::integer, $2::integer)", 2 };
#define TRIM_SQL(t) \
	"DELETE FROM " t " WHERE ctid = ANY (ARRAY(SELECT ctid FROM " t \
	" WHERE start < now() - make_interval(days => $1::integer) LIMIT " HISTORY_TRIM_BATCH "))"
static const struct db_stmt q_trim_minute = { "history_trim_minute", TRIM_SQL("rollup_minute"), 1 };
static const struct db_stmt q_trim_hour = { "history_trim_hour", TRIM_SQL("rollup_hour"), 1 };

/* the newest id handed out, and the watermark */
static const struct db_stmt q_frontier = { "history_frontier",
	"SELECT CASE WHEN is_called THEN last_value ELSE last_value - 1 END,"
	" (SELECT last_id FROM rollup_watermark) FROM check_history_id_seq", 0 };
static const struct db_stmt q_watermark = { "history_watermark",
	"SELECT last_id FROM rollup_watermark FOR UPDATE", 0 };
static const struct db_stmt q_watermark_set = { "history_watermark_set",
	"UPDATE rollup_watermark SET last_id = $1::bigint, updated_at = now()", 1 };
/*
 * Adds the rows with $1 < id <= $2 into one level; $3 > 0: only buckets
 * starting after now() - $3 days (the level's retention), 0: every bucket.
 */
#define ROLLUP_SQL(t, unit) \
	"INSERT INTO " t " AS r (check_id, start, count, nvalues, vmin, vmax, vsum," \
	"  ok, warning, critical, unknown)" \
	" SELECT check_id, date_trunc('" unit "', observed_at, 'UTC'), count(*), count(value)," \
	"  min(value), max(value), COALESCE(sum(value), 0)," \
	"  count(*) FILTER (WHERE status = 0), count(*) FILTER (WHERE status = 1)," \
	"  count(*) FILTER (WHERE status = 2), count(*) FILTER (WHERE status = 3)" \
	" FROM check_history WHERE id > $1::bigint AND id <= $2::bigint" \
	"  AND ($3::integer = 0 OR observed_at >= date_trunc('" unit "'," \
	"   now() - make_interval(days => $3::integer), 'UTC'))" \
	" GROUP BY 1, 2" \
	" ON CONFLICT (check_id, start) DO UPDATE SET count = r.count + EXCLUDED.count," \
	"  nvalues = r.nvalues + EXCLUDED.nvalues, vmin = LEAST(r.vmin, EXCLUDED.vmin)," \
	"  vmax = GREATEST(r.vmax, EXCLUDED.vmax), vsum = r.vsum + EXCLUDED.vsum," \
	"  ok = r.ok + EXCLUDED.ok, warning = r.warning + EXCLUDED.warning," \
	"  critical = r.critical + EXCLUDED.critical, unknown = r.unknown + EXCLUDED.unknown"
static const struct db_stmt q_rollup_minute = { "history_rollup_minute",
	ROLLUP_SQL("rollup_minute", "minute"), 3 };
static const struct db_stmt q_rollup_hour = { "history_rollup_hour",
	ROLLUP_SQL("rollup_hour", "hour"), 3 };
static const struct db_stmt q_rollup_day = { "history_rollup_day",
	ROLLUP_SQL("rollup_day", "day"), 3 };

/* ---- the partition cache -------------------------------------------------- */

static int64_t
day_of(int64_t us)
{
	return us >= 0 ? us / HISTORY_DAY_US : -((-us + HISTORY_DAY_US - 1) / HISTORY_DAY_US);
}

static int
cache_has(int64_t day)
{
	int yes;

	if (day < 0 || day >= HISTORY_CACHE_DAYS)
		return 0;
	pthread_mutex_lock(&cache_mu);
	yes = (known_days[day / 8] >> (day % 8)) & 1;
	pthread_mutex_unlock(&cache_mu);
	return yes;
}

static void
cache_set(int64_t day, int on)
{
	if (day < 0 || day >= HISTORY_CACHE_DAYS)
		return;
	pthread_mutex_lock(&cache_mu);
	if (on)
		known_days[day / 8] |= (unsigned char)(1u << (day % 8));
	else
		known_days[day / 8] &= (unsigned char)~(1u << (day % 8));
	pthread_mutex_unlock(&cache_mu);
}

/* st run for day (days since the epoch, its one parameter): its result, or
 * NULL when it failed ("history: <what> of day N: why" logged) */
static PGresult *
exec_day(PGconn *c, const struct db_stmt *st, int64_t day, ExecStatusType want, const char *what)
{
	char d[24];
	const char *v[1] = { d };
	PGresult *q;

	snprintf(d, sizeof(d), "%lld", (long long)day);
	q = db_exec(c, st, v);
	if (db_ok(q, want))
		return q;
	log_error("history: %s of day %lld: %s", what, (long long)day, PQresultErrorMessage(q));
	PQclear(q);
	return NULL;
}

/* Makes day's partition unless known; 0 or -1 (the statement failed). */
static int
ensure_day(PGconn *c, int64_t day)
{
	PGresult *q;

	if (cache_has(day))
		return 0;
	if ((q = exec_day(c, &q_ensure, day, PGRES_TUPLES_OK, "cannot make the partition")) == NULL)
		return -1;
	if (PQgetvalue(q, 0, 0)[0] == 't')
		log_info("history: made the partition of day %lld", (long long)day);
	cache_set(day, 1);
	PQclear(q);
	return 0;
}

int
history_admit(PGconn *c, const int64_t *observed_us, size_t n, unsigned char *keep,
    int may_create)
{
	long long days = CONF_VALUE(history_retention_days);
	int64_t oldest = days > 0 ? day_of(time_now_us()) - days : INT64_MIN;
	int64_t last = INT64_MIN;
	int expired = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		int64_t d = day_of(observed_us[i]);

		if (d < oldest) {
			keep[i] = 0;
			expired++;
			continue;
		}
		keep[i] = 1;
		if (d == last)
			continue;
		if (!may_create && !cache_has(d))
			return HISTORY_ADMIT_AUTH;
		if (ensure_day(c, d) < 0)
			return HISTORY_ADMIT_FAILED;
		last = d;
	}
	return expired;
}

/* ---- maintenance: partitions ahead, retention, trimming ------------------- */

/* BEGIN and the advisory lock lock_id: 1 held, 0 another instance has it,
 * -1 failed (no transaction left open either way when not 1) */
static int
begin_locked(PGconn *c, int lock_id)
{
	char cls[24], id[24];
	const char *v[2] = { cls, id };
	PGresult *q;
	int held;

	if (db_cmd(c, "BEGIN") < 0)
		return -1;
	snprintf(cls, sizeof(cls), "%d", HISTORY_LOCK_CLASS);
	snprintf(id, sizeof(id), "%d", lock_id);
	q = db_exec(c, &q_trylock, v);
	if (!db_ok(q, PGRES_TUPLES_OK)) {
		PQclear(q);
		if (PQstatus(c) == CONNECTION_OK)
			db_cmd(c, "ROLLBACK");
		return -1;
	}
	held = PQgetvalue(q, 0, 0)[0] == 't';
	PQclear(q);
	if (!held)
		db_cmd(c, "ROLLBACK");
	return held;
}

static int
make_ahead(PGconn *c)
{
	int64_t today = day_of(time_now_us());
	int k;

	for (k = 0; k <= HISTORY_AHEAD_DAYS; k++)
		if (ensure_day(c, today + k) < 0)
			return -1;
	return 0;
}

/* Deletes the rows st selects as older than days, in batches (0 or -1). */
static int
trim(PGconn *c, const struct db_stmt *st, long long days)
{
	char dv[24];
	const char *v[1] = { dv };

	snprintf(dv, sizeof(dv), "%lld", days);
	for (;;) {
		PGresult *q = db_exec(c, st, v);
		int more;

		if (!db_ok(q, PGRES_COMMAND_OK)) {
			log_error("history: trimming: %s", PQresultErrorMessage(q));
			PQclear(q);
			return -1;
		}
		more = strcmp(PQcmdTuples(q), "0") != 0;
		PQclear(q);
		if (!more || ticker_stopping(&hist))
			return 0;
	}
}

/* runs the statement head ident tail; 0 or -1 */
static int
cmd_ident(PGconn *c, const char *head, const char *ident, const char *tail)
{
	size_t len = strlen(head) + strlen(ident) + strlen(tail) + 1;
	char *sql = malloc(len);
	int rc;

	if (sql == NULL)
		return -1;
	snprintf(sql, len, "%s%s%s", head, ident, tail);
	rc = db_cmd(c, sql);
	free(sql);
	return rc;
}

/* q_forget_windows for the day retired; 0 or -1 */
static int
forget_windows(PGconn *c, int64_t day)
{
	PGresult *q = exec_day(c, &q_forget_windows, day, PGRES_COMMAND_OK,
	    "cannot clear the flap windows holding the results");

	if (q == NULL)
		return -1;
	PQclear(q);
	return 0;
}

/*
 * Retires one expired day table in the state history_retention_list()
 * gives: "attached" is detached CONCURRENTLY (no transaction block; the
 * parent's SHARE UPDATE EXCLUSIVE lock, which neither ingest nor readers
 * wait for), "pending" (an interrupted DETACH ... CONCURRENTLY) is
 * finished with FINALIZE; then the flap windows that hold one of its
 * results are cleared (q_forget_windows), history_tops() is remade without
 * it and the now detached table is dropped (its own lock only). An interruption
 * anywhere leaves a state the next run goes on from. 0 or -1.
 */
static int
retire_table(PGconn *c, const char *name, int64_t day, const char *state)
{
	char *ident;
	int64_t t0 = mono_now_ms(), t1;
	int rc = -1, r;

	if ((ident = PQescapeIdentifier(c, name, strlen(name))) == NULL)
		return -1;
	if (strcmp(state, "attached") == 0 || strcmp(state, "pending") == 0) {
		if (db_cmd(c, "SET lock_timeout = '" HISTORY_DETACH_LOCK_TIMEOUT "'") < 0)
			goto done;
		r = cmd_ident(c, "ALTER TABLE check_history DETACH PARTITION ", ident,
		    strcmp(state, "attached") == 0 ? " CONCURRENTLY" : " FINALIZE");
		if (db_cmd(c, "RESET lock_timeout") < 0 || r < 0)
			goto done;
	}
	cache_set(day, 0);
	t1 = mono_now_ms();
	if (forget_windows(c, day) < 0 || db_cmd(c, "SELECT history_tops_make()") < 0)
		goto done;
	if (db_cmd(c, "BEGIN") < 0)
		goto done;
	if (db_cmd(c, "SET LOCAL lock_timeout = '500ms'") < 0 ||
	    cmd_ident(c, "DROP TABLE ", ident, "") < 0 || db_cmd(c, "COMMIT") < 0) {
		if (PQstatus(c) == CONNECTION_OK)
			db_cmd(c, "ROLLBACK");
		goto done;
	}
	log_info("history: retention dropped %s (%s; detach %lld ms, drop %lld ms)", name, state,
	    (long long)(t1 - t0), (long long)(mono_now_ms() - t1));
	rc = 0;
done:
	PQfreemem(ident);
	return rc;
}

/* the session-level advisory lock lock_id: 1 held, 0 another has it, -1 failed */
static int
session_lock(PGconn *c, const struct db_stmt *st, int lock_id)
{
	char cls[24], id[24];
	const char *v[2] = { cls, id };
	PGresult *q;
	int held;

	snprintf(cls, sizeof(cls), "%d", HISTORY_LOCK_CLASS);
	snprintf(id, sizeof(id), "%d", lock_id);
	q = db_exec(c, st, v);
	if (!db_ok(q, PGRES_TUPLES_OK)) {
		PQclear(q);
		return -1;
	}
	held = PQgetvalue(q, 0, 0)[0] == 't';
	PQclear(q);
	return held;
}

static int
retention(PGconn *c)
{
	long long days = CONF_VALUE(history_retention_days);
	char dv[24];
	const char *v[1] = { dv };
	PGresult *q = NULL;
	int i, held, rc = 0;

	if (days <= 0)
		return 0;
	if ((held = session_lock(c, &q_session_trylock, HISTORY_LOCK_RETENTION)) <= 0)
		return held;   /* another instance is at it: not a failure */
	snprintf(dv, sizeof(dv), "%lld", days);
	q = db_exec(c, &q_retention_list, v);
	if (!db_ok(q, PGRES_TUPLES_OK)) {
		log_error("history: listing partitions: %s", PQresultErrorMessage(q));
		rc = -1;
		goto done;
	}
	for (i = 0; i < PQntuples(q) && !ticker_stopping(&hist); i++) {
		const char *es;
		int64_t day = str_to_ll(PQgetvalue(q, i, 1), INT64_MIN, INT64_MAX, &es);

		if (retire_table(c, PQgetvalue(q, i, 0), day, PQgetvalue(q, i, 2)) < 0) {
			log_warn("history: could not retire %s; retrying later", PQgetvalue(q, i, 0));
			rc = -1;
			break;   /* one pending detach at a time: the next would fail */
		}
	}
	if (rc == 0 && (trim(c, &q_trim_facts, days) < 0 || trim(c, &q_trim_stamps, days) < 0))
		rc = -1;
done:
	PQclear(q);
	if (PQstatus(c) == CONNECTION_OK && session_lock(c, &q_session_unlock, HISTORY_LOCK_RETENTION) < 0)
		rc = -1;
	return rc;
}

static int
maintenance(PGconn *c)
{
	int rc = 0;

	if (make_ahead(c) < 0 || db_cmd(c, "SELECT history_tops_make()") < 0)
		rc = -1;
	if (retention(c) < 0)
		rc = -1;
	if (trim(c, &q_trim_minute, CONF_VALUE(rollup_minute_days)) < 0 ||
	    trim(c, &q_trim_hour, CONF_VALUE(rollup_hour_days)) < 0)
		rc = -1;
	return rc;
}

/* ---- roll-ups -------------------------------------------------------------- */

/*
 * The id below which every insert has committed or aborted: *upto; and the
 * watermark *wm. 0, or -1 (lock timeout, lost connection).
 */
static int
frontier(PGconn *c, int64_t *upto, int64_t *wm)
{
	PGresult *q = NULL;
	const char *es;
	int rc = -1, in_tx = 0;

	/* nothing new: no lock needed */
	q = db_exec(c, &q_frontier, NULL);
	if (!db_ok(q, PGRES_TUPLES_OK))
		goto done;
	*upto = str_to_ll(PQgetvalue(q, 0, 0), INT64_MIN, INT64_MAX, &es);
	*wm = str_to_ll(PQgetvalue(q, 0, 1), INT64_MIN, INT64_MAX, &es);
	PQclear(q);
	q = NULL;
	if (*upto <= *wm) {
		rc = 0;
		goto done;
	}
	if (db_cmd(c, "BEGIN") < 0)
		goto done;
	in_tx = 1;
	if (db_cmd(c, "SET LOCAL lock_timeout = '1s'") < 0 ||
	    db_cmd(c, "LOCK TABLE ONLY check_history IN SHARE MODE") < 0)
		goto done;
	q = db_exec(c, &q_frontier, NULL);
	if (!db_ok(q, PGRES_TUPLES_OK))
		goto done;
	*upto = str_to_ll(PQgetvalue(q, 0, 0), INT64_MIN, INT64_MAX, &es);
	*wm = str_to_ll(PQgetvalue(q, 0, 1), INT64_MIN, INT64_MAX, &es);
	if (db_cmd(c, "COMMIT") < 0)
		goto done;
	in_tx = 0;
	rc = 0;
done:
	if (in_tx && PQstatus(c) == CONNECTION_OK)
		db_cmd(c, "ROLLBACK");
	PQclear(q);
	return rc;
}

/*
 * One roll-up transaction: rows above the watermark up to upto (at most
 * HISTORY_ROLLUP_CHUNK of ids). *done_to gets the new watermark. 1 when it
 * moved, 0 when another instance holds the lock, -1 on failure.
 */
static int
rollup_step(PGconn *c, int64_t upto, int64_t *done_to)
{
	static const struct db_stmt *const levels[3] = { &q_rollup_minute, &q_rollup_hour,
		&q_rollup_day };
	char from[24], to[24], keep[3][24];
	PGresult *q = NULL;
	const char *es;
	int64_t wm;
	int held, k, rc = -1;

	snprintf(keep[0], sizeof(keep[0]), "%lld", CONF_VALUE(rollup_minute_days));
	snprintf(keep[1], sizeof(keep[1]), "%lld", CONF_VALUE(rollup_hour_days));
	snprintf(keep[2], sizeof(keep[2]), "0");
	if ((held = begin_locked(c, HISTORY_LOCK_ROLLUP)) <= 0)
		return held;
	q = db_exec(c, &q_watermark, NULL);
	if (!db_ok(q, PGRES_TUPLES_OK) || PQntuples(q) != 1)
		goto done;
	wm = str_to_ll(PQgetvalue(q, 0, 0), INT64_MIN, INT64_MAX, &es);
	PQclear(q);
	q = NULL;
	if (upto > wm + HISTORY_ROLLUP_CHUNK)
		upto = wm + HISTORY_ROLLUP_CHUNK;
	if (upto <= wm) {
		*done_to = wm;
		db_cmd(c, "ROLLBACK");
		return 1;
	}
	snprintf(from, sizeof(from), "%lld", (long long)wm);
	snprintf(to, sizeof(to), "%lld", (long long)upto);
	for (k = 0; k < 3; k++) {
		const char *v[3] = { from, to, keep[k] };

		q = db_exec(c, levels[k], v);
		if (!db_ok(q, PGRES_COMMAND_OK)) {
			log_error("history: roll-up: %s", PQresultErrorMessage(q));
			goto done;
		}
		PQclear(q);
		q = NULL;
	}
	{
		const char *v[1] = { to };

		/* the watermark only moves forward, by at most a chunk */
		CUSTOS_ASSERT(upto > wm && upto - wm <= HISTORY_ROLLUP_CHUNK);
		q = db_exec(c, &q_watermark_set, v);
		if (!db_ok(q, PGRES_COMMAND_OK))
			goto done;
	}
	if (db_cmd(c, "COMMIT") < 0)
		goto done;
	*done_to = upto;
	rc = 1;
done:
	if (rc < 0 && PQstatus(c) == CONNECTION_OK)
		db_cmd(c, "ROLLBACK");
	PQclear(q);
	return rc;
}

/* Rolls up everything committed so far, chunk by chunk; 0 or -1. */
static int
rollup(PGconn *c)
{
	int64_t upto, wm, done_to;
	int64_t t0 = mono_now_ms();
	int st;

	if (frontier(c, &upto, &wm) < 0)
		return -1;
	while (upto > wm && !ticker_stopping(&hist)) {
		if ((st = rollup_step(c, upto, &done_to)) < 0)
			return -1;
		if (st == 0)
			return 0;   /* another instance is rolling up */
		if (done_to <= wm)
			break;
		log_debug("history: rolled up ids %lld..%lld", (long long)wm + 1, (long long)done_to);
		wm = done_to;
	}
	if (mono_now_ms() - t0 > 10000)
		log_info("history: roll-up took %lld ms", (long long)(mono_now_ms() - t0));
	return 0;
}

/* ---- the thread -------------------------------------------------------------- */

/* the thread's schedule (only it reads and writes these) */
static int64_t next_maint, next_rollup;

static void
history_tick(struct ticker *t)
{
	int64_t now = mono_now_ms();
	PGconn *c = db_conn();

	(void)t;
	if (c != NULL && now >= next_maint) {
		next_maint = now + (maintenance(c) < 0 ? HISTORY_RETRY_MS : HISTORY_MAINT_EVERY_MS);
		c = db_conn();   /* a failure may have closed a broken connection */
	}
	if (c != NULL && now >= next_rollup) {
		if (rollup(c) < 0)
			log_warn("history: roll-up failed; retrying at the next interval");
		next_rollup = now + CONF_VALUE(rollup_interval_s) * 1000;
	}
}

static struct ticker hist = { .name = "history", .tick = history_tick, .period_ms = HISTORY_TICK_MS };

int
history_start(void)
{
	next_maint = next_rollup = 0;
	return ticker_start(&hist);
}

void
history_stop(void)
{
	ticker_stop(&hist);
}
