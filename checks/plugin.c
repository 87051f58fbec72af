/*
 * plugin.c - the plugin check: runs a Nagios plugin from the agent's
 * plugin_dir, the one check that forks.
 *
 * Only a plain file name is accepted (no '/', no ".."), so a check definition
 * from the server can run nothing but what the host's admin put in
 * plugin_dir; a symlink there is trusted, which is how plugins are enabled
 * ("ln -s /usr/lib/nagios/plugins/check_ntp_time /etc/custos/plugins.d/").
 * What runs is the symlink's resolved path (argv[0] too), as if the admin had
 * typed it: script plugins find their utils.pm/utils.sh beside themselves
 * (FindBin, the dirname of $0), so Debian's monitoring-plugins work unchanged.
 *
 * The plugin runs through posix_spawn (vfork-like: cheap for a daemon) with
 * argv and no shell, in a session of its own, with stdin from /dev/null, a
 * clean environment (PATH and LC_ALL=C) and default signal dispositions.
 * The agent is a child subreaper (PR_SET_CHILD_SUBREAPER), so whatever the
 * plugin leaves behind - a child in another process group, a grandchild
 * that called setsid() - is re-parented to the agent instead of init; after
 * the run, on time out or not, the session's group gets SIGKILL and every
 * child the agent still has is killed and reaped, round after round until
 * none is left. Nothing a plugin starts outlives its check.
 *
 * stdout is kept up to PLUGIN_OUT_MAX bytes (the rest is read and dropped so
 * the plugin never blocks; the output then says it was cut, and the
 * perfdata item the cut went through is dropped, not stored corrupted),
 * stderr up to PLUGIN_ERR_MAX for when stdout is empty. After the timeout
 * the session gets SIGTERM, and SIGKILL kill_grace_ms later. Exit codes 0-3
 * are the status; anything else, or a death by signal, is UNKNOWN; a timeout
 * is CRITICAL, as Nagios 4 does by default (service_check_timeout_state).
 *
 * Output, after the plugin guidelines: the first line is "TEXT | PERFDATA";
 * later lines are long output, and perfdata may follow a '|' on any of them
 * (then every line after that is perfdata). TEXT is the check's output (cut
 * at PLUGIN_TEXT_MAX bytes, on a UTF-8 boundary, and marked when so);
 * perfdata is checked item by item: good items are kept, a bad one is named
 * in the output and dropped; the first item's value is the check's value.
 */
#include "config.h"
#include "check.h"
#include "params.h"
#include "perfdata.h"
#include "plugin.h"
#include "strnum.h"
#include "timeutil.h"
#include "utf8.h"

#include <errno.h>
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define PLUGIN_OUT_MAX 8192   /* bytes of stdout kept */
#define PLUGIN_ERR_MAX 1024   /* bytes of stderr kept */
#define PLUGIN_ARGS_MAX 64    /* arguments */
#define PLUGIN_ARG_LEN 1024   /* bytes per argument */
#define PLUGIN_REAP_GRACE_MS 100  /* wait for the pipes after the plugin exited */
#define PLUGIN_TEXT_MAX 768   /* bytes of the first line's text in the output */
#define PLUGIN_KILL_ROUNDS 64 /* sweeps of leftover children */

struct plugin_params {
	char *command;
	char **args;           /* NULL-terminated, owned */
	size_t nargs;
	int timeout_ms;        /* 0: the agent's default */
};

static void
plugin_free(void *vp)
{
	struct plugin_params *p = vp;
	size_t i;

	if (p == NULL)
		return;
	for (i = 0; i < p->nargs; i++)
		free(p->args[i]);
	free(p->args);
	free(p->command);
	free(p);
}

