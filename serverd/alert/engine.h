/*
 * engine.h - the alerting state machine of one check, as a pure function.
 *
 * engine_step() applies one result to a check's state and says which events
 * it causes. It knows nothing of the database, time or contacts: ingest.c
 * loads the states, steps every result in observed order, and writes states
 * and events back in the same transaction. Unit-tested on its own.
 *
 * Semantics (Nagios): a non-OK result raises attempt; the state becomes HARD
 * when attempt reaches max_attempts. A HARD change (problem, a different
 * non-OK state, recovery to OK) is an event. A SOFT problem that recovers is
 * not. Flapping uses the weighted share of state changes over the last 21
 * results: it starts above high_pct and stops below low_pct.
 */
#ifndef CUSTOS_ENGINE_H
#define CUSTOS_ENGINE_H

#include <stdint.h>

#include "check.h"

#define ENGINE_FLAP_WINDOW 21   /* results kept for flap detection (Nagios) */

/* statuses are the check library's enum check_status (CHECK_OK ... CHECK_UNKNOWN) */

enum ev_kind {
	EV_PROBLEM,          /* HARD change to a non-OK state */
	EV_RECOVERY,         /* HARD change back to OK */
	EV_FLAPPING_START,
	EV_FLAPPING_STOP,
	EV_ACKNOWLEDGEMENT,
	EV_DOWNTIME_START,
	EV_DOWNTIME_END,
	EV_AGENT_DOWN,
	EV_AGENT_UP,
	EV_RENOTIFY,         /* a HARD problem still unacknowledged */
	EV__COUNT
};

/* Wire/database names of event kinds ("PROBLEM", "FLAPPING START", ...). */
extern const char *const ev_kind_names[EV__COUNT];
/* The kind named name (as stored in events.kind), or -1: the one place a
 * name becomes a kind, so nothing else compares kind strings. */
int ev_kind_parse(const char *name);

struct eng_state {
	int status;           /* -1: no result yet */
	int hard;             /* 1 HARD, 0 SOFT */
	int attempt;
	int hard_status;      /* the last HARD status */
	int acknowledged;
	int ack_sticky;
	int flapping;
	double flap_pct;
	/*
	 * The last 20 transitions between consecutive results, oldest first:
	 * '1' a change of status, '0' none, with leading '0's dropped (a
	 * missing transition counts as no change anyway). Held only while a
	 * batch is evaluated: ingest rebuilds it (engine_flap_replay()) from
	 * the status digits of the check's newest results, which check_state
	 * keeps while the check is SOFT or flapping and every result stored
	 * went through the engine (sql/042, alert/eval.h: struct eval_window),
	 * and which are read from its stored results otherwise.
	 */
	char flap_history[ENGINE_FLAP_WINDOW + 1];   /* 20 flags, one being pushed, NUL */
	int status_changed;   /* out: this step changed status (for "since") */
};

/* 1 when b differs from a in anything check_state stores (ingest's and the
 * heartbeat watcher's test for "write the state back") */
int eng_state_changed(const struct eng_state *a, const struct eng_state *b);

struct eng_params {
	int max_attempts;
	double flap_low_pct, flap_high_pct;
};

/*
 * Applies a result with Nagios status code st (0..3). Writes up to 3 event
 * kinds into ev and returns how many. The caller decides whether events
 * notify (downtime, acknowledgement, agent down, flapping).
 */
int engine_step(struct eng_state *s, const struct eng_params *p, int st,
    enum ev_kind ev[3]);
/* Weighted percentage of state changes in a transition string (above). */
double engine_flap_pct(const char *flags);
/*
 * The transition string (flap_history above) of a run of results, given as
 * their status digits 0-3 oldest first ("0020"). flags must hold
 * ENGINE_FLAP_WINDOW + 1 bytes. The same string engine_step() would have
 * built stepping those results one by one.
 */
void engine_flap_replay(const char *statuses, char *flags);

#endif
