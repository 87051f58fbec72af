/*
 * test_httpc.c - unit tests for lib/httpc.c, the one HTTP client, against
 * a tiny HTTP server on 127.0.0.1 in a thread of the test: an answer and
 * its headers, the size cap (refused, or cut when asked), the time limit
 * (the server holds the request until the client gives up), schemes
 * refused before anything is sent, redirects not followed, headers of one
 * request not sent with the next, and a request sent at most once (once)
 * when a kept connection closes with no answer. cmocka, TAP out.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "httpc.h"

enum mode {
	M_OK,           /* 200, 5 bytes, an X-Test header */
	M_BIG_LENGTH,   /* 200, Content-Length: BIG, BIG bytes */
	M_BIG_CLOSE,    /* 200, no length, BIG bytes, then close */
	M_STALL,        /* reads the request, answers nothing until the client leaves */
	M_REDIRECT,     /* 302 to /elsewhere */
	M_KEEP_DROP,    /* answers a connection's first request and keeps it open; reads
	                   the second one and closes with no answer */
};

#define BIG 100000

static int lfd = -1, port;
static pthread_t thr;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static enum mode mode;
static int requests;            /* requests the server has read */
static char last[8192];         /* the last request's text */

static void
send_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
		if (w <= 0)
			return;   /* the client gave up: fine */
		p += w;
		n -= (size_t)w;
	}
}

/* Reads one request (head and a Content-Length body) into last; 0 when the
 * client closed before sending anything (not counted). */
static size_t
read_request(int fd)
{
	char buf[8192];
	size_t got = 0;
	const char *end, *cl;
	size_t want = 0;

	for (;;) {
		ssize_t r = recv(fd, buf + got, sizeof(buf) - 1 - got, 0);
		if (r <= 0)
			break;
		got += (size_t)r;
		buf[got] = '\0';
		if ((end = strstr(buf, "\r\n\r\n")) != NULL) {
			if (want == 0 && (cl = strcasestr(buf, "\r\nContent-Length:")) != NULL && cl < end)
				want = (size_t)(end + 4 - buf) + strtoul(cl + 17, NULL, 10);
			if (got >= want)
				break;
		}
		if (got == sizeof(buf) - 1)
			break;
	}
	buf[got] = '\0';
	if (got == 0)
		return 0;
	pthread_mutex_lock(&mu);
	memcpy(last, buf, got + 1);
	requests++;
	pthread_mutex_unlock(&mu);
	return got;
}

static void *
serve(void *arg)
{
	static char big[BIG];
	char head[256];
	int fd;

	(void)arg;
	memset(big, 'x', sizeof(big));
	while ((fd = accept(lfd, NULL, NULL)) >= 0) {
		enum mode m;

		read_request(fd);
		pthread_mutex_lock(&mu);
		m = mode;
		pthread_mutex_unlock(&mu);
		switch (m) {
		case M_OK:
			snprintf(head, sizeof(head), "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n"
			    "X-Test:  yes \r\nConnection: close\r\n\r\nhello");
			send_all(fd, head, strlen(head));
			break;
		case M_BIG_LENGTH:
			snprintf(head, sizeof(head), "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n"
			    "Connection: close\r\n\r\n", BIG);
			send_all(fd, head, strlen(head));
			send_all(fd, big, sizeof(big));
			break;
		case M_BIG_CLOSE:
			snprintf(head, sizeof(head), "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n");
			send_all(fd, head, strlen(head));
			send_all(fd, big, sizeof(big));
			break;
		case M_STALL:
			while (recv(fd, head, sizeof(head), 0) > 0)
				;
			break;
		case M_REDIRECT:
			snprintf(head, sizeof(head), "HTTP/1.1 302 Found\r\nLocation: http://127.0.0.1:%d"
			    "/elsewhere\r\nContent-Length: 0\r\nConnection: close\r\n\r\n", port);
			send_all(fd, head, strlen(head));
			break;
		case M_KEEP_DROP:
			snprintf(head, sizeof(head), "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
			send_all(fd, head, strlen(head));
			(void)read_request(fd);   /* taken, never answered */
			break;
		}
		close(fd);
	}
	return NULL;
}

static int
setup(void **state)
{
	struct sockaddr_in a;
	socklen_t alen = sizeof(a);

	(void)state;
	curl_global_init(CURL_GLOBAL_DEFAULT);
	lfd = socket(AF_INET, SOCK_STREAM, 0);
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(lfd, 8) < 0 ||
	    getsockname(lfd, (struct sockaddr *)&a, &alen) < 0)
		return -1;
	port = ntohs(a.sin_port);
	return pthread_create(&thr, NULL, serve, NULL) == 0 ? 0 : -1;
}

