/*
 * backtest.h - what a check's thresholds and max_attempts would have
 * caused over its stored results: the replay behind
 * POST /api/v1/checks/{id}/backtest (api/api_backtest.c).
 *
 * A pure function, like the engine it drives: the results come in as
 * structs (store/results.h reads them), nothing here touches the
 * database, the clock or the contacts. Each result's status is judged
 * again under the policy's ranges, as the agent judges a value
 * (checks/check.c), and the result is then stepped through engine_step()
 * itself, so the backtest and the live engine cannot disagree on SOFT,
 * HARD, attempts or flapping. What notifies follows alert.c and jobs.c
 * with no downtime, acknowledgement or agent outage (docs/alerting.md,
 * "Threshold backtest"):
 *   - PROBLEM and RECOVERY notify unless the check is flapping after the
 *     step (alert_q_record reads the state the step wrote);
 *   - FLAPPING START and FLAPPING STOP always notify;
 *   - after a step, a HARD state not flapping whose status differs from
 *     the one last notified is told (the "untold" job, which runs every
 *     second: between two results nothing else changes).
 * Re-notifications are not counted (they depend on acknowledgements).
 */
#ifndef CUSTOS_BACKTEST_H
#define CUSTOS_BACKTEST_H

#include <stddef.h>
#include <stdint.h>

#include "engine.h"
#include "range.h"
#include "results.h"

#define BACKTEST_CHANGES_MAX 100   /* HARD changes listed in an answer */

struct bt_policy {
	struct nrange warn, crit;
	int has_warn, has_crit;
	/* 0: the check's type sets its own status (a plugin): stored statuses
	 * are kept, only max_attempts can change the outcome */
	int judge_values;
	struct eng_params p;
};

struct bt_change {
	int64_t at_us;          /* observed_at of the result that made it */
	enum ev_kind kind;      /* EV_PROBLEM or EV_RECOVERY */
	int status;             /* 0..3, the new HARD status */
	int notified;           /* 1 when it notified (0: held back by flapping) */
};

struct bt_outcome {
	long hard_problems;     /* PROBLEM events: HARD changes to a non-OK status */
	long recoveries;        /* RECOVERY events */
	long notifications;     /* events that notify (one per event, not per contact) */
	long flaps;             /* FLAPPING START events */
	size_t nchanges;        /* entries in changes (at most BACKTEST_CHANGES_MAX) */
	struct bt_change changes[BACKTEST_CHANGES_MAX];
};

/*
 * The status the agent would have given r under pol: the stored one when
 * r has no value, when it was UNKNOWN (a failure, not a measurement), or
 * when pol does not judge values; else CRITICAL inside the critical
 * range's alert zone, WARNING inside the warning one, else OK.
 */
int backtest_status(const struct bt_policy *pol, const struct stored_result *r);

/*
 * Replays the n results r (oldest first) from a check with no result yet,
 * under pol, into *out (overwritten).
 */
void backtest_replay(const struct stored_result *r, size_t n, const struct bt_policy *pol,
    struct bt_outcome *out);

#endif
