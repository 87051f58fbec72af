/*
 * custos.c - the operator's command line: a thin client of the REST API
 * (libcurl + jansson). It reads CUSTOS_URL and CUSTOS_TOKEN, or
 * ~/.config/custos/cli.conf ("url =", "token_file ="), names checks
 * AGENT/CHECK, prints human tables (colour only on a terminal, never with
 * NO_COLOR) or, with --json, the API's own JSON.
 *
 * Exit status: 0 success, 1 the request was refused or failed (the API's
 * error is printed), 2 a usage error. See custos(1).
 */
#include "config.h"
#include "buf.h"
#include "conf.h"
#include "strnum.h"
#include "timeutil.h"

#include <curl/curl.h>
#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define EXIT_REFUSED 1
#define EXIT_USAGE 2
#define BODY_MAX (64 << 20)     /* an answer larger than this is an error */
#define OUT_WIDTH 60            /* output column, in bytes, in tables */

struct cli_conf {
	char *url;
	char *token_file;
};

static const struct conf_key cli_keys[] = {
	{ "url", CONF_STR, offsetof(struct cli_conf, url), 0, 0, NULL },
	{ "token_file", CONF_STR, offsetof(struct cli_conf, token_file), 0, 0, NULL },
	{ NULL, 0, 0, 0, 0, NULL },
};

static char *base_url;          /* without a trailing slash */
static char *token;
static int opt_json, colour;

static const char usage_text[] =
	"usage: custos [--json] COMMAND [ARGS]\n"
	"  status                         counts and current problems\n"
	"  problems                       current problems, worst first\n"
	"  agents                         every agent and its state\n"
	"  checks [AGENT]                 checks (of one agent) with their state\n"
	"  history AGENT/CHECK [-n N]     the newest results of a check\n"
	"  ack AGENT/CHECK [-m TEXT] [--expires DURATION]\n"
	"  unack AGENT/CHECK\n"
	"  downtime AGENT[/CHECK] --for DURATION [-m TEXT]\n"
	"  events [-f]                    recent events; -f follows the stream\n"
	"  tokens [create NAME ROLE | revoke NAME]\n"
	"Configuration: CUSTOS_URL and CUSTOS_TOKEN, or ~/.config/custos/cli.conf\n"
	"with \"url =\" and \"token_file =\". DURATION: 90s, 15m, 2h, 1d, 1h30m.\n";

