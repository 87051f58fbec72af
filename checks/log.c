/*
 * log.c - the log check: counts the lines added to a file since the last run
 * that match a POSIX ERE; the value is that count and the output shows the
 * last match. The read position (device, inode, offset) is kept in
 * state_dir/log-<hash of the path>.state. A new inode means the file was
 * rotated: if PATH.1 (logrotate's name for the previous file) is the file
 * last read, the lines written to it since the last run are read first;
 * then the new file is read from its start. A file shorter than the offset
 * was truncated: read from the start. The first run starts at the end of
 * the file, so an old log does not raise a storm. A last line without its
 * newline is left for the next run, unless it is longer than LOG_LINE_MAX.
 *
 * What may be read is the host's decision (hostfile.h): a regular file
 * under the agent's log_dirs, path resolved first, opened non-blocking. A
 * run reads at most LOG_READ_MAX bytes and stops when most of its time
 * limit is used; the position saved is where it stopped, so the rest is
 * read by the next run and no line is skipped.
 */
#include "config.h"
#include "atomicfile.h"
#include "check.h"
#include "hostfile.h"
#include "params.h"
#include "pattern.h"
#include "procfs.h"
#include "strnum.h"
#include "timeutil.h"
#include "token.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define LOG_LINE_MAX 4096     /* longer lines are matched on their head */
#define LOG_CHUNK 16384       /* read size */
#define LOG_SHOW_MAX 200      /* bytes of the last match in the output */
#define LOG_READ_MAX (64ULL * 1024 * 1024)   /* bytes read per run, both files */

struct log_params {
	char *path;
	char *pattern;
	regex_t re;
};

static void
log_free(void *vp)
{
	struct log_params *p = vp;

	if (p) {
		free(p->path);
		free(p->pattern);
		regfree(&p->re);
		free(p);
	}
}

static int
log_parse(json_t *params, void **out, char *err, size_t errlen, const char **field)
{
	static const char *const keys[] = { "path", "pattern", NULL };
	struct log_params *p;
	const char *path, *pattern;

	*out = NULL;
	if (params_allowed(params, keys, err, errlen, field) < 0 ||
	    params_string(params, "path", 1, 1024, &path, err, errlen, field) < 0 ||
	    params_string(params, "pattern", 1, PATTERN_MAX, &pattern, err, errlen, field) < 0)
		return -1;
	if (path[0] != '/')
		return params_error("path", err, errlen, field, "must be an absolute path");
	if ((p = calloc(1, sizeof(*p))) == NULL)
		return params_error("path", err, errlen, field, "out of memory");
	if (pattern_compile("pattern", pattern, &p->re, err, errlen, field) < 0) {
		free(p);
		return -1;
	}
	if ((p->path = strdup(path)) == NULL || (p->pattern = strdup(pattern)) == NULL) {
		log_free(p);
		return params_error("path", err, errlen, field, "out of memory");
	}
	*out = p;
	return 0;
}

struct log_pos {
	unsigned long long dev, ino, off;
};

static void
state_path(const char *dir, const char *path, char *out, size_t size)
{
	uint8_t h[SHA256_LEN];
	char hex[17];

	sha256(path, strlen(path), h);
	hex_encode(h, 8, hex);
	snprintf(out, size, "%s/log-%s.state", dir, hex);
}

/* 1 loaded, 0 none, -1 error */
static int
load_pos(const char *file, struct log_pos *pos)
{
	char buf[128], *p = buf, *a, *b, *c;
	size_t len;
	uint64_t v[3];

	if (procfs_read(NULL, file, buf, sizeof(buf), &len) < 0)
		return errno == ENOENT ? 0 : -1;
	a = next_token(&p);
	b = next_token(&p);
	c = next_token(&p);
	if (parse_u64(a, &v[0]) < 0 || parse_u64(b, &v[1]) < 0 || parse_u64(c, &v[2]) < 0)
		return 0;   /* damaged: start afresh at the end */
	pos->dev = v[0];
	pos->ino = v[1];
	pos->off = v[2];
	return 1;
}

