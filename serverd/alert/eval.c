/*
 * eval.c - see eval.h.
 */
#include "config.h"
#include "buf.h"
#include "eval.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* 1 when the change is one the live stream shows (the check_state_stream
 * trigger's columns: flap_pct alone is not) */
static int
state_shown_changed(const struct eng_state *a, const struct eng_state *b)
{
	return a->status != b->status || a->hard != b->hard || a->attempt != b->attempt ||
	    a->acknowledged != b->acknowledged || a->flapping != b->flapping;
}

/* 1 when the engine changed anything that check_state stores: the flap
 * window moved means a result was evaluated, and flap_pct is then written
 * (check_state.flap_pct is as of the check's last evaluated change) */
static int
cmp_check(const void *a, const void *b)
{
	const struct eval_check *x = a, *y = b;

	return x->check_id < y->check_id ? -1 : x->check_id > y->check_id;
}

void
eval_sort_checks(struct eval_check *cs, size_t ncs)
{
	qsort(cs, ncs, sizeof(*cs), cmp_check);
}

static struct eval_check *
check_of(struct eval_check *cs, size_t ncs, int64_t check_id)
{
	size_t lo = 0, hi = ncs;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (cs[mid].check_id < check_id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < ncs && cs[lo].check_id == check_id ? &cs[lo] : NULL;
}

void
eval_window_set(struct eval_window *w, const char *digits, int64_t from_us, int64_t last_us,
    int kept, int ok)
{
	size_t n = digits ? strlen(digits) : 0;

	memset(w, 0, sizeof(*w));
	if (n > ENGINE_FLAP_WINDOW) {   /* only the newest count (never more is read) */
		digits += n - ENGINE_FLAP_WINDOW;
		n = ENGINE_FLAP_WINDOW;
	}
	if (n > 0)
		memcpy(w->st, digits, n);
	w->st[n] = '\0';
	w->from_us = from_us;
	w->last_us = last_us;
	w->kept = kept;
	w->ok = ok;
}

/*
 * One result stepped: its status joins the window (the newest
 * ENGINE_FLAP_WINDOW kept). The history holds a check's results by
 * (observed_at, the order they were stored); the engine steps them by
 * (observed_us, position in the request). The two agree but where a result
 * is stored before one already in the window (a stamp older than the
 * window's newest as stored: a server-stamped result takes its stamp when
 * stored, after the stamps of the request it came in) or ties with one of
 * the same batch stamped the other way (their order in the batch is then
 * not the one stored): then the window is no longer the history's.
 */
static void
window_push(struct eval_window *w, const struct eval_result *x, int status)
{
	size_t n = strlen(w->st);

	if (w->last_us && (x->stored_us < w->last_us ||
	    (x->stored_us == w->last_us && w->moved && x->stamped != w->last_stamped)))
		w->broken = 1;
	if (n == ENGINE_FLAP_WINDOW) {
		memmove(w->st, w->st + 1, n);   /* the NUL too */
		n--;
	}
	w->st[n++] = (char)('0' + status);
	w->st[n] = '\0';
	if (w->from_us == 0 || x->stored_us < w->from_us)
		w->from_us = x->stored_us;
	w->last_us = x->stored_us;
	w->last_stamped = x->stamped;
	w->moved = 1;
}

int
eval_window_keep(const struct eval_check *c)
{
	return c->w.ok && c->enabled && !c->w.broken && c->w.st[0] && c->w.from_us &&
	    c->w.last_us && (!c->s.hard || c->s.flapping);
}

size_t
eval_batch(struct eval_check *cs, size_t ncs, const struct eval_result *res, size_t n,
    struct alert_event *evs)
{
	size_t i, nev = 0;

	for (i = 0; i < n; i++) {
		const struct eval_result *x = &res[i];
		struct eval_check *c = check_of(cs, ncs, x->check_id);
		enum ev_kind ek[3];
		int k, ne, prev;

		if (c == NULL || !c->enabled)
			continue;   /* steady, or disabled (history only, no state, no event) */
		if (x->stamped && x->observed_us < c->last_us) {
			c->w.broken = 1;   /* history only: the window misses it */
			continue;          /* late result */
		}
		prev = c->s.status;
		ne = engine_step(&c->s, &c->p, x->status, ek);
		window_push(&c->w, x, c->s.status);
		c->last_us = x->observed_us;
		if (c->s.status_changed)
			c->since_us = x->observed_us;
		for (k = 0; k < ne; k++) {
			struct alert_event *e = &evs[nev++];
			memset(e, 0, sizeof(*e));
			e->kind = ek[k];
			e->agent_id = c->agent_id;
			e->check_id = c->check_id;
			e->status = x->status;
			e->prev_status = prev;
			e->hard = c->s.hard;
			e->attempt = c->s.attempt;
			e->has_value = x->has_value;
			e->value = x->value;
			e->output = x->output;
		}
	}
	return nev;
}

/*
 * JSON written straight into one buffer (every value is a number, a
 * boolean, or engine-made text of digits, so nothing needs escaping; a
 * jansson object per state cost ~30 allocations each).
 */
int
eval_changed(const struct eval_check *cs, size_t ncs, char **states, char **shown)
{
	struct buf t, ids;
	size_t j;
	int n = 0, nid = 0, failed;

	*states = *shown = NULL;
	buf_init(&t, (size_t)1 << 30);
	buf_init(&ids, (size_t)1 << 30);
	for (j = 0; j < ncs; j++) {
		const struct eval_check *c = &cs[j];
		char since[24] = "null";
		int keep = eval_window_keep(c);
		/* the common case: nothing to write (a window kept moves only
		 * when a result was stepped; one no longer kept is cleared) */
		if (!eng_state_changed(&c->before, &c->s) && !(keep && c->w.moved) &&
		    !(c->w.kept && !keep))
			continue;
		if (c->since_us)
			snprintf(since, sizeof(since), "%lld", (long long)c->since_us);
		buf_addf(&t, "%s{\"check_id\":%lld,\"status\":%d,\"state_type\":\"%s\","
		    "\"attempt\":%d,\"hard_status\":%d,\"since\":%s,\"ack_cleared\":%s,"
		    "\"flapping\":%s,\"flap_pct\":%.17g",
		    n++ ? "," : "[", (long long)c->check_id, c->s.status, c->s.hard ? "HARD" : "SOFT",
		    c->s.attempt, c->s.hard_status, since,
		    c->before.acknowledged && !c->s.acknowledged ? "true" : "false",
		    c->s.flapping ? "true" : "false", c->s.flap_pct);
		if (keep)
			buf_addf(&t, ",\"win\":\"%s\",\"win_from\":%lld,\"win_last\":%lld,"
			    "\"win_kept\":%s}", c->w.st, (long long)c->w.from_us,
			    (long long)c->w.last_us, c->w.kept ? "true" : "false");
		else
			buf_addf(&t, ",\"win\":null}");
		if (state_shown_changed(&c->before, &c->s))
			buf_addf(&ids, "%s%lld", nid++ ? "," : "{", (long long)c->check_id);
	}
	if (n > 0 && buf_adds(&t, "]") == 0)
		*states = buf_take(&t);
	if (nid > 0 && buf_adds(&ids, "}") == 0)
		*shown = buf_take(&ids);
	failed = t.failed || ids.failed;
	buf_free(&t);
	buf_free(&ids);
	if (failed) {
		free(*states);
		free(*shown);
		*states = *shown = NULL;
		return -1;
	}
	return 0;
}
