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

int
ev_kind_parse(const char *name)
{
	int k;

	for (k = 0; name && k < EV__COUNT; k++)
		if (strcmp(name, ev_kind_names[k]) == 0)
			return k;
	return -1;
}


/*
 * Nagios weights the 20 transitions of the 21-result window linearly from
 * 0.8 (oldest) to 1.2 (newest), so recent changes count more; the sum is
 * divided by 20. flags holds the newest transitions last; those it lacks
 * (a short history, or dropped leading no-changes) count as no change, so
 * a new check cannot flap on its first few results.
 */
double
engine_flap_pct(const char *flags)
{
	size_t n = strlen(flags), i;
	double sum = 0;
	const double step = 0.4 / (ENGINE_FLAP_WINDOW - 2);

	if (n > ENGINE_FLAP_WINDOW - 1) {   /* only the newest 20 count */
		flags += n - (ENGINE_FLAP_WINDOW - 1);
		n = ENGINE_FLAP_WINDOW - 1;
	}
	for (i = 0; i < n; i++) {
		/* position 1..20 of this transition in the window, 20 the newest */
		size_t pos = (ENGINE_FLAP_WINDOW - 1) - (n - 1 - i);
		if (flags[i] == '1')
			sum += 0.8 + (double)(pos - 1) * step;
	}
	return sum * 100.0 / (ENGINE_FLAP_WINDOW - 1);
}

/* Appends one transition flag, keeping the newest 20 and no leading '0'. */
static void
flags_push(char *flags, int changed)
{
	size_t n = strlen(flags), skip = 0;

	if (n == 0 && !changed)
		return;   /* the steady case: nothing to remember */
	flags[n++] = changed ? '1' : '0';
	flags[n] = '\0';
	if (n > ENGINE_FLAP_WINDOW - 1)
		skip = n - (ENGINE_FLAP_WINDOW - 1);
	while (flags[skip] == '0')
		skip++;
	if (skip)
		memmove(flags, flags + skip, strlen(flags + skip) + 1);
}

void
engine_flap_replay(const char *statuses, char *flags)
{
	size_t i;

	flags[0] = '\0';
	for (i = 1; statuses[0] && statuses[i]; i++)
		flags_push(flags, statuses[i] != statuses[i - 1]);
}

int
engine_step(struct eng_state *s, const struct eng_params *p, int st, enum ev_kind ev[3])
{
	int nev = 0, prev = s->status, was_flapping = s->flapping;

	if (st < 0 || st > 3)
		st = CHECK_UNKNOWN;
	s->status_changed = prev != st;

	/* flap window: a transition exists only between two results */
	if (prev >= 0)
		flags_push(s->flap_history, prev != st);
	s->flap_pct = engine_flap_pct(s->flap_history);
	if (!s->flapping && s->flap_pct > p->flap_high_pct)
		s->flapping = 1;
	else if (s->flapping && s->flap_pct < p->flap_low_pct)
		s->flapping = 0;
	if (s->flapping && !was_flapping)
		ev[nev++] = EV_FLAPPING_START;
	else if (!s->flapping && was_flapping)
		ev[nev++] = EV_FLAPPING_STOP;

	if (st == CHECK_OK) {
		if (prev > CHECK_OK && s->hard && s->hard_status != CHECK_OK)
			ev[nev++] = EV_RECOVERY;
		s->hard = 1;
		s->attempt = 1;
		s->hard_status = CHECK_OK;
		if (prev != CHECK_OK)
			s->acknowledged = 0;   /* every acknowledgement ends at OK */
	} else if (prev <= CHECK_OK) {
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

int
eng_state_changed(const struct eng_state *a, const struct eng_state *b)
{
	return a->status != b->status || a->hard != b->hard || a->attempt != b->attempt ||
	    a->hard_status != b->hard_status || a->acknowledged != b->acknowledged ||
	    a->flapping != b->flapping || strcmp(a->flap_history, b->flap_history) != 0;
}
