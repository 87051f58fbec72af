/*
 * migrate.h - schema migrations compiled into serverd from sql/NNN_*.sql.
 * Each pending one is applied in its own transaction and recorded in
 * schema_migrations; an advisory lock keeps two starting servers apart.
 */
#ifndef CUSTOS_MIGRATE_H
#define CUSTOS_MIGRATE_H

#include <libpq-fe.h>

struct migration {
	int version;
	const char *name;
	const char *sql;
};

extern const struct migration migrations[];   /* ends with version 0 */

/* Applies pending migrations. Returns the number applied, or -1. */
int migrate_run(PGconn *c);

#endif
