/*
 * authcache.h - bearer tokens already looked up, kept in memory so that the
 * hot agent requests (check download with If-None-Match above all) need no
 * query at all.
 *
 * An entry is valid only for the generation it was filled in. The
 * generation moves on (emptying the cache at once) when
 *   - this server changes anything a principal holds (an admin write), right
 *     after that request's COMMIT, before it is answered;
 *   - another server does: triggers NOTIFY custos_auth when a token, an
 *     agent's interval or its checks' revision changes, or an agent or API
 *     token goes; this file subscribes to it on the LISTEN thread
 *     (listen.h), whatever else runs. Between that COMMIT and the
 *     notification arriving (a millisecond or so on one network) another
 *     instance may still answer from the old entry.
 * The cache is off until the LISTEN thread is connected and again whenever
 * it loses its connection (an invalidation could be missed); it starts
 * empty each time the connection is back.
 */
#ifndef CUSTOS_AUTHCACHE_H
#define CUSTOS_AUTHCACHE_H

#include <stdint.h>

#include "http.h"
#include "token.h"

/* The current generation, to pass to authcache_put() after a lookup. */
uint64_t authcache_gen(void);
/* 1 and *p filled when the token with this hash is cached, else 0. */
int authcache_get(const uint8_t hash[SHA256_LEN], struct principal *p);
/* Remembers a principal looked up while generation gen was current. */
void authcache_put(const uint8_t hash[SHA256_LEN], const struct principal *p, uint64_t gen);
/* Forgets everything. */
void authcache_invalidate(void);
/*
 * Subscribes the cache to custos_auth (listen.h): before listen_start().
 * 0 or -1. Until the LISTEN thread connects the cache stays off.
 */
int authcache_start(void);

#endif
