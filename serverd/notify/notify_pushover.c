/*
 * notify_pushover.c - Pushover over HTTP (docs/alerting.md, Pushover).
 *
 * POST {pushover_url} (form-encoded) with token (pushover_token), user
 * (the contact's key), device (when the contact names one), message (the
 * body, cut to 1024 bytes), title (the subject without "[custos] ", cut
 * to 250), priority, timestamp (the event's time) and url (the link, at
 * most 512). Priority: CRITICAL problems and AGENT DOWN 1; WARNING and
 * UNKNOWN problems, flapping 0; RECOVERY, AGENT UP and acknowledgements -1.
 * A contact with pushover_emergency gets 2 (with retry 60, expire 3600)
 * instead of 1: an emergency page repeats until acknowledged in the app,
 * which suits an outage and would be absurd for a recovery. An emergency
 * page carries tags=custos-check-<id> (custos-agent-<id> for AGENT DOWN);
 * its receipt goes back to the outbox, which stores it and cancels the
 * page (channel_pushover.cancel, by tag) when the check recovers or is
 * acknowledged (or the agent is up again). While it rings, receipt.c polls
 * the receipt (pushover_receipt_poll() below, GET .../1/receipts/R.json):
 * an acknowledgement in the app acknowledges the check.
 *
 * A digest (n->digest, digest.h) is one message: its title "37 problems
 * on 12 agents", its body the worst members first, its priority the
 * highest of its members' but never 2 (see digest_priority()).
 * A notification a policy made goes at its step's "priority" when the step
 * has one (problems and AGENT DOWN only; docs/alerting.md, "Policies and
 * escalation").
 *
 * A resend of an attempt in doubt has a title ending in " (resent)". A
 * problem resolved by the time it is sent (notice_title(): " (resolved
 * since)") goes at priority 0, never 1 or 2: nothing to wake anybody for.
 * The whole request ends within pushover_timeout_s.
 *
 * Success is HTTP 200 with "status":1. 4xx (but 408 and 429) is permanent -
 * the request itself is wrong (bad user key, bad token) and would fail
 * again; 408, 429, 5xx and network errors are retried by the outbox. A 429,
 * or an answer with X-Limit-App-Remaining: 0, pauses Pushover until
 * X-Limit-App-Reset (res->pause_until; a 429 without the header pauses for
 * PO_PAUSE_DEFAULT_S).
 */
#include "config.h"
#include "channel.h"
#include "digest.h"
#include "engine.h"
#include "httpc.h"
#include "notify.h"
#include "receipt.h"
#include "serverd.h"
#include "strnum.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define PO_MESSAGE_MAX 1024
#define PO_TITLE_MAX 250
#define PO_URL_MAX 512
#define PO_EMERGENCY_RETRY 60
#define PO_EMERGENCY_EXPIRE 3600
#define PO_PAUSE_DEFAULT_S 60       /* a 429 that does not say until when */
#define PO_RESENT " (resent)"

/* Cuts s (in place) to at most max bytes without splitting a UTF-8 sequence. */
static void
cut_utf8(char *s, size_t max)
{
	size_t n = strlen(s);

	if (n <= max)
		return;
	n = max;
	while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
		n--;
	s[n] = '\0';
}

static int pushover_priority(const struct notice *n);

/*
 * A digest's priority: the highest of its members', but never 2: an
 * emergency page repeats until acknowledged and is cancelled by its
 * check's tag, which a digest of many checks has not (the first pages of
 * the storm, sent one by one, rang as emergencies already).
 */
static int
digest_priority(const struct notice *n)
{
	int p = -2;
	size_t i;

	for (i = 0; i < n->digest->n; i++) {
		struct notice t = { 0 };
		int q;
		t.kind = n->digest->m[i].kind;
		t.status = n->digest->m[i].status;
		t.prev_status = n->digest->m[i].prev_status;
		t.resolved_since = "";
		if ((q = pushover_priority(&t)) > p)
			p = q;
	}
	return p < -1 ? -1 : p;
}