static int
teardown(void **state)
{
	(void)state;
	shutdown(lfd, SHUT_RDWR);   /* accept() returns: the thread ends */
	pthread_join(thr, NULL);
	close(lfd);
	curl_global_cleanup();
	return 0;
}

static void
set_mode(enum mode m)
{
	pthread_mutex_lock(&mu);
	mode = m;
	pthread_mutex_unlock(&mu);
}

static int
served(void)
{
	int n;

	pthread_mutex_lock(&mu);
	n = requests;
	pthread_mutex_unlock(&mu);
	return n;
}

static char url[64];

static const char *
url_of(const char *path)
{
	snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", port, path);
	return url;
}

static const struct httpc_opts base = {
	.name = "custos-test", .total_ms = 10000, .max_answer = 1000,
};

static char seen_test[64];

static void
on_header(void *ud, const char *name, const char *value)
{
	(void)ud;
	if (strcmp(name, "X-Test") == 0)
		snprintf(seen_test, sizeof(seen_test), "%s", value);
}

static void
test_answer(void **state)
{
	struct httpc_opts o = base;
	struct httpc h;
	const char *const extra[] = { "X-One: 1", NULL };
	char err[256];

	(void)state;
	o.on_header = on_header;
	set_mode(M_OK);
	assert_int_equal(httpc_init(&h, &o, err, sizeof(err)), 0);
	assert_int_equal(httpc_header(&h, "Authorization: Bearer t0k"), 0);
	assert_int_equal(httpc_request(&h, "POST", url_of("/in"), "{\"a\":1}", 7, extra,
	    err, sizeof(err)), 0);
	assert_int_equal(h.status, 200);
	assert_string_equal(h.resp.ptr, "hello");
	assert_string_equal(seen_test, "yes");
	pthread_mutex_lock(&mu);
	assert_non_null(strstr(last, "POST /in HTTP/1.1\r\n"));
	assert_non_null(strstr(last, "\r\nUser-Agent: custos-test/" PACKAGE_VERSION "\r\n"));
	assert_non_null(strstr(last, "\r\nAuthorization: Bearer t0k\r\n"));
	assert_non_null(strstr(last, "\r\nX-One: 1\r\n"));
	assert_null(strstr(last, "Expect:"));
	assert_non_null(strstr(last, "\r\n\r\n{\"a\":1}"));
	pthread_mutex_unlock(&mu);
	/* the next request on the handle: a GET, without the first one's extra header */
	assert_int_equal(httpc_request(&h, "GET", url_of("/again"), NULL, 0, NULL,
	    err, sizeof(err)), 0);
	pthread_mutex_lock(&mu);
	assert_non_null(strstr(last, "GET /again HTTP/1.1\r\n"));
	assert_non_null(strstr(last, "\r\nAuthorization: Bearer t0k\r\n"));
	assert_null(strstr(last, "X-One"));
	pthread_mutex_unlock(&mu);
	/* a POST without a body sends an empty one */
	assert_int_equal(httpc_request(&h, "POST", url_of("/empty"), NULL, 0, NULL,
	    err, sizeof(err)), 0);
	pthread_mutex_lock(&mu);
	assert_non_null(strstr(last, "\r\nContent-Length: 0\r\n"));
	pthread_mutex_unlock(&mu);
	httpc_free(&h);
}

/*
 * A kept connection that closes after the request and before any answer:
 * libcurl sends the request again on a new connection (the server sees it
 * twice); with once it fails instead, sent (in doubt), seen once.
 */
static void
test_once(void **state)
{
	struct httpc_opts o = base;
	struct httpc h;
	char err[256];
	int once, before, rc;

	(void)state;
	o.keep_idle_s = 30;
	set_mode(M_KEEP_DROP);
	for (once = 1; once >= 0; once--) {
		o.once = once;
		assert_int_equal(httpc_init(&h, &o, err, sizeof(err)), 0);
		before = served();
		assert_int_equal(httpc_request(&h, "POST", url_of("/first"), "1", 1, NULL,
		    err, sizeof(err)), 0);
		assert_int_equal(h.status, 200);
		rc = httpc_request(&h, "POST", url_of("/second"), "2", 1, NULL, err, sizeof(err));
		if (once) {
			assert_int_equal(rc, -1);
			assert_int_equal(h.sent, 1);
			assert_non_null(strstr(err, "closed with no answer"));
			assert_int_equal(served() - before, 2);
		} else {
			/* what once prevents: the second POST went out twice */
			assert_int_equal(rc, 0);
			assert_int_equal(served() - before, 3);
		}
		httpc_free(&h);
	}
}

