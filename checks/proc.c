/*
 * proc.c - see proc.h. The table is a plain array in readdir() order: a few
 * hundred entries, searched linearly by each process check, which costs far
 * less than reading the files did.
 */
#include "config.h"
#include "proc.h"
#include "procfs.h"
#include "log.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PROC_STAT_MAX 1024   /* the fields we need come first */

int
proc_parse_stat(const char *buf, struct proc_entry *e)
{
	const char *open, *close, *p;
	size_t len;
	long long pid = 0;

	/* "pid (comm) S ..." */
	for (p = buf; *p >= '0' && *p <= '9'; p++) {
		pid = pid * 10 + (*p - '0');
		if (pid > 0x7fffffff)
			return -1;
	}
	if (p == buf || *p != ' ' || p[1] != '(')
		return -1;
	open = p + 1;
	if ((close = strrchr(open, ')')) == NULL)
		return -1;
	len = (size_t)(close - open - 1);
	if (len >= sizeof(e->comm))
		len = sizeof(e->comm) - 1;
	memcpy(e->comm, open + 1, len);
	e->comm[len] = '\0';
	if (close[1] != ' ' || close[2] == '\0' || (close[3] != ' ' && close[3] != '\0' && close[3] != '\n'))
		return -1;
	e->state = close[2];
	e->pid = (pid_t)pid;
	return 0;
}

static int
read_uid(const char *root, const char *pid, uid_t *uid)
{
	char rel[64], buf[2048], *line, *next;
	size_t len;

	snprintf(rel, sizeof(rel), "%s/status", pid);
	if (procfs_read(root, rel, buf, sizeof(buf), &len) < 0)
		return -1;
	for (line = buf; line && *line; line = next) {
		if ((next = strchr(line, '\n')) != NULL)
			*next++ = '\0';
		if (strncmp(line, "Uid:", 4) == 0) {
			char *p = line + 4, *real, *eff;
			uint64_t v;

			real = next_token(&p);
			eff = next_token(&p);
			if (real == NULL || eff == NULL || parse_u64(eff, &v) < 0 || v > 0xffffffffu)
				return -1;
			*uid = (uid_t)v;
			return 0;
		}
	}
	return -1;
}

static char *
read_cmdline(const char *root, const char *pid)
{
	char rel[64], *buf;
	size_t len, i;

	if ((buf = malloc(PROC_CMDLINE_MAX)) == NULL)
		return NULL;
	snprintf(rel, sizeof(rel), "%s/cmdline", pid);
	if (procfs_read(root, rel, buf, PROC_CMDLINE_MAX, &len) < 0) {
		free(buf);
		return NULL;
	}
	while (len > 0 && buf[len - 1] == '\0')
		len--;
	for (i = 0; i < len; i++)
		if (buf[i] == '\0')
			buf[i] = ' ';
	buf[len] = '\0';
	/* shrink to fit: the table of a busy host holds hundreds of these */
	{
		char *s = realloc(buf, len + 1);
		return s ? s : buf;
	}
}

void
proc_table_free(struct proc_table *t)
{
	size_t i;

	if (t == NULL)
		return;
	for (i = 0; i < t->n; i++)
		free(t->v[i].cmdline);
	free(t->v);
	free(t);
}

int
proc_scan(const char *root, int want_cmdline, int want_uid, pid_t exclude,
    struct proc_table **out, char *err, size_t errlen)
{
	struct proc_table *t;
	struct dirent *de;
	DIR *d;

	*out = NULL;
	if ((d = opendir(root)) == NULL) {
		snprintf(err, errlen, "%s: %s", root, strerror(errno));
		return -1;
	}
	if ((t = calloc(1, sizeof(*t))) == NULL) {
		closedir(d);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	t->have_cmdline = want_cmdline;
	t->have_uid = want_uid;
	while ((de = readdir(d)) != NULL) {
		char rel[64], buf[PROC_STAT_MAX];
		struct proc_entry e;
		const char *p;
		size_t len;

		for (p = de->d_name; *p >= '0' && *p <= '9'; p++)
			;
		if (p == de->d_name || *p != '\0' || strlen(de->d_name) > 10)
			continue;
		memset(&e, 0, sizeof(e));
		snprintf(rel, sizeof(rel), "%s/stat", de->d_name);
		if (procfs_read(root, rel, buf, sizeof(buf), &len) < 0) {
			/* ENOENT/ESRCH: exited since readdir(); anything else: skip too */
			t->vanished++;
			continue;
		}
		if (len == 0 || proc_parse_stat(buf, &e) < 0) {
			log_debug("%s/%s: unparsable, skipped", root, rel);
			continue;
		}
		if (exclude && e.pid == exclude)
			continue;
		if (want_uid && read_uid(root, de->d_name, &e.uid) < 0) {
			t->vanished++;
			continue;
		}
		if (want_cmdline && (e.cmdline = read_cmdline(root, de->d_name)) == NULL) {
			t->vanished++;
			continue;
		}
		if (t->n == t->cap) {
			size_t ncap = t->cap ? t->cap * 2 : 256;
			struct proc_entry *v = realloc(t->v, ncap * sizeof(*v));
			if (v == NULL) {
				free(e.cmdline);
				closedir(d);
				proc_table_free(t);
				snprintf(err, errlen, "out of memory");
				return -1;
			}
			t->v = v;
			t->cap = ncap;
		}
		t->v[t->n++] = e;
	}
	closedir(d);
	*out = t;
	return 0;
}

const struct proc_entry *
proc_find(const struct proc_table *t, pid_t pid)
{
	size_t i;

	for (i = 0; i < t->n; i++)
		if (t->v[i].pid == pid)
			return &t->v[i];
	return NULL;
}
