/*
 * hbeat.h - heartbeat checks on the server: reports in, misses on time.
 *
 * A report (a ping, or an agent's --wrap report) and a miss (the watcher
 * thread) both become one check_history result evaluated as every other
 * result is - the engine (engine.h) under the agent's lock (state.h), the
 * state written back through alert_q_write_states, events through
 * alert_record() - in one transaction with the heartbeat's own row, so a
 * result and the schedule it moves commit together or not at all.
 *
 * What each report means:
 *   start             a run began: no result; the run's duration counts
 *                     from here. A start while a run is open is a WARNING
 *                     ("overlapping"), and the new start counts.
 *   success / exit 0  OK; WARNING when the run took longer than
 *                     max_duration_s. The schedule counts from here.
 *   fail / exit N>0   CRITICAL. The schedule counts from here too (a run
 *                     took place), last_success_at does not move.
 * Every end report's result carries the run's duration (value, seconds)
 * and perfdata "duration=12.3s exit=0" (exit only when known).
 *
 * The watcher: a heartbeat is late when late_at (the expected run +
 * grace_s) passes with no end report: CRITICAL at that moment, saying which
 * run is missing; then the next run is expected (the next whose deadline is
 * still ahead). The due heartbeats of one agent are handled in one
 * transaction, so a burst of misses costs a commit per agent. A run open past
 * max_duration_s (grace_s when unset) is CRITICAL once ("still running").
 * The thread sleeps until the earliest deadline (at most
 * HBEAT_POLL_MS, so that deadlines set by another serverd are seen), and
 * hbeat_wake() ends its sleep when a deadline here changed. Two serverd on
 * one database never both report a miss: each claims the row under the
 * agent's lock with its deadline re-checked (FOR UPDATE SKIP LOCKED).
 */
#ifndef CUSTOS_HBEAT_H
#define CUSTOS_HBEAT_H

#include <libpq-fe.h>
#include <stdint.h>

#include "db.h"

#define HBEAT_OUTPUT_MAX 10240   /* bytes of a report's text kept (the last ones) */
#define HBEAT_REPORT_ID_MAX 64
#define HBEAT_POLL_MS 500        /* the watcher looks at least this often */

enum hbeat_kind { HB_START, HB_SUCCESS, HB_FAIL, HB_EXIT };

struct hbeat_report {
	enum hbeat_kind kind;
	int exit_code;            /* HB_EXIT: 0..255 */
	int64_t at_us;            /* when it happened (µs since the epoch) */
	int64_t started_us;       /* an end report's run start, 0 when not given */
	const char *output;       /* the report's text, or NULL; <= HBEAT_OUTPUT_MAX */
	const char *report_id;    /* de-duplicates resends; NULL for pings */
};

/*
 * Applies r, in a transaction of its own (c must have none open), to the
 * heartbeat whose ping uuid is uuid (then *check_id gets its check), or,
 * with uuid NULL, to heartbeat *check_id of agent_id. *status gets the
 * check's status afterwards (-1: none yet), *dup 1 when r->report_id was
 * taken before (nothing stored). DB_OK, DB_NOT_FOUND (no such heartbeat),
 * or a failure (rolled back).
 */
enum db_outcome hbeat_report(PGconn *c, const char *uuid, int64_t *check_id,
    int64_t agent_id, const struct hbeat_report *r, int *status, int *dup);

/*
 * Inside the caller's transaction, after a check was created or changed:
 * makes, keeps or removes its heartbeat row as its type says, and sets
 * when its next run is expected. ping_uuid (36 characters) is used for a
 * new row. DB_OK or the failure.
 */
enum db_outcome hbeat_sync(PGconn *c, int64_t check_id, const char *ping_uuid);

/* A fresh ping uuid (128 bits from getrandom(2)) into out; 0 or -1. */
int hbeat_new_uuid(char out[37]);

/* The watcher thread (see above); 0 or -1. */
int hbeat_watch_start(void);
void hbeat_watch_stop(void);
/* A deadline may have moved: the watcher looks again now. */
void hbeat_wake(void);

#endif
