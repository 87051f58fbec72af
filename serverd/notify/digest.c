/*
 * digest.c - the words of a digest (digest.h). Every channel says the same
 * thing: email and Pushover take digest_title() and digest_body() through
 * notice_title() and notice_body() (notify_format.c), the webhook adds
 * digest_members_json().
 *
 * A digest of a storm can carry thousands of members; an email is capped
 * (EMAIL_MAX) and a phone shows a screenful, so the body lists the worst
 * DIGEST_LINES_MAX with their links and counts the rest, pointing at the
 * dashboard, where all of them are. The webhook lists every member (a
 * bridge may want them all), each output cut to DIGEST_OUTPUT_MAX.
 */
#include "config.h"
#include "digest.h"
#include "engine.h"
#include "notify.h"
#include "serverd.h"

#include <stdlib.h>
#include <string.h>

/* The rank of a member: lower is worse (see digest_sort()). */
static int
rank(const struct digest_member *m)
{
	int k = ev_kind_parse(m->kind);

	if (k == EV_AGENT_DOWN)
		return 0;
	if (k == EV_PROBLEM || k == EV_RENOTIFY)
		return m->status == 2 ? 0 : m->status == 3 ? 1 : m->status == 1 ? 2 : 3;
	if (k == EV_RECOVERY || k == EV_AGENT_UP)
		return 5;
	return 4;
}

static int
is_problem(const struct digest_member *m)
{
	int k = ev_kind_parse(m->kind);

	return k == EV_PROBLEM || k == EV_RENOTIFY || k == EV_AGENT_DOWN;
}

static int
is_recovery(const struct digest_member *m)
{
	int k = ev_kind_parse(m->kind);

	return k == EV_RECOVERY || k == EV_AGENT_UP;
}

/* The sort keys of one member: its series' worst rank and first event. */
struct key {
	struct digest_member m;
	int64_t series;          /* the member's; a row of no series is one of its own */
	int worst;
	int64_t first;
};

static int
by_series(const void *a, const void *b)
{
	const struct key *x = a, *y = b;

	if (x->series != y->series)
		return x->series < y->series ? -1 : 1;
	return x->m.event_id < y->m.event_id ? -1 : x->m.event_id > y->m.event_id;
}

static int
by_worst(const void *a, const void *b)
{
	const struct key *x = a, *y = b;

	if (x->worst != y->worst)
		return x->worst - y->worst;
	if (x->first != y->first)
		return x->first < y->first ? -1 : 1;
	return x->m.event_id < y->m.event_id ? -1 : x->m.event_id > y->m.event_id;
}

void
digest_sort(struct digest_member *m, size_t n)
{
	struct key *k;
	size_t i, j;

	if (n < 2 || (k = calloc(n, sizeof(*k))) == NULL)
		return;   /* out of memory: event order, which is still right, only not worst first */
	for (i = 0; i < n; i++) {
		k[i].m = m[i];
		/* a row of neither a check nor an agent is a series of its own */
		k[i].series = m[i].series != 0 ? m[i].series : INT64_MIN + (int64_t)i;
	}
	qsort(k, n, sizeof(*k), by_series);
	for (i = 0; i < n; i = j) {
		int worst = rank(&k[i].m);
		for (j = i + 1; j < n && k[j].series == k[i].series; j++)
			if (rank(&k[j].m) < worst)
				worst = rank(&k[j].m);
		for (size_t x = i; x < j; x++) {
			k[x].worst = worst;
			k[x].first = k[i].m.event_id;
		}
	}
	qsort(k, n, sizeof(*k), by_worst);
	for (i = 0; i < n; i++)
		m[i] = k[i].m;
	free(k);
}

static size_t
distinct_agents(const struct notice_digest *d)
{
	int64_t *a;
	size_t i, n = 0;

	if (d->n == 0 || (a = malloc(d->n * sizeof(*a))) == NULL)
		return 0;
	for (i = 0; i < d->n; i++) {
		size_t j;
		for (j = 0; j < n && a[j] != d->m[i].agent_id; j++)
			;
		if (j == n)
			a[n++] = d->m[i].agent_id;
	}
	free(a);
	return n;
}

