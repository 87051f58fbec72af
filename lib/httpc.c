/*
 * httpc.c - see httpc.h. The policy (schemes, redirects, TLS, limits, user
 * agent) is set on the handle once, in httpc_init(); a request sets only
 * what differs between requests (URL, method, body, extra headers) and puts
 * back what it changed, so the next request on the handle starts clean.
 */
#include "config.h"
#include "httpc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define HEADER_LINE_MAX 1024    /* a longer answer header is not passed to on_header */

int
httpc_scheme_ok(const char *url)
{
	return strncasecmp(url, "http://", 7) == 0 || strncasecmp(url, "https://", 8) == 0;
}

static size_t
on_data(char *p, size_t size, size_t nmemb, void *ud)
{
	struct httpc *c = ud;
	size_t n = size * nmemb, room;
	long st = 0;

	if (c->o.on_body) {
		curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &st);
		if (st >= 200 && st < 300) {
			if (c->o.on_body(c->o.ud, p, n) == 0)
				return n;
			c->stopped = 1;
			return 0;
		}
	}
	if (c->resp.len + n > c->o.max_answer) {
		if (!c->o.cut_answer) {
			c->over = 1;
			return 0;   /* aborts the transfer */
		}
		room = c->o.max_answer - c->resp.len;
		if (room > 0 && buf_add(&c->resp, p, room) < 0)
			return 0;
		c->cut = 1;
		return n;   /* the rest is read and dropped */
	}
	return buf_add(&c->resp, p, n) < 0 ? 0 : n;
}

/* Splits "Name: value\r\n" for on_header; other lines (the status line) are skipped. */
static size_t
on_head(char *p, size_t size, size_t nmemb, void *ud)
{
	struct httpc *c = ud;
	size_t n = size * nmemb;
	char line[HEADER_LINE_MAX], *colon, *v, *e;

	if (c->o.on_header == NULL || n >= sizeof(line))
		return n;
	memcpy(line, p, n);
	line[n] = '\0';
	if ((colon = strchr(line, ':')) == NULL || colon == line ||
	    strcspn(line, " \t") < (size_t)(colon - line))
		return n;
	*colon = '\0';
	for (v = colon + 1; *v == ' ' || *v == '\t'; v++)
		;
	for (e = v + strlen(v); e > v && (e[-1] == '\r' || e[-1] == '\n' || e[-1] == ' ' ||
	    e[-1] == '\t'); e--)
		;
	*e = '\0';
	c->o.on_header(c->o.ud, line, v);
	return n;
}

#if LIBCURL_VERSION_NUM >= 0x075000
/*
 * Called before each try of a request, on the connection it is about to go
 * out on. A second try in one request is libcurl sending it again on a new
 * connection after a kept one closed with no answer: refused under
 * opts.once (httpc.h).
 */
static int
on_prereq(void *ud, char *ip, char *local_ip, int port, int local_port)
{
	struct httpc *c = ud;

	(void)ip;
	(void)local_ip;
	(void)port;
	(void)local_port;
	return c->tries++ > 0 ? CURL_PREREQFUNC_ABORT : CURL_PREREQFUNC_OK;
}
#endif

void
httpc_set_total(struct httpc *c, long total_ms)
{
	c->o.total_ms = total_ms;
	curl_easy_setopt(c->curl, CURLOPT_TIMEOUT_MS, total_ms > 0 ? total_ms : 0L);
	if (c->o.connect_ms <= 0 && total_ms > 0)
		curl_easy_setopt(c->curl, CURLOPT_CONNECTTIMEOUT_MS, total_ms);
}

