/*
 * ingest_sql.h - the statements that store a batch of results and read the
 * states of its checks (serverd/api/ingest.c runs them, in the order its
 * head describes; the tables are sql/005_history.sql and sql/021).
 *
 * Every statement is planned the same whatever the statistics of the day
 * partitions (docs/decisions.md, "No ingest statement is planned on a
 * partition's statistics"): check_state and checks are probed by key per
 * check (unnest(ids) CROSS JOIN LATERAL (... WHERE key = id OFFSET 0)); a
 * check in motion takes its flap window from check_state where that keeps
 * it (sql/042_flap_window.sql: a SOFT or flapping check whose every stored
 * result went through the engine); the history any other needs is read by
 * ingest_checks_recent()
 * (sql/functions/, planned without sorting: the check's index from its
 * newest end, in the partitions its range names); a result the server stamps is de-duplicated
 * by claiming its result_id in result_stamps (INSERT ... ON CONFLICT on the
 * primary key: no plan to choose), never looked up across partitions; a
 * result with its own stamp by check_history's unique key, which holds the
 * partition key.
 *
 * Parameters (binary arrays where marked []):
 *   AGENT   the agent's id            IDS[]   the distinct checks named
 *   STS[]   per check, the status all its results carry (-1: they differ)
 *   FIRST[] per check, its earliest stamp (µs; a result the server stamps
 *           counts as now: it is never late)
 *   SKEW    max_clock_skew_s          NOW     the server's stamp (µs) for
 *                                             results without their own
 */
#ifndef CUSTOS_INGEST_SQL_H
#define CUSTOS_INGEST_SQL_H

#include "db.h"

/* how many of a check's newest results its flap window is read from (the
 * engine's ENGINE_FLAP_WINDOW: ingest.c checks that they agree) */
#define INGEST_FLAP_RESULTS 21

/* The columns of the rows of ingest_q_states and ingest_q_insert. */
enum ingest_col {
	C_KIND,          /* INGEST_ROW_* */
	C_ID,            /* 'i': the stored row's id */
	C_RID,           /* 'i': its result_id (NULL: none) */
	C_CHECK,         /* 'k': the check */
	C_AGENT,         /* 'k': its agent (NULL: no such check) */
	C_MAX_ATTEMPTS,  /* the rest: the state of a check that may change */
	C_STATUS, C_STATE_TYPE, C_ATTEMPT, C_HARD_STATUS, C_ACK, C_ACK_STICKY,
	C_FLAPPING, C_FLAP_PCT, C_ENABLED,
	C_NEWEST_US,     /* the newest result stored after FIRST (µs), or 0 */
	C_FLAP,          /* the flap window's statuses, oldest first, or NULL */
	C_WIN_FROM,      /* a stamp (µs) at or before the window's oldest, or NULL */
	C_WIN_LAST,      /* the stamp (µs) of the window's newest, or NULL */
	C_WIN_KEPT,      /* the window is check_state's (sql/042), not read */
	C_WIN_OK,        /* check_state may keep the check's window */
	C_NCOLS
};
/*
 * Row kinds. 'k': a check that may change (its state follows), or one that
 * is not this agent's or does not exist (C_AGENT is another agent or NULL;
 * then nothing is stored). A check whose results all repeat its status
 * while it is HARD and not flapping cannot change and has no row.
 * 'a': the agent's clock was last seen further ahead than SKEW: its resends
 * may repeat results the server stamped, so every result_id of its batch
 * is claimed (ingest_q_claim; ingest_q_insert does so itself).
 * 'i' (ingest_q_insert only): a row stored.
 */
#define INGEST_ROW_STATE 'k'
#define INGEST_ROW_AHEAD 'a'
#define INGEST_ROW_STORED 'i'

/* $1 AGENT, $2 IDS[], $3 STS[], $4 FIRST[], $5 SKEW: the 'k' and 'a' rows. */
extern const struct db_stmt ingest_q_states;
/*
 * Claims result_ids one by one: $1 AGENT, $2 text[] the result_ids.
 * Answers the result_ids claimed now (one column); one not answered was
 * claimed before: a duplicate. Runs in the batch's transaction, under the
 * agent's lock, before the COPY; used there for the result_ids an agent
 * seen ahead stamped itself (those the server stamps: ingest_q_claim_all).
 */
extern const struct db_stmt ingest_q_claim;
/*
 * The claims of the result_ids the server stamps on the COPY way, all or
 * nothing: $1 AGENT, $2 text[].
 * No ON CONFLICT: one that was claimed before (a resend) or named twice in
 * the batch fails the statement (unique_violation), and ingest.c takes the
 * INSERT way, whose claim says which ones. Resends are rare, and a
 * speculative insertion per result (ON CONFLICT's probe, its token and the
 * WAL record confirming it) and the RETURNING cost: 0.78 against 0.54 ms
 * for 100 claims in isolation; in the churn bench, unstamped results cost
 * PostgreSQL ~9 ms per 1,000 more than stamped ones before, ~2 after
 * (bench/README.md).
 */
extern const struct db_stmt ingest_q_claim_all;
/*
 * The careful way in, in one statement: $1..$8 the results' columns in
 * request order (check_id, status, value, output, perfdata, observed_at or
 * NULL: the server stamps it, duration_ms, result_id), $9 AGENT, $10 IDS[],
 * $11 STS[], $12 FIRST[], $13 SKEW, $14 NOW. The 'k' rows as
 * ingest_q_states and 'a' (as before the insert: its rows are not visible to the
 * statement), then an 'i' row per result stored. A result with its own
 * stamp already stored is skipped by the unique key (ON CONFLICT DO
 * NOTHING); one stamped here (or any, from an agent whose clock was last
 * seen ahead) is claimed in result_stamps first, and skipped when it was
 * claimed before. Nothing is stored when a check is not the agent's.
 */
extern const struct db_stmt ingest_q_insert;
#define INGEST_INSERT_COLS 8

/* The usual way in: every result in one COPY (binary) of these fields. */
extern const char ingest_copy_sql[];
#define INGEST_COPY_FIELDS 9

#endif