static int
plugin_parse(json_t *params, void **out, char *err, size_t errlen, const char **field)
{
	static const char *const keys[] = { "command", "args", "timeout_ms", NULL };
	struct plugin_params *p;
	const char *cmd;
	long long timeout;
	json_t *args, *a;
	size_t i;

	*out = NULL;
	if (params_allowed(params, keys, err, errlen, field) < 0 ||
	    params_string(params, "command", 1, 255, &cmd, err, errlen, field) < 0 ||
	    params_int(params, "timeout_ms", 0, 1, 3600000, 0, &timeout, err, errlen, field) < 0)
		return -1;
	if (strchr(cmd, '/') || strstr(cmd, "..") || strcmp(cmd, ".") == 0)
		return params_error("command", err, errlen, field,
		    "must be a plain file name in the agent's plugin_dir (no '/' or '..')");
	args = json_object_get(params, "args");
	if (args && !json_is_null(args)) {
		if (!json_is_array(args))
			return params_error("args", err, errlen, field, "must be an array of strings");
		if (json_array_size(args) > PLUGIN_ARGS_MAX)
			return params_error("args", err, errlen, field, "more than %d arguments",
			    PLUGIN_ARGS_MAX);
		json_array_foreach(args, i, a) {
			if (!json_is_string(a))
				return params_error("args", err, errlen, field,
				    "argument %zu is not a string", i);
			if (json_string_length(a) > PLUGIN_ARG_LEN ||
			    strlen(json_string_value(a)) != json_string_length(a))
				return params_error("args", err, errlen, field,
				    "argument %zu is too long or holds NUL", i);
		}
	} else {
		args = NULL;
	}
	if ((p = calloc(1, sizeof(*p))) == NULL)
		return params_error("command", err, errlen, field, "out of memory");
	p->timeout_ms = (int)timeout;
	if ((p->command = strdup(cmd)) == NULL ||
	    (p->args = calloc(json_array_size(args) + 1, sizeof(char *))) == NULL)
		goto oom;
	json_array_foreach(args, i, a) {
		if ((p->args[i] = strdup(json_string_value(a))) == NULL)
			goto oom;
		p->nargs++;
	}
	*out = p;
	return 0;
oom:
	plugin_free(p);
	return params_error("command", err, errlen, field, "out of memory");
}

struct sink {
	char *ptr;
	size_t len, cap;   /* cap: bytes kept; more is dropped */
	int truncated;
	int open;
};

/* Reads what is there; returns -1 at EOF or error. */
static int
drain(int fd, struct sink *s)
{
	char scratch[4096];
	ssize_t r;

	for (;;) {
		char *dst = scratch;
		size_t room = sizeof(scratch);

		if (s->len < s->cap) {
			dst = s->ptr + s->len;
			room = s->cap - s->len;
		}
		r = read(fd, dst, room);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return errno == EAGAIN ? 0 : -1;
		if (r == 0)
			return -1;
		if (dst == scratch)
			s->truncated = 1;
		else
			s->len += (size_t)r;
	}
}


/* waitpid with a deadline; 1 reaped, 0 not yet */
static int
reap(pid_t pid, int *wstatus, int64_t deadline)
{
	for (;;) {
		pid_t r = waitpid(pid, wstatus, WNOHANG);
		if (r == pid)
			return 1;
		if (r < 0 && errno != EINTR)
			return 1;   /* ECHILD: someone reaped it; nothing left to wait for */
		if (mono_now_ms() >= deadline)
			return 0;
		sleep_ms(5);
	}
}

/* Reaps a child just sent SIGKILL; gives up after a moment (D state). */
static void
reap_one(pid_t pid)
{
	int64_t deadline = mono_now_ms() + 200;

	while (waitpid(pid, NULL, WNOHANG) == 0 && mono_now_ms() < deadline)
		sleep_ms(1);
}

/*
 * Appends the good perfdata items of text to o->perf; the first bad one is
 * named in *bad (up to badlen). Items are split on blanks outside quoted
 * labels, and each is checked alone, so one bad item costs only itself.
 */