static int usage(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int
usage(const char *fmt, ...)
{
	va_list ap;

	if (fmt) {
		fputs("custos: ", stderr);
		va_start(ap, fmt);
		vfprintf(stderr, fmt, ap);
		va_end(ap);
		fputc('\n', stderr);
	}
	fputs(usage_text, stderr);
	return EXIT_USAGE;
}

/* ---- configuration ---------------------------------------------------------- */

static char *
read_token_file(const char *path)
{
	FILE *fp = fopen(path, "r");
	char line[512];
	size_t n;

	if (fp == NULL) {
		fprintf(stderr, "custos: token_file %s: %s\n", path, strerror(errno));
		return NULL;
	}
	if (fgets(line, sizeof(line), fp) == NULL) {
		fclose(fp);
		fprintf(stderr, "custos: token_file %s is empty\n", path);
		return NULL;
	}
	fclose(fp);
	n = strcspn(line, "\r\n \t");
	line[n] = '\0';
	return strdup(line);
}

/* 0, or EXIT_USAGE when the server or the token is not known. */
static int
load_config(void)
{
	const char *u = getenv("CUSTOS_URL"), *t = getenv("CUSTOS_TOKEN");
	const char *home = getenv("HOME"), *xdg = getenv("XDG_CONFIG_HOME");
	struct cli_conf cf = { NULL, NULL };
	char path[4096], err[512];
	int have_file = 0;

	if (xdg && *xdg)
		snprintf(path, sizeof(path), "%s/custos/cli.conf", xdg);
	else
		snprintf(path, sizeof(path), "%s/.config/custos/cli.conf", home ? home : ".");
	if ((!u || !*u || !t || !*t) && access(path, R_OK) == 0) {
		if (conf_load(path, cli_keys, &cf, sizeof(cf), err, sizeof(err)) < 0) {
			fprintf(stderr, "custos: %s\n", err);
			return EXIT_USAGE;
		}
		have_file = 1;
	}
	base_url = strdup(u && *u ? u : cf.url ? cf.url : "");
	if (t && *t)
		token = strdup(t);
	else if (cf.token_file)
		token = read_token_file(cf.token_file);
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
	return 0;
}

/* ---- HTTP ------------------------------------------------------------------------ */

static size_t
on_body(char *p, size_t sz, size_t n, void *ud)
{
	return buf_add(ud, p, sz * n) < 0 ? 0 : sz * n;
}

/*
 * One request. body (borrowed) is sent as JSON when not NULL. On a 2xx
 * answer returns 0 and *out (owned by the caller; NULL for an empty body);
 * otherwise prints the API's error and returns EXIT_REFUSED.
 */
static int
request(const char *method, const char *path, json_t *body, json_t **out)
{
	CURL *c = curl_easy_init();
	struct curl_slist *hdr = NULL;
	struct buf resp, auth, url;
	char *text = NULL, errbuf[CURL_ERROR_SIZE] = "";
	long status = 0;
	int rc = EXIT_REFUSED;
	CURLcode cc;
	json_error_t jerr;

	*out = NULL;
	buf_init(&resp, BODY_MAX);
	buf_init(&auth, 1024);
	buf_init(&url, 8192);
	if (c == NULL) {
		fprintf(stderr, "custos: out of memory\n");
		goto done;
	}
	buf_addf(&auth, "Authorization: Bearer %s", token);
	buf_addf(&url, "%s%s", base_url, path);
	if (auth.failed || url.failed) {
		fprintf(stderr, "custos: out of memory\n");
		goto done;
	}
	hdr = curl_slist_append(hdr, auth.ptr);
	hdr = curl_slist_append(hdr, "Accept: application/json");
	if (body) {
		text = json_dumps(body, JSON_COMPACT);
		hdr = curl_slist_append(hdr, "Content-Type: application/json");
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, text ? text : "");
	}
	curl_easy_setopt(c, CURLOPT_URL, url.ptr);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	if (strcmp(method, "GET") == 0)
		curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdr);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &resp);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 60L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "custos-cli/" PACKAGE_VERSION);
	if ((cc = curl_easy_perform(c)) != CURLE_OK) {
		fprintf(stderr, "custos: %s: %s\n", url.ptr, errbuf[0] ? errbuf : curl_easy_strerror(cc));
		goto done;
	}
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	if (resp.len > 0)
		*out = json_loadb(resp.ptr, resp.len, 0, &jerr);
	if (status >= 200 && status < 300) {
		if (resp.len > 0 && *out == NULL) {
			fprintf(stderr, "custos: %s: the answer is not JSON: %s\n", url.ptr, jerr.text);
			goto done;
		}
		rc = 0;
		goto done;
	}
	{
		const char *msg = json_string_value(json_object_get(*out, "error"));
		const char *field = json_string_value(json_object_get(*out, "field"));
		fprintf(stderr, "custos: %s (HTTP %ld)%s%s\n", msg ? msg : "request refused", status,
		    field ? ", field: " : "", field ? field : "");
	}
	json_decref(*out);
	*out = NULL;
done:
	curl_slist_free_all(hdr);
	if (c)
		curl_easy_cleanup(c);
	free(text);
	buf_free(&resp);
	buf_free(&auth);
	buf_free(&url);
	return rc;
}

/* GETs every page of a list into one array (*items, the caller's). */
static int
get_all(const char *path, json_t **items)
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
		rc = p.failed ? EXIT_REFUSED : request("GET", p.ptr, NULL, &j);
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

/* ---- printing ----------------------------------------------------------------------- */

static void
print_json(json_t *j)
{
	json_dumpf(j, stdout, JSON_INDENT(2));
	fputc('\n', stdout);
}

static const char *
col(const char *status)
{
	if (!colour || status == NULL)
		return "";
	if (strcmp(status, "CRITICAL") == 0 || strcmp(status, "down") == 0)
		return "\033[1;31m";
	if (strcmp(status, "WARNING") == 0)
		return "\033[1;33m";
	if (strcmp(status, "UNKNOWN") == 0)
		return "\033[1;35m";
	if (strcmp(status, "OK") == 0 || strcmp(status, "up") == 0)
		return "\033[32m";
	return "";
}

static const char *
reset(void)
{
	return colour ? "\033[0m" : "";
}

/* "3 h 12 min" since an RFC 3339 time; "-" when absent. */
static const char *
ago(const char *t, char out[32])
{
	int64_t us;
	long long s, d, h, m;

	if (t == NULL || rfc3339_parse(t, &us) < 0) {
		snprintf(out, 32, "-");
		return out;
	}
	s = (long long)((time_now_us() - us) / 1000000);
	if (s < 0)
		s = 0;
	d = s / 86400;
	h = s % 86400 / 3600;
	m = s % 3600 / 60;
	if (d)
		snprintf(out, 32, "%lld d %lld h", d, h);
	else if (h)
		snprintf(out, 32, "%lld h %lld min", h, m);
	else if (m)
		snprintf(out, 32, "%lld min", m);
	else
		snprintf(out, 32, "%lld s", s);
	return out;
}

