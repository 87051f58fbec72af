/*
 * backtest.c - see backtest.h.
 *
 * The replay starts from a check with no result, not from the state the
 * check had at the window's start: a problem already present then counts
 * once it has lasted max_attempts results, the same for both policies,
 * so the comparison stays fair. Both policies of one request replay the
 * same array; at 43,200 results a replay is well under a millisecond
 * (bench/backtest), the read from PostgreSQL being the cost.
 */
#include "config.h"
#include "backtest.h"

#include <string.h>

int
backtest_status(const struct bt_policy *pol, const struct stored_result *r)
{
	if (!r->has_value || r->status == CHECK_UNKNOWN || !pol->judge_values)
		return r->status;
	if (pol->has_crit && range_alert(&pol->crit, r->value))
		return CHECK_CRITICAL;
	if (pol->has_warn && range_alert(&pol->warn, r->value))
		return CHECK_WARNING;
	return CHECK_OK;
}

static void
add_change(struct bt_outcome *out, int64_t at_us, enum ev_kind kind, int status, int notified)
{
	struct bt_change *c;

	if (out->nchanges >= BACKTEST_CHANGES_MAX)
		return;
	c = &out->changes[out->nchanges++];
	c->at_us = at_us;
	c->kind = kind;
	c->status = status;
	c->notified = notified;
}

void
backtest_replay(const struct stored_result *r, size_t n, const struct bt_policy *pol,
    struct bt_outcome *out)
{
	struct eng_state s;
	int told = CHECK_OK;   /* check_state.notified_status: what contacts last heard */
	size_t i;

	memset(out, 0, sizeof(*out));
	memset(&s, 0, sizeof(s));
	s.status = -1;      /* pending, as a new check_state row */
	s.hard = 1;
	s.ack_sticky = 1;
	for (i = 0; i < n; i++) {
		enum ev_kind ev[3];
		int st = backtest_status(pol, &r[i]);
		int k, ne = engine_step(&s, &pol->p, st, ev);

		for (k = 0; k < ne; k++) {
			int notify;
			switch (ev[k]) {
			case EV_FLAPPING_START:
				out->flaps++;
				out->notifications++;
				break;
			case EV_FLAPPING_STOP:
				out->notifications++;
				break;
			case EV_PROBLEM:
			case EV_RECOVERY:
				if (ev[k] == EV_PROBLEM)
					out->hard_problems++;
				else
					out->recoveries++;
				notify = !s.flapping;
				if (notify) {
					out->notifications++;
					told = st;
				}
				add_change(out, r[i].observed_us, ev[k], st, notify);
				break;
			default:
				break;   /* the engine makes no other kind */
			}
		}
		/* jobs.c's untold job: what flapping held back, once it stops */
		if (s.hard && !s.flapping && s.status != told) {
			out->notifications++;
			told = s.status;
		}
	}
}
