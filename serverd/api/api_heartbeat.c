/*
 * api_heartbeat.c - how heartbeat checks hear from their jobs.
 *
 *   GET|POST /ping/<uuid>              a run succeeded
 *   GET|POST /ping/<uuid>/start        a run began
 *   GET|POST /ping/<uuid>/fail         a run failed
 *   GET|POST /ping/<uuid>/<0-255>      a run ended with this exit code
 * No token: the uuid (128 random bits) is the credential, and a token is
 * no substitute for it. The body, if any, is the result's text: its last
 * HBEAT_OUTPUT_MAX bytes (a job's log says what went wrong at its end).
 * An unknown uuid, or a kind that is none of the above, is 404.
 *
 *   POST /api/v1/agent/self/heartbeats/{name}   (agent token)
 * the same reports from custos-agentd --wrap, as JSON with their real
 * times (a report spooled while the server was unreachable arrives late)
 * and an id, so that a resend is stored once (200, nothing stored).
 *
 * Pings are rate-limited in memory, per uuid and per client address, by
 * token buckets (ping_limit_uuid, ping_limit_address: pings a minute, and
 * as many at once); a refused ping is 429 with Retry-After. Each serverd
 * counts for itself.
 */
#include "config.h"
#include "api.h"
#include "apiutil.h"
#include "check.h"
#include "db.h"
#include "hbeat.h"
#include "log.h"
#include "serverd.h"
#include "strnum.h"
#include "timeutil.h"
#include "utf8.h"

#include <math.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define PING_PREFIX "/ping/"
#define AGENT_PREFIX "/api/v1/agent/self/heartbeats/"

static const struct db_stmt q_by_name = { "hb_by_name",
	"SELECT c.id FROM checks c JOIN heartbeats h ON h.check_id = c.id"
	" WHERE c.agent_id = $1 AND c.name = $2", 2 };

/* ---- rate limits ------------------------------------------------------------ */

#define RL_SLOTS 16384   /* buckets kept; the least recently used one goes */
#define RL_PROBE 8

struct rl_slot {
	unsigned char key[17];   /* kind (1 uuid, 2 address), then 16 bytes */
	double tokens;
	int64_t t_us;            /* last refill; 0: free */
};

static struct rl_slot rl[RL_SLOTS];
static pthread_mutex_t rl_mu = PTHREAD_MUTEX_INITIALIZER;

static uint32_t
fnv1a(const unsigned char *p, size_t n)
{
	uint32_t h = 2166136261u;
	size_t i;

	for (i = 0; i < n; i++)
		h = (h ^ p[i]) * 16777619u;
	return h;
}

/*
 * Takes one token from key's bucket (cap tokens, refilled at cap a
 * minute). 0: allowed; else the seconds until a token is back.
 */
static long
rl_take(const unsigned char key[17], long long cap, int64_t now)
{
	uint32_t h = fnv1a(key, 17);
	struct rl_slot *s = NULL, *old = NULL;
	long wait = 0;
	int i;

	if (cap <= 0)
		return 0;
	pthread_mutex_lock(&rl_mu);
	for (i = 0; i < RL_PROBE; i++) {
		struct rl_slot *c = &rl[(h + (uint32_t)i) % RL_SLOTS];
		if (c->t_us && memcmp(c->key, key, 17) == 0) {
			s = c;
			break;
		}
		if (old == NULL || c->t_us < old->t_us)
			old = c;   /* free (0) or the least recently used */
	}
	if (s == NULL) {
		s = old;
		memcpy(s->key, key, 17);
		s->tokens = (double)cap;
		s->t_us = now;
	}
	s->tokens += (double)(now - s->t_us) * (double)cap / 60e6;
	if (s->tokens > (double)cap)
		s->tokens = (double)cap;
	s->t_us = now;
	if (s->tokens >= 1.0)
		s->tokens -= 1.0;
	else
		wait = (long)ceil((1.0 - s->tokens) * 60.0 / (double)cap);
	pthread_mutex_unlock(&rl_mu);
	return wait < 0 ? 1 : wait;
}

