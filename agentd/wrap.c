/*
 * wrap.c - custos-agentd --wrap NAME -- CMD ARGS...: a cron job run under
 * watch. The heartbeat check NAME (on the server, of this agent) is told
 * "start", the command runs, and the check is told "exit" with the exit
 * code, the run's start and end and the last 10 kB of what the command
 * printed. We exit with the command's own status, so a crontab line keeps
 * its meaning with the wrapper in front.
 *
 * The rules, each for the bad day:
 *   - The wrapper never stands between cron and the job: an unreadable
 *     configuration or token, a server that is down, slow or refuses, only
 *     costs the report, never the run (the server then sees the run missing
 *     and says so). The one exception is --lock, asked for by the operator.
 *   - Reports are not lost to a network blink: one the server does not take
 *     now goes to the spool (heartbeat.c) with its real times and id and is
 *     sent by the next --wrap or agent run; reports already spooled are sent
 *     before a new one, so the server sees them in order.
 *   - A report waits at most WRAP_CONNECT_S to connect and WRAP_TOTAL_S in
 *     all, and spooled reports are sent for WRAP_FLUSH_MS at most: a server
 *     that hangs or crawls delays a cron job by seconds, not forever.
 *   - The command's output still reaches our stdout and stderr as it comes
 *     (cron mails it as before; >/dev/null on the crontab line silences it
 *     without losing it from the report): two pipes, so stdout stays stdout.
 *   - The command runs in its own process group, so --timeout (and a SIGTERM
 *     or SIGINT sent to us, which is passed on) reaches everything it
 *     started: SIGTERM, then SIGKILL after WRAP_GRACE_MS.
 *   - A command that exits is reported when it exits, even when something
 *     it started in the background still holds its output open.
 *
 * Signals only set flags; they are blocked except inside ppoll(), so none
 * is missed between a check and the wait.
 */
#include "config.h"
#include "agentd.h"
#include "log.h"
#include "strnum.h"
#include "timeutil.h"
#include "token.h"
#include "utf8.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define WRAP_CONNECT_S 3          /* connect timeout of a report */
#define WRAP_TOTAL_S 5            /* whole request of a report */
#define WRAP_FLUSH_MAX 100        /* spooled reports one --wrap run sends; the agent sends all */
#define WRAP_FLUSH_MS 5000        /* ... and no new one after this long */
#define WRAP_GRACE_MS 5000        /* SIGTERM to SIGKILL */
#define WRAP_READ_CHUNK 65536
#define WRAP_DRAIN_MAX (1024 * 1024)   /* read after the command exited, at most */

/* ---- the output ring ------------------------------------------------------- */

void
tail_add(struct tail *t, const char *p, size_t n)
{
	const size_t cap = sizeof(t->buf);
	size_t end, k;

	t->total += n;
	if (n >= cap) {
		memcpy(t->buf, p + n - cap, cap);
		t->start = 0;
		t->len = cap;
		return;
	}
	end = (t->start + t->len) % cap;
	k = cap - end < n ? cap - end : n;
	memcpy(t->buf + end, p, k);
	memcpy(t->buf, p + k, n - k);
	if (t->len + n > cap) {
		t->start = (t->start + t->len + n - cap) % cap;
		t->len = cap;
	} else {
		t->len += n;
	}
}

