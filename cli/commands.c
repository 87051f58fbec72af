/*
 * commands.c - the operator's commands, one function per row of the
 * table in main.c. Each is given its words and options already checked
 * against its row (count, which options, durations and numbers parsed);
 * it checks the rest of its words before its first request, so that a
 * usage error sends nothing, then asks the API and prints (print.c).
 */
#include "config.h"
#include "cli.h"
#include "strnum.h"
#include "timeutil.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static void
rfc3339_in(long long secs, char out[RFC3339_LEN])
{
	rfc3339_format(time_now_us() + secs * 1000000, out);
}

/* ---- what is broken ------------------------------------------------------------ */

static int
status(int problems_only)
{
	json_t *st;
	int rc = http_request("GET", "/api/v1/status", NULL, &st);
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

int
cmd_status(const struct cli_args *a)
{
	(void)a;
	return status(0);
}

int
cmd_problems(const struct cli_args *a)
{
	(void)a;
	return status(1);
}

/* the table of `custos agents` */
static void
agents_rows(json_t *items)
{
	json_t *ag;
	size_t i;

	printf("%-24s %-6s %-16s %-10s %s\n", "AGENT", "STATE", "LAST CHECKOUT", "INTERVAL", "VERSION");
	json_array_foreach(items, i, ag) {
		char t[32], iv[24];
		const char *st = jstr(ag, "state", "?");
		snprintf(iv, sizeof(iv), "%llds", (long long)json_integer_value(json_object_get(ag, "interval_s")));
		printf("%-24s %s%-6s%s %-16s %-10s %s\n", jstr(ag, "name", "?"), col(st), st, reset(),
		    json_is_string(json_object_get(ag, "last_checkout_at")) ?
		    ago(jstr(ag, "last_checkout_at", NULL), t) : "never", iv, jstr(ag, "version", "-"));
	}
}

int
cmd_agents(const struct cli_args *a)
{
	char path[8192];

	if (with_selector("/api/v1/agents", a->val[O_SELECTOR], path, sizeof(path)) < 0)
		return usage("--selector: too long");
	return print_list(path, agents_rows);
}

/* "AGENT/CHECK", and " (off)" for a disabled check, into buf: buf.
 * names: the agents' names by id (as text). */
static const char *
check_label(json_t *names, json_t *c, char *buf, size_t size)
{
	char id[24];
	const char *an;

	snprintf(id, sizeof(id), "%lld", (long long)json_integer_value(json_object_get(c, "agent_id")));
	an = json_string_value(json_object_get(names, id));
	snprintf(buf, size, "%s/%s%s", an ? an : "?", jstr(c, "name", "?"),
	    json_is_false(json_object_get(c, "enabled")) ? " (off)" : "");
	return buf;
}

int
cmd_checks(const struct cli_args *args)
{
	const char *agent = args->argc > 0 ? args->argv[0] : NULL;
	json_t *agents, *items, *c, *a;
	char path[8192] = "/api/v1/checks", base[64];
	long long aid = 0;
	size_t i;
	int rc;

	if ((rc = http_get_all("/api/v1/agents", &agents)) != 0)
		return rc;
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
	snprintf(base, sizeof(base), "%s", path);
	if (with_selector(base, args->val[O_SELECTOR], path, sizeof(path)) < 0) {
		json_decref(agents);
		return usage("--selector: too long");
	}
	if ((rc = http_get_all(path, &items)) != 0) {
		json_decref(agents);
		return rc;
	}
	if (opt_json) {
		print_json(items);
	} else {
		/* CHECK as wide as its widest name (as the problems list); TYPE
		 * as wide as the longest type name, "heartbeat" */
		json_t *names = json_object();
		size_t wname = 0;
		int cn;
		char name[256];
		json_array_foreach(agents, i, a) {
			char id[24];
			snprintf(id, sizeof(id), "%lld", (long long)json_integer_value(json_object_get(a, "id")));
			json_object_set_new(names, id, json_string(jstr(a, "name", "?")));
		}
		json_array_foreach(items, i, c) {
			size_t n = strlen(check_label(names, c, name, sizeof(name)));
			if (n > wname)
				wname = n;
		}
		cn = col_width(wname, 32);
		printf("%-*s %-9s %-9s %-14s %s\n", cn, "CHECK", "TYPE", "STATUS", "FOR", "OUTPUT");
		json_array_foreach(items, i, c) {
			json_t *s = json_object_get(c, "state");
			const char *st = jstr(s, "status", "PENDING");
			char t[32], out[OUT_WIDTH + 8];
			check_label(names, c, name, sizeof(name));
			printf("%-*s %-9s %s%-9s%s %-14s %s\n", cn, name, jstr(c, "type", "?"), col(st), st,
			    reset(), ago(jstr(s, "since", NULL), t), first_line(jstr(s, "output", ""), out));
		}
		json_decref(names);
	}
	json_decref(items);
	json_decref(agents);
	return 0;
}

int
cmd_history(const struct cli_args *a)
{
	const char *spec = a->argv[0], *check;
	long long aid, id;
	char agent[256], path[96];
	json_t *j, *items, *h;
	size_t i;
	int rc;

	if (split_check(spec, agent, &check) < 0)
		return usage("history: expected AGENT/CHECK, got \"%s\"", spec);
	if ((rc = check_id(agent, check, &aid, &id)) != 0)
		return rc;
	snprintf(path, sizeof(path), "/api/v1/checks/%lld/history?limit=%lld", id,
	    a->val[O_LIMIT] ? a->num[O_LIMIT] : 50);
	if ((rc = http_request("GET", path, NULL, &j)) != 0)
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

/* ---- who knows ---------------------------------------------------------------- */

static int
ack(const struct cli_args *a, int remove)
{
	const char *spec = a->argv[0], *check, *text = a->val[O_MESSAGE];
	const char *expires = a->val[O_EXPIRES];
	long long aid, id;
	char agent[256], path[64], when[RFC3339_LEN], msg[300];
	json_t *body = NULL, *out;
	int rc;

	if (split_check(spec, agent, &check) < 0)
		return usage("%s: expected AGENT/CHECK, got \"%s\"", remove ? "unack" : "ack", spec);
	if ((rc = check_id(agent, check, &aid, &id)) != 0)
		return rc;
	snprintf(path, sizeof(path), "/api/v1/checks/%lld/ack", id);
	if (remove) {
		rc = http_request("DELETE", path, NULL, &out);
		snprintf(msg, sizeof(msg), "%s: acknowledgement removed", spec);
	} else {
		body = json_pack("{s:s}", "comment", text ? text : "acknowledged with custos(1)");
		if (expires) {
			rfc3339_in(a->num[O_EXPIRES], when);
			json_object_set_new(body, "expires_at", json_string(when));
		}
		rc = http_request("POST", path, body, &out);
		snprintf(msg, sizeof(msg), "%s: acknowledged%s%s", spec, expires ? " until " : "",
		    expires ? when : "");
	}
	json_decref(body);
	return rc ? rc : print_done(out, msg);
}

int
cmd_ack(const struct cli_args *a)
{
	return ack(a, 0);
}

int
cmd_unack(const struct cli_args *a)
{
	return ack(a, 1);
}

/*
 * backtest AGENT/CHECK: what other thresholds would have caused (POST
 * .../backtest): "with warning 80: 14 pages in 30 days instead of 3". An
 * option not given keeps the check's current value (the server's rule).
 */
int
cmd_backtest(const struct cli_args *a)
{
	static const struct { enum cli_opt_id id; const char *key, *shown; } opt[] = {
		{ O_WARNING, "warning", "warning" },
		{ O_CRITICAL, "critical", "critical" },
		{ O_ATTEMPTS, "max_attempts", "max attempts" },
		{ O_SINCE, "since", NULL },
	};
	const char *spec = a->argv[0], *check;
	char agent[256], path[64], with[300] = "", span[32];
	long long aid, id, d;
	int64_t since, until;
	json_t *body, *out, *p, *c;
	size_t k, w = 0;
	int rc;

	if (split_check(spec, agent, &check) < 0)
		return usage("backtest: expected AGENT/CHECK, got \"%s\"", spec);
	if (!a->val[O_WARNING] && !a->val[O_CRITICAL] && !a->val[O_ATTEMPTS] && !a->val[O_SINCE])
		return usage("backtest needs at least one of --warning, --critical, "
		    "--max-attempts, --since");
	if ((rc = check_id(agent, check, &aid, &id)) != 0)
		return rc;
	body = json_object();
	for (k = 0; k < sizeof(opt) / sizeof(opt[0]); k++) {
		const char *v = a->val[opt[k].id];

		if (v == NULL)
			continue;
		json_object_set_new(body, opt[k].key, opt[k].id == O_ATTEMPTS ?
		    json_integer(a->num[O_ATTEMPTS]) : json_string(v));
		if (opt[k].shown && w < sizeof(with))
			w += (size_t)snprintf(with + w, sizeof(with) - w, "%s %s %s",
			    w ? "," : " with", opt[k].shown, v);
	}
	snprintf(path, sizeof(path), "/api/v1/checks/%lld/backtest", id);
	rc = http_request("POST", path, body, &out);
	json_decref(body);
	if (rc || opt_json)
		return rc ? rc : print_done(out, "");
	p = json_object_get(out, "proposed");
	c = json_object_get(out, "current");
	if (rfc3339_parse(jstr(out, "since", ""), &since) < 0 ||
	    rfc3339_parse(jstr(out, "until", ""), &until) < 0)
		since = until = 0;
	d = (long long)(until - since);
	if (d >= 86400LL * 1000000)
		snprintf(span, sizeof(span), "%lld days", (d + 43200000000LL) / 86400000000LL);
	else
		snprintf(span, sizeof(span), "%lld hours", (d + 1800000000LL) / 3600000000LL);
	printf("%s%s: %lld pages in %s instead of %lld (HARD problems %lld instead of %lld, "
	    "flapping %lld instead of %lld; %lld results)\n", spec, *with ? with : " as now",
	    (long long)json_integer_value(json_object_get(p, "notifications")), span,
	    (long long)json_integer_value(json_object_get(c, "notifications")),
	    (long long)json_integer_value(json_object_get(p, "hard_problems")),
	    (long long)json_integer_value(json_object_get(c, "hard_problems")),
	    (long long)json_integer_value(json_object_get(p, "flaps")),
	    (long long)json_integer_value(json_object_get(c, "flaps")),
	    (long long)json_integer_value(json_object_get(out, "results")));
	json_decref(out);
	return 0;
}

/*
 * downtime AGENT[/CHECK] (--for DURATION | --end TIME) [--start TIME]
 * [-m TEXT], or downtime --cancel ID; downtimes create is the first.
 */
/* The target of a downtime, AGENT or AGENT/CHECK, into *body. */
static int
downtime_target(const char *spec, json_t *body)
{
	const char *check;
	char agent[256];
	long long aid = 0, id = 0;
	int rc;

	if (strchr(spec, '/')) {
		if (split_check(spec, agent, &check) < 0)
			return usage("expected AGENT or AGENT/CHECK, got \"%s\"", spec);
		if ((rc = check_id(agent, check, &aid, &id)) != 0)
			return rc;
	} else if ((rc = agent_id(spec, &aid)) != 0) {
		return rc;
	}
	json_object_set_new(body, id ? "check_id" : "agent_id", json_integer(id ? id : aid));
	return 0;
}

/* downtime AGENT[/CHECK] --weekly WINDOW [--tz ZONE]: the server checks both */
static int
downtime_weekly(const struct cli_args *a, const char *spec, const char *text)
{
	const char *zone = a->val[O_TZ] ? a->val[O_TZ] : "UTC";
	json_t *body = json_pack("{s:s, s:s, s:s}", "recurring", a->val[O_WEEKLY], "tz", zone,
	    "comment", text ? text : ""), *out = NULL;
	char msg[400];
	int rc;

	if (body == NULL)
		return 1;
	if ((rc = downtime_target(spec, body)) == 0)
		rc = http_request("POST", "/api/v1/downtimes", body, &out);
	json_decref(body);
	snprintf(msg, sizeof(msg), "%s: in downtime every %s (%s), id %lld", spec, a->val[O_WEEKLY],
	    zone, out ? (long long)json_integer_value(json_object_get(out, "id")) : 0LL);
	return rc ? rc : print_done(out, msg);
}

int
cmd_downtime(const struct cli_args *a)
{
	const char *spec, *text = a->val[O_MESSAGE];
	int64_t from, to;
	char start[RFC3339_LEN], end[RFC3339_LEN], msg[400], path[64];
	json_t *body, *out;
	int rc;

	if (a->val[O_CANCEL]) {
		if (a->argc || a->val[O_FOR] || a->val[O_START] || a->val[O_END] || text ||
		    a->val[O_WEEKLY] || a->val[O_TZ])
			return usage("downtime --cancel ID takes nothing else");
		snprintf(path, sizeof(path), "/api/v1/downtimes/%lld", a->num[O_CANCEL]);
		if ((rc = http_request("DELETE", path, NULL, &out)) != 0)
			return rc;
		snprintf(msg, sizeof(msg), "downtime %lld cancelled", a->num[O_CANCEL]);
		return print_done(out, msg);
	}
	if (a->argc != 1)
		return usage("downtime needs one AGENT or AGENT/CHECK (or --cancel ID)");
	spec = a->argv[0];
	if (a->val[O_WEEKLY] && (a->val[O_FOR] || a->val[O_END] || a->val[O_START]))
		return usage("downtime: --weekly or --for/--end/--start, not both");
	if (a->val[O_TZ] && !a->val[O_WEEKLY])
		return usage("downtime: --tz is for --weekly");
	if (a->val[O_WEEKLY])
		return downtime_weekly(a, spec, text);
	if (a->val[O_FOR] && a->val[O_END])
		return usage("downtime: --for or --end, not both");
	if (a->val[O_FOR] == NULL && a->val[O_END] == NULL)
		return usage("downtime needs --for DURATION (90s, 15m, 2h, 1d) or --end TIME");
	from = a->val[O_START] ? a->num[O_START] : time_now_us();
	to = a->val[O_FOR] ? from + a->num[O_FOR] * 1000000 : a->num[O_END];
	if (to <= from)
		return usage("downtime: --end must be after the start");
	rfc3339_format(from, start);
	rfc3339_format(to, end);
	body = json_pack("{s:s, s:s, s:s}", "start", start, "end", end, "comment",
	    text ? text : "");
	if ((rc = downtime_target(spec, body)) != 0) {
		json_decref(body);
		return rc;
	}
	rc = http_request("POST", "/api/v1/downtimes", body, &out);
	json_decref(body);
	snprintf(msg, sizeof(msg), "%s: in downtime until %s", spec, end);
	return rc ? rc : print_done(out, msg);
}

/* ---- what happened -------------------------------------------------------------- */

int
cmd_events(const struct cli_args *a)
{
	int follow_it = a->val[O_FOLLOW] != NULL, rc;
	json_t *st, *j, *items, *ev;
	char path[96];
	long long last;
	size_t i;

	if ((rc = http_request("GET", "/api/v1/status", NULL, &st)) != 0)
		return rc;
	last = (long long)json_integer_value(json_object_get(st, "last_event_id"));
	json_decref(st);
	snprintf(path, sizeof(path), "/api/v1/events?since_id=%lld&limit=50", last > 50 ? last - 50 : 0);
	if ((rc = http_request("GET", path, NULL, &j)) != 0)
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
	/*
	 * The stream goes on after the newest event printed: one written
	 * between the two requests above is in the list, and a stream from
	 * the status's id would print it again.
	 */
	json_array_foreach(items, i, ev)
		if (json_integer_value(json_object_get(ev, "id")) > last)
			last = (long long)json_integer_value(json_object_get(ev, "id"));
	json_decref(j);
	fflush(stdout);
	return follow_it ? http_follow(last) : 0;
}

/* ---- API tokens ------------------------------------------------------------------ */

/* the table of `custos tokens` */
static void
tokens_rows(json_t *items)
{
	json_t *t;
	size_t i;

	printf("%-24s %-7s %-22s %s\n", "NAME", "ROLE", "CREATED", "LAST USED");
	json_array_foreach(items, i, t) {
		char ag[32];
		printf("%-24s %-7s %-22s %s\n", jstr(t, "name", "?"), jstr(t, "role", "?"),
		    jstr(t, "created_at", "?"),
		    json_is_string(json_object_get(t, "last_used_at")) ?
		    ago(jstr(t, "last_used_at", NULL), ag) : "never");
	}
}

int
cmd_tokens(const struct cli_args *a)
{
	(void)a;
	return print_list("/api/v1/tokens", tokens_rows);
}

int
cmd_tokens_create(const struct cli_args *a)
{
	const char *name = a->argv[0], *role = a->argv[1];
	json_t *body, *out;
	int rc;

	if (strcmp(role, "admin") != 0 && strcmp(role, "operator") != 0 &&
	    strcmp(role, "viewer") != 0)
		return usage("tokens create: ROLE must be admin, operator or viewer, not \"%s\"", role);
	body = json_pack("{s:s, s:s}", "name", name, "role", role);
	rc = http_request("POST", "/api/v1/tokens", body, &out);
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

/*
 * The token named name: *items is every token (the caller's, to
 * json_decref()), the token one of them (borrowed). 0, or the exit status
 * after saying why.
 */
static int
token_named(const char *name, json_t **items, json_t **token)
{
	json_t *t;
	size_t i;
	int rc;

	*token = NULL;
	if ((rc = http_get_all("/api/v1/tokens", items)) != 0)
		return rc;
	json_array_foreach(*items, i, t)
		if (strcmp(jstr(t, "name", ""), name) == 0)
			*token = t;
	if (*token == NULL) {
		fprintf(stderr, "custos: no token named \"%s\"\n", name);
		json_decref(*items);
		*items = NULL;
		return EXIT_REFUSED;
	}
	return 0;
}

int
cmd_tokens_revoke(const struct cli_args *a)
{
	json_t *items, *t, *out;
	char path[64];
	int rc;

	if ((rc = token_named(a->argv[0], &items, &t)) != 0)
		return rc;
	snprintf(path, sizeof(path), "/api/v1/tokens/%lld",
	    (long long)json_integer_value(json_object_get(t, "id")));
	json_decref(items);
	if ((rc = http_request("DELETE", path, NULL, &out)) != 0)
		return rc;
	return print_done(out, "token revoked");
}

int
cmd_tokens_show(const struct cli_args *a)
{
	json_t *items, *t;
	int rc;

	if ((rc = token_named(a->argv[0], &items, &t)) != 0)
		return rc;
	if (opt_json)
		print_json(t);
	else
		print_object(t);
	json_decref(items);
	return 0;
}

/* ---- why an event was, or was not, notified -------------------------------------- */

/*
 * One decision of a routing record as words: its detail, led by its
 * decision word when the detail does not say it ("retry: ...", but "in
 * downtime 'deploy' until T" as is); a send also says when. Any word a
 * writer records is shown, known or not.
 */
static void
why_decision(json_t *d, int first)
{
	const char *word = jstr(d, "decision", "?"), *detail = jstr(d, "detail", "");

	fputs(first ? "" : "; ", stdout);
	if (strcmp(word, "sent") == 0)
		printf("sent at %s%s%s%s", jstr(d, "at", "?"), *detail ? " (" : "", detail,
		    *detail ? ")" : "");
	else if (*detail == '\0')
		fputs(word, stdout);
	else if (strstr(detail, word) != NULL)
		fputs(detail, stdout);
	else
		printf("%s: %s", word, detail);
}

static void
why_route(json_t *route)
{
	json_t *d;
	size_t i;

	if (json_array_size(route) == 0)
		fputs("(nothing recorded)", stdout);
	json_array_foreach(route, i, d)
		why_decision(d, i == 0);
	fputc('\n', stdout);
}

int
cmd_why(const struct cli_args *a)
{
	json_t *o, *ev, *ns, *n;
	const char *es, *st;
	char path[64];
	long long id = str_to_ll(a->argv[0], 1, INT64_MAX, &es);
	size_t i;
	int rc;

	if (es)
		return usage("why: expected an event ID (a number: custos events), got \"%s\"",
		    a->argv[0]);
	snprintf(path, sizeof(path), "/api/v1/events/%lld/routing", id);
	if ((rc = http_request("GET", path, NULL, &o)) != 0)
		return rc;
	if (opt_json) {
		print_json(o);
		json_decref(o);
		return 0;
	}
	ev = json_object_get(o, "event");
	st = jstr(ev, "status", NULL);
	/* "PROBLEM web01/nginx CRITICAL", "AGENT DOWN web01", "EMAIL PAUSED" */
	printf("%s", jstr(ev, "kind", "?"));
	if (json_is_string(json_object_get(ev, "agent")))
		printf(" %s", jstr(ev, "agent", ""));
	if (json_is_string(json_object_get(ev, "check")))
		printf("/%s", jstr(ev, "check", ""));
	if (st)
		printf(" %s%s%s", col(st), st, reset());
	printf(" at %s: %s — ", jstr(ev, "at", "?"),
	    json_is_true(json_object_get(ev, "notify")) ? "notified" : "not notified");
	why_route(json_object_get(o, "route"));
	ns = json_object_get(o, "notifications");
	json_array_foreach(ns, i, n) {
		json_t *pol = json_object_get(n, "policy");
		printf("  %s %s [%s", jstr(n, "contact", "(deleted contact)"), jstr(n, "channel", "?"),
		    jstr(n, "status", "?"));
		if (json_is_string(pol))
			printf(", policy %s step %lld", json_string_value(pol),
			    (long long)json_integer_value(json_object_get(n, "step")));
		fputs("]: ", stdout);
		why_route(json_object_get(n, "route"));
	}
	json_decref(o);
	return 0;
}
