/*
 * http.c - the CLI over HTTP, on lib/httpc.h's client: where the server
 * and the token come from, a client with them, one request, a whole list,
 * and names resolved to ids through the lists.
 *
 * The configuration is ~/.config/custos/cli.conf ("url =", "token_file
 * =", "ca_file ="), overridden by CUSTOS_URL, CUSTOS_TOKEN, CUSTOS_CA_FILE
 * and --ca-file. It is read at the first request, so that a command can
 * refuse its words before anything is read or sent. The URL is http(s)
 * only (libcurl would also take file://, ftp://, ...: the token must go
 * nowhere else), its user:password@ is never printed, and the token file
 * is read as custos-agentd reads its own (token_read(): the owner's, mode
 * 0600).
 */
#include "config.h"
#include "cli.h"
#include "buf.h"
#include "conf.h"
#include "strnum.h"
#include "token.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

struct cli_conf {
	char *url;
	char *token_file;
	char *ca_file;
};

static const struct conf_key cli_keys[] = {
	{ "url", CONF_STR, offsetof(struct cli_conf, url), 0, 0, NULL },
	{ "token_file", CONF_STR, offsetof(struct cli_conf, token_file), 0, 0, NULL },
	{ "ca_file", CONF_STR, offsetof(struct cli_conf, ca_file), 0, 0, NULL },
	{ NULL, 0, 0, 0, 0, NULL },
};

static const char *ca_opt;      /* --ca-file, borrowed */
static int opened;              /* 0 not yet, 1 ready, else the exit status it failed with */
static int curl_started;
static char *base_url;          /* without a trailing slash */
static char *shown_url;         /* base_url without user:password@, for messages */
static char *ca_file;           /* CA certificates for https (NULL: the system's) */
static char *token;

void
http_init(const char *ca)
{
	ca_opt = ca;
}

void
http_close(void)
{
	if (curl_started)
		curl_global_cleanup();
	free(base_url);
	free(shown_url);
	free(ca_file);
	if (token)
		memset(token, 0, strlen(token));
	free(token);
	base_url = shown_url = ca_file = token = NULL;
	opened = curl_started = 0;
}

const char *
http_shown_url(void)
{
	return shown_url ? shown_url : "";
}

/* ---- configuration ---------------------------------------------------------- */

/*
 * Checks url: http:// or https:// only. Sets shown_url (url without
 * user:password@) and *loopback (the host is 127.0.0.0/8, ::1 or
 * localhost). 0, or -1 after saying why.
 */
static int
check_url(const char *url, int *loopback)
{
	const char *sep = strstr(url, "://"), *auth, *end, *at, *h;
	char host[256];
	struct in_addr a4;
	struct in6_addr a6;
	size_t hl;

	*loopback = 0;
	if (sep == NULL || sep == url) {
		fprintf(stderr, "custos: the server's URL must start with http:// or https://\n");
		return -1;
	}
	if (!((sep - url == 4 && strncasecmp(url, "http", 4) == 0) ||
	    (sep - url == 5 && strncasecmp(url, "https", 5) == 0))) {
		fprintf(stderr, "custos: the server's URL is %.*s://...: only http:// and https:// "
		    "are spoken\n", (int)(sep - url < 16 ? sep - url : 16), url);
		return -1;
	}
	auth = sep + 3;
	end = auth + strcspn(auth, "/?#");
	/* the last '@' of the authority ends its user:password */
	for (at = NULL, h = auth; h < end; h++)
		if (*h == '@')
			at = h;
	h = at ? at + 1 : auth;
	if ((shown_url = malloc(strlen(url) + 1)) == NULL) {
		fprintf(stderr, "custos: out of memory\n");
		return -1;
	}
	memcpy(shown_url, url, (size_t)(auth - url));
	memcpy(shown_url + (auth - url), h, strlen(h) + 1);
	if (*h == '[') {
		h++;
		hl = strcspn(h, "]");
	} else {
		hl = strcspn(h, ":/?#");
	}
	if (hl == 0 || h + hl > end || hl >= sizeof(host)) {
		fprintf(stderr, "custos: %s: no host in the server's URL\n", shown_url);
		return -1;
	}
	memcpy(host, h, hl);
	host[hl] = '\0';
	*loopback = strcasecmp(host, "localhost") == 0 ||
	    (inet_pton(AF_INET, host, &a4) == 1 && (ntohl(a4.s_addr) >> 24) == 127) ||
	    (inet_pton(AF_INET6, host, &a6) == 1 && IN6_IS_ADDR_LOOPBACK(&a6));
	return 0;
}

