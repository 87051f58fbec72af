/*
 * client.c - the agent's HTTP client. One libcurl easy handle lives as long
 * as the configuration: its connection cache gives keep-alive across the
 * requests of a cycle and across cycles (and the TLS session with it).
 * Responses are collected into a capped buffer that the caller empties
 * (buf_free) after use, so the idle daemon holds no response memory.
 */
#include "config.h"
#include "agentd.h"
#include "log.h"
#include "token.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define RESP_MAX (8 * 1024 * 1024)   /* a check list larger than this is refused */

static size_t
on_data(char *data, size_t size, size_t nmemb, void *ud)
{
	struct client *cl = ud;
	size_t n = size * nmemb;

	if (buf_add(&cl->resp, data, n) < 0)
		return 0;   /* over the cap: abort the transfer */
	return n;
}

static size_t
on_header(char *data, size_t size, size_t nmemb, void *ud)
{
	struct client *cl = ud;
	size_t n = size * nmemb, len;
	const char *v;

	if (n > 5 && strncasecmp(data, "ETag:", 5) == 0) {
		v = data + 5;
		while (*v == ' ' || *v == '\t')
			v++;
		len = (size_t)(data + n - v);
		while (len > 0 && (v[len - 1] == '\r' || v[len - 1] == '\n' || v[len - 1] == ' '))
			len--;
		if (len < sizeof(cl->etag)) {
			memcpy(cl->etag, v, len);
			cl->etag[len] = '\0';
		}
	}
	return n;
}

int
client_init(struct client *cl, const struct agent_conf *cf, const char *token,
    char *err, size_t errlen)
{
	char auth[600];
	size_t blen;
	struct curl_slist *h;

	memset(cl, 0, sizeof(*cl));
	buf_init(&cl->resp, RESP_MAX);
	if ((cl->curl = curl_easy_init()) == NULL) {
		snprintf(err, errlen, "cannot create a curl handle");
		return -1;
	}
	if ((cl->base = strdup(cf->server)) == NULL)
		goto oom;
	blen = strlen(cl->base);
	while (blen > 0 && cl->base[blen - 1] == '/')
		cl->base[--blen] = '\0';
	snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token);
	h = curl_slist_append(NULL, auth);
	secure_zero(auth, sizeof(auth));
	if (h == NULL)
		goto oom;
	cl->headers = h;
	if ((h = curl_slist_append(cl->headers, "Content-Type: application/json")) == NULL ||
	    (h = curl_slist_append(cl->headers, "Accept: application/json")) == NULL ||
	    (h = curl_slist_append(cl->headers, "Expect:")) == NULL)
		goto oom;
	curl_easy_setopt(cl->curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(cl->curl, CURLOPT_TIMEOUT, (long)cf->timeout_s);
	curl_easy_setopt(cl->curl, CURLOPT_CONNECTTIMEOUT, (long)cf->timeout_s);
	curl_easy_setopt(cl->curl, CURLOPT_HTTPHEADER, cl->headers);
	curl_easy_setopt(cl->curl, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(cl->curl, CURLOPT_WRITEDATA, cl);
	curl_easy_setopt(cl->curl, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(cl->curl, CURLOPT_HEADERDATA, cl);
	curl_easy_setopt(cl->curl, CURLOPT_ERRORBUFFER, cl->errbuf);
	curl_easy_setopt(cl->curl, CURLOPT_USERAGENT, AGENT_NAME "/" PACKAGE_VERSION);
	curl_easy_setopt(cl->curl, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(cl->curl, CURLOPT_SSL_VERIFYHOST, 2L);
	curl_easy_setopt(cl->curl, CURLOPT_TCP_KEEPALIVE, 1L);
#if LIBCURL_VERSION_NUM >= 0x075500
	curl_easy_setopt(cl->curl, CURLOPT_PROTOCOLS_STR, "http,https");
#endif
	if (cf->ca_file)
		curl_easy_setopt(cl->curl, CURLOPT_CAINFO, cf->ca_file);
	return 0;
oom:
	snprintf(err, errlen, "out of memory");
	client_free(cl);
	return -1;
}

void
client_free(struct client *cl)
{
	if (cl->curl)
		curl_easy_cleanup(cl->curl);
	curl_slist_free_all(cl->headers);
	free(cl->base);
	buf_free(&cl->resp);
	memset(cl, 0, sizeof(*cl));
}

int
client_request(struct client *cl, const char *method, const char *path,
    const char *body, const char *if_none_match, char *err, size_t errlen)
{
	struct curl_slist *extra = NULL, *h, *last = NULL;
	char url[1024], inm[200];
	CURLcode rc;

	buf_free(&cl->resp);
	cl->etag[0] = '\0';
	cl->errbuf[0] = '\0';
	cl->status = 0;
	snprintf(url, sizeof(url), "%s%s", cl->base, path);
	curl_easy_setopt(cl->curl, CURLOPT_URL, url);
	curl_easy_setopt(cl->curl, CURLOPT_CUSTOMREQUEST, NULL);
	curl_easy_setopt(cl->curl, CURLOPT_HTTPGET, 1L);
	if (body) {
		curl_easy_setopt(cl->curl, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(cl->curl, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
		if (strcmp(method, "POST") != 0)
			curl_easy_setopt(cl->curl, CURLOPT_CUSTOMREQUEST, method);
	}
	if (if_none_match && *if_none_match) {
		/* appended to the shared list for this request only */
		snprintf(inm, sizeof(inm), "If-None-Match: %s", if_none_match);
		if ((extra = curl_slist_append(NULL, inm)) == NULL) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		for (h = cl->headers; h; h = h->next)
			last = h;
		last->next = extra;
	}
	rc = curl_easy_perform(cl->curl);
	if (last)
		last->next = NULL;
	curl_slist_free_all(extra);
	curl_easy_setopt(cl->curl, CURLOPT_POSTFIELDS, NULL);
	if (rc != CURLE_OK) {
		snprintf(err, errlen, "%s %s: %s", method, url,
		    cl->errbuf[0] ? cl->errbuf : curl_easy_strerror(rc));
		buf_free(&cl->resp);
		return -1;
	}
	curl_easy_getinfo(cl->curl, CURLINFO_RESPONSE_CODE, &cl->status);
	log_debug("%s %s -> %ld (%zu bytes)", method, path, cl->status, cl->resp.len);
	return 0;
}

const char *
client_error_text(struct client *cl, char *out, size_t size)
{
	json_t *j = NULL;
	json_t *e;

	if (cl->resp.ptr)
		j = json_loads(cl->resp.ptr, 0, NULL);
	e = json_object_get(j, "error");
	if (json_is_string(e))
		snprintf(out, size, "HTTP %ld: %s", cl->status, json_string_value(e));
	else
		snprintf(out, size, "HTTP %ld", cl->status);
	json_decref(j);
	return out;
}
