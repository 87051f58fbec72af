/*
 * db.c - see db.h. Prepared statements are tracked per connection in a small
 * table of statement pointers (the statements are static, so the pointer
 * identifies them); the table is cleared whenever the connection changes.
 */
#include "config.h"
#include "db.h"
#include "invariant.h"
#include "log.h"
#include "timeutil.h"

#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define DB_MAX_PREPARED 256   /* distinct statements one connection prepares */
#define DB_WATCH_SLOTS 1024   /* statements waiting at once (more go unwatched) */

struct db_thread {
	PGconn *conn;
	const struct db_stmt *prepared[DB_MAX_PREPARED];
	int nprepared;
	int broken;         /* a query said the server is gone: reconnect */
	int worker;         /* an HTTP worker: new connections are warmed (db_warm) */
	int slot;           /* watch_slots index + 1 while a statement waits, else 0 */
};

/*
 * The answer deadline (db.h): a slot per statement waiting now, taken and
 * freed around the libpq call under watch_mu. db_watch_cut() (the watch
 * thread, dbwatch.c) shuts a socket down under watch_mu too, so it never
 * touches a socket its thread has closed (a slot is freed before its
 * connection can be).
 */
struct watch_slot {
	int fd;             /* -1: free */
	int64_t since_ms;   /* monotonic */
	int cut;            /* shut down already */
};
static pthread_mutex_t watch_mu = PTHREAD_MUTEX_INITIALIZER;
static struct watch_slot watch_slots[DB_WATCH_SLOTS];
static int watch_used;   /* slots [0, watch_used) may be taken; guarded by watch_mu */
static int wait_begin(PGconn *c);
static void wait_end(int took);

static char *db_conninfo;
static _Thread_local struct db_thread dbt;
static pthread_key_t db_key;          /* closes a thread's connection at its exit */
static pthread_once_t db_key_once = PTHREAD_ONCE_INIT;

static void
db_thread_exit(void *p)
{
	PGconn *c = p;

	/* runs after the thread's _Thread_local storage may be gone: use p */
	if (c)
		PQfinish(c);
}

static void
db_key_create(void)
{
	pthread_key_create(&db_key, db_thread_exit);
}

int
db_init(const char *conninfo)
{
	free(db_conninfo);
	db_conninfo = strdup(conninfo);
	return db_conninfo ? 0 : -1;
}

void
db_shutdown(void)
{
	db_close();
	free(db_conninfo);
	db_conninfo = NULL;
}

void
db_close(void)
{
	if (dbt.conn) {
		PQfinish(dbt.conn);
		pthread_setspecific(db_key, NULL);
	}
	dbt.conn = NULL;
	dbt.nprepared = 0;
	dbt.broken = 0;
}

static void
db_notice(void *arg, const char *msg)
{
	(void)arg;
	(void)msg;   /* NOTICEs (e.g. "relation exists, skipping") are not errors */
}

/*
 * 1 when an idle connection is still usable. A connection that PostgreSQL
 * closed while we were not using it (a restart, an idle timeout) looks fine
 * to libpq until a query fails on it; the server's goodbye and EOF are
 * already in the socket, though, so one poll() without waiting tells. This
 * is how a request that finds its connection dead before doing anything
 * reconnects and goes on instead of answering 503: every worker recovers on
 * its next request, not on its next failed one.
 */
static int
db_idle_alive(PGconn *c)
{
	struct pollfd pfd;
	int i;

	pfd.fd = PQsocket(c);
	if (pfd.fd < 0)
		return 0;
	/* readable while idle: a notice, or the server's FATAL message and then
	 * EOF, which libpq sees only on the read after the message: read until
	 * nothing is pending (a few rounds at most) */
	for (i = 0; i < 4; i++) {
		pfd.events = POLLIN;
		pfd.revents = 0;
		if (poll(&pfd, 1, 0) <= 0)
			return 1;   /* nothing pending: alive as far as anybody can tell */
		if (!PQconsumeInput(c) || PQstatus(c) != CONNECTION_OK)
			return 0;
	}
	return 0;   /* still talking while idle: not a state to trust */
}

