/*
 * samples.c - see samples.h.
 */
#include "config.h"
#include "samples.h"
#include "atomicfile.h"
#include "procfs.h"
#include "strnum.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct sample_store *
sample_store_new(void)
{
	return calloc(1, sizeof(struct sample_store));
}

void
sample_store_free(struct sample_store *st)
{
	free(st);
}

const struct sample *
sample_get(const struct sample_store *st, const char *key)
{
	size_t i;

	for (i = 0; st && i < st->n; i++)
		if (strcmp(st->s[i].key, key) == 0)
			return &st->s[i];
	return NULL;
}

void
sample_put(struct sample_store *st, const char *key, int64_t t_ms,
    const uint64_t *v, size_t n)
{
	struct sample *s = NULL;
	size_t i, oldest = 0;

	if (st == NULL || strlen(key) >= SAMPLE_KEY_MAX || n > SAMPLE_VALUES)
		return;
	for (i = 0; i < st->n; i++) {
		if (strcmp(st->s[i].key, key) == 0) {
			s = &st->s[i];
			break;
		}
		if (st->s[i].t_ms < st->s[oldest].t_ms)
			oldest = i;
	}
	if (s == NULL)
		s = st->n < SAMPLE_MAX ? &st->s[st->n++] : &st->s[oldest];
	memset(s, 0, sizeof(*s));
	memcpy(s->key, key, strlen(key) + 1);
	s->t_ms = t_ms;
	s->n = n;
	memcpy(s->v, v, n * sizeof(*v));
	st->dirty = 1;
}

int
sample_store_load(struct sample_store *st, const char *dir, char *err, size_t errlen)
{
	char path[512], line[1024];
	FILE *fp;
	int lineno = 0;

	if (procfs_path(path, sizeof(path), dir, "samples") < 0) {
		snprintf(err, errlen, "%s: path too long", dir);
		return -1;
	}
	if ((fp = fopen(path, "re")) == NULL) {
		if (errno == ENOENT)
			return 0;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	while (fgets(line, sizeof(line), fp)) {
		char *p = line, *key, *ts, *tok;
		uint64_t v[SAMPLE_VALUES];
		const char *es;
		long long t;
		size_t n = 0;

		lineno++;
		if ((key = next_token(&p)) == NULL || (ts = next_token(&p)) == NULL)
			continue;
		t = str_to_ll(ts, 0, INT64_MAX, &es);
		if (es)
			goto bad;
		while ((tok = next_token(&p)) != NULL) {
			if (n == SAMPLE_VALUES || parse_u64(tok, &v[n]) < 0)
				goto bad;
			n++;
		}
		sample_put(st, key, t, v, n);
		continue;
bad:
		/* a damaged file costs one fresh sample, not a failed run */
		fclose(fp);
		st->n = 0;
		snprintf(err, errlen, "%s:%d: damaged sample line, ignoring the file", path, lineno);
		return -1;
	}
	fclose(fp);
	st->dirty = 0;
	return 0;
}

int
sample_store_save(const struct sample_store *st, const char *dir, char *err, size_t errlen)
{
	char path[512], tmp[520];
	FILE *fp;
	size_t i, j;

	if (procfs_path(path, sizeof(path), dir, "samples") < 0 ||
	    procfs_path(tmp, sizeof(tmp), dir, "samples.tmp") < 0) {
		snprintf(err, errlen, "%s: path too long", dir);
		return -1;
	}
	if ((fp = fopen(tmp, "we")) == NULL) {
		snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
		return -1;
	}
	for (i = 0; i < st->n; i++) {
		fprintf(fp, "%s %lld", st->s[i].key, (long long)st->s[i].t_ms);
		for (j = 0; j < st->s[i].n; j++)
			fprintf(fp, " %llu", (unsigned long long)st->s[i].v[j]);
		fputc('\n', fp);
	}
	return atomicfile_commit(fp, tmp, path, 0, err, errlen);
}
