/*
 * notify_webhook.c - webhooks: a JSON POST of the event to the contact's
 * URL, and the small libcurl POST helper that Pushover shares.
 *
 * The webhook body is
 *   {"notification_id", "event": {id, kind, status, prev_status, state_type,
 *    attempt, value, output, created_at, detail}, "agent": {id, name},
 *    "check": {id, name, type, warning, critical, max_attempts} | null,
 *    "title", "message", "url"}
 * with an "Idempotency-Key: custos-<notification id>" header, so a receiver
 * can drop the rare resend after a crash between its answer and our COMMIT.
 * 2xx is success; 408, 429, 5xx and network errors are retried; any other
 * status is permanent (the receiver refuses this request as such).
 */
#include "config.h"
#include "notify.h"
#include "serverd.h"

#include <curl/curl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HTTP_TIMEOUT_MS 15000
#define HTTP_RESPONSE_MAX 16384   /* bytes of a response body kept */

static size_t
collect(char *ptr, size_t size, size_t nmemb, void *arg)
{
	struct buf *b = arg;
	size_t n = size * nmemb;

	if (b->len + n < HTTP_RESPONSE_MAX)
		buf_add(b, ptr, n);
	return n;   /* beyond the cap: read and drop */
}

int
notify_http_post(const char *url, const char *content_type, const char *idem_key,
    const char *body, size_t len, long *status, struct buf *resp, char *err, size_t errlen)
{
	CURL *h;
	struct curl_slist *hdrs = NULL, *t;
	char line[256];
	CURLcode cc;
	int rc = -1;

	*status = 0;
	if ((h = curl_easy_init()) == NULL) {
		snprintf(err, errlen, "libcurl: cannot create a handle");
		return -1;
	}
	snprintf(line, sizeof(line), "Content-Type: %s", content_type);
	if ((t = curl_slist_append(hdrs, line)) == NULL)
		goto done;
	hdrs = t;
	if (idem_key) {
		snprintf(line, sizeof(line), "Idempotency-Key: %s", idem_key);
		if ((t = curl_slist_append(hdrs, line)) == NULL)
			goto done;
		hdrs = t;
	}
	if ((t = curl_slist_append(hdrs, "Expect:")) == NULL)
		goto done;
	hdrs = t;
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)HTTP_TIMEOUT_MS);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)HTTP_TIMEOUT_MS);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_USERAGENT, "custos-serverd/" PACKAGE_VERSION);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, resp);
	if ((cc = curl_easy_perform(h)) != CURLE_OK) {
		snprintf(err, errlen, "%s", curl_easy_strerror(cc));
		goto done;
	}
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, status);
	rc = 0;
done:
	if (rc < 0 && err[0] == '\0')
		snprintf(err, errlen, "out of memory");
	curl_slist_free_all(hdrs);
	curl_easy_cleanup(h);
	return rc;
}

static json_t *
opt_str(const char *s)
{
	return *s ? json_string(s) : json_null();
}

enum send_verdict
notify_webhook(const struct notice *n, char *err, size_t errlen)
{
	json_t *o = NULL, *check;
	struct buf title, body, link, resp;
	char *text = NULL, key[64];
	long status;
	enum send_verdict v = SEND_RETRY;

	buf_init(&title, 4096);
	buf_init(&body, 65536);
	buf_init(&link, 4096);
	buf_init(&resp, HTTP_RESPONSE_MAX);
	err[0] = '\0';
	if (strncmp(n->webhook_url, "http://", 7) != 0 && strncmp(n->webhook_url, "https://", 8) != 0) {
		snprintf(err, errlen, "contact has no valid webhook_url");
		v = SEND_FAIL;
		goto done;
	}
	notice_title(n, &title);
	notice_body(n, &body);
	notice_link(n, &link);
	check = n->check_id == 0 ? json_null() : json_pack("{s:I,s:s,s:s,s:o,s:o,s:i}",
	    "id", (json_int_t)n->check_id, "name", n->check, "type", n->check_type,
	    "warning", opt_str(n->warning), "critical", opt_str(n->critical),
	    "max_attempts", n->max_attempts);
	o = json_pack("{s:I,s:{s:I,s:s,s:o,s:o,s:o,s:o,s:o,s:o,s:s,s:o},s:{s:I,s:s},s:o,s:s,s:s,s:s}",
	    "notification_id", (json_int_t)n->id,
	    "event",
	      "id", (json_int_t)n->event_id, "kind", n->kind,
	      "status", n->status >= 0 ? json_string(notice_status_name(n->status)) : json_null(),
	      "prev_status", n->prev_status >= 0 ? json_string(notice_status_name(n->prev_status)) : json_null(),
	      "state_type", opt_str(n->state_type),
	      "attempt", n->attempt > 0 ? json_integer(n->attempt) : json_null(),
	      "value", n->has_value ? json_real(n->value) : json_null(),
	      "output", opt_str(n->output),
	      "created_at", n->event_at,
	      "detail", *n->detail ? json_loads(n->detail, JSON_DECODE_ANY, NULL) : json_null(),
	    "agent", "id", (json_int_t)n->agent_id, "name", n->agent,
	    "check", check,
	    "title", title.ptr ? title.ptr : "",
	    "message", body.ptr ? body.ptr : "",
	    "url", link.ptr ? link.ptr : "");
	if (o == NULL || (text = json_dumps(o, JSON_COMPACT)) == NULL) {
		snprintf(err, errlen, "cannot build the webhook body");
		goto done;
	}
	snprintf(key, sizeof(key), "custos-%lld", (long long)n->id);
	if (notify_http_post(n->webhook_url, "application/json", key, text, strlen(text),
	    &status, &resp, err, errlen) < 0)
		goto done;
	if (status >= 200 && status < 300)
		v = SEND_OK;
	else {
		snprintf(err, errlen, "webhook answered HTTP %ld", status);
		v = (status == 408 || status == 429 || status >= 500) ? SEND_RETRY : SEND_FAIL;
	}
done:
	free(text);
	json_decref(o);
	buf_free(&title);
	buf_free(&body);
	buf_free(&link);
	buf_free(&resp);
	return v;
}
