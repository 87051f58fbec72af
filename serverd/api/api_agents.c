/*
 * api_agents.c - /api/v1/agents: the monitored hosts and their tokens.
 * An agent's token is shown once, at creation and on rotation; only its
 * SHA-256 is stored. Deleting an agent deletes its checks and history.
 */
#include "config.h"
#include "api.h"
#include "apiutil.h"
#include "db.h"
#include "token.h"

#include <stdlib.h>
#include <string.h>

#define AGENT_NAME_MAX 200

static const char *const agent_fields[] = { "name", "interval_s", "contacts", "labels", "parents",
	NULL };

static const struct db_stmt q_list = { "agents_list",
	"SELECT agent_json(a), a.id FROM agents a WHERE a.id > $1 ORDER BY a.id LIMIT $2", 2 };
/*
 * ?search=: name or a fact's string value (agent_matches());
 * ?selector=: labels and facts (agent_selected()); both: both hold
 * (the functions are sql/functions/NAME.sql)
 */
static const struct db_stmt q_search = { "agents_search",
	"SELECT agent_json(a), a.id FROM agents a WHERE a.id > $1"
	" AND ($3::text IS NULL OR agent_matches(a, $3))"
	" AND ($4::jsonb IS NULL OR agent_selected(a, $4))"
	" ORDER BY a.id LIMIT $2", 4 };
static const struct db_stmt q_get = { "agents_get",
	"SELECT agent_json(a) FROM agents a WHERE a.id = $1", 1 };
static const struct db_stmt q_create = { "agents_create",
	"INSERT INTO agents (name, interval_s, contacts, token_hash, labels, parents)"
	" VALUES ($1, COALESCE($2::integer, 60), $3::bigint[], decode($4, 'hex'),"
	" COALESCE($5::jsonb, '{}'), COALESCE($6::bigint[], '{}'))"
	" RETURNING agent_json(agents)", 6 };
static const struct db_stmt q_patch = { "agents_patch",
	"UPDATE agents SET name = COALESCE($2, name),"
	" interval_s = COALESCE($3::integer, interval_s),"
	" contacts = CASE WHEN $4::boolean THEN $5::bigint[] ELSE contacts END,"
	" labels = COALESCE($6::jsonb, labels), parents = COALESCE($7::bigint[], parents)"
	" WHERE id = $1 RETURNING agent_json(agents)", 7 };
static const struct db_stmt q_delete = { "agents_delete",
	"DELETE FROM agents WHERE id = $1", 1 };
static const struct db_stmt q_token = { "agents_token",
	"UPDATE agents SET token_hash = decode($2, 'hex') WHERE id = $1 RETURNING agent_json(agents)", 2 };

void
api_agents_list(struct req *r, struct resp *rs)
{
	const char *s = req_arg(r, "search");
	char cur[24], lim[24], *sel = NULL;
	const char *v[4] = { cur, lim, s, NULL };
	int64_t cursor;
	long limit;
	int have_sel;

	if ((have_sel = api_selector(r, rs, &sel)) < 0)
		return;
	if (s == NULL && !have_sel) {
		api_list_page(r, rs, &q_list);
		return;
	}
	if (s && (strlen(s) == 0 || strlen(s) > AGENT_NAME_MAX)) {
		resp_error(rs, 422, "search", "search must be 1..%d bytes", AGENT_NAME_MAX);
		goto done;
	}
	if ((limit = api_limit(r, rs)) < 0 || (cursor = api_cursor(r, rs)) < 0)
		goto done;
	id_text(cursor, cur);
	id_text(limit + 1, lim);
	v[3] = sel;
	api_query_list(r, rs, &q_search, v, limit);
done:
	free(sel);
}

void
api_agents_get(struct req *r, struct resp *rs)
{
	api_get_id(r, rs, &q_get, r->id[0], 200, "agent");
}

/* Adds the freshly made token to an agent object answer. */
static void
answer_with_token(struct resp *rs, int status, PGresult *q, const char *tok)
{
	json_t *j = json_loads(PQgetvalue(q, 0, 0), 0, NULL);

	if (j)
		json_object_set_new(j, "token", json_string(tok));
	resp_json(rs, status, j);
}

