/*
 * metrics.h - what /metrics (api_metrics.c) counts in memory: per-process
 * Prometheus counters. Every function here is cheap (one atomic add) and
 * may be called from any thread. The senders' counters are below the
 * wings, in counters.h.
 */
#ifndef CUSTOS_METRICS_H
#define CUSTOS_METRICS_H

#include <stdint.h>

#include "http.h"

/* n results committed by ingest (call after the COMMIT). */
void metrics_count_ingested(long long n);
/* One HTTP request answered: rt its route (NULL: none matched), us its
 * duration from the first byte read to the answer queued. */
void metrics_http_observe(const struct route *rt, int64_t us);

#endif
