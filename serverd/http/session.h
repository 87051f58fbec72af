/*
 * session.h - browser sessions: a cookie that stands for an API token.
 *
 * POST /api/v1/session {"token"} (api_session.c) checks an admin or viewer
 * token and stores a new session: only the SHA-256 of the cookie's random
 * value, with the token's id, in PostgreSQL (table sessions), so that every
 * serverd behind a load balancer accepts it. A session is refused once idle
 * for session_idle_s or session_max_s after its login however much it is
 * used (a stolen cookie is not good for ever), and goes with its token (ON
 * DELETE CASCADE): revoking a token ends its sessions on every instance at
 * the next request.
 *
 * The cookie's name: under TLS (session_tls()) "__Host-custos_session",
 * with Secure; a browser then keeps it only if this host set it over HTTPS
 * with Path=/ and no Domain, so a neighbouring subdomain cannot plant one
 * (cookie tossing). Browsers refuse __Host- without Secure, and a Secure
 * cookie set over plain http is dropped, or kept for localhost only by
 * some browsers (Chromium counts http://127.0.0.1 as a secure context, not
 * every browser does): over plain HTTP (which custos means for 127.0.0.1
 * only) it is "custos_session", without Secure, which every browser keeps.
 * A server reads only the name it sets. A request that carries the
 * cookie twice (as a planted one and the real one would be) is refused, not
 * answered for whichever came first.
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

#define SESSION_COOKIE "custos_session"              /* over plain HTTP */
#define SESSION_COOKIE_TLS "__Host-custos_session"   /* under TLS */

/* The name this server gives its cookie (above). */
const char *session_cookie_name(void);

/*
 * For a route that needs a principal and got no bearer token: 1 when the
 * request has no session cookie (nothing filled), 0 when the cookie's
 * session is valid and its role may use the route (r->who, r->db filled),
 * -1 with rs filled (401 unknown or expired session, 403 role or
 * content type, 503 database).
 */
int session_authenticate(struct req *r, enum need need, struct resp *rs);
/*
 * The request's session cookie, in every Cookie header: 1 with out its
 * value (64 hex characters), 0 when there is none (or its value is not
 * one of ours), -1 when it was sent more than once.
 */
int session_cookie(struct req *r, char out[TOKEN_HEX_LEN + 1]);
/* Whether a Content-Type header value is application/json. */
int session_is_json(const char *content_type);
/*
 * Whether browsers reach this server over HTTPS: it speaks TLS itself, or
 * public_url is https:// (a proxy in front ends TLS). The cookie is then
 * __Host- and Secure.
 */
int session_tls(void);

/*
 * Remembers that an admin/viewer principal used the API: api_tokens.
 * last_used_at is written at most once a minute per token and process,
 * so the figure lags by up to a minute. No-op for other principals.
 */
void tokens_touch(struct req *r);

#endif
