/*
 * stream.c - see stream.h.
 *
 * Locking: one mutex (mu) guards the ring, the list of streams and each
 * stream's fields. libmicrohttpd calls reader() on the thread that owns the
 * connection; reader() suspends the connection under mu when there is
 * nothing to send, and marks it suspended. Whoever clears that mark (under
 * mu) must resume the connection, which it does after unlocking: until then
 * the connection stays suspended, so it cannot be closed and freed.
 * libmicrohttpd may not stop with suspended connections: stream_end_all()
 * resumes them all and every reader() then ends its stream.
 *
 * Threads: the LISTEN thread (listen.h) calls on_stream(), stream_up()
 * and stream_down(), which only note ids, push a reset and flip flags; the
 * stream's own thread (a ticker) does the lookups of a round on its own
 * connection, and resumes streams whose heartbeat is due or whose client
 * left. round_mu guards the round being gathered; it is never held with mu.
 */
#include "config.h"
#include "stream.h"
#include "buf.h"
#include "db.h"
#include "listen.h"
#include "log.h"
#include "serverd.h"
#include "strnum.h"
#include "ticker.h"
#include "timeutil.h"
#include "urlredact.h"

#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STREAM_RING 4096            /* frames kept for streams that lag behind */
#define STREAM_OUT_MAX (8 << 20)    /* a stream's own queue (replay), at most */
#define STREAM_BLOCK 32768          /* bytes handed to MHD per call, at most */
#define STREAM_IDS_MAX 512          /* ids looked up per query */
#define STREAM_TICK_MS 250          /* heartbeats and closed streams are looked at this often */
#define STREAM_COALESCE_MS 100      /* one round of lookups at most this often */
#define STREAM_ROUND_SHARE 4        /* and after a round that took T, not before T x this */

struct frame {
	char *text;                 /* "id: ...\nevent: ...\ndata: ...\n\n" */
	size_t len;
	/* text without its URLs' user:password@, for the operator and viewer
	 * roles (urlredact.h); NULL when text has none */
	char *text_r;
	size_t len_r;
	int64_t event_id;           /* > 0 for an "event" frame */
};

struct stream {
	struct stream *prev, *next;
	struct MHD_Connection *mc;
	uint64_t pos;               /* next ring sequence number to send */
	struct buf out;             /* bytes for this stream only, sent first */
	size_t off;                 /* of out, already sent */
	int64_t replayed_upto;      /* ring events up to this id were replayed */
	int64_t last_write_us;
	int suspended;
	/* the slot's owner (stream_max_per_token) and the client's socket,
	 * watched while suspended so that a closed stream frees its slot at
	 * once rather than at its next heartbeat (reap_gone()) */
	enum who_kind who_kind;
	int64_t who_id;
	int fd;
	int gone;
};

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static struct frame ring[STREAM_RING];
static uint64_t head;               /* sequence number of the next frame */
static struct stream *streams;
static int nstreams, stopping;
static int64_t last_event_id;
static atomic_uint_fast64_t change_gen = 1;
static atomic_int listening;

#define EVENT_JSON "jsonb_build_object('id', e.id, 'created_at', rfc3339(e.created_at)," \
	" 'kind', e.kind, 'agent_id', e.agent_id, 'agent', a.name, 'check_id', e.check_id," \
	" 'check', c.name, 'status', status_name(e.status)," \
	" 'prev_status', status_name(e.prev_status), 'state_type', e.state_type," \
	" 'attempt', e.attempt, 'value', e.value, 'output', e.output, 'notify', e.notify," \
	" 'detail', e.detail)::text"
#define CHECK_JSON "(check_json(c) || jsonb_build_object('agent_name', a.name," \
	" 'agent_state', a.state))::text"

/*
 * A round's rows, by id: one key lookup per id (LATERAL ... OFFSET 0). The
 * plans are generic (db.c), and "id = ANY ($1)" was planned as a scan of
 * every check comparing each with every id: with 500 streams open under
 * full ingest that halved the ingest rate (bench/dashboard).
 */
