/*
 * api_metrics.c - GET /metrics in the Prometheus text format (0.0.4).
 *
 * Gauges of what is (checks by status, agents by state, the outbox's
 * pending rows and the age of the oldest) come from one query that reads
 * check_state, agents and the pending part of notifications (its partial
 * index) - never history. Counters (notifications sent, failed and
 * retried per channel, results ingested, the request-duration histogram)
 * are this process's own, kept in memory with atomic adds: like every
 * Prometheus counter they start at 0 when serverd starts, and each
 * instance behind a load balancer is scraped on its own. The send counters
 * are counted by the senders into counters.h and only read here; the
 * channels are the registry's (notify/channel.h).
 */
#include "config.h"
#include "api.h"
#include "apiutil.h"
#include "buf.h"
#include "channel.h"
#include "check.h"
#include "counters.h"
#include "db.h"
#include "edge.h"
#include "metrics.h"
#include "urgent.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define METRICS_ROUTES 128   /* routes beyond this are counted under "other" */
#define METRICS_BODY_MAX (1 << 20)

/* upper bounds of the duration buckets, in microseconds (+Inf follows) */
static const int64_t bucket_us[] = { 500, 1000, 2500, 5000, 10000, 25000, 50000,
	100000, 250000, 500000, 1000000, 2500000 };
#define NBUCKETS (sizeof(bucket_us) / sizeof(bucket_us[0]))

static atomic_llong ingested;

struct hist {
	atomic_llong bucket[NBUCKETS + 1];   /* not cumulative; the last is +Inf */
	atomic_llong sum_us, count;
};
static struct hist hists[METRICS_ROUTES + 1];   /* the last: no route matched */

static const struct db_stmt q_gauges = { "metrics_gauges",
	"SELECT json_build_object("
	" 'checks', (SELECT json_build_array("   /* by status, then pending (NULL) */
	"    count(*) FILTER (WHERE s.status = 0), count(*) FILTER (WHERE s.status = 1),"
	"    count(*) FILTER (WHERE s.status = 2), count(*) FILTER (WHERE s.status = 3),"
	"    count(*) FILTER (WHERE s.status IS NULL))"
	"    FROM check_state s JOIN checks c ON c.id = s.check_id WHERE c.enabled),"
	" 'agents', (SELECT json_build_object("
	"    'up', count(*) FILTER (WHERE state = 'up'),"
	"    'down', count(*) FILTER (WHERE state = 'down'),"
	"    'new', count(*) FILTER (WHERE state = 'new')) FROM agents),"
	" 'pending', (SELECT COALESCE(json_object_agg(channel, json_build_array(n, age)), '{}')"
	"    FROM (SELECT channel, count(*) AS n,"
	"      GREATEST(extract(epoch FROM now() - min(created_at)), 0)::float8 AS age"
	"      FROM notifications WHERE status = 'pending' GROUP BY channel) p))", 0 };

void
metrics_count_ingested(long long n)
{
	atomic_fetch_add(&ingested, n);
}

void
metrics_http_observe(const struct route *rt, int64_t us)
{
	ptrdiff_t i = rt ? rt - routes : METRICS_ROUTES;
	struct hist *h;
	size_t b;

	if (i < 0 || i > METRICS_ROUTES)
		i = METRICS_ROUTES;
	h = &hists[i];
	for (b = 0; b < NBUCKETS && us > bucket_us[b]; b++)
		;
	atomic_fetch_add(&h->bucket[b], 1);
	atomic_fetch_add(&h->sum_us, us < 0 ? 0 : us);
	atomic_fetch_add(&h->count, 1);
}

static void
help(struct buf *b, const char *name, const char *type, const char *text)
{
	buf_addf(b, "# HELP %s %s\n# TYPE %s %s\n", name, text, name, type);
}

static void
gauge_obj(struct buf *b, json_t *o, const char *name, const char *label,
    const char *const *keys)
{
	for (; *keys; keys++)
		buf_addf(b, "%s{%s=\"%s\"} %lld\n", name, label, *keys,
		    (long long)json_integer_value(json_object_get(o, *keys)));
}

/* One send counter, a line per channel of the registry. */
static void
send_counter(struct buf *b, const char *name, enum send_count what, const char *text)
{
	size_t i;

	help(b, name, "counter", text);
	for (i = 0; channel_types[i]; i++)
		buf_addf(b, "%s{channel=\"%s\"} %lld\n", name, channel_types[i]->name,
		    counters_send_read(i, what));
}

static void
histogram(struct buf *b, const char *route, struct hist *h)
{
	long long cum = 0, n = atomic_load(&h->count);
	size_t i;

	if (n == 0)
		return;
	for (i = 0; i <= NBUCKETS; i++) {
		cum += atomic_load(&h->bucket[i]);
		if (i < NBUCKETS)
			buf_addf(b, "custos_http_request_duration_seconds_bucket{route=\"%s\",le=\"%g\"} %lld\n",
			    route, (double)bucket_us[i] / 1e6, cum);
		else
			buf_addf(b, "custos_http_request_duration_seconds_bucket{route=\"%s\",le=\"+Inf\"} %lld\n",
			    route, cum);
	}
	buf_addf(b, "custos_http_request_duration_seconds_sum{route=\"%s\"} %.6f\n", route,
	    (double)atomic_load(&h->sum_us) / 1e6);
	buf_addf(b, "custos_http_request_duration_seconds_count{route=\"%s\"} %lld\n", route, n);
}

