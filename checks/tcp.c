/*
 * tcp.c - the tcp check: the time to complete a TCP connect, in ms. Each
 * address of the host is tried in turn (non-blocking connect + poll) until
 * one answers or the timeout, shared by all of them, runs out. Refused,
 * unreachable and timed out are CRITICAL; a name that does not resolve is
 * UNKNOWN, as in check_tcp.
 */
#include "config.h"
#include "check.h"
#include "params.h"
#include "timeutil.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

struct tcp_params {
	char *host;
	int port;
	int timeout_ms;        /* 0: the agent's default */
};

static void
tcp_free(void *vp)
{
	struct tcp_params *p = vp;

	if (p) {
		free(p->host);
		free(p);
	}
}

static int
tcp_parse(json_t *params, void **out, char *err, size_t errlen, const char **field)
{
	static const char *const keys[] = { "host", "port", "timeout_ms", NULL };
	struct tcp_params *p;
	const char *host;
	long long port, timeout;

	*out = NULL;
	if (params_allowed(params, keys, err, errlen, field) < 0 ||
	    params_string(params, "host", 1, 255, &host, err, errlen, field) < 0 ||
	    params_int(params, "port", 1, 1, 65535, 0, &port, err, errlen, field) < 0 ||
	    params_int(params, "timeout_ms", 0, 1, 300000, 0, &timeout, err, errlen, field) < 0)
		return -1;
	if ((p = calloc(1, sizeof(*p))) == NULL || (p->host = strdup(host)) == NULL) {
		free(p);
		return params_error("host", err, errlen, field, "out of memory");
	}
	p->port = (int)port;
	p->timeout_ms = (int)timeout;
	*out = p;
	return 0;
}

/* 0 connected, else an errno (ETIMEDOUT when the time ran out) */
static int
try_connect(const struct addrinfo *ai, int64_t deadline_ms)
{
	struct pollfd pfd;
	socklen_t len;
	int fd, rc, soerr = 0;

	fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
	if (fd < 0)
		return errno;
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) {
		close(fd);
		return 0;
	}
	if (errno != EINPROGRESS) {
		rc = errno;
		close(fd);
		return rc;
	}
	pfd.fd = fd;
	pfd.events = POLLOUT;
	for (;;) {
		int64_t left = deadline_ms - mono_now_ms();
		if (left <= 0) {
			close(fd);
			return ETIMEDOUT;
		}
		rc = poll(&pfd, 1, (int)left);
		if (rc < 0 && errno == EINTR)
			continue;
		if (rc < 0) {
			rc = errno;
			close(fd);
			return rc;
		}
		if (rc > 0)
			break;
	}
	len = sizeof(soerr);
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) < 0)
		soerr = errno;
	close(fd);
	return soerr;
}

static void
tcp_run(const void *vp, struct check_env *env, struct check_out *o)
{
	const struct tcp_params *p = vp;
	struct addrinfo hints, *res = NULL, *ai;
	char port[8];
	int64_t t0, deadline;
	int timeout = p->timeout_ms ? p->timeout_ms : env->timeout_ms;
	int rc, last = ECONNREFUSED;

	o->label = "TCP";
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	snprintf(port, sizeof(port), "%d", p->port);
	t0 = mono_now_us();
	deadline = t0 / 1000 + timeout;
	if ((rc = getaddrinfo(p->host, port, &hints, &res)) != 0) {
		check_fail(o, CHECK_UNKNOWN, "%s: %s", p->host, gai_strerror(rc));
		return;
	}
	for (ai = res; ai; ai = ai->ai_next) {
		if ((last = try_connect(ai, deadline)) == 0)
			break;
		if (last == ETIMEDOUT)
			break;
	}
	freeaddrinfo(res);
	if (last != 0) {
		if (last == ETIMEDOUT)
			check_fail(o, CHECK_CRITICAL, "%s:%d: no answer within %d ms",
			    p->host, p->port, timeout);
		else
			check_fail(o, CHECK_CRITICAL, "%s:%d: %s", p->host, p->port, strerror(last));
		return;
	}
	check_set_value(o, (double)(mono_now_us() - t0) / 1000.0, 3);
	check_detail(o, "%s:%d answered in %.3f ms", p->host, p->port, o->value);
	o->perf_label = "time";
	o->uom = "ms";
	o->has_min = 1;
	o->min = 0;
}

/* The check's own timeout ends it; the time limit is a backstop after it. */
static int
tcp_time_limit(const void *vp, const struct check_env *env)
{
	const struct tcp_params *p = vp;

	return (p->timeout_ms ? p->timeout_ms : env->timeout_ms) + CHECK_LIMIT_SLACK_MS;
}

const struct check_type check_type_tcp = {
	.name = "tcp",
	.parse_params = tcp_parse,
	.free_params = tcp_free,
	.run = tcp_run,
	.time_limit_ms = tcp_time_limit,
};
