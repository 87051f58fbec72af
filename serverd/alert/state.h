/*
 * state.h - check_state's one writer and its one lock rule.
 *
 * THE RULE. A transaction that changes a check's state - status, state
 * type, attempt, acknowledgement, flapping - first takes its agent's lock,
 *     pg_advisory_xact_lock(ALERT_LOCK_CLASS, agent_id & 0x7fffffff)
 * in a statement of its own, and only then reads the state it will change
 * (under READ COMMITTED a statement sees what committed before it started,
 * so the read must start after the lock is held). The lock is held to
 * COMMIT. Ingest takes it once per request for the posting agent; an
 * acknowledgement takes it for the check's agent (alert_lock_check());
 * the one job that changes a state, acknowledgement expiry, takes it per
 * agent with the try- variant and leaves agents that are busy for its
 * next tick (the other jobs change no state: alert/jobs.c). So two
 * writers of one check never interleave: an acknowledgement and an OK
 * result that arrive together are applied one after the other, in either
 * order, and the ack never outlives the problem (OK first: the ack sees
 * OK and is refused with 409; ack first: the OK reads the ack and clears
 * it).
 *
 * Columns that only record what was notified (last_notified_at,
 * notified_status, written by alert_record()) are bookkeeping of the
 * outbox, not state, and are written under the row lock alone.
 *
 * Everything in this file runs inside the caller's transaction and
 * returns a store outcome; the caller rolls back on anything but DB_OK.
 */
#ifndef CUSTOS_ALERT_STATE_H
#define CUSTOS_ALERT_STATE_H

#include <libpq-fe.h>
#include <stdint.h>

#include "db.h"

#define ALERT_LOCK_CLASS "1668642164"   /* advisory lock class: one lock per agent id */

/* The agent lock by agent id ($1, already masked to 31 bits), for pipelines. */
extern const struct db_stmt alert_q_lock_agent;
/*
 * The same lock for ingest, whose transaction leaves its notifications
 * (the live stream's, the senders' wake-up) until after its COMMIT: the
 * caller then names the checks it changed to alert_q_after_commit, in a
 * transaction of its own (sql/013_stream_after_commit.sql says why).
 */
extern const struct db_stmt alert_q_lock_ingest;
/*
 * $1: '{check_id,...}' whose state the committed transaction changed, or
 * NULL; $2: the caller's tag for the senders' wake-up, or NULL (sql/
 * functions/after_commit_notify.sql). One row: the wake-up's payload, NULL
 * when the transaction queued no notification.
 */
extern const struct db_stmt alert_q_after_commit;
/*
 * Writes back the states the engine changed: $1 a JSON array of
 * {check_id, status, state_type, attempt, hard_status, since (µs since the
 * epoch, or null: unchanged), ack_cleared, flapping, flap_pct}. An
 * acknowledgement never survives a state that is OK.
 */
extern const struct db_stmt alert_q_write_states;

/* Takes agent_id's lock. */
enum db_outcome alert_lock_agent(PGconn *c, int64_t agent_id);
/*
 * Takes the lock of check_id's agent and fills *agent_id. A check moved to
 * another agent meanwhile is locked again under its new agent.
 * DB_NOT_FOUND when there is no such check.
 */
enum db_outcome alert_lock_check(PGconn *c, int64_t check_id, int64_t *agent_id);

/*
 * Sets the acknowledgement of check_id (locked by the caller with
 * alert_lock_check()). expires_us 0: no expiry. *out gets one row, the
 * acknowledgement as JSON (the caller clears it).
 */
enum db_outcome alert_ack_set(PGconn *c, int64_t check_id, const char *comment, int sticky,
    int64_t expires_us, const char *by, PGresult **out);
/* Lifts the acknowledgement of check_id; DB_NOT_FOUND when there is no check. */
enum db_outcome alert_ack_clear(PGconn *c, int64_t check_id);
/* Lifts expired acknowledgements of agents not busy now; *n gets how many. */
enum db_outcome alert_ack_expire(PGconn *c, int *n);

#endif