/* The first line of s, cut at OUT_WIDTH bytes on a UTF-8 boundary. */
static const char *
first_line(const char *s, char out[OUT_WIDTH + 8])
{
	size_t n;

	if (s == NULL)
		s = "";
	n = strcspn(s, "\n");
	if (n > OUT_WIDTH) {
		n = OUT_WIDTH;
		while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
			n--;
		memcpy(out, s, n);
		memcpy(out + n, "...", 4);
		return out;
	}
	memcpy(out, s, n);
	out[n] = '\0';
	return out;
}

static const char *
jstr(json_t *o, const char *key, const char *dflt)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s ? s : dflt;
}

static void
print_problems(json_t *problems)
{
	size_t i;
	json_t *c;

	if (json_array_size(problems) == 0) {
		printf("No problems.\n");
		return;
	}
	printf("%-9s %-32s %-14s %-22s %s\n", "STATUS", "CHECK", "FOR", "MARKS", "OUTPUT");
	json_array_foreach(problems, i, c) {
		json_t *s = json_object_get(c, "state");
		const char *st = jstr(s, "status", "PENDING");
		char name[256], marks[64], t[32], out[OUT_WIDTH + 8];
		snprintf(name, sizeof(name), "%s/%s", jstr(c, "agent_name", "?"), jstr(c, "name", "?"));
		snprintf(marks, sizeof(marks), "%s%s%s%s",
		    json_is_true(json_object_get(s, "acknowledged")) ? "ack " : "",
		    json_is_true(json_object_get(s, "in_downtime")) ? "downtime " : "",
		    json_is_true(json_object_get(s, "flapping")) ? "flapping " : "",
		    strcmp(jstr(s, "state_type", ""), "SOFT") == 0 ? "soft" : "");
		printf("%s%-9s%s %-32s %-14s %-22s %s\n", col(st), st, reset(), name,
		    ago(jstr(s, "since", NULL), t), marks[0] ? marks : "-",
		    first_line(jstr(s, "output", ""), out));
	}
}

/* ---- names ----------------------------------------------------------------------------- */

/* The id of the agent called name (0 and a message when there is none). */
static long long
agent_id(const char *name)
{
	json_t *items, *a;
	size_t i;
	long long id = 0;

	if (get_all("/api/v1/agents", &items))
		return -1;
	json_array_foreach(items, i, a)
		if (strcmp(jstr(a, "name", ""), name) == 0)
			id = (long long)json_integer_value(json_object_get(a, "id"));
	json_decref(items);
	if (id == 0)
		fprintf(stderr, "custos: no agent named \"%s\"\n", name);
	return id;
}

/* AGENT/CHECK to the check's id (and *aid the agent's); <= 0 on failure. */
static long long
check_id(const char *spec, long long *aid)
{
	const char *slash = strchr(spec, '/');
	char agent[256], path[64];
	json_t *items, *c;
	size_t i;
	long long id = 0;

	if (slash == NULL || slash == spec || slash[1] == '\0' ||
	    (size_t)(slash - spec) >= sizeof(agent))
		return -2;
	memcpy(agent, spec, (size_t)(slash - spec));
	agent[slash - spec] = '\0';
	if ((*aid = agent_id(agent)) <= 0)
		return -1;
	snprintf(path, sizeof(path), "/api/v1/checks?agent_id=%lld", *aid);
	if (get_all(path, &items))
		return -1;
	json_array_foreach(items, i, c)
		if (strcmp(jstr(c, "name", ""), slash + 1) == 0)
			id = (long long)json_integer_value(json_object_get(c, "id"));
	json_decref(items);
	if (id == 0) {
		fprintf(stderr, "custos: agent %s has no check named \"%s\"\n", agent, slash + 1);
		return -1;
	}
	return id;
}

/* "90s", "15m", "2h", "1d", "1w", "1h30m", or plain seconds; -1 if bad. */
static long long
parse_duration(const char *s)
{
	long long total = 0;
	const char *p = s;

	if (s == NULL || *s == '\0')
		return -1;
	while (*p) {
		char num[24];
		size_t n = 0;
		long long v, mul;
		const char *es;
		while (p[n] >= '0' && p[n] <= '9')
			n++;
		if (n == 0 || n >= sizeof(num))
			return -1;
		memcpy(num, p, n);
		num[n] = '\0';
		v = str_to_ll(num, 0, 100LL * 365 * 86400, &es);
		if (es)
			return -1;
		p += n;
		switch (*p) {
		case 's': mul = 1; p++; break;
		case 'm': mul = 60; p++; break;
		case 'h': mul = 3600; p++; break;
		case 'd': mul = 86400; p++; break;
		case 'w': mul = 7 * 86400; p++; break;
		case '\0': mul = 1; break;
		default: return -1;
		}
		total += v * mul;
		if (total > 100LL * 365 * 86400)
			return -1;
	}
	return total > 0 ? total : -1;
}