int
httpc_init(struct httpc *c, const struct httpc_opts *o, char *err, size_t errlen)
{
	char ua[128];
	long connect_ms = o->connect_ms > 0 ? o->connect_ms : o->total_ms;

	memset(c, 0, sizeof(*c));
	if (o->name == NULL || o->max_answer == 0 || connect_ms <= 0 ||
	    (o->total_ms <= 0 && o->idle_s <= 0)) {
		snprintf(err, errlen, "HTTP client: a name, a size cap and time limits are required");
		return -1;
	}
	c->o = *o;
	buf_init(&c->resp, o->max_answer + 1);
	if ((c->curl = curl_easy_init()) == NULL ||
	    (c->headers = curl_slist_append(NULL, "Expect:")) == NULL) {
		snprintf(err, errlen, "out of memory");
		httpc_free(c);
		return -1;
	}
	snprintf(ua, sizeof(ua), "%s/%s", o->name, PACKAGE_VERSION);
	curl_easy_setopt(c->curl, CURLOPT_USERAGENT, ua);   /* libcurl copies it */
	curl_easy_setopt(c->curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c->curl, CURLOPT_TCP_KEEPALIVE, 1L);
	/* schemes and redirects (httpc.h) */
#if LIBCURL_VERSION_NUM >= 0x075500
	curl_easy_setopt(c->curl, CURLOPT_PROTOCOLS_STR, "http,https");
#else
	curl_easy_setopt(c->curl, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
	curl_easy_setopt(c->curl, CURLOPT_FOLLOWLOCATION, 0L);
	/* TLS */
	curl_easy_setopt(c->curl, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(c->curl, CURLOPT_SSL_VERIFYHOST, 2L);
	curl_easy_setopt(c->curl, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
	if (o->ca_file && *o->ca_file)
		curl_easy_setopt(c->curl, CURLOPT_CAINFO, o->ca_file);
	/* limits */
	curl_easy_setopt(c->curl, CURLOPT_CONNECTTIMEOUT_MS, connect_ms);
	curl_easy_setopt(c->curl, CURLOPT_TIMEOUT_MS, o->total_ms > 0 ? o->total_ms : 0L);
	if (o->idle_s > 0) {
		curl_easy_setopt(c->curl, CURLOPT_LOW_SPEED_LIMIT, 1L);
		curl_easy_setopt(c->curl, CURLOPT_LOW_SPEED_TIME, o->idle_s);
	}
	if (!o->cut_answer && o->on_body == NULL)
		/* refused at once when Content-Length already says so */
		curl_easy_setopt(c->curl, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)o->max_answer);
	curl_easy_setopt(c->curl, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(c->curl, CURLOPT_WRITEDATA, c);
	curl_easy_setopt(c->curl, CURLOPT_HEADERFUNCTION, on_head);
	curl_easy_setopt(c->curl, CURLOPT_HEADERDATA, c);
	curl_easy_setopt(c->curl, CURLOPT_ERRORBUFFER, c->errbuf);
	curl_easy_setopt(c->curl, CURLOPT_HTTPHEADER, c->headers);
	if (o->keep_idle_s > 0) {
		curl_easy_setopt(c->curl, CURLOPT_MAXCONNECTS, 1L);
		curl_easy_setopt(c->curl, CURLOPT_MAXAGE_CONN, o->keep_idle_s);
#if LIBCURL_VERSION_NUM >= 0x075000
		curl_easy_setopt(c->curl, CURLOPT_MAXLIFETIME_CONN, 600L);
#endif
	}
	if (o->once) {
#if LIBCURL_VERSION_NUM >= 0x075000
		curl_easy_setopt(c->curl, CURLOPT_PREREQFUNCTION, on_prereq);
		curl_easy_setopt(c->curl, CURLOPT_PREREQDATA, c);
#else
		/* no way to see a second try: no connection is kept at all */
		curl_easy_setopt(c->curl, CURLOPT_FORBID_REUSE, 1L);
#endif
	}
	return 0;
}

void
httpc_free(struct httpc *c)
{
	if (c->curl)
		curl_easy_cleanup(c->curl);
	curl_slist_free_all(c->headers);
	buf_free(&c->resp);
	memset(c, 0, sizeof(*c));
}

int
httpc_header(struct httpc *c, const char *line)
{
	struct curl_slist *h = curl_slist_append(c->headers, line);

	if (h == NULL)
		return -1;
	c->headers = h;
	return 0;
}

/* A copy of the client's headers with extra after them, or NULL when out of memory. */
static struct curl_slist *
with_extra(const struct curl_slist *base, const char *const *extra)
{
	struct curl_slist *l = NULL, *t;
	size_t i;

	for (; base; base = base->next) {
		if ((t = curl_slist_append(l, base->data)) == NULL)
			goto oom;
		l = t;
	}
	for (i = 0; extra[i]; i++) {
		if ((t = curl_slist_append(l, extra[i])) == NULL)
			goto oom;
		l = t;
	}
	return l;
oom:
	curl_slist_free_all(l);
	return NULL;
}

static int
takes_body(const char *method)
{
	return strcmp(method, "POST") == 0 || strcmp(method, "PUT") == 0 ||
	    strcmp(method, "PATCH") == 0;
}

int
httpc_request(struct httpc *c, const char *method, const char *url,
    const char *body, size_t len, const char *const *extra, char *err, size_t errlen)
{
	struct curl_slist *hdrs = NULL;
	const char *sep;
	CURLcode rc;

	buf_free(&c->resp);
	c->status = 0;
	c->cut = c->over = c->stopped = 0;
	c->tries = 0;
	c->errbuf[0] = '\0';
	if (!httpc_scheme_ok(url)) {
		sep = strstr(url, "://");
		if (sep && sep > url && sep - url <= 16)
			snprintf(err, errlen, "%.*s:// is refused: only http:// and https:// URLs are "
			    "spoken", (int)(sep - url), url);
		else
			snprintf(err, errlen, "not an http:// or https:// URL");
		return -1;
	}
	if (extra && extra[0] && (hdrs = with_extra(c->headers, extra)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	curl_easy_setopt(c->curl, CURLOPT_URL, url);
	curl_easy_setopt(c->curl, CURLOPT_HTTPHEADER, hdrs ? hdrs : c->headers);
	if (body == NULL && takes_body(method)) {
		body = "";
		len = 0;
	}
	if (body) {
		curl_easy_setopt(c->curl, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(c->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
		curl_easy_setopt(c->curl, CURLOPT_CUSTOMREQUEST,
		    strcmp(method, "POST") == 0 ? NULL : method);
	} else {
		curl_easy_setopt(c->curl, CURLOPT_HTTPGET, 1L);
		curl_easy_setopt(c->curl, CURLOPT_CUSTOMREQUEST,
		    strcmp(method, "GET") == 0 ? NULL : method);
	}
	rc = curl_easy_perform(c->curl);
	/* put back what this request set: the body and headers are borrowed */
	curl_easy_setopt(c->curl, CURLOPT_POSTFIELDS, NULL);
	curl_easy_setopt(c->curl, CURLOPT_CUSTOMREQUEST, NULL);
	curl_easy_setopt(c->curl, CURLOPT_HTTPHEADER, c->headers);
	curl_slist_free_all(hdrs);
	curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &c->status);
	{
		/* the request (headers, and the body with them) went out: when no
		 * answer then came, the other side may have taken it */
		long size = 0;
		c->sent = curl_easy_getinfo(c->curl, CURLINFO_REQUEST_SIZE, &size) == CURLE_OK &&
		    size > 0;
	}
	if (rc == CURLE_OK)
		return 0;
	if (c->o.once && c->tries > 1) {
		/* the first try went out (whole or in part) and no answer came */
		c->sent = 1;
		snprintf(err, errlen, "the kept connection closed with no answer: not sent again "
		    "(the other side may have it)");
	} else if (c->over || rc == CURLE_FILESIZE_EXCEEDED)
		snprintf(err, errlen, "the answer is larger than %zu bytes: refused", c->o.max_answer);
	else if (c->stopped)
		snprintf(err, errlen, "the stream was stopped");
	else if (c->resp.failed)
		snprintf(err, errlen, "out of memory");
	else if (rc == CURLE_OPERATION_TIMEDOUT)
		snprintf(err, errlen, "time limit reached: %s",
		    c->errbuf[0] ? c->errbuf : curl_easy_strerror(rc));
	else
		snprintf(err, errlen, "%s", c->errbuf[0] ? c->errbuf : curl_easy_strerror(rc));
	buf_free(&c->resp);
	return -1;
}

int
httpc_form_add(struct buf *b, const char *name, const char *value)
{
	char *e = curl_easy_escape(NULL, value, 0);
	int rc = -1;

	if (e != NULL)
		rc = buf_addf(b, "%s%s=%s", b->len ? "&" : "", name, e);
	curl_free(e);
	return rc;
}
