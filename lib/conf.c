/*
 * conf.c - see conf.h. The load works on a deep copy of the target, and only
 * swaps it in when the whole file was good: all-or-nothing like the API.
 */
#include "config.h"
#include "conf.h"
#include "strnum.h"
#include "token.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define CONF_MAX_LINE 4096  /* longer lines are an error, not truncated */
#define CONF_MAX_KEYS 128   /* duplicate detection table size */

static char **
str_field(void *target, const struct conf_key *k)
{
	return (char **)(void *)((char *)target + k->offset);
}

void
conf_free(const struct conf_key *keys, void *target)
{
	const struct conf_key *k;

	for (k = keys; k->name; k++)
		if (k->type == CONF_STR) {
			free(*str_field(target, k));
			*str_field(target, k) = NULL;
		}
}

int
conf_copy(const struct conf_key *keys, void *dst, const void *src, size_t size)
{
	const struct conf_key *k;

	memcpy(dst, src, size);
	for (k = keys; k->name; k++) {
		char **f;

		if (k->type != CONF_STR)
			continue;
		f = str_field(dst, k);
		if (*f && (*f = strdup(*f)) == NULL) {
			/* undo the ones already copied */
			const struct conf_key *u;
			for (u = keys; u < k; u++)
				if (u->type == CONF_STR)
					free(*str_field(dst, u));
			memset(dst, 0, size);
			return -1;
		}
	}
	return 0;
}

static int
parse_bool(const char *v, int *out)
{
	static const char *const yes[] = { "true", "yes", "on", "1", NULL };
	static const char *const no[] = { "false", "no", "off", "0", NULL };
	int i;

	for (i = 0; yes[i]; i++)
		if (strcasecmp(v, yes[i]) == 0) { *out = 1; return 0; }
	for (i = 0; no[i]; i++)
		if (strcasecmp(v, no[i]) == 0) { *out = 0; return 0; }
	return -1;
}

/* Sets one key; returns NULL or a static reason. */
static const char *
conf_set(const struct conf_key *k, void *target, const char *v, char *why, size_t whylen)
{
	void *field = (char *)target + k->offset;
	const char *es;
	long long n;
	int b, i;

	switch (k->type) {
	case CONF_STR: {
		char *d = strdup(v);
		if (d == NULL)
			return "out of memory";
		*(char **)field = d;   /* old value is freed by the caller's copy logic */
		return NULL;
	}
	case CONF_INT:
		n = str_to_ll(v, k->min, k->max, &es);
		if (es) {
			snprintf(why, whylen, "%s: \"%s\" is %s (expected an integer from %lld to %lld)",
			    k->name, v, es, k->min, k->max);
			return why;
		}
		*(long long *)field = n;
		return NULL;
	case CONF_BOOL:
		if (parse_bool(v, &b) < 0) {
			snprintf(why, whylen, "%s: \"%s\" is not a boolean (true/false)", k->name, v);
			return why;
		}
		*(int *)field = b;
		return NULL;
	case CONF_ENUM:
		for (i = 0; k->choices[i]; i++)
			if (strcasecmp(v, k->choices[i]) == 0) {
				*(int *)field = i;
				return NULL;
			}
		{
			size_t off;
			off = (size_t)snprintf(why, whylen, "%s: \"%s\" is not one of", k->name, v);
			for (i = 0; k->choices[i] && off < whylen; i++)
				off += (size_t)snprintf(why + off, whylen - off, " %s", k->choices[i]);
		}
		return why;
	}
	return "internal error";
}