/* The client's address as a bucket key. */
static void
addr_key(struct req *r, unsigned char key[17])
{
	const union MHD_ConnectionInfo *ci =
	    MHD_get_connection_info(r->mc, MHD_CONNECTION_INFO_CLIENT_ADDRESS);

	memset(key, 0, 17);
	key[0] = 2;
	if (ci == NULL || ci->client_addr == NULL)
		return;
	if (ci->client_addr->sa_family == AF_INET)
		memcpy(key + 1, &((const struct sockaddr_in *)(const void *)ci->client_addr)->sin_addr, 4);
	else if (ci->client_addr->sa_family == AF_INET6)
		memcpy(key + 1, &((const struct sockaddr_in6 *)(const void *)ci->client_addr)->sin6_addr,
		    16);
}

/* ---- reading a request ---------------------------------------------------------- */

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* A uuid's 36 characters at s (lower-cased into out, 16 bytes into raw); 0 or -1 */
static int
parse_uuid(const char *s, size_t n, char out[37], unsigned char raw[16])
{
	size_t i;
	int k = 0;

	if (n != 36)
		return -1;
	for (i = 0; i < 36; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return -1;
			out[i] = '-';
			continue;
		}
		if (hexval(s[i]) < 0)
			return -1;
		out[i] = (char)(s[i] >= 'A' && s[i] <= 'F' ? s[i] - 'A' + 'a' : s[i]);
		if (k % 2 == 0)
			raw[k / 2] = (unsigned char)(hexval(s[i]) << 4);
		else
			raw[k / 2] |= (unsigned char)hexval(s[i]);
		k++;
	}
	out[36] = '\0';
	return 0;
}

/* The last HBEAT_OUTPUT_MAX bytes of text, cut on a character boundary,
 * repaired and with its control characters but LF and TAB escaped, as every
 * stored output is (utf8.h); heap, "" for none; NULL when out of memory. */
static char *
tail_text(const char *s, size_t n)
{
	size_t from = 0, len;
	char *t, *e;

	if (s == NULL)
		return strdup("");
	if (n > HBEAT_OUTPUT_MAX) {
		from = n - HBEAT_OUTPUT_MAX;
		while (from < n && ((unsigned char)s[from] & 0xc0) == 0x80)
			from++;   /* not in the middle of a character */
	}
	if ((t = utf8_repair(s + from, n - from)) == NULL)
		return NULL;
	len = strlen(t);
	if (utf8_ctl_find(t, len, UTF8_CTL_KEEP_NL_TAB) == len)
		return t;
	e = utf8_ctl_escape(t, len, UTF8_CTL_KEEP_NL_TAB);
	free(t);
	return e;
}

/* ---- the ping ----------------------------------------------------------------- */

