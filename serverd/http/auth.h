/*
 * auth.h - bearer tokens to principals. Tokens are looked up by their
 * SHA-256 (api_tokens for admin/operator/viewer, agents for agent tokens)
 * and the stored hash is compared again in constant time.
 *
 * The roles, from most to least: admin (everything), operator (read, and
 * acknowledge, downtimes, enable/disable checks: NEED_OPERATOR), viewer
 * (read). API tokens and users (api_users.c) have the same three.
 */
#ifndef CUSTOS_AUTH_H
#define CUSTOS_AUTH_H

#include "http.h"

enum auth_result { AUTH_FOUND = 0, AUTH_UNKNOWN, AUTH_UNAVAILABLE, AUTH_ERROR };
/* AUTH_FOUND (p filled), AUTH_UNKNOWN, or the database's failure. */
enum auth_result auth_lookup(PGconn *c, const char *token, struct principal *p);
/* "admin", "operator", "viewer" to its kind; WHO_NONE for anything else. */
enum who_kind auth_role_kind(const char *role);
/* And back: the role's name, or NULL for a kind that is not a role. */
const char *auth_role_name(enum who_kind kind);
/* Creates an admin/operator/viewer token row and prints the token. 0 or -1. */
int auth_create_token(PGconn *c, const char *name, const char *role);

#endif
