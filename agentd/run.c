/*
 * run.c - one agent cycle, as docs/api.md's agent protocol has it:
 *
 *   GET  /api/v1/agent/self           verify the token, learn interval_s (daemon)
 *   GET  /api/v1/agent/self/checks    with If-None-Match: 304 keeps the list;
 *   POST the same with {labels, facts} the first time in a process and when
 *                                     the facts changed: the templates they
 *                                     select are in that very answer
 *   (run every check; one /proc scan serves all process checks)
 *   POST /api/v1/check_history        spooled results first, then this run's
 *   PUT  /api/v1/agent/self/checkout  ends the run, facts when they changed
 *   POST /api/v1/agent/self/heartbeats/NAME  heartbeat reports --wrap spooled
 *
 * When the server cannot be reached (or answers 5xx) the cycle still runs
 * the checks it last knew (kept in memory, and in state_dir/checks.json so a
 * cron run or a restart has them too) and spools the results. The check list
 * is a compact parsed array; the JSON it came from is freed at once.
 */
#include "config.h"
#include "atomicfile.h"
#include "agentd.h"
#include "log.h"
#include "samples.h"
#include "strnum.h"
#include "timeutil.h"
#include "token.h"
#include "utf8.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define POST_BATCH_MAX 500             /* results per request */
#define POST_BODY_MAX (512 * 1024)     /* bytes per request (server: 1 MiB) */

void
agent_init(struct agent *a)
{
	char tok[TOKEN_HEX_LEN + 1];

	memset(a, 0, sizeof(*a));
	conf_defaults(&a->cf);
	check_env_init(&a->env);
	if (token_generate(tok) < 0)
		snprintf(tok, sizeof(tok), "%016llx%08lx", (unsigned long long)time_now_us(),
		    (unsigned long)getpid());
	memcpy(a->rid_prefix, tok, 16);
	a->rid_prefix[16] = '\0';
}

void
agent_clear_checks(struct agent *a)
{
	size_t i;

	for (i = 0; i < a->nchecks; i++) {
		check_def_free(&a->checks[i].def);
		free(a->checks[i].bad);
	}
	free(a->checks);
	a->checks = NULL;
	a->nchecks = 0;
	a->have_checks = 0;
}

void
agent_free(struct agent *a)
{
	agent_clear_checks(a);
	if (a->have_client)
		client_free(&a->cl);
	a->have_client = 0;
	check_env_free(&a->env);
	agent_conf_free(&a->cf);
}

void
agent_apply_env(struct agent *a)
{
	a->env.plugin_dir = a->cf.plugin_dir;
	a->env.log_dirs = a->cf.log_dirs;
	a->env.state_dir = a->cf.state_dir;
	a->env.ca_file = a->cf.ca_file;
	a->env.timeout_ms = (int)a->cf.timeout_s * 1000;
	a->env.self_pid = getpid();
}

int
agent_connect(struct agent *a)
{
	agent_apply_env(a);
	if (a->have_client)
		client_free(&a->cl);
	a->have_client = 0;
	if (client_open(&a->cl, &a->cf, (uid_t)-1, (long)a->cf.timeout_s, (long)a->cf.timeout_s) < 0)
		return -1;
	a->have_client = 1;
	a->self_ok = 0;
	a->described = 0;   /* a new configuration: its labels go with the next download */
	a->old_server = 0;
	return 0;
}