static const struct db_stmt q_events = { "stream_events",
	"SELECT e.id, " EVENT_JSON " FROM unnest($1::bigint[]) u(id)"
	" CROSS JOIN LATERAL (SELECT * FROM events e WHERE e.id = u.id OFFSET 0) e"
	" LEFT JOIN LATERAL (SELECT a.name FROM agents a WHERE a.id = e.agent_id OFFSET 0) a ON true"
	" LEFT JOIN LATERAL (SELECT c.name FROM checks c WHERE c.id = e.check_id OFFSET 0) c ON true"
	" ORDER BY e.id", 1 };
/*
 * The checks' frames: exactly CHECK_JSON's text (check_json(): definition,
 * state, availability, labels, template, overrides, parents, suppressed_by),
 * but the newest results of all of them found at once (check_last_many(),
 * as /api/v1/status does) and handed to check_state_json(), the state
 * object's one writer in SQL: check_json() one
 * check at a time made a round of many changed checks cost about ten times
 * the PostgreSQL time it costs this way (figures: bench/README.md, "Figures
 * behind the code").
 */
static const struct db_stmt q_checks = { "stream_checks",
	"WITH ids AS MATERIALIZED (SELECT DISTINCT x AS id FROM unnest($1::bigint[]) x),"
	" l AS MATERIALIZED (SELECT * FROM check_last_many(ARRAY(SELECT id FROM ids)))"
	" SELECT (k.c).id, (check_def_json(k.c) || jsonb_build_object("
	"  'state', CASE WHEN (s.s).check_id IS NOT NULL THEN check_state_json(s.s, (k.c).agent_id,"
	"   l.observed_at, l.output, l.value, l.perfdata) END,"
	"  'availability', check_availability(ARRAY[(k.c).id]), 'labels', (k.c).labels,"
	"  'managed', (k.c).managed, 'template', (k.c).template, 'overrides', (k.c).overrides,"
	"  'parents', CASE WHEN (k.c).parents = '{}' THEN '[]'"
	"   ELSE check_parent_names((k.c).parents) END,"
	"  'suppressed_by', CASE WHEN (k.c).parents = '{}' AND a.parents = '{}' THEN NULL"
	"   ELSE check_suppressed_by((k.c).id, (k.c).agent_id) END,"
	"  'agent_name', a.name, 'agent_state', a.state))::text"
	" FROM ids u"
	" CROSS JOIN LATERAL (SELECT c FROM checks c WHERE c.id = u.id OFFSET 0) k"
	" CROSS JOIN LATERAL (SELECT a.name, a.state, a.parents FROM agents a"
	"  WHERE a.id = (k.c).agent_id OFFSET 0) a"
	" LEFT JOIN LATERAL (SELECT s FROM check_state s WHERE s.check_id = u.id OFFSET 0) s ON true"
	" LEFT JOIN l ON l.check_id = u.id"
	" ORDER BY 1", 1 };
static const struct db_stmt q_agents = { "stream_agents",
	"SELECT (k.a).id, agent_json(k.a)::text FROM unnest($1::bigint[]) u(id)"
	" CROSS JOIN LATERAL (SELECT a FROM agents a WHERE a.id = u.id OFFSET 0) k"
	" ORDER BY 1", 1 };
static const struct db_stmt q_last = { "stream_last",
	"SELECT COALESCE(max(id), 0) FROM events", 0 };
/* Resuming: the events after $1 (at most $2), then their checks and agents. */
static const struct db_stmt q_replay = { "stream_replay",
	"WITH ev AS (SELECT * FROM events WHERE id > $1 ORDER BY id LIMIT $2)"
	" SELECT 'event', e.id, " EVENT_JSON " FROM ev e"
	"  LEFT JOIN agents a ON a.id = e.agent_id LEFT JOIN checks c ON c.id = e.check_id"
	" UNION ALL SELECT 'check', c.id, " CHECK_JSON " FROM checks c JOIN agents a ON a.id = c.agent_id"
	"  WHERE c.id IN (SELECT check_id FROM ev)"
	" UNION ALL SELECT 'agent', a.id, agent_json(a)::text FROM agents a"
	"  WHERE a.id IN (SELECT agent_id FROM ev)"
	" ORDER BY 1 DESC, 2", 2 };

