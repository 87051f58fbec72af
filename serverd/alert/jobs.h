/*
 * jobs.h - the periodic jobs (see jobs.c): dead agents, downtime start and
 * end, acknowledgement expiry, re-notification (history retention: store/history.h).
 */
#ifndef CUSTOS_JOBS_H
#define CUSTOS_JOBS_H

#include <libpq-fe.h>
#include <stdint.h>

/* Starts the jobs thread; 0 or -1. */
int jobs_start(void);
/* Lets the running job finish and joins the thread. */
void jobs_stop(void);
/*
 * Inside the caller's transaction: for the checks in check_ids and the
 * checks of the agents in agent_ids (PostgreSQL array literals, NULL for
 * none; both NULL: every check, skipping rows locked by others), notifies
 * each HARD state its contacts were not told about and that nothing
 * suppresses any more (PROBLEM, or RECOVERY of a problem they were told
 * about), with detail {"reason": reason}. DB_OK, or the store outcome
 * (DB_UNAVAILABLE: the connection broke) after which the caller rolls back.
 */
enum db_outcome jobs_notify_untold(PGconn *c, const char *check_ids, const char *agent_ids, const char *reason);

/*
 * Writes the occurrences of recurring downtimes (downtime_recurring) that
 * start within the next JOBS_RECURRING_AHEAD_S as ordinary downtime rows
 * carrying recurring_id (one that is on at the first planning starts now);
 * only definition `only` when it is > 0, else those due, a batch a call.
 * Runs in the caller's transaction. DB_OK, or what went wrong.
 */
#define JOBS_RECURRING_AHEAD_S 86400
enum db_outcome jobs_plan_recurring(PGconn *c, int64_t only);

#endif