char *
tail_text(const struct tail *t, const char *note, size_t max)
{
	const size_t cap = sizeof(t->buf);
	size_t first = t->len < cap - t->start ? t->len : cap - t->start;
	size_t nlen = note ? strlen(note) : 0, tlen, keep, skip = 0;
	char lin[sizeof(t->buf)], head[96], *text, *out;
	int cut = t->total > t->len;

	memcpy(lin, t->buf + t->start, first);
	memcpy(lin + first, t->buf, t->len - first);
	/* a front cut in the middle of a character loses that character only */
	while (cut && skip < 3 && skip < t->len && ((unsigned char)lin[skip] & 0xc0) == 0x80)
		skip++;
	if ((text = utf8_repair(lin + skip, t->len - skip)) == NULL)
		return NULL;
	tlen = strlen(text);
	if (nlen > max)
		nlen = utf8_cut(note, nlen, max);
	head[0] = '\0';
	if (cut || tlen + nlen > max)
		snprintf(head, sizeof(head), "[%llu bytes of output; the last ones follow]\n",
		    t->total);
	if (strlen(head) + nlen > max)
		head[0] = '\0';
	keep = tlen;
	if (strlen(head) + keep + nlen > max) {
		keep = max - strlen(head) - nlen;
		while (keep > 0 && ((unsigned char)text[tlen - keep] & 0xc0) == 0x80)
			keep--;
	}
	if ((out = malloc(strlen(head) + keep + nlen + 1)) == NULL) {
		free(text);
		return NULL;
	}
	memcpy(out, head, strlen(head));
	memcpy(out + strlen(head), text + tlen - keep, keep);
	if (nlen)
		memcpy(out + strlen(head) + keep, note, nlen);
	out[strlen(head) + keep + nlen] = '\0';
	free(text);
	return out;
}

/* ---- reports --------------------------------------------------------------- */

struct wrap {
	struct agent *a;
	const char *name;
	int can_send;       /* a client with the token */
	int can_spool;      /* state_dir usable */
	int not_found;      /* the server has no such check: nothing more is sent */
};

/*
 * Delivers report r (spooled reports first) or spools it. The report is
 * never lost silently: what cannot be kept is an error on stderr.
 */
static void
report(struct wrap *w, json_t *r)
{
	char err[1024];
	int away = 0;

	if (r == NULL) {
		log_error("heartbeat \"%s\": out of memory: report lost", w->name);
		return;
	}
	if (w->not_found || (!w->can_send && !w->can_spool))
		return;   /* said once already */
	if (w->can_send) {
		if (w->can_spool)
			hb_spool_flush(&w->a->cl, w->a->cf.state_dir, WRAP_FLUSH_MAX,
			    WRAP_FLUSH_MS, &away);
		if (!away) {
			switch (hb_send(&w->a->cl, w->name, r, err, sizeof(err))) {
			case HB_SENT:
				return;
			case HB_REFUSED:
				log_error("%s", err);
				w->not_found = w->a->cl.http.status == 404;
				return;
			case HB_AWAY:
				/* a blink is no news for cron mail; a refused token is */
				if (w->a->cl.http.status == 401 || w->a->cl.http.status == 403)
					log_error("%s", err);
				else
					log_info("%s", err);
				break;
			}
		}
	}
	if (!w->can_spool) {
		log_error("heartbeat \"%s\": the %s report could not be sent nor spooled: lost",
		    w->name, json_string_value(json_object_get(r, "kind")));
		return;
	}
	if (hb_spool_add(w->a->cf.state_dir, w->name, r, w->a->cf.spool_max, err, sizeof(err)) < 0)
		log_error("heartbeat \"%s\": cannot spool the %s report: %s: lost", w->name,
		    json_string_value(json_object_get(r, "kind")), err);
	else
		log_info("heartbeat \"%s\": %s report spooled in %s/heartbeats", w->name,
		    json_string_value(json_object_get(r, "kind")), w->a->cf.state_dir);
}

/* The client, with a report's short timeouts. 0, or -1 (logged). */
static int
wrap_connect(struct agent *a)
{
	struct stat st;
	uid_t also = (uid_t)-1;
	long total = a->cf.timeout_s < WRAP_TOTAL_S ? (long)a->cf.timeout_s : WRAP_TOTAL_S;

	/* root, running a cron job, may use the token of state_dir's owner: the agent's user */
	if (geteuid() == 0 && stat(a->cf.state_dir, &st) == 0)
		also = st.st_uid;
	if (client_open(&a->cl, &a->cf, also, total < WRAP_CONNECT_S ? total : WRAP_CONNECT_S,
	    total) < 0)
		return -1;
	a->have_client = 1;
	return 0;
}

/* ---- --lock ---------------------------------------------------------------- */

/*
 * Opens and flocks state_dir/locks/NAME.lock (a name that is not a plain
 * file name is hashed). Returns the fd (held until exit), -2 when another
 * run holds it, -1 on error (err).
 */