/*
 * 0, or EXIT_USAGE when the server or the token is not known, or the URL
 * or the token file is refused. --ca-file wins over CUSTOS_CA_FILE, which
 * wins over cli.conf; so do CUSTOS_URL and CUSTOS_TOKEN over url and
 * token_file.
 */
static int
load_config(void)
{
	const char *u = getenv("CUSTOS_URL"), *t = getenv("CUSTOS_TOKEN");
	const char *ce = getenv("CUSTOS_CA_FILE");
	const char *home = getenv("HOME"), *xdg = getenv("XDG_CONFIG_HOME");
	struct cli_conf cf = { NULL, NULL, NULL };
	char path[4096], err[512];
	int have_file = 0, loopback;

	if (xdg && *xdg)
		snprintf(path, sizeof(path), "%s/custos/cli.conf", xdg);
	else
		snprintf(path, sizeof(path), "%s/.config/custos/cli.conf", home ? home : ".");
	if (access(path, F_OK) == 0) {
		if (conf_load(path, cli_keys, &cf, sizeof(cf), err, sizeof(err)) < 0) {
			fprintf(stderr, "custos: %s\n", err);
			return EXIT_USAGE;
		}
		have_file = 1;
	}
	base_url = strdup(u && *u ? u : cf.url ? cf.url : "");
	if (ca_opt && *ca_opt)
		ca_file = strdup(ca_opt);
	else if (ce && *ce)
		ca_file = strdup(ce);
	else if (cf.ca_file && *cf.ca_file)
		ca_file = strdup(cf.ca_file);
	if (t && *t) {
		token = strdup(t);
	} else if (cf.token_file) {
		if ((token = token_read(cf.token_file, err, sizeof(err))) == NULL) {
			fprintf(stderr, "custos: %s\n", err);
			conf_free(cli_keys, &cf);
			return EXIT_USAGE;
		}
	}
	if (have_file)
		conf_free(cli_keys, &cf);
	if (base_url == NULL || *base_url == '\0') {
		fprintf(stderr, "custos: no server: set CUSTOS_URL or \"url =\" in %s\n", path);
		return EXIT_USAGE;
	}
	if (token == NULL || *token == '\0') {
		fprintf(stderr, "custos: no token: set CUSTOS_TOKEN or \"token_file =\" in %s\n", path);
		return EXIT_USAGE;
	}
	while (*base_url && base_url[strlen(base_url) - 1] == '/')
		base_url[strlen(base_url) - 1] = '\0';
	if (check_url(base_url, &loopback) < 0)
		return EXIT_USAGE;
	if (!loopback && strncasecmp(base_url, "http://", 7) == 0)
		fprintf(stderr, "custos: warning: %s is plain http to another host: the token "
		    "crosses the network readable; use https://\n", shown_url);
	return 0;
}

/* The configuration and libcurl, once: 0, or the exit status it failed with. */
static int
http_open(void)
{
	if (opened == 0) {
		opened = load_config();
		if (opened == 0 && curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
			fprintf(stderr, "custos: libcurl failed to start\n");
			opened = EXIT_REFUSED;
		}
		if (opened == 0) {
			curl_started = 1;
			opened = 1;
		}
	}
	return opened == 1 ? 0 : opened;
}

