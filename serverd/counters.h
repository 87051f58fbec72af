/*
 * counters.h - what serverd counts in memory while it runs, for /metrics.
 *
 * The wings that do a thing count it here (notify/outbox.c counts every
 * send's outcome); /metrics (api/api_metrics.c) only reads. The counters
 * live below every wing, as serverd.h does, so counting never makes a
 * wing include one above it. Like every Prometheus counter they are this
 * process's own and start at 0 when serverd starts. Every function is one
 * atomic operation and may be called from any thread.
 */
#ifndef CUSTOS_COUNTERS_H
#define CUSTOS_COUNTERS_H

#include <stddef.h>

/* channels counted: the registry (notify/registry.c) has at most this many rows */
#define COUNTERS_CHANNELS_MAX 16

/* One outcome of one send. */
enum send_count {
	COUNT_SENT,      /* delivered */
	COUNT_FAILED,    /* given up for good: a permanent error, or retried too long */
	COUNT_RETRIED,   /* a transient failure; the row waits for its next attempt */
	COUNT__N
};

/* Counts one outcome on channel, its row in the registry (channel_index()). */
void counters_send(size_t channel, enum send_count what);
/* The count so far (0 for a channel out of range). */
long long counters_send_read(size_t channel, enum send_count what);

#endif
