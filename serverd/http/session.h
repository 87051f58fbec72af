/*
 * session.h - browser sessions: a cookie that stands for an API token.
 *
 * POST /api/v1/session {"token"} (api_session.c) checks an admin or viewer
 * token and stores a new session: only the SHA-256 of the cookie's random
 * value, with the token's id, in PostgreSQL (table sessions), so that every
 * serverd behind a load balancer accepts it. A session is refused once idle
 * for session_idle_s, and goes with its token (ON DELETE CASCADE): revoking
 * a token ends its sessions on every instance at the next request.
 *
 * Writes made with a cookie (any method but GET/HEAD) must carry
 * Content-Type: application/json: an HTML form cannot send that, and a
 * cross-site script cannot either without a CORS preflight, which serverd
 * never grants. With SameSite=Strict that is the CSRF defence.
 */
#ifndef CUSTOS_SESSION_H
#define CUSTOS_SESSION_H

#include "http.h"
#include "token.h"

#define SESSION_COOKIE "custos_session"

/*
 * For a route that needs a principal and got no bearer token: 1 when the
 * request has no session cookie (nothing filled), 0 when the cookie's
 * session is valid and its role may use the route (r->who, r->db filled),
 * -1 with rs filled (401 unknown or expired session, 403 role or
 * content type, 503 database).
 */
int session_authenticate(struct req *r, enum need need, struct resp *rs);
/* The request's session cookie value (64 hex characters), or NULL. */
const char *session_cookie(struct req *r, char out[TOKEN_HEX_LEN + 1]);
/* Whether a Content-Type header value is application/json. */
int session_is_json(const char *content_type);
/* Whether this server speaks TLS (cookies then carry Secure). */
int session_tls(void);

/*
 * Remembers that an admin/viewer principal used the API: api_tokens.
 * last_used_at is written at most once a minute per token and process,
 * so the figure lags by up to a minute. No-op for other principals.
 */
void tokens_touch(struct req *r);

#endif