PGconn *
db_conn_worker(void)
{
	dbt.worker = 1;
	return db_conn();
}

static const struct db_stmt *warm[DB_MAX_WARM];
static int nwarm;

void
db_warm(const struct db_stmt *st)
{
	CUSTOS_ASSERT(nwarm < DB_MAX_WARM);   /* db.h: at most DB_MAX_WARM */
	if (st->nparams == 0 && nwarm < DB_MAX_WARM)
		warm[nwarm++] = st;
}

static int db_prepare(PGconn *c, const struct db_stmt *st);

/*
 * The registered statements on a new connection: prepared and run once,
 * which plans them and readies what they call (check_last_many()'s plans).
 * A failure costs only the head start: the statement is prepared again
 * when first used.
 */
static void
db_warm_conn(PGconn *c)
{
	int i, took;

	for (i = 0; i < nwarm; i++) {
		PGresult *r;
		if (db_prepare(c, warm[i]) < 0)
			continue;
		took = wait_begin(c);
		r = PQexecPrepared(c, warm[i]->name, 0, NULL, NULL, NULL, 0);
		wait_end(took);
		if (PQresultStatus(r) != PGRES_TUPLES_OK)
			log_warn("database: planning %s ahead: %s", warm[i]->name,
			    PQresultErrorMessage(r));
		PQclear(r);
	}
}

/*
 * Connects with libpq defaults of our own in front of the operator's
 * conninfo, which overrides any of them (PQconnectdbParams expands dbname
 * last). They matter on the bad day, a failover (docs/operations.md):
 *   connect_timeout   a host that drops packets silently costs 5 s, then
 *                     the next host of a multi-host conninfo is tried;
 *   keepalives_*      an idle connection (a LISTENer) to a host that went
 *                     silent is found dead within about 20 s, not hours;
 *   tcp_user_timeout  the same for a query sent and never acknowledged.
 */
static PGconn *
db_connect(void)
{
	static const char *const keys[] = { "connect_timeout", "keepalives", "keepalives_idle",
		"keepalives_interval", "keepalives_count", "tcp_user_timeout", "dbname", NULL };
	const char *vals[] = { "5", "1", "10", "3", "3", "20000",
		db_conninfo ? db_conninfo : "", NULL };

	return PQconnectdbParams(keys, vals, 1);
}

PGconn *
db_conn(void)
{
	if (dbt.conn && !dbt.broken && PQstatus(dbt.conn) == CONNECTION_OK &&
	    (PQtransactionStatus(dbt.conn) != PQTRANS_IDLE || db_idle_alive(dbt.conn)))
		return dbt.conn;
	if (dbt.conn && !dbt.broken)
		log_info("database: connection closed by the server while idle; reconnecting");
	db_close();
	dbt.conn = db_connect();
	if (PQstatus(dbt.conn) != CONNECTION_OK) {
		log_error("database: %s", PQerrorMessage(dbt.conn));
		db_close();
		return NULL;
	}
	PQsetNoticeProcessor(dbt.conn, db_notice, NULL);
	/*
	 * Our statements are prepared once per connection and their plans do
	 * not depend on parameter values (id lookups, JSON batches): planning
	 * them again on every execution (PostgreSQL's custom plans) cost more
	 * than executing them, so plan once.
	 */
	if (db_cmd(dbt.conn, "SET plan_cache_mode = force_generic_plan") < 0) {
		db_close();
		return NULL;
	}
	/*
	 * No JIT. PostgreSQL compiles a statement whose estimated cost passes
	 * jit_above_cost (100,000; on by default where LLVM is installed, as in
	 * Debian's packages) at every execution: a cached plan does not keep
	 * its code. Our statements run in milliseconds, and the compile takes
	 * about a second: in a storm of 40,000 pending notifications the
	 * senders' claim is estimated at millions and each one spent ~0.9 s of
	 * its 1-3 s compiling (bench/README.md, "bench/digest-storm").
	 */
	if (db_cmd(dbt.conn, "SET jit = off") < 0) {
		db_close();
		return NULL;
	}
	if (dbt.worker)
		db_warm_conn(dbt.conn);
	pthread_once(&db_key_once, db_key_create);
	pthread_setspecific(db_key, dbt.conn);
	return dbt.conn;
}

