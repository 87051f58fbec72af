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

/*
 * The flap window check_state keeps (sql/042_flap_window.sql): the status
 * digits of the check's newest <= ENGINE_FLAP_WINDOW results, oldest first,
 * as ingest read them (from check_state, or rebuilt from the history) and
 * as the batch moves them. It is written back as kept only while every
 * result stored for the check since went through the engine in the
 * history's order (observed_at, then the order stored) - eval_window_keep()
 * says when - so that the next batch reads from check_state exactly what
 * the history would give it (docs/decisions.md, "check_state keeps the flap
 * window").
 */
struct eval_window {
	char st[ENGINE_FLAP_WINDOW + 1];   /* status digits, oldest first, NUL */
	int64_t from_us;        /* at or before the oldest's observed_at; 0: none yet */
	int64_t last_us;        /* the newest's observed_at as stored; 0: none */
	int last_stamped;       /* the newest came with its own stamp */
	int kept;               /* read from check_state (not from the history) */
	int ok;                 /* check_state may keep it (ingest_sql.h: C_WIN_OK) */
	int broken;             /* a result was stored without the engine, or out
	                         * of the history's order: not kept */
	int moved;              /* a result was stepped: the window moved */
};

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
	struct eval_window w;
};

/* One result stored by the batch, in (check, observed) order. */
struct eval_result {
	int64_t check_id;
	int64_t observed_us;
	int stamped;            /* observed_at came with it: it may be late */
	int64_t stored_us;      /* its observed_at as stored (a result the
	                         * server stamps is stamped when it is stored,
	                         * after observed_us) */
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
 * Sets w from what ingest read: the status digits (NULL: none), the
 * stamps (0: none), whether they came from check_state and whether it may
 * keep them. The engine's transition string is rebuilt from the digits by
 * the caller (engine_flap_replay()).
 */
void eval_window_set(struct eval_window *w, const char *digits, int64_t from_us,
    int64_t last_us, int kept, int ok);
/*
 * 1 when c's window is to be written back as kept: it may be, nothing
 * broke it, it holds a result, and the state the batch leaves is SOFT or
 * flapping - then every later result of the check is read and evaluated
 * (ingest_sql.h: only a HARD check that is not flapping may have its
 * repeated status stored without the engine).
 */
int eval_window_keep(const struct eval_check *c);

/*
 * The states eval_batch() changed, as alert_q_write_states' parameter
 * (*states) and '{id,...}' of the checks whose change the live stream
 * shows, as alert_q_after_commit's (*shown); each malloc'd, NULL when
 * there is none. 0, or -1 out of memory (nothing left allocated). A
 * check whose state is unchanged is written when its kept window moved or
 * is no longer kept.
 */
int eval_changed(const struct eval_check *cs, size_t ncs, char **states, char **shown);

#endif