/* ---- frames ------------------------------------------------------------- */

static int
frame_add(struct buf *b, int64_t id, const char *event, const char *data)
{
	return buf_addf(b, "id: %lld\nevent: %s\ndata: %s\n\n", (long long)id, event, data);
}

/* a stream that must not read a URL's user:password@ (urlredact.h) */
static int
redacts(enum who_kind k)
{
	return k == WHO_OPERATOR || k == WHO_VIEWER;
}

/*
 * Appends a frame to the ring (mu held); takes text and text_r (its
 * redacted copy, or NULL when it has nothing to hide).
 */
static void
ring_push_locked(char *text, size_t len, char *text_r, size_t len_r, int64_t event_id)
{
	struct frame *f = &ring[head % STREAM_RING];

	free(f->text);
	free(f->text_r);
	f->text = text;
	f->len = len;
	f->text_r = text_r;
	f->len_r = len_r;
	f->event_id = event_id;
	head++;
}

/*
 * Resumes every suspended stream (all: 1; else only those whose heartbeat
 * is due). Called without mu.
 */
static void
wake(int all, int64_t hb_us)
{
	struct MHD_Connection **mcs;
	struct stream *s;
	int n = 0, i;
	int64_t now = mono_now_us();

	pthread_mutex_lock(&mu);
	mcs = calloc((size_t)nstreams + 1, sizeof(*mcs));
	for (s = streams; s && mcs; s = s->next)
		if (s->suspended && (all || now - s->last_write_us >= hb_us)) {
			s->suspended = 0;
			mcs[n++] = s->mc;
		}
	pthread_mutex_unlock(&mu);
	if (mcs == NULL) {
		log_error("stream: out of memory waking streams");
		return;
	}
	for (i = 0; i < n; i++)
		MHD_resume_connection(mcs[i]);
	free(mcs);
}

/*
 * Streams whose client went away while suspended: a suspended connection
 * is not polled by libmicrohttpd, so without this its slot stays taken
 * until the heartbeat's write fails (stream_heartbeat_s). One poll(2) of
 * the suspended sockets, timeout 0, each tick of the stream's thread (STREAM_TICK_MS):
 * an end of stream (POLLRDHUP), a reset or an error marks the stream gone
 * and resumes it, and reader() ends it. Called without mu.
 */
static void
reap_gone(void)
{
	struct pollfd *pfd;
	struct stream **of, *s;
	struct MHD_Connection **mcs;
	int n = 0, ngone = 0, i;

	pthread_mutex_lock(&mu);
	pfd = calloc((size_t)nstreams + 1, sizeof(*pfd));
	of = calloc((size_t)nstreams + 1, sizeof(*of));
	mcs = calloc((size_t)nstreams + 1, sizeof(*mcs));
	if (pfd && of && mcs) {
		for (s = streams; s; s = s->next)
			if (s->suspended && s->fd >= 0) {
				pfd[n].fd = s->fd;
				pfd[n].events = POLLRDHUP;
				of[n++] = s;
			}
		/* under mu: a suspended stream cannot be freed meanwhile */
		if (n > 0 && poll(pfd, (nfds_t)n, 0) > 0)
			for (i = 0; i < n; i++)
				if (pfd[i].revents & (POLLRDHUP | POLLHUP | POLLERR | POLLNVAL)) {
					of[i]->gone = 1;
					of[i]->suspended = 0;
					mcs[ngone++] = of[i]->mc;
				}
	}
	pthread_mutex_unlock(&mu);
	for (i = 0; i < ngone; i++)
		MHD_resume_connection(mcs[i]);
	free(pfd);
	free(of);
	free(mcs);
}

/* ---- rounds ------------------------------------------------------------- */

/*
 * The ids named by the notifications of one round, without repeats: a
 * check that changes ten times while a round waits is looked up once.
 * More than STREAM_IDS_MAX distinct ids of a kind is "overflow": those are
 * not looked up one by one; the streams get a reset instead (the dashboard
 * then fetches everything again), so no change is ever dropped silently.
 */
