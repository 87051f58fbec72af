/*
 * params.c - see params.h.
 */
#include "config.h"
#include "params.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int
params_error(const char *key, char *err, size_t errlen, const char **field,
    const char *fmt, ...)
{
	char why[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	snprintf(err, errlen, "params.%s: %s", key, why);
	if (field)
		*field = key;
	return -1;
}

int
params_allowed(json_t *params, const char *const *keys, char *err,
    size_t errlen, const char **field)
{
	const char *k;
	json_t *v;
	size_t i;

	json_object_foreach(params, k, v) {
		for (i = 0; keys[i]; i++)
			if (strcmp(keys[i], k) == 0)
				break;
		if (keys[i] == NULL) {
			/* the field must outlive params: point at a static copy */
			snprintf(err, errlen, "params.%s: unknown parameter", k);
			if (field)
				*field = "params";
			return -1;
		}
	}
	return 0;
}

int
params_string(json_t *params, const char *key, int required, size_t maxlen,
    const char **out, char *err, size_t errlen, const char **field)
{
	json_t *v = json_object_get(params, key);
	const char *s;

	*out = NULL;
	if (v == NULL || json_is_null(v)) {
		if (required)
			return params_error(key, err, errlen, field, "required");
		return 0;
	}
	if (!json_is_string(v))
		return params_error(key, err, errlen, field, "must be a string");
	s = json_string_value(v);
	if (*s == '\0')
		return params_error(key, err, errlen, field, "must not be empty");
	if (strlen(s) != json_string_length(v))
		return params_error(key, err, errlen, field, "must not contain NUL");
	if (strlen(s) > maxlen)
		return params_error(key, err, errlen, field, "longer than %zu bytes", maxlen);
	*out = s;
	return 0;
}

int
params_int(json_t *params, const char *key, int required, long long min,
    long long max, long long def, long long *out, char *err, size_t errlen,
    const char **field)
{
	json_t *v = json_object_get(params, key);
	long long n;

	*out = def;
	if (v == NULL || json_is_null(v)) {
		if (required)
			return params_error(key, err, errlen, field, "required");
		return 0;
	}
	if (!json_is_integer(v))
		return params_error(key, err, errlen, field, "must be an integer");
	n = json_integer_value(v);
	if (n < min || n > max)
		return params_error(key, err, errlen, field,
		    "%lld is out of range (%lld to %lld)", n, min, max);
	*out = n;
	return 0;
}

int
params_bool(json_t *params, const char *key, int def, int *out, char *err,
    size_t errlen, const char **field)
{
	json_t *v = json_object_get(params, key);

	*out = def;
	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_boolean(v))
		return params_error(key, err, errlen, field, "must be true or false");
	*out = json_is_true(v);
	return 0;
}

int
params_none(json_t *params, void **out, char *err, size_t errlen,
    const char **field)
{
	static const char *const none[] = { NULL };

	*out = NULL;
	return params_allowed(params, none, err, errlen, field);
}

void
params_free_plain(void *p)
{
	free(p);
}