static int
pushover_priority(const struct notice *n)
{
	int p, k;

	if (n->digest)
		return digest_priority(n);
	k = ev_kind_parse(n->kind);

	if (k == EV_PROBLEM || k == EV_RENOTIFY)
		p = n->status == 2 ? 1 : 0;
	else if (k == EV_AGENT_DOWN)
		p = 1;
	else if (k == EV_RECOVERY || k == EV_AGENT_UP || k == EV_ACKNOWLEDGEMENT)
		p = -1;
	else
		p = 0;
	if (p >= 0 && n->priority && *n->priority && (k == EV_PROBLEM || k == EV_RENOTIFY ||
	    k == EV_AGENT_DOWN)) {
		const char *es;
		/* the policy's step says (api_policies.c checked -2..2) */
		p = (int)str_to_ll(n->priority, -2, 2, &es);
		if (es != NULL)
			p = 0;
		if (n->resolved_since && *n->resolved_since && p > 0)
			p = 0;
		return p;
	}
	if (n->resolved_since && *n->resolved_since && p > 0)
		p = 0;   /* over already: tell, but neither alarm nor ring until acknowledged */
	if (p == 1 && n->pushover_emergency)
		p = 2;
	return p;
}

/* Appends "&name=value" (form-encoded) to b; a failure sticks in *oom. */
static void
field(struct buf *b, const char *name, const char *value, int *oom)
{
	if (httpc_form_add(b, name, value) < 0)
		*oom = 1;
}

static void
pushover_tag(int64_t check_id, int64_t agent_id, char *out, size_t outlen)
{
	if (check_id)
		snprintf(out, outlen, "custos-check-%lld", (long long)check_id);
	else
		snprintf(out, outlen, "custos-agent-%lld", (long long)agent_id);
}

/* The rate-limit verdict of an answer: 0, or the epoch second to pause until. */
static int64_t
pause_until(const struct http_reply *rep)
{
	if (rep->status == 429)
		return rep->limit_reset > 0 ? rep->limit_reset : (int64_t)time(NULL) + PO_PAUSE_DEFAULT_S;
	if (rep->limit_remaining == 0 && rep->limit_reset > 0)
		return rep->limit_reset;
	return 0;
}

/* "Pushover answered HTTP 400: [errors]" into err. */
static void
http_error(const char *what, const struct http_reply *rep, const struct buf *resp,
    char *err, size_t errlen)
{
	json_t *j = json_loads(resp->ptr ? resp->ptr : "", 0, NULL);
	json_t *es = j ? json_object_get(j, "errors") : NULL;
	char *et = es ? json_dumps(es, JSON_COMPACT) : NULL;

	snprintf(err, errlen, "%s answered HTTP %ld%s%s", what, rep->status,
	    et ? ": " : "", et ? et : "");
	free(et);
	json_decref(j);
}

static int
permanent(long status)
{
	return status >= 400 && status < 500 && status != 408 && status != 429;
}

