/*
 * process.c - the process check: how many processes match, by comm name, by
 * command line (POSIX ERE), by pidfile, optionally owned by a user; every
 * filter given must match. Zombies do not count, nor does the agent itself.
 * The /proc scan is shared: the first process check of a run builds
 * env->procs (with command lines and uids only if some check of the run
 * needs them, see process_prepare()), the others reuse it.
 *
 * comm is what the kernel keeps: at most 15 bytes, so a longer name is
 * compared on its first 15 bytes, as pgrep does.
 */
#include "config.h"
#include "check.h"
#include "hostfile.h"
#include "params.h"
#include "pattern.h"
#include "proc.h"
#include "procfs.h"
#include "strnum.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <sys/stat.h>
#include <pwd.h>
#include <regex.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define COMM_KERNEL_MAX 15    /* TASK_COMM_LEN - 1 */

struct process_params {
	char *name;            /* NULL: any */
	char *cmdline_text;    /* the ERE as given, for the output */
	regex_t cmdline;       /* valid when cmdline_text */
	char *pidfile;
	char *user;            /* name or number; resolved at run time */
};

static void
process_free(void *vp)
{
	struct process_params *p = vp;

	if (p == NULL)
		return;
	free(p->name);
	if (p->cmdline_text)
		regfree(&p->cmdline);
	free(p->cmdline_text);
	free(p->pidfile);
	free(p->user);
	free(p);
}

static int
dup_opt(const char *s, char **out)
{
	*out = NULL;
	if (s == NULL)
		return 0;
	return (*out = strdup(s)) ? 0 : -1;
}

static int
process_parse(json_t *params, void **out, char *err, size_t errlen, const char **field)
{
	static const char *const keys[] = { "name", "cmdline", "pidfile", "user", NULL };
	struct process_params *p;
	const char *name, *cmdline, *pidfile, *user;

	*out = NULL;
	if (params_allowed(params, keys, err, errlen, field) < 0 ||
	    params_string(params, "name", 0, 255, &name, err, errlen, field) < 0 ||
	    params_string(params, "cmdline", 0, PATTERN_MAX, &cmdline, err, errlen, field) < 0 ||
	    params_string(params, "pidfile", 0, 1024, &pidfile, err, errlen, field) < 0 ||
	    params_string(params, "user", 0, 64, &user, err, errlen, field) < 0)
		return -1;
	if (!name && !cmdline && !pidfile)
		return params_error("name", err, errlen, field,
		    "one of name, cmdline or pidfile is required");
	if (pidfile && pidfile[0] != '/')
		return params_error("pidfile", err, errlen, field, "must be an absolute path");
	if ((p = calloc(1, sizeof(*p))) == NULL)
		return params_error("name", err, errlen, field, "out of memory");
	if (cmdline) {
		if (pattern_compile("cmdline", cmdline, &p->cmdline, err, errlen, field) < 0) {
			free(p);
			return -1;
		}
		if ((p->cmdline_text = strdup(cmdline)) == NULL) {
			regfree(&p->cmdline);
			free(p);
			return params_error("cmdline", err, errlen, field, "out of memory");
		}
	}
	if (dup_opt(name, &p->name) < 0 || dup_opt(pidfile, &p->pidfile) < 0 ||
	    dup_opt(user, &p->user) < 0) {
		process_free(p);
		return params_error("name", err, errlen, field, "out of memory");
	}
	if (p->name && strlen(p->name) > COMM_KERNEL_MAX)
		p->name[COMM_KERNEL_MAX] = '\0';
	*out = p;
	return 0;
}

static void
process_prepare(const void *vp, struct check_env *env)
{
	const struct process_params *p = vp;

	if (p->cmdline_text)
		env->want_cmdline = 1;
	if (p->user)
		env->want_uid = 1;
}

/* Resolves a user name or number. 0 or -1. */
static int
resolve_user(const char *user, uid_t *uid)
{
	struct passwd pw, *res = NULL;
	char buf[1024];
	const char *es;
	long long n;

	n = str_to_ll(user, 0, 0xfffffffeLL, &es);
	if (es == NULL) {
		*uid = (uid_t)n;
		return 0;
	}
	if (getpwnam_r(user, &pw, buf, sizeof(buf), &res) != 0 || res == NULL)
		return -1;
	*uid = pw.pw_uid;
	return 0;
}

