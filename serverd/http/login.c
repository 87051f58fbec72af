/*
 * login.c - see login.h. One small table of keys ("u:" name, "a:"
 * address) behind one mutex, scanned linearly: it is touched only by
 * logins, each of which then costs a password hash, thousands of times
 * the scan. When the table is full the key idle longest is replaced.
 */
#include "config.h"
#include "login.h"
#include "timeutil.h"

#include <pthread.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#define LOGIN_KEYS 1024
#define KEY_MAX 264            /* "u:" + a name of up to 200, or "a:" + an address */

struct key {
	char key[KEY_MAX];
	int fails;                 /* 0: free slot */
	int64_t last_us;           /* last failure */
	int64_t until_us;          /* closed until */
};

static struct key keys[LOGIN_KEYS];
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static atomic_int hashing;

static pthread_once_t dummy_once = PTHREAD_ONCE_INIT;
static char dummy[crypto_pwhash_STRBYTES];
static int dummy_ok;

int
login_init(void)
{
	return sodium_init() < 0 ? -1 : 0;
}

static void
key_name(char out[KEY_MAX], char kind, const char *s)
{
	snprintf(out, KEY_MAX, "%c:%s", kind, s);
}

/* The live entry for k, or NULL; forgets entries idle past LOGIN_FORGET_S. Under mu. */
static struct key *
find(const char *k, int64_t now)
{
	int i;

	for (i = 0; i < LOGIN_KEYS; i++) {
		if (keys[i].fails == 0)
			continue;
		if (now - keys[i].last_us > LOGIN_FORGET_S * 1000000LL) {
			keys[i].fails = 0;
			continue;
		}
		if (strcmp(keys[i].key, k) == 0)
			return &keys[i];
	}
	return NULL;
}

/* A slot for a new key: a free one, else the one idle longest. Under mu. */
static struct key *
take(const char *k)
{
	struct key *best = &keys[0];
	int i;

	for (i = 0; i < LOGIN_KEYS; i++) {
		if (keys[i].fails == 0) {
			best = &keys[i];
			break;
		}
		if (keys[i].last_us < best->last_us)
			best = &keys[i];
	}
	memset(best, 0, sizeof(*best));
	snprintf(best->key, sizeof(best->key), "%s", k);
	return best;
}

static long
wait_s(const struct key *e, int64_t now)
{
	return e && e->until_us > now ? (long)((e->until_us - now + 999999) / 1000000) : 0;
}

long
login_wait(const char *user, const char *addr)
{
	char ku[KEY_MAX], ka[KEY_MAX];
	int64_t now = mono_now_us();
	long a, b;

	key_name(ku, 'u', user);
	key_name(ka, 'a', addr);
	pthread_mutex_lock(&mu);
	a = wait_s(find(ku, now), now);
	b = wait_s(find(ka, now), now);
	pthread_mutex_unlock(&mu);
	return a > b ? a : b;
}

static void
count(const char *k, int free_n, int64_t now)
{
	struct key *e = find(k, now);
	int beyond;

	if (e == NULL)
		e = take(k);
	e->fails++;
	e->last_us = now;
	beyond = e->fails - free_n;   /* 0 at the failure that closes the key */
	if (beyond >= 0) {
		long s = beyond >= 8 ? LOGIN_MAX_LOCK_S : LOGIN_FIRST_LOCK_S << beyond;
		if (s > LOGIN_MAX_LOCK_S)
			s = LOGIN_MAX_LOCK_S;
		e->until_us = now + s * 1000000LL;
	}
}

long
login_failed(const char *user, const char *addr)
{
	char ku[KEY_MAX], ka[KEY_MAX];
	int64_t now = mono_now_us();

	key_name(ku, 'u', user);
	key_name(ka, 'a', addr);
	pthread_mutex_lock(&mu);
	count(ku, LOGIN_FREE_USER, now);
	count(ka, LOGIN_FREE_ADDR, now);
	pthread_mutex_unlock(&mu);
	return login_wait(user, addr);
}

void
login_succeeded(const char *user)
{
	char ku[KEY_MAX];
	struct key *e;

	key_name(ku, 'u', user);
	pthread_mutex_lock(&mu);
	if ((e = find(ku, mono_now_us())) != NULL)
		e->fails = 0;
	pthread_mutex_unlock(&mu);
}

void
login_reset(void)
{
	pthread_mutex_lock(&mu);
	memset(keys, 0, sizeof(keys));
	pthread_mutex_unlock(&mu);
}

int
login_hash_begin(void)
{
	if (atomic_fetch_add(&hashing, 1) >= LOGIN_HASHES) {
		atomic_fetch_sub(&hashing, 1);
		return -1;
	}
	return 0;
}

void
login_hash_end(void)
{
	atomic_fetch_sub(&hashing, 1);
}

int
login_hash(const char *password, char out[LOGIN_HASH_MAX])
{
	_Static_assert(LOGIN_HASH_MAX >= crypto_pwhash_STRBYTES, "LOGIN_HASH_MAX");
	return crypto_pwhash_str(out, password, strlen(password),
	    crypto_pwhash_OPSLIMIT_INTERACTIVE, crypto_pwhash_MEMLIMIT_INTERACTIVE) == 0 ? 0 : -1;
}

static void
make_dummy(void)
{
	dummy_ok = login_hash("custos: no password set", dummy) == 0;
}

int
login_verify(const char *hash, const char *password)
{
	if (hash == NULL || *hash == '\0') {
		pthread_once(&dummy_once, make_dummy);
		if (dummy_ok && crypto_pwhash_str_verify(dummy, password, strlen(password)) == 0)
			return 0;   /* the dummy's own text: still no login */
		return 0;
	}
	return crypto_pwhash_str_verify(hash, password, strlen(password)) == 0;
}
