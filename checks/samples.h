/*
 * samples.h - the previous counter samples that rate checks (cpu, net) need.
 * The daemon keeps them in memory between runs; --once loads them from and
 * saves them to state_dir ("samples", one "key time_ms v0 v1 ..." line per
 * sample) so cron runs still measure since the last run. Bounded: at most
 * SAMPLE_MAX keys (a host with more interfaces than that under watch loses
 * the oldest sample, and that check samples afresh).
 */
#ifndef CUSTOS_SAMPLES_H
#define CUSTOS_SAMPLES_H

#include <stddef.h>
#include <stdint.h>

#define SAMPLE_MAX 32        /* keys kept */
#define SAMPLE_KEY_MAX 48    /* "net:" + an interface name, with room */
#define SAMPLE_VALUES 10     /* counters per sample */

struct sample {
	char key[SAMPLE_KEY_MAX];
	int64_t t_ms;                 /* wall clock, ms since the epoch */
	size_t n;
	uint64_t v[SAMPLE_VALUES];
};

struct sample_store {
	size_t n;
	struct sample s[SAMPLE_MAX];
	int dirty;
};

struct sample_store *sample_store_new(void);
void sample_store_free(struct sample_store *st);
/* The sample for key, or NULL. */
const struct sample *sample_get(const struct sample_store *st, const char *key);
/* Replaces (or adds) key's sample; drops the oldest when full. */
void sample_put(struct sample_store *st, const char *key, int64_t t_ms,
    const uint64_t *v, size_t n);
/* Loads dir/samples (a missing file is an empty store). 0 or -1 with err. */
int sample_store_load(struct sample_store *st, const char *dir, char *err, size_t errlen);
/* Writes dir/samples atomically (temp file + rename). 0 or -1 with err. */
int sample_store_save(const struct sample_store *st, const char *dir, char *err, size_t errlen);

#endif