struct idset {
	int64_t id[STREAM_IDS_MAX];
	int n, overflow;
};

static void
idset_add(struct idset *s, int64_t id)
{
	int i;

	for (i = 0; i < s->n; i++)
		if (s->id[i] == id)
			return;
	if (s->n == STREAM_IDS_MAX)
		s->overflow = 1;
	else
		s->id[s->n++] = id;
}

/* Runs st for the ids in set and pushes one frame per row. */
static int
push_rows(PGconn *c, const struct db_stmt *st, const struct idset *set, const char *event)
{
	const char *vals[1];
	struct buf lit;
	PGresult *q;
	int i, rc = 0;

	if (set->n == 0)
		return 0;
	buf_init(&lit, (size_t)set->n * 21 + 3);
	for (i = 0; i < set->n; i++)
		buf_addf(&lit, "%s%lld", i ? "," : "{", (long long)set->id[i]);
	buf_adds(&lit, "}");
	if (lit.failed) {
		buf_free(&lit);
		return -1;
	}
	vals[0] = lit.ptr;
	q = db_exec(c, st, vals);
	buf_free(&lit);
	if (!db_ok(q, PGRES_TUPLES_OK)) {
		log_warn("stream: %s: %s", st->name, PQresultErrorMessage(q));
		PQclear(q);
		return -1;
	}
	for (i = 0; i < PQntuples(q); i++) {
		struct buf b;
		const char *es;
		int64_t id = str_to_ll(PQgetvalue(q, i, 0), 1, INT64_MAX, &es);
		int is_event = strcmp(event, "event") == 0;
		char *red = NULL;
		size_t rlen = 0;
		int rr;

		/* the redacted copy of the data first, outside the lock: the
		 * frame's own head holds no URL */
		rr = url_redact(PQgetvalue(q, i, 1), (size_t)PQgetlength(q, i, 1), &red, &rlen);
		buf_init(&b, STREAM_OUT_MAX);
		pthread_mutex_lock(&mu);
		if (is_event && id > last_event_id)
			last_event_id = id;
		if (rr >= 0 && frame_add(&b, is_event ? id : last_event_id, event,
		    PQgetvalue(q, i, 1)) == 0) {
			size_t len = b.len;
			char *text = buf_take(&b), *text_r = NULL;
			size_t len_r = 0;
			if (red) {
				struct buf br;
				buf_init(&br, STREAM_OUT_MAX);
				frame_add(&br, is_event ? id : last_event_id, event, red);
				len_r = br.len;
				text_r = br.failed ? NULL : buf_take(&br);
				buf_free(&br);
			}
			if (red && text_r == NULL) {
				free(text);   /* never the secret in its place */
				rc = -1;
			} else {
				ring_push_locked(text, len, text_r, len_r, is_event ? id : 0);
			}
		} else {
			rc = -1;
		}
		pthread_mutex_unlock(&mu);
		buf_free(&b);
		free(red);
	}
	PQclear(q);
	return rc;
}

static void
push_reset(const char *why)
{
	struct buf b;

	buf_init(&b, 4096);
	pthread_mutex_lock(&mu);
	if (buf_addf(&b, "id: %lld\nevent: reset\ndata: {\"reason\":\"%s\"}\n\n",
	    (long long)last_event_id, why) == 0) {
		size_t len = b.len;
		ring_push_locked(buf_take(&b), len, NULL, 0, 0);
	}
	pthread_mutex_unlock(&mu);
	buf_free(&b);
}

struct round {
	struct idset ev, ck, ag;
};

/*
 * The round: the ids notified since the last one, looked up together on
 * the stream's thread (the ticker below, its own connection), never on the
 * LISTEN thread, which must stay free for the senders' wake-ups and the
 * token cache. The LISTEN thread adds to pending (on_stream()) and wakes
 * the ticker when it is the round's first id; the ticker swaps pending for
 * an empty set under round_mu and looks the ids up without it.
 */
static pthread_mutex_t round_mu = PTHREAD_MUTEX_INITIALIZER;
static struct round rounds[2];
static struct round *pending = &rounds[0];   /* guarded by round_mu */
static int pending_any;                      /* guarded by round_mu */
static int64_t next_round_us;                /* the ticker's own */
static int connected_once;                   /* the LISTEN thread's own */

