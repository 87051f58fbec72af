/*
 * notify_pushover.c - Pushover through libcurl, as DESIGN.md fixes it.
 *
 * POST {pushover_url} (form-encoded) with token (pushover_token), user
 * (the contact's key), device (when the contact names one), message (the
 * body, cut to 1024 bytes), title (the subject without "[custos] ", cut
 * to 250), priority, timestamp (the event's time) and url (the link, at
 * most 512). Priority: CRITICAL problems and AGENT DOWN 1; WARNING and
 * UNKNOWN problems, flapping 0; RECOVERY, AGENT UP and acknowledgements -1.
 * A contact with pushover_emergency gets 2 (with retry 60, expire 3600)
 * instead of 1: an emergency page repeats until acknowledged in the app,
 * which suits an outage and would be absurd for a recovery.
 *
 * Success is HTTP 200 with "status":1. 4xx (but 429) is permanent - the
 * request itself is wrong (bad user key, bad token) and would fail again;
 * 429, 5xx and network errors are retried by the outbox.
 */
#include "config.h"
#include "notify.h"
#include "serverd.h"

#include <curl/curl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PO_MESSAGE_MAX 1024
#define PO_TITLE_MAX 250
#define PO_URL_MAX 512
#define PO_EMERGENCY_RETRY 60
#define PO_EMERGENCY_EXPIRE 3600

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

static int
pushover_priority(const struct notice *n)
{
	int p;

	if (strcmp(n->kind, "PROBLEM") == 0 || strcmp(n->kind, "RENOTIFY") == 0)
		p = n->status == 2 ? 1 : 0;
	else if (strcmp(n->kind, "AGENT DOWN") == 0)
		p = 1;
	else if (strcmp(n->kind, "RECOVERY") == 0 || strcmp(n->kind, "AGENT UP") == 0 ||
	    strcmp(n->kind, "ACKNOWLEDGEMENT") == 0)
		p = -1;
	else
		p = 0;
	if (p == 1 && n->pushover_emergency)
		p = 2;
	return p;
}

/* Appends "&name=value" (URL-encoded) to b; a failure sticks in *oom. */
static void
field(CURL *h, struct buf *b, const char *name, const char *value, int *oom)
{
	char *e = curl_easy_escape(h, value, 0);

	if (e == NULL || buf_addf(b, "%s%s=%s", b->len ? "&" : "", name, e) < 0)
		*oom = 1;
	curl_free(e);
}

enum send_verdict
notify_pushover(const struct notice *n, char *err, size_t errlen)
{
	const struct srv_conf *cf = n->conf;
	struct buf title, body, link, form, resp;
	CURL *esc = NULL;
	char num[32];
	long status;
	int prio, oom = 0;
	enum send_verdict v = SEND_RETRY;

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
	if (title.ptr == NULL || body.ptr == NULL || link.ptr == NULL ||
	    (esc = curl_easy_init()) == NULL) {
		snprintf(err, errlen, "out of memory");
		goto done;
	}
	cut_utf8(title.ptr, PO_TITLE_MAX);
	cut_utf8(body.ptr, PO_MESSAGE_MAX);
	prio = pushover_priority(n);
	field(esc, &form, "token", cf->pushover_token, &oom);
	field(esc, &form, "user", n->pushover_user, &oom);
	if (*n->pushover_device)
		field(esc, &form, "device", n->pushover_device, &oom);
	field(esc, &form, "title", title.ptr, &oom);
	field(esc, &form, "message", body.ptr, &oom);
	snprintf(num, sizeof(num), "%d", prio);
	field(esc, &form, "priority", num, &oom);
	if (prio == 2) {
		snprintf(num, sizeof(num), "%d", PO_EMERGENCY_RETRY);
		field(esc, &form, "retry", num, &oom);
		snprintf(num, sizeof(num), "%d", PO_EMERGENCY_EXPIRE);
		field(esc, &form, "expire", num, &oom);
	}
	snprintf(num, sizeof(num), "%lld", (long long)n->event_epoch);
	field(esc, &form, "timestamp", num, &oom);
	if (link.len <= PO_URL_MAX)
		field(esc, &form, "url", link.ptr, &oom);
	if (oom || form.ptr == NULL) {
		snprintf(err, errlen, "out of memory");
		goto done;
	}
	if (notify_http_post(cf->pushover_url, "application/x-www-form-urlencoded", NULL,
	    form.ptr, form.len, &status, &resp, err, errlen) < 0)
		goto done;   /* network: retry */
	if (status == 200) {
		json_t *j = json_loads(resp.ptr ? resp.ptr : "", 0, NULL);
		json_t *s = j ? json_object_get(j, "status") : NULL;
		if (s && json_is_integer(s) && json_integer_value(s) == 1)
			v = SEND_OK;
		else
			snprintf(err, errlen, "Pushover answered 200 without \"status\":1");
		json_decref(j);
	} else {
		json_t *j = json_loads(resp.ptr ? resp.ptr : "", 0, NULL);
		json_t *es = j ? json_object_get(j, "errors") : NULL;
		char *et = es ? json_dumps(es, JSON_COMPACT) : NULL;
		snprintf(err, errlen, "Pushover answered HTTP %ld%s%s", status,
		    et ? ": " : "", et ? et : "");
		free(et);
		json_decref(j);
		v = (status >= 400 && status < 500 && status != 429) ? SEND_FAIL : SEND_RETRY;
	}
done:
	if (esc)
		curl_easy_cleanup(esc);
	buf_free(&title);
	buf_free(&body);
	buf_free(&link);
	buf_free(&form);
	buf_free(&resp);
	return v;
}
