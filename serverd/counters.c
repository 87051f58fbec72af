/*
 * counters.c - see counters.h.
 */
#include "config.h"
#include "counters.h"

#include <stdatomic.h>

static atomic_llong sends[COUNTERS_CHANNELS_MAX][COUNT__N];

void
counters_send(size_t channel, enum send_count what)
{
	if (channel < COUNTERS_CHANNELS_MAX && (unsigned)what < COUNT__N)
		atomic_fetch_add(&sends[channel][what], 1);
}

long long
counters_send_read(size_t channel, enum send_count what)
{
	if (channel < COUNTERS_CHANNELS_MAX && (unsigned)what < COUNT__N)
		return atomic_load(&sends[channel][what]);
	return 0;
}
