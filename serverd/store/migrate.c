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

int
migrate_run(PGconn *c)
{
	const struct migration *m;
	int n = 0, rc = -1;

	if (db_cmd(c, "SELECT pg_advisory_lock(" MIGRATE_LOCK_KEY ")") < 0)
		return -1;
	if (db_cmd(c, "CREATE TABLE IF NOT EXISTS schema_migrations ("
	    "version integer PRIMARY KEY, name text NOT NULL, "
	    "applied_at timestamptz NOT NULL DEFAULT now())") < 0)
		goto done;
	for (m = migrations; m->version; m++) {
		char v[16];
		const char *p[2] = { v, m->name };
		PGresult *r;
		int a = applied(c, m->version);

		if (a < 0)
			goto done;
		if (a)
			continue;
		if (db_cmd(c, "BEGIN") < 0)
			goto done;
		r = PQexec(c, m->sql);
		if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK) {
			log_error("migrate: %s failed: %s", m->name, PQerrorMessage(c));
			PQclear(r);
			db_cmd(c, "ROLLBACK");
			goto done;
		}
		PQclear(r);
		snprintf(v, sizeof(v), "%d", m->version);
		r = PQexecParams(c, "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)",
		    2, NULL, p, NULL, NULL, 0);
		if (PQresultStatus(r) != PGRES_COMMAND_OK) {
			log_error("migrate: recording %s: %s", m->name, PQerrorMessage(c));
			PQclear(r);
			db_cmd(c, "ROLLBACK");
			goto done;
		}
		PQclear(r);
		if (db_cmd(c, "COMMIT") < 0)
			goto done;
		log_info("migrate: applied %s", m->name);
		n++;
	}
	rc = n;
done:
	db_cmd(c, "SELECT pg_advisory_unlock(" MIGRATE_LOCK_KEY ")");
	return rc;
}