static enum send_verdict
pushover_send(const struct notice *n, struct send_result *res, char *err, size_t errlen)
{
	const struct srv_conf *cf = n->conf;
	struct buf title, body, link, form, resp;
	struct http_reply rep;
	char num[32], tag[64];
	int prio, oom = 0;
	enum send_verdict v = SEND_RETRY;

	res->receipt[0] = '\0';
	res->pause_until = 0;
	res->pause_reason[0] = '\0';

	buf_init(&title, 4096);
	buf_init(&body, 65536);
	buf_init(&link, 4096);
	buf_init(&form, 65536);
	buf_init(&resp, 16384);
	err[0] = '\0';
	if (cf->pushover_token == NULL || *cf->pushover_token == '\0') {
		snprintf(err, errlen, "pushover_token is not configured");
		goto done;   /* fixable by the admin: retried after a SIGHUP */
	}
	if (*n->pushover_user == '\0') {
		snprintf(err, errlen, "contact has no pushover_user");
		v = SEND_FAIL;
		goto done;
	}
	notice_title(n, &title);
	notice_body(n, &body);
	notice_link(n, &link);
	if (title.ptr == NULL || body.ptr == NULL || link.ptr == NULL) {
		snprintf(err, errlen, "out of memory");
		goto done;
	}
	if (n->resent) {
		cut_utf8(title.ptr, PO_TITLE_MAX - (sizeof(PO_RESENT) - 1));
		title.len = strlen(title.ptr);
		buf_adds(&title, PO_RESENT);
		if (title.ptr == NULL) {
			snprintf(err, errlen, "out of memory");
			goto done;
		}
	} else {
		cut_utf8(title.ptr, PO_TITLE_MAX);
	}
	cut_utf8(body.ptr, PO_MESSAGE_MAX);
	prio = pushover_priority(n);
	field(&form, "token", cf->pushover_token, &oom);
	field(&form, "user", n->pushover_user, &oom);
	if (*n->pushover_device)
		field(&form, "device", n->pushover_device, &oom);
	field(&form, "title", title.ptr, &oom);
	field(&form, "message", body.ptr, &oom);
	snprintf(num, sizeof(num), "%d", prio);
	field(&form, "priority", num, &oom);
	if (prio == 2) {
		snprintf(num, sizeof(num), "%d", PO_EMERGENCY_RETRY);
		field(&form, "retry", num, &oom);
		snprintf(num, sizeof(num), "%d", PO_EMERGENCY_EXPIRE);
		field(&form, "expire", num, &oom);
		pushover_tag(n->check_id, n->agent_id, tag, sizeof(tag));
		field(&form, "tags", tag, &oom);
	}
	snprintf(num, sizeof(num), "%lld", (long long)n->event_epoch);
	field(&form, "timestamp", num, &oom);
	if (link.len <= PO_URL_MAX)
		field(&form, "url", link.ptr, &oom);
	if (oom || form.ptr == NULL) {
		snprintf(err, errlen, "out of memory");
		goto done;
	}
	if (notify_http_post(cf->pushover_url, "application/x-www-form-urlencoded", NULL,
	    form.ptr, form.len, cf->pushover_timeout_s * 1000, &rep, &resp, err, errlen) < 0) {
		if (rep.in_doubt && n->in_doubt)
			*n->in_doubt = 1;   /* sent, never answered: the retry says "(resent)" */
		goto done;   /* network: retry */
	}
	if ((res->pause_until = pause_until(&rep)) > 0)
		snprintf(res->pause_reason, sizeof(res->pause_reason), "%s", rep.status == 429 ?
		    "HTTP 429 Too Many Requests" : "X-Limit-App-Remaining: 0");
	if (rep.status == 200) {
		json_t *j = json_loads(resp.ptr ? resp.ptr : "", 0, NULL);
		json_t *s = j ? json_object_get(j, "status") : NULL;
		json_t *r = j ? json_object_get(j, "receipt") : NULL;
		if (s && json_is_integer(s) && json_integer_value(s) == 1) {
			v = SEND_OK;
			if (prio == 2 && r && json_is_string(r))
				snprintf(res->receipt, sizeof(res->receipt), "%s", json_string_value(r));
		} else {
			snprintf(err, errlen, "Pushover answered 200 without \"status\":1");
		}
		json_decref(j);
	} else {
		http_error("Pushover", &rep, &resp, err, errlen);
		v = permanent(rep.status) ? SEND_FAIL : SEND_RETRY;
	}
done:
	buf_free(&title);
	buf_free(&body);
	buf_free(&link);
	buf_free(&form);
	buf_free(&resp);
	return v;
}

/*
 * The receipts API lives beside the messages API: pushover_url without its
 * "/1/messages.json" (or "/1/messages") tail. 0, or -1 when the URL has
 * neither.
 */
static int
pushover_base(const char *url, struct buf *out)
{
	static const char *const tails[] = { "/1/messages.json", "/1/messages", NULL };
	size_t n = strlen(url), i;

	for (i = 0; tails[i]; i++) {
		size_t t = strlen(tails[i]);
		if (n >= t && strcmp(url + n - t, tails[i]) == 0) {
			buf_add(out, url, n - t);
			return out->ptr ? 0 : -1;
		}
	}
	return -1;
}

static enum send_verdict
pushover_cancel(const struct srv_conf *cf, const char *tag, char *err, size_t errlen)
{
	struct buf url, form, resp;
	struct http_reply rep;
	int oom = 0;
	enum send_verdict v = SEND_RETRY;

	buf_init(&url, 4096);
	buf_init(&form, 1024);
	buf_init(&resp, 16384);
	err[0] = '\0';
	if (cf->pushover_token == NULL || *cf->pushover_token == '\0') {
		snprintf(err, errlen, "pushover_token is not configured");
		goto done;
	}
	if (pushover_base(cf->pushover_url, &url) < 0) {
		snprintf(err, errlen, "pushover_url does not end in /1/messages.json");
		v = SEND_FAIL;
		goto done;
	}
	buf_addf(&url, "/1/receipts/cancel_by_tag/%s.json", tag);
	field(&form, "token", cf->pushover_token, &oom);
	if (oom || url.ptr == NULL || form.ptr == NULL) {
		snprintf(err, errlen, "out of memory");
		goto done;
	}
	if (notify_http_post(url.ptr, "application/x-www-form-urlencoded", NULL, form.ptr,
	    form.len, cf->pushover_timeout_s * 1000, &rep, &resp, err, errlen) < 0)
		goto done;
	if (rep.status == 200) {
		v = SEND_OK;
	} else {
		http_error("Pushover", &rep, &resp, err, errlen);
		v = permanent(rep.status) ? SEND_FAIL : SEND_RETRY;
	}
done:
	buf_free(&url);
	buf_free(&form);
	buf_free(&resp);
	return v;
}

