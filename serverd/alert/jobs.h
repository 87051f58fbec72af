/*
 * jobs.h - the periodic jobs (see jobs.c): dead agents, downtime start and
 * end, acknowledgement expiry, re-notification (history retention: store/history.h).
 */
#ifndef CUSTOS_JOBS_H
#define CUSTOS_JOBS_H

#include <libpq-fe.h>

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

#endif