static void stream_tick(struct ticker *t);
static struct ticker ticker = { .name = "stream", .tick = stream_tick,
	.period_ms = STREAM_TICK_MS };

/*
 * custos_stream: "e<id>", "c<id>" or "a<id>" (sql/006_face.sql). Only
 * noted here.
 *
 * What a round costs PostgreSQL: a check frame is the check's whole JSON
 * (state, last result, availability), so the lookups are kept few. With
 * no stream open nothing is looked up at all (only the newest event id is
 * kept, for the frames' ids; a client that comes back with Last-Event-ID
 * is served from the events table). With streams open, one round of
 * lookups at most every STREAM_COALESCE_MS: notifications arriving
 * meanwhile join the next round, each id once. Under batched ingest at
 * full speed this is the difference between the lookups keeping a core
 * busy and a few queries a second; a change still reaches an open page
 * well within the budget's 500 ms. A round's lookups may take long
 * themselves (many changed checks; bench/README.md): the next round then
 * waits STREAM_ROUND_SHARE times as long as the last one took, so the
 * stream's lookups take at most about a quarter of one PostgreSQL
 * backend's time however fast results arrive (bench/dashboard: ingest
 * beside 500 streams had dropped to half), and changes arriving meanwhile
 * are coalesced into fewer, larger rounds.
 */
static void
on_stream(const char *payload)
{
	const char *es;
	int64_t id = str_to_ll(payload[0] ? payload + 1 : "", 1, INT64_MAX, &es);
	struct idset *set;
	int open, first;

	stream_changed();
	if (es != NULL)
		return;
	pthread_mutex_lock(&mu);
	open = nstreams > 0;
	if (!open && payload[0] == 'e' && id > last_event_id)
		last_event_id = id;
	pthread_mutex_unlock(&mu);
	if (!open)
		return;
	pthread_mutex_lock(&round_mu);
	set = payload[0] == 'e' ? &pending->ev : payload[0] == 'c' ? &pending->ck :
	    payload[0] == 'a' ? &pending->ag : NULL;
	first = set != NULL && !pending_any;
	if (set != NULL) {
		idset_add(set, id);
		pending_any = 1;
	}
	pthread_mutex_unlock(&round_mu);
	if (first)
		ticker_wake(&ticker);
}

/*
 * (Re)connected: the frames' ids go on from the newest event; after a gap
 * the clients are told to fetch everything again, since what happened
 * meanwhile was not seen.
 */
static void
stream_up(PGconn *c)
{
	PGresult *q = db_exec(c, &q_last, NULL);
	const char *es;

	if (db_ok(q, PGRES_TUPLES_OK)) {
		pthread_mutex_lock(&mu);
		last_event_id = str_to_ll(PQgetvalue(q, 0, 0), 0, INT64_MAX, &es);
		pthread_mutex_unlock(&mu);
	}
	PQclear(q);
	if (connected_once) {
		push_reset("reconnected");
		wake(1, 0);
	}
	connected_once = 1;
	stream_changed();
	atomic_store(&listening, 1);
	log_debug("stream: listening on custos_stream");
}

/* Changes are missed from now on: /api/v1/status stops answering from memory. */
static void
stream_down(void)
{
	atomic_store(&listening, 0);
	stream_changed();
}

static const struct listen_sub stream_sub = {
	"custos_stream", on_stream, stream_up, stream_down, NULL
};

/* Looks up one round's ids and pushes their frames; on the ticker's thread. */
static void
run_round(struct round *rd)
{
	PGconn *c = db_conn();
	int64_t t0 = mono_now_us(), t1;

	/* events first: check and agent frames carry the newest event id */
	if (c == NULL || push_rows(c, &q_events, &rd->ev, "event") < 0 ||
	    push_rows(c, &q_checks, &rd->ck, "check") < 0 ||
	    push_rows(c, &q_agents, &rd->ag, "agent") < 0)
		push_reset("lookup failed");
	else if (rd->ev.overflow || rd->ck.overflow || rd->ag.overflow)
		push_reset("too many changes at once");
	t1 = mono_now_us();
	next_round_us = t0 + STREAM_COALESCE_MS * 1000;
	if (t1 + (t1 - t0) * (STREAM_ROUND_SHARE - 1) > next_round_us)
		next_round_us = t1 + (t1 - t0) * (STREAM_ROUND_SHARE - 1);
	wake(1, 0);
}

