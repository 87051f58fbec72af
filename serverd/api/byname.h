/*
 * byname.h - the routes of a resource that is read and written by its
 * name, not its id: /api/v1/policies/NAME, /api/v1/rotations/NAME,
 * /api/v1/templates/NAME. What those routes share is here, once: the
 * name's rule, taking it from the path, reading one back, deleting one,
 * and the words of their errors ("no such policy", "no policy \"x\"",
 * "a policy named \"x\" exists"). What each resource keeps is its own:
 * its fields, its validation, how a create or a patch is written.
 */
#ifndef CUSTOS_BYNAME_H
#define CUSTOS_BYNAME_H

#include "db.h"
#include "http.h"

#define BYNAME_MAX 63

struct byname {
	const char *prefix;         /* the routes' path before the name: "/api/v1/policies/" */
	const char *what;           /* the resource as errors name it: "policy" */
	const struct db_stmt *get;  /* $1 the name: column 0 of its one row is the object */
	const struct db_stmt *del;  /* $1 the name: DELETE, no rows returned */
};

/* 1 when s is a name: 1 to BYNAME_MAX of A-Z a-z 0-9 _ . - (safe in a path unescaped). */
int byname_valid(const char *s);
/*
 * The name in r's path (after b->prefix, up to the next '/') into buf: 0,
 * or -1 with a 404 "no such WHAT" (empty, or longer than any name).
 */
int byname_path(const struct byname *b, struct req *r, struct resp *rs,
    char buf[BYNAME_MAX + 1]);
/* Answers the named object (b->get) with status, or 404 "no WHAT \"NAME\"". */
void byname_answer(const struct byname *b, struct req *r, struct resp *rs, const char *name,
    int status);
/* 404 "no WHAT \"NAME\"": the row a route names is not there (a lock, a patch). */
void byname_missing(const struct byname *b, struct resp *rs, const char *name);
/*
 * A failed INSERT or UPDATE q: a unique violation is the name, 409
 * "a WHAT named \"NAME\" exists" on field name; any other failure is the
 * database's (resp_db_error()).
 */
void byname_write_error(const struct byname *b, struct req *r, struct resp *rs, PGresult *q,
    const char *name);
/* GET PREFIX{name} and DELETE PREFIX{name} (204; 404 when there is none). */
void byname_get(const struct byname *b, struct req *r, struct resp *rs);
void byname_delete(const struct byname *b, struct req *r, struct resp *rs);

#endif
