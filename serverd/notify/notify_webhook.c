/*
 * notify_webhook.c - webhooks: a JSON POST of the event to the contact's
 * URL, and the small POST helper (on lib/httpc.h) that Pushover shares.
 *
 * The webhook body is
 *   {"notification_id", "event": {id, kind, status, prev_status, state_type,
 *    attempt, value, output, created_at, detail}, "agent": {id, name},
 *    "check": {id, name, type, warning, critical, max_attempts} | null,
 *    "title", "message", "url", "resent", "resolved_since", "dependents"}
 * with an "Idempotency-Key: custos-<notification id>" header, the same on
 * every attempt; "resent" is true when an earlier attempt ended in doubt
 * (serverd died mid-send), so a receiver can drop a duplicate knowingly;
 * "resolved_since" is the time of the RECOVERY (AGENT UP) that came after
 * this problem by the time it was sent, or null; "dependents" is
 * {"checks": N, "agents": M} on a problem of a check others depend on
 * (docs/alerting.md, "Dependencies"), or null.
 * A digest (n->digest, digest.h: many notifications to this contact as
 * one) is {"digest_id", "kind": "DIGEST", "title", "message", "url",
 * "resent", "members": [{notification_id, event_id, kind, check, agent,
 * status, output, url}, ...]} (worst first), with "Idempotency-Key:
 * custos-digest-<digest id>".
 * The output (event.output and in the message) is cut like in every
 * message (notice_output()). The request ends within webhook_timeout_s.
 * 2xx is success; 408, 429, 5xx and network errors are retried; any other
 * status is permanent (the receiver refuses this request as such).
 */
#include "config.h"
#include "channel.h"
#include "digest.h"
#include "httpc.h"
#include "notify.h"
#include "serverd.h"

#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define HTTP_RESPONSE_MAX 16384   /* bytes of a response body kept (the rest is dropped) */

/* A header value as a number (digits only), or -1. */
static long long
header_num(const char *v)
{
	long long x = 0;

	if (*v < '0' || *v > '9')
		return -1;
	for (; *v >= '0' && *v <= '9'; v++) {
		if (x > (INT64_MAX - 9) / 10)
			return -1;
		x = x * 10 + (*v - '0');
	}
	return x;
}

/* Picks Pushover's rate-limit headers out of the answer. */
static void
on_header(void *ud, const char *name, const char *value)
{
	struct http_reply *rep = ud;

	if (strcasecmp(name, "X-Limit-App-Remaining") == 0)
		rep->limit_remaining = (long)header_num(value);
	else if (strcasecmp(name, "X-Limit-App-Reset") == 0)
		rep->limit_reset = header_num(value);
}

/*
 * Each sender thread keeps its client, and so its connection, from one send
 * to the next: a burst of pages to Pushover, or to one webhook, pays one
 * TCP and TLS handshake, not one each (a TLS handshake with a distant
 * provider is most of a send). One connection per thread, closed after
 * KEEP_IDLE_S idle (nginx keeps one 75 s; a server that closes sooner
 * costs a new connection, not a send), so a thread holds at most one
 * descriptor more. Never sent twice (httpc.h, once): a
 * kept connection that closes with no answer leaves the send in doubt, and
 * its retry is marked as a resend, as after any other lost answer. The
 * client is freed when its thread ends (kept_free); a thread that cannot
 * keep one (no key) uses a client per send, as before.
 */
#define KEEP_IDLE_S 30

static pthread_key_t kept_key;
static pthread_once_t kept_once = PTHREAD_ONCE_INIT;
static int kept_ok;

static void
kept_free(void *p)
{
	if (p) {
		httpc_free(p);
		free(p);
	}
}

static void
kept_init(void)
{
	kept_ok = pthread_key_create(&kept_key, kept_free) == 0;
}

