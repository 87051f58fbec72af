/* fuzz_schedule.c - heartbeat schedules (lib/schedule.c) and their next
 * run in a zone with time changes (lib/tz.c). */
#include "config.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "schedule.h"
#include "tz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const int64_t at[] = { 0, 1774746000, 1792890000, 4102444800LL };
	char *s = malloc(size + 1), err[256];
	const struct tz *z = tz_get("Europe/Berlin", err, sizeof(err));
	struct schedule sc;
	size_t i;

	if (s == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	if (schedule_parse(s, &sc, err, sizeof(err)) == 0) {
		for (i = 0; i < sizeof(at) / sizeof(at[0]); i++) {
			/* the next run is strictly later, and a parsed cron fires */
			int64_t n = schedule_next(&sc, z, at[i]);
			if (n <= at[i] && !(n < 0 && at[i] > 0))
				abort();
		}
	} else if (err[0] == '\0') {
		abort();   /* a refusal always says why */
	}
	free(s);
	return 0;
}
