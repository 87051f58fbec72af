/*
 * oncall.h - who is on call, and whether a person may be woken: the
 * arithmetic of rotations and of quiet hours, on wall-clock time in a
 * named zone (tz.h), so that both are right across daylight-saving changes.
 *
 * Both work on the zone's wall clock, as people do: a daily shift that
 * hands off at 09:00 hands off at 09:00 on the day the clocks change too
 * (that shift lasts 23 or 25 hours), and quiet hours 22:00-07:00 end at
 * 07:00 local whatever the UTC offset did in the night. A wall-clock time
 * that does not exist (02:30 on the spring change in Europe/Berlin) means
 * the first instant after the gap; one that exists twice (01:30 on the
 * autumn change in America/New_York) means its first occurrence
 * (tz_from_local()). So a hand-off at 01:30 on an autumn change day happens
 * once, at the first 01:30, and the repeated half hour stays with the new
 * person.
 *
 * Pure and thread-safe: no state, no allocation, no process time zone.
 * Times are seconds since the Unix epoch.
 */
#ifndef CUSTOS_ONCALL_H
#define CUSTOS_ONCALL_H

#include <stddef.h>
#include <stdint.h>

#include "tz.h"

enum shift_kind { SHIFT_HOURS, SHIFT_DAY, SHIFT_WEEK };

#define ROTATION_MEMBERS_MAX 100
#define QUIET_WINDOWS_MAX 14

/*
 * A rotation: members take shifts in order, for ever. The first shift
 * begins at start_day (a civil day number: days_from_civil()) at
 * handoff_min minutes after local midnight; for SHIFT_WEEK start_day is
 * moved forward to the first day on handoff_wday. Shifts before the first
 * one continue the order backwards (the rotation is defined at every
 * instant, so "who was on call last Tuesday" has an answer even for a
 * rotation made today).
 */
struct rotation {
	enum shift_kind kind;
	int hours;          /* SHIFT_HOURS: the shift's length, a divisor of 24 */
	int handoff_min;    /* 0..1439 */
	int handoff_wday;   /* SHIFT_WEEK: 0 = Sunday .. 6 */
	int64_t start_day;
	size_t members;     /* >= 1 */
};

struct shift {
	size_t member;      /* index into the members, 0 .. members - 1 */
	int64_t start, end; /* the shift's instants: start <= t < end */
};

/*
 * "hours:N", "day" or "week" into r->kind / r->hours; "HH:MM" into minutes
 * after midnight; "sun".."sat" (or "sunday".., any case) into 0..6. Each 0,
 * or -1 with a reason in err.
 */
int shift_parse(const char *text, struct rotation *r, char *err, size_t errlen);
int hhmm_parse(const char *text, int *min, char *err, size_t errlen);
int weekday_parse(const char *text, int *wday, char *err, size_t errlen);

/* The shift in force at t. */
void rotation_at(const struct rotation *r, const struct tz *z, int64_t t, struct shift *out);

/*
 * Quiet hours: weekly windows on the person's wall clock. A window starts
 * on each of its days (bit d of days: 0 = Sunday) at from_min and lasts
 * until to_min; to_min <= from_min means it ends the next day
 * (22:00-07:00), equal means a whole day.
 */
struct quiet_window {
	unsigned days;      /* bits 0..6 */
	int from_min, to_min;
};

/*
 * One window from its text form: "DAYS HH:MM-HH:MM", DAYS a weekday, a
 * range "mon-fri" (wrapping: "fri-mon"), a comma list "sat,sun", or
 * "daily". 0, or -1 with a reason in err.
 */
int quiet_window_parse(const char *text, struct quiet_window *w, char *err, size_t errlen);

/*
 * If t is inside one of the n windows: the instant the quiet time ends
 * (windows that touch or overlap are followed to the end of the last one,
 * at most a week on), else 0.
 */
int64_t quiet_until(const struct quiet_window *w, size_t n, const struct tz *z, int64_t t);

/*
 * The first instant at or after t at which one of the n windows starts
 * (on the wall clock: a start in a spring gap is the end of the gap), with
 * *end set to quiet_until() from there; 0 when no window has a day (so
 * never). Recurring downtimes step through their occurrences with it.
 */
int64_t quiet_next(const struct quiet_window *w, size_t n, const struct tz *z, int64_t t,
    int64_t *end);

#endif
