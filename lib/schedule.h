/*
 * schedule.h - when a heartbeat's job is expected to run.
 *
 * Two forms:
 *   "every N{s,m,h,d}"  a fixed period, counted from the job's last success
 *                       (or from when the heartbeat was made): "every 5m"
 *   a cron expression   five fields (minute hour day-of-month month
 *                       day-of-week) with *, a, a-b, lists and /steps, the
 *                       names jan..dec and sun..sat, 7 = Sunday, and the
 *                       aliases @hourly @daily @midnight @weekly @monthly
 *                       @yearly @annually; read in a time zone (tz.h).
 * Day of month and day of week follow cron's rule: when both are
 * restricted (neither field starts with '*') a day matches either; when one
 * is '*', only the other counts.
 *
 * schedule_next() answers "the first expected run strictly after t",
 * with the time-zone changes settled as tz_from_local() does: a run at a
 * wall-clock time that does not exist that day (02:30 on the spring change
 * in Europe/Berlin) is expected at the first instant after the gap (03:00
 * local); one at a time that exists twice (01:30 on the autumn change in
 * America/New_York) is expected once, at its first occurrence.
 * Pure and thread-safe.
 */
#ifndef CUSTOS_SCHEDULE_H
#define CUSTOS_SCHEDULE_H

#include <stddef.h>
#include <stdint.h>

#include "tz.h"

#define SCHEDULE_TEXT_MAX 128
#define SCHEDULE_EVERY_MAX (366LL * 86400)   /* the longest "every" period, s */
#define SCHEDULE_HORIZON_DAYS (366 * 8 + 2)  /* how far schedule_next() looks */

struct schedule {
	int64_t every_s;     /* > 0: "every" form; 0: cron */
	uint64_t minute;     /* bit i: minute i (0..59) */
	uint32_t hour;       /* bits 0..23 */
	uint32_t dom;        /* bits 1..31 */
	uint32_t month;      /* bits 1..12 */
	uint32_t dow;        /* bits 0..6, Sunday = 0 */
	int dom_star, dow_star;   /* the field started with '*' (cron's rule) */
};

/*
 * Parses text into *s. 0, or -1 with a reason in err ("minute field: 61
 * is out of range 0-59"). A cron expression that can never fire
 * ("0 0 30 2 *") is refused.
 */
int schedule_parse(const char *text, struct schedule *s, char *err, size_t errlen);

/*
 * The first expected run strictly after t (seconds since the epoch). For
 * the "every" form t + every_s (z unused, may be NULL). -1 when a cron
 * expression has no run within SCHEDULE_HORIZON_DAYS.
 */
int64_t schedule_next(const struct schedule *s, const struct tz *z, int64_t t);

#endif
