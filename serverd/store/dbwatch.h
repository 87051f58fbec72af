/*
 * dbwatch.h - the thread that keeps the answer deadline (db.h): every
 * DB_WATCH_TICK_MS it gives up the statements that have waited
 * database_timeout_s (read at each tick: a SIGHUP changes it) for an
 * answer. Started after the migrations (which may rightly take long),
 * stopped before db_shutdown().
 */
#ifndef CUSTOS_DBWATCH_H
#define CUSTOS_DBWATCH_H

#define DB_WATCH_TICK_MS 250

/* 0, or -1 when the thread cannot start. */
int db_watch_start(void);
void db_watch_stop(void);

#endif
