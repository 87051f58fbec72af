/*
 * auth.h - bearer tokens to principals. Tokens are looked up by their
 * SHA-256 (api_tokens for admin/viewer, agents for agent tokens) and the
 * stored hash is compared again in constant time.
 */
#ifndef CUSTOS_AUTH_H
#define CUSTOS_AUTH_H

#include "http.h"

enum auth_result { AUTH_FOUND = 0, AUTH_UNKNOWN, AUTH_UNAVAILABLE, AUTH_ERROR };
/* AUTH_FOUND (p filled), AUTH_UNKNOWN, or the database's failure. */
enum auth_result auth_lookup(PGconn *c, const char *token, struct principal *p);
/* Creates an admin/viewer token row and prints the token. 0 or -1. */
int auth_create_token(PGconn *c, const char *name, const char *role);

#endif