int
notify_http_post(const char *url, const char *content_type, const char *idem_key,
    const char *body, size_t len, long timeout_ms, struct http_reply *rep, struct buf *resp,
    char *err, size_t errlen)
{
	struct httpc_opts o = {
		.name = "custos-serverd", .total_ms = timeout_ms,
		.max_answer = HTTP_RESPONSE_MAX, .cut_answer = 1, .on_header = on_header,
		.keep_idle_s = KEEP_IDLE_S, .once = 1,
	};
	struct httpc *h;
	char ctype[256], idem[256];
	const char *extra[3] = { ctype, NULL, NULL };
	int rc = -1, kept = 0;

	rep->status = 0;
	rep->in_doubt = 0;
	rep->limit_remaining = -1;
	rep->limit_reset = 0;
	snprintf(ctype, sizeof(ctype), "Content-Type: %s", content_type);
	if (idem_key) {
		snprintf(idem, sizeof(idem), "Idempotency-Key: %s", idem_key);
		extra[1] = idem;
	}
	pthread_once(&kept_once, kept_init);
	if (kept_ok && (h = pthread_getspecific(kept_key)) != NULL) {
		kept = 1;
		httpc_set_total(h, timeout_ms);
	} else {
		if ((h = malloc(sizeof(*h))) == NULL) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		if (httpc_init(h, &o, err, errlen) < 0) {
			free(h);
			return -1;
		}
		kept = kept_ok && pthread_setspecific(kept_key, h) == 0;
	}
	h->o.ud = rep;   /* this send's (on_header) */
	if (httpc_request(h, "POST", url, body, len, extra, err, errlen) == 0) {
		rep->status = h->status;
		/* the answer's body changes hands */
		buf_free(resp);
		*resp = h->resp;
		buf_init(&h->resp, h->o.max_answer + 1);   /* as httpc_init() left it */
		rc = 0;
	} else if (h->sent) {
		rep->in_doubt = 1;   /* sent whole, no answer: the other side may have it */
	}
	h->o.ud = NULL;
	if (!kept)
		kept_free(h);
	return rc;
}

static json_t *
opt_str(const char *s)
{
	return *s ? json_string(s) : json_null();
}

/*
 * {"checks": N, "agents": M}: what depends on the check whose problem this
 * is (events.detail's "dependents", check_dependents_detail() in
 * sql/functions/), or null.
 */
static json_t *
dependents(const char *detail)
{
	json_t *d, *v, *out = NULL;

	if (*detail == '\0' || (d = json_loads(detail, JSON_DECODE_ANY, NULL)) == NULL)
		return json_null();
	if ((v = json_object_get(d, "dependents")) && json_is_object(v))
		out = json_incref(v);
	json_decref(d);
	return out ? out : json_null();
}

