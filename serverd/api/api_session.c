/*
 * api_session.c - /api/v1/session: log in with a token or with a user's
 * name and password (a cookie comes back), ask who the cookie stands for,
 * log out. See http/session.h; failed password logins are slowed as
 * http/login.h says.
 */
#include "config.h"
#include "api.h"
#include "apiutil.h"
#include "auth.h"
#include "db.h"
#include "edge.h"
#include "log.h"
#include "login.h"
#include "serverd.h"
#include "session.h"
#include "token.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct db_stmt q_create = { "session_create",
	"WITH gone AS (DELETE FROM sessions"
	"  WHERE last_seen_at < now() - make_interval(secs => $3::int)"
	"  OR created_at < now() - make_interval(secs => $4::int))"
	" INSERT INTO sessions (id_hash, token_id, user_id) VALUES (decode($1, 'hex'), $2, $5)", 5 };

static const struct db_stmt q_user = { "session_user",
	"SELECT id, password_hash FROM contacts WHERE name = $1", 1 };

static const struct db_stmt q_delete = { "session_delete",
	"DELETE FROM sessions WHERE id_hash = decode($1, 'hex')", 1 };

/* A 204 answer carrying cookie as Set-Cookie. */
static void
answer_cookie(struct resp *rs, const char *value, int clear)
{
	char hdr[256];
	struct MHD_Response *mr = MHD_create_response_from_buffer(0, NULL,
	    MHD_RESPMEM_PERSISTENT);

	if (mr == NULL) {
		resp_error(rs, 500, NULL, "out of memory");
		return;
	}
	/* Secure exactly when the name is __Host- (session.h) */
	snprintf(hdr, sizeof(hdr), "%s=%s; HttpOnly; SameSite=Strict; Path=/%s%s",
	    session_cookie_name(), value, session_tls() ? "; Secure" : "",
	    clear ? "; Max-Age=0" : "");
	if (MHD_add_response_header(mr, MHD_HTTP_HEADER_SET_COOKIE, hdr) != MHD_YES ||
	    MHD_add_response_header(mr, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store") != MHD_YES) {
		MHD_destroy_response(mr);
		resp_error(rs, 500, NULL, "out of memory");
	} else {
		rs->status = 204;
		rs->raw = mr;
	}
	secure_zero(hdr, sizeof(hdr));
}

/* A JSON error with Retry-After: a closed login window (login.h). */
static void
answer_retry(struct resp *rs, long wait_s, const char *msg)
{
	char secs[24];
	char *text;
	json_t *j = json_pack("{s:s, s:I}", "error", msg, "retry_after_s", (json_int_t)wait_s);
	struct MHD_Response *mr = NULL;

	text = j ? json_dumps(j, JSON_COMPACT) : NULL;
	json_decref(j);
	if (text)
		mr = MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_COPY);
	free(text);
	snprintf(secs, sizeof(secs), "%ld", wait_s);
	if (mr == NULL ||
	    MHD_add_response_header(mr, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json") != MHD_YES ||
	    MHD_add_response_header(mr, MHD_HTTP_HEADER_RETRY_AFTER, secs) != MHD_YES) {
		if (mr)
			MHD_destroy_response(mr);
		resp_error(rs, 500, NULL, "out of memory");
		return;
	}
	rs->status = 429;
	rs->raw = mr;
}

/* A new session for a token (tid) or a user (uid); answers the cookie. */
static void
open_session(struct req *r, struct resp *rs, const char *tid, const char *uid)
{
	char sid[TOKEN_HEX_LEN + 1], hex[SHA256_LEN * 2 + 1], idle[24], max[24];
	const char *vals[5] = { hex, tid, idle, max, uid };
	uint8_t h[SHA256_LEN];
	PGresult *q;

	if (token_generate(sid) < 0) {
		resp_error(rs, 500, NULL, "no randomness for a session");
		return;
	}
	token_hash(sid, h);
	hex_encode(h, sizeof(h), hex);
	snprintf(idle, sizeof(idle), "%lld", CONF_VALUE(session_idle_s));
	snprintf(max, sizeof(max), "%lld", CONF_VALUE(session_max_s));
	q = db_exec(r->db, &q_create, vals);
	if (db_ok(q, PGRES_COMMAND_OK))
		answer_cookie(rs, sid, 0);
	else
		resp_db_error(rs, r->db, q);
	PQclear(q);
	secure_zero(sid, sizeof(sid));
}

static void
login_token(struct req *r, struct resp *rs)
{
	const char *tok;
	char tid[24], addr[INET6_ADDRSTRLEN];
	struct principal p;
	enum auth_result st;

	if (jv_str(r->body, "token", 1, 256, &tok, rs) < 0)
		return;
	if ((r->db = db_conn()) == NULL) {
		resp_error(rs, 503, NULL, "database unavailable");
		return;
	}
	st = auth_lookup(r->db, tok, &p);
	if (st == AUTH_UNKNOWN || (st == AUTH_FOUND && auth_role_name(p.kind) == NULL)) {
		/* an agent's token opens no session: same answer as an unknown one;
		 * the log says which, and from where (someone guessing tokens) */
		log_warn("session: failed login from %s (%s)", req_client(r, addr),
		    st == AUTH_UNKNOWN ? "unknown token" : "an agent's token");
		resp_error(rs, 401, "token", "unknown token");
		return;
	} else if (st != AUTH_FOUND) {
		resp_error(rs, st == AUTH_UNAVAILABLE ? 503 : 500, NULL, st == AUTH_UNAVAILABLE ?
		    "database unavailable" : "internal error");
		return;
	}
	open_session(r, rs, id_text(p.id, tid), NULL);
}

/* name as the log may show it: printable, and short */
static const char *
log_name(const char *name, char out[68])
{
	size_t i;

	for (i = 0; name[i] && i < 64; i++)
		out[i] = isprint((unsigned char)name[i]) ? name[i] : '?';
	snprintf(out + i, 68 - i, "%s", name[i] ? "..." : "");
	return out;
}

/* The client's address: the one a trusted proxy forwards, else the peer's. */
static const char *
client_of(struct req *r, char out[INET6_ADDRSTRLEN])
{
	if (r->mc && edge_client(r->mc, out))
		return out;
	return req_client(r, out);
}

static void
login_password(struct req *r, struct resp *rs)
{
	const char *user, *password, *hash = NULL, *why;
	char addr[INET6_ADDRSTRLEN], shown[68];
	const char *vals[1];
	PGresult *q = NULL;
	long wait_s;
	int ok;

	if (jv_str(r->body, "user", 1, 200, &user, rs) < 0 ||
	    jv_str(r->body, "password", 1, LOGIN_PASSWORD_MAX, &password, rs) < 0)
		return;
	client_of(r, addr);
	/* a closed window is answered before anything is hashed or looked up */
	if ((wait_s = login_wait(user, addr)) > 0) {
		log_warn("session: login as \"%s\" from %s refused for %ld s more: too many "
		    "failed logins", log_name(user, shown), addr, wait_s);
		answer_retry(rs, wait_s, "too many failed logins: try again later");
		return;
	}
	if ((r->db = db_conn()) == NULL) {
		resp_error(rs, 503, NULL, "database unavailable");
		return;
	}
	vals[0] = user;
	q = db_exec(r->db, &q_user, vals);
	if (!db_ok(q, PGRES_TUPLES_OK)) {
		resp_db_error(rs, r->db, q);
		goto done;
	}
	if (PQntuples(q) == 1 && !PQgetisnull(q, 0, 1))
		hash = PQgetvalue(q, 0, 1);
	if (login_hash_begin() < 0) {
		answer_retry(rs, 1, "too many logins at once: try again in a second");
		goto done;
	}
	ok = login_verify(hash, password);   /* no hash: as long, and false */
	login_hash_end();
	if (!ok) {
		why = PQntuples(q) != 1 ? "no such user" : hash == NULL ? "no password set" :
		    "wrong password";
		wait_s = login_failed(user, addr);
		log_warn("session: failed login as \"%s\" from %s (%s)%s", log_name(user, shown),
		    addr, why, wait_s > 0 ? ": further logins refused for a while" : "");
		resp_error(rs, 401, "password", "unknown user or wrong password");
		goto done;
	}
	login_succeeded(user);
	log_info("session: \"%s\" logged in from %s", log_name(user, shown), addr);
	open_session(r, rs, NULL, PQgetvalue(q, 0, 0));
done:
	PQclear(q);
}

void
api_session_create(struct req *r, struct resp *rs)
{
	static const char *const allowed[] = { "token", "user", "password", NULL };

	/* a cross-site form cannot send this type: no logging in behind one's back */
	if (!session_is_json(req_header(r, "Content-Type"))) {
		resp_error(rs, 415, NULL, "log in with Content-Type: application/json");
		return;
	}
	if (jv_object(r, rs) < 0 || jv_known(r->body, allowed, rs) < 0)
		return;
	if (json_object_get(r->body, "token") != NULL) {
		if (json_object_get(r->body, "user") || json_object_get(r->body, "password")) {
			resp_error(rs, 422, "token", "log in with a token, or with user and password, "
			    "not both");
			return;
		}
		login_token(r, rs);
	} else if (json_object_get(r->body, "user") || json_object_get(r->body, "password")) {
		login_password(r, rs);
	} else {
		resp_error(rs, 422, "token", "log in with {\"token\"} or {\"user\", \"password\"}");
	}
}

void
api_session_get(struct req *r, struct resp *rs)
{
	const char *role = auth_role_name(r->who.kind);

	resp_json(rs, 200, json_pack("{s:s, s:s, s:I}", "name", r->who.name,
	    "role", role ? role : "none", r->who.is_user ? "user_id" : "token_id",
	    (json_int_t)r->who.id));
}

void
api_session_delete(struct req *r, struct resp *rs)
{
	char sid[TOKEN_HEX_LEN + 1], hex[SHA256_LEN * 2 + 1];
	const char *vals[1] = { hex };
	uint8_t h[SHA256_LEN];
	PGresult *q;

	if (session_cookie(r, sid) <= 0) {
		/* nothing to end (or twice the cookie: which one?); clear it anyway */
		answer_cookie(rs, "", 1);
		return;
	}
	if ((r->db = db_conn()) == NULL) {
		resp_error(rs, 503, NULL, "database unavailable");
		return;
	}
	token_hash(sid, h);
	hex_encode(h, sizeof(h), hex);
	q = db_exec(r->db, &q_delete, vals);
	if (db_ok(q, PGRES_COMMAND_OK))
		answer_cookie(rs, "", 1);
	else
		resp_db_error(rs, r->db, q);
	PQclear(q);
	secure_zero(sid, sizeof(sid));
}
