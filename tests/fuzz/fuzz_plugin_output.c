/* fuzz_plugin_output.c - a plugin's stdout (checks/plugin.c), then the
 * UTF-8 repair every result goes through (lib/utf8.c). */
#include "config.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "plugin.h"
#include "utf8.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct check_out o;
	char *s, *fixed;

	if (size == 0 || size > 8192 + 1)
		return 0;
	if ((s = malloc(size)) == NULL)
		return 0;
	memcpy(s, data + 1, size - 1);
	s[size - 1] = '\0';
	memset(&o, 0, sizeof(o));
	buf_init(&o.detail, CHECK_DETAIL_MAX);
	buf_init(&o.perf, CHECK_PERF_MAX);
	plugin_parse_output(s, strlen(s), data[0] & 1, &o);
	if (o.detail.len > CHECK_DETAIL_MAX)
		abort();
	if (o.detail.ptr && (fixed = utf8_repair(o.detail.ptr, o.detail.len)) != NULL) {
		if (!utf8_valid(fixed, strlen(fixed)))
			abort();
		free(fixed);
	}
	if ((fixed = utf8_repair((const char *)data, size)) != NULL) {
		if (!utf8_valid(fixed, strlen(fixed)))
			abort();
		free(fixed);
	}
	buf_free(&o.detail);
	buf_free(&o.perf);
	free(s);
	return 0;
}