static int
take_lock(const char *state_dir, const char *name, char *err, size_t errlen)
{
	char dir[600], path[800], file[80];
	size_t len = strlen(name);
	int fd;

	if (hb_subdir(state_dir, "locks", dir, sizeof(dir), err, errlen) < 0)
		return -1;
	if (len > 0 && len <= 64 && name[0] != '.' &&
	    strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") == len) {
		snprintf(file, sizeof(file), "%s", name);
	} else {
		uint8_t h[SHA256_LEN];
		char hex[2 * SHA256_LEN + 1];

		sha256(name, len, h);
		hex_encode(h, SHA256_LEN, hex);
		snprintf(file, sizeof(file), "sha256-%.32s", hex);
	}
	snprintf(path, sizeof(path), "%s/%s.lock", dir, file);
	if ((fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600)) < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (geteuid() == 0) {
		struct stat st;

		if (stat(state_dir, &st) == 0 && st.st_uid != 0 && fchown(fd, st.st_uid, st.st_gid) < 0)
			log_debug("%s: chown: %s", path, strerror(errno));
	}
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		int e = errno;

		close(fd);
		if (e == EWOULDBLOCK)
			return -2;
		snprintf(err, errlen, "%s: flock: %s", path, strerror(e));
		return -1;
	}
	return fd;
}

/* ---- running the command --------------------------------------------------- */

static volatile sig_atomic_t got_chld;
static volatile sig_atomic_t got_sig;    /* a signal to pass on to the command */

static void
on_signal(int sig)
{
	if (sig == SIGCHLD)
		got_chld = 1;
	else
		got_sig = sig;
}

struct run {
	int status;              /* wait status, when reaped */
	int timed_out;
	int killed;              /* SIGKILL was sent */
	int exec_errno;          /* the command could not be executed */
	int fork_errno;
	struct tail out;
};

/* Writes all of p to fd, giving up on that fd for good on an error. */
static void
pass_through(int *fd, const char *p, size_t n)
{
	ssize_t k;

	while (*fd >= 0 && n > 0) {
		if ((k = write(*fd, p, n)) < 0) {
			if (errno == EINTR)
				continue;
			*fd = -1;   /* our stdout is gone: the report still has it all */
			return;
		}
		p += k;
		n -= (size_t)k;
	}
}

/*
 * Reads what is there, up to budget bytes: a writer faster than we are
 * (yes(1)) must not keep the loop from its timers. 1 at end of file (or
 * error), 0 otherwise.
 */