/*
 * Reads a pid from a pidfile. 0; -1 with a reason when there is no pid
 * (missing file, no number: the daemon is not running); -2 when the file
 * may not be read (not a regular file, an I/O error): UNKNOWN.
 */
static int
read_pidfile(const char *path, pid_t *pid, char *err, size_t errlen)
{
	char buf[64], *p = buf, *tok, real[PATH_MAX];
	const char *es;
	long long n;
	struct stat st;
	ssize_t r;
	int fd;

	/* a regular file only, opened non-blocking: a FIFO or device is refused */
	if ((fd = hostfile_open(path, NULL, real, sizeof(real), &st, err, errlen)) < 0)
		return errno == ENOENT ? -1 : -2;
	do
		r = read(fd, buf, sizeof(buf) - 1);
	while (r < 0 && errno == EINTR);
	close(fd);
	if (r < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -2;
	}
	buf[r] = '\0';
	tok = next_token(&p);
	n = str_to_ll(tok, 1, 0x7fffffff, &es);
	if (tok == NULL || es) {
		snprintf(err, errlen, "%s: no pid in it", path);
		return -1;
	}
	*pid = (pid_t)n;
	return 0;
}

static void
describe(const struct process_params *p, struct check_out *o)
{
	const char *sep = "";

	if (p->name) {
		check_detail(o, "named '%s'", p->name);
		sep = ", ";
	}
	if (p->cmdline_text) {
		check_detail(o, "%smatching '%s'", sep, p->cmdline_text);
		sep = ", ";
	}
	if (p->pidfile) {
		check_detail(o, "%sfrom %s", sep, p->pidfile);
		sep = ", ";
	}
	if (p->user)
		check_detail(o, "%sof user %s", sep, p->user);
}

static void
process_run(const void *vp, struct check_env *env, struct check_out *o)
{
	const struct process_params *p = vp;
	char err[512];
	uid_t uid = 0;
	pid_t pid = 0;
	size_t i, count = 0;
	int rc = 0;

	o->label = "PROCS";
	if (p->user && resolve_user(p->user, &uid) < 0) {
		check_fail(o, CHECK_UNKNOWN, "no user %s", p->user);
		return;
	}
	if (env->procs == NULL || (p->cmdline_text && !env->procs->have_cmdline) ||
	    (p->user && !env->procs->have_uid)) {
		/* first process check of the run (or one check_env_begin_run() did not see) */
		struct proc_table *t;

		if (proc_scan(env->proc_root, env->want_cmdline || p->cmdline_text != NULL,
		    env->want_uid || p->user != NULL, env->self_pid, &t, err, sizeof(err)) < 0) {
			check_fail(o, CHECK_UNKNOWN, "%s", err);
			return;
		}
		proc_table_free(env->procs);
		env->procs = t;
	}
	if (p->pidfile && (rc = read_pidfile(p->pidfile, &pid, err, sizeof(err))) == -2) {
		check_fail(o, CHECK_UNKNOWN, "%s", err);
		return;
	}
	if (p->pidfile && rc < 0) {
		/* a missing pidfile means the daemon is not running */
		check_set_value(o, 0, 0);
		check_detail(o, "0 processes (%s)", err);
		o->perf_label = "procs";
		return;
	}
	for (i = 0; i < env->procs->n; i++) {
		const struct proc_entry *e = &env->procs->v[i];

		if (e->state == 'Z' || e->state == 'X')
			continue;
		if (pid && e->pid != pid)
			continue;
		if (p->name && strncmp(e->comm, p->name, COMM_KERNEL_MAX) != 0)
			continue;
		if (p->name && strlen(p->name) < COMM_KERNEL_MAX && strlen(e->comm) != strlen(p->name))
			continue;
		if (p->user && e->uid != uid)
			continue;
		if (p->cmdline_text && (e->cmdline == NULL || e->cmdline[0] == '\0' ||
		    regexec(&p->cmdline, e->cmdline, 0, NULL, 0) != 0))
			continue;
		count++;
	}
	check_set_value(o, (double)count, 0);
	check_detail(o, "%zu process%s ", count, count == 1 ? "" : "es");
	describe(p, o);
	o->perf_label = "procs";
	o->has_min = 1;
	o->min = 0;
}

const struct check_type check_type_process = {
	.name = "process",
	.parse_params = process_parse,
	.free_params = process_free,
	.run = process_run,
	.prepare = process_prepare,
	.default_critical = "1:",
};
