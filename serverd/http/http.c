/*
 * http.c - libmicrohttpd glue and the dispatcher.
 *
 * MHD runs its own polling threads (a pool of the configuration's
 * threads); a handler runs on the pool thread that owns the connection, so
 * each thread's database connection (db.c) is used by one request at a
 * time.
 *
 * A request goes: route match (404/405) -> authentication at the door,
 * as soon as the headers are in (gate(): 401/403, before a byte of the
 * body is read) -> body accumulation, capped at max_body_bytes (413
 * without buffering the rest) -> JSON parse (400; not for a BODY_RAW
 * route, whose handler reads the raw body itself) -> handler -> one
 * response writer. The
 * answer is always queued on the final call, never the first, so
 * keep-alive works (MHD closes a connection answered on its first call).
 */
#include "config.h"
#include "http.h"
#include "auth.h"
#include "authcache.h"
#include "buf.h"
#include "db.h"
#include "edge.h"
#include "invariant.h"
#include "log.h"
#include "metrics.h"
#include "serverd.h"
#include "session.h"
#include "stream.h"
#include "strnum.h"
#include "timeutil.h"
#include "urlredact.h"

#include <arpa/inet.h>
#include <pthread.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdatomic.h>
#include <unistd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>

#define ROUTE_MAX_SEGS 8
/* a year; no includeSubDomains: custos does not speak for its neighbours */
#define HSTS "max-age=31536000"
/*
 * TLS 1.2 and 1.3 only (GnuTLS priority string): 1.0 and 1.1 are
 * deprecated (RFC 8996) and every agent and browser custos supports
 * speaks 1.2.
 */
#define TLS_PRIORITIES "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2"

struct conn_ctx {
	struct buf body;
	int too_big;
	const struct route *route;
	int64_t id[2];
	int64_t t0;
	long long max_body;   /* max_body_bytes of the snapshot the request started with */
	int authed;           /* the token was checked at the door (gate()) */
	struct principal who; /* ... and stands for this principal */
	/* a bulk request (see "bulk" below): run by a bulk thread while its
	 * connection is suspended; answered from done_rs once resumed */
	struct MHD_Connection *mc;
	const char *method, *url;   /* MHD's, valid until the request completes */
	struct conn_ctx *next;      /* in the bulk queue */
	int offloaded, done;
	struct resp done_rs;
};

static char *pem_cert, *pem_key;   /* TLS material, owned here */
static int tls_on;                  /* served over TLS: every answer says so (HSTS) */
static atomic_int in_flight;        /* requests between first call and completion */
/* http_open()'s, for http_start(); the daemon's from then on */
static int listen_fd = -1;
static int served_fd = -1;          /* its number while the daemon has it */
static uint16_t listen_port;
static unsigned pool_threads, pool_max_conns;
static struct MHD_Daemon *mhd;
static const char *listen_addr;     /* cf->listen: the start snapshot lives to exit */
static unsigned bulk_nthreads;      /* bulk_threads of the start snapshot */

/* ---- routing ------------------------------------------------------------ */

/* Splits path into segments in place-free fashion: returns count or -1. */
static int
split(const char *path, const char *seg[], size_t len[], int max)
{
	int n = 0;
	const char *p = path;

	if (*p != '/')
		return -1;
	while (*p) {
		const char *s;
		p++;   /* skip '/' */
		s = p;
		while (*p && *p != '/')
			p++;
		if (n == max)
			return -1;
		seg[n] = s;
		len[n] = (size_t)(p - s);
		n++;
	}
	/* a trailing slash makes an empty last segment: tolerate it */
	if (n > 1 && len[n - 1] == 0)
		n--;
	return n;
}

static int
match(const char *pattern, const char *seg[], const size_t len[], int n, int64_t id[2])
{
	const char *pseg[ROUTE_MAX_SEGS];
	size_t plen[ROUTE_MAX_SEGS];
	int pn = split(pattern, pseg, plen, ROUTE_MAX_SEGS), i, nid = 0;

	if (pn != n)
		return 0;
	for (i = 0; i < n; i++) {
		if (plen[i] == 4 && memcmp(pseg[i], "{id}", 4) == 0) {
			char tmp[24];
			const char *es;
			if (len[i] == 0 || len[i] >= sizeof(tmp))
				return 0;
			memcpy(tmp, seg[i], len[i]);
			tmp[len[i]] = '\0';
			id[nid++] = str_to_ll(tmp, 1, INT64_MAX, &es);
			if (es)
				return 0;
		} else if (plen[i] > 2 && pseg[i][0] == '{' && pseg[i][plen[i] - 1] == '}') {
			/* {uuid}, {name}: any non-empty segment; the handler reads
			 * it from r->path */
			if (len[i] == 0)
				return 0;
		} else if (plen[i] != len[i] || memcmp(pseg[i], seg[i], len[i]) != 0) {
			return 0;
		}
	}
	return 1;
}