static int
read_some(int fd, int *to, struct tail *t, char *buf, size_t budget)
{
	size_t got = 0;
	ssize_t n;

	while (got < budget) {
		n = read(fd, buf, WRAP_READ_CHUNK);
		if (n > 0) {
			tail_add(t, buf, (size_t)n);
			pass_through(to, buf, (size_t)n);
			got += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		return n == 0 || errno != EAGAIN;
	}
	return 0;
}

static int
group_alive(pid_t pgid)
{
	return kill(-pgid, 0) == 0 || errno == EPERM;
}

static void
child_exec(char **argv, const sigset_t *old_mask, int outw, int errw, int statw)
{
	int e;

	signal(SIGPIPE, SIG_DFL);
	signal(SIGCHLD, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	signal(SIGINT, SIG_DFL);
	signal(SIGHUP, SIG_DFL);
	signal(SIGQUIT, SIG_DFL);
	sigprocmask(SIG_SETMASK, old_mask, NULL);
	setpgid(0, 0);
	if (dup2(outw, STDOUT_FILENO) < 0 || dup2(errw, STDERR_FILENO) < 0)
		_exit(WRAP_EXIT_FAILED);
	execvp(argv[0], argv);
	e = errno;
	if (write(statw, &e, sizeof(e)) < 0)
		_exit(WRAP_EXIT_FAILED);
	_exit(e == ENOENT ? WRAP_EXIT_NOTFOUND : WRAP_EXIT_NOEXEC);
}

static void
run_command(char **argv, long long timeout_s, struct run *rn)
{
	int outp[2] = { -1, -1 }, errp[2] = { -1, -1 }, statp[2] = { -1, -1 };
	int to_out = STDOUT_FILENO, to_err = STDERR_FILENO, reaped = 0;
	sigset_t block, old, open_mask;
	struct sigaction sa, old_sa[5];
	static const int sigs[5] = { SIGCHLD, SIGTERM, SIGINT, SIGHUP, SIGQUIT };
	int64_t deadline = 0, kill_at = 0, now;
	char *buf;
	pid_t pid;
	ssize_t n;
	size_t i;

	if ((buf = malloc(WRAP_READ_CHUNK)) == NULL) {
		rn->fork_errno = ENOMEM;
		return;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigemptyset(&block);
	for (i = 0; i < 5; i++) {
		sigaction(sigs[i], &sa, &old_sa[i]);
		sigaddset(&block, sigs[i]);
	}
	sigprocmask(SIG_BLOCK, &block, &old);
	open_mask = old;
	for (i = 0; i < 5; i++)
		sigdelset(&open_mask, sigs[i]);
	got_chld = 0;
	got_sig = 0;

	if (pipe2(outp, O_CLOEXEC) < 0 || pipe2(errp, O_CLOEXEC) < 0 ||
	    pipe2(statp, O_CLOEXEC) < 0) {
		rn->fork_errno = errno;
		goto done;
	}
	fflush(NULL);
	if ((pid = fork()) < 0) {
		rn->fork_errno = errno;
		goto done;
	}
	if (pid == 0)
		child_exec(argv, &old, outp[1], errp[1], statp[1]);
	setpgid(pid, pid);   /* as the child does: whichever runs first */
	close(outp[1]);
	close(errp[1]);
	close(statp[1]);
	outp[1] = errp[1] = statp[1] = -1;
	/* the status pipe closes on exec, or brings exec's errno */
	while ((n = read(statp[0], &rn->exec_errno, sizeof(rn->exec_errno))) < 0 && errno == EINTR)
		;
	if (n != (ssize_t)sizeof(rn->exec_errno))
		rn->exec_errno = 0;
	fcntl(outp[0], F_SETFL, O_NONBLOCK);
	fcntl(errp[0], F_SETFL, O_NONBLOCK);
	if (timeout_s > 0)
		deadline = mono_now_ms() + timeout_s * 1000;

	for (;;) {
		struct pollfd pf[2];
		struct timespec ts, *tsp = NULL;
		int64_t wait_ms = -1;
		int nf = 0;

		if (got_chld) {
			got_chld = 0;
			if (!reaped && waitpid(pid, &rn->status, WNOHANG) == pid)
				reaped = 1;
		}
		if (got_sig) {
			/* ours to pass on: the command decides what it means */
			if (!reaped)
				kill(-pid, got_sig);
			got_sig = 0;
		}
		now = mono_now_ms();
		if (deadline && !rn->timed_out && !reaped && now >= deadline) {
			rn->timed_out = 1;
			kill(-pid, SIGTERM);
			kill_at = now + WRAP_GRACE_MS;
		}
		if (rn->timed_out && !rn->killed && now >= kill_at) {
			kill(-pid, SIGKILL);
			rn->killed = 1;
		}
		if (reaped) {
			/* what the command wrote before it exited is in the pipes */
			if (outp[0] >= 0)
				read_some(outp[0], &to_out, &rn->out, buf, WRAP_DRAIN_MAX);
			if (errp[0] >= 0)
				read_some(errp[0], &to_err, &rn->out, buf, WRAP_DRAIN_MAX);
			/* after a timeout, what it started goes too (or gets the SIGKILL) */
			if (!rn->timed_out || rn->killed || !group_alive(pid))
				break;
			wait_ms = 50;
		}
		if (outp[0] >= 0) {
			pf[nf].fd = outp[0];
			pf[nf++].events = POLLIN;
		}
		if (errp[0] >= 0) {
			pf[nf].fd = errp[0];
			pf[nf++].events = POLLIN;
		}
		if (deadline && !rn->timed_out && (wait_ms < 0 || deadline - now < wait_ms))
			wait_ms = deadline - now;
		if (rn->timed_out && !rn->killed && (wait_ms < 0 || kill_at - now < wait_ms))
			wait_ms = kill_at - now;
		if (wait_ms >= 0) {
			ts.tv_sec = (time_t)(wait_ms / 1000);
			ts.tv_nsec = (long)(wait_ms % 1000) * 1000000L;
			tsp = &ts;
		}
		if (ppoll(pf, (nfds_t)nf, tsp, &open_mask) <= 0)
			continue;
		for (i = 0; i < (size_t)nf; i++) {
			if (!(pf[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			if (pf[i].fd == outp[0] &&
			    read_some(outp[0], &to_out, &rn->out, buf, WRAP_READ_CHUNK)) {
				close(outp[0]);
				outp[0] = -1;
			} else if (pf[i].fd == errp[0] &&
			    read_some(errp[0], &to_err, &rn->out, buf, WRAP_READ_CHUNK)) {
				close(errp[0]);
				errp[0] = -1;
			}
		}
	}
done:
	for (i = 0; i < 2; i++) {
		if (outp[i] >= 0)
			close(outp[i]);
		if (errp[i] >= 0)
			close(errp[i]);
		if (statp[i] >= 0)
			close(statp[i]);
	}
	free(buf);
	sigprocmask(SIG_SETMASK, &old, NULL);
	for (i = 0; i < 5; i++)
		sigaction(sigs[i], &old_sa[i], NULL);
}

/* ---- descriptors ------------------------------------------------------------ */

/*
 * The command gets the descriptors we were given (cron's, a script's fd 3)
 * but none of ours: libcurl's connection and its wake-up socketpair are not
 * all close-on-exec. So the open descriptors are noted before anything is
 * opened, and every other one is made close-on-exec before the fork.
 */
#define FDS_NOTED_MAX 256

struct fdset {
	int v[FDS_NOTED_MAX];
	size_t n;
	int overflow;            /* more than we note: leave every fd alone */
};

static int
fd_walk(struct fdset *s, int mark)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	const char *es;
	size_t i;

	if (d == NULL)
		return -1;
	while ((e = readdir(d)) != NULL) {
		long long fd = str_to_ll(e->d_name, 3, INT32_MAX, &es);

		if (es || fd == dirfd(d))
			continue;
		if (!mark) {
			if (s->n == FDS_NOTED_MAX)
				s->overflow = 1;
			else
				s->v[s->n++] = (int)fd;
			continue;
		}
		for (i = 0; i < s->n && s->v[i] != (int)fd; i++)
			;
		if (i == s->n)
			fcntl((int)fd, F_SETFD, FD_CLOEXEC);
	}
	closedir(d);
	return 0;
}

static void
fds_note_inherited(struct fdset *s)
{
	memset(s, 0, sizeof(*s));
	if (fd_walk(s, 0) < 0)
		s->overflow = 1;
}

static void
fds_ours_cloexec(struct fdset *s)
{
	if (!s->overflow)
		fd_walk(s, 1);
}

/* ---- the mode -------------------------------------------------------------- */

int
agent_wrap(struct agent *a, int reporting, const struct wrap_opts *o)
{
	struct wrap w = { a, o->name, 0, 0, 0 };
	struct fdset inherited;
	struct run *rn;
	char err[1024], note[600];
	int64_t started, ended, mono0;
	json_t *r;
	char *text;
	int lockfd = -1, code, fd;

	/* a closed stdin/stdout/stderr would be taken by our pipes: /dev/null it is */
	for (fd = 0; fd < 3; fd++)
		if (fcntl(fd, F_GETFD) < 0 && open("/dev/null", O_RDWR) != fd)
			log_warn("fd %d was closed and cannot be opened on /dev/null", fd);
	fds_note_inherited(&inherited);
	signal(SIGPIPE, SIG_IGN);
	if (reporting) {
		if (state_dir_ready(a->cf.state_dir, err, sizeof(err)) < 0)
			log_error("%s: reports cannot be spooled", err);
		else
			w.can_spool = 1;
		w.can_send = wrap_connect(a) == 0;
		if (!w.can_send && !w.can_spool)
			log_error("heartbeat \"%s\": this run is not reported", o->name);
	}
	if (o->lock) {
		if (state_dir_ready(a->cf.state_dir, err, sizeof(err)) < 0 ||
		    (lockfd = take_lock(a->cf.state_dir, o->name, err, sizeof(err))) == -1) {
			log_error("heartbeat \"%s\": --lock: %s: the command was not run", o->name, err);
			return WRAP_EXIT_LOCKED;
		}
		if (lockfd == -2) {
			log_error("heartbeat \"%s\": overlapping run refused: previous run still holds "
			    "the lock (%s/locks): the command was not run", o->name, a->cf.state_dir);
			if ((r = hb_report_new(HB_FAIL, time_now_us())) != NULL &&
			    json_object_set_new(r, "output", json_string("overlapping run refused: "
			    "previous run still holds the lock")) < 0) {
				json_decref(r);
				r = NULL;
			}
			report(&w, r);
			json_decref(r);
			return WRAP_EXIT_LOCKED;
		}
	}

	started = time_now_us();
	mono0 = mono_now_us();
	r = hb_report_new(HB_START, started);
	report(&w, r);
	json_decref(r);

	if ((rn = calloc(1, sizeof(*rn))) == NULL) {
		log_error("out of memory");
		if (lockfd >= 0)
			close(lockfd);
		return WRAP_EXIT_FAILED;
	}
	fds_ours_cloexec(&inherited);
	run_command(o->argv, o->timeout_s, rn);
	/*
	 * The end is the start plus the run's duration on the monotonic clock:
	 * a wall clock stepped back during the run (NTP) must not make the end
	 * come before the start, which the server would refuse.
	 */
	ended = started + (mono_now_us() - mono0);

	note[0] = '\0';
	if (rn->fork_errno) {
		code = WRAP_EXIT_FAILED;
		snprintf(note, sizeof(note) - 1, "custos-agentd: cannot start %s: %s\n", o->argv[0],
		    strerror(rn->fork_errno));
	} else if (rn->exec_errno) {
		code = rn->exec_errno == ENOENT ? WRAP_EXIT_NOTFOUND : WRAP_EXIT_NOEXEC;
		snprintf(note, sizeof(note) - 1, "custos-agentd: cannot run %s: %s\n", o->argv[0],
		    strerror(rn->exec_errno));
	} else if (rn->timed_out) {
		code = WRAP_EXIT_TIMEOUT;
		snprintf(note, sizeof(note) - 1, "custos-agentd: timed out after %llds: the command's "
		    "process group was sent SIGTERM%s\n", o->timeout_s,
		    rn->killed ? ", then SIGKILL" : "");
	} else if (WIFSIGNALED(rn->status)) {
		code = 128 + WTERMSIG(rn->status);
		snprintf(note, sizeof(note) - 1, "custos-agentd: killed by signal %d (%s)\n",
		    WTERMSIG(rn->status), strsignal(WTERMSIG(rn->status)));
	} else {
		code = WEXITSTATUS(rn->status);
	}
	if (note[0]) {
		/* said on our stderr too, where the command's own errors went */
		fputs(note, stderr);
		fflush(stderr);
	}
	/* a note follows the output on a line of its own */
	if (note[0] && rn->out.len > 0 &&
	    rn->out.buf[(rn->out.start + rn->out.len - 1) % sizeof(rn->out.buf)] != '\n') {
		memmove(note + 1, note, strlen(note) + 1);
		note[0] = '\n';
	}
	text = tail_text(&rn->out, note[0] ? note : NULL, HB_OUTPUT_MAX);
	free(rn);

	if (!w.not_found) {
		char ts[RFC3339_LEN];

		rfc3339_format(started, ts);
		if ((r = hb_report_new(HB_EXIT, ended)) != NULL &&
		    (json_object_set_new(r, "exit_code", json_integer(code)) < 0 ||
		    json_object_set_new(r, "started_at", json_string(ts)) < 0 ||
		    json_object_set_new(r, "output", json_string(text ? text : "")) < 0)) {
			json_decref(r);
			r = NULL;
		}
		report(&w, r);
		json_decref(r);
	}
	free(text);
	if (lockfd >= 0)
		close(lockfd);
	return code;
}