static int
save_pos(const char *file, const struct log_pos *pos)
{
	char line[96], err[600];
	int n = snprintf(line, sizeof(line), "%llu %llu %llu\n", pos->dev, pos->ino, pos->off);

	return atomicfile_write(file, line, (size_t)n, 0, err, sizeof(err));
}

/*
 * Reads fd from its current position to its end, counting the complete
 * lines that match (the last one's head in last). *consumed advances past
 * every complete line; a last line without its newline is left unread
 * unless it is longer than LOG_LINE_MAX, or finish is set (a file no longer
 * written). -1 with errno on a read error.
 */
struct log_budget {
	unsigned long long left;   /* bytes this run may still read */
	int64_t stop_us;           /* monotonic time to stop reading at */
	int stopped;               /* 1: the cap, 2: the time ran out */
};

static int
log_scan_to_end(int fd, const struct log_params *p, unsigned long long *consumed,
    size_t *count, char *last, char *chunk, char *line, int finish,
    struct log_budget *bud)
{
	size_t linelen = 0;
	ssize_t r;

	for (;;) {
		ssize_t i;

		/* when stopped, the rest (and a partial line) is read next run */
		if (bud->left == 0) {
			bud->stopped = 1;
			break;
		}
		if (mono_now_us() >= bud->stop_us) {
			bud->stopped = 2;
			break;
		}
		r = read(fd, chunk, bud->left < LOG_CHUNK ? (size_t)bud->left : LOG_CHUNK);
		if (r == 0)
			break;
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		bud->left -= (unsigned long long)r;
		for (i = 0; i < r; i++) {
			if (chunk[i] != '\n') {
				if (linelen < LOG_LINE_MAX)
					line[linelen] = chunk[i];
				linelen++;
				continue;
			}
			line[linelen < LOG_LINE_MAX ? linelen : LOG_LINE_MAX] = '\0';
			*consumed += linelen + 1;
			if (regexec(&p->re, line, 0, NULL, 0) == 0) {
				size_t n = strlen(line);
				(*count)++;
				if (n > LOG_SHOW_MAX)
					n = LOG_SHOW_MAX;
				memcpy(last, line, n);
				last[n] = '\0';
			}
			linelen = 0;
		}
	}
	if (linelen > LOG_LINE_MAX || (finish && !bud->stopped && linelen > 0)) {
		/* an overlong, or final, unterminated line: count it now rather than never */
		size_t n = linelen < LOG_LINE_MAX ? linelen : LOG_LINE_MAX;
		line[n] = '\0';
		*consumed += linelen;
		if (regexec(&p->re, line, 0, NULL, 0) == 0) {
			(*count)++;
			if (n > LOG_SHOW_MAX)
				n = LOG_SHOW_MAX;
			memcpy(last, line, n);
			last[n] = '\0';
		}
	}
	return 0;
}

/*
 * After a rotation: when PATH.1 is the file read last time (same device and
 * inode), counts the matching lines written to it since then. Errors only
 * mean those lines cannot be read: 0.
 */
static size_t
rotated_rest(const struct log_params *p, const struct check_env *env,
    const struct log_pos *old, char *chunk, char *line, char *last,
    struct log_budget *bud)
{
	char prev[PATH_MAX], real[PATH_MAX], why[PATH_MAX + 128];
	struct stat st;
	unsigned long long consumed = old->off;
	size_t count = 0;
	int fd;

	if ((size_t)snprintf(prev, sizeof(prev), "%s.1", p->path) >= sizeof(prev))
		return 0;
	if ((fd = hostfile_open(prev, env->log_dirs, real, sizeof(real), &st, why,
	    sizeof(why))) < 0)
		return 0;
	if ((unsigned long long)st.st_dev == old->dev &&
	    (unsigned long long)st.st_ino == old->ino &&
	    (unsigned long long)st.st_size >= old->off &&
	    lseek(fd, (off_t)old->off, SEEK_SET) >= 0 &&
	    log_scan_to_end(fd, p, &consumed, &count, last, chunk, line, 1, bud) < 0)
		count = 0;
	close(fd);
	return count;
}