void
api_agents_create(struct req *r, struct resp *rs)
{
	const char *name = NULL;
	long long interval = 0;
	char *contacts = NULL, *labels = NULL, *parents = NULL, iv[24], tok[TOKEN_HEX_LEN + 1],
	    hex[SHA256_LEN * 2 + 1];
	uint8_t h[SHA256_LEN];
	const char *v[6];
	int have_iv, present;
	PGresult *q = NULL;

	if (jv_object(r, rs) < 0 || jv_known(r->body, agent_fields, rs) < 0 ||
	    contact_names(r, r->body, "contacts", rs) < 0 ||
	    jv_name(r->body, "name", 1, AGENT_NAME_MAX, &name, rs) < 0 ||
	    (have_iv = jv_int(r->body, "interval_s", 0, 5, 86400, &interval, rs)) < 0 ||
	    jv_ids(r->body, "contacts", &contacts, &present, rs) < 0 ||
	    jv_labels(r->body, "labels", &labels, rs) < 0)
		goto done;
	if (*name == '\0' || strchr(name, '/')) {
		resp_error(rs, 422, "name", "name must be non-empty and without '/'");
		goto done;
	}
	if (contacts_exist(r, contacts, "contacts", rs) < 0 ||
	    parents_arg(r, r->body, "agent", 0, &parents, rs) < 0)
		goto done;
	if (token_generate(tok) < 0) {
		resp_error(rs, 500, NULL, "no randomness available");
		goto done;
	}
	token_hash(tok, h);
	hex_encode(h, sizeof(h), hex);
	v[0] = name;
	v[1] = have_iv ? id_text(interval, iv) : NULL;
	v[2] = contacts;
	v[3] = hex;
	v[4] = labels;
	v[5] = parents;
	q = db_exec(r->db, &q_create, v);
	if (!db_ok(q, PGRES_TUPLES_OK)) {
		if (strcmp(db_sqlstate(q), "23505") == 0)
			resp_error(rs, 409, "name", "an agent named \"%s\" exists", name);
		else
			resp_db_error(rs, r->db, q);
		goto done;
	}
	answer_with_token(rs, 201, q, tok);
done:
	secure_zero(tok, sizeof(tok));
	PQclear(q);
	free(contacts);
	free(labels);
	free(parents);
}

void
api_agents_patch(struct req *r, struct resp *rs)
{
	const char *name = NULL;
	long long interval = 0;
	char *contacts = NULL, *labels = NULL, *parents = NULL, iv[24], id[24];
	const char *v[7];
	int have_iv, have_name, present = 0;
	PGresult *q = NULL;

	if (jv_object(r, rs) < 0 || jv_known(r->body, agent_fields, rs) < 0 ||
	    contact_names(r, r->body, "contacts", rs) < 0 ||
	    (have_name = jv_name(r->body, "name", 0, AGENT_NAME_MAX, &name, rs)) < 0 ||
	    (have_iv = jv_int(r->body, "interval_s", 0, 5, 86400, &interval, rs)) < 0 ||
	    jv_ids(r->body, "contacts", &contacts, &present, rs) < 0 ||
	    jv_labels(r->body, "labels", &labels, rs) < 0)
		goto done;
	if (have_name && (*name == '\0' || strchr(name, '/'))) {
		resp_error(rs, 422, "name", "name must be non-empty and without '/'");
		goto done;
	}
	if (contacts_exist(r, contacts, "contacts", rs) < 0 ||
	    parents_arg(r, r->body, "agent", r->id[0], &parents, rs) < 0)
		goto done;
	v[0] = id_text(r->id[0], id);
	v[1] = have_name ? name : NULL;
	v[2] = have_iv ? id_text(interval, iv) : NULL;
	v[3] = present ? "true" : "false";
	v[4] = contacts;
	v[5] = labels;
	v[6] = parents;
	q = db_exec(r->db, &q_patch, v);
	if (!db_ok(q, PGRES_TUPLES_OK)) {
		if (strcmp(db_sqlstate(q), "23505") == 0)
			resp_error(rs, 409, "name", "an agent named \"%s\" exists", name);
		else
			resp_db_error(rs, r->db, q);
	} else if (PQntuples(q) == 0) {
		resp_error(rs, 404, NULL, "no agent %lld", (long long)r->id[0]);
	} else {
		api_one(rs, 200, q, 0);
	}
done:
	PQclear(q);
	free(contacts);
	free(labels);
	free(parents);
}

void
api_agents_delete(struct req *r, struct resp *rs)
{
	char id[24];
	const char *v[1] = { id_text(r->id[0], id) };
	PGresult *q = db_exec(r->db, &q_delete, v);

	if (!db_ok(q, PGRES_COMMAND_OK))
		resp_db_error(rs, r->db, q);
	else if (strcmp(PQcmdTuples(q), "0") == 0)
		resp_error(rs, 404, NULL, "no agent %lld", (long long)r->id[0]);
	else
		rs->status = 204;
	PQclear(q);
}

void
api_agents_token(struct req *r, struct resp *rs)
{
	char id[24], tok[TOKEN_HEX_LEN + 1], hex[SHA256_LEN * 2 + 1];
	uint8_t h[SHA256_LEN];
	const char *v[2] = { id_text(r->id[0], id), hex };
	PGresult *q;

	if (token_generate(tok) < 0) {
		resp_error(rs, 500, NULL, "no randomness available");
		return;
	}
	token_hash(tok, h);
	hex_encode(h, sizeof(h), hex);
	q = db_exec(r->db, &q_token, v);
	if (!db_ok(q, PGRES_TUPLES_OK))
		resp_db_error(rs, r->db, q);
	else if (PQntuples(q) == 0)
		resp_error(rs, 404, NULL, "no agent %lld", (long long)r->id[0]);
	else
		answer_with_token(rs, 201, q, tok);
	secure_zero(tok, sizeof(tok));
	PQclear(q);
}
