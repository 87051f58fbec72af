/*
 * engine.c - see engine.h.
 */
#include "config.h"
#include "engine.h"

#include <string.h>

const char *const ev_kind_names[EV__COUNT] = {
	[EV_PROBLEM] = "PROBLEM",
	[EV_RECOVERY] = "RECOVERY",
	[EV_FLAPPING_START] = "FLAPPING START",
	[EV_FLAPPING_STOP] = "FLAPPING STOP",
	[EV_ACKNOWLEDGEMENT] = "ACKNOWLEDGEMENT",
	[EV_DOWNTIME_START] = "DOWNTIME START",
	[EV_DOWNTIME_END] = "DOWNTIME END",
	[EV_AGENT_DOWN] = "AGENT DOWN",
	[EV_AGENT_UP] = "AGENT UP",
	[EV_RENOTIFY] = "RENOTIFY",
};

const char *const status_names[4] = { "OK", "WARNING", "CRITICAL", "UNKNOWN" };

/*
 * Nagios weights the 20 transitions of the 21-result window linearly from
 * 0.8 (oldest) to 1.2 (newest), so recent changes count more; the sum is
 * divided by 20. With fewer results the missing transitions count as
 * "no change", so a new check cannot flap on its first few results.
 */
double
engine_flap_pct(const char *hist)
{
	size_t n = strlen(hist), i;
	double sum = 0;
	const double step = 0.4 / (ENGINE_FLAP_WINDOW - 2);

	for (i = 1; i < n; i++) {
		/* transition i of the window, aligned so the newest has weight 1.2 */
		size_t pos = (ENGINE_FLAP_WINDOW - n) + i;   /* 1..20 */
		if (hist[i] != hist[i - 1])
			sum += 0.8 + (double)(pos - 1) * step;
	}
	return sum * 100.0 / (ENGINE_FLAP_WINDOW - 1);
}

int
engine_step(struct eng_state *s, const struct eng_params *p, int st, enum ev_kind ev[3])
{
	int nev = 0, prev = s->status, was_flapping = s->flapping;
	size_t hl;

	if (st < 0 || st > 3)
		st = ST_UNKNOWN;
	s->status_changed = prev != st;

	/* flap window */
	hl = strlen(s->flap_history);
	if (hl == ENGINE_FLAP_WINDOW) {
		memmove(s->flap_history, s->flap_history + 1, ENGINE_FLAP_WINDOW - 1);
		hl--;
	}
	s->flap_history[hl] = (char)('0' + st);
	s->flap_history[hl + 1] = '\0';
	s->flap_pct = engine_flap_pct(s->flap_history);
	if (!s->flapping && s->flap_pct > p->flap_high_pct)
		s->flapping = 1;
	else if (s->flapping && s->flap_pct < p->flap_low_pct)
		s->flapping = 0;
	if (s->flapping && !was_flapping)
		ev[nev++] = EV_FLAPPING_START;
	else if (!s->flapping && was_flapping)
		ev[nev++] = EV_FLAPPING_STOP;

	if (st == ST_OK) {
		if (prev > ST_OK && s->hard && s->hard_status != ST_OK)
			ev[nev++] = EV_RECOVERY;
		s->hard = 1;
		s->attempt = 1;
		s->hard_status = ST_OK;
		if (prev != ST_OK)
			s->acknowledged = 0;   /* every acknowledgement ends at OK */
	} else if (prev <= ST_OK) {
		/* from OK (or no result yet): the first failure */
		s->attempt = 1;
		s->hard = s->attempt >= p->max_attempts;
		if (s->hard) {
			s->hard_status = st;
			ev[nev++] = EV_PROBLEM;
		}
	} else if (!s->hard) {
		/* SOFT problem continues */
		if (s->attempt < p->max_attempts)
			s->attempt++;
		if (s->attempt >= p->max_attempts) {
			s->hard = 1;
			s->hard_status = st;
			ev[nev++] = EV_PROBLEM;
		}
	} else if (st != s->hard_status) {
		/* HARD problem changes to another non-OK state: a new HARD change */
		s->hard_status = st;
		if (s->acknowledged && !s->ack_sticky)
			s->acknowledged = 0;
		ev[nev++] = EV_PROBLEM;
	}
	s->status = st;
	return nev;
}