/*
 * The stream's thread: a round when one is due, and each tick the
 * heartbeats due and the streams whose client left.
 */
static void
stream_tick(struct ticker *t)
{
	int64_t now = mono_now_us(), hb_us = CONF_VALUE(stream_heartbeat_s) * 1000000;
	struct round *rd = NULL;
	long wait_ms = STREAM_TICK_MS;

	pthread_mutex_lock(&round_mu);
	if (pending_any && now >= next_round_us) {
		rd = pending;
		pending = rd == &rounds[0] ? &rounds[1] : &rounds[0];
		memset(pending, 0, sizeof(*pending));
		pending_any = 0;
	} else if (pending_any && (next_round_us - now) / 1000 + 1 < wait_ms) {
		wait_ms = (long)((next_round_us - now) / 1000 + 1);   /* never before it */
	}
	pthread_mutex_unlock(&round_mu);
	if (rd != NULL)
		run_round(rd);
	wake(0, hb_us);
	reap_gone();
	t->next_ms = wait_ms;
}

uint64_t
stream_generation(void)
{
	return atomic_load(&listening) ? atomic_load(&change_gen) : 0;
}

void
stream_changed(void)
{
	atomic_fetch_add(&change_gen, 1);
}

int
stream_start(void)
{
	pthread_mutex_lock(&mu);
	stopping = 0;
	pthread_mutex_unlock(&mu);
	pthread_mutex_lock(&round_mu);
	memset(rounds, 0, sizeof(rounds));
	pending_any = 0;
	pthread_mutex_unlock(&round_mu);
	next_round_us = 0;
	connected_once = 0;
	if (ticker_start(&ticker) < 0)
		return -1;
	return listen_subscribe(&stream_sub);
}

void
stream_end_all(void)
{
	pthread_mutex_lock(&mu);
	stopping = 1;
	pthread_mutex_unlock(&mu);
	wake(1, 0);
}

void
stream_stop(void)
{
	size_t i;

	stream_end_all();
	ticker_stop(&ticker);
	pthread_mutex_lock(&mu);
	for (i = 0; i < STREAM_RING; i++) {
		free(ring[i].text);
		free(ring[i].text_r);
		ring[i].text = NULL;
		ring[i].text_r = NULL;
	}
	pthread_mutex_unlock(&mu);
}

int
stream_count(void)
{
	int n;

	pthread_mutex_lock(&mu);
	n = nstreams;
	pthread_mutex_unlock(&mu);
	return n;
}

/* ---- one stream ----------------------------------------------------------- */