int
conf_scan(FILE *fp, const char *path, conf_line_fn fn, void *ud, char *err, size_t errlen)
{
	char line[CONF_MAX_LINE + 2];
	char why[512];
	int lineno = 0, rc = -1;

	while (fgets(line, sizeof(line), fp)) {
		char *p, *eq, *key, *val;
		const char *reason;
		size_t len = strlen(line);

		lineno++;
		if (len == sizeof(line) - 1 && line[len - 1] != '\n') {
			snprintf(err, errlen, "%s:%d: line too long (max %d bytes)",
			    path, lineno, CONF_MAX_LINE);
			goto done;
		}
		p = str_trim(line);
		if (*p == '\0' || *p == '#')
			continue;
		if ((eq = strchr(p, '=')) == NULL) {
			snprintf(err, errlen, "%s:%d: expected \"key = value\"", path, lineno);
			goto done;
		}
		*eq = '\0';
		key = str_trim(p);
		val = str_trim(eq + 1);
		if (*val == '"') {
			char *close = strrchr(val + 1, '"');
			char *rest;
			if (close == NULL) {
				snprintf(err, errlen, "%s:%d: %s: unterminated quote", path, lineno, key);
				goto done;
			}
			rest = str_trim(close + 1);
			if (*rest != '\0' && *rest != '#') {
				snprintf(err, errlen, "%s:%d: %s: text after closing quote", path, lineno, key);
				goto done;
			}
			*close = '\0';
			val++;
		} else {
			char *hash = strchr(val, '#');
			if (hash) {
				*hash = '\0';
				val = str_trim(val);
			}
		}
		if ((reason = fn(ud, key, val, lineno, why, sizeof(why))) != NULL) {
			snprintf(err, errlen, "%s:%d: %s", path, lineno, reason);
			goto done;
		}
	}
	if (ferror(fp)) {
		snprintf(err, errlen, "%s: read error", path);
		goto done;
	}
	rc = 0;
done:
	secure_zero(line, sizeof(line));   /* a value may be a password */
	return rc;
}

/* conf_load()'s state while it scans. */
struct load {
	const struct conf_key *keys;
	void *work;                 /* the copy being filled */
	int seen[CONF_MAX_KEYS];    /* line of each key, 0: not yet */
};

static const char *
load_line(void *ud, const char *key, const char *val, int lineno, char *why, size_t whylen)
{
	struct load *l = ud;
	const struct conf_key *k;
	size_t i;

	for (k = l->keys, i = 0; k->name; k++, i++)
		if (strcmp(k->name, key) == 0)
			break;
	if (k->name == NULL) {
		snprintf(why, whylen, "unknown key \"%s\"", key);
		return why;
	}
	if (l->seen[i]) {
		snprintf(why, whylen, "%s given twice (first on line %d)", key, l->seen[i]);
		return why;
	}
	l->seen[i] = lineno;
	if (k->type == CONF_STR) {
		free(*str_field(l->work, k));
		*str_field(l->work, k) = NULL;
	}
	return conf_set(k, l->work, val, why, whylen);
}

int
conf_load(const char *path, const struct conf_key *keys, void *target,
    size_t target_size, char *err, size_t errlen)
{
	struct load l;
	FILE *fp;
	int rc = -1;
	size_t nkeys = 0;

	memset(&l, 0, sizeof(l));
	l.keys = keys;
	while (keys[nkeys].name)
		nkeys++;
	if (nkeys > CONF_MAX_KEYS) {
		snprintf(err, errlen, "%s: too many keys in table", path);
		return -1;
	}
	if ((fp = fopen(path, "r")) == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if ((l.work = malloc(target_size)) == NULL ||
	    conf_copy(keys, l.work, target, target_size) < 0) {
		free(l.work);
		l.work = NULL;
		snprintf(err, errlen, "%s: out of memory", path);
		goto done;
	}
	if (conf_scan(fp, path, load_line, &l, err, errlen) < 0)
		goto done;
	/* success: swap the work copy in */
	conf_free(keys, target);
	memcpy(target, l.work, target_size);
	free(l.work);
	l.work = NULL;
	rc = 0;
done:
	if (l.work) {
		conf_free(keys, l.work);
		free(l.work);
	}
	fclose(fp);
	return rc;
}
