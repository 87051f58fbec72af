/*
 * conf.h - the "key = value" configuration file reader shared by both daemons.
 *
 * Each daemon describes its keys in a static table; conf_load() fills a
 * struct through the offsets in that table. Syntax: one "key = value" per
 * line, '#' starts a comment (a '#' inside a value is kept only when the value
 * is quoted with "..."), blank lines are ignored, surrounding whitespace is
 * trimmed. Unknown keys, duplicate keys and bad values fail the whole load
 * with "FILE:LINE: reason" in err; on failure the target is left unchanged,
 * so SIGHUP with a broken file keeps the running configuration.
 */
#ifndef CUSTOS_CONF_H
#define CUSTOS_CONF_H

#include <stddef.h>
#include <stdio.h>

enum conf_type {
	CONF_STR,      /* char *, heap-owned by the target struct */
	CONF_INT,      /* long long within [min, max] */
	CONF_BOOL,     /* int: true/false/yes/no/on/off/1/0 */
	CONF_ENUM,     /* int: index into choices */
};

struct conf_key {
	const char *name;
	enum conf_type type;
	size_t offset;
	long long min, max;            /* CONF_INT */
	const char *const *choices;    /* CONF_ENUM, NULL-terminated */
};

/*
 * Reads path into target (a struct of size target_size whose current
 * contents are the defaults; string fields must be NULL or heap strings).
 * Returns 0, or -1 with err filled. On success, replaced strings are freed.
 */
int conf_load(const char *path, const struct conf_key *keys, void *target,
    size_t target_size, char *err, size_t errlen);
/*
 * The one reader of the format: calls fn once per "key = value" line of
 * fp (path names it in messages), with comments, blanks and quotes already
 * taken off (value is "" when empty). fn returns NULL to go on, or a
 * reason (in why, or static) that ends the scan. Returns 0, or -1 with
 * "FILE:LINE: reason" in err (a line that is not "key = value", one
 * longer than 4096 bytes, an unterminated quote, fn's reason) or a read
 * error. The line buffer is wiped before return: a value may be a secret.
 * conf_load() is built on it, and so is confperm.h's look at the secrets.
 */
typedef const char *(*conf_line_fn)(void *ud, const char *key, const char *value,
    int lineno, char *why, size_t whylen);
int conf_scan(FILE *fp, const char *path, conf_line_fn fn, void *ud, char *err,
    size_t errlen);

/* Frees every CONF_STR field of target. */
void conf_free(const struct conf_key *keys, void *target);
/* Deep-copies target's strings into dst (same struct); 0 or -1. */
int conf_copy(const struct conf_key *keys, void *dst, const void *src, size_t size);

#endif
