/*
 * migrate.c - see migrate.h.
 */
#include "config.h"
#include "migrate.h"
#include "db.h"
#include "log.h"

#include <stdio.h>
#include <stdlib.h>

#define MIGRATE_LOCK_KEY "7263757374" /* advisory lock id ("custos" in spirit) */

static int
applied(PGconn *c, int version)
{
	char v[16];
	const char *p[1] = { v };
	PGresult *r;
	int yes;

	snprintf(v, sizeof(v), "%d", version);
	r = PQexecParams(c, "SELECT 1 FROM schema_migrations WHERE version = $1",
	    1, NULL, p, NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		log_error("migrate: %s", PQerrorMessage(c));
		PQclear(r);
		return -1;
	}
	yes = PQntuples(r) > 0;
	PQclear(r);
	return yes;
}

/* Runs one file's SQL (several statements); a file of comments only, as a
 * migration emptied when its functions moved to sql/functions, is fine. */
static int
exec_file(PGconn *c, const char *what, const char *name, const char *sql)
{
	PGresult *r = PQexec(c, sql);
	ExecStatusType st = PQresultStatus(r);

	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK && st != PGRES_EMPTY_QUERY) {
		log_error("migrate: %s %s failed: %s", what, name, PQerrorMessage(c));
		PQclear(r);
		return -1;
	}
	PQclear(r);
	return 0;
}

/* A database with a migration this binary does not know was migrated by a
 * newer serverd: applying our functions would put older ones over its
 * own. Returns 1 (and says so), 0, or -1. */
static int
newer_schema(PGconn *c)
{
	const struct migration *m;
	char list[1024];
	const char *p[1] = { list };
	size_t len = 0;
	PGresult *r;
	int newer;

	list[len++] = '{';
	for (m = migrations; m->version; m++) {
		int w = snprintf(list + len, sizeof(list) - len, "%s%d",
		    m == migrations ? "" : ",", m->version);

		if (w < 0 || (size_t)w >= sizeof(list) - len - 1) {
			log_error("migrate: too many migrations for the version list");
			return -1;
		}
		len += (size_t)w;
	}
	list[len++] = '}';
	list[len] = '\0';
	r = PQexecParams(c, "SELECT name FROM schema_migrations "
	    "WHERE version <> ALL ($1::integer[]) ORDER BY version DESC LIMIT 1",
	    1, NULL, p, NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		log_error("migrate: %s", PQerrorMessage(c));
		PQclear(r);
		return -1;
	}
	newer = PQntuples(r) > 0;
	if (newer)
		log_error("migrate: the database has migration %s, which this custos-serverd "
		    "does not know: it was migrated by a newer one; not starting (this one "
		    "would put its older functions over the newer ones)", PQgetvalue(r, 0, 0));
	PQclear(r);
	return newer;
}

static int
record(PGconn *c, const struct migration *m)
{
	char v[16];
	const char *p[2] = { v, m->name };
	PGresult *r;

	snprintf(v, sizeof(v), "%d", m->version);
	r = PQexecParams(c, "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)",
	    2, NULL, p, NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_COMMAND_OK) {
		log_error("migrate: recording %s: %s", m->name, PQerrorMessage(c));
		PQclear(r);
		return -1;
	}
	PQclear(r);
	return 0;
}

int
migrate_run(PGconn *c)
{
	const struct migration *m;
	const struct sql_function *f;
	int n = 0, nf = 0, rc = -1;

	if (db_cmd(c, "SELECT pg_advisory_lock(" MIGRATE_LOCK_KEY ")") < 0)
		return -1;
	if (db_cmd(c, "CREATE TABLE IF NOT EXISTS schema_migrations ("
	    "version integer PRIMARY KEY, name text NOT NULL, "
	    "applied_at timestamptz NOT NULL DEFAULT now())") < 0)
		goto done;
	if (db_cmd(c, "BEGIN") < 0)
		goto done;
	if (newer_schema(c) != 0)
		goto rollback;
	for (m = migrations; m->version; m++) {
		int a = applied(c, m->version);

		if (a < 0)
			goto rollback;
		if (a)
			continue;
		log_info("migrate: applying %s", m->name);
		if (exec_file(c, "migration", m->name, m->sql) < 0 || record(c, m) < 0)
			goto rollback;
		n++;
	}
	for (f = sql_functions; f->name; f++, nf++)
		if (exec_file(c, "function", f->name, f->sql) < 0)
			goto rollback;
	/* history_tops() is generated from the partitions, not kept in a
	 * file (sql/functions/history_tops_make.sql). A new database has the
	 * empty one of sql/007 and partitions already: made here, so that it is
	 * right from the start. Otherwise the history thread remakes it; its
	 * lock is not waited for here (a retention may hold it) */
	if (db_cmd(c, "SELECT history_tops_make() WHERE NOT EXISTS (SELECT FROM history_tops())") < 0 ||
	    db_cmd(c, "COMMIT") < 0)
		goto rollback;
	if (n > 0)
		log_info("migrate: %d migration(s) applied", n);
	log_debug("migrate: %d functions applied", nf);
	rc = n;
	goto done;
rollback:
	db_cmd(c, "ROLLBACK");
done:
	db_cmd(c, "SELECT pg_advisory_unlock(" MIGRATE_LOCK_KEY ")");
	return rc;
}