static void
rfc3339_in(long long secs, char out[RFC3339_LEN])
{
	rfc3339_format(time_now_us() + secs * 1000000, out);
}

/* ---- commands ------------------------------------------------------------------------ */

static int
cmd_status(int problems_only)
{
	json_t *st;
	int rc = request("GET", "/api/v1/status", NULL, &st);
	json_t *cn, *ag;

	if (rc)
		return rc;
	if (opt_json) {
		print_json(problems_only ? json_object_get(st, "problems") : st);
		json_decref(st);
		return 0;
	}
	if (!problems_only) {
		cn = json_object_get(st, "counts");
		ag = json_object_get(st, "agents");
		printf("checks: %s%lld CRITICAL%s, %s%lld WARNING%s, %s%lld UNKNOWN%s, %lld OK, %lld pending\n",
		    col("CRITICAL"), (long long)json_integer_value(json_object_get(cn, "CRITICAL")), reset(),
		    col("WARNING"), (long long)json_integer_value(json_object_get(cn, "WARNING")), reset(),
		    col("UNKNOWN"), (long long)json_integer_value(json_object_get(cn, "UNKNOWN")), reset(),
		    (long long)json_integer_value(json_object_get(cn, "OK")),
		    (long long)json_integer_value(json_object_get(cn, "PENDING")));
		printf("agents: %lld up, %s%lld down%s, %lld new\n",
		    (long long)json_integer_value(json_object_get(ag, "up")),
		    col("down"), (long long)json_integer_value(json_object_get(ag, "down")), reset(),
		    (long long)json_integer_value(json_object_get(ag, "new")));
		putchar('\n');
	}
	print_problems(json_object_get(st, "problems"));
	json_decref(st);
	return 0;
}

static int
cmd_agents(void)
{
	json_t *items, *a;
	size_t i;

	if (get_all("/api/v1/agents", &items))
		return EXIT_REFUSED;
	if (opt_json) {
		print_json(items);
	} else {
		printf("%-24s %-6s %-16s %-10s %s\n", "AGENT", "STATE", "LAST CHECKOUT", "INTERVAL", "VERSION");
		json_array_foreach(items, i, a) {
			char t[32], iv[24];
			const char *st = jstr(a, "state", "?");
			snprintf(iv, sizeof(iv), "%llds", (long long)json_integer_value(json_object_get(a, "interval_s")));
			printf("%-24s %s%-6s%s %-16s %-10s %s\n", jstr(a, "name", "?"), col(st), st, reset(),
			    json_is_string(json_object_get(a, "last_checkout_at")) ?
			    ago(jstr(a, "last_checkout_at", NULL), t) : "never", iv, jstr(a, "version", "-"));
		}
	}
	json_decref(items);
	return 0;
}

static int
cmd_checks(const char *agent)
{
	json_t *agents, *items, *c, *a;
	char path[64] = "/api/v1/checks";
	long long aid = 0;
	size_t i;
	int rc;

	if (get_all("/api/v1/agents", &agents))
		return EXIT_REFUSED;
	if (agent) {
		json_array_foreach(agents, i, a)
			if (strcmp(jstr(a, "name", ""), agent) == 0)
				aid = (long long)json_integer_value(json_object_get(a, "id"));
		if (aid == 0) {
			fprintf(stderr, "custos: no agent named \"%s\"\n", agent);
			json_decref(agents);
			return EXIT_REFUSED;
		}
		snprintf(path, sizeof(path), "/api/v1/checks?agent_id=%lld", aid);
	}
	if ((rc = get_all(path, &items)) != 0) {
		json_decref(agents);
		return rc;
	}
	if (opt_json) {
		print_json(items);
	} else {
		printf("%-32s %-8s %-9s %-14s %s\n", "CHECK", "TYPE", "STATUS", "FOR", "OUTPUT");
		json_array_foreach(items, i, c) {
			json_t *s = json_object_get(c, "state");
			const char *st = jstr(s, "status", "PENDING"), *an = "?";
			char name[256], t[32], out[OUT_WIDTH + 8];
			size_t j;
			json_array_foreach(agents, j, a)
				if (json_integer_value(json_object_get(a, "id")) ==
				    json_integer_value(json_object_get(c, "agent_id")))
					an = jstr(a, "name", "?");
			snprintf(name, sizeof(name), "%s/%s%s", an, jstr(c, "name", "?"),
			    json_is_false(json_object_get(c, "enabled")) ? " (off)" : "");
			printf("%-32s %-8s %s%-9s%s %-14s %s\n", name, jstr(c, "type", "?"), col(st), st,
			    reset(), ago(jstr(s, "since", NULL), t), first_line(jstr(s, "output", ""), out));
			/* a heartbeat's ping URL (shown to admin tokens only) */
			if (json_is_string(json_object_get(c, "ping_url")))
				printf("%-32s ping: %s\n", "", jstr(c, "ping_url", ""));
		}
	}
	json_decref(items);
	json_decref(agents);
	return 0;
}