static ssize_t
reader(void *cls, uint64_t at, char *dst, size_t max)
{
	struct stream *s = cls;
	int64_t now = mono_now_us(), hb_us = CONF_VALUE(stream_heartbeat_s) * 1000000;
	size_t n = 0;

	(void)at;
	if (max > STREAM_BLOCK)
		max = STREAM_BLOCK;
	pthread_mutex_lock(&mu);
	if (stopping) {
		pthread_mutex_unlock(&mu);
		return MHD_CONTENT_READER_END_OF_STREAM;
	}
	if (s->gone) {
		/* the client left (reap_gone()): an ordinary end, not an error
		 * libmicrohttpd would log as a warning for every closed tab */
		pthread_mutex_unlock(&mu);
		return MHD_CONTENT_READER_END_OF_STREAM;
	}
	/* queue ring frames behind this stream's own bytes, up to one block */
	while (s->pos < head && s->out.len - s->off < max) {
		if (head - s->pos > STREAM_RING) {
			buf_addf(&s->out, "id: %lld\nevent: reset\ndata: {\"reason\":\"lagged\"}\n\n",
			    (long long)last_event_id);
			s->pos = head;
			break;
		}
		{
			struct frame *f = &ring[s->pos % STREAM_RING];
			s->pos++;
			if (f->event_id > 0 && f->event_id <= s->replayed_upto)
				continue;
			if (f->text_r && redacts(s->who_kind))
				buf_add(&s->out, f->text_r, f->len_r);
			else
				buf_add(&s->out, f->text, f->len);
		}
	}
	if (s->out.failed) {
		pthread_mutex_unlock(&mu);
		return MHD_CONTENT_READER_END_WITH_ERROR;
	}
	if (s->out.len > s->off) {
		n = s->out.len - s->off;
		if (n > max)
			n = max;
		memcpy(dst, s->out.ptr + s->off, n);
		s->off += n;
		if (s->off == s->out.len) {
			buf_reset(&s->out);
			s->off = 0;
		}
	} else if (now - s->last_write_us >= hb_us) {
		static const char hb[] = ": heartbeat\n\n";
		n = sizeof(hb) - 1;
		memcpy(dst, hb, n);
	}
	if (n == 0) {
		/* nothing to say: sleep until the ring grows or the heartbeat */
		s->suspended = 1;
		MHD_suspend_connection(s->mc);
		pthread_mutex_unlock(&mu);
		return 0;
	}
	s->last_write_us = now;
	pthread_mutex_unlock(&mu);
	return (ssize_t)n;
}

static void
stream_free(void *cls)
{
	struct stream *s = cls;

	pthread_mutex_lock(&mu);
	if (s->prev)
		s->prev->next = s->next;
	else if (streams == s)
		streams = s->next;
	if (s->next)
		s->next->prev = s->prev;
	nstreams--;
	pthread_mutex_unlock(&mu);
	buf_free(&s->out);
	free(s);
}

/*
 * Fills b with the frames after last_id; returns the id up to which the
 * ring's event frames are already covered (replayed, or behind a reset),
 * or -1. That id is never beyond the newest event that exists: reader()
 * skips every ring event up to it, so a Last-Event-ID from another
 * database or a gap answered by a reset must not stop the events that
 * come next (it did, for good, when this was INT64_MAX or the client's id).
 * The newest id is read before the backlog and after the stream joined the
 * ring: an event newer than it is in the ring, or in the backlog, or both.
 */
static int64_t
replay(struct req *r, int64_t last_id, struct buf *b, struct resp *rs)
{
	char since[24], lim[24];
	const char *vals[2] = { id_text(last_id, since), id_text(STREAM_REPLAY_MAX + 1, lim) };
	PGresult *q = db_exec(r->db, &q_last, NULL);
	int64_t upto = last_id, nev = 0, newest;
	const char *es;
	int i;

	if (!db_ok(q, PGRES_TUPLES_OK)) {
		resp_db_error(rs, r->db, q);
		PQclear(q);
		return -1;
	}
	newest = str_to_ll(PQgetvalue(q, 0, 0), 0, INT64_MAX, &es);
	PQclear(q);
	if (es)
		newest = 0;
	if (last_id > newest) {
		/* not an id of this database (restored, or replaced): start over */
		buf_addf(b, "id: %lld\nevent: reset\ndata: {\"reason\":\"unknown id\"}\n\n",
		    (long long)newest);
		return newest;
	}
	q = db_exec(r->db, &q_replay, vals);
	if (!db_ok(q, PGRES_TUPLES_OK)) {
		resp_db_error(rs, r->db, q);
		PQclear(q);
		return -1;
	}
	for (i = 0; i < PQntuples(q); i++)
		if (strcmp(PQgetvalue(q, i, 0), "event") == 0)
			nev++;
	if (nev > STREAM_REPLAY_MAX) {
		buf_addf(b, "id: %lld\nevent: reset\ndata: {\"reason\":\"gap too old\"}\n\n",
		    (long long)newest);
		upto = newest;   /* the events up to it are covered by the reset */
	} else {
		for (i = 0; i < PQntuples(q); i++) {
			const char *kind = PQgetvalue(q, i, 0);
			int64_t id = str_to_ll(PQgetvalue(q, i, 1), 1, INT64_MAX, &es);
			if (strcmp(kind, "event") == 0 && id > upto)
				upto = id;
			frame_add(b, strcmp(kind, "event") == 0 ? id : upto, kind, PQgetvalue(q, i, 2));
		}
	}
	PQclear(q);
	return upto;
}