static void
test_size_cap(void **state)
{
	static const enum mode modes[] = { M_BIG_LENGTH, M_BIG_CLOSE };
	struct httpc h;
	char err[256];
	size_t i;

	(void)state;
	for (i = 0; i < 2; i++) {
		set_mode(modes[i]);
		assert_int_equal(httpc_init(&h, &base, err, sizeof(err)), 0);
		assert_int_equal(httpc_request(&h, "GET", url_of("/big"), NULL, 0, NULL,
		    err, sizeof(err)), -1);
		assert_string_equal(err, "the answer is larger than 1000 bytes: refused");
		assert_null(h.resp.ptr);
		httpc_free(&h);
	}
}

static void
test_size_cap_cut(void **state)
{
	struct httpc_opts o = base;
	struct httpc h;
	char err[256];

	(void)state;
	o.cut_answer = 1;
	set_mode(M_BIG_LENGTH);
	assert_int_equal(httpc_init(&h, &o, err, sizeof(err)), 0);
	assert_int_equal(httpc_request(&h, "GET", url_of("/big"), NULL, 0, NULL,
	    err, sizeof(err)), 0);
	assert_int_equal(h.status, 200);
	assert_int_equal(h.resp.len, 1000);
	assert_int_equal(h.cut, 1);
	httpc_free(&h);
}

static void
test_time_limit(void **state)
{
	struct httpc_opts o = base;
	struct httpc h;
	char err[256];

	(void)state;
	o.total_ms = 300;   /* the server never answers: the limit, not the server, ends it */
	set_mode(M_STALL);
	assert_int_equal(httpc_init(&h, &o, err, sizeof(err)), 0);
	assert_int_equal(httpc_request(&h, "GET", url_of("/slow"), NULL, 0, NULL,
	    err, sizeof(err)), -1);
	assert_non_null(strstr(err, "time limit reached"));
	assert_int_equal(h.status, 0);
	httpc_free(&h);
}

static void
test_scheme_refused(void **state)
{
	static const char *const bad[] = {
		"file:///etc/passwd", "ftp://127.0.0.1/x", "gopher://127.0.0.1/", "127.0.0.1:80/x",
		"", NULL,
	};
	struct httpc h;
	char err[256];
	int before = served(), i;

	(void)state;
	assert_int_equal(httpc_init(&h, &base, err, sizeof(err)), 0);
	for (i = 0; bad[i]; i++) {
		assert_int_equal(httpc_request(&h, "GET", bad[i], NULL, 0, NULL, err, sizeof(err)), -1);
		assert_non_null(strstr(err, "https://"));
	}
	assert_int_equal(httpc_request(&h, "GET", "file:///etc/passwd", NULL, 0, NULL,
	    err, sizeof(err)), -1);
	assert_string_equal(err, "file:// is refused: only http:// and https:// URLs are spoken");
	assert_int_equal(served(), before);
	assert_int_equal(httpc_scheme_ok("HTTPS://example.org/"), 1);
	assert_int_equal(httpc_scheme_ok("http:/example.org/"), 0);
	httpc_free(&h);
}

static void
test_redirect_not_followed(void **state)
{
	struct httpc h;
	char err[256];
	int before = served();

	(void)state;
	set_mode(M_REDIRECT);
	assert_int_equal(httpc_init(&h, &base, err, sizeof(err)), 0);
	assert_int_equal(httpc_request(&h, "GET", url_of("/moved"), NULL, 0, NULL,
	    err, sizeof(err)), 0);
	assert_int_equal(h.status, 302);
	assert_int_equal(served(), before + 1);
	httpc_free(&h);
}

static void
test_options_required(void **state)
{
	struct httpc_opts o = base;
	struct httpc h;
	char err[256];

	(void)state;
	o.total_ms = 0;   /* no limit at all */
	assert_int_equal(httpc_init(&h, &o, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "time limits"));
	o = base;
	o.max_answer = 0;
	assert_int_equal(httpc_init(&h, &o, err, sizeof(err)), -1);
	o = base;
	o.total_ms = 0;
	o.idle_s = 60;     /* a stream: an idle limit, and connecting takes its own */
	o.connect_ms = 1000;
	assert_int_equal(httpc_init(&h, &o, err, sizeof(err)), 0);
	httpc_free(&h);
}

static void
test_form(void **state)
{
	struct buf b;

	(void)state;
	buf_init(&b, 1024);
	assert_int_equal(httpc_form_add(&b, "token", "a b&c=d"), 0);
	assert_int_equal(httpc_form_add(&b, "title", "é"), 0);
	assert_string_equal(b.ptr, "token=a%20b%26c%3Dd&title=%C3%A9");
	buf_free(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_answer),
		cmocka_unit_test(test_once),
		cmocka_unit_test(test_size_cap),
		cmocka_unit_test(test_size_cap_cut),
		cmocka_unit_test(test_time_limit),
		cmocka_unit_test(test_scheme_refused),
		cmocka_unit_test(test_redirect_not_followed),
		cmocka_unit_test(test_options_required),
		cmocka_unit_test(test_form),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
