/*
 * notify_format.c - the words of a notification, shared by every channel.
 *
 * Titles follow docs/alerting.md exactly ("PROBLEM web01/sshd is CRITICAL"; the
 * email subject adds "[custos] "). A RENOTIFY event is a reminder of a
 * problem and reads as a PROBLEM, so a mail filter needs one rule. A
 * problem sent after it was resolved (a resend after a crash, a retry
 * after an outage) says so in its title, " (resolved since)", and in a
 * "Resolved:" line first in the body: never a bare PROBLEM after its
 * RECOVERY (docs/alerting-delivery.md). The
 * body is plain text meant to be read on a phone at 3 a.m.: what, where,
 * how bad, against which threshold, for how long, and where to look; a
 * problem mail ends with its acknowledgement link (acklink.h).
 */
#include "config.h"
#include "check.h"
#include "digest.h"
#include "engine.h"
#include "notify.h"
#include "serverd.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

const char *
notice_status_name(int status)
{
	/* the one table of status names (check.h) */
	return status >= 0 && status < CHECK_STATUS_COUNT ? check_status_name(status) : "";
}

static int
is_agent_event(const struct notice *n)
{
	int k = ev_kind_parse(n->kind);

	return n->check_id == 0 || k == EV_AGENT_DOWN || k == EV_AGENT_UP;
}

void
notice_title(const struct notice *n, struct buf *out)
{
	const char *verb = n->kind;
	int with_state = 0, k = ev_kind_parse(n->kind);

	if (n->digest) {
		digest_title(n->digest, out);
		return;
	}
	if (k == EV_PROBLEM || k == EV_RENOTIFY) {
		verb = "PROBLEM";
		with_state = 1;
	} else if (k == EV_RECOVERY) {
		with_state = 1;
	} else if (k == EV_ACKNOWLEDGEMENT) {
		verb = "ACKNOWLEDGED";
		with_state = 1;
	}
	if (is_agent_event(n))
		buf_addf(out, "%s %s", verb, n->agent);
	else
		buf_addf(out, "%s %s/%s", verb, n->agent, n->check);
	if (with_state && n->status >= 0)
		buf_addf(out, " is %s", notice_status_name(n->status));
	if (n->resolved_since && *n->resolved_since)
		buf_adds(out, NOTICE_RESOLVED);
}

void
notice_link(const struct notice *n, struct buf *out)
{
	const char *base = n->conf && n->conf->public_url ? n->conf->public_url : "";

	if (n->digest)
		buf_addf(out, "%s/", base);   /* the dashboard: every member is there */
	else if (is_agent_event(n))
		buf_addf(out, "%s/agents/%lld", base, (long long)n->agent_id);
	else
		buf_addf(out, "%s/checks/%lld", base, (long long)n->check_id);
}

void
notice_output(const struct notice *n, struct buf *out)
{
	const unsigned char *p = (const unsigned char *)n->output;
	size_t i = 0, chars = 0;

	/* count characters: every byte that does not continue a UTF-8 sequence */
	while (p[i] != '\0') {
		if ((p[i] & 0xC0) != 0x80) {
			if (chars == NOTICE_OUTPUT_MAX)
				break;
			chars++;
		}
		i++;
	}
	buf_add(out, n->output, i);
	if (p[i] != '\0')
		buf_adds(out, "\xe2\x80\xa6");   /* U+2026 HORIZONTAL ELLIPSIS */
}

/* One "Label:  value" line; value may be empty (the line is then skipped). */
static void
line(struct buf *out, const char *label, const char *value)
{
	if (value && *value)
		buf_addf(out, "%-10s %s\n", label, value);
}

static void
add_detail(struct buf *out, const char *detail)
{
	json_t *d, *v;

	if (*detail == '\0' || (d = json_loads(detail, 0, NULL)) == NULL)
		return;
	if ((v = json_object_get(d, "comment")) && json_is_string(v))
		line(out, "Comment:", json_string_value(v));
	if ((v = json_object_get(d, "by")) && json_is_string(v))
		line(out, "By:", json_string_value(v));
	if ((v = json_object_get(d, "expires_at")) && json_is_string(v))
		line(out, "Expires:", json_string_value(v));
	if ((v = json_object_get(d, "reason")) && json_is_string(v))
		line(out, "Reason:", json_string_value(v));
	/* a parent's problem: what depends on it (check_dependents_detail(),
	 * sql/functions/), all of it suppressed while it lasts */
	if ((v = json_object_get(d, "dependents")) && json_is_object(v)) {
		json_int_t nc = json_integer_value(json_object_get(v, "checks"));
		json_int_t na = json_integer_value(json_object_get(v, "agents"));
		buf_addf(out, "%-10s %lld check%s on %lld agent%s depend%s on it\n", "Impact:",
		    (long long)nc, nc == 1 ? "" : "s", (long long)na, na == 1 ? "" : "s",
		    nc == 1 ? "s" : "");
	}
	json_decref(d);
}

