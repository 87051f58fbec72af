/*
 * httpc.h - the one HTTP client of custos (on libcurl): custos-agentd
 * talking to serverd, the CLI, and serverd's Pushover and webhook senders.
 *
 * What every caller gets, set once here:
 *   - schemes: http:// and https:// only. libcurl would also take file://,
 *     ftp://, ... and a token or a payload must go nowhere else; a URL with
 *     another scheme is refused before anything is sent.
 *   - redirects: never followed. A 3xx is an answer like any other: a
 *     bearer token must not follow a Location to another host, and a
 *     sender's POST must not be replayed somewhere the operator never named.
 *   - TLS: the peer's certificate and name are verified, TLS 1.2 at least;
 *     ca_file, when given, replaces the system's CA certificates.
 *   - time limits: one to connect (TLS handshake included) and one for the
 *     whole request, both required; a stream has no total limit but an idle
 *     one instead.
 *   - a cap on the answer's body: a larger answer is an error ("the answer
 *     is larger than N bytes"), or, for a caller that only wants the start
 *     of it (a sender reading a receiver's error text), cut.
 *   - the user agent "NAME/VERSION" and no "Expect: 100-continue" wait.
 *
 * What stays with each caller: its URL and headers (a token, a content
 * type, an idempotency key), what the answer means, and the answer headers
 * it wants (on_header).
 *
 * The process calls curl_global_init() once before the first client (and
 * before any thread starts); a client is used by one thread at a time.
 */
#ifndef CUSTOS_HTTPC_H
#define CUSTOS_HTTPC_H

#include <stddef.h>
#include <curl/curl.h>

#include "buf.h"

struct httpc_opts {
	const char *name;           /* the user agent's name: "custos-agentd" */
	const char *ca_file;        /* PEM CA certificates for https; NULL: the system's */
	long connect_ms;            /* to connect; 0: total_ms */
	long total_ms;              /* the whole request; 0 only for a stream (idle_s) */
	long idle_s;                /* no byte for this long ends a request; 0: no idle limit */
	size_t max_answer;          /* bytes of an answer's body kept (> 0) */
	int cut_answer;             /* 1: past max_answer is read and dropped (httpc.cut) */
	/* each answer header (name without ':', value trimmed), NULL: none wanted */
	void (*on_header)(void *ud, const char *name, const char *value);
	/*
	 * A stream: each piece of a 2xx answer's body goes here instead of into
	 * resp (another answer is collected into resp as usual); 0 to go on,
	 * -1 to stop (the request then fails).
	 */
	int (*on_body)(void *ud, const char *data, size_t len);
	void *ud;                   /* for on_header and on_body */
	/*
	 * A sender's connection, kept between requests: at most one connection
	 * is kept open, for at most keep_idle_s seconds idle and 10 minutes in
	 * all (so a moved host's new address is found). 0: libcurl's defaults
	 * (up to 5 kept, 118 s idle), as the agent and the CLI use them.
	 */
	long keep_idle_s;
	/*
	 * 1: a request is sent at most once. libcurl sends a request again, on
	 * a new connection, when a kept connection closes before any answer
	 * (the server may have closed it idle just as the request left), but
	 * the other side may also have taken it and then died: a page would
	 * come twice, the second unmarked. With once, such a request fails
	 * instead, with sent set (in doubt): a sender's retry of it is marked
	 * as a resend.
	 */
	int once;
};

struct httpc {
	CURL *curl;                 /* one handle, reused: keep-alive across requests */
	struct curl_slist *headers; /* sent with every request (httpc_header()) */
	struct httpc_opts o;        /* strings borrowed from the caller */
	long status;                /* the last answer's HTTP status (also when it then broke
	                               a limit, or a stream dropped); 0 for none */
	struct buf resp;            /* the last answer's body (the caller may buf_free it) */
	int cut;                    /* resp holds only the first max_answer bytes */
	int over;                   /* the answer passed the cap (an error) */
	int stopped;                /* on_body said stop */
	int sent;                   /* the last request went out whole (a failure after
	                               it leaves the other side in doubt: a sender's
	                               retry is then marked as a resend) */
	int tries;                  /* connections the last request was about to go out
	                               on (opts.once: a second one is refused) */
	char errbuf[CURL_ERROR_SIZE];
};

/* A client with options o (copied; its strings borrowed). 0, or -1 with err. */
int httpc_init(struct httpc *c, const struct httpc_opts *o, char *err, size_t errlen);
void httpc_free(struct httpc *c);
/*
 * Adds one header line ("Name: value") sent with every request of c; the
 * line is copied. 0, or -1 when out of memory.
 */
int httpc_header(struct httpc *c, const char *line);
/*
 * The time limit of c's next requests (as opts.total_ms; the connect
 * limit too when opts.connect_ms is 0): a kept client's settings may
 * change between requests (a SIGHUP).
 */
void httpc_set_total(struct httpc *c, long total_ms);

/*
 * One request: method to url (http:// or https://), body (len bytes, not
 * copied, NULL: none; POST, PUT and PATCH then send an empty one), extra
 * (NULL-terminated header lines for this request only, or NULL). Returns 0
 * when an answer arrived (c->status, c->resp: whatever the status), -1
 * when none did or it broke a limit (err says why: the scheme refused, the
 * time limit, the size cap, a TLS or network error).
 */
int httpc_request(struct httpc *c, const char *method, const char *url,
    const char *body, size_t len, const char *const *extra, char *err, size_t errlen);

/* 1 when url is http:// or https:// (any case), else 0. */
int httpc_scheme_ok(const char *url);

/*
 * Appends "&name=value" (no '&' first) to b, form-encoded
 * (application/x-www-form-urlencoded). 0, or -1 when out of memory (b has
 * failed: buf.h).
 */
int httpc_form_add(struct buf *b, const char *name, const char *value);

#endif
