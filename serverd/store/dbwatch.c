/*
 * dbwatch.c - see dbwatch.h. Apart from db.c, which unit tests link
 * without the configuration or a ticker.
 */
#include "config.h"
#include "dbwatch.h"
#include "db.h"
#include "log.h"
#include "serverd.h"
#include "ticker.h"

static void
watch_tick(struct ticker *t)
{
	long long limit = CONF_VALUE(database_timeout_s);
	int cut;

	(void)t;
	if (limit <= 0)
		return;
	if ((cut = db_watch_cut(limit * 1000)) > 0)
		log_warn("database: %d statement(s) without an answer for %lld s"
		    " (database_timeout_s): their connections are given up", cut, limit);
}

static struct ticker watch = { .name = "db-watch", .tick = watch_tick,
	.period_ms = DB_WATCH_TICK_MS };

int
db_watch_start(void)
{
	return ticker_start(&watch);
}

void
db_watch_stop(void)
{
	ticker_stop(&watch);
}
