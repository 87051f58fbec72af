/*
 * api_tokens.c - /api/v1/tokens: the admin, operator and viewer API
 * tokens (admin only). A token is shown once, when made; only its SHA-256 is kept.
 *
 * Revoking deletes the row; the api_tokens trigger (002, 006) NOTIFYs
 * custos_auth at COMMIT, so every serverd's token cache (authcache.h)
 * starts again and the token is refused everywhere; this instance's cache
 * is emptied before the DELETE is answered (http.c, after an admin write).
 * Its browser sessions go with it (ON DELETE CASCADE). The last admin
 * token cannot be revoked through the API (409): that would lock every
 * operator out; `custos-serverd --create-token` is the way back in.
 */
#include "config.h"
#include "api.h"
#include "apiutil.h"
#include "auth.h"
#include "db.h"
#include "token.h"

#include <stdio.h>
#include <string.h>

#define TOKEN_NAME_MAX 128

#define TOKEN_JSON "jsonb_build_object('id', t.id, 'name', t.name, 'role', t.role," \
	" 'created_at', rfc3339(t.created_at), 'last_used_at', rfc3339(t.last_used_at))"

static const struct db_stmt q_list = { "tokens_list",
	"SELECT " TOKEN_JSON ", t.id FROM api_tokens t WHERE t.id > $1 ORDER BY t.id LIMIT $2", 2 };

static const struct db_stmt q_create = { "tokens_create",
	"INSERT INTO api_tokens AS t (name, role, token_hash) VALUES ($1, $2, decode($3, 'hex'))"
	" RETURNING " TOKEN_JSON, 3 };

/* Locks the admin rows first, so two revocations cannot remove the last two. */
static const struct db_stmt q_delete = { "tokens_delete",
	"WITH admins AS (SELECT id FROM api_tokens WHERE role = 'admin' FOR UPDATE),"
	" target AS (SELECT id, role FROM api_tokens WHERE id = $1)"
	" DELETE FROM api_tokens t USING target"
	" WHERE t.id = target.id AND (target.role <> 'admin' OR (SELECT count(*) FROM admins) > 1)"
	" RETURNING t.id", 1 };

static const struct db_stmt q_exists = { "tokens_exists",
	"SELECT 1 FROM api_tokens WHERE id = $1", 1 };

void
api_tokens_list(struct req *r, struct resp *rs)
{
	api_list_page(r, rs, &q_list);
}

void
api_tokens_create(struct req *r, struct resp *rs)
{
	static const char *const allowed[] = { "name", "role", NULL };
	const char *name, *role;
	char tok[TOKEN_HEX_LEN + 1], hex[SHA256_LEN * 2 + 1];
	const char *vals[3];
	uint8_t h[SHA256_LEN];
	json_t *j = NULL;
	json_error_t jerr;
	PGresult *q;

	if (jv_object(r, rs) < 0 || jv_known(r->body, allowed, rs) < 0 ||
	    jv_name(r->body, "name", 1, TOKEN_NAME_MAX, &name, rs) < 0 ||
	    jv_str(r->body, "role", 1, 16, &role, rs) < 0)
		return;
	if (*name == '\0') {
		resp_error(rs, 422, "name", "name must not be empty");
		return;
	}
	if (auth_role_kind(role) == WHO_NONE) {
		resp_error(rs, 422, "role", "role must be admin, operator or viewer");
		return;
	}
	if (token_generate(tok) < 0) {
		resp_error(rs, 500, NULL, "no randomness for a token");
		return;
	}
	token_hash(tok, h);
	hex_encode(h, sizeof(h), hex);
	vals[0] = name;
	vals[1] = role;
	vals[2] = hex;
	q = db_exec(r->db, &q_create, vals);
	if (!db_ok(q, PGRES_TUPLES_OK)) {
		if (strcmp(db_sqlstate(q), "23505") == 0)
			resp_error(rs, 409, "name", "a token named \"%s\" already exists", name);
		else
			resp_db_error(rs, r->db, q);
	} else if ((j = json_loads(PQgetvalue(q, 0, 0), 0, &jerr)) == NULL ||
	    json_object_set_new(j, "token", json_string(tok)) < 0) {
		json_decref(j);
		resp_error(rs, 500, NULL, "out of memory");
	} else {
		snprintf(rs->location, sizeof(rs->location), "/api/v1/tokens/%lld",
		    (long long)json_integer_value(json_object_get(j, "id")));
		resp_json(rs, 201, j);
	}
	PQclear(q);
	secure_zero(tok, sizeof(tok));
}

void
api_tokens_delete(struct req *r, struct resp *rs)
{
	char id[24];
	const char *vals[1] = { id_text(r->id[0], id) };
	PGresult *q = NULL;

	if (api_begin(r, rs) < 0)
		return;
	q = db_exec(r->db, &q_delete, vals);
	if (!db_ok(q, PGRES_TUPLES_OK)) {
		resp_db_error(rs, r->db, q);
		goto fail;
	}
	if (PQntuples(q) == 0) {
		PQclear(q);
		q = db_exec(r->db, &q_exists, vals);
		if (!db_ok(q, PGRES_TUPLES_OK))
			resp_db_error(rs, r->db, q);
		else if (PQntuples(q) == 0)
			resp_error(rs, 404, NULL, "no token %s", id);
		else
			resp_error(rs, 409, NULL, "token %s is the last admin token: make another "
			    "admin token first", id);
		goto fail;
	}
	PQclear(q);
	if (api_commit(r, rs) == 0)
		rs->status = 204;
	return;
fail:
	PQclear(q);
	api_rollback(r);
}
