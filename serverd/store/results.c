/*
 * results.c - see results.h.
 *
 * The rows come from check_history_check_idx (check_id, observed_at DESC,
 * id DESC) walked backwards, so nothing is sorted, and the partitions
 * before since_us are pruned when the plan starts. The time comes as an
 * integer of microseconds (cheaper to read than RFC 3339 text) and the
 * value in PostgreSQL's shortest exact text form, so a value read here
 * equals the one stored, bit for bit: the backtest must judge the same
 * number the agent measured.
 */
#include "config.h"
#include "results.h"
#include "strnum.h"

#include <stdio.h>
#include <stdlib.h>

static const struct db_stmt q_since = { "results_since",
	"SELECT h.status, h.value,"
	"  (extract(epoch FROM h.observed_at) * 1000000)::bigint"
	" FROM check_history h WHERE h.check_id = $1"
	"  AND h.observed_at >= 'epoch'::timestamptz + $2::bigint * interval '1 microsecond'"
	" ORDER BY h.observed_at, h.id LIMIT $3", 3 };

enum db_outcome
results_since(PGconn *c, int64_t check_id, int64_t since_us, size_t max,
    struct stored_result **out, size_t *n)
{
	char id[24], since[24], lim[24];
	const char *v[3] = { id, since, lim };
	struct stored_result *res = NULL;
	enum db_outcome rc = DB_OK;
	const char *es;
	PGresult *q;
	int i, rows;

	*out = NULL;
	*n = 0;
	snprintf(id, sizeof(id), "%lld", (long long)check_id);
	snprintf(since, sizeof(since), "%lld", (long long)since_us);
	snprintf(lim, sizeof(lim), "%zu", max + 1);
	q = db_exec(c, &q_since, v);
	if (!db_ok(q, PGRES_TUPLES_OK)) {
		rc = db_outcome(c, q);
		goto done;
	}
	if ((rows = PQntuples(q)) == 0)
		goto done;
	if ((res = malloc((size_t)rows * sizeof(*res))) == NULL) {
		rc = DB_NOMEM;
		goto done;
	}
	for (i = 0; i < rows; i++) {
		struct stored_result *x = &res[i];
		x->status = (signed char)str_to_ll(PQgetvalue(q, i, 0), 0, 3, &es);
		if (es)
			x->status = 3;   /* the table's CHECK makes this impossible */
		x->has_value = !PQgetisnull(q, i, 1);
		x->value = x->has_value ? str_to_double(PQgetvalue(q, i, 1), &es) : 0;
		if (x->has_value && es)
			x->has_value = 0;   /* NaN/Infinity text: judged as no value */
		x->observed_us = str_to_ll(PQgetvalue(q, i, 2), INT64_MIN, INT64_MAX, &es);
	}
	*out = res;
	*n = (size_t)rows;
done:
	PQclear(q);
	return rc;
}