void
api_stream(struct req *r, struct resp *rs)
{
	const char *lei = req_header(r, "Last-Event-ID"), *es;
	struct stream *s;
	struct MHD_Response *mr;
	long long max = CONF_VALUE(stream_max), last_id = -1;
	long long per_token = CONF_VALUE(stream_max_per_token), mine = 0;
	const union MHD_ConnectionInfo *fi =
	    MHD_get_connection_info(r->mc, MHD_CONNECTION_INFO_CONNECTION_FD);

	if (lei == NULL)
		lei = req_arg(r, "last_event_id");
	if (lei && *lei) {
		last_id = str_to_ll(lei, 0, INT64_MAX, &es);
		if (es) {
			resp_error(rs, 400, "Last-Event-ID", "Last-Event-ID must be an event id");
			return;
		}
	}
	if ((s = calloc(1, sizeof(*s))) == NULL) {
		resp_error(rs, 500, NULL, "out of memory");
		return;
	}
	buf_init(&s->out, STREAM_OUT_MAX);
	s->mc = r->mc;
	s->who_kind = r->who.kind;
	s->who_id = r->who.id;
	s->fd = fi ? fi->connect_fd : -1;
	s->last_write_us = mono_now_us();
	buf_adds(&s->out, "retry: 2000\n: connected\n\n");
	pthread_mutex_lock(&mu);
	{
		/* one token (a browser session counts as its token) may not hold
		 * every slot: a viewer's runaway tabs leave room for the admin */
		struct stream *o;
		for (o = streams; o; o = o->next)
			if (!o->gone && o->who_kind == s->who_kind && o->who_id == s->who_id)
				mine++;
	}
	if (!stopping && nstreams < max && mine >= per_token) {
		pthread_mutex_unlock(&mu);
		buf_free(&s->out);
		free(s);
		resp_error(rs, 429, NULL, "this token holds %lld open streams already "
		    "(stream_max_per_token)", mine);
		return;
	}
	if (stopping || nstreams >= max) {
		pthread_mutex_unlock(&mu);
		buf_free(&s->out);
		free(s);
		resp_error(rs, 503, NULL, "too many open streams (stream_max = %lld)", max);
		return;
	}
	/* join the ring before reading the backlog: nothing falls in between */
	s->pos = head;
	s->next = streams;
	if (streams)
		streams->prev = s;
	streams = s;
	nstreams++;
	pthread_mutex_unlock(&mu);

	if (last_id >= 0) {
		struct buf b;
		int64_t upto;
		buf_init(&b, STREAM_OUT_MAX);
		upto = replay(r, last_id, &b, rs);
		if (upto >= 0 && b.len && redacts(s->who_kind)) {
			char *red;
			size_t rlen;
			int rr = url_redact(b.ptr, b.len, &red, &rlen);
			if (rr < 0) {
				resp_error(rs, 500, NULL, "out of memory");
				upto = -1;
			} else if (rr > 0) {
				buf_reset(&b);
				buf_add(&b, red, rlen);
				free(red);
			}
		}
		pthread_mutex_lock(&mu);
		if (upto >= 0) {
			s->replayed_upto = upto;
			if (b.len)
				buf_add(&s->out, b.ptr, b.len);
		}
		pthread_mutex_unlock(&mu);
		buf_free(&b);
		if (upto < 0) {
			stream_free(s);
			return;
		}
	}
	mr = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, STREAM_BLOCK, reader, s,
	    stream_free);
	if (mr == NULL) {
		stream_free(s);
		resp_error(rs, 500, NULL, "out of memory");
		return;
	}
	MHD_add_response_header(mr, MHD_HTTP_HEADER_CONTENT_TYPE, "text/event-stream");
	MHD_add_response_header(mr, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	MHD_add_response_header(mr, "X-Accel-Buffering", "no");
	rs->status = 200;
	rs->raw = mr;
}
