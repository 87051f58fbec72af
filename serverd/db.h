/*
 * db.h - one libpq connection per HTTP worker thread (and per sender/job
 * thread), with lazily prepared statements.
 *
 * A thread calls db_conn() to get its connection; when PostgreSQL is down
 * it returns NULL and the caller answers 503. After a failed query whose
 * connection broke, db_conn() reconnects on the next call, so serverd
 * recovers from a PostgreSQL restart by itself.
 */
#ifndef CUSTOS_DB_H
#define CUSTOS_DB_H

#include <libpq-fe.h>
#include <stdint.h>

struct db_stmt {
	const char *name;   /* unique prepared-statement name */
	const char *sql;
	int nparams;
};

/* Sets the conninfo used by every later connection (copied). */
int db_init(const char *conninfo);
void db_shutdown(void);
/* This thread's connection, connecting if needed; NULL when unreachable. */
PGconn *db_conn(void);
/* Closes this thread's connection (thread exit, or after it broke). */
void db_close(void);
/*
 * Executes a prepared statement (preparing it on first use on this
 * connection). vals may hold NULL for SQL NULL; all parameters are text.
 * The caller owns the PGresult (PQclear). Never returns NULL.
 */
PGresult *db_exec(PGconn *c, const struct db_stmt *st, const char *const *vals);
/*
 * Runs n statements in one round trip (libpq pipeline mode). A statement
 * with a NULL name is sent unprepared (BEGIN, COMMIT). out[i] receives each
 * result (the caller clears them all, also on failure; a statement after a
 * failed one gets PGRES_PIPELINE_ABORTED). Returns 0 when every statement
 * succeeded, -1 otherwise.
 */
int db_pipeline(PGconn *c, int n, const struct db_stmt *const *st,
    const char *const *const *vals, PGresult **out);
/* Plain one-off statement without parameters (BEGIN, COMMIT, ...). */
int db_cmd(PGconn *c, const char *sql);
/* 1 when r succeeded with the given status (PGRES_TUPLES_OK/COMMAND_OK). */
int db_ok(const PGresult *r, ExecStatusType want);
/* The SQLSTATE of a failed result, or "" */
const char *db_sqlstate(const PGresult *r);
/* HTTP status for a failed result: 503 when the connection is gone
 * (and the connection is closed), 409 unique violation, 500 otherwise. */
int db_fail_status(PGconn *c, const PGresult *r);

#endif