/* ---- the answer deadline ---------------------------------------------- */

/* 1 when it took a slot (a statement inside another's wait takes none) */
static int
wait_begin(PGconn *c)
{
	int i, fd = c ? PQsocket(c) : -1;

	if (fd < 0 || dbt.slot)
		return 0;
	pthread_mutex_lock(&watch_mu);
	for (i = 0; i < watch_used && watch_slots[i].fd >= 0; i++)
		;
	if (i < DB_WATCH_SLOTS) {
		if (i == watch_used)
			watch_used++;
		watch_slots[i].fd = fd;
		watch_slots[i].since_ms = mono_now_ms();
		watch_slots[i].cut = 0;
		dbt.slot = i + 1;
	}
	pthread_mutex_unlock(&watch_mu);
	return dbt.slot != 0;
}

static void
wait_end(int took)
{
	if (!took || !dbt.slot)
		return;
	pthread_mutex_lock(&watch_mu);
	watch_slots[dbt.slot - 1].fd = -1;
	while (watch_used > 0 && watch_slots[watch_used - 1].fd < 0)
		watch_used--;
	pthread_mutex_unlock(&watch_mu);
	dbt.slot = 0;
}

int
db_watch_cut(long long limit_ms)
{
	int64_t now = mono_now_ms();
	int i, cut = 0;

	pthread_mutex_lock(&watch_mu);
	for (i = 0; i < watch_used; i++) {
		struct watch_slot *w = &watch_slots[i];
		if (w->fd >= 0 && !w->cut && now - w->since_ms >= limit_ms) {
			shutdown(w->fd, SHUT_RDWR);   /* the waiting libpq call fails now */
			w->cut = 1;
			cut++;
		}
	}
	pthread_mutex_unlock(&watch_mu);
	return cut;
}

PGresult *
db_query(PGconn *c, const char *sql)
{
	PGresult *r;
	int took = wait_begin(c);

	r = PQexec(c, sql);
	wait_end(took);
	return r ? r : PQmakeEmptyPGresult(c, PGRES_FATAL_ERROR);
}

static int
db_is_prepared(const struct db_stmt *st)
{
	int i;

	for (i = 0; i < dbt.nprepared; i++)
		if (dbt.prepared[i] == st)
			return 1;
	return 0;
}

/* db_exec() and db_exec_bin(): results in text (fmt 0) or binary (1) */
static PGresult *
exec_fmt_unwatched(PGconn *c, const struct db_stmt *st, const char *const *vals, int fmt)
{
	PGresult *r;

	if (c == dbt.conn && !db_is_prepared(st)) {
		r = PQprepare(c, st->name, st->sql, st->nparams, NULL);
		if (PQresultStatus(r) != PGRES_COMMAND_OK)
			return r;   /* the caller sees the error */
		PQclear(r);
		if (dbt.nprepared < DB_MAX_PREPARED)
			dbt.prepared[dbt.nprepared++] = st;
	} else if (c != dbt.conn) {
		return PQexecParams(c, st->sql, st->nparams, NULL, vals, NULL, NULL, fmt);
	}
	r = PQexecPrepared(c, st->name, st->nparams, vals, NULL, NULL, fmt);
	if (r == NULL)
		r = PQmakeEmptyPGresult(c, PGRES_FATAL_ERROR);
	return r;
}

static PGresult *
exec_fmt(PGconn *c, const struct db_stmt *st, const char *const *vals, int fmt)
{
	int took = wait_begin(c);
	PGresult *r = exec_fmt_unwatched(c, st, vals, fmt);

	wait_end(took);
	return r;
}

PGresult *
db_exec(PGconn *c, const struct db_stmt *st, const char *const *vals)
{
	return exec_fmt(c, st, vals, 0);
}

PGresult *
db_exec_bin(PGconn *c, const struct db_stmt *st, const char *const *vals)
{
	return exec_fmt(c, st, vals, 1);
}