static int
cmd_history(const char *spec, long limit)
{
	long long aid, id = check_id(spec, &aid);
	char path[96];
	json_t *j, *items, *h;
	size_t i;
	int rc;

	if (id == -2)
		return usage("history: expected AGENT/CHECK, got \"%s\"", spec);
	if (id <= 0)
		return EXIT_REFUSED;
	snprintf(path, sizeof(path), "/api/v1/checks/%lld/history?limit=%ld", id, limit);
	if ((rc = request("GET", path, NULL, &j)) != 0)
		return rc;
	items = json_object_get(j, "items");
	if (opt_json) {
		print_json(j);
	} else {
		printf("%-24s %-9s %-12s %s\n", "OBSERVED", "STATUS", "VALUE", "OUTPUT");
		json_array_foreach(items, i, h) {
			const char *st = jstr(h, "status", "?");
			char v[32], out[OUT_WIDTH + 8];
			json_t *jv = json_object_get(h, "value");
			if (json_is_number(jv))
				snprintf(v, sizeof(v), "%g", json_number_value(jv));
			else
				snprintf(v, sizeof(v), "-");
			printf("%-24s %s%-9s%s %-12s %s\n", jstr(h, "observed_at", "?"), col(st), st, reset(),
			    v, first_line(jstr(h, "output", ""), out));
		}
	}
	json_decref(j);
	return 0;
}

static int
done_json(json_t *j, const char *msg)
{
	if (opt_json && j)
		print_json(j);
	else if (!opt_json)
		printf("%s\n", msg);
	json_decref(j);
	return 0;
}

static int
cmd_ack(const char *spec, const char *text, const char *expires, int remove)
{
	long long aid, id = check_id(spec, &aid), secs = 0;
	char path[64], when[RFC3339_LEN], msg[300];
	json_t *body = NULL, *out;
	int rc;

	if (expires && (secs = parse_duration(expires)) < 0)
		return usage("--expires: \"%s\" is not a duration (90s, 15m, 2h, 1d)", expires);
	if (id == -2)
		return usage("expected AGENT/CHECK, got \"%s\"", spec);
	if (id <= 0)
		return EXIT_REFUSED;
	snprintf(path, sizeof(path), "/api/v1/checks/%lld/ack", id);
	if (remove) {
		rc = request("DELETE", path, NULL, &out);
		snprintf(msg, sizeof(msg), "%s: acknowledgement removed", spec);
	} else {
		body = json_pack("{s:s}", "comment", text ? text : "acknowledged with custos(1)");
		if (expires) {
			rfc3339_in(secs, when);
			json_object_set_new(body, "expires_at", json_string(when));
		}
		rc = request("POST", path, body, &out);
		snprintf(msg, sizeof(msg), "%s: acknowledged%s%s", spec, expires ? " until " : "",
		    expires ? when : "");
	}
	json_decref(body);
	return rc ? rc : done_json(out, msg);
}

static int
cmd_downtime(const char *spec, const char *dur, const char *text)
{
	long long secs, aid = 0, id = 0;
	char start[RFC3339_LEN], end[RFC3339_LEN], msg[400];
	json_t *body, *out;
	int rc;

	if (dur == NULL)
		return usage("downtime: --for DURATION is required");
	if ((secs = parse_duration(dur)) < 0)
		return usage("--for: \"%s\" is not a duration (90s, 15m, 2h, 1d)", dur);
	if (strchr(spec, '/')) {
		if ((id = check_id(spec, &aid)) == -2)
			return usage("expected AGENT or AGENT/CHECK, got \"%s\"", spec);
		if (id <= 0)
			return EXIT_REFUSED;
	} else if ((aid = agent_id(spec)) <= 0) {
		return EXIT_REFUSED;
	}
	rfc3339_in(0, start);
	rfc3339_in(secs, end);
	body = json_pack("{s:s, s:s, s:s}", "start", start, "end", end, "comment",
	    text ? text : "");
	json_object_set_new(body, id ? "check_id" : "agent_id", json_integer(id ? id : aid));
	rc = request("POST", "/api/v1/downtimes", body, &out);
	json_decref(body);
	snprintf(msg, sizeof(msg), "%s: in downtime until %s", spec, end);
	return rc ? rc : done_json(out, msg);
}

