/*
 * migrate.h - the schema, compiled into serverd from sql/: the numbered
 * migrations (sql/NNN_*.sql: tables, indexes, triggers and data) and the
 * functions (sql/functions/NAME.sql, one function or one function's
 * overloads each, written with CREATE OR REPLACE).
 *
 * migrate_run() applies the pending migrations in version order, recording
 * each in schema_migrations, then every function, all in one transaction:
 * a database is never left with a migration applied and the functions of
 * before it, and a failure anywhere changes nothing. A session-level
 * advisory lock keeps two starting servers apart (two CREATE OR REPLACE of
 * one function at once would fail with "tuple concurrently updated").
 * The functions are applied at every start, pending migrations or not, so
 * a new binary brings its functions to a database already at its version;
 * a database with a migration the binary does not know (migrated by a newer
 * serverd) is refused, so an older binary never replaces newer functions.
 * docs/decisions.md says why, and what a migration that needs a function
 * while it runs does.
 */
#ifndef CUSTOS_MIGRATE_H
#define CUSTOS_MIGRATE_H

#include <libpq-fe.h>

struct migration {
	int version;
	const char *name;
	const char *sql;
};

struct sql_function {
	const char *name;   /* the file's name without .sql */
	const char *sql;
};

extern const struct migration migrations[];        /* ends with version 0 */
extern const struct sql_function sql_functions[];  /* ends with name NULL */

/* Applies pending migrations, then every function. Returns the number of
 * migrations applied, or -1 (and then nothing was changed). */
int migrate_run(PGconn *c);

#endif
