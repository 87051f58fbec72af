/*
 * log.c - see log.h. The level is a C11 atomic read and written with relaxed
 * order: a SIGHUP changes it while other threads log, and a stale read only
 * affects one line (a plain int here is a data race - ThreadSanitizer
 * reported it under scripts/check --tsan).
 */
#include "config.h"
#include "log.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

static const char *log_prog = "custos";
static atomic_int log_level = LOG_LVL_INFO;

static const char *const level_names[] = {
	[LOG_LVL_DEBUG] = "debug",
	[LOG_LVL_INFO] = "info",
	[LOG_LVL_WARN] = "warning",
	[LOG_LVL_ERROR] = "error",
};

void
log_init(const char *progname, enum log_level level)
{
	log_prog = progname;
	atomic_store_explicit(&log_level, (int)level, memory_order_relaxed);
}

void
log_set_level(enum log_level level)
{
	atomic_store_explicit(&log_level, (int)level, memory_order_relaxed);
}

enum log_level
log_get_level(void)
{
	return (enum log_level)atomic_load_explicit(&log_level, memory_order_relaxed);
}

int
log_level_parse(const char *s, enum log_level *out)
{
	if (strcasecmp(s, "debug") == 0) *out = LOG_LVL_DEBUG;
	else if (strcasecmp(s, "info") == 0) *out = LOG_LVL_INFO;
	else if (strcasecmp(s, "warn") == 0 || strcasecmp(s, "warning") == 0) *out = LOG_LVL_WARN;
	else if (strcasecmp(s, "error") == 0) *out = LOG_LVL_ERROR;
	else return -1;
	return 0;
}

/*
 * One record, one line: libpq's messages (and others) carry their own
 * newlines and tab-indented hints ("server closed the connection
 * unexpectedly\n\tThis probably means ..."). Each run of line breaks and
 * the indentation after it becomes "; ", trailing breaks go, so a grep
 * finds the whole message and the next record starts on a line of its own.
 * Returns the new length.
 */
static size_t
one_line(char *s, size_t n)
{
	char out[2048];
	size_t i, o = 0;

	for (i = 0; i < n && o < sizeof(out) - 2; i++) {
		if (s[i] == '\n' || s[i] == '\r') {
			while (i + 1 < n && (s[i + 1] == '\n' || s[i + 1] == '\r' ||
			    s[i + 1] == '\t' || s[i + 1] == ' '))
				i++;
			if (i + 1 < n && o > 0) {
				out[o++] = ';';
				out[o++] = ' ';
			}
			continue;
		}
		out[o++] = s[i] == '\t' ? ' ' : s[i];
	}
	memcpy(s, out, o);
	return o;
}

void
log_msg(enum log_level lvl, const char *fmt, ...)
{
	char line[2048];
	struct timespec ts;
	struct tm tm;
	size_t n;
	int r;
	va_list ap;

	if ((int)lvl < atomic_load_explicit(&log_level, memory_order_relaxed))
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	n = strftime(line, sizeof(line), "%Y-%m-%dT%H:%M:%SZ ", &tm);
	r = snprintf(line + n, sizeof(line) - n, "%s[%ld] %s: ", log_prog,
	    (long)getpid(), level_names[lvl]);
	if (r > 0)
		n += (size_t)r;
	if (n >= sizeof(line) - 2)
		n = sizeof(line) - 2;
	va_start(ap, fmt);
	r = vsnprintf(line + n, sizeof(line) - n - 1, fmt, ap);
	va_end(ap);
	if (r > 0)
		n += (size_t)r;
	if (n > sizeof(line) - 2)
		n = sizeof(line) - 2;
	n = one_line(line, n);
	line[n++] = '\n';
	if (write(STDERR_FILENO, line, n) < 0) {
		/* nowhere left to report it */
	}
}