/*
 * A value as the dashboard shows it (chart.js's fmtValue): three decimals,
 * one from 100 up, trailing zeros dropped, and an exponent for the very
 * large and the very small: "Value: 22.055", not 22.0545945537162.
 */
static void
value_text(double v, char *out, size_t len)
{
	double a = fabs(v);
	char *e;

	if (!isfinite(v) || a >= 1e6 || (a > 0 && a < 1e-3)) {
		snprintf(out, len, "%.2e", v);
		return;
	}
	snprintf(out, len, "%.*f", a >= 100 ? 1 : 3, v);
	if (strchr(out, '.')) {
		for (e = out + strlen(out) - 1; *e == '0'; e--)
			*e = '\0';
		if (*e == '.')
			*e = '\0';
	}
	if (strcmp(out, "-0") == 0)
		snprintf(out, len, "0");   /* a value rounded to zero has no sign */
}

void
notice_body(const struct notice *n, struct buf *out)
{
	struct buf t;

	if (n->digest) {
		digest_body(n, out);
		return;
	}
	buf_init(&t, 4096);
	notice_title(n, &t);
	buf_addf(out, "%s%s\n\n", t.ptr ? t.ptr : "",
	    ev_kind_parse(n->kind) == EV_RENOTIFY && !(n->resolved_since && *n->resolved_since) ?
	    " (reminder: still unresolved)" : "");
	buf_free(&t);

	line(out, "Resolved:", n->resolved_since);
	line(out, "Host:", n->agent);
	if (!is_agent_event(n)) {
		if (*n->check_type)
			buf_addf(out, "%-10s %s (%s)\n", "Check:", n->check, n->check_type);
		else
			line(out, "Check:", n->check);
		if (n->status >= 0) {
			buf_addf(out, "%-10s %s", "State:", notice_status_name(n->status));
			if (*n->state_type)
				buf_addf(out, " (%s", n->state_type);
			if (n->prev_status >= 0 && n->prev_status != n->status)
				buf_addf(out, "%s was %s", *n->state_type ? "," : " (",
				    notice_status_name(n->prev_status));
			if (*n->state_type || (n->prev_status >= 0 && n->prev_status != n->status))
				buf_adds(out, ")");
			buf_adds(out, "\n");
		}
		if (n->has_value) {
			char v[40];
			value_text(n->value, v, sizeof(v));
			buf_addf(out, "%-10s %s", "Value:", v);
			if (*n->warning || *n->critical)
				buf_addf(out, " (warning %s, critical %s)",
				    *n->warning ? n->warning : "none",
				    *n->critical ? n->critical : "none");
			buf_adds(out, "\n");
		} else if (*n->warning || *n->critical) {
			buf_addf(out, "%-10s none (warning %s, critical %s)\n", "Value:",
			    *n->warning ? n->warning : "none", *n->critical ? n->critical : "none");
		}
		if (n->attempt > 0) {
			if (n->max_attempts > 0)
				buf_addf(out, "%-10s %d/%d\n", "Attempts:", n->attempt, n->max_attempts);
			else
				buf_addf(out, "%-10s %d\n", "Attempts:", n->attempt);
		}
		line(out, "Since:", n->since);
	}
	if (*n->output) {
		buf_addf(out, "%-10s ", "Output:");
		notice_output(n, out);
		buf_adds(out, "\n");
	}
	add_detail(out, n->detail);
	line(out, "Event:", n->event_at);
	buf_adds(out, "\n");
	notice_link(n, out);
	buf_adds(out, "\n");
	if (n->ack_url && *n->ack_url)
		buf_addf(out, "Acknowledge: %s\n", n->ack_url);
}
