/*
 * authcache.c - see authcache.h. A direct-mapped table indexed by the first
 * bytes of the token's SHA-256 (uniformly distributed already), behind one
 * mutex: the critical sections copy a small struct and nothing else.
 */
#include "config.h"
#include "authcache.h"
#include "listen.h"

#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#define AUTHCACHE_SLOTS 1024   /* agents beyond this share slots, and miss more */

struct slot {
	uint8_t hash[SHA256_LEN];
	uint64_t gen;              /* 0: empty */
	struct principal p;
};

static struct slot slots[AUTHCACHE_SLOTS];
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static atomic_uint_fast64_t generation = 1;
static atomic_int enabled;

static struct slot *
slot_for(const uint8_t hash[SHA256_LEN])
{
	return &slots[((unsigned)hash[0] << 8 | hash[1]) % AUTHCACHE_SLOTS];
}

uint64_t
authcache_gen(void)
{
	return atomic_load(&generation);
}

int
authcache_get(const uint8_t hash[SHA256_LEN], struct principal *p)
{
	struct slot *s = slot_for(hash);
	int hit = 0;

	if (!atomic_load(&enabled))
		return 0;
	pthread_mutex_lock(&lock);
	if (s->gen == atomic_load(&generation) && ct_equal(s->hash, hash, SHA256_LEN)) {
		*p = s->p;
		hit = 1;
	}
	pthread_mutex_unlock(&lock);
	return hit;
}

void
authcache_put(const uint8_t hash[SHA256_LEN], const struct principal *p, uint64_t gen)
{
	struct slot *s = slot_for(hash);

	if (!atomic_load(&enabled))
		return;
	pthread_mutex_lock(&lock);
	/* a lookup that raced an invalidation must not be remembered */
	if (gen == atomic_load(&generation)) {
		memcpy(s->hash, hash, SHA256_LEN);
		s->p = *p;
		s->gen = gen;
	}
	pthread_mutex_unlock(&lock);
}

void
authcache_invalidate(void)
{
	atomic_fetch_add(&generation, 1);
}

/* Empties the cache and turns it on or off. */
static void
enable(int on)
{
	authcache_invalidate();
	atomic_store(&enabled, on);
}

/* ---- the LISTEN thread's subscriber (listen.h) ---------------------------- */

/* custos_auth: some instance changed what a principal holds. */
static void
on_auth(const char *payload)
{
	(void)payload;
	authcache_invalidate();
}

/* What changed while nobody listened is unknown: start empty. */
static void
auth_up(PGconn *c)
{
	(void)c;
	enable(1);
}

/* From here on an invalidation could be missed: answer from the database. */
static void
auth_down(void)
{
	enable(0);
}

static const struct listen_sub auth_sub = { "custos_auth", on_auth, auth_up, auth_down, NULL };

int
authcache_start(void)
{
	return listen_subscribe(&auth_sub);
}
