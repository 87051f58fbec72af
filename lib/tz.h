/*
 * tz.h - time zones without the C library's TZ: a small reader of the
 * zoneinfo files (RFC 8536, TZif v2+), thread-safe because a loaded zone is
 * immutable and nothing here touches process state (glibc's TZ is one
 * variable for the whole process: setenv("TZ") + localtime_r() in one
 * serverd thread would change every other thread's local time).
 *
 * Times are seconds since the Unix epoch (UTC). A "local" time is the wall
 * clock of the zone counted as if it were UTC (local = utc + offset), so
 * that civil arithmetic on it is plain integer arithmetic.
 *
 * Beyond a file's last transition the footer's POSIX TZ rule
 * ("CET-1CEST,M3.5.0,M10.5.0/3") gives the offsets, so files built "slim"
 * (few transitions) are read correctly too.
 */
#ifndef CUSTOS_TZ_H
#define CUSTOS_TZ_H

#include <stddef.h>
#include <stdint.h>

#define TZ_NAME_MAX 64

struct tz;

/*
 * The zone NAME ("UTC", "Europe/Berlin"), read from TZDIR (the
 * environment's, else /usr/share/zoneinfo) once and kept for the life of
 * the process (a cache of at most a few hundred zones, one per name ever
 * asked for; tz_cache_free() releases it at exit). The pointer stays valid
 * until then and may be shared by every thread. NULL with a reason in err
 * for a name that is not a zone (path tricks such as ".." are refused
 * before any file is opened).
 */
const struct tz *tz_get(const char *name, char *err, size_t errlen);
void tz_cache_free(void);

/* The zone's name as asked for. */
const char *tz_name(const struct tz *z);
/* The UTC offset (seconds east of UTC) in force at instant t. */
int tz_offset(const struct tz *z, int64_t t);
/* t as local wall-clock seconds (t + tz_offset(z, t)). */
int64_t tz_to_local(const struct tz *z, int64_t t);
/*
 * The instant a local wall-clock time names. Where the wall clock repeats
 * (the autumn change) the first occurrence; where it does not exist (the
 * spring change: 02:30 in Europe/Berlin on that day) the first instant
 * after the gap (the change itself, 03:00 local). *kind (may be NULL)
 * gets 0 for a plain time, 1 for a repeated one, 2 for one in a gap.
 */
int64_t tz_from_local(const struct tz *z, int64_t local, int *kind);

/* The civil calendar on day numbers: days_from_civil(), civil_from_days() (timeutil.h). */
/* 0 = Sunday .. 6 = Saturday */
unsigned tz_weekday(int64_t days);

#endif
