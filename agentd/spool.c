/*
 * spool.c - results the server has not acknowledged yet, one compact JSON
 * object a line in state_dir/spool.jsonl, oldest first. The file is always
 * replaced whole (temp file + fsync + rename), so a crash leaves either
 * the old spool or the new one. Each result keeps its result_id, so a
 * resend the server already stored counts as a duplicate, not a second row.
 */
#include "config.h"
#include "agentd.h"
#include "atomicfile.h"
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SPOOL_LINE_MAX (64 * 1024)   /* a longer line is damaged: dropped */

int
lines_push(struct lines *l, char *s)
{
	if (l->n == l->cap) {
		size_t ncap = l->cap ? l->cap * 2 : 16;
		char **v = realloc(l->v, ncap * sizeof(*v));
		if (v == NULL) {
			free(s);
			return -1;
		}
		l->v = v;
		l->cap = ncap;
	}
	l->v[l->n++] = s;
	return 0;
}

void
lines_free(struct lines *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	memset(l, 0, sizeof(*l));
}

static int
id_listed(json_t *ids, json_int_t id)
{
	size_t i;
	json_t *v;

	json_array_foreach(ids, i, v)
		if (json_is_integer(v) && json_integer_value(v) == id)
			return 1;
	return 0;
}

size_t
lines_drop_checks(struct lines *l, size_t from, size_t to, json_t *ids)
{
	size_t i, o, dropped = 0;

	if (!json_is_array(ids) || json_array_size(ids) == 0)
		return 0;
	if (to > l->n)
		to = l->n;
	for (i = o = from; i < l->n; i++) {
		json_t *r, *cid;
		int drop = 0;

		if (i < to && (r = json_loads(l->v[i], 0, NULL)) != NULL) {
			cid = json_object_get(r, "check_id");
			drop = json_is_integer(cid) && id_listed(ids, json_integer_value(cid));
			json_decref(r);
		}
		if (drop) {
			free(l->v[i]);
			dropped++;
		} else {
			l->v[o++] = l->v[i];
		}
	}
	l->n = o;
	return dropped;
}

static void
spool_path(const char *dir, const char *name, char *out, size_t size)
{
	snprintf(out, size, "%s/%s", dir, name);
}

int
spool_load(const char *dir, struct lines *out, char *err, size_t errlen)
{
	char path[512], *line = NULL;
	size_t cap = 0, bad = 0;
	ssize_t n;
	FILE *fp;

	spool_path(dir, "spool.jsonl", path, sizeof(path));
	if ((fp = fopen(path, "re")) == NULL) {
		if (errno == ENOENT)
			return 0;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	while ((n = getline(&line, &cap, fp)) > 0) {
		json_t *j = NULL;
		char *s;

		while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
			line[--n] = '\0';
		if (n == 0)
			continue;
		/* only well-formed objects go back to the server */
		if (n > SPOOL_LINE_MAX || (j = json_loads(line, 0, NULL)) == NULL || !json_is_object(j)) {
			json_decref(j);
			bad++;
			continue;
		}
		json_decref(j);
		if ((s = strdup(line)) == NULL || lines_push(out, s) < 0) {
			free(line);
			fclose(fp);
			snprintf(err, errlen, "out of memory");
			return -1;
		}
	}
	free(line);
	fclose(fp);
	if (bad)
		log_warn("%s: %zu damaged line%s dropped", path, bad, bad == 1 ? "" : "s");
	return 0;
}

int
spool_store(const char *dir, const struct lines *l, size_t from, long long max,
    char *err, size_t errlen)
{
	char path[512], tmp[520];
	size_t i, n = from < l->n ? l->n - from : 0;
	FILE *fp;
	int fd;

	spool_path(dir, "spool.jsonl", path, sizeof(path));
	if (n == 0) {
		if (unlink(path) < 0 && errno != ENOENT) {
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
			return -1;
		}
		return 0;
	}
	if ((long long)n > max) {
		size_t drop = n - (size_t)max;
		log_warn("spool full (spool_max = %lld): dropping the %zu oldest result%s",
		    max, drop, drop == 1 ? "" : "s");
		from += drop;
		if (max == 0)
			return spool_store(dir, l, l->n, max, err, errlen);
	}
	spool_path(dir, "spool.jsonl.tmp", tmp, sizeof(tmp));
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)) < 0 ||
	    (fp = fdopen(fd, "w")) == NULL) {
		snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	for (i = from; i < l->n; i++) {
		fputs(l->v[i], fp);
		fputc('\n', fp);
	}
	return atomicfile_commit(fp, tmp, path, 1, err, errlen);
}