static void
print_event(json_t *e)
{
	char what[300], change[64], out[OUT_WIDTH + 8];
	const char *st = jstr(e, "status", NULL), *prev = jstr(e, "prev_status", NULL);

	if (opt_json) {
		json_dumpf(e, stdout, JSON_COMPACT);
		fputc('\n', stdout);
		fflush(stdout);
		return;
	}
	if (json_is_string(json_object_get(e, "check")))
		snprintf(what, sizeof(what), "%s/%s", jstr(e, "agent", "?"), jstr(e, "check", "?"));
	else
		snprintf(what, sizeof(what), "%s", jstr(e, "agent", "-"));
	if (st && prev)
		snprintf(change, sizeof(change), "%s -> %s", prev, st);
	else
		snprintf(change, sizeof(change), "%s", st ? st : "-");
	printf("%-8lld %-24s %-16s %-32s %s%-22s%s %s\n",
	    (long long)json_integer_value(json_object_get(e, "id")), jstr(e, "created_at", "?"),
	    jstr(e, "kind", "?"), what, col(st), change, reset(), first_line(jstr(e, "output", ""), out));
	fflush(stdout);
}

/* ---- following the stream --------------------------------------------------------------- */

struct sse {
	struct buf line;            /* the frame being read */
	long long last_id;
	char event[32];
	int failed;
};

/* Handles one complete frame (text up to the blank line). */
static void
sse_frame(struct sse *s, char *text)
{
	char *p = text, *data = NULL;

	s->event[0] = '\0';
	while (p && *p) {
		char *nl = strchr(p, '\n');
		if (nl)
			*nl = '\0';
		if (strncmp(p, "event: ", 7) == 0) {
			snprintf(s->event, sizeof(s->event), "%s", p + 7);
		} else if (strncmp(p, "id: ", 4) == 0) {
			const char *es;
			long long id = str_to_ll(p + 4, 0, INT64_MAX, &es);
			if (!es)
				s->last_id = id;
		} else if (strncmp(p, "data: ", 6) == 0) {
			data = p + 6;
		}
		p = nl ? nl + 1 : NULL;
	}
	if (data && strcmp(s->event, "event") == 0) {
		json_error_t jerr;
		json_t *e = json_loads(data, 0, &jerr);
		if (e)
			print_event(e);
		json_decref(e);
	} else if (data && strcmp(s->event, "reset") == 0 && !opt_json) {
		printf("-- the server says events were missed; `custos events` lists the recent ones\n");
		fflush(stdout);
	}
}

static size_t
on_stream(char *p, size_t sz, size_t n, void *ud)
{
	struct sse *s = ud;
	size_t len = sz * n, i;

	for (i = 0; i < len; i++) {
		if (buf_add(&s->line, p + i, 1) < 0) {
			s->failed = 1;
			return 0;
		}
		if (p[i] == '\n' && s->line.len >= 2 && s->line.ptr[s->line.len - 2] == '\n') {
			sse_frame(s, s->line.ptr);
			buf_reset(&s->line);
		}
	}
	return len;
}

/* Follows /api/v1/stream until killed, reconnecting with Last-Event-ID. */
static int
follow(long long since)
{
	struct sse s;
	int tries = 0;

	memset(&s, 0, sizeof(s));
	buf_init(&s.line, 16 << 20);
	s.last_id = since;
	for (;;) {
		CURL *c = curl_easy_init();
		struct curl_slist *hdr = NULL;
		struct buf auth, url, lei;
		long status = 0;
		CURLcode cc;

		buf_init(&auth, 1024);
		buf_init(&url, 8192);
		buf_init(&lei, 64);
		buf_addf(&auth, "Authorization: Bearer %s", token);
		buf_addf(&url, "%s/api/v1/stream", base_url);
		buf_addf(&lei, "Last-Event-ID: %lld", s.last_id);
		if (c == NULL || auth.failed || url.failed || lei.failed) {
			fprintf(stderr, "custos: out of memory\n");
			if (c)
				curl_easy_cleanup(c);
			buf_free(&auth);
			buf_free(&url);
			buf_free(&lei);
			break;
		}
		hdr = curl_slist_append(hdr, auth.ptr);
		hdr = curl_slist_append(hdr, lei.ptr);
		hdr = curl_slist_append(hdr, "Accept: text/event-stream");
		curl_easy_setopt(c, CURLOPT_URL, url.ptr);
		curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdr);
		curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_stream);
		curl_easy_setopt(c, CURLOPT_WRITEDATA, &s);
		curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
		curl_easy_setopt(c, CURLOPT_FAILONERROR, 1L);
		/* heartbeats come every stream_heartbeat_s: silence this long means gone */
		curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
		curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, 60L);
		buf_reset(&s.line);
		cc = curl_easy_perform(c);
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
		curl_slist_free_all(hdr);
		curl_easy_cleanup(c);
		buf_free(&auth);
		buf_free(&url);
		buf_free(&lei);
		if (status == 401 || status == 403) {
			fprintf(stderr, "custos: the stream was refused (HTTP %ld)\n", status);
			buf_free(&s.line);
			return EXIT_REFUSED;
		}
		if (s.failed)
			break;
		if (status == 200)
			tries = 0;
		fprintf(stderr, "custos: stream ended (%s); reconnecting\n", curl_easy_strerror(cc));
		sleep(tries < 5 ? 1U << tries++ : 30U);
	}
	buf_free(&s.line);
	return EXIT_REFUSED;
}