static enum send_verdict
webhook_send(const struct notice *n, struct send_result *res, char *err, size_t errlen)
{
	json_t *o = NULL, *check;
	struct buf title, body, link, resp, output;
	struct http_reply rep;
	char *text = NULL, key[64];
	enum send_verdict v = SEND_RETRY;

	(void)res;   /* a webhook leaves nothing to store and never pauses us */
	buf_init(&output, 8192);
	buf_init(&title, 4096);
	buf_init(&body, 65536);
	buf_init(&link, 4096);
	buf_init(&resp, HTTP_RESPONSE_MAX);
	err[0] = '\0';
	if (!httpc_scheme_ok(n->webhook_url)) {
		snprintf(err, errlen, "contact has no valid webhook_url");
		v = SEND_FAIL;
		goto done;
	}
	notice_title(n, &title);
	notice_body(n, &body);
	notice_link(n, &link);
	if (n->digest) {
		o = json_pack("{s:I,s:s,s:s,s:s,s:s,s:b,s:o}",
		    "digest_id", (json_int_t)n->id, "kind", "DIGEST",
		    "title", title.ptr ? title.ptr : "", "message", body.ptr ? body.ptr : "",
		    "url", link.ptr ? link.ptr : "", "resent", n->resent,
		    "members", digest_members_json(n));
		snprintf(key, sizeof(key), "custos-digest-%lld", (long long)n->id);
		goto post;
	}
	notice_output(n, &output);
	check = n->check_id == 0 ? json_null() : json_pack("{s:I,s:s,s:s,s:o,s:o,s:i}",
	    "id", (json_int_t)n->check_id, "name", n->check, "type", n->check_type,
	    "warning", opt_str(n->warning), "critical", opt_str(n->critical),
	    "max_attempts", n->max_attempts);
	o = json_pack("{s:I,s:{s:I,s:s,s:o,s:o,s:o,s:o,s:o,s:o,s:s,s:o},s:{s:I,s:s},s:o,s:s,s:s,s:s,s:b,s:o}",
	    "notification_id", (json_int_t)n->id,
	    "event",
	      "id", (json_int_t)n->event_id, "kind", n->kind,
	      "status", n->status >= 0 ? json_string(notice_status_name(n->status)) : json_null(),
	      "prev_status", n->prev_status >= 0 ? json_string(notice_status_name(n->prev_status)) : json_null(),
	      "state_type", opt_str(n->state_type),
	      "attempt", n->attempt > 0 ? json_integer(n->attempt) : json_null(),
	      "value", n->has_value ? json_real(n->value) : json_null(),
	      "output", output.ptr && *output.ptr ? json_string(output.ptr) : json_null(),
	      "created_at", n->event_at,
	      "detail", *n->detail ? json_loads(n->detail, JSON_DECODE_ANY, NULL) : json_null(),
	    "agent", "id", (json_int_t)n->agent_id, "name", n->agent,
	    "check", check,
	    "title", title.ptr ? title.ptr : "",
	    "message", body.ptr ? body.ptr : "",
	    "url", link.ptr ? link.ptr : "",
	    "resent", n->resent,
	    "resolved_since", opt_str(n->resolved_since ? n->resolved_since : ""));
	if (o != NULL) {
		/* the routing record (docs/alerting.md, "Why was I paged"): a
		 * chat bridge can say which policy and step paged whom, and why */
		json_t *route = n->route && *n->route ? json_loads(n->route, 0, NULL) : NULL;
		json_object_set_new(o, "policy", n->policy && *n->policy ? json_string(n->policy) :
		    json_null());
		json_object_set_new(o, "step", n->policy && *n->policy && n->step >= 0 ?
		    json_integer(n->step) : json_null());
		json_object_set_new(o, "route", json_is_array(route) ? route : json_array());
		if (!json_is_array(route))
			json_decref(route);
		json_object_set_new(o, "dependents", dependents(n->detail));
	}
	snprintf(key, sizeof(key), "custos-%lld", (long long)n->id);
post:
	if (o == NULL || (text = json_dumps(o, JSON_COMPACT)) == NULL) {
		snprintf(err, errlen, "cannot build the webhook body");
		goto done;
	}
	if (notify_http_post(n->webhook_url, "application/json", key, text, strlen(text),
	    n->conf->webhook_timeout_s * 1000, &rep, &resp, err, errlen) < 0) {
		if (rep.in_doubt && n->in_doubt)
			*n->in_doubt = 1;
		goto done;
	}
	if (rep.status >= 200 && rep.status < 300)
		v = SEND_OK;
	else {
		snprintf(err, errlen, "webhook answered HTTP %ld", rep.status);
		v = (rep.status == 408 || rep.status == 429 || rep.status >= 500) ?
		    SEND_RETRY : SEND_FAIL;
	}
done:
	buf_free(&output);
	free(text);
	json_decref(o);
	buf_free(&title);
	buf_free(&body);
	buf_free(&link);
	buf_free(&resp);
	return v;
}

static long long
webhook_time_limit_s(const struct srv_conf *cf)
{
	return cf->webhook_timeout_s;   /* libcurl limits the whole request */
}

/* Nothing to check in the configuration: the URL is the contact's. */
const struct channel_type channel_webhook = {
	.name = "webhook",
	.contact_column = "webhook_url",
	.send = webhook_send,
	.time_limit_s = webhook_time_limit_s,
	.backoff_max_s = 600,
	.give_up_h = 24,
};