/* Finds the route; on a path match with the wrong method sets *allow. */
static const struct route *
route_find(const char *method, const char *path, int64_t id[2], char *allow, size_t allowlen)
{
	const char *seg[ROUTE_MAX_SEGS];
	size_t len[ROUTE_MAX_SEGS];
	const struct route *rt;
	int n = split(path, seg, len, ROUTE_MAX_SEGS);
	size_t off = 0;

	allow[0] = '\0';
	if (n < 0)
		return NULL;
	for (rt = routes; rt->method; rt++) {
		int64_t tid[2] = { 0, 0 };
		if (!match(rt->pattern, seg, len, n, tid))
			continue;
		if (strcmp(rt->method, method) == 0 ||
		    (strcmp(method, "HEAD") == 0 && strcmp(rt->method, "GET") == 0)) {
			id[0] = tid[0];
			id[1] = tid[1];
			return rt;
		}
		if (off < allowlen && !strstr(allow, rt->method))
			off += (size_t)snprintf(allow + off, allowlen - off, "%s%s",
			    off ? ", " : "", rt->method);
	}
	return NULL;
}

/* ---- the dispatcher ----------------------------------------------------- */

/*
 * Headers every answer carries unless its handler set its own: no answer
 * is sniffed into another type (a JSON error echoing a name must never be
 * run as HTML), and no JSON answer is kept by a browser or a proxy (it
 * holds monitoring data, some of it for the logged-in role only). Pages
 * and files set their own (static.c: no-cache, CSP), the stream too.
 */
