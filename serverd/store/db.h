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

#include "buf.h"

struct db_stmt {
	const char *name;   /* unique prepared-statement name */
	const char *sql;
	int nparams;
};

/*
 * Registers st, a statement without parameters that only reads, to be
 * prepared and run once on every new HTTP worker connection, before the
 * connection's first request: for the statements whose first run must not
 * pay preparing and planning (the dashboard's /api/v1/status, whose first
 * run costs several times a warm one). One with parameters is ignored.
 * The plan is made with the statistics of that moment and kept until
 * they change (autoanalyze): a statement whose best plan depends on how
 * big its tables have grown since (ingest's, on a new install) is better
 * planned at its first use (bench/README.md, "Figures behind the code").
 * Call before any worker starts; at most DB_MAX_WARM.
 */
#define DB_MAX_WARM 16
void db_warm(const struct db_stmt *st);
/* db_conn() for an HTTP worker: a new connection is warmed as above (the
 * other threads' connections run other statements) */
PGconn *db_conn_worker(void);

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
 * The same with every column of the result in PostgreSQL's binary format
 * (network byte order; a timestamptz is int64 microseconds since
 * 2000-01-01): for a reader of many rows (store/results.c), which then
 * pays no text conversion on either side.
 */
PGresult *db_exec_bin(PGconn *c, const struct db_stmt *st, const char *const *vals);
/*
 * Runs n statements in one round trip (libpq pipeline mode). A statement
 * with a NULL name is sent unprepared (BEGIN, COMMIT). out[i] receives each
 * result (the caller clears them all, also on failure; a statement after a
 * failed one gets PGRES_PIPELINE_ABORTED). Returns 0 when every statement
 * succeeded, -1 otherwise.
 */
int db_pipeline(PGconn *c, int n, const struct db_stmt *const *st,
    const char *const *const *vals, PGresult **out);
/*
 * The same with binary parameters: lens[i]/fmts[i] (each may be NULL, as
 * may lens and fmts themselves) give statement i's parameter lengths and
 * formats (0 text, 1 binary), as for PQexecParams.
 */
int db_pipeline_bin(PGconn *c, int n, const struct db_stmt *const *st,
    const char *const *const *vals, const int *const *lens, const int *const *fmts,
    PGresult **out);
/*
 * A one-dimensional array in PostgreSQL's binary format, to pass a batch of
 * values as one parameter (unnest($1::bigint[])) without the server parsing
 * text. Add elements in order, then db_array_end(); a.b.ptr/a.b.len are the
 * parameter's bytes (format 1). Any failure is sticky: db_array_end()
 * returns -1. db_array_free() releases the memory.
 */
enum { DB_OID_INT8 = 20, DB_OID_INT2 = 21, DB_OID_INT4 = 23, DB_OID_TEXT = 25,
	DB_OID_FLOAT8 = 701, DB_OID_TIMESTAMPTZ = 1184 };
struct db_array {
	struct buf b;
	int32_t n;
	int has_null;
};
void db_array_begin(struct db_array *a, uint32_t elem_oid, size_t cap);
void db_array_int8(struct db_array *a, int64_t v);
void db_array_int4(struct db_array *a, int32_t v);
void db_array_int2(struct db_array *a, int16_t v);
void db_array_float8(struct db_array *a, double v);
void db_array_text(struct db_array *a, const char *s);   /* NULL: SQL NULL */
void db_array_time(struct db_array *a, int64_t unix_us);
void db_array_null(struct db_array *a);
int db_array_end(struct db_array *a);
void db_array_free(struct db_array *a);

/*
 * Rows in COPY's binary format, for COPY ... FROM STDIN (FORMAT binary):
 * a field is encoded as an array element is, so the db_array_* element
 * functions add the fields. db_copy_begin(), then for each row
 * db_copy_row() with its number of fields followed by the fields, then
 * db_copy_end() (-1: out of memory). db_copy_in() runs sql (a COPY ...
 * FROM STDIN) with those bytes and returns its final result (never NULL;
 * the caller clears it); a failure is the result's error, as for db_exec().
 */
void db_copy_begin(struct db_array *a);
void db_copy_row(struct db_array *a, int nfields);
int db_copy_end(struct db_array *a);
PGresult *db_copy_in(PGconn *c, const char *sql, const struct db_array *a);

/* Plain one-off statement without parameters (BEGIN, COMMIT, ...). */
int db_cmd(PGconn *c, const char *sql);
/*
 * The server's settings an install should change (docs/operations.md,
 * "PostgreSQL's settings"): each one found at its default is logged once,
 * with why and how, at start and by --migrate. Nothing is refused - custos
 * runs on PostgreSQL's defaults - and a setting that cannot be read (an
 * older server) is passed over.
 */
void db_advise(PGconn *c);
/* PQexec(c, sql) under the answer deadline below; never NULL. */
PGresult *db_query(PGconn *c, const char *sql);

/*
 * The answer deadline. A server that stops answering without closing the
 * connection - a primary frozen or cut off behind something that still
 * acknowledges TCP (a proxy, a load balancer, a kernel whose postgres is
 * stopped) - would hold every statement sent to it for ever: TCP keepalives
 * and tcp_user_timeout see a live peer. So every statement of db.c (and
 * db_query()) is watched: one that has waited database_timeout_s (0: never)
 * for its answer has its socket shut down by the watch thread; libpq then
 * fails it as a lost connection (db_outcome(): DB_UNAVAILABLE, a 503 for a
 * request) and the thread's next db_conn() connects anew - to the new
 * primary after a failover. The watch thread is dbwatch.h's.
 */
/* Shuts down the connections whose statement has waited limit_ms or more
 * (each once); how many. */
int db_watch_cut(long long limit_ms);
/* 1 when r succeeded with the given status (PGRES_TUPLES_OK/COMMAND_OK). */
int db_ok(const PGresult *r, ExecStatusType want);
/* The SQLSTATE of a failed result, or "" */
const char *db_sqlstate(const PGresult *r);
/*
 * What the store layer says happened: database outcomes, never HTTP
 * statuses (only api/ maps outcomes to statuses, in resp_db_outcome()).
 */
enum db_outcome {
	DB_OK = 0,
	DB_UNAVAILABLE,   /* the connection is gone or the server is shutting down */
	DB_CONFLICT,      /* a unique key already holds the value */
	DB_ERROR,         /* anything else; logged once, on one line */
	DB_NOT_FOUND,     /* the row asked for does not exist */
	DB_NOMEM          /* out of memory on our side */
};
/*
 * The outcome of a failed result. DB_UNAVAILABLE marks the connection
 * broken (it stays allocated: the caller may still hold it; the thread's
 * next db_conn() replaces it).
 */
enum db_outcome db_outcome(PGconn *c, const PGresult *r);

#endif