/* ---- requests --------------------------------------------------------------- */

int
http_client(struct httpc *h, struct httpc_opts *o, const char *accept,
    const char *path, char **url)
{
	struct buf auth, acc, u;
	char err[256];
	int rc = EXIT_REFUSED;

	*url = NULL;
	if ((rc = http_open()) != 0)
		return rc;
	rc = EXIT_REFUSED;
	buf_init(&auth, 1024);
	buf_init(&acc, 256);
	buf_init(&u, 8192);
	buf_addf(&auth, "Authorization: Bearer %s", token);
	buf_addf(&acc, "Accept: %s", accept);
	buf_addf(&u, "%s%s", base_url, path);
	if (auth.failed || acc.failed || u.failed) {
		fprintf(stderr, "custos: out of memory\n");
		goto done;
	}
	o->ca_file = ca_file;
	if (httpc_init(h, o, err, sizeof(err)) < 0) {
		fprintf(stderr, "custos: %s\n", err);
		goto done;
	}
	if (httpc_header(h, auth.ptr) < 0 || httpc_header(h, acc.ptr) < 0) {
		fprintf(stderr, "custos: out of memory\n");
		httpc_free(h);
		goto done;
	}
	*url = buf_take(&u);
	rc = 0;
done:
	if (auth.ptr)
		secure_zero(auth.ptr, auth.len);
	buf_free(&auth);
	buf_free(&acc);
	buf_free(&u);
	return rc;
}

int
http_request(const char *method, const char *path, json_t *body, json_t **out)
{
	return http_request_full(method, path, body, HTTP_TOTAL_MS / 1000, out, NULL);
}

int
http_request_full(const char *method, const char *path, json_t *body, long timeout_s,
    json_t **out, long *status_out)
{
	struct httpc_opts o = {
		.name = "custos-cli", .total_ms = timeout_s * 1000,
		.max_answer = BODY_MAX,
	};
	static const char *const json_body[] = { "Content-Type: application/json", NULL };
	struct httpc h;
	char *text = NULL, *url = NULL, err[CURL_ERROR_SIZE + 64];
	long status;
	int rc;
	json_error_t jerr;

	*out = NULL;
	if ((rc = http_client(&h, &o, "application/json", path, &url)) != 0)
		return rc;
	rc = EXIT_REFUSED;
	if (body && (text = json_dumps(body, JSON_COMPACT)) == NULL) {
		fprintf(stderr, "custos: out of memory\n");
		goto done;
	}
	if (httpc_request(&h, method, url, text, text ? strlen(text) : 0,
	    text ? json_body : NULL, err, sizeof(err)) < 0) {
		/* libcurl's message names the host, never the user:password */
		fprintf(stderr, "custos: %s%s: %s\n", shown_url, path, err);
		goto done;
	}
	status = h.status;
	if (status_out)
		*status_out = status;
	if (h.resp.len > 0)
		*out = json_loadb(h.resp.ptr, h.resp.len, 0, &jerr);
	if (status >= 200 && status < 300) {
		if (h.resp.len > 0 && *out == NULL) {
			fprintf(stderr, "custos: %s%s: the answer is not JSON\n", shown_url, path);
			goto done;
		}
		/* the tables print from it: --json prints the JSON, escaped as JSON is */
		if (!opt_json)
			json_tty_clean(*out, NULL);
		rc = 0;
		goto done;
	}
	json_tty_clean(*out, NULL);
	if (status_out && *out)
		goto done;      /* the caller reads the refusal */
	{
		const char *msg = json_string_value(json_object_get(*out, "error"));
		const char *field = json_string_value(json_object_get(*out, "field"));
		fprintf(stderr, "custos: %s (HTTP %ld)%s%s\n", msg ? msg : "request refused", status,
		    field ? ", field: " : "", field ? field : "");
	}
	json_decref(*out);
	*out = NULL;
done:
	httpc_free(&h);
	free(url);
	free(text);
	return rc;
}

