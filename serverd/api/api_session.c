/*
 * api_session.c - /api/v1/session: log in with a token (a cookie comes
 * back), ask who the cookie stands for, log out. See http/session.h.
 */
#include "config.h"
#include "api.h"
#include "apiutil.h"
#include "auth.h"
#include "db.h"
#include "log.h"
#include "serverd.h"
#include "session.h"
#include "token.h"

#include <stdio.h>
#include <string.h>

static const struct db_stmt q_create = { "session_create",
	"WITH gone AS (DELETE FROM sessions"
	"  WHERE last_seen_at < now() - make_interval(secs => $3::int)"
	"  OR created_at < now() - make_interval(secs => $4::int))"
	" INSERT INTO sessions (id_hash, token_id) VALUES (decode($1, 'hex'), $2)", 4 };

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

void
api_session_create(struct req *r, struct resp *rs)
{
	static const char *const allowed[] = { "token", NULL };
	const char *tok;
	char sid[TOKEN_HEX_LEN + 1], hex[SHA256_LEN * 2 + 1], tid[24], idle[24], max[24];
	char addr[INET6_ADDRSTRLEN];
	const char *vals[4] = { hex, tid, idle, max };
	uint8_t h[SHA256_LEN];
	struct principal p;
	PGresult *q;
	enum auth_result st;

	/* a cross-site form cannot send this type: no logging in behind one's back */
	if (!session_is_json(req_header(r, "Content-Type"))) {
		resp_error(rs, 415, NULL, "log in with Content-Type: application/json");
		return;
	}
	if (jv_object(r, rs) < 0 || jv_known(r->body, allowed, rs) < 0 ||
	    jv_str(r->body, "token", 1, 256, &tok, rs) < 0)
		return;
	if ((r->db = db_conn()) == NULL) {
		resp_error(rs, 503, NULL, "database unavailable");
		return;
	}
	st = auth_lookup(r->db, tok, &p);
	if (st == AUTH_UNKNOWN || (st == AUTH_FOUND && p.kind != WHO_ADMIN && p.kind != WHO_VIEWER)) {
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
	if (token_generate(sid) < 0) {
		resp_error(rs, 500, NULL, "no randomness for a session");
		return;
	}
	token_hash(sid, h);
	hex_encode(h, sizeof(h), hex);
	id_text(p.id, tid);
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

void
api_session_get(struct req *r, struct resp *rs)
{
	resp_json(rs, 200, json_pack("{s:s, s:s, s:I}", "name", r->who.name,
	    "role", r->who.kind == WHO_ADMIN ? "admin" : "viewer", "token_id",
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
