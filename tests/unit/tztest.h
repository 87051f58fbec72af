/*
 * tztest.h - what the unit tests of time zones share (test_oncall.c,
 * test_schedule.c): instants written as RFC 3339 text, in whole seconds,
 * and zones looked up by name (a zone missing from the system fails the
 * test, saying why). Include after cmocka.h.
 */
#ifndef CUSTOS_TZTEST_H
#define CUSTOS_TZTEST_H

#include <stdint.h>

#include "timeutil.h"
#include "tz.h"

/* "2026-03-29T01:00:00Z" as seconds since the epoch */
static inline int64_t
at(const char *s)
{
	int64_t us;

	assert_int_equal(rfc3339_parse(s, &us), 0);
	return us / 1000000;
}

/* seconds t as RFC 3339 UTC text, in out */
static inline const char *
fmt(int64_t t, char out[RFC3339_LEN])
{
	rfc3339_format(t * 1000000, out);
	return out;
}

static inline const struct tz *
zone(const char *name)
{
	char err[256];
	const struct tz *z = tz_get(name, err, sizeof(err));

	if (z == NULL)
		fail_msg("%s: %s", name, err);
	return z;
}

#endif
