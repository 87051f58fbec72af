/*
 * params.h - checked access to a check's JSON params, shared by every type's
 * parse_params(). Each helper returns 0, or -1 with a message in err and
 * *field set to the key at fault, so the server can answer
 * {"error": ..., "field": ...}. Strings are borrowed from the JSON object.
 */
#ifndef CUSTOS_PARAMS_H
#define CUSTOS_PARAMS_H

#include <stddef.h>
#include <jansson.h>

/* Refuses keys not in the NULL-terminated list (catches typos). */
int params_allowed(json_t *params, const char *const *keys, char *err,
    size_t errlen, const char **field);
/* *out is NULL when the key is absent (or null) and not required. */
int params_string(json_t *params, const char *key, int required, size_t maxlen,
    const char **out, char *err, size_t errlen, const char **field);
/* An integer in [min, max]; def when absent and not required. */
int params_int(json_t *params, const char *key, int required, long long min,
    long long max, long long def, long long *out, char *err, size_t errlen,
    const char **field);
int params_bool(json_t *params, const char *key, int def, int *out, char *err,
    size_t errlen, const char **field);
/* Fails with "KEY: reason". Always returns -1. */
int params_error(const char *key, char *err, size_t errlen, const char **field,
    const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* parse_params/free_params of a type that takes no params. */
int params_none(json_t *params, void **out, char *err, size_t errlen,
    const char **field);
void params_free_plain(void *p);   /* free(p): params without inner heap */

#endif