static void
log_run(const void *vp, struct check_env *env, struct check_out *o)
{
	const struct log_params *p = vp;
	char sfile[512], last[LOG_SHOW_MAX + 1] = "";
	char real[PATH_MAX], why[PATH_MAX + 256];
	char *chunk = NULL, *line = NULL;
	struct log_pos pos = { 0, 0, 0 }, old = { 0, 0, 0 };
	struct log_budget bud;
	struct stat st;
	size_t count = 0;
	unsigned long long consumed;
	int fd = -1, have, first = 0, rotated = 0;

	o->label = "LOG";
	if (env->state_dir == NULL) {
		check_fail(o, CHECK_UNKNOWN, "no state_dir to keep the read position in");
		return;
	}
	/* stop reading with a fifth of the time limit left, to report in time */
	bud.left = LOG_READ_MAX;
	bud.stop_us = env->deadline_us ? env->deadline_us -
	    (env->deadline_us - mono_now_us()) / 5 : INT64_MAX;
	bud.stopped = 0;
	state_path(env->state_dir, p->path, sfile, sizeof(sfile));
	if ((fd = hostfile_open(p->path, env->log_dirs, real, sizeof(real), &st, why,
	    sizeof(why))) < 0) {
		check_fail(o, CHECK_UNKNOWN, "%s", why);
		goto done;
	}
	if ((have = load_pos(sfile, &pos)) < 0) {
		check_fail(o, CHECK_UNKNOWN, "%s: %s", sfile, strerror(errno));
		goto done;
	}
	if (have == 0) {
		first = 1;
		pos.off = (unsigned long long)st.st_size;
	} else if (pos.dev != (unsigned long long)st.st_dev || pos.ino != (unsigned long long)st.st_ino) {
		rotated = 1;
		old = pos;
		pos.off = 0;
	} else if ((unsigned long long)st.st_size < pos.off) {
		rotated = 2;   /* truncated */
		pos.off = 0;
	}
	pos.dev = (unsigned long long)st.st_dev;
	pos.ino = (unsigned long long)st.st_ino;
	if (lseek(fd, (off_t)pos.off, SEEK_SET) < 0) {
		check_fail(o, CHECK_UNKNOWN, "%s: %s", p->path, strerror(errno));
		goto done;
	}
	if ((chunk = malloc(LOG_CHUNK)) == NULL || (line = malloc(LOG_LINE_MAX + 1)) == NULL) {
		check_fail(o, CHECK_UNKNOWN, "out of memory");
		goto done;
	}
	if (rotated == 1)
		count += rotated_rest(p, env, &old, chunk, line, last, &bud);
	consumed = pos.off;
	if (log_scan_to_end(fd, p, &consumed, &count, last, chunk, line, 0, &bud) < 0) {
		check_fail(o, CHECK_UNKNOWN, "%s: %s", p->path, strerror(errno));
		goto done;
	}
	pos.off = consumed;
	if (save_pos(sfile, &pos) < 0) {
		check_fail(o, CHECK_UNKNOWN, "%s: cannot save the read position: %s", sfile, strerror(errno));
		goto done;
	}
	check_set_value(o, (double)count, 0);
	check_detail(o, "%zu line%s matching '%s' in %s", count, count == 1 ? "" : "s",
	    p->pattern, p->path);
	if (first)
		check_detail(o, " (first run: watching from byte %llu)", pos.off);
	else if (rotated == 1)
		check_detail(o, " (rotated)");
	else if (rotated == 2)
		check_detail(o, " (truncated)");
	if (bud.stopped)
		check_detail(o, " (stopped after %s, at byte %llu of %llu: the rest next run)",
		    bud.stopped == 1 ? "the read cap of 64 MiB" : "most of the time limit",
		    pos.off, (unsigned long long)st.st_size);
	if (count)
		check_detail(o, ", last: %s", last);
	o->perf_label = "lines";
	o->has_min = 1;
	o->min = 0;
done:
	free(chunk);
	free(line);
	if (fd >= 0)
		close(fd);
}

const struct check_type check_type_log = {
	.name = "log",
	.parse_params = log_parse,
	.free_params = log_free,
	.run = log_run,
	.default_critical = "0",
	.default_max_attempts = 1,
};