static int
cmd_events(int follow_it)
{
	json_t *st, *j, *items;
	char path[96];
	long long last;
	size_t i;
	int rc;

	if ((rc = request("GET", "/api/v1/status", NULL, &st)) != 0)
		return rc;
	last = (long long)json_integer_value(json_object_get(st, "last_event_id"));
	json_decref(st);
	snprintf(path, sizeof(path), "/api/v1/events?since_id=%lld&limit=50", last > 50 ? last - 50 : 0);
	if ((rc = request("GET", path, NULL, &j)) != 0)
		return rc;
	items = json_object_get(j, "items");
	if (opt_json && !follow_it) {
		print_json(j);
	} else {
		json_t *e;
		if (!opt_json)
			printf("%-8s %-24s %-16s %-32s %-22s %s\n", "ID", "TIME", "KIND", "AGENT/CHECK",
			    "CHANGE", "OUTPUT");
		json_array_foreach(items, i, e)
			print_event(e);
	}
	json_decref(j);
	fflush(stdout);
	return follow_it ? follow(last) : 0;
}

static int
cmd_tokens(int argc, char **argv)
{
	json_t *items, *t, *out, *body;
	size_t i;
	long long id = 0;
	int rc;

	if (argc == 0) {
		if (get_all("/api/v1/tokens", &items))
			return EXIT_REFUSED;
		if (opt_json) {
			print_json(items);
		} else {
			printf("%-24s %-7s %-22s %s\n", "NAME", "ROLE", "CREATED", "LAST USED");
			json_array_foreach(items, i, t) {
				char a[32];
				printf("%-24s %-7s %-22s %s\n", jstr(t, "name", "?"), jstr(t, "role", "?"),
				    jstr(t, "created_at", "?"),
				    json_is_string(json_object_get(t, "last_used_at")) ?
				    ago(jstr(t, "last_used_at", NULL), a) : "never");
			}
		}
		json_decref(items);
		return 0;
	}
	if (strcmp(argv[0], "create") == 0) {
		if (argc != 3)
			return usage("tokens create NAME ROLE (ROLE: admin or viewer)");
		if (strcmp(argv[2], "admin") != 0 && strcmp(argv[2], "viewer") != 0)
			return usage("tokens create: ROLE must be admin or viewer, not \"%s\"", argv[2]);
		body = json_pack("{s:s, s:s}", "name", argv[1], "role", argv[2]);
		rc = request("POST", "/api/v1/tokens", body, &out);
		json_decref(body);
		if (rc)
			return rc;
		if (opt_json)
			print_json(out);
		else
			printf("%s\n", jstr(out, "token", ""));
		if (!opt_json && isatty(1))
			fprintf(stderr, "custos: this token is shown once; keep it now\n");
		json_decref(out);
		return 0;
	}
	if (strcmp(argv[0], "revoke") == 0) {
		char path[64];
		if (argc != 2)
			return usage("tokens revoke NAME");
		if (get_all("/api/v1/tokens", &items))
			return EXIT_REFUSED;
		json_array_foreach(items, i, t)
			if (strcmp(jstr(t, "name", ""), argv[1]) == 0)
				id = (long long)json_integer_value(json_object_get(t, "id"));
		json_decref(items);
		if (id == 0) {
			fprintf(stderr, "custos: no token named \"%s\"\n", argv[1]);
			return EXIT_REFUSED;
		}
		snprintf(path, sizeof(path), "/api/v1/tokens/%lld", id);
		if ((rc = request("DELETE", path, NULL, &out)) != 0)
			return rc;
		return done_json(out, "token revoked");
	}
	return usage("tokens: unknown subcommand \"%s\"", argv[0]);
}

/* ---- main --------------------------------------------------------------------------------- */

