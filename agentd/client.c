/*
 * client.c - serverd's API for the agent, on lib/httpc.h. One client lives
 * as long as the configuration: its handle's connection cache gives
 * keep-alive across the requests of a cycle and across cycles (and the TLS
 * session with it). Answers are collected into a capped buffer that the
 * caller empties (buf_free) after use, so the idle daemon holds no response
 * memory.
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

static void
on_header(void *ud, const char *name, const char *value)
{
	struct client *cl = ud;

	if (strcasecmp(name, "ETag") == 0 && strlen(value) < sizeof(cl->etag))
		memcpy(cl->etag, value, strlen(value) + 1);
}

int
client_open(struct client *cl, const struct agent_conf *cf, uid_t also_uid,
    long connect_s, long total_s)
{
	struct httpc_opts o = {
		.name = AGENT_NAME, .ca_file = cf->ca_file,
		.connect_ms = connect_s * 1000, .total_ms = total_s * 1000,
		.max_answer = RESP_MAX, .on_header = on_header, .ud = cl,
	};
	char auth[600], err[512], *token;
	size_t blen;
	int rc = -1;

	memset(cl, 0, sizeof(*cl));
	if ((token = token_read_owned(cf->token_file, also_uid, err, sizeof(err))) == NULL) {
		log_error("%s", err);
		return -1;
	}
	if (httpc_init(&cl->http, &o, err, sizeof(err)) < 0) {
		log_error("%s", err);
		goto done;
	}
	if ((cl->base = strdup(cf->server)) == NULL)
		goto oom;
	blen = strlen(cl->base);
	while (blen > 0 && cl->base[blen - 1] == '/')
		cl->base[--blen] = '\0';
	snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token);
	rc = httpc_header(&cl->http, auth);
	secure_zero(auth, sizeof(auth));
	if (rc < 0 || httpc_header(&cl->http, "Content-Type: application/json") < 0 ||
	    httpc_header(&cl->http, "Accept: application/json") < 0)
		goto oom;
	rc = 0;
	goto done;
oom:
	log_error("out of memory");
	client_free(cl);
	rc = -1;
done:
	secure_zero(token, strlen(token));
	free(token);
	return rc;
}

void
client_free(struct client *cl)
{
	httpc_free(&cl->http);
	free(cl->base);
	memset(cl, 0, sizeof(*cl));
}

int
client_request(struct client *cl, const char *method, const char *path,
    const char *body, const char *if_none_match, char *err, size_t errlen)
{
	const char *extra[2] = { NULL, NULL };
	char url[1024], inm[200], why[512];

	cl->etag[0] = '\0';
	snprintf(url, sizeof(url), "%s%s", cl->base, path);
	if (if_none_match && *if_none_match) {
		snprintf(inm, sizeof(inm), "If-None-Match: %s", if_none_match);
		extra[0] = inm;
	}
	if (httpc_request(&cl->http, method, url, body, body ? strlen(body) : 0, extra,
	    why, sizeof(why)) < 0) {
		snprintf(err, errlen, "%s %s: %s", method, url, why);
		return -1;
	}
	log_debug("%s %s -> %ld (%zu bytes)", method, path, cl->http.status, cl->http.resp.len);
	return 0;
}

const char *
client_error_text(struct client *cl, char *out, size_t size)
{
	json_t *j = NULL;
	json_t *e;

	if (cl->http.resp.ptr)
		j = json_loads(cl->http.resp.ptr, 0, NULL);
	e = json_object_get(j, "error");
	if (json_is_string(e))
		snprintf(out, size, "HTTP %ld: %s", cl->http.status, json_string_value(e));
	else
		snprintf(out, size, "HTTP %ld", cl->http.status);
	json_decref(j);
	return out;
}
