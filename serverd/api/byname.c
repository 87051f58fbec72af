/*
 * byname.c - the routes of a resource read and written by its name
 * (byname.h): policies, rotations, templates.
 */
#include "config.h"
#include "apiutil.h"
#include "byname.h"

#include <string.h>

int
byname_valid(const char *s)
{
	size_t n = strlen(s);

	return n > 0 && n <= BYNAME_MAX &&
	    strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-") == n;
}

int
byname_path(const struct byname *b, struct req *r, struct resp *rs, char buf[BYNAME_MAX + 1])
{
	const char *p = r->path + strlen(b->prefix);
	size_t n = strcspn(p, "/");

	if (n == 0 || n > BYNAME_MAX) {
		resp_error(rs, 404, NULL, "no such %s", b->what);
		return -1;
	}
	memcpy(buf, p, n);
	buf[n] = '\0';
	return 0;
}

void
byname_missing(const struct byname *b, struct resp *rs, const char *name)
{
	resp_error(rs, 404, NULL, "no %s \"%s\"", b->what, name);
}

void
byname_answer(const struct byname *b, struct req *r, struct resp *rs, const char *name,
    int status)
{
	const char *v[1] = { name };
	PGresult *q = db_exec(r->db, b->get, v);

	if (!db_ok(q, PGRES_TUPLES_OK))
		resp_db_error(rs, r->db, q);
	else if (PQntuples(q) == 0)
		byname_missing(b, rs, name);
	else
		api_one(rs, status, q, 0);
	PQclear(q);
}

void
byname_write_error(const struct byname *b, struct req *r, struct resp *rs, PGresult *q,
    const char *name)
{
	if (strcmp(db_sqlstate(q), "23505") == 0)
		resp_error(rs, 409, "name", "a %s named \"%s\" exists", b->what, name);
	else
		resp_db_error(rs, r->db, q);
}

void
byname_get(const struct byname *b, struct req *r, struct resp *rs)
{
	char name[BYNAME_MAX + 1];

	if (byname_path(b, r, rs, name) == 0)
		byname_answer(b, r, rs, name, 200);
}

void
byname_delete(const struct byname *b, struct req *r, struct resp *rs)
{
	char name[BYNAME_MAX + 1];
	const char *v[1] = { name };
	PGresult *q;

	if (byname_path(b, r, rs, name) < 0)
		return;
	q = db_exec(r->db, b->del, v);
	if (!db_ok(q, PGRES_COMMAND_OK))
		resp_db_error(rs, r->db, q);
	else if (strcmp(PQcmdTuples(q), "0") == 0)
		byname_missing(b, rs, name);
	else
		rs->status = 204;
	PQclear(q);
}