/* ---- receipts (receipt.h) ------------------------------------------------- */

/* What a receipt poll keeps of the answer's headers. */
struct poll_hdrs {
	int64_t limit_reset;      /* X-Limit-App-Reset, 0 when absent or not a number */
};

static void
poll_header(void *ud, const char *name, const char *value)
{
	struct poll_hdrs *h = ud;
	const char *es;
	long long v;

	if (strcasecmp(name, "X-Limit-App-Reset") == 0) {
		v = str_to_ll(value, 1, INT64_MAX, &es);
		h->limit_reset = es ? 0 : v;
	}
}

/* 1 when s is Pushover's alphabet only, 1 to max characters */
static int
alnum_id(const char *s, size_t max)
{
	size_t n = 0;

	for (; *s; s++, n++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9')))
			return 0;
	return n >= 1 && n <= max;
}

/* An integer member of o that must be there: 0, or -1 with err. */
static int
member_int(json_t *o, const char *key, long long min, long long max, long long *out,
    char *err, size_t errlen)
{
	json_t *v = json_object_get(o, key);

	if (v == NULL || !json_is_integer(v)) {
		snprintf(err, errlen, "the answer's \"%s\" is %s, not an integer", key,
		    v == NULL ? "missing" : "of another type");
		return -1;
	}
	if (json_integer_value(v) < min || json_integer_value(v) > max) {
		snprintf(err, errlen, "the answer's \"%s\" is %lld, not from %lld to %lld", key,
		    (long long)json_integer_value(v), min, max);
		return -1;
	}
	*out = json_integer_value(v);
	return 0;
}

int
receipt_parse(const char *body, size_t len, struct receipt_status *st, char *err,
    size_t errlen)
{
	json_t *j, *by;
	json_error_t je;
	long long v;
	int rc = -1;

	memset(st, 0, sizeof(*st));
	if ((j = json_loadb(body ? body : "", body ? len : 0, JSON_REJECT_DUPLICATES, &je)) == NULL) {
		snprintf(err, errlen, "the answer is not JSON: %s", je.text);
		return -1;
	}
	if (!json_is_object(j)) {
		snprintf(err, errlen, "the answer is not a JSON object");
		goto done;
	}
	if (member_int(j, "status", 1, 1, &v, err, errlen) < 0 ||
	    member_int(j, "acknowledged", 0, 1, &v, err, errlen) < 0)
		goto done;
	st->acknowledged = (int)v;
	if (member_int(j, "acknowledged_at", 0, INT32_MAX * 4LL, &v, err, errlen) < 0)
		goto done;
	st->acknowledged_at = v;
	if (member_int(j, "expired", 0, 1, &v, err, errlen) < 0)
		goto done;
	st->expired = (int)v;
	if (member_int(j, "expires_at", 0, INT32_MAX * 4LL, &v, err, errlen) < 0)
		goto done;
	st->expires_at = v;
	by = json_object_get(j, "acknowledged_by");
	if (by == NULL || !json_is_string(by)) {
		snprintf(err, errlen, "the answer's \"acknowledged_by\" is %s, not a string",
		    by == NULL ? "missing" : "of another type");
		goto done;
	}
	if (st->acknowledged) {
		if (json_string_length(by) != RECEIPT_KEY_LEN ||
		    !alnum_id(json_string_value(by), RECEIPT_KEY_LEN)) {
			snprintf(err, errlen, "acknowledged, but \"acknowledged_by\" is not a user key");
			goto done;
		}
		snprintf(st->acknowledged_by, sizeof(st->acknowledged_by), "%s",
		    json_string_value(by));
	}
	rc = 0;
done:
	if (rc < 0)
		memset(st, 0, sizeof(*st));   /* refused: nothing of it is believed */
	json_decref(j);
	return rc;
}

enum receipt_verdict
pushover_receipt_poll(const struct srv_conf *cf, const char *receipt,
    struct receipt_status *st, int64_t *pause_until, char *err, size_t errlen)
{
	struct poll_hdrs hd = { 0 };
	struct httpc_opts o = {
		.name = "custos-serverd", .total_ms = cf->pushover_timeout_s * 1000,
		.max_answer = RECEIPT_ANSWER_MAX, .cut_answer = 0, .on_header = poll_header,
		.ud = &hd,
	};
	struct httpc h;
	struct buf url;
	enum receipt_verdict v = RECEIPT_ERROR;
	struct http_reply rep = { 0, -1, 0, 0 };

	*pause_until = 0;
	err[0] = '\0';
	buf_init(&url, 1024);
	if (cf->pushover_token == NULL || *cf->pushover_token == '\0') {
		snprintf(err, errlen, "pushover_token is not configured");
		goto out;
	}
	/* both go into the URL: only Pushover's alphabet (a stored receipt came
	 * from an answer too) */
	if (!alnum_id(receipt, 63) || !alnum_id(cf->pushover_token, 63)) {
		snprintf(err, errlen, "the receipt or pushover_token is not [A-Za-z0-9]");
		goto out;
	}
	if (pushover_base(cf->pushover_url, &url) < 0) {
		snprintf(err, errlen, "pushover_url does not end in /1/messages.json");
		goto out;
	}
	buf_addf(&url, "/1/receipts/%s.json?token=%s", receipt, cf->pushover_token);
	if (url.ptr == NULL) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	if (httpc_init(&h, &o, err, errlen) < 0)
		goto out;
	if (httpc_request(&h, "GET", url.ptr, NULL, 0, NULL, err, errlen) < 0) {
		/* no answer, or one over RECEIPT_ANSWER_MAX: err says which; a
		 * token never shows in it (libcurl's messages name no URL) */
		httpc_free(&h);
		goto out;
	}
	rep.status = h.status;
	if (h.status == 200) {
		if (receipt_parse(h.resp.ptr, h.resp.len, st, err, errlen) == 0)
			v = RECEIPT_OK;
	} else if (h.status == 429) {
		*pause_until = hd.limit_reset > (int64_t)time(NULL) ? hd.limit_reset :
		    (int64_t)time(NULL) + PO_PAUSE_DEFAULT_S;
		snprintf(err, errlen, "Pushover answered HTTP 429 Too Many Requests");
		v = RECEIPT_PAUSE;
	} else {
		json_t *j = json_loadb(h.resp.ptr ? h.resp.ptr : "", h.resp.ptr ? h.resp.len : 0, 0, NULL);
		json_t *r = j ? json_object_get(j, "receipt") : NULL;
		if (h.status == 404 && r && json_is_string(r) &&
		    strcmp(json_string_value(r), "not found") == 0)
			v = RECEIPT_GONE;   /* Pushover's own 404, not a wrong address's */
		json_decref(j);
		http_error("Pushover", &rep, &h.resp, err, errlen);
	}
	httpc_free(&h);
out:
	buf_free(&url);
	return v;
}

static long long
pushover_time_limit_s(const struct srv_conf *cf)
{
	return cf->pushover_timeout_s;   /* libcurl limits the whole request */
}

static int
pushover_check_conf(const struct srv_conf *cf, char *err, size_t errlen)
{
	if (strncmp(cf->pushover_url, "http://", 7) != 0 &&
	    strncmp(cf->pushover_url, "https://", 8) != 0) {
		snprintf(err, errlen, "pushover_url: \"%s\" is not an http:// or https:// URL",
		    cf->pushover_url);
		return -1;
	}
	return 0;
}

/*
 * Pushover's own rate limit pauses the channel (res->pause_until, table
 * channel_pauses, shared by every serverd on the database); the retry
 * limits are the outbox's usual ones.
 */
const struct channel_type channel_pushover = {
	.name = "pushover",
	.contact_column = "pushover_user",
	.send = pushover_send,
	.time_limit_s = pushover_time_limit_s,
	.check_conf = pushover_check_conf,
	.tag = pushover_tag,
	.cancel = pushover_cancel,
	.backoff_max_s = 600,
	.give_up_h = 24,
};
