/*
 * http.c - the http check: one GET with libcurl; the value is the total
 * time in ms. CRITICAL when the transfer fails, the status is not
 * expect_status, or the body lacks `contains` (only the first
 * HTTP_BODY_MAX bytes are searched). Redirects are not followed, so
 * expect_status can be 301. TLS is verified (env->ca_file adds a CA).
 * Each run uses its own handle, freed at once: the idle agent holds nothing.
 */
#include "config.h"
#include "check.h"
#include "params.h"

#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>

#define HTTP_URL_MAX 2048
#define HTTP_BODY_MAX (1024 * 1024)   /* bytes kept for `contains` */

struct http_params {
	char *url;
	char *contains;
	int expect_status;
	int timeout_ms;
};

static void
http_free(void *vp)
{
	struct http_params *p = vp;

	if (p) {
		free(p->url);
		free(p->contains);
		free(p);
	}
}

static int
http_parse(json_t *params, void **out, char *err, size_t errlen, const char **field)
{
	static const char *const keys[] = { "url", "expect_status", "contains", "timeout_ms", NULL };
	struct http_params *p;
	const char *url, *contains;
	long long status, timeout;

	*out = NULL;
	if (params_allowed(params, keys, err, errlen, field) < 0 ||
	    params_string(params, "url", 1, HTTP_URL_MAX, &url, err, errlen, field) < 0 ||
	    params_int(params, "expect_status", 0, 100, 599, 200, &status, err, errlen, field) < 0 ||
	    params_string(params, "contains", 0, 1024, &contains, err, errlen, field) < 0 ||
	    params_int(params, "timeout_ms", 0, 1, 300000, 0, &timeout, err, errlen, field) < 0)
		return -1;
	if (strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0)
		return params_error("url", err, errlen, field, "must start with http:// or https://");
	if (strpbrk(url, " \t\r\n") != NULL)
		return params_error("url", err, errlen, field, "must not contain blanks");
	if ((p = calloc(1, sizeof(*p))) == NULL || (p->url = strdup(url)) == NULL ||
	    (contains && (p->contains = strdup(contains)) == NULL)) {
		http_free(p);
		return params_error("url", err, errlen, field, "out of memory");
	}
	p->expect_status = (int)status;
	p->timeout_ms = (int)timeout;
	*out = p;
	return 0;
}

struct body {
	char *ptr;
	size_t len;
	int keep;
};

static size_t
on_body(char *data, size_t size, size_t nmemb, void *ud)
{
	struct body *b = ud;
	size_t n = size * nmemb, room;

	if (!b->keep || b->len >= HTTP_BODY_MAX)
		return n;   /* read and drop */
	room = HTTP_BODY_MAX - b->len;
	if (n < room)
		room = n;
	if (b->ptr == NULL && (b->ptr = malloc(HTTP_BODY_MAX + 1)) == NULL)
		return 0;   /* aborts the transfer */
	memcpy(b->ptr + b->len, data, room);
	b->len += room;
	b->ptr[b->len] = '\0';
	return n;
}

static void
http_run(const void *vp, struct check_env *env, struct check_out *o)
{
	const struct http_params *p = vp;
	char errbuf[CURL_ERROR_SIZE] = "";
	struct body body = { NULL, 0, p->contains != NULL };
	CURL *c;
	CURLcode rc;
	long code = 0;
	double total = 0;

	o->label = "HTTP";
	if ((c = curl_easy_init()) == NULL) {
		check_fail(o, CHECK_UNKNOWN, "cannot create a curl handle");
		return;
	}
	curl_easy_setopt(c, CURLOPT_URL, p->url);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)(p->timeout_ms ? p->timeout_ms : env->timeout_ms));
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &body);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "custos-agentd/" PACKAGE_VERSION);
#if LIBCURL_VERSION_NUM >= 0x075500
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
#else
	curl_easy_setopt(c, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
	if (env->ca_file)
		curl_easy_setopt(c, CURLOPT_CAINFO, env->ca_file);
	rc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
	curl_easy_getinfo(c, CURLINFO_TOTAL_TIME, &total);
	curl_easy_cleanup(c);
	if (rc != CURLE_OK) {
		check_fail(o, CHECK_CRITICAL, "%s: %s", p->url, errbuf[0] ? errbuf : curl_easy_strerror(rc));
		goto done;
	}
	check_set_value(o, total * 1000.0, 1);
	o->perf_label = "time";
	o->uom = "ms";
	o->has_min = 1;
	o->min = 0;
	if (code != p->expect_status) {
		check_fail(o, CHECK_CRITICAL, "%s answered %ld, expected %d (%.1f ms)",
		    p->url, code, p->expect_status, o->value);
		goto done;
	}
	if (p->contains && (body.ptr == NULL || strstr(body.ptr, p->contains) == NULL)) {
		check_fail(o, CHECK_CRITICAL, "%s: '%s' not found in the body (%.1f ms)",
		    p->url, p->contains, o->value);
		goto done;
	}
	check_detail(o, "%s answered %ld in %.1f ms", p->url, code, o->value);
done:
	free(body.ptr);
}

/* The check's own timeout ends it; the time limit is a backstop after it. */
static int
http_time_limit(const void *vp, const struct check_env *env)
{
	const struct http_params *p = vp;

	return (p->timeout_ms ? p->timeout_ms : env->timeout_ms) + CHECK_LIMIT_SLACK_MS;
}

const struct check_type check_type_http = {
	.name = "http",
	.parse_params = http_parse,
	.free_params = http_free,
	.run = http_run,
	.time_limit_ms = http_time_limit,
};