static void
add_perf_items(const char *text, struct check_out *o, char *bad, size_t badlen,
    size_t *nbad)
{
	const char *p = text, *start;
	char item[CHECK_PERF_MAX], err[256];
	struct perf_item it;
	size_t n, len;
	int rc;

	for (;;) {
		while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
			p++;
		if (*p == '\0')
			break;
		start = p;
		if (*p == '\'') {
			/* quoted label: to the closing quote ('' is a quote) */
			for (p++; *p; p++)
				if (*p == '\'' && *++p != '\'')
					break;
		}
		while (*p && *p != ' ' && *p != '\t' && *p != '\n' && *p != '\r')
			p++;
		len = (size_t)(p - start);
		if (len >= sizeof(item)) {
			if ((*nbad)++ == 0)
				snprintf(bad, badlen, "an item of %zu bytes", len);
			continue;
		}
		memcpy(item, start, len);
		item[len] = '\0';
		if ((rc = perfdata_parse(item, &it, 1, &n, err, sizeof(err))) < 0 || n != 1) {
			if ((*nbad)++ == 0)
				snprintf(bad, badlen, "'%.*s': %.100s", len > 40 ? 40 : (int)len, item,
				    rc < 0 ? err : "not one item");
			continue;
		}
		if (o->perf.len && buf_adds(&o->perf, " ") < 0)
			break;
		if (buf_add(&o->perf, item, len) < 0) {
			if ((*nbad)++ == 0)
				snprintf(bad, badlen, "perfdata over %d bytes", CHECK_PERF_MAX);
			break;
		}
		if (!o->has_value && it.value_known) {
			o->has_value = 1;
			o->value = it.value;
		}
	}
}

/*
 * Drops the last blank-separated token of the perfdata in the last line of
 * out (len bytes): the cut at PLUGIN_OUT_MAX went through it. 1 when a
 * token was dropped.
 */
static int
drop_cut_item(char *out, size_t len)
{
	char *last = out, *bar, *blank;

	if (len == 0)
		return 0;
	for (char *q = out; (q = strchr(q, '\n')) != NULL; q++)
		last = q + 1;
	if ((bar = strchr(last, '|')) == NULL) {
		/* no '|' on the last line: inside perfdata only if an earlier line had one */
		if (last == out || memchr(out, '|', (size_t)(last - out)) == NULL)
			return 0;
		bar = last - 1;
	}
	blank = strrchr(bar + 1, ' ');
	if (blank == NULL || blank < bar)
		blank = bar + 1;
	*blank = '\0';
	return 1;
}

/* Cuts text to PLUGIN_TEXT_MAX bytes on a UTF-8 boundary; 1 when cut. */
static int
cut_text(char *text)
{
	size_t n = strlen(text), c;

	if (n <= PLUGIN_TEXT_MAX)
		return 0;
	c = utf8_cut(text, n, PLUGIN_TEXT_MAX);
	text[c] = '\0';
	return 1;
}

void
plugin_parse_output(char *out, size_t len, int truncated, struct check_out *o)
{
	char *nl, *bar, *text, *rest = NULL, *perf1 = NULL, *more = NULL;
	char bad[160] = "";
	size_t nbad = 0;
	int dropped = 0, cut;

	if (truncated)
		dropped = drop_cut_item(out, len);
	if ((nl = strchr(out, '\n')) != NULL) {
		*nl = '\0';
		rest = nl + 1;
	}
	if ((bar = strchr(out, '|')) != NULL) {
		*bar = '\0';
		perf1 = bar + 1;
	}
	/* long output: perfdata starts at the first '|' of a later line */
	if (rest && (more = strchr(rest, '|')) != NULL)
		more++;
	text = str_trim(out);
	cut = cut_text(text);
	buf_adds(&o->detail, *text ? text : "(no text before the perfdata)");
	if (cut)
		buf_adds(&o->detail, "... (first line cut)");
	if (truncated)
		buf_addf(&o->detail, " (output cut at %d bytes%s)", PLUGIN_OUT_MAX,
		    dropped ? ", its last perfdata item dropped" : "");
	if (perf1)
		add_perf_items(perf1, o, bad, sizeof(bad), &nbad);
	if (more)
		add_perf_items(more, o, bad, sizeof(bad), &nbad);
	if (nbad)
		buf_addf(&o->detail, " (%zu bad perfdata item%s dropped: %s)", nbad,
		    nbad == 1 ? "" : "s", bad);
}