static void
safe_headers(struct MHD_Response *mr)
{
	const char *ct = MHD_get_response_header(mr, MHD_HTTP_HEADER_CONTENT_TYPE);

	if (MHD_get_response_header(mr, "X-Content-Type-Options") == NULL)
		MHD_add_response_header(mr, "X-Content-Type-Options", "nosniff");
	if (ct && strncmp(ct, "application/json", 16) == 0 &&
	    MHD_get_response_header(mr, MHD_HTTP_HEADER_CACHE_CONTROL) == NULL)
		MHD_add_response_header(mr, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
}

static enum MHD_Result
send_resp(struct MHD_Connection *mc, struct resp *rs, const char *method,
    const char *url, int64_t t0)
{
	struct MHD_Response *mr;
	char *text = NULL;
	size_t len = 0;
	enum MHD_Result ret;

	if (rs->raw) {
		safe_headers(rs->raw);
		if (tls_on)
			MHD_add_response_header(rs->raw, MHD_HTTP_HEADER_STRICT_TRANSPORT_SECURITY, HSTS);
		ret = MHD_queue_response(mc, (unsigned)rs->status, rs->raw);
		MHD_destroy_response(rs->raw);
		rs->raw = NULL;
		json_decref(rs->json);
		rs->json = NULL;
		log_debug("%s %s -> %d (%lld us)", method, url, rs->status,
		    (long long)(mono_now_us() - t0));
		return ret;
	}
	if (rs->json && rs->status != 304) {
		text = json_dumps(rs->json, JSON_COMPACT);
		if (text && rs->redact_urls) {
			char *r;
			size_t rn;
			int rc = url_redact(text, strlen(text), &r, &rn);
			if (rc != 0) {
				free(text);
				text = rc > 0 ? r : NULL;   /* out of memory: no answer, not the secret */
			}
		}
		if (text == NULL) {
			rs->status = 500;
		} else {
			len = strlen(text);
			text[len++] = '\n';   /* json_dumps' NUL becomes a newline; len excludes none */
		}
	}
	mr = MHD_create_response_from_buffer(len, text, text ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
	if (mr == NULL) {
		free(text);
		return MHD_NO;
	}
	if (text)
		MHD_add_response_header(mr, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
	if (rs->etag[0])
		MHD_add_response_header(mr, MHD_HTTP_HEADER_ETAG, rs->etag);
	if (rs->location[0])
		MHD_add_response_header(mr, MHD_HTTP_HEADER_LOCATION, rs->location);
	if (rs->allow)
		MHD_add_response_header(mr, MHD_HTTP_HEADER_ALLOW, rs->allow);
	if (rs->status == 401)
		MHD_add_response_header(mr, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer realm=\"custos\"");
	/* a handler that knows when to come back says so (a ping's rate limit) */
	if (rs->retry_after[0])
		MHD_add_response_header(mr, MHD_HTTP_HEADER_RETRY_AFTER, rs->retry_after);
	else if (rs->status == 503 || rs->status == 429)
		MHD_add_response_header(mr, MHD_HTTP_HEADER_RETRY_AFTER, "5");
	safe_headers(mr);
	if (tls_on)
		MHD_add_response_header(mr, MHD_HTTP_HEADER_STRICT_TRANSPORT_SECURITY, HSTS);
	ret = MHD_queue_response(mc, (unsigned)rs->status, mr);
	MHD_destroy_response(mr);
	log_debug("%s %s -> %d (%lld us)", method, url, rs->status,
	    (long long)(mono_now_us() - t0));
	json_decref(rs->json);
	rs->json = NULL;
	return ret;
}

static const char *
bearer(struct MHD_Connection *mc)
{
	const char *h = MHD_lookup_connection_value(mc, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);

	if (h == NULL || strncasecmp(h, "Bearer ", 7) != 0)
		return NULL;
	h += 7;
	while (*h == ' ')
		h++;
	return *h ? h : NULL;
}

int
http_authenticate(struct req *r, enum need need, struct resp *rs)
{
	enum auth_result st = auth_lookup(r->db, r->token, &r->who);

	if (st == AUTH_UNKNOWN) {
		resp_error(rs, 401, NULL, "unknown token");
		return -1;
	} else if (st == AUTH_UNAVAILABLE) {
		resp_error(rs, 503, NULL, "database unavailable");
		return -1;
	} else if (st != AUTH_FOUND) {
		resp_error(rs, 500, NULL, "internal error");
		return -1;
	}
	switch (need) {
	case NEED_READ:
		if (r->who.kind != WHO_ADMIN && r->who.kind != WHO_OPERATOR &&
		    r->who.kind != WHO_VIEWER) {
			resp_error(rs, 403, NULL, "this token may not use this route");
			return -1;
		}
		break;
	case NEED_OPERATOR:
		if (r->who.kind != WHO_ADMIN && r->who.kind != WHO_OPERATOR) {
			resp_error(rs, 403, NULL, "this route needs an operator or admin token");
			return -1;
		}
		break;
	case NEED_ADMIN:
		if (r->who.kind != WHO_ADMIN) {
			resp_error(rs, 403, NULL, "this route needs an admin token");
			return -1;
		}
		break;
	case NEED_AGENT:
	case NEED_AGENT_LAZY:
		if (r->who.kind != WHO_AGENT) {
			resp_error(rs, 403, NULL, "this route needs an agent token");
			return -1;
		}
		break;
	case NEED_NONE:
		break;
	}
	return 0;
}

/*
 * The door: a route that needs a token checks it as soon as the headers are
 * in, before one byte of the body is read or parsed. No token, an unknown
 * one or one of the wrong kind is answered there (401/403; 503 when the
 * database cannot say). A known token is a lookup in memory (authcache.h),
 * so the hot agent routes pay nothing for the early check.
 */
static int
gate(struct conn_ctx *cx, struct MHD_Connection *mc, const char *method, struct resp *rs)
{
	const struct route *rt = cx->route;
	struct req r;

	if (rt == NULL || rt->need == NEED_NONE)
		return 0;
	memset(&r, 0, sizeof(r));
	r.mc = mc;
	r.method = method;
	if ((r.token = bearer(mc)) == NULL) {
		/* no bearer token: a browser session's cookie may stand for one
		 * (session.h; a write must then be JSON, checked here as well) */
		int st = session_authenticate(&r, rt->need, rs);
		if (st > 0)
			resp_error(rs, 401, NULL, "missing bearer token");
		if (st != 0)
			return -1;
		cx->who = r.who;
		cx->authed = 1;
		return 0;
	}
	if ((r.db = db_conn()) == NULL) {
		resp_error(rs, 503, NULL, "database unavailable");
		return -1;
	}
	if (http_authenticate(&r, rt->need, rs) < 0)
		return -1;
	cx->who = r.who;
	cx->authed = 1;
	return 0;
}

static void
dispatch(struct conn_ctx *cx, struct MHD_Connection *mc, const char *method,
    const char *url, struct resp *rs)
{
	const struct route *rt = cx->route;
	struct req r;
	json_error_t jerr;

	memset(&r, 0, sizeof(r));
	r.mc = mc;
	r.method = method;
	r.path = url;
	r.id[0] = cx->id[0];
	r.id[1] = cx->id[1];
	if (rt->need != NEED_NONE) {
		/* gate() checked the token or the session cookie at the door */
		if (!cx->authed) {
			resp_error(rs, 401, NULL, "missing bearer token");
			return;
		}
		if ((r.db = db_conn_worker()) == NULL) {
			resp_error(rs, 503, NULL, "database unavailable");
			return;
		}
		r.token = bearer(mc);   /* NULL under a session cookie */
		r.who = cx->who;
		rs->redact_urls = r.who.kind == WHO_OPERATOR || r.who.kind == WHO_VIEWER;
	}
	tokens_touch(&r);
	if (cx->body.len > 0) {
		r.raw = cx->body.ptr;
		r.raw_len = cx->body.len;
		if (rt->body != BODY_RAW &&
		    (r.body = json_loadb(cx->body.ptr, cx->body.len, JSON_REJECT_DUPLICATES,
		    &jerr)) == NULL) {
			resp_error(rs, 400, NULL, "malformed JSON: %s (line %d, column %d)",
			    jerr.text, jerr.line, jerr.column);
			return;
		}
	}
	rt->fn(&r, rs);
	/* an admin write may change what cached principals hold (auth.c): the
	 * cache starts again before the client hears that the write is done
	 * (an operator's too: enabling a check moves its agent's revision) */
	if ((rt->need == NEED_ADMIN || rt->need == NEED_OPERATOR) && rs->status < 400)
		authcache_invalidate();
	/* and what /api/v1/status remembers (stream.h); a login or logout
	 * changes nothing it shows, and a login is followed by /status at
	 * once (the dashboard's first paint): answered from memory; a route a
	 * viewer may use changes nothing, whatever its method (a backtest) */
	if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0 && rs->status < 400 &&
	    rt->need != NEED_READ && strcmp(url, "/api/v1/session") != 0)
		stream_changed();
	json_decref(r.body);
}

void
resp_json_buf(struct resp *rs, int status, struct buf *b)
{
	struct MHD_Response *mr;
	size_t len = b->len;
	char *text;

	if (b->failed) {
		buf_free(b);
		resp_error(rs, 500, NULL, "out of memory");
		return;
	}
	text = buf_take(b);
	if (text && rs->redact_urls) {
		char *red;
		size_t rlen;
		int rc = url_redact(text, len, &red, &rlen);
		if (rc != 0) {
			free(text);
			text = rc > 0 ? red : NULL;   /* out of memory: no answer, not the secret */
			len = rlen;
		}
	}
	if (text == NULL ||
	    (mr = MHD_create_response_from_buffer(len, text, MHD_RESPMEM_MUST_FREE)) == NULL) {
		free(text);
		resp_error(rs, 500, NULL, "out of memory");
		return;
	}
	MHD_add_response_header(mr, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
	json_decref(rs->json);
	rs->json = NULL;
	rs->status = status;
	rs->raw = mr;
}

/* ---- bulk: large bodies run on threads of their own ------------------------ */

/*
 * A connection belongs to the MHD pool thread that accepted it, and that
 * thread serves its connections one request at a time: an agent's one
 * result waited behind another agent's batch of hundreds (or an apply of
 * a whole fleet) that happened to share its thread, for as long as that
 * took. So a request whose body is BULK_MIN_BYTES or more on a route that
 * takes batches (BODY_RAW: ingest; BODY_JSON_BIG: the configuration) is
 * handed to one of bulk_threads threads, its connection suspended
 * meanwhile, and the pool thread goes on serving its other connections.
 * The bulk threads are also how many such requests reach PostgreSQL at
 * once: more agents posting batches than that queue here, asleep, instead
 * of crowding the CPUs on which an alert has to be evaluated and sent.
 * Each bulk thread has its own database connection (db.c).
 *
 * A route marked RUN_ASIDE (routes.c: the long reads, such as the agent
 * list with every agent's availability, a check's history or a backtest)
 * goes the same way whatever its size: it held its pool thread for as long
 * as PostgreSQL took, and every other connection of that thread waited,
 * an agent's result and the dashboard's files among them (a check page's
 * modules waited a quarter of a second behind the agent list of the page
 * before). Those reads have a queue of their own, taken first: a person
 * waiting for a page waits for at most the batches already running, not
 * for the ones queued behind them.
 */
#define BULK_MIN_BYTES 4096          /* some 40 results; an alert's single one is far below */
#define BULK_MAX_THREADS 64

static pthread_mutex_t bulk_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t bulk_cv = PTHREAD_COND_INITIALIZER;
/* the queues, guarded by bulk_mu: the RUN_ASIDE reads, then the batches */
static struct cxq { struct conn_ctx *head, *tail; } bulk_reads, bulk_batches;
static int bulk_stopping;                        /* guarded by bulk_mu */
static unsigned bulk_alive;                      /* threads not ending yet (bulk_mu) */
static pthread_t bulk_tid[BULK_MAX_THREADS];
static unsigned bulk_running;
static atomic_uint bulk_queued;                  /* waiting for a bulk thread (/metrics) */

unsigned
http_bulk_queued(void)
{
	return atomic_load(&bulk_queued);
}

/* (bulk_nthreads is fixed before the daemon starts; whether a thread is
 * still there to take it is bulk_push()'s to say, under bulk_mu) */
static int
is_bulk(const struct conn_ctx *cx)
{
	return bulk_nthreads > 0 && (cx->route->run == RUN_ASIDE ||
	    (cx->body.len >= BULK_MIN_BYTES &&
	    (cx->route->body == BODY_RAW || cx->route->body == BODY_JSON_BIG)));
}

/*
 * Queues cx for a bulk thread: 0, or -1 when no thread is left to run it
 * (serverd is stopping and bulk_stop() has ended them). Decided under
 * bulk_mu, where a thread decides to end, so what is queued is run.
 */
static int
bulk_push(struct conn_ctx *cx)
{
	struct cxq *q;

	pthread_mutex_lock(&bulk_mu);
	if (bulk_alive == 0) {
		pthread_mutex_unlock(&bulk_mu);
		return -1;
	}
	q = cx->route->run == RUN_ASIDE ? &bulk_reads : &bulk_batches;
	cx->next = NULL;
	if (q->tail)
		q->tail->next = cx;
	else
		q->head = cx;
	q->tail = cx;
	atomic_fetch_add(&bulk_queued, 1);
	pthread_cond_signal(&bulk_cv);
	pthread_mutex_unlock(&bulk_mu);
	return 0;
}

static _Thread_local int on_bulk;

int
http_on_bulk_thread(void)
{
	return on_bulk;
}

static void *
bulk_main(void *arg)
{
	(void)arg;
	on_bulk = 1;
	for (;;) {
		struct conn_ctx *cx;
		struct cxq *q;
		struct resp rs;

		pthread_mutex_lock(&bulk_mu);
		while (bulk_reads.head == NULL && bulk_batches.head == NULL && !bulk_stopping)
			pthread_cond_wait(&bulk_cv, &bulk_mu);
		q = bulk_reads.head ? &bulk_reads : &bulk_batches;
		cx = q->head;
		if (cx == NULL) {   /* stopping, and nothing queued */
			bulk_alive--;
			pthread_mutex_unlock(&bulk_mu);
			break;
		}
		q->head = cx->next;
		if (q->head == NULL)
			q->tail = NULL;
		atomic_fetch_sub(&bulk_queued, 1);
		pthread_mutex_unlock(&bulk_mu);
		memset(&rs, 0, sizeof(rs));
		dispatch(cx, cx->mc, cx->method, cx->url, &rs);
		cx->done_rs = rs;
		cx->done = 1;
		/* MHD calls on_request() again on its own thread, which answers */
		MHD_resume_connection(cx->mc);
	}
	db_close();
	return NULL;
}

static int
bulk_start(void)
{
	unsigned i;

	bulk_stopping = 0;
	for (i = 0; i < bulk_nthreads && i < BULK_MAX_THREADS; i++) {
		pthread_mutex_lock(&bulk_mu);
		bulk_alive++;
		pthread_mutex_unlock(&bulk_mu);
		if (pthread_create(&bulk_tid[i], NULL, bulk_main, NULL) != 0) {
			pthread_mutex_lock(&bulk_mu);
			bulk_alive--;
			pthread_mutex_unlock(&bulk_mu);
			return -1;   /* bulk_stop() joins the ones started */
		}
		bulk_running++;
	}
	return 0;
}

/* Runs what is queued still, then ends the threads (before MHD stops:
 * it may not stop with a connection suspended). */
static void
bulk_stop(void)
{
	unsigned i;

	pthread_mutex_lock(&bulk_mu);
	bulk_stopping = 1;
	pthread_cond_broadcast(&bulk_cv);
	pthread_mutex_unlock(&bulk_mu);
	for (i = 0; i < bulk_running; i++)
		pthread_join(bulk_tid[i], NULL);
	bulk_running = 0;
}

/* the configuration key that capped cx's body, for a 413's message */
static const char *
limit_name(const struct conn_ctx *cx)
{
	return cx->route && cx->route->body == BODY_JSON_BIG ? "config_max_body_bytes" :
	    "max_body_bytes";
}

static enum MHD_Result
on_request(void *cls, struct MHD_Connection *mc, const char *url, const char *method,
    const char *version, const char *upload_data, size_t *upload_size, void **con_cls)
{
	struct conn_ctx *cx = *con_cls;
	struct resp rs;
	char allow[128];

	(void)cls;
	(void)version;
	if (cx == NULL) {
		const char *cl;
		cx = calloc(1, sizeof(*cx));
		if (cx == NULL)
			return MHD_NO;
		cx->t0 = mono_now_us();
		atomic_fetch_add(&in_flight, 1);
		cx->route = route_find(method, url, cx->id, allow, sizeof(allow));
		{
			const struct srv_conf *cf = conf_hold();
			cx->max_body = cx->route && cx->route->body == BODY_JSON_BIG ?
			    cf->config_max_body_bytes : cf->max_body_bytes;
			conf_drop(cf);
		}
		buf_init(&cx->body, (size_t)cx->max_body + 1);
		*con_cls = cx;
		memset(&rs, 0, sizeof(rs));
		if (edge_request_begin(mc) < 0) {
			resp_error(&rs, 429, NULL,
			    "too many requests in flight from this client address (max_connections_per_ip)");
			edge_serving(mc);
			return send_resp(mc, &rs, method, url, cx->t0);
		}
		if (gate(cx, mc, method, &rs) < 0) {
			edge_serving(mc);
			return send_resp(mc, &rs, method, url, cx->t0);
		}
		if (cx->authed)
			edge_known(mc);
		cl = MHD_lookup_connection_value(mc, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
		if (cl) {
			const char *es;
			long long n = str_to_ll(cl, 0, INT64_MAX, &es);
			if (es == NULL && n > cx->max_body) {
				/* answer now, without reading the body; MHD closes the connection */
				memset(&rs, 0, sizeof(rs));
				resp_error(&rs, 413, NULL, "body larger than %s (%lld)",
				    limit_name(cx), cx->max_body);
				edge_serving(mc);
				return send_resp(mc, &rs, method, url, cx->t0);
			}
		}
		return MHD_YES;
	}
	if (*upload_size) {
		if (!cx->too_big && buf_add(&cx->body, upload_data, *upload_size) < 0)
			cx->too_big = 1;   /* keep reading, discard, answer 413 at the end */
		*upload_size = 0;
		return MHD_YES;
	}
	/* read whole: the deadline (edge.h) is over, the handler may take its time */
	edge_serving(mc);
	memset(&rs, 0, sizeof(rs));
	if (cx->too_big) {
		resp_error(&rs, 413, NULL, "body larger than %s (%lld)", limit_name(cx),
		    cx->max_body);
	} else if (cx->route == NULL) {
		route_find(method, url, cx->id, allow, sizeof(allow));
		if (allow[0]) {
			resp_error(&rs, 405, NULL, "method %s not allowed here", method);
			rs.allow = allow;
		} else {
			resp_error(&rs, 404, NULL, "no such route: %s", url);
		}
	} else if (cx->offloaded) {
		/* resumed: a bulk thread answered (or the stop did) */
		CUSTOS_ASSERT(cx->done);
		rs = cx->done_rs;
		memset(&cx->done_rs, 0, sizeof(cx->done_rs));
	} else if (is_bulk(cx)) {
		cx->mc = mc;
		cx->method = method;
		cx->url = url;
		cx->offloaded = 1;
		MHD_suspend_connection(mc);
		if (bulk_push(cx) < 0) {
			/* a request that came on a kept-alive connection after the
			 * bulk threads ended (serverd is stopping): answered at once,
			 * for MHD may not stop with its connection suspended */
			memset(&cx->done_rs, 0, sizeof(cx->done_rs));
			resp_error(&cx->done_rs, 503, NULL, "the server is stopping");
			cx->done = 1;
			MHD_resume_connection(mc);
		}
		return MHD_YES;
	} else {
		dispatch(cx, mc, method, url, &rs);
	}
	if (rs.status == 0)
		resp_error(&rs, 500, NULL, "handler gave no answer");
	metrics_http_observe(cx->route, mono_now_us() - cx->t0);
	return send_resp(mc, &rs, method, url, cx->t0);
}

static void
on_completed(void *cls, struct MHD_Connection *mc, void **con_cls,
    enum MHD_RequestTerminationCode toe)
{
	struct conn_ctx *cx = *con_cls;

	(void)cls;
	(void)toe;
	edge_request_end(mc);
	if (cx == NULL)
		return;
	/* a bulk answer MHD never asked for (the client left meanwhile) */
	json_decref(cx->done_rs.json);
	if (cx->done_rs.raw)
		MHD_destroy_response(cx->done_rs.raw);
	buf_free(&cx->body);
	free(cx);
	atomic_fetch_sub(&in_flight, 1);
	*con_cls = NULL;
}

/* MHD hands us its own format strings; the attribute says so to the compiler */
static void on_mhd_log(void *cls, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));

/*
 * A client that left is no fault of the server's: a closed tab's stream
 * ends by MHD writing its last chunk or its footers to a socket the
 * browser has closed (stream.c reap_gone() ends it, and the write can
 * still race the close). MHD names the socket's error in its own words,
 * one for each errno a write to a gone peer gives: EPIPE, ECONNRESET (the
 * peer's RST came first: test_dashboard_live saw it once in a fresh-clone
 * run) and ENOTCONN. Those are logged at debug level, the rest as warnings.
 */
static const char *const peer_gone[] = {
	"socket is no longer available for sending",
	"connection was forcibly closed by remote peer",
	"socket is not connected",
};

static void
on_mhd_log(void *cls, const char *fmt, va_list ap)
{
	char msg[512];
	size_t i;

	(void)cls;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	msg[strcspn(msg, "\n")] = '\0';
	for (i = 0; i < sizeof(peer_gone) / sizeof(peer_gone[0]); i++)
		if (strstr(msg, peer_gone[i]) != NULL) {
			log_debug("http: %s", msg);
			return;
		}
	log_warn("http: %s", msg);
}

static char *
slurp(const char *path, char *err, size_t errlen)
{
	FILE *fp = fopen(path, "r");
	struct buf b;
	char chunk[4096];
	size_t n;

	if (fp == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	buf_init(&b, 1 << 20);
	while ((n = fread(chunk, 1, sizeof(chunk), fp)) > 0)
		if (buf_add(&b, chunk, n) < 0)
			break;
	fclose(fp);
	if (b.failed || b.ptr == NULL) {
		snprintf(err, errlen, "%s: unreadable or too large", path);
		buf_free(&b);
		return NULL;
	}
	return buf_take(&b);
}

/*
 * The descriptors max_connections needs: the soft limit is raised to the
 * hard one when that is short (outside systemd; its unit sets LimitNOFILE,
 * and its system call filter forbids setrlimit), and a limit still short
 * refuses the start, naming both numbers, rather than failing accept()
 * under load with EMFILE.
 */
static int
check_fds(unsigned max_conns, unsigned threads, unsigned senders, char *err, size_t errlen)
{
	unsigned long need = edge_fds_needed(max_conns, threads, senders);
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return 0;
	if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < need &&
	    (rl.rlim_max == RLIM_INFINITY || rl.rlim_max > rl.rlim_cur)) {
		struct rlimit up = rl;
		up.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max > need ? need : rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &up) == 0)
			rl = up;
	}
	if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < need) {
		snprintf(err, errlen, "max_connections = %u needs about %lu open files, but the limit "
		    "is %llu: raise LimitNOFILE (ulimit -n) or lower max_connections",
		    max_conns, need, (unsigned long long)rl.rlim_cur);
		return -1;
	}
	return 0;
}

