/*
 * plugin.c - the plugin check: runs a Nagios plugin from the agent's
 * plugin_dir, the one check that forks.
 *
 * Only a plain file name is accepted (no '/', no ".."), so a check definition
 * from the server can run nothing but what the host's admin put in
 * plugin_dir; a symlink there is trusted, which is how plugins are enabled
 * ("ln -s /usr/lib/nagios/plugins/check_ntp_time /etc/custos/plugins.d/").
 * The plugin runs through posix_spawn (vfork-like: cheap for a daemon) with
 * argv and no shell, in its own process group, with stdin from /dev/null, a
 * clean environment (PATH and LC_ALL=C) and default signal dispositions.
 * stdout is kept up to PLUGIN_OUT_MAX bytes (the rest is read and dropped so
 * the plugin never blocks), stderr up to PLUGIN_ERR_MAX for when stdout is
 * empty. After the timeout the whole group gets SIGTERM, and SIGKILL
 * kill_grace_ms later. Exit codes 0-3 are the status; anything else, or a
 * death by signal, is UNKNOWN; a timeout is CRITICAL, as Nagios 4 does by
 * default (service_check_timeout_state). The first line's text is the
 * output, its perfdata (when valid) the perfdata, and the first perfdata
 * value the check's value.
 */
#include "config.h"
#include "check.h"
#include "params.h"
#include "perfdata.h"
#include "timeutil.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define PLUGIN_OUT_MAX 8192   /* bytes of stdout kept */
#define PLUGIN_ERR_MAX 1024   /* bytes of stderr kept */
#define PLUGIN_ARGS_MAX 64    /* arguments */
#define PLUGIN_ARG_LEN 1024   /* bytes per argument */
#define PLUGIN_REAP_GRACE_MS 100  /* wait for the pipes after the plugin exited */

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

static void
sleep_ms(int ms)
{
	poll(NULL, 0, ms);
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

/* trims blanks at both ends, in place */
static char *
trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t' || *s == '\r')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
		*--e = '\0';
	return s;
}

static void
parse_output(char *out, struct check_out *o)
{
	char *nl, *bar, *text, *perf;
	struct perf_item item;
	char err[256];
	size_t n;

	if ((nl = strchr(out, '\n')) != NULL)
		*nl = '\0';
	perf = NULL;
	if ((bar = strchr(out, '|')) != NULL) {
		*bar = '\0';
		perf = trim(bar + 1);
	}
	text = trim(out);
	buf_adds(&o->detail, text);
	if (perf && *perf) {
		if (perfdata_parse(perf, &item, 1, &n, err, sizeof(err)) == 0) {
			buf_adds(&o->perf, perf);
			if (n > 0 && item.value_known) {
				o->has_value = 1;
				o->value = item.value;
			}
		} else {
			/* keep the output; drop perfdata nobody could graph */
			buf_addf(&o->detail, " (bad perfdata dropped: %s)", err);
		}
	}
}

static void
plugin_run(const void *vp, struct check_env *env, struct check_out *o)
{
	const struct plugin_params *p = vp;
	static char *const envp[] = { "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
	    "LC_ALL=C", NULL };
	char path[1024];
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
	if ((rc = posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP |
	    POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF)) != 0 ||
	    (rc = posix_spawnattr_setpgroup(&attr, 0)) != 0 ||
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
	/* leftovers of the group (a backgrounded child) go with the check */
	kill(-pid, SIGKILL);
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
		parse_output(so.ptr, o);
	} else if (se.len > 0) {
		char *nl = strchr(se.ptr, '\n');
		if (nl)
			*nl = '\0';
		buf_addf(&o->detail, "(no output; stderr: %s)", trim(se.ptr));
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
