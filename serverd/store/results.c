/*
 * results.c - see results.h.
 *
 * Shaped by what the backtest's budget (300 ms for 43,200 results) showed:
 *   - no ORDER BY: PostgreSQL planned a bitmap scan of each day partition
 *     and a sort that spilled to disk (work_mem); the partitions come in
 *     day order and each one's rows in the order they were inserted, which
 *     is observed order but for a late result (an agent's spool), so the
 *     rows are checked here in one pass and sorted only when they need it;
 *   - the result in binary format (db_exec_bin): no float8 or timestamptz
 *     text made by the server and parsed here, and a value read back is
 *     the stored double, bit for bit - the backtest must judge the number
 *     the agent measured.
 * A limit without an order picks arbitrary rows, which is fine: more than
 * max rows are refused whole by the caller.
 */
#include "config.h"
#include "results.h"

#include <arpa/inet.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PG_EPOCH_US 946684800000000LL   /* 2000-01-01, PostgreSQL's epoch, in Unix µs */

static const struct db_stmt q_since = { "results_since",
	"SELECT h.status, h.value, h.observed_at, h.id"
	" FROM check_history h WHERE h.check_id = $1"
	"  AND h.observed_at >= 'epoch'::timestamptz + $2::bigint * interval '1 microsecond'"
	" LIMIT $3", 3 };

/* A row as read, with the id that breaks ties of observed_at. */
struct row {
	struct stored_result r;
	int64_t id;
};

static uint64_t
be64(const char *p)
{
	uint32_t hi, lo;

	memcpy(&hi, p, 4);
	memcpy(&lo, p + 4, 4);
	return (uint64_t)ntohl(hi) << 32 | ntohl(lo);
}

static int
row_cmp(const void *a, const void *b)
{
	const struct row *x = a, *y = b;

	if (x->r.observed_us != y->r.observed_us)
		return x->r.observed_us < y->r.observed_us ? -1 : 1;
	return (x->id > y->id) - (x->id < y->id);
}

enum db_outcome
results_since(PGconn *c, int64_t check_id, int64_t since_us, size_t max,
    struct stored_result **out, size_t *n)
{
	char id[24], since[24], lim[24];
	const char *v[3] = { id, since, lim };
	struct stored_result *res = NULL;
	struct row *rows = NULL;
	enum db_outcome rc = DB_OK;
	PGresult *q;
	int i, nrows, sorted = 1;

	*out = NULL;
	*n = 0;
	snprintf(id, sizeof(id), "%lld", (long long)check_id);
	snprintf(since, sizeof(since), "%lld", (long long)since_us);
	snprintf(lim, sizeof(lim), "%zu", max + 1);
	q = db_exec_bin(c, &q_since, v);
	if (!db_ok(q, PGRES_TUPLES_OK)) {
		rc = db_outcome(c, q);
		goto done;
	}
	if ((nrows = PQntuples(q)) == 0)
		goto done;
	rows = malloc((size_t)nrows * sizeof(*rows));
	res = malloc((size_t)nrows * sizeof(*res));
	if (rows == NULL || res == NULL) {
		rc = DB_NOMEM;
		goto done;
	}
	for (i = 0; i < nrows; i++) {
		struct row *x = &rows[i];
		uint16_t st;
		uint64_t bits;
		if (PQgetlength(q, i, 0) != 2 || PQgetlength(q, i, 2) != 8 ||
		    PQgetlength(q, i, 3) != 8 ||
		    (!PQgetisnull(q, i, 1) && PQgetlength(q, i, 1) != 8)) {
			rc = DB_ERROR;   /* not the types asked for: cannot happen */
			goto done;
		}
		memcpy(&st, PQgetvalue(q, i, 0), 2);
		x->r.status = (signed char)(ntohs(st) & 3);
		x->r.has_value = !PQgetisnull(q, i, 1);
		x->r.value = 0;
		if (x->r.has_value) {
			bits = be64(PQgetvalue(q, i, 1));
			memcpy(&x->r.value, &bits, sizeof(x->r.value));
			x->r.has_value = isfinite(x->r.value);   /* NaN: judged as no value */
		}
		x->r.observed_us = (int64_t)be64(PQgetvalue(q, i, 2)) + PG_EPOCH_US;
		x->id = (int64_t)be64(PQgetvalue(q, i, 3));
		if (i > 0 && row_cmp(&rows[i - 1], x) > 0)
			sorted = 0;
	}
	if (!sorted)
		qsort(rows, (size_t)nrows, sizeof(*rows), row_cmp);
	for (i = 0; i < nrows; i++)
		res[i] = rows[i].r;
	*out = res;
	res = NULL;
	*n = (size_t)nrows;
done:
	free(rows);
	free(res);
	PQclear(q);
	return rc;
}