int
http_open(const struct srv_conf *cf, unsigned senders, char *err, size_t errlen)
{
	const char *addr = cf->listen, *tls_cert = cf->tls_cert, *tls_key = cf->tls_key;
	int one = 1;
	struct sockaddr_in sa;
	char host[64];
	const char *colon = strrchr(addr, ':'), *es;
	long long port;
	size_t hl;

	if (colon == NULL || (hl = (size_t)(colon - addr)) >= sizeof(host)) {
		snprintf(err, errlen, "listen: expected HOST:PORT, got \"%s\"", addr);
		return -1;
	}
	memcpy(host, addr, hl);
	host[hl] = '\0';
	port = str_to_ll(colon + 1, 1, 65535, &es);
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)(es ? 0 : port));
	if (es || inet_pton(AF_INET, strcmp(host, "*") == 0 || hl == 0 ? "0.0.0.0" : host,
	    &sa.sin_addr) != 1) {
		snprintf(err, errlen, "listen: \"%s\" is not IPV4:PORT", addr);
		return -1;
	}
	if (check_fds((unsigned)cf->max_connections, (unsigned)cf->threads, senders, err,
	    errlen) < 0)
		return -1;
	if (tls_cert) {
		if ((pem_cert = slurp(tls_cert, err, errlen)) == NULL ||
		    (pem_key = slurp(tls_key, err, errlen)) == NULL) {
			http_close();
			return -1;
		}
		tls_on = 1;
	}
	/*
	 * Our own listening socket, so that an address in use is refused with
	 * the reason: SO_REUSEADDR (a restart may bind while old connections
	 * sit in TIME_WAIT) but never SO_REUSEPORT, with which a second serverd
	 * would start quietly and share the traffic.
	 */
	if ((listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0 ||
	    setsockopt(listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(listen_fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(listen_fd, 1024) < 0) {
		snprintf(err, errlen, "cannot listen on %s: %s", addr, strerror(errno));
		http_close();
		return -1;
	}
	listen_addr = addr;
	listen_port = (uint16_t)port;
	pool_threads = (unsigned)cf->threads;
	pool_max_conns = (unsigned)cf->max_connections;
	bulk_nthreads = (unsigned)cf->bulk_threads;
	return 0;
}

int
http_start(char *err, size_t errlen)
{
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO |
	    MHD_USE_ERROR_LOG | MHD_USE_ITC | MHD_ALLOW_SUSPEND_RESUME;

	if (tls_on)
		flags |= MHD_USE_TLS;
	if (bulk_start() < 0) {
		bulk_stop();
		snprintf(err, errlen, "cannot start the bulk request threads");
		return -1;
	}
	/*
	 * The idle timeout stays for answers a client does not read; what a
	 * request may take to arrive is edge.h's deadline, and who may hold a
	 * connection its book (the per-address cap included: libmicrohttpd's
	 * would count a reverse proxy as one client).
	 */
	mhd = MHD_start_daemon(flags, listen_port, NULL, NULL, on_request, NULL,
	    MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, NULL,
	    MHD_OPTION_LISTEN_SOCKET, listen_fd,
	    MHD_OPTION_THREAD_POOL_SIZE, pool_threads,
	    MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL,
	    MHD_OPTION_NOTIFY_CONNECTION, edge_notify, NULL,
	    MHD_OPTION_CONNECTION_LIMIT, edge_mhd_limit(pool_max_conns, pool_threads),
	    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)60,
	    tls_on ? MHD_OPTION_HTTPS_MEM_CERT : MHD_OPTION_END, pem_cert,
	    MHD_OPTION_HTTPS_MEM_KEY, pem_key,
	    MHD_OPTION_HTTPS_PRIORITIES, TLS_PRIORITIES,
	    MHD_OPTION_END);
	if (mhd == NULL) {
		bulk_stop();
		snprintf(err, errlen, "cannot serve on %s (TLS setup failed?)", listen_addr);
		return -1;
	}
	served_fd = listen_fd;
	listen_fd = -1;   /* the daemon's now: MHD_stop_daemon() closes it */
	return 0;
}

/*
 * Stops new connections without MHD_quiesce_daemon(). On an epoll daemon
 * with threads of its own (MHD_USE_AUTO is epoll on Linux), quiescing
 * races with libmicrohttpd's own loop, an open defect of 0.9.75 and later:
 * the quiescing thread and a worker that sees the daemon quiesced both
 * remove the listening socket from the worker's epoll set, and whichever
 * comes second gets ENOENT and MHD_PANIC()s, an abort() (serverd died of
 * SIGABRT at a SIGTERM, with no sanitizer report, once in a whole run).
 * Instead a stand-in takes the listening socket's descriptor number:
 * dup3() closes the real socket in one step, so the port refuses new
 * connections at once and the kernel drops that socket from every epoll
 * set by itself. The stand-in listens on a loopback port nobody is told
 * (never in an epoll set, never readable, non-blocking should a worker
 * still call accept() on the number) and MHD_stop_daemon() closes it as
 * its own. 0, or -1 with nothing changed.
 */
static int
stop_accepting(void)
{
	struct sockaddr_in lo;
	int s;

	memset(&lo, 0, sizeof(lo));
	lo.sin_family = AF_INET;
	lo.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	errno = EBADF;
	if (served_fd < 0 ||
	    (s = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) < 0)
		return -1;
	if (bind(s, (struct sockaddr *)&lo, sizeof(lo)) < 0 || listen(s, 1) < 0 ||
	    dup3(s, served_fd, O_CLOEXEC) < 0) {
		int e = errno;
		close(s);
		errno = e;
		return -1;
	}
	close(s);
	return 0;
}

void
http_stop(void)
{
	/* stop accepting, let in-flight requests finish (10 s at most),
	 * then close idle keep-alive connections and join the threads */
	struct timespec ts = { 0, 20 * 1000 * 1000 };
	int i;

	if (mhd == NULL)
		return;
	/* new connections are refused rather than left in the backlog */
	if (stop_accepting() < 0)
		log_warn("http: %s: new connections are still accepted until the requests"
		    " in flight finish", strerror(errno));
	/* open event streams end now (MHD may not stop with one suspended) */
	stream_end_all();
	for (i = 0; i < 500 && atomic_load(&in_flight) > 0; i++)
		nanosleep(&ts, NULL);
	/* the bulk requests queued still are run and resumed first */
	bulk_stop();
	MHD_stop_daemon(mhd);
	mhd = NULL;
	served_fd = -1;
}

void
http_close(void)
{
	if (listen_fd >= 0)
		close(listen_fd);
	listen_fd = -1;
	free(pem_cert);
	free(pem_key);
	pem_cert = pem_key = NULL;
}
