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

/* The session's token, when the session is still fresh; refreshes it. */
static const struct db_stmt q_session = { "session_auth",
	"WITH s AS (UPDATE sessions SET last_seen_at = now()"
	"  WHERE id_hash = decode($1, 'hex')"
	"  AND last_seen_at > now() - make_interval(secs => $2::int)"
	"  RETURNING token_id)"
	" SELECT t.id, t.name, t.role FROM s JOIN api_tokens t ON t.id = s.token_id", 2 };

static const struct db_stmt q_touch = { "token_touch",
	"UPDATE api_tokens SET last_used_at = now() WHERE id = $1", 1 };

const char *
session_cookie(struct req *r, char out[TOKEN_HEX_LEN + 1])
{
	const char *h = req_header(r, "Cookie"), *p;
	size_t nl = strlen(SESSION_COOKIE);

	if (h == NULL)
		return NULL;
	for (p = h; *p; ) {
		while (*p == ' ' || *p == ';')
			p++;
		if (strncmp(p, SESSION_COOKIE, nl) == 0 && p[nl] == '=') {
			size_t n = strcspn(p + nl + 1, "; ");
			if (n != TOKEN_HEX_LEN)
				return NULL;
			memcpy(out, p + nl + 1, n);
			out[n] = '\0';
			return out;
		}
		p += strcspn(p, ";");
	}
	return NULL;
}

int
session_tls(void)
{
	const struct srv_conf *cf = conf_hold();
	int tls = cf->tls_cert != NULL;

	conf_drop(cf);
	return tls;
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
	char cookie[TOKEN_HEX_LEN + 1], hex[SHA256_LEN * 2 + 1], idle[24];
	uint8_t h[SHA256_LEN];
	const char *vals[2] = { hex, idle }, *es;
	PGresult *q;
	int rc = -1;

	if (session_cookie(r, cookie) == NULL)
		return 1;
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