void
api_ping(struct req *r, struct resp *rs)
{
	const char *p = r->path + strlen(PING_PREFIX), *slash = strchr(p, '/'), *kind;
	size_t ulen = slash ? (size_t)(slash - p) : strlen(p);
	unsigned char akey[17], ukey[17];
	char uuid[37], *text = NULL;
	struct hbeat_report rep;
	const char *es;
	int64_t now = time_now_us(), check_id = 0;
	long wait;
	int status, dup;
	enum db_outcome o;

	memset(&rep, 0, sizeof(rep));
	rep.kind = HB_SUCCESS;
	kind = slash ? slash + 1 : "";
	if (parse_uuid(p, ulen, uuid, ukey + 1) < 0) {
		resp_error(rs, 404, NULL, "no such ping URL");
		return;
	}
	if (*kind == '\0') {
		rep.kind = HB_SUCCESS;
	} else if (strcmp(kind, "start") == 0) {
		rep.kind = HB_START;
	} else if (strcmp(kind, "fail") == 0) {
		rep.kind = HB_FAIL;
	} else {
		rep.exit_code = (int)str_to_ll(kind, 0, 255, &es);
		if (es || (kind[0] == '0' && kind[1] != '\0')) {
			resp_error(rs, 404, NULL, "no such ping URL: after the uuid comes start, fail"
			    " or an exit code 0-255");
			return;
		}
		rep.kind = HB_EXIT;
	}
	/* the limits before anything costs a database round trip */
	addr_key(r, akey);
	ukey[0] = 1;
	if ((wait = rl_take(akey, CONF_VALUE(ping_limit_address), now)) > 0 ||
	    (wait = rl_take(ukey, CONF_VALUE(ping_limit_uuid), now)) > 0) {
		snprintf(rs->retry_after, sizeof(rs->retry_after), "%ld", wait);
		resp_error(rs, 429, NULL, "too many pings; try again in %ld s", wait);
		return;
	}
	if ((r->db = db_conn_worker()) == NULL) {
		resp_error(rs, 503, NULL, "database unavailable");
		return;
	}
	if ((text = tail_text(r->raw, r->raw_len)) == NULL) {
		resp_error(rs, 500, NULL, "out of memory");
		return;
	}
	rep.output = text;
	rep.at_us = now;
	/* the uuid is looked up under the lock it takes (hbeat.h) */
	o = hbeat_report(r->db, uuid, &check_id, 0, &rep, &status, &dup);
	if (o == DB_NOT_FOUND) {
		resp_error(rs, 404, NULL, "no such ping URL");
		goto done;
	} else if (o != DB_OK) {
		resp_db_outcome(rs, o, "heartbeat");
		goto done;
	}
	resp_json(rs, 200, json_pack("{s:I,s:o}", "check", (json_int_t)check_id,
	    "status", status >= 0 ? json_string(check_status_name(status)) : json_null()));
done:
	free(text);
}

/* ---- the agent's report -------------------------------------------------------- */

static int
bad(struct resp *rs, const char *field, const char *msg)
{
	resp_error(rs, 422, field, "%s", msg);
	return -1;
}

/* An RFC 3339 member into *us (0: absent); 0 or -1 (answered). */
static int
time_member(json_t *o, const char *key, int64_t *us, struct resp *rs)
{
	json_t *v = json_object_get(o, key);

	*us = 0;
	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_string(v) || rfc3339_parse(json_string_value(v), us) < 0)
		return bad(rs, key, "must be an RFC 3339 time (2026-12-06T02:30:00Z)");
	return 0;
}

/* The body of POST /api/v1/agent/self/heartbeats/{name} into rep (strings
 * borrowed from the body); 0 or -1 (422 answered). */
