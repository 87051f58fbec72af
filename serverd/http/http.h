/*
 * http.h - the HTTP glue: libmicrohttpd in, route table dispatch, JSON out.
 *
 * A handler gets a parsed request (route ids, JSON body, authenticated
 * principal, this thread's database connection) and fills a struct resp.
 * One place (http.c) turns that into status, headers and body, and one
 * place (resp_error) shapes every error as {"error": ..., "field": ...}.
 */
#ifndef CUSTOS_HTTP_H
#define CUSTOS_HTTP_H

#include <arpa/inet.h>
#include <jansson.h>
#include <libpq-fe.h>
#include <microhttpd.h>
#include <stdint.h>

#include "db.h"

/*
 * What a route needs (routes.c). NEED_AGENT_LAZY is today the same as
 * NEED_AGENT: the door (gate() in http.c) authenticates every token
 * before the body is read, so the handler finds r->who filled. The name
 * stays on POST /api/v1/check_history only until the two are merged.
 * NEED_OPERATOR: what an operator does on a bad day (acknowledge, set a
 * downtime, enable or disable a check), an admin too; no configuration.
 */
enum need { NEED_NONE, NEED_READ, NEED_OPERATOR, NEED_ADMIN, NEED_AGENT, NEED_AGENT_LAZY };
enum who_kind { WHO_NONE, WHO_ADMIN, WHO_OPERATOR, WHO_VIEWER, WHO_AGENT };

struct principal {
	enum who_kind kind;
	int is_user;                /* a person's session: id is the user's (contacts.id) */
	int64_t id;                 /* api_tokens.id, agents.id, or the user's id */
	char name[256];              /* a token's (128), a user's (200) or an agent's: whole */
	long long interval_s;       /* agents only */
	long long checks_revision;  /* agents only */
};

struct req {
	struct MHD_Connection *mc;
	const char *method;
	const char *path;
	int64_t id[2];              /* the {id} segments of the route, in order */
	json_t *body;               /* parsed JSON body, or NULL when none (or
	                             * a BODY_RAW route); borrowed */
	const char *raw;            /* the body's text (NUL-terminated), or NULL */
	size_t raw_len;
	struct principal who;       /* WHO_NONE until authenticated */
	const char *token;          /* the bearer token (NULL under a session cookie) */
	PGconn *db;                 /* this thread's connection (NULL for NEED_NONE) */
};

struct resp {
	int status;
	json_t *json;               /* owned by the resp; sent and freed by http.c */
	char etag[72];
	char location[128];
	const char *allow;          /* for 405 */
	char retry_after[24];       /* Retry-After of a 429 (a 503 has its own) */
	/* a response the handler made itself (static files, SSE, cookies):
	 * queued as is with status, then destroyed by http.c; json is ignored */
	struct MHD_Response *raw;
	/* the principal is an operator or a viewer: every URL's user:password@
	 * in the answer is hidden (lib/urlredact.h); send_resp() does it for
	 * JSON answers, a handler making rs->raw itself must (api_status.c) */
	int redact_urls;
};

typedef void (*handler_fn)(struct req *r, struct resp *rs);

/*
 * What http.c makes of a route's body: BODY_JSON parses it with jansson
 * (r->body; a 400 when it is not JSON), BODY_RAW leaves r->body NULL and
 * the handler reads r->raw itself (POST /api/v1/check_history, whose
 * batches cost jansson a json_t per value: ingest_parse.h). BODY_JSON_BIG
 * is BODY_JSON capped at config_max_body_bytes instead of max_body_bytes:
 * POST /api/v1/config takes a whole fleet's definitions at once.
 */
enum body { BODY_JSON, BODY_RAW, BODY_JSON_BIG };

/*
 * Where http.c runs a route's handler: RUN_HERE on the pool thread that
 * holds the connection (the default: most answers take a millisecond or
 * two), RUN_ASIDE on one of the bulk threads, the connection suspended
 * meanwhile, for a read that may take PostgreSQL a long while and would
 * otherwise hold up every other connection of its pool thread (http.c,
 * "A connection belongs to the MHD pool thread").
 */
enum run { RUN_HERE, RUN_ASIDE };

struct route {
	const char *method;
	const char *pattern;        /* "/api/v1/checks/{id}/history"; {id} is a
	                             * positive integer (r->id), any other {word}
	                             * any segment, which the handler reads from
	                             * r->path itself */
	handler_fn fn;
	enum need need;
	enum body body;
	enum run run;               /* RUN_HERE when left out */
};

extern const struct route routes[];   /* routes.c; ends with NULL method */

/*
 * Serving, in four steps so that serverd's start (workers.c) can bind
 * first and answer last:
 *   http_open()   binds cf->listen (refused, with the reason, when the
 *                 address is in use: no SO_REUSEPORT) and reads the TLS
 *                 files; refuses when the process may not open the file
 *                 descriptors max_connections needs (beside those of
 *                 senders notification senders: edge_fds_needed()). No
 *                 thread yet: connections wait in the backlog. cf is the
 *                 snapshot held until exit. 0, or -1 with err.
 *   http_start()  starts libmicrohttpd's pool (cf->threads) on that
 *                 socket; the connection limits and the request deadline
 *                 are edge.h's (edge_start() first). 0, or -1 with err.
 *   http_stop()   stops accepting, ends the open event streams, lets
 *                 requests in flight finish (10 s at most) and joins the
 *                 pool; nothing when not started.
 *   http_close()  closes the socket if no daemon took it and frees the
 *                 TLS material.
 */
struct srv_conf;
int http_open(const struct srv_conf *cf, unsigned senders, char *err, size_t errlen);
int http_start(char *err, size_t errlen);
void http_stop(void);
void http_close(void);
/* Large requests waiting for a bulk thread now (bulk_threads; /metrics). */
unsigned http_bulk_queued(void);
/* 1 on one of the bulk threads (a large request's handler), else 0. */
int http_on_bulk_thread(void);

/* Looks r->token up and checks it against need; 0, or -1 with rs filled. */
int http_authenticate(struct req *r, enum need need, struct resp *rs);

/* Steals j; a NULL j (allocation failed) becomes a 500. */
void resp_json(struct resp *rs, int status, json_t *j);
/*
 * The answer as JSON text a handler wrote itself into b (a large answer
 * jansson would build value by value: the status, a plan): taken (b is
 * empty after), its URLs' user:password@ hidden for an operator or a
 * viewer as send_resp() does for rs->json, and queued as is; b's failure
 * is a 500.
 */
struct buf;
void resp_json_buf(struct resp *rs, int status, struct buf *b);
void resp_error(struct resp *rs, int status, const char *field, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* Maps a failed query to 503/409/500 with a message. */
void resp_db_error(struct resp *rs, PGconn *c, const PGresult *r);
/* The one map from store outcomes to statuses: 503, 409, 404 (what), 500. */
void resp_db_outcome(struct resp *rs, enum db_outcome o, const char *what);
/* A query-string argument, or NULL. */
const char *req_arg(struct req *r, const char *key);
/* A request header, or NULL. */
const char *req_header(struct req *r, const char *key);
/* 1 when an If-None-Match value (inm, may be NULL) names etag, weak or
 * strong, or is "*". */
int req_etag_matches(const char *inm, const char *etag);
/* The client's address as text (out, INET6_ADDRSTRLEN bytes), "?" if unknown. */
const char *req_client(struct req *r, char out[INET6_ADDRSTRLEN]);

#endif
