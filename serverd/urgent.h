/*
 * urgent.h - a page goes before bulk history.
 *
 * On a busy machine a page's few statements and its SMTP session queue for
 * the CPUs behind whatever else runs, and bulk ingest - an agent's batch of
 * hundreds of results, its COPY and its PostgreSQL backend - is most of
 * that: beside full batched ingest on 2 CPUs a page took 27-40 ms from its
 * result's POST to the relay, against 10-16 ms idle (bench/README.md,
 * "bench/alert-latency", "A page goes before bulk history"). So while a
 * page is being made, a batch about to start waits:
 *
 *   urgent    a state change that made events is being committed by a
 *             request on an HTTP worker (api/ingest.c, from its events to
 *             its senders' wake-up), or a sender woken for new rows is
 *             claiming and sending (notify/outbox.c, until it sleeps
 *             again). urgent_enter() and urgent_leave() pair up; any
 *             thread; they cost an atomic each.
 *   yield     a batch on a bulk thread (api/ingest.c), before it parses or
 *             takes its agent's lock (nothing is held while it waits),
 *             waits while anything is urgent, until bulk_yield_ms after the
 *             episode began (serverd.conf; 0 never waits): the episode
 *             runs from the first page to the moment none is being made,
 *             so a relay that hangs, or a storm of pages back to back,
 *             holds batches for its first bulk_yield_ms only. And a bulk
 *             thread that waited runs unheld for as long as it waited
 *             before it waits again, so bulk ingest keeps at least half of
 *             its time however the pages come. Batches already storing
 *             finish; small requests (an agent's few results, the
 *             dashboard, the API) never wait.
 *
 * Per process: a page sent by another serverd on the database does not
 * hold this one's batches.
 */
#ifndef CUSTOS_URGENT_H
#define CUSTOS_URGENT_H

#include <stdint.h>

void urgent_enter(void);
void urgent_leave(void);
/* Bulk work: waits while anything is urgent, as above (reads bulk_yield_ms). */
void urgent_yield(void);

/* For /metrics: batches waiting now, batches that waited, and their wait in µs. */
struct urgent_stats {
	long long waiting, yields, waited_us;
};
void urgent_stats(struct urgent_stats *out);

/*
 * The rules alone (for the unit test): how long a batch may wait at now_us
 * (0: not at all) in an episode that began at since_us, on a thread that
 * may wait again from free_at_us on; urgent_waited() is that time after a
 * wait of waited_us that ended at end_us.
 */
int64_t urgent_may_wait_us(int64_t now_us, int64_t since_us, int64_t free_at_us,
    long long limit_ms);
int64_t urgent_waited(int64_t end_us, int64_t waited_us);

#endif
