/* fuzz_rfc3339.c - RFC 3339 timestamps (lib/timeutil.c): what parses
 * formats back to something that parses to the same instant. */
#include "config.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "timeutil.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1), out[RFC3339_LEN];
	int64_t us, back;

	if (s == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	if (rfc3339_parse(s, &us) == 0) {
		rfc3339_format(us, out);
		if (rfc3339_parse(out, &back) != 0 || back != us)
			abort();
	}
	free(s);
	return 0;
}