static int
read_report(json_t *b, struct hbeat_report *rep, struct resp *rs)
{
	static const char *const fields[] = { "kind", "exit_code", "at", "started_at", "output",
		"id", NULL };
	static const struct { const char *name; enum hbeat_kind kind; } kinds[] = {
		{ "start", HB_START }, { "success", HB_SUCCESS }, { "fail", HB_FAIL },
		{ "exit", HB_EXIT },
	};
	const char *key, *k;
	json_t *v, *ec, *out, *id;
	size_t i;
	int64_t now = time_now_us(), skew = CONF_VALUE(max_clock_skew_s) * 1000000LL;

	memset(rep, 0, sizeof(*rep));
	if (b == NULL || !json_is_object(b))
		return bad(rs, NULL, "the body must be a JSON object");
	json_object_foreach(b, key, v) {
		for (i = 0; fields[i] && strcmp(fields[i], key) != 0; i++)
			;
		if (fields[i] == NULL) {
			resp_error(rs, 422, key, "unknown field \"%s\"", key);
			return -1;
		}
	}
	v = json_object_get(b, "kind");
	if (!json_is_string(v))
		return bad(rs, "kind", "kind must be \"start\", \"success\", \"fail\" or \"exit\"");
	k = json_string_value(v);
	for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]) && strcmp(kinds[i].name, k) != 0; i++)
		;
	if (i == sizeof(kinds) / sizeof(kinds[0]))
		return bad(rs, "kind", "kind must be \"start\", \"success\", \"fail\" or \"exit\"");
	rep->kind = kinds[i].kind;
	ec = json_object_get(b, "exit_code");
	if (ec && !json_is_null(ec)) {
		if (!json_is_integer(ec) || json_integer_value(ec) < 0 || json_integer_value(ec) > 255)
			return bad(rs, "exit_code", "exit_code must be an integer 0-255");
		if (rep->kind != HB_EXIT && rep->kind != HB_FAIL)
			return bad(rs, "exit_code", "exit_code goes with kind \"exit\" (or \"fail\")");
		rep->exit_code = (int)json_integer_value(ec);
		if (rep->kind == HB_FAIL)
			rep->kind = rep->exit_code == 0 ? HB_FAIL : HB_EXIT;
	} else if (rep->kind == HB_EXIT) {
		return bad(rs, "exit_code", "kind \"exit\" needs exit_code");
	}
	if (time_member(b, "at", &rep->at_us, rs) < 0 ||
	    time_member(b, "started_at", &rep->started_us, rs) < 0)
		return -1;
	/*
	 * A stamp further ahead than the clock skew allowed is ours instead. An
	 * agent whose clock runs ahead stamps started_at ahead by as much: it
	 * moves with at, so the run keeps its duration (refusing it would drop
	 * --wrap's report for good: a 422 is not spooled).
	 */
	if (rep->at_us > now + skew) {
		if (rep->started_us)
			rep->started_us = rep->started_us > rep->at_us - now ?
			    rep->started_us - (rep->at_us - now) : 0;
		rep->at_us = now;
	} else if (rep->at_us == 0) {
		rep->at_us = now;
		if (rep->started_us > now + skew)
			rep->started_us = now;
	}
	if (rep->started_us > rep->at_us)
		return bad(rs, "started_at", "started_at is after at");
	if (rep->started_us && rep->kind == HB_START)
		return bad(rs, "started_at", "started_at goes with an end report, not \"start\"");
	out = json_object_get(b, "output");
	if (out && !json_is_null(out) && !json_is_string(out))
		return bad(rs, "output", "output must be a string");
	rep->output = out && json_is_string(out) ? json_string_value(out) : NULL;
	id = json_object_get(b, "id");
	if (id && !json_is_null(id)) {
		if (!json_is_string(id) || json_string_length(id) == 0 ||
		    json_string_length(id) > HBEAT_REPORT_ID_MAX ||
		    strlen(json_string_value(id)) != json_string_length(id))
			return bad(rs, "id", "id must be a string of 1-64 characters");
		rep->report_id = json_string_value(id);
	}
	return 0;
}

void
api_agent_heartbeat(struct req *r, struct resp *rs)
{
	const char *name = r->path + strlen(AGENT_PREFIX), *es;
	char aid[24], *text = NULL;
	const char *v[2] = { id_text(r->who.id, aid), name };
	struct hbeat_report rep;
	PGresult *q = NULL;
	int64_t check_id;
	int status, dup;
	enum db_outcome o;

	if (read_report(r->body, &rep, rs) < 0)
		return;
	q = db_exec(r->db, &q_by_name, v);
	if (!db_ok(q, PGRES_TUPLES_OK)) {
		resp_db_error(rs, r->db, q);
		goto done;
	}
	if (PQntuples(q) == 0) {
		resp_error(rs, 404, NULL, "this agent has no heartbeat check named \"%s\"", name);
		goto done;
	}
	check_id = str_to_ll(PQgetvalue(q, 0, 0), 1, INT64_MAX, &es);
	if (rep.output && (text = tail_text(rep.output, strlen(rep.output))) == NULL) {
		resp_error(rs, 500, NULL, "out of memory");
		goto done;
	}
	rep.output = text;
	if ((o = hbeat_report(r->db, NULL, &check_id, r->who.id, &rep, &status, &dup)) != DB_OK) {
		resp_db_outcome(rs, o, "heartbeat");
		goto done;
	}
	resp_json(rs, dup ? 200 : 201, json_pack("{s:I,s:o,s:b}", "check", (json_int_t)check_id,
	    "status", status >= 0 ? json_string(check_status_name(status)) : json_null(),
	    "duplicate", dup));
done:
	free(text);
	PQclear(q);
}