/* Prepares st on this thread's connection unless done already; 0 or -1. */
static int
db_prepare(PGconn *c, const struct db_stmt *st)
{
	PGresult *r;
	int ok, took;

	if (st->name == NULL || c != dbt.conn || db_is_prepared(st))
		return 0;
	took = wait_begin(c);
	r = PQprepare(c, st->name, st->sql, st->nparams, NULL);
	wait_end(took);
	ok = PQresultStatus(r) == PGRES_COMMAND_OK;
	if (!ok)
		log_error("database: preparing %s: %s", st->name, PQerrorMessage(c));
	PQclear(r);
	if (ok && dbt.nprepared < DB_MAX_PREPARED)
		dbt.prepared[dbt.nprepared++] = st;
	return ok ? 0 : -1;
}

int
db_pipeline(PGconn *c, int n, const struct db_stmt *const *st,
    const char *const *const *vals, PGresult **out)
{
	return db_pipeline_bin(c, n, st, vals, NULL, NULL, out);
}

static int pipeline_unwatched(PGconn *c, int n, const struct db_stmt *const *st,
    const char *const *const *vals, const int *const *lens, const int *const *fmts,
    PGresult **out);

int
db_pipeline_bin(PGconn *c, int n, const struct db_stmt *const *st,
    const char *const *const *vals, const int *const *lens, const int *const *fmts,
    PGresult **out)
{
	int took = wait_begin(c);   /* db_prepare() inside takes none */
	int rc = pipeline_unwatched(c, n, st, vals, lens, fmts, out);

	wait_end(took);
	return rc;
}

static int
pipeline_unwatched(PGconn *c, int n, const struct db_stmt *const *st,
    const char *const *const *vals, const int *const *lens, const int *const *fmts,
    PGresult **out)
{
	int i, sent = 0, rc = 0;
	PGresult *r;

	for (i = 0; i < n; i++)
		out[i] = NULL;
	for (i = 0; i < n; i++)
		if (db_prepare(c, st[i]) < 0)
			goto fallback;
	if (PQenterPipelineMode(c) != 1)
		goto fallback;
	for (i = 0; i < n; i++) {
		int ok;
		const int *l = lens ? lens[i] : NULL, *f = fmts ? fmts[i] : NULL;
		if (st[i]->name && c == dbt.conn)
			ok = PQsendQueryPrepared(c, st[i]->name, st[i]->nparams, vals[i], l, f, 0);
		else
			ok = PQsendQueryParams(c, st[i]->sql, st[i]->nparams, NULL, vals[i], l, f, 0);
		if (!ok)
			break;
		sent++;
	}
	if (PQpipelineSync(c) != 1)
		sent = 0;
	/* collect: each statement's result then NULL; then the sync marker */
	for (i = 0; i < sent; i++) {
		PGresult *last = NULL;
		while ((r = PQgetResult(c)) != NULL) {
			PQclear(last);
			last = r;
		}
		out[i] = last;
		if (last == NULL || (PQresultStatus(last) != PGRES_COMMAND_OK &&
		    PQresultStatus(last) != PGRES_TUPLES_OK))
			rc = -1;
	}
	if (sent > 0) {
		while ((r = PQgetResult(c)) != NULL) {
			ExecStatusType t = PQresultStatus(r);
			PQclear(r);
			if (t == PGRES_PIPELINE_SYNC)
				break;
		}
	}
	PQexitPipelineMode(c);
	for (i = sent; i < n; i++)
		out[i] = PQmakeEmptyPGresult(c, PGRES_FATAL_ERROR);
	if (sent < n)
		rc = -1;
	return rc;
fallback:
	/* could not prepare: run one by one, stopping at the first failure */
	for (i = 0; i < n; i++) {
		out[i] = PQexecParams(c, st[i]->sql, st[i]->nparams, NULL, vals[i],
		    lens ? lens[i] : NULL, fmts ? fmts[i] : NULL, 0);
		if (out[i] == NULL || (PQresultStatus(out[i]) != PGRES_COMMAND_OK &&
		    PQresultStatus(out[i]) != PGRES_TUPLES_OK)) {
			for (i++; i < n; i++)
				out[i] = PQmakeEmptyPGresult(c, PGRES_FATAL_ERROR);
			return -1;
		}
	}
	return 0;
}

