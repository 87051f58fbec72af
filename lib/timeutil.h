/*
 * timeutil.h - clocks and RFC 3339 timestamps. Wall-clock times are int64
 * microseconds since the Unix epoch (UTC); durations use the monotonic clock.
 */
#ifndef CUSTOS_TIMEUTIL_H
#define CUSTOS_TIMEUTIL_H

#include <stddef.h>
#include <stdint.h>

#define RFC3339_LEN 32   /* "2026-11-25T06:00:00.123456Z" + NUL, with room */

int64_t time_now_us(void);      /* CLOCK_REALTIME, plus the offset below */
/*
 * Moves time_now_us() by us from now on: a test and benchmark knob only
 * (serverd's CUSTOS_TEST_CLOCK_OFFSET_S, docs/decisions.md), set once before
 * any thread starts. The monotonic clocks are not moved.
 */
void time_set_offset_us(int64_t us);
int64_t mono_now_ms(void);      /* CLOCK_MONOTONIC */
int64_t mono_now_us(void);
/* Sleeps ms milliseconds (resumed after a signal). */
void sleep_ms(int ms);
/* Formats as "YYYY-MM-DDTHH:MM:SS[.ffffff]Z" (fraction only when non-zero). */
void rfc3339_format(int64_t us, char out[RFC3339_LEN]);
/*
 * Parses RFC 3339 ("2026-11-25T06:00:00Z", "...T06:00:00.5+01:00"; 't'/'z'
 * and a space for 'T' accepted). Returns 0 or -1 on anything else.
 */
int rfc3339_parse(const char *s, int64_t *us);

/*
 * The proleptic Gregorian calendar on day numbers (days since 1970-01-01),
 * for any year: RFC 3339 parsing and the zone arithmetic of tz.c and
 * schedule.c share them.
 */
int64_t days_from_civil(int64_t y, unsigned m, unsigned d);
void civil_from_days(int64_t days, int64_t *y, unsigned *m, unsigned *d);

#endif
