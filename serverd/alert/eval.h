/*
 * eval.h - a batch of new results stepped through the engine, and the
 * states it changed written back: ingest's evaluation, in the wing that
 * owns check_state (state.h: its one writer and its lock rule).
 *
 * Ingest reads the states of the checks that may change (store/ingest_sql.h)
 * into struct eval_check, hands over the results it stored as struct
 * eval_result, and gets the events to record (alert.h) and the JSON that
 * alert_q_write_states takes. Nothing here talks to the database.
 */
#ifndef CUSTOS_ALERT_EVAL_H
#define CUSTOS_ALERT_EVAL_H

#include <stddef.h>
#include <stdint.h>

#include "alert.h"
#include "engine.h"

/* One check that may change, as read under the agent's lock. */
struct eval_check {
	int64_t check_id;
	int64_t agent_id;
	struct eng_params p;
	struct eng_state s;
	int64_t last_us;        /* observed_at of the newest evaluated result */
	int64_t since_us;       /* 0 = unchanged */
	int enabled;            /* a disabled check's results are history only */
	struct eng_state before;  /* as read, to write back only what changed */
};

/* One result stored by the batch, in (check, observed) order. */
struct eval_result {
	int64_t check_id;
	int64_t observed_us;
	int stamped;            /* observed_at came with it: it may be late */
	int status;
	int has_value;
	double value;
	const char *output;     /* borrowed */
};

/* Sorts cs by check_id (eval_batch() finds a check by it). */
void eval_sort_checks(struct eval_check *cs, size_t ncs);

/*
 * Steps each result through the engine of its check, when that check is
 * in cs (the others cannot change: steady, or disabled) and the result is
 * not late (a stamped result older than the check's newest evaluated one is
 * history only; a result the server stamped is never late). evs has room
 * for 3 events per result; returns how many it filled. The events borrow
 * the results' outputs.
 */
size_t eval_batch(struct eval_check *cs, size_t ncs, const struct eval_result *res, size_t n,
    struct alert_event *evs);

/*
 * The states eval_batch() changed, as alert_q_write_states' parameter
 * (*states) and '{id,...}' of the checks whose change the live stream
 * shows, as alert_q_after_commit's (*shown); each malloc'd, NULL when
 * there is none. 0, or -1 out of memory (nothing left allocated).
 */
int eval_changed(const struct eval_check *cs, size_t ncs, char **states, char **shown);

#endif