int
with_selector(const char *path, const char *sel, char *out, size_t len)
{
	char *e;
	int n;

	if (sel == NULL)
		return snprintf(out, len, "%s", path) < (int)len ? 0 : -1;
	if ((e = curl_easy_escape(NULL, sel, 0)) == NULL)
		return -1;
	n = snprintf(out, len, "%s%sselector=%s", path, strchr(path, '?') ? "&" : "?", e);
	curl_free(e);
	return n >= 0 && (size_t)n < len ? 0 : -1;
}

int
http_get_all(const char *path, json_t **items)
{
	char *cursor = NULL;
	int rc = 0, page;

	*items = json_array();
	for (page = 0; page < 1000; page++) {
		struct buf p;
		json_t *j, *next;
		buf_init(&p, 8192);
		buf_addf(&p, "%s%slimit=1000%s%s", path, strchr(path, '?') ? "&" : "?",
		    cursor ? "&cursor=" : "", cursor ? cursor : "");
		free(cursor);
		cursor = NULL;
		rc = p.failed ? EXIT_REFUSED : http_request("GET", p.ptr, NULL, &j);
		buf_free(&p);
		if (rc)
			break;
		json_array_extend(*items, json_object_get(j, "items"));
		next = json_object_get(j, "next");
		if (json_is_string(next))
			cursor = strdup(json_string_value(next));
		json_decref(j);
		if (cursor == NULL)
			break;
	}
	free(cursor);
	if (rc) {
		json_decref(*items);
		*items = NULL;
	}
	return rc;
}

/* ---- names ------------------------------------------------------------------ */

int
object_id(const char *path, const char *what, const char *word, long long *id)
{
	json_t *items, *o;
	const char *es;
	long long n = str_to_ll(word, 1, INT64_MAX, &es);
	size_t i;
	int rc;

	*id = 0;
	if ((rc = http_get_all(path, &items)) != 0)
		return rc;
	json_array_foreach(items, i, o)
		if (strcmp(jstr(o, "name", ""), word) == 0)
			*id = (long long)json_integer_value(json_object_get(o, "id"));
	if (*id == 0 && es == NULL)
		json_array_foreach(items, i, o)
			if (json_integer_value(json_object_get(o, "id")) == n)
				*id = n;
	json_decref(items);
	if (*id == 0) {
		fprintf(stderr, "custos: no %s named \"%s\"\n", what, word);
		return EXIT_REFUSED;
	}
	return 0;
}

int
agent_id(const char *name, long long *id)
{
	return object_id("/api/v1/agents", "agent", name, id);
}

int
split_check(const char *spec, char agent[256], const char **check)
{
	const char *slash = strchr(spec, '/');

	if (slash == NULL || slash == spec || slash[1] == '\0' || slash - spec >= 256)
		return -1;
	memcpy(agent, spec, (size_t)(slash - spec));
	agent[slash - spec] = '\0';
	*check = slash + 1;
	return 0;
}

int
check_id(const char *agent, const char *check, long long *aid, long long *id)
{
	char path[64];
	json_t *items, *c;
	size_t i;
	int rc;

	*id = 0;
	if ((rc = agent_id(agent, aid)) != 0)
		return rc;
	snprintf(path, sizeof(path), "/api/v1/checks?agent_id=%lld", *aid);
	if ((rc = http_get_all(path, &items)) != 0)
		return rc;
	json_array_foreach(items, i, c)
		if (strcmp(jstr(c, "name", ""), check) == 0)
			*id = (long long)json_integer_value(json_object_get(c, "id"));
	json_decref(items);
	if (*id == 0) {
		fprintf(stderr, "custos: agent %s has no check named \"%s\"\n", agent, check);
		return EXIT_REFUSED;
	}
	return 0;
}
