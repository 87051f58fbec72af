/*
 * session.c - see session.h: the cookie half of authentication, and the
 * last-use stamp of API tokens.
 */
#include "config.h"
#include "session.h"
#include "db.h"
#include "log.h"
#include "serverd.h"
#include "strnum.h"
#include "timeutil.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define TOUCH_SLOTS 64          /* tokens remembered; more share slots */
#define TOUCH_EVERY_US (60LL * 1000000)

/*
 * The session's token, when the session is still fresh (used within
 * session_idle_s, made within session_max_s); refreshes it.
 */
static const struct db_stmt q_session = { "session_auth",
	"WITH s AS (UPDATE sessions SET last_seen_at = now()"
	"  WHERE id_hash = decode($1, 'hex')"
	"  AND last_seen_at > now() - make_interval(secs => $2::int)"
	"  AND created_at > now() - make_interval(secs => $3::int)"
	"  RETURNING token_id)"
	" SELECT t.id, t.name, t.role FROM s JOIN api_tokens t ON t.id = s.token_id", 3 };

static const struct db_stmt q_touch = { "token_touch",
	"UPDATE api_tokens SET last_used_at = now() WHERE id = $1", 1 };

int
session_tls(void)
{
	const struct srv_conf *cf = conf_hold();
	int tls = cf->tls_cert != NULL ||
	    (cf->public_url && strncasecmp(cf->public_url, "https://", 8) == 0);

	conf_drop(cf);
	return tls;
}

const char *
session_cookie_name(void)
{
	return session_tls() ? SESSION_COOKIE_TLS : SESSION_COOKIE;
}

struct cookie_scan {
	const char *name;
	char *out;
	int seen;       /* times the name was sent */
	int good;       /* the (one) value is 64 characters */
};

/* One Cookie header: "a=1; b=2". Counts every pair named scan->name. */
static enum MHD_Result
cookie_header(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
	struct cookie_scan *sc = cls;
	size_t nl = strlen(sc->name);
	const char *p;

	(void)kind;
	if (key == NULL || value == NULL || strcasecmp(key, MHD_HTTP_HEADER_COOKIE) != 0)
		return MHD_YES;
	for (p = value; *p; ) {
		while (*p == ' ' || *p == '\t' || *p == ';')
			p++;
		if (strncmp(p, sc->name, nl) == 0 && p[nl] == '=') {
			size_t n = strcspn(p + nl + 1, "; \t");
			if (++sc->seen == 1 && n == TOKEN_HEX_LEN) {
				memcpy(sc->out, p + nl + 1, n);
				sc->out[n] = '\0';
				sc->good = 1;
			}
		}
		p += strcspn(p, ";");
	}
	return MHD_YES;
}

int
session_cookie(struct req *r, char out[TOKEN_HEX_LEN + 1])
{
	struct cookie_scan sc = { session_cookie_name(), out, 0, 0 };

	MHD_get_connection_values(r->mc, MHD_HEADER_KIND, cookie_header, &sc);
	if (sc.seen > 1) {
		secure_zero(out, TOKEN_HEX_LEN + 1);
		return -1;
	}
	return sc.good;
}

int
session_is_json(const char *ct)
{
	size_t n = strlen("application/json");

	if (ct == NULL || strncasecmp(ct, "application/json", n) != 0)
		return 0;
	return ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ';
}

int
session_authenticate(struct req *r, enum need need, struct resp *rs)
{
	char cookie[TOKEN_HEX_LEN + 1], hex[SHA256_LEN * 2 + 1], idle[24], max[24];
	uint8_t h[SHA256_LEN];
	const char *vals[3] = { hex, idle, max }, *es;
	PGresult *q;
	int rc = -1, found = session_cookie(r, cookie);

	if (found == 0)
		return 1;
	if (found < 0) {
		char addr[INET6_ADDRSTRLEN];
		log_warn("session: %s sent the session cookie twice: refused (a second one may "
		    "have been planted by a neighbouring site)", req_client(r, addr));
		resp_error(rs, 401, NULL, "the session cookie was sent twice (one may have been "
		    "set by another site): clear this site's cookies and log in again");
		goto out;
	}
	if (need == NEED_AGENT || need == NEED_AGENT_LAZY) {
		resp_error(rs, 403, NULL, "this route needs an agent token");
		goto out;
	}
	if (strcmp(r->method, "GET") != 0 && strcmp(r->method, "HEAD") != 0 &&
	    !session_is_json(req_header(r, "Content-Type"))) {
		resp_error(rs, 403, NULL,
		    "a write with a session cookie must be Content-Type: application/json");
		goto out;
	}
	if ((r->db = db_conn()) == NULL) {
		resp_error(rs, 503, NULL, "database unavailable");
		goto out;
	}
	token_hash(cookie, h);
	hex_encode(h, sizeof(h), hex);
	snprintf(idle, sizeof(idle), "%lld", CONF_VALUE(session_idle_s));
	snprintf(max, sizeof(max), "%lld", CONF_VALUE(session_max_s));
	q = db_exec(r->db, &q_session, vals);
	if (!db_ok(q, PGRES_TUPLES_OK)) {
		resp_db_error(rs, r->db, q);
	} else if (PQntuples(q) != 1) {
		resp_error(rs, 401, NULL, "no such session, or it expired: log in again");
	} else {
		memset(&r->who, 0, sizeof(r->who));
		r->who.id = str_to_ll(PQgetvalue(q, 0, 0), 1, INT64_MAX, &es);
		snprintf(r->who.name, sizeof(r->who.name), "%s", PQgetvalue(q, 0, 1));
		r->who.kind = strcmp(PQgetvalue(q, 0, 2), "admin") == 0 ? WHO_ADMIN : WHO_VIEWER;
		if (need == NEED_ADMIN && r->who.kind != WHO_ADMIN)
			resp_error(rs, 403, NULL, "this route needs an admin token");
		else
			rc = 0;
	}
	PQclear(q);
out:
	secure_zero(cookie, sizeof(cookie));
	secure_zero(hex, sizeof(hex));
	return rc;
}

/* ---- last use of API tokens ---------------------------------------------- */

static pthread_mutex_t touch_mu = PTHREAD_MUTEX_INITIALIZER;
struct touch { int64_t id, at_us; };
static struct touch touched[TOUCH_SLOTS];

void
tokens_touch(struct req *r)
{
	struct touch *t;
	int64_t now = mono_now_us();
	int due = 0;
	char id[24];
	const char *vals[1] = { id };
	PGresult *q;

	if ((r->who.kind != WHO_ADMIN && r->who.kind != WHO_VIEWER) || r->db == NULL)
		return;
	pthread_mutex_lock(&touch_mu);
	t = &touched[(uint64_t)r->who.id % TOUCH_SLOTS];
	if (t->id != r->who.id || now - t->at_us >= TOUCH_EVERY_US) {
		t->id = r->who.id;
		t->at_us = now;
		due = 1;
	}
	pthread_mutex_unlock(&touch_mu);
	if (!due)
		return;
	snprintf(id, sizeof(id), "%lld", (long long)r->who.id);
	q = db_exec(r->db, &q_touch, vals);
	if (!db_ok(q, PGRES_COMMAND_OK))
		log_warn("tokens: recording the last use of token %s: %s", id,
		    PQresultErrorMessage(q));
	PQclear(q);
}