void
api_metrics(struct req *r, struct resp *rs)
{
	static const char *const states[] = { "up", "down", "new", NULL };
	PGresult *q = db_exec(r->db, &q_gauges, NULL);
	json_t *g = NULL, *pend;
	json_error_t jerr;
	struct buf b;
	struct MHD_Response *mr;
	size_t i, len;
	char *text;
	int n;

	buf_init(&b, METRICS_BODY_MAX);
	if (!db_ok(q, PGRES_TUPLES_OK)) {
		resp_db_error(rs, r->db, q);
		goto done;
	}
	if ((g = json_loads(PQgetvalue(q, 0, 0), 0, &jerr)) == NULL) {
		resp_error(rs, 500, NULL, "metrics: %s", jerr.text);
		goto done;
	}
	help(&b, "custos_checks", "gauge", "Enabled checks by current status.");
	for (n = 0; n <= CHECK_STATUS_COUNT; n++)   /* the last: pending */
		buf_addf(&b, "custos_checks{status=\"%s\"} %lld\n",
		    n < CHECK_STATUS_COUNT ? check_status_name(n) : CHECK_PENDING_NAME,
		    (long long)json_integer_value(json_array_get(json_object_get(g, "checks"),
		    (size_t)n)));
	help(&b, "custos_agents", "gauge", "Agents by state.");
	gauge_obj(&b, json_object_get(g, "agents"), "custos_agents", "state", states);
	pend = json_object_get(g, "pending");
	help(&b, "custos_notifications_pending", "gauge", "Notifications waiting to be sent.");
	for (i = 0; channel_types[i]; i++)
		buf_addf(&b, "custos_notifications_pending{channel=\"%s\"} %lld\n", channel_types[i]->name,
		    (long long)json_integer_value(json_array_get(json_object_get(pend,
		    channel_types[i]->name), 0)));
	help(&b, "custos_notifications_oldest_pending_seconds", "gauge",
	    "Age of the oldest notification waiting to be sent (0 when none).");
	for (i = 0; channel_types[i]; i++)
		buf_addf(&b, "custos_notifications_oldest_pending_seconds{channel=\"%s\"} %.3f\n",
		    channel_types[i]->name, json_number_value(json_array_get(json_object_get(pend,
		    channel_types[i]->name), 1)));
	send_counter(&b, "custos_notifications_sent_total", COUNT_SENT,
	    "Notifications delivered by this process.");
	send_counter(&b, "custos_notifications_failed_total", COUNT_FAILED,
	    "Notifications this process gave up on (permanent error or too many retries).");
	send_counter(&b, "custos_notifications_retried_total", COUNT_RETRIED,
	    "Attempts of this process that failed for a transient reason and will be retried.");
	help(&b, "custos_results_ingested_total", "counter", "Check results stored by this process.");
	buf_addf(&b, "custos_results_ingested_total %lld\n", (long long)atomic_load(&ingested));
	{
		long long open;
		unsigned long closed[EDGE_NREASONS];
		edge_stats(&open, closed);
		help(&b, "custos_http_connections", "gauge", "Open HTTP connections (max_connections).");
		buf_addf(&b, "custos_http_connections %lld\n", open);
		help(&b, "custos_http_connections_closed_total", "counter",
		    "Connections serverd closed itself: over request_timeout_s (deadline), to make "
		    "room for a known token (room), over max_connections_per_ip (per_ip; behind "
		    "a trusted proxy, requests answered 429), a kept-alive connection idle over "
		    "request_timeout_s after an answer (idle).");
		for (i = 0; i < EDGE_NREASONS; i++)
			buf_addf(&b, "custos_http_connections_closed_total{reason=\"%s\"} %lu\n",
			    edge_reason_names[i], closed[i]);
	}
	help(&b, "custos_http_bulk_queued", "gauge",
	    "Large requests (ingest batches, applies) and long reads waiting for one of bulk_threads.");
	buf_addf(&b, "custos_http_bulk_queued %u\n", http_bulk_queued());
	{
		struct urgent_stats us;

		urgent_stats(&us);
		help(&b, "custos_bulk_yield_waiting", "gauge",
		    "Ingest batches on bulk threads waiting now while a page is being made (bulk_yield_ms).");
		buf_addf(&b, "custos_bulk_yield_waiting %lld\n", us.waiting);
		help(&b, "custos_bulk_yields_total", "counter",
		    "Ingest batches that waited while a page was being made.");
		buf_addf(&b, "custos_bulk_yields_total %lld\n", us.yields);
		help(&b, "custos_bulk_yield_seconds_total", "counter",
		    "Time those batches waited, all together.");
		buf_addf(&b, "custos_bulk_yield_seconds_total %.6f\n", (double)us.waited_us / 1e6);
	}
	help(&b, "custos_http_request_duration_seconds", "histogram",
	    "Time from a request's arrival to its answer, by route.");
	for (n = 0; n < METRICS_ROUTES && routes[n].method; n++) {
		char label[160];
		snprintf(label, sizeof(label), "%s %s", routes[n].method, routes[n].pattern);
		histogram(&b, label, &hists[n]);
	}
	histogram(&b, "other", &hists[METRICS_ROUTES]);
	if (b.failed) {
		resp_error(rs, 500, NULL, "metrics: answer too large");
		goto done;
	}
	len = b.len;
	text = buf_take(&b);
	mr = MHD_create_response_from_buffer(len, text, MHD_RESPMEM_MUST_FREE);
	if (mr == NULL) {
		free(text);
		resp_error(rs, 500, NULL, "out of memory");
		goto done;
	}
	MHD_add_response_header(mr, MHD_HTTP_HEADER_CONTENT_TYPE,
	    "text/plain; version=0.0.4; charset=utf-8");
	rs->status = 200;
	rs->raw = mr;
done:
	buf_free(&b);
	json_decref(g);
	PQclear(q);
}
