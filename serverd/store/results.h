/*
 * results.h - a check's stored results read back in order, for the
 * threshold backtest (alert/backtest.h).
 *
 * Only what a replay needs is read (status, value, observed_at), as
 * compact structs, oldest first: a month of one check at one result a
 * minute is 43,200 rows, about 1 MB here.
 */
#ifndef CUSTOS_RESULTS_H
#define CUSTOS_RESULTS_H

#include <libpq-fe.h>
#include <stddef.h>
#include <stdint.h>

#include "db.h"

struct stored_result {
	int64_t observed_us;    /* observed_at, microseconds since the epoch */
	double value;           /* meaningful only when has_value */
	signed char status;     /* as stored: 0 OK .. 3 UNKNOWN */
	unsigned char has_value;
};

/*
 * Reads the results of check_id observed at or after since_us, in the
 * order ingest evaluates them (observed_at, then id), at most max + 1 of
 * them, so that the caller can tell "more than max" (*n > max) without
 * reading them all. On DB_OK *out is malloc'd (the caller frees it; NULL
 * when *n is 0); on any other outcome nothing is left allocated.
 */
enum db_outcome results_since(PGconn *c, int64_t check_id, int64_t since_us, size_t max,
    struct stored_result **out, size_t *n);

#endif