/*
 * Orphans of a plugin come back to the agent instead of init, so they can
 * be found and killed (see kill_leftovers()). Once per process.
 */
static void
become_subreaper(void)
{
	static int done;

	if (!done && prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0)
		done = 1;
}

/* Adds the pids in one /proc/self/task/TID/children file to v (up to max). */
static size_t
read_children(const char *file, pid_t *v, size_t n, size_t max)
{
	char buf[4096], *p, *e;
	ssize_t r;
	int fd;

	if ((fd = open(file, O_RDONLY | O_CLOEXEC)) < 0)
		return n;
	r = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (r <= 0)
		return n;
	buf[r] = '\0';
	for (p = buf; *p && n < max; p = e) {
		long long pid = 0;

		while (*p == ' ' || *p == '\n')
			p++;
		for (e = p; *e >= '0' && *e <= '9' && pid < 0x7fffffff; e++)
			pid = pid * 10 + (*e - '0');
		if (e == p)
			break;
		if (pid > 1)
			v[n++] = (pid_t)pid;
	}
	return n;
}

/*
 * Plugins run one at a time and the agent has no other children, so every
 * child the agent has after a plugin's run is something the plugin left:
 * kill and reap them all, again while killing one re-parents its own
 * children to the agent. Bounded: PLUGIN_KILL_ROUNDS sweeps.
 */
static void
kill_leftovers(void)
{
	pid_t v[256];
	char file[64];
	struct dirent *de;
	size_t n, i, round;
	DIR *d;

	for (round = 0; round < PLUGIN_KILL_ROUNDS; round++) {
		n = 0;
		if ((d = opendir("/proc/self/task")) == NULL)
			return;
		while ((de = readdir(d)) != NULL && n < sizeof(v) / sizeof(v[0])) {
			if (de->d_name[0] < '0' || de->d_name[0] > '9')
				continue;
			if ((size_t)snprintf(file, sizeof(file), "/proc/self/task/%s/children",
			    de->d_name) >= sizeof(file))
				continue;
			n = read_children(file, v, n, sizeof(v) / sizeof(v[0]));
		}
		closedir(d);
		/* zombies already re-parented to us are reaped here too */
		while (waitpid(-1, NULL, WNOHANG) > 0)
			;
		if (n == 0)
			return;
		for (i = 0; i < n; i++) {
			kill(-v[i], SIGKILL);   /* its group, if it leads one */
			kill(v[i], SIGKILL);
		}
		for (i = 0; i < n; i++)
			reap_one(v[i]);
	}
}