void
db_advise(PGconn *c)
{
	PGresult *r = db_query(c, "SELECT current_setting('wal_init_zero', true)");

	/* every WAL file made is zero-filled and flushed first, and every
	 * commit meanwhile waits: at full ingest twice a second on a new or
	 * long-quiet cluster (bench/README.md, "WAL files made at full ingest") */
	if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1 &&
	    !PQgetisnull(r, 0, 0) && strcmp(PQgetvalue(r, 0, 0), "on") == 0)
		log_warn("database: PostgreSQL's wal_init_zero is on: at full ingest every commit,"
		    " a page's included, waits while a new WAL file is zero-filled; turn it off"
		    " (ALTER SYSTEM SET wal_init_zero = off; SELECT pg_reload_conf(): docs/operations.md,"
		    " \"PostgreSQL's settings\")");
	PQclear(r);
}

int
db_cmd(PGconn *c, const char *sql)
{
	PGresult *r = db_query(c, sql);
	int ok = r && (PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK);

	if (!ok)
		log_error("database: %s: %s", sql, PQerrorMessage(c));
	PQclear(r);
	return ok ? 0 : -1;
}

int
db_ok(const PGresult *r, ExecStatusType want)
{
	return r && PQresultStatus(r) == want;
}

const char *
db_sqlstate(const PGresult *r)
{
	const char *s = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;

	return s ? s : "";
}

enum db_outcome
db_outcome(PGconn *c, const PGresult *r)
{
	const char *st = db_sqlstate(r);

	/*
	 * 25006 (read-only transaction): the server we hold became a standby
	 * (an old primary brought back as one, or a conninfo without
	 * target_session_attrs=read-write). Not an error of ours: the database
	 * is unavailable for writing until we reconnect and find the primary.
	 */
	if (c == NULL || PQstatus(c) != CONNECTION_OK || strncmp(st, "08", 2) == 0 ||
	    strcmp(st, "57P01") == 0 || strcmp(st, "57P02") == 0 || strcmp(st, "57P03") == 0 ||
	    strcmp(st, "25006") == 0) {
		/* not closed here: the caller may still hold c (a ROLLBACK in its
		 * done: path); the next db_conn() replaces it */
		if (c == dbt.conn)
			dbt.broken = 1;
		return DB_UNAVAILABLE;
	}
	if (strcmp(st, "23505") == 0)
		return DB_CONFLICT;
	log_error("database: %s", r ? PQresultErrorMessage(r) : PQerrorMessage(c));
	return DB_ERROR;
}

/* ---- binary arrays ----------------------------------------------------- */

static void
put32(struct db_array *a, uint32_t v)
{
	unsigned char b[4] = { (unsigned char)(v >> 24), (unsigned char)(v >> 16),
		(unsigned char)(v >> 8), (unsigned char)v };

	buf_add(&a->b, b, 4);
}

static void
put64(struct db_array *a, uint64_t v)
{
	put32(a, (uint32_t)(v >> 32));
	put32(a, (uint32_t)v);
}

void
db_array_begin(struct db_array *a, uint32_t elem_oid, size_t cap)
{
	buf_init(&a->b, cap);
	a->n = 0;
	a->has_null = 0;
	put32(a, 1);          /* ndim */
	put32(a, 0);          /* has nulls: patched at the end */
	put32(a, elem_oid);
	put32(a, 0);          /* dimension: patched at the end */
	put32(a, 1);          /* lower bound */
}

void
db_array_int8(struct db_array *a, int64_t v)
{
	put32(a, 8);
	put64(a, (uint64_t)v);
	a->n++;
}

void
db_array_int4(struct db_array *a, int32_t v)
{
	put32(a, 4);
	put32(a, (uint32_t)v);
	a->n++;
}

