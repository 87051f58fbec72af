/*
 * login.h - password logins (POST /api/v1/session {"user", "password"}):
 * failures slowed per user name and per client address, and the argon2id
 * hashes made and checked through libsodium.
 *
 * The policy is a lockout window, never a sleep: every name and every
 * address counts its failures. The LOGIN_FREE_USER-th failure for a name
 * (the LOGIN_FREE_ADDR-th for an address: an office behind one NAT
 * address holds many people who mistype) closes that key for
 * LOGIN_FIRST_LOCK_S seconds, and each further one doubles the window, up
 * to LOGIN_MAX_LOCK_S: a guesser gets about a hundred tries a day per
 * name. While a key is
 * closed a login for that name, or from that address, is answered at once
 * with 429 and Retry-After, before any password is hashed: no worker
 * thread waits, and a guesser learns nothing (not even whether the
 * password was right) until the window ends. A success clears the name's
 * count but not the address's (one's own account must not reset a
 * guesser's budget against others'). A key with no failure for
 * LOGIN_FORGET_S is forgotten.
 *
 * The address is the forwarded client's behind a trusted proxy
 * (edge_client()), else the peer's.
 *
 * The counts live in this serverd's memory: behind a load balancer with N
 * instances a guesser gets up to N times the budget, and a restart forgets
 * them. Unknown names count as names do, and run a hash as a known one
 * would, so the answer's timing does not tell which names exist.
 *
 * A hash costs libsodium's "interactive" limits (64 MiB, a few tenths of
 * a second; measured 0.8 s and more on two cores under a load of 15):
 * at most LOGIN_HASHES at once, so that logins never hold more than two
 * of the worker threads (8 by default); a login beyond that is a 429 with
 * Retry-After: 1.
 */
#ifndef CUSTOS_LOGIN_H
#define CUSTOS_LOGIN_H

#include <stddef.h>
#include <stdint.h>

#define LOGIN_FREE_USER 5
#define LOGIN_FREE_ADDR 20
#define LOGIN_FIRST_LOCK_S 5
#define LOGIN_MAX_LOCK_S 900
#define LOGIN_FORGET_S 900
#define LOGIN_HASHES 2
#define LOGIN_PASSWORD_MIN 8
#define LOGIN_PASSWORD_MAX 1024
#define LOGIN_HASH_MAX 128     /* crypto_pwhash_STRBYTES */

/* libsodium's sodium_init(); 0 or -1. Called once at start. */
int login_init(void);
/*
 * 0 when a login for user from addr may be tried now, else the seconds
 * to wait (for Retry-After).
 */
long login_wait(const char *user, const char *addr);
/* Counts a failed login against both keys; returns login_wait() after it. */
long login_failed(const char *user, const char *addr);
/* A good password: the name's count starts again. */
void login_succeeded(const char *user);

/*
 * Takes one of the LOGIN_HASHES hashing slots: 0, or -1 when all are busy.
 * login_hash_end() gives it back.
 */
int login_hash_begin(void);
void login_hash_end(void);
/* password's argon2id string into out; 0 or -1 (out of memory). */
int login_hash(const char *password, char out[LOGIN_HASH_MAX]);
/*
 * 1 when password matches hash; 0 when not, or when hash is NULL (no
 * password set; a dummy hash is checked then, to take as long).
 */
int login_verify(const char *hash, const char *password);

/* Forgets every count (tests of this module). */
void login_reset(void);

#endif
