/*
 * auth.c - see auth.h.
 */
#include "config.h"
#include "auth.h"
#include "authcache.h"
#include "db.h"
#include "log.h"
#include "strnum.h"
#include "token.h"

#include <stdio.h>
#include <string.h>

/* One round trip resolves either kind of token. */
static const struct db_stmt q_lookup = { "auth_lookup",
	"SELECT 'user', id, name, role, token_hash, 0, 0 FROM api_tokens WHERE token_hash = decode($1, 'hex') "
	"UNION ALL "
	"SELECT 'agent', id, name, 'agent', token_hash, interval_s, checks_revision FROM agents "
	"WHERE token_hash = decode($1, 'hex')", 1 };

enum who_kind
auth_role_kind(const char *role)
{
	if (strcmp(role, "admin") == 0)
		return WHO_ADMIN;
	if (strcmp(role, "operator") == 0)
		return WHO_OPERATOR;
	if (strcmp(role, "viewer") == 0)
		return WHO_VIEWER;
	return WHO_NONE;
}

const char *
auth_role_name(enum who_kind kind)
{
	switch (kind) {
	case WHO_ADMIN:
		return "admin";
	case WHO_OPERATOR:
		return "operator";
	case WHO_VIEWER:
		return "viewer";
	default:
		return NULL;
	}
}

enum auth_result
auth_lookup(PGconn *c, const char *token, struct principal *p)
{
	uint8_t h[SHA256_LEN];
	char hex[SHA256_LEN * 2 + 1];
	const char *vals[1] = { hex };
	const char *es;
	size_t stored_len;
	unsigned char *stored = NULL;
	PGresult *r;
	enum auth_result rc = AUTH_UNKNOWN;
	uint64_t gen;

	if (strlen(token) > 256)
		return AUTH_UNKNOWN;
	token_hash(token, h);
	if (authcache_get(h, p)) {
		secure_zero(h, sizeof(h));
		return 0;
	}
	gen = authcache_gen();
	hex_encode(h, sizeof(h), hex);
	r = db_exec(c, &q_lookup, vals);
	if (!db_ok(r, PGRES_TUPLES_OK)) {
		rc = db_outcome(c, r) == DB_UNAVAILABLE ? AUTH_UNAVAILABLE : AUTH_ERROR;
		goto done;
	}
	if (PQntuples(r) != 1)
		goto done;
	stored = PQunescapeBytea((const unsigned char *)PQgetvalue(r, 0, 4), &stored_len);
	if (stored == NULL || stored_len != SHA256_LEN || !ct_equal(stored, h, SHA256_LEN))
		goto done;
	memset(p, 0, sizeof(*p));
	p->id = str_to_ll(PQgetvalue(r, 0, 1), 1, INT64_MAX, &es);
	snprintf(p->name, sizeof(p->name), "%s", PQgetvalue(r, 0, 2));
	if (strcmp(PQgetvalue(r, 0, 0), "agent") == 0) {
		p->kind = WHO_AGENT;
		p->interval_s = str_to_ll(PQgetvalue(r, 0, 5), 0, INT32_MAX, &es);
		p->checks_revision = str_to_ll(PQgetvalue(r, 0, 6), 0, INT64_MAX, &es);
	} else {
		p->kind = auth_role_kind(PQgetvalue(r, 0, 3));
		if (p->kind == WHO_NONE)   /* the table's CHECK allows no other */
			goto done;
	}
	authcache_put(h, p, gen);
	rc = AUTH_FOUND;
done:
	PQfreemem(stored);
	PQclear(r);
	secure_zero(h, sizeof(h));
	return rc;
}

int
auth_create_token(PGconn *c, const char *name, const char *role)
{
	char tok[TOKEN_HEX_LEN + 1];
	uint8_t h[SHA256_LEN];
	char hex[SHA256_LEN * 2 + 1];
	const char *vals[3] = { name, role, hex };
	PGresult *r;
	int rc = -1;

	if (auth_role_kind(role) == WHO_NONE) {
		fprintf(stderr, "custos-serverd: --role must be admin, operator or viewer\n");
		return -1;
	}
	if (token_generate(tok) < 0) {
		fprintf(stderr, "custos-serverd: getrandom failed\n");
		return -1;
	}
	token_hash(tok, h);
	hex_encode(h, sizeof(h), hex);
	r = PQexecParams(c, "INSERT INTO api_tokens (name, role, token_hash) "
	    "VALUES ($1, $2, decode($3, 'hex'))", 3, NULL, vals, NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_COMMAND_OK) {
		if (strcmp(db_sqlstate(r), "23505") == 0)
			fprintf(stderr, "custos-serverd: a token named \"%s\" already exists\n", name);
		else
			fprintf(stderr, "custos-serverd: %s", PQerrorMessage(c));
	} else {
		printf("%s\n", tok);
		fflush(stdout);
		rc = 0;
	}
	PQclear(r);
	secure_zero(tok, sizeof(tok));
	return rc;
}