void
db_array_int2(struct db_array *a, int16_t v)
{
	unsigned char b[2] = { (unsigned char)((uint16_t)v >> 8), (unsigned char)v };

	put32(a, 2);
	buf_add(&a->b, b, 2);
	a->n++;
}

void
db_array_float8(struct db_array *a, double v)
{
	uint64_t u;

	memcpy(&u, &v, sizeof(u));
	put32(a, 8);
	put64(a, u);
	a->n++;
}

void
db_array_text(struct db_array *a, const char *s)
{
	size_t len;

	if (s == NULL) {
		db_array_null(a);
		return;
	}
	len = strlen(s);
	put32(a, (uint32_t)len);
	buf_add(&a->b, s, len);
	a->n++;
}

void
db_array_time(struct db_array *a, int64_t unix_us)
{
	/* timestamptz on the wire: microseconds since 2000-01-01 00:00 UTC */
	db_array_int8(a, unix_us - INT64_C(946684800000000));
}

void
db_array_null(struct db_array *a)
{
	put32(a, 0xffffffffu);
	a->has_null = 1;
	a->n++;
}

int
db_array_end(struct db_array *a)
{
	unsigned char *p;

	if (a->b.failed || a->b.ptr == NULL)
		return -1;
	p = (unsigned char *)a->b.ptr;
	p[4] = p[5] = p[6] = 0;
	p[7] = (unsigned char)a->has_null;
	p[12] = (unsigned char)((uint32_t)a->n >> 24);
	p[13] = (unsigned char)((uint32_t)a->n >> 16);
	p[14] = (unsigned char)((uint32_t)a->n >> 8);
	p[15] = (unsigned char)a->n;
	return 0;
}

void
db_array_free(struct db_array *a)
{
	buf_free(&a->b);
}

/* ---- COPY in binary ----------------------------------------------------- */

void
db_copy_begin(struct db_array *a)
{
	static const char sig[11] = "PGCOPY\n\377\r\n";   /* with its NUL: 11 bytes */

	buf_init(&a->b, (size_t)1 << 30);
	a->n = 0;
	a->has_null = 0;
	buf_add(&a->b, sig, sizeof(sig));
	put32(a, 0);          /* flags */
	put32(a, 0);          /* header extension length */
}

void
db_copy_row(struct db_array *a, int nfields)
{
	unsigned char b[2] = { (unsigned char)(nfields >> 8), (unsigned char)nfields };

	CUSTOS_ASSERT(nfields > 0 && nfields <= 0x7fff);   /* COPY's field count: int16 */
	buf_add(&a->b, b, 2);
}

int
db_copy_end(struct db_array *a)
{
	static const unsigned char trailer[2] = { 0xff, 0xff };

	buf_add(&a->b, trailer, 2);
	return a->b.failed ? -1 : 0;
}

static PGresult *copy_in_unwatched(PGconn *c, const char *sql, const struct db_array *a);

PGresult *
db_copy_in(PGconn *c, const char *sql, const struct db_array *a)
{
	int took = wait_begin(c);
	PGresult *r = copy_in_unwatched(c, sql, a);

	wait_end(took);
	return r;
}

static PGresult *
copy_in_unwatched(PGconn *c, const char *sql, const struct db_array *a)
{
	PGresult *r = PQexec(c, sql), *last;

	if (r == NULL)
		return PQmakeEmptyPGresult(c, PGRES_FATAL_ERROR);
	if (PQresultStatus(r) != PGRES_COPY_IN)
		return r;
	PQclear(r);
	CUSTOS_ASSERT(a->b.len <= INT_MAX);   /* db_copy_begin()'s cap keeps it an int */
	if (PQputCopyData(c, a->b.ptr, (int)a->b.len) != 1)
		PQputCopyEnd(c, "could not send the rows");
	else
		PQputCopyEnd(c, NULL);
	/* the COPY's own result, then NULL */
	last = NULL;
	while ((r = PQgetResult(c)) != NULL) {
		PQclear(last);
		last = r;
	}
	return last ? last : PQmakeEmptyPGresult(c, PGRES_FATAL_ERROR);
}