int
agent_set_checks(struct agent *a, json_t *arr, char *err, size_t errlen)
{
	struct agent_check *v;
	json_t *c;
	size_t i, n;

	if (!json_is_array(arr)) {
		snprintf(err, errlen, "\"checks\" is not an array");
		return -1;
	}
	n = json_array_size(arr);
	if ((v = calloc(n ? n : 1, sizeof(*v))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	json_array_foreach(arr, i, c) {
		char why[512];
		const char *field = NULL;
		json_t *id = json_object_get(c, "id");

		v[i].id = json_is_integer(id) ? json_integer_value(id) : 0;
		if (check_def_from_json(c, &v[i].def, why, sizeof(why), &field) < 0) {
			/* an agent older than the server may not know a type: say so per check */
			log_warn("check %lld refused: %s", v[i].id, why);
			if ((v[i].bad = strdup(why)) == NULL) {
				size_t j;
				for (j = 0; j < i; j++) {
					check_def_free(&v[j].def);
					free(v[j].bad);
				}
				free(v);
				snprintf(err, errlen, "out of memory");
				return -1;
			}
		}
	}
	agent_clear_checks(a);
	a->checks = v;
	a->nchecks = n;
	a->have_checks = 1;
	return 0;
}

static void
state_file(const struct agent *a, const char *name, char *out, size_t size)
{
	snprintf(out, size, "%s/%s", a->cf.state_dir, name);
}

/* Writes text to state_dir/name atomically; logs failures (best effort). */
static void
state_write(const struct agent *a, const char *name, const char *text)
{
	char path[512], err[600];

	state_file(a, name, path, sizeof(path));
	if (atomicfile_write(path, text, strlen(text), 0, err, sizeof(err)) < 0)
		log_warn("%s", err);
}

void
agent_load_cache(struct agent *a)
{
	char path[512], err[512];
	json_error_t je;
	json_t *j, *etag, *h;

	state_file(a, "checks.json", path, sizeof(path));
	if ((j = json_load_file(path, 0, &je)) == NULL) {
		if (access(path, F_OK) == 0)
			log_warn("%s: %s (ignored)", path, je.text);
	} else {
		etag = json_object_get(j, "etag");
		if (agent_set_checks(a, json_object_get(j, "checks"), err, sizeof(err)) < 0) {
			log_warn("%s: %s (ignored)", path, err);
		} else if (json_is_string(etag) && json_string_length(etag) < sizeof(a->etag)) {
			memcpy(a->etag, json_string_value(etag), json_string_length(etag) + 1);
		}
		json_decref(j);
	}
	state_file(a, "facts.sha256", path, sizeof(path));
	if ((j = json_load_file(path, JSON_DECODE_ANY, &je)) != NULL) {
		h = j;
		if (json_is_string(h) && json_string_length(h) == 64)
			memcpy(a->facts_hash, json_string_value(h), 65);
		json_decref(j);
	}
}

static void
save_cache(struct agent *a, json_t *checks)
{
	json_t *j = json_pack("{s:s,s:O}", "etag", a->etag, "checks", checks);
	char *text;

	if (j == NULL)
		return;
	if ((text = json_dumps(j, JSON_COMPACT)) != NULL) {
		state_write(a, "checks.json", text);
		free(text);
	}
	json_decref(j);
}

/*
 * A JSON string of text that came from the host: this is the one place a
 * result becomes JSON, so invalid UTF-8 is repaired here (each bad byte
 * becomes U+FFFD, docs/agent.md) and a result is never lost for its bytes.
 * NULL text gives JSON null. *oom is set when memory ran out.
 */
static json_t *
host_text(const char *text, int *oom)
{
	json_t *j;
	char *fixed;

	if (text == NULL)
		return json_null();
	if ((j = json_string(text)) != NULL)
		return j;
	if ((fixed = utf8_repair(text, strlen(text))) == NULL ||
	    (j = json_string(fixed)) == NULL)
		*oom = 1;
	free(fixed);
	return j;
}

json_t *
result_json(struct agent *a, long long check_id, const struct check_result *r,
    int64_t observed_us, int with_ids)
{
	char ts[RFC3339_LEN], rid[64];
	json_t *o;
	int oom = 0;

	rfc3339_format(observed_us, ts);
	snprintf(rid, sizeof(rid), "%s-%llu", a->rid_prefix, ++a->seq);
	if ((o = json_object()) == NULL)
		return NULL;
	oom |= json_object_set_new(o, "status", json_integer((json_int_t)r->status));
	oom |= json_object_set_new(o, "output", host_text(r->output ? r->output : "", &oom));
	oom |= json_object_set_new(o, "observed_at", json_string(ts));
	oom |= json_object_set_new(o, "duration_ms", json_integer((json_int_t)r->duration_ms));
	oom |= json_object_set_new(o, "value", r->has_value && isfinite(r->value) ?
	    json_real(r->value) : json_null());
	oom |= json_object_set_new(o, "perfdata", host_text(r->perfdata, &oom));
	if (with_ids) {
		oom |= json_object_set_new(o, "check_id", json_integer(check_id));
		oom |= json_object_set_new(o, "result_id", json_string(rid));
	}
	if (oom) {
		json_decref(o);
		return NULL;
	}
	return o;
}

void
agent_run_checks(struct agent *a, json_t *out, int with_ids)
{
	struct check_def **defs;
	size_t i, n = 0;

	agent_apply_env(a);
	if ((defs = calloc(a->nchecks ? a->nchecks : 1, sizeof(*defs))) != NULL) {
		for (i = 0; i < a->nchecks; i++)
			if (!a->checks[i].bad)
				defs[n++] = &a->checks[i].def;
		check_env_begin_run(&a->env, defs, n);
		free(defs);
	}
	for (i = 0; i < a->nchecks; i++) {
		struct agent_check *ac = &a->checks[i];
		struct check_result r;
		json_t *o;
		int64_t now = time_now_us();

		if (ac->bad) {
			memset(&r, 0, sizeof(r));
			r.status = CHECK_UNKNOWN;
			if ((r.output = malloc(strlen(ac->bad) + 64)) != NULL)
				snprintf(r.output, strlen(ac->bad) + 64,
				    "CHECK UNKNOWN - definition refused by this agent: %s", ac->bad);
		} else {
			check_run(&ac->def, &a->env, &r);
			log_debug("check %lld %s: %s", ac->id, ac->def.name, r.output);
		}
		o = result_json(a, ac->id, &r, now, with_ids);
		if (o && !with_ids) {
			json_object_set_new(o, "name", json_string(ac->bad ? "" : ac->def.name));
			json_object_set_new(o, "type", json_string(ac->bad ? "" : ac->def.type->name));
			json_object_set_new(o, "status_name", json_string(check_status_name((int)r.status)));
		}
		if (o)
			json_array_append_new(out, o);
		else
			log_error("out of memory: result of check %lld lost", ac->id);
		check_result_free(&r);
	}
	check_env_end_run(&a->env);
}

/*
 * A 403 names the checks that are not (or no longer) this agent's in
 * "check_ids" (docs/api.md): their results in l->v[from..to) are dropped,
 * with an error, since the server will never take them. Returns how many;
 * 0 when the answer names none of them (then nothing is dropped).
 */
static size_t
drop_refused(struct agent *a, struct lines *l, size_t from, size_t to)
{
	char err[512], *ids_text;
	json_t *r = a->cl.http.resp.ptr ? json_loads(a->cl.http.resp.ptr, 0, NULL) : NULL;
	json_t *ids = json_object_get(r, "check_ids");
	size_t n = lines_drop_checks(l, from, to, ids);

	if (n > 0) {
		ids_text = json_dumps(ids, JSON_COMPACT);
		log_error("the server refused the results of check%s %s (%s): %zu result%s "
		    "dropped, the others sent again", json_array_size(ids) == 1 ? "" : "s",
		    ids_text ? ids_text : "?", client_error_text(&a->cl, err, sizeof(err)),
		    n, n == 1 ? "" : "s");
		free(ids_text);
	}
	json_decref(r);
	return n;
}

/*
 * Posts l (oldest first) in batches while the server takes them; what is
 * left goes to the spool. 0 when everything was delivered or spooled.
 */
static int
deliver(struct agent *a, struct lines *l, int online, size_t *delivered)
{
	char err[512];
	struct buf body;
	size_t i = 0, j;

	*delivered = 0;
	buf_init(&body, POST_BODY_MAX + 64 * 1024 + 16);
	while (online && i < l->n) {
		buf_reset(&body);
		buf_adds(&body, "[");
		for (j = i; j < l->n && j - i < POST_BATCH_MAX; j++) {
			if (j > i && body.len + strlen(l->v[j]) + 2 > POST_BODY_MAX)
				break;
			if (j > i)
				buf_adds(&body, ",");
			buf_adds(&body, l->v[j]);
		}
		if (buf_adds(&body, "]") < 0) {
			log_error("out of memory building a result batch");
			break;
		}
		if (client_request(&a->cl, "POST", "/api/v1/check_history", body.ptr, NULL,
		    err, sizeof(err)) < 0) {
			log_warn("%s: keeping results for later", err);
			online = 0;
			break;
		}
		if (a->cl.http.status == 201 || a->cl.http.status == 200) {
			json_t *r = a->cl.http.resp.ptr ? json_loads(a->cl.http.resp.ptr, 0, NULL) : NULL;
			log_debug("posted %zu results: accepted %lld, duplicates %lld", j - i,
			    (long long)json_integer_value(json_object_get(r, "accepted")),
			    (long long)json_integer_value(json_object_get(r, "duplicates")));
			json_decref(r);
			*delivered += j - i;
			i = j;
		} else if (a->cl.http.status == 403 && drop_refused(a, l, i, j) > 0) {
			/* the rest of the batch goes again at once (same i) */
		} else {
			/*
			 * Any other refusal keeps every result: a server that
			 * misbehaves for a while must not cost results. They are
			 * sent again next run (the spool is bounded by spool_max).
			 */
			log_warn("posting results: %s: keeping them for later",
			    client_error_text(&a->cl, err, sizeof(err)));
			online = 0;
		}
		buf_free(&a->cl.http.resp);
	}
	buf_free(&body);
	if (spool_store(a->cf.state_dir, l, i, a->cf.spool_max, err, sizeof(err)) < 0) {
		if (i < l->n) {
			log_error("cannot spool %zu undelivered results: %s", l->n - i, err);
			return -1;
		}
		log_warn("%s", err);
	} else if (i < l->n) {
		log_warn("%zu result%s spooled in %s/spool.jsonl", l->n - i,
		    l->n - i == 1 ? "" : "s", a->cf.state_dir);
	}
	return 0;
}

/*
 * The host's facts, when they differ from the last delivered (by hash):
 * a new object and *hex their hash, or NULL (unchanged, or not collected).
 */
static json_t *
facts_changed(struct agent *a, char hex[65])
{
	uint8_t h[SHA256_LEN];
	json_t *facts;
	char *ftext;

	if ((facts = facts_collect(a->env.proc_root)) == NULL)
		return NULL;
	if ((ftext = json_dumps(facts, JSON_COMPACT | JSON_SORT_KEYS)) == NULL) {
		json_decref(facts);
		return NULL;
	}
	sha256(ftext, strlen(ftext), h);
	free(ftext);
	hex_encode(h, SHA256_LEN, hex);
	if (strcmp(hex, a->facts_hash) == 0) {
		json_decref(facts);
		return NULL;
	}
	return facts;
}

/* The facts with hash hex were delivered (a checkout, or a download). */
static void
facts_delivered(struct agent *a, const char hex[65])
{
	memcpy(a->facts_hash, hex, 65);
	if (a->once) {
		char q[70];
		snprintf(q, sizeof(q), "\"%s\"", hex);
		state_write(a, "facts.sha256", q);
	}
	log_debug("facts sent");
}

/* Sends the checkout; facts when they changed. */
static void
checkout(struct agent *a, int64_t started_us, int64_t t0_ms, size_t nresults)
{
	char ts[RFC3339_LEN], err[512], hex[65];
	json_t *body, *facts, *resp;
	char *text = NULL;
	int send_facts = 0;

	rfc3339_format(started_us, ts);
	body = json_pack("{s:s,s:I,s:I,s:s}", "started_at", ts,
	    "duration_ms", (json_int_t)(mono_now_ms() - t0_ms),
	    "results", (json_int_t)nresults, "version", PACKAGE_VERSION);
	if (body == NULL)
		return;
	/* every time, {} included: a label dropped from agentd.conf is dropped there */
	json_object_set_new(body, "labels", conf_labels_json(&a->cf));
	if ((facts = facts_changed(a, hex)) != NULL) {
		json_object_set(body, "facts", facts);
		send_facts = 1;
	}
	json_decref(facts);
	if ((text = json_dumps(body, JSON_COMPACT)) == NULL) {
		json_decref(body);
		return;
	}
	json_decref(body);
	if (client_request(&a->cl, "PUT", "/api/v1/agent/self/checkout", text, NULL,
	    err, sizeof(err)) < 0) {
		log_warn("checkout: %s", err);
	} else if (a->cl.http.status != 200) {
		log_warn("checkout: %s", client_error_text(&a->cl, err, sizeof(err)));
	} else {
		resp = json_loads(a->cl.http.resp.ptr ? a->cl.http.resp.ptr : "", 0, NULL);
		if (json_is_integer(json_object_get(resp, "interval_s")))
			a->interval_s = json_integer_value(json_object_get(resp, "interval_s"));
		json_decref(resp);
		if (send_facts)
			facts_delivered(a, hex);
	}
	buf_free(&a->cl.http.resp);
	free(text);
}

/* GET self. 1 ok, 0 server away, -1 token refused */
static int
get_self(struct agent *a)
{
	char err[512];
	json_t *j, *iv;

	if (client_request(&a->cl, "GET", "/api/v1/agent/self", NULL, NULL, err, sizeof(err)) < 0) {
		log_warn("%s", err);
		return 0;
	}
	if (a->cl.http.status == 401 || a->cl.http.status == 403) {
		log_error("the server refused this agent's token (%s): check token_file %s",
		    client_error_text(&a->cl, err, sizeof(err)), a->cf.token_file);
		buf_free(&a->cl.http.resp);
		return -1;
	}
	if (a->cl.http.status != 200) {
		log_warn("GET /api/v1/agent/self: %s", client_error_text(&a->cl, err, sizeof(err)));
		buf_free(&a->cl.http.resp);
		return 0;
	}
	j = json_loads(a->cl.http.resp.ptr ? a->cl.http.resp.ptr : "", 0, NULL);
	iv = json_object_get(j, "interval_s");
	if (json_is_integer(iv) && json_integer_value(iv) > 0)
		a->interval_s = json_integer_value(iv);
	if (!a->self_ok)
		log_info("connected to %s as agent \"%s\" (interval %llds)", a->cf.server,
		    json_is_string(json_object_get(j, "name")) ?
		    json_string_value(json_object_get(j, "name")) : "?", a->interval_s);
	json_decref(j);
	buf_free(&a->cl.http.resp);
	a->self_ok = 1;
	return 1;
}

/*
 * The body of a download that describes the host (POST, docs/agent.md):
 * labels always, facts when they changed (*sent_facts, hash in hex), so
 * the server applies the templates they select before it answers. NULL
 * when a GET will do: described already in this process, facts unchanged.
 */
static char *
describe_body(struct agent *a, char hex[65], int *sent_facts)
{
	json_t *body, *facts;
	char *text;

	*sent_facts = 0;
	if (a->old_server)
		return NULL;
	facts = facts_changed(a, hex);
	if (a->described && facts == NULL)
		return NULL;
	if ((body = json_object()) == NULL) {
		json_decref(facts);
		return NULL;
	}
	json_object_set_new(body, "labels", conf_labels_json(&a->cf));
	if (facts) {
		json_object_set_new(body, "facts", facts);
		*sent_facts = 1;
	}
	text = json_dumps(body, JSON_COMPACT);
	json_decref(body);
	return text;
}

/* GET (or POST, describing the host) checks. 1 ok (list current), 0 server away, -1 token refused */
static int
get_checks(struct agent *a)
{
	char err[512], hex[65];
	json_error_t je;
	json_t *j;
	int sent_facts, posted;
	char *body = describe_body(a, hex, &sent_facts);

	if (client_request(&a->cl, body ? "POST" : "GET", "/api/v1/agent/self/checks", body,
	    a->have_checks ? a->etag : NULL, err, sizeof(err)) < 0) {
		log_warn("%s", err);
		free(body);
		return 0;
	}
	if (body && (a->cl.http.status == 404 || a->cl.http.status == 405)) {
		/* a server older than the POST: GET, and the checkout carries the facts */
		log_info("the server takes no labels and facts with the download: GET only");
		a->old_server = 1;
		buf_free(&a->cl.http.resp);
		free(body);
		return get_checks(a);
	}
	posted = body != NULL;
	free(body);
	if (posted && (a->cl.http.status == 200 || a->cl.http.status == 304)) {
		a->described = 1;
		if (sent_facts)
			facts_delivered(a, hex);
	}
	if (a->cl.http.status == 304 && a->have_checks) {
		buf_free(&a->cl.http.resp);
		return 1;
	}
	if (a->cl.http.status == 401 || a->cl.http.status == 403) {
		log_error("the server refused this agent's token: %s",
		    client_error_text(&a->cl, err, sizeof(err)));
		buf_free(&a->cl.http.resp);
		return -1;
	}
	if (a->cl.http.status != 200) {
		log_warn("GET /api/v1/agent/self/checks: %s", client_error_text(&a->cl, err, sizeof(err)));
		buf_free(&a->cl.http.resp);
		return 0;
	}
	if ((j = json_loads(a->cl.http.resp.ptr ? a->cl.http.resp.ptr : "", 0, &je)) == NULL) {
		log_warn("GET /api/v1/agent/self/checks: bad JSON: %s", je.text);
		buf_free(&a->cl.http.resp);
		return 0;
	}
	buf_free(&a->cl.http.resp);
	if (agent_set_checks(a, json_object_get(j, "checks"), err, sizeof(err)) < 0) {
		log_warn("GET /api/v1/agent/self/checks: %s", err);
		json_decref(j);
		return 0;
	}
	if (strlen(a->cl.etag) < sizeof(a->etag))
		memcpy(a->etag, a->cl.etag, strlen(a->cl.etag) + 1);
	log_info("check list updated: %zu check%s (revision %s)", a->nchecks,
	    a->nchecks == 1 ? "" : "s", a->etag[0] ? a->etag : "?");
	save_cache(a, json_object_get(j, "checks"));
	json_decref(j);
	return 1;
}

/*
 * --once: the server declares an agent DOWN when it has not checked out by
 * interval_s (plus a grace). A cron period longer than interval_s makes the
 * agent flap DOWN/UP with nobody told why, so each run keeps its start time
 * in state_dir/last-run and warns when the previous run is further back than
 * interval_s (with a little slack for cron's own jitter).
 */
static void
warn_cron_period(struct agent *a, int64_t started_us)
{
	char path[512], buf[64], *p = buf;
	long long prev, gap_s, slack;
	const char *es;
	ssize_t n;
	int fd;

	state_file(a, "last-run", path, sizeof(path));
	if ((fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)) >= 0) {
		n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		buf[n > 0 ? n : 0] = '\0';
		p[strcspn(p, " \n")] = '\0';
		prev = str_to_ll(p, 0, INT64_MAX, &es);
		gap_s = es ? 0 : (started_us / 1000000) - prev;
		slack = a->interval_s / 10 > 5 ? a->interval_s / 10 : 5;
		if (a->interval_s > 0 && gap_s > a->interval_s + slack)
			log_warn("the server expects this agent every %llds (interval_s) but the last "
			    "run was %llds ago: it will be marked DOWN between runs; run it more "
			    "often (cron) or raise the agent's interval_s on the server",
			    a->interval_s, gap_s);
	}
	snprintf(buf, sizeof(buf), "%lld\n", (long long)(started_us / 1000000));
	state_write(a, "last-run", buf);
}

int
agent_cycle(struct agent *a)
{
	int64_t started = time_now_us(), t0 = mono_now_ms();
	struct lines l = { NULL, 0, 0 };
	json_t *results = NULL, *r;
	char err[512];
	size_t i, nnew, delivered = 0;
	int online = 1, rc;

	if (!a->have_client && agent_connect(a) < 0)
		return -1;
	if (a->once && a->env.samples == NULL && (a->env.samples = sample_store_new()) != NULL &&
	    sample_store_load(a->env.samples, a->cf.state_dir, err, sizeof(err)) < 0)
		log_warn("%s", err);
	/*
	 * --once skips GET self: the check download refuses a bad token just
	 * as clearly, and the checkout answers interval_s; one round trip less
	 * per cron run (a WAN round trip for a remote server).
	 */
	if (!a->self_ok && !a->once) {
		if ((rc = get_self(a)) < 0)
			return -1;
		online = rc;
	}
	if (online) {
		if ((rc = get_checks(a)) < 0) {
			a->self_ok = 0;
			return -1;
		}
		online = rc;
	}
	if (!online)
		a->self_ok = 0;   /* verify again next time */
	if (!a->have_checks) {
		log_error("no check list: the server at %s is unreachable and %s/checks.json "
		    "holds none", a->cf.server, a->cf.state_dir);
		return -1;
	}
	if ((results = json_array()) == NULL)
		return -1;
	agent_run_checks(a, results, 1);
	nnew = json_array_size(results);
	if (spool_load(a->cf.state_dir, &l, err, sizeof(err)) < 0)
		log_warn("%s", err);
	if (l.n)
		log_info("resending %zu spooled result%s", l.n, l.n == 1 ? "" : "s");
	json_array_foreach(results, i, r) {
		char *s = json_dumps(r, JSON_COMPACT);
		if (s == NULL || lines_push(&l, s) < 0)
			log_error("out of memory: a result was lost");
	}
	json_decref(results);
	rc = deliver(a, &l, online, &delivered);
	lines_free(&l);
	if (online) {
		int away;

		checkout(a, started, t0, nnew);
		/* what --wrap could not send (the server was away) goes with the agent's run */
		hb_spool_flush(&a->cl, a->cf.state_dir, (size_t)-1, -1, &away);
	}
	if (a->once)
		warn_cron_period(a, started);   /* with the interval_s of the checkout */
	if (a->once && a->env.samples &&
	    sample_store_save(a->env.samples, a->cf.state_dir, err, sizeof(err)) < 0)
		log_warn("%s", err);
	log_debug("cycle: %zu checks, %zu results delivered, %lld ms", nnew, delivered,
	    (long long)(mono_now_ms() - t0));
	return rc;
}