static void
plugin_run(const void *vp, struct check_env *env, struct check_out *o)
{
	const struct plugin_params *p = vp;
	static char *const envp[] = { "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
	    "LC_ALL=C", NULL };
	char path[PATH_MAX], real[PATH_MAX];
	char **argv = NULL;
	int outp[2] = { -1, -1 }, errp[2] = { -1, -1 };
	struct sink so = { NULL, 0, PLUGIN_OUT_MAX, 0, 1 };
	struct sink se = { NULL, 0, PLUGIN_ERR_MAX, 0, 1 };
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	sigset_t none, all;
	struct stat st;
	pid_t pid = -1;
	int64_t deadline, reaped_at = 0;
	int timeout = p->timeout_ms ? p->timeout_ms : env->timeout_ms;
	int rc, wstatus = 0, reaped = 0, timed_out = 0, fa_ok = 0, attr_ok = 0;
	size_t i;

	o->label = "PLUGIN";
	o->raw_output = 1;
	o->forced = 1;
	o->status = CHECK_UNKNOWN;
	if (env->plugin_dir == NULL) {
		check_fail(o, CHECK_UNKNOWN, "PLUGIN UNKNOWN - no plugin_dir configured");
		return;
	}
	if ((size_t)snprintf(path, sizeof(path), "%s/%s", env->plugin_dir, p->command) >= sizeof(path)) {
		check_fail(o, CHECK_UNKNOWN, "PLUGIN UNKNOWN - plugin path too long");
		return;
	}
	if (stat(path, &st) < 0) {
		check_fail(o, CHECK_UNKNOWN, "PLUGIN UNKNOWN - %s: %s (enable it with a symlink in %s)",
		    p->command, strerror(errno), env->plugin_dir);
		return;
	}
	/* run what the symlink points to, so a script finds its helpers beside it */
	if (realpath(path, real) == NULL || strlen(real) >= sizeof(path)) {
		check_fail(o, CHECK_UNKNOWN, "PLUGIN UNKNOWN - %s: %s", path, strerror(errno));
		return;
	}
	memcpy(path, real, strlen(real) + 1);
	if (!S_ISREG(st.st_mode) || access(path, X_OK) < 0) {
		check_fail(o, CHECK_UNKNOWN, "PLUGIN UNKNOWN - %s is not an executable file", path);
		return;
	}
	if ((so.ptr = malloc(PLUGIN_OUT_MAX + 1)) == NULL ||
	    (se.ptr = malloc(PLUGIN_ERR_MAX + 1)) == NULL ||
	    (argv = calloc(p->nargs + 2, sizeof(char *))) == NULL) {
		check_fail(o, CHECK_UNKNOWN, "PLUGIN UNKNOWN - out of memory");
		goto done;
	}
	argv[0] = path;
	for (i = 0; i < p->nargs; i++)
		argv[i + 1] = p->args[i];
	if (pipe2(outp, O_CLOEXEC) < 0 || pipe2(errp, O_CLOEXEC) < 0) {
		check_fail(o, CHECK_UNKNOWN, "PLUGIN UNKNOWN - pipe: %s", strerror(errno));
		goto done;
	}
	if ((rc = posix_spawn_file_actions_init(&fa)) != 0)
		goto spawn_fail;
	fa_ok = 1;
	if ((rc = posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0)) != 0 ||
	    (rc = posix_spawn_file_actions_adddup2(&fa, outp[1], 1)) != 0 ||
	    (rc = posix_spawn_file_actions_adddup2(&fa, errp[1], 2)) != 0)
		goto spawn_fail;
	if ((rc = posix_spawnattr_init(&attr)) != 0)
		goto spawn_fail;
	attr_ok = 1;
	sigemptyset(&none);
	sigfillset(&all);
	become_subreaper();
	if ((rc = posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSID |
	    POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF)) != 0 ||
	    (rc = posix_spawnattr_setsigmask(&attr, &none)) != 0 ||
	    (rc = posix_spawnattr_setsigdefault(&attr, &all)) != 0)
		goto spawn_fail;
	if ((rc = posix_spawn(&pid, path, &fa, &attr, argv, envp)) != 0) {
		pid = -1;
		goto spawn_fail;
	}
	close(outp[1]);
	close(errp[1]);
	outp[1] = errp[1] = -1;
	fcntl(outp[0], F_SETFL, O_NONBLOCK);
	fcntl(errp[0], F_SETFL, O_NONBLOCK);

	deadline = mono_now_ms() + timeout;
	while (so.open || se.open) {
		struct pollfd pfd[2];
		int64_t now = mono_now_ms(), wait;
		nfds_t nfd = 0;

		if (now >= deadline) {
			timed_out = 1;
			break;
		}
		if (!reaped && waitpid(pid, &wstatus, WNOHANG) == pid) {
			reaped = 1;
			reaped_at = now;
		}
		if (reaped && now - reaped_at >= PLUGIN_REAP_GRACE_MS)
			break;   /* a leftover child holds the pipe: stop listening */
		wait = deadline - now;
		if (wait > 50)
			wait = 50;
		if (so.open) {
			pfd[nfd].fd = outp[0];
			pfd[nfd++].events = POLLIN;
		}
		if (se.open) {
			pfd[nfd].fd = errp[0];
			pfd[nfd++].events = POLLIN;
		}
		if (poll(pfd, nfd, (int)wait) < 0 && errno != EINTR)
			break;
		if (so.open && drain(outp[0], &so) < 0)
			so.open = 0;
		if (se.open && drain(errp[0], &se) < 0)
			se.open = 0;
	}
	if (!timed_out && !reaped)
		reaped = reap(pid, &wstatus, deadline);
	if (!reaped) {
		timed_out = 1;
		kill(-pid, SIGTERM);
		if (!reap(pid, &wstatus, mono_now_ms() + env->kill_grace_ms)) {
			kill(-pid, SIGKILL);
			waitpid(pid, &wstatus, 0);
		}
	}
	/* leftovers (a backgrounded child, one that called setsid) go with the check */
	kill(-pid, SIGKILL);
	kill_leftovers();
	so.ptr[so.len] = '\0';
	se.ptr[se.len] = '\0';

	if (timed_out) {
		check_fail(o, CHECK_CRITICAL, "PLUGIN CRITICAL - %s timed out after %d ms",
		    p->command, timeout);
		goto done;
	}
	if (WIFEXITED(wstatus) && WEXITSTATUS(wstatus) <= 3) {
		o->status = (enum check_status)WEXITSTATUS(wstatus);
	} else if (WIFEXITED(wstatus)) {
		o->status = CHECK_UNKNOWN;
		buf_addf(&o->detail, "(%s exited with code %d) ", p->command, WEXITSTATUS(wstatus));
	} else {
		o->status = CHECK_UNKNOWN;
		buf_addf(&o->detail, "(%s killed by signal %d) ", p->command,
		    WIFSIGNALED(wstatus) ? WTERMSIG(wstatus) : 0);
	}
	if (so.len > 0 && strspn(so.ptr, " \t\r\n") != so.len) {
		plugin_parse_output(so.ptr, so.len, so.truncated, o);
	} else if (se.len > 0) {
		char *nl = strchr(se.ptr, '\n');
		if (nl)
			*nl = '\0';
		buf_addf(&o->detail, "(no output; stderr: %s)", str_trim(se.ptr));
	} else {
		buf_addf(&o->detail, "(%s printed nothing)", p->command);
	}
	goto done;

spawn_fail:
	check_fail(o, CHECK_UNKNOWN, "PLUGIN UNKNOWN - cannot run %s: %s", path, strerror(rc));
done:
	if (fa_ok)
		posix_spawn_file_actions_destroy(&fa);
	if (attr_ok)
		posix_spawnattr_destroy(&attr);
	for (i = 0; i < 2; i++) {
		if (outp[i] >= 0)
			close(outp[i]);
		if (errp[i] >= 0)
			close(errp[i]);
	}
	free(argv);
	free(so.ptr);
	free(se.ptr);
}

/* The check's own timeout ends it; the time limit is a backstop after it. */
static int
plugin_time_limit(const void *vp, const struct check_env *env)
{
	const struct plugin_params *p = vp;

	return (p->timeout_ms ? p->timeout_ms : env->timeout_ms) + env->kill_grace_ms + CHECK_LIMIT_SLACK_MS;
}

const struct check_type check_type_plugin = {
	.name = "plugin",
	.parse_params = plugin_parse,
	.free_params = plugin_free,
	.run = plugin_run,
	.ignore_thresholds = 1,
	.time_limit_ms = plugin_time_limit,
};
