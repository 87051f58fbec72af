/* fuzz_range.c - Nagios threshold ranges (lib/range.c). */
#include "config.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "range.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	struct nrange r;

	if (s == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	if (range_parse(s, &r) == 0) {
		/* a parsed range is ordered and evaluates anything */
		if (!r.start_inf && !r.end_inf && r.start > r.end)
			abort();
		(void)range_alert(&r, 0);
		(void)range_alert(&r, r.start);
		(void)range_alert(&r, -1e300);
		(void)range_alert(&r, 1e300);
	}
	free(s);
	return 0;
}