int
main(int argc, char **argv)
{
	char *args[64], *msg = NULL, *expires = NULL, *dur = NULL;
	long limit = 50;
	int n = 0, i, follow_it = 0, rc;
	const char *cmd;

	/* options may stand anywhere; what is left are the command's words */
	for (i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "--json") == 0) {
			opt_json = 1;
		} else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			fputs(usage_text, stdout);
			return 0;
		} else if (strcmp(a, "--version") == 0) {
			printf("custos %s\n", PACKAGE_VERSION);
			return 0;
		} else if (strcmp(a, "-f") == 0 || strcmp(a, "--follow") == 0) {
			follow_it = 1;
		} else if (strcmp(a, "-m") == 0 || strcmp(a, "--message") == 0 ||
		    strcmp(a, "--expires") == 0 || strcmp(a, "--for") == 0 || strcmp(a, "-n") == 0) {
			if (i + 1 >= argc)
				return usage("%s needs a value", a);
			if (a[1] == 'm' || strcmp(a, "--message") == 0)
				msg = argv[++i];
			else if (strcmp(a, "--expires") == 0)
				expires = argv[++i];
			else if (strcmp(a, "--for") == 0)
				dur = argv[++i];
			else {
				const char *es;
				limit = (long)str_to_ll(argv[++i], 1, 1000, &es);
				if (es)
					return usage("-n: a number from 1 to 1000");
			}
		} else if (a[0] == '-' && a[1] != '\0') {
			return usage("unknown option %s", a);
		} else if (n < (int)(sizeof(args) / sizeof(args[0]))) {
			args[n++] = argv[i];
		} else {
			return usage("too many arguments");
		}
	}
	if (n == 0)
		return usage(NULL);
	cmd = args[0];
	colour = isatty(1) && getenv("NO_COLOR") == NULL && !opt_json;

	/* usage errors first, before any configuration or network */
	if ((strcmp(cmd, "status") == 0 || strcmp(cmd, "problems") == 0 ||
	    strcmp(cmd, "agents") == 0) && n != 1)
		return usage("%s takes no arguments", cmd);
	if (strcmp(cmd, "checks") == 0 && n > 2)
		return usage("checks [AGENT]");
	if ((strcmp(cmd, "history") == 0 || strcmp(cmd, "ack") == 0 ||
	    strcmp(cmd, "unack") == 0 || strcmp(cmd, "downtime") == 0) && n != 2)
		return usage("%s needs one %s", cmd, strcmp(cmd, "downtime") == 0 ?
		    "AGENT or AGENT/CHECK" : "AGENT/CHECK");
	if (strcmp(cmd, "events") == 0 && n != 1)
		return usage("events [-f]");
	if (follow_it && strcmp(cmd, "events") != 0)
		return usage("-f goes with events");
	if ((expires || (msg && strcmp(cmd, "downtime") != 0)) && strcmp(cmd, "ack") != 0 &&
	    strcmp(cmd, "downtime") != 0)
		return usage("-m and --expires go with ack (and -m with downtime)");
	if (expires && parse_duration(expires) < 0)
		return usage("--expires: \"%s\" is not a duration (90s, 15m, 2h, 1d)", expires);
	if (strcmp(cmd, "downtime") == 0 && (dur == NULL || parse_duration(dur) < 0))
		return usage("downtime needs --for DURATION (90s, 15m, 2h, 1d)");
	if ((strcmp(cmd, "history") == 0 || strcmp(cmd, "ack") == 0 ||
	    strcmp(cmd, "unack") == 0) && strchr(args[1], '/') == NULL)
		return usage("%s: expected AGENT/CHECK, got \"%s\"", cmd, args[1]);
	{
		static const char *const known[] = { "status", "problems", "agents", "checks",
			"history", "ack", "unack", "downtime", "events", "tokens", NULL };
		const char *const *k;
		for (k = known; *k && strcmp(*k, cmd) != 0; k++)
			;
		if (*k == NULL)
			return usage("unknown command \"%s\"", cmd);
	}

	if ((rc = load_config()) != 0)
		goto out;
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		fprintf(stderr, "custos: libcurl failed to start\n");
		rc = EXIT_REFUSED;
		goto out;
	}
	if (strcmp(cmd, "status") == 0)
		rc = cmd_status(0);
	else if (strcmp(cmd, "problems") == 0)
		rc = cmd_status(1);
	else if (strcmp(cmd, "agents") == 0)
		rc = cmd_agents();
	else if (strcmp(cmd, "checks") == 0)
		rc = cmd_checks(n > 1 ? args[1] : NULL);
	else if (strcmp(cmd, "history") == 0)
		rc = cmd_history(args[1], limit);
	else if (strcmp(cmd, "ack") == 0)
		rc = cmd_ack(args[1], msg, expires, 0);
	else if (strcmp(cmd, "unack") == 0)
		rc = cmd_ack(args[1], NULL, NULL, 1);
	else if (strcmp(cmd, "downtime") == 0)
		rc = cmd_downtime(args[1], dur, msg);
	else if (strcmp(cmd, "events") == 0)
		rc = cmd_events(follow_it);
	else
		rc = cmd_tokens(n - 1, args + 1);
	curl_global_cleanup();
out:
	free(base_url);
	if (token)
		memset(token, 0, strlen(token));
	free(token);
	return rc;
}