void
digest_title(const struct notice_digest *d, struct buf *out)
{
	size_t i, prob = 0, rec = 0, other = 0, agents;
	const char *sep = "";

	/* A digest of one is titled as its notification would have been: the
	 * storm that held it back ended before another joined, and "1 problem
	 * on 1 agent" would hide what the subject line can say. */
	if (d->n == 1) {
		const struct digest_member *m = &d->m[0];
		struct notice t;

		memset(&t, 0, sizeof(t));
		t.kind = m->kind;
		t.status = m->status;
		t.prev_status = m->prev_status;
		t.agent_id = m->agent_id;
		t.agent = m->agent;
		t.check_id = m->check_id;
		t.check = m->check;
		notice_title(&t, out);
		return;
	}
	agents = distinct_agents(d);
	for (i = 0; i < d->n; i++) {
		if (is_problem(&d->m[i]))
			prob++;
		else if (is_recovery(&d->m[i]))
			rec++;
		else
			other++;
	}
	if (prob) {
		buf_addf(out, "%zu problem%s on %zu agent%s", prob, prob == 1 ? "" : "s",
		    agents, agents == 1 ? "" : "s");
		sep = ", ";
	} else if (rec) {
		buf_addf(out, "%zu recover%s on %zu agent%s", rec, rec == 1 ? "y" : "ies",
		    agents, agents == 1 ? "" : "s");
		rec = 0;
		sep = ", ";
	} else {
		buf_addf(out, "%zu notification%s on %zu agent%s", other, other == 1 ? "" : "s",
		    agents, agents == 1 ? "" : "s");
		other = 0;
		sep = ", ";
	}
	if (rec)
		buf_addf(out, "%s%zu recover%s", sep, rec, rec == 1 ? "y" : "ies");
	if (other)
		buf_addf(out, "%s%zu other notification%s", sep, other, other == 1 ? "" : "s");
}

void
digest_member_link(const struct notice *n, const struct digest_member *m, struct buf *out)
{
	const char *base = n->conf && n->conf->public_url ? n->conf->public_url : "";

	if (m->check_id == 0)
		buf_addf(out, "%s/agents/%lld", base, (long long)m->agent_id);
	else
		buf_addf(out, "%s/checks/%lld", base, (long long)m->check_id);
}

/* The output on one line, cut to DIGEST_OUTPUT_MAX characters (UTF-8). */
static void
one_line(struct buf *out, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t chars = 0;

	for (; *p; p++) {
		if ((*p & 0xC0) != 0x80 && chars++ == DIGEST_OUTPUT_MAX) {
			buf_adds(out, "\xe2\x80\xa6");   /* U+2026 */
			return;
		}
		if (*p == '\n' || *p == '\r' || *p == '\t')
			buf_add(out, " ", 1);
		else
			buf_add(out, p, 1);
	}
}

/* "CRITICAL" (the status), "DOWN"/"UP" for agents, else the event's kind. */
static const char *
status_word(const struct digest_member *m)
{
	int k = ev_kind_parse(m->kind);

	if (k == EV_AGENT_DOWN)
		return "DOWN";
	if (k == EV_AGENT_UP)
		return "UP";
	if ((k == EV_PROBLEM || k == EV_RENOTIFY || k == EV_RECOVERY) && m->status >= 0)
		return notice_status_name(m->status);
	return m->kind;
}

void
digest_body(const struct notice *n, struct buf *out)
{
	const struct notice_digest *d = n->digest;
	size_t i, shown = d->n < DIGEST_LINES_MAX ? d->n : DIGEST_LINES_MAX;

	digest_title(d, out);
	buf_adds(out, "\n\n");
	for (i = 0; i < shown; i++) {
		const struct digest_member *m = &d->m[i];
		buf_addf(out, "%-8s %s%s%s (%s)", status_word(m), m->agent,
		    m->check_id ? "/" : "", m->check_id ? m->check : "", m->kind);
		if (*m->output) {
			buf_adds(out, ": ");
			one_line(out, m->output);
		}
		buf_adds(out, "\n         ");
		digest_member_link(n, m, out);
		buf_adds(out, "\n");
	}
	if (shown < d->n)
		buf_addf(out, "\n... and %zu more: %s/\n", d->n - shown,
		    n->conf && n->conf->public_url ? n->conf->public_url : "");
	if (d->n == 1)
		buf_addf(out, "\nDigest %lld: held back in a storm of notifications to you;"
		    " no other was due when its window ended.\n", (long long)d->id);
	else
		buf_addf(out, "\nDigest %lld: %zu notifications held back in a storm and sent"
		    " as one message.\n", (long long)d->id, d->n);
}

json_t *
digest_members_json(const struct notice *n)
{
	const struct notice_digest *d = n->digest;
	json_t *a = json_array();
	struct buf link, out;
	size_t i;

	if (a == NULL)
		return NULL;
	buf_init(&link, 4096);
	buf_init(&out, 4 * DIGEST_OUTPUT_MAX + 8);
	for (i = 0; i < d->n; i++) {
		const struct digest_member *m = &d->m[i];
		json_t *o;
		buf_reset(&link);
		buf_reset(&out);
		digest_member_link(n, m, &link);
		one_line(&out, m->output);
		o = json_pack("{s:I,s:I,s:s,s:o,s:s,s:o,s:s,s:s}",
		    "notification_id", (json_int_t)m->notification_id,
		    "event_id", (json_int_t)m->event_id, "kind", m->kind,
		    "check", m->check_id ? json_string(m->check) : json_null(),
		    "agent", m->agent,
		    "status", m->status >= 0 ? json_string(notice_status_name(m->status)) : json_null(),
		    "output", out.ptr ? out.ptr : "", "url", link.ptr ? link.ptr : "");
		if (o == NULL || json_array_append_new(a, o) < 0) {
			json_decref(a);
			a = NULL;
			break;
		}
	}
	buf_free(&link);
	buf_free(&out);
	return a;
}
