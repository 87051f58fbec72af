/* fuzz_perfdata.c - the perfdata parser (lib/perfdata.c). */
#include "config.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "perfdata.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct perf_item items[8];
	char *s = malloc(size + 1), err[256];
	size_t n = 0, i;

	if (s == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	if (perfdata_parse(s, items, 8, &n, err, sizeof(err)) == 0) {
		for (i = 0; i < n && i < 8; i++)
			if (items[i].label[0] == '\0' || strlen(items[i].uom) >= PERF_UOM_MAX)
				abort();
	} else if (err[0] == '\0') {
		abort();   /* an error always says why */
	}
	(void)perfdata_parse(s, NULL, 0, &n, err, sizeof(err));
	free(s);
	return 0;
}
