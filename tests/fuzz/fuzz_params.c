/* fuzz_params.c - check definitions from JSON (checks/check.c and every
 * type's parse_params, the patterns of checks/pattern.c): what the server
 * validates at POST /checks and the agent at download. */
#include "config.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "pattern.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t *j = json_loadb((const char *)data, size, JSON_DECODE_ANY, NULL);
	struct check_def d;
	char err[512], *s;
	const char *field = NULL;
	size_t i;

	if (j != NULL) {
		if (check_def_from_json(j, &d, err, sizeof(err), &field) == 0)
			check_def_free(&d);
		for (i = 0; check_types[i]; i++)
			(void)check_validate(check_types[i]->name, json_object_get(j, "params"),
			    err, sizeof(err), &field);
		json_decref(j);
	}
	/* the raw bytes as a pattern: the rules, then regcomp only when they pass */
	if (size <= PATTERN_MAX && (s = malloc(size + 1)) != NULL) {
		regex_t re;
		memcpy(s, data, size);
		s[size] = '\0';
		if (pattern_compile("pattern", s, &re, err, sizeof(err), &field) == 0)
			regfree(&re);
		free(s);
	}
	return 0;
}
