/*
 * history.h - check_history's day partitions, retention and roll-ups
 * (sql/005_history.sql; decisions in history.c's header).
 *
 * The history thread (history_start/history_stop) makes partitions ahead,
 * drops the partitions past history_retention_days, trims the minute and
 * hour roll-ups and builds the roll-ups every rollup_interval_s. It has its
 * own database connection and never runs on the jobs thread, so nothing it
 * does delays dead-agent detection or re-notification.
 */
#ifndef CUSTOS_HISTORY_H
#define CUSTOS_HISTORY_H

#include <libpq-fe.h>
#include <stddef.h>
#include <stdint.h>

#define HISTORY_DAY_US 86400000000LL   /* one UTC day in microseconds */

/*
 * Before inserting a batch of results into check_history, with no
 * transaction open on c: observed_us[i] is result i's observed_at in
 * microseconds since the epoch (a result without one: the request's
 * arrival; a future stamp already clamped by ingest's max_clock_skew_s
 * rule, or a partition would be made for that future day). Sets keep[i] to
 * 1 for a result inside the retention window (its UTC day is not older
 * than history_retention_days before today; 0 keeps everything) and makes
 * sure the partition of its day exists, or to 0 for a result older than
 * the window, which must not be stored and is counted as "expired". Known
 * partitions are remembered, so the usual batch runs no statement at all.
 *
 * A missing partition is made (one short transaction of its own) only when
 * may_create is true - the request's agent is authenticated, so that an
 * unknown token cannot make tables. Otherwise HISTORY_ADMIT_AUTH is
 * returned: authenticate, then call again with may_create set. (Ingest,
 * the one caller, always passes 1: the door in http.c authenticated the
 * agent before its body was read.)
 *
 * Returns the number of expired results (>= 0), HISTORY_ADMIT_AUTH, or
 * HISTORY_ADMIT_FAILED when a partition could not be made: the statement
 * failed, and c may be broken (PQstatus); the caller treats it as a
 * database failure.
 */
#define HISTORY_ADMIT_FAILED (-1)
#define HISTORY_ADMIT_AUTH (-2)
int history_admit(PGconn *c, const int64_t *observed_us, size_t n, unsigned char *keep,
    int may_create);

/* Starts the history thread; 0 or -1. */
int history_start(void);
/* Lets the running step finish and joins the thread. */
void history_stop(void);

#endif
