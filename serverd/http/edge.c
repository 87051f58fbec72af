/*
 * edge.c - see edge.h.
 *
 * One mutex guards the book (a list, oldest first). Every decision is a
 * walk of it: with max_connections in the thousands that is microseconds,
 * and it happens once per accepted connection and four times a second
 * (the watcher), never per request byte.
 *
 * What a request changes on its own connection (known, serving, answered,
 * since_us) is written by that connection's thread alone, as atomics,
 * without the mutex: taking it three times per request would put every
 * worker thread in line behind one lock on the hottest paths (the 304 of
 * an agent's check download, tens of thousands a second). Readers under
 * the mutex may see a request a moment late; the only consequence is a
 * cut at the deadline's very edge.
 */
#include "config.h"
#include "edge.h"
#include "log.h"
#include "serverd.h"
#include "timeutil.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#define WATCH_MS 250          /* how often the deadline is looked at */
#define REPORT_EVERY_S 10     /* cuts are logged at most this often */

const char *const edge_reason_names[EDGE_NREASONS] = { "deadline", "room", "per_ip", "idle" };
static const char *const cut_names[EDGE_NREASONS] = { "over request_timeout_s",
	"to make room (max_connections)", "over max_connections_per_ip",
	"idle after an answer, over request_timeout_s" };

struct edge_conn {
	struct edge_conn *prev, *next;
	MHD_socket fd;
	char peer[INET6_ADDRSTRLEN];     /* the socket's address */
	char client[INET6_ADDRSTRLEN];   /* forwarded client of the running request */
	int proxy;                       /* the peer is a trusted proxy */
	int cut;                         /* shut down here: out of every count (mu) */
	/* the connection's own thread writes these (see the head) */
	atomic_int known;                /* a known token was shown on it */
	atomic_int serving;              /* the request was read whole */
	atomic_int answered;             /* a request on it was answered */
	atomic_int_fast64_t since_us;    /* the deadline's start */
};

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static struct edge_conn *head, *tail;
static unsigned max_conns;
static int tls_on, stopping, started;
static unsigned long cuts[EDGE_NREASONS];
static pthread_t watcher_tid;

unsigned
edge_mhd_limit(unsigned max_connections, unsigned threads)
{
	/* each pool thread may have to take every connection plus a few just
	 * cut and not yet closed, or the book never sees the newcomer */
	return (max_connections + 16) * (threads ? threads : 1);
}

unsigned long
edge_fds_needed(unsigned max_connections, unsigned threads, unsigned senders)
{
	/* the connections, those cut and not yet closed, one database
	 * connection per thread; per sender its database connection and the
	 * connection it keeps to its provider (notify_webhook.c); the jobs',
	 * logs' and a margin */
	return (unsigned long)max_connections + 16UL * threads + 2UL * senders + 256;
}

static int
trusted(const struct srv_conf *cf, const char *addr)
{
	struct in_addr a;
	uint32_t v;
	int i;

	if (cf->ntrusted_ == 0 || inet_pton(AF_INET, addr, &a) != 1)
		return 0;
	v = ntohl(a.s_addr);
	for (i = 0; i < cf->ntrusted_; i++)
		if ((v & cf->trusted_[i].mask) == cf->trusted_[i].net)
			return 1;
	return 0;
}

/* Connections (not cut) counted against addr (mu held). */
static int
count_addr_locked(const char *addr)
{
	struct edge_conn *e;
	int n = 0;

	for (e = head; e; e = e->next) {
		if (e->cut)
			continue;
		if (e->client[0] ? strcmp(e->client, addr) == 0
		    : !e->proxy && strcmp(e->peer, addr) == 0)
			n++;
	}
	return n;
}

/* Shuts e's socket down (mu held); its thread then closes it. */
static void
cut_locked(struct edge_conn *e, enum edge_reason why)
{
	static const char r408[] = "HTTP/1.1 408 Request Timeout\r\nConnection: close\r\n"
	    "Content-Type: application/json\r\nContent-Length: 46\r\n\r\n"
	    "{\"error\":\"request not complete within limit\"}";

	e->cut = 1;
	cuts[why]++;
	/*
	 * The 408 only for a late first request: a kept-alive connection that
	 * is idle (EDGE_IDLE) is closed without a word, as any idle
	 * keep-alive, because a client may be sending its next request this
	 * very moment and would take the 408 for that request's answer.
	 */
	if (why == EDGE_DEADLINE && !tls_on)
		(void)!send(e->fd, r408, sizeof(r408) - 1, MSG_DONTWAIT | MSG_NOSIGNAL);
	if (shutdown(e->fd, SHUT_RDWR) < 0 && errno != ENOTCONN)
		log_debug("http: shutdown: %s", strerror(errno));
}

/* Makes room when the pool is over its limits (mu held). */
static void
make_room_locked(struct edge_conn *newcomer, long long reserve)
{
	struct edge_conn *e, *victim = NULL;
	long long total = 0, anon = 0;

	for (e = head; e; e = e->next) {
		if (e->cut)
			continue;
		total++;
		if (!atomic_load(&e->known) && !e->proxy)
			anon++;
	}
	if (total <= max_conns && anon <= (long long)max_conns - reserve)
		return;
	for (e = head; e; e = e->next)
		if (!e->cut && !atomic_load(&e->known) && !e->proxy && !atomic_load(&e->serving)) {
			victim = e;
			break;
		}
	cut_locked(victim ? victim : newcomer, EDGE_ROOM);
}

static struct edge_conn *
ctx_of(struct MHD_Connection *mc)
{
	const union MHD_ConnectionInfo *ci =
	    MHD_get_connection_info(mc, MHD_CONNECTION_INFO_SOCKET_CONTEXT);

	return ci ? ci->socket_context : NULL;
}

static void
started_conn(struct MHD_Connection *mc, void **socket_context)
{
	const union MHD_ConnectionInfo *fi =
	    MHD_get_connection_info(mc, MHD_CONNECTION_INFO_CONNECTION_FD);
	const union MHD_ConnectionInfo *ai =
	    MHD_get_connection_info(mc, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	const struct srv_conf *cf;
	struct edge_conn *e;
	long long per_ip, reserve;

	if (fi == NULL || (e = calloc(1, sizeof(*e))) == NULL)
		return;   /* untracked: counts nowhere, cut by nothing */
	e->fd = fi->connect_fd;
	atomic_init(&e->known, 0);
	atomic_init(&e->serving, 0);
	atomic_init(&e->answered, 0);
	atomic_init(&e->since_us, mono_now_us());
	if (ai && ai->client_addr && ai->client_addr->sa_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)ai->client_addr)->sin_addr,
		    e->peer, sizeof(e->peer));
	else if (ai && ai->client_addr && ai->client_addr->sa_family == AF_INET6)
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)ai->client_addr)->sin6_addr,
		    e->peer, sizeof(e->peer));
	cf = conf_hold();
	e->proxy = trusted(cf, e->peer);
	per_ip = cf->max_connections_per_ip;
	reserve = cf->reserved_connections;
	conf_drop(cf);

	pthread_mutex_lock(&mu);
	e->prev = tail;
	if (tail)
		tail->next = e;
	else
		head = e;
	tail = e;
	if (!e->proxy && per_ip > 0 && count_addr_locked(e->peer) > per_ip)
		cut_locked(e, EDGE_PER_IP);
	else
		make_room_locked(e, reserve);
	pthread_mutex_unlock(&mu);
	*socket_context = e;
}

void
edge_notify(void *cls, struct MHD_Connection *mc, void **socket_context,
    enum MHD_ConnectionNotificationCode code)
{
	struct edge_conn *e = *socket_context;

	(void)cls;
	if (code == MHD_CONNECTION_NOTIFY_STARTED) {
		started_conn(mc, socket_context);
		return;
	}
	if (e == NULL)
		return;
	pthread_mutex_lock(&mu);
	if (e->prev)
		e->prev->next = e->next;
	else
		head = e->next;
	if (e->next)
		e->next->prev = e->prev;
	else
		tail = e->prev;
	pthread_mutex_unlock(&mu);
	free(e);
	*socket_context = NULL;
}

/*
 * The client X-Forwarded-For names: walking from the right (the entry the
 * nearest proxy appended), the first address that is not a trusted proxy.
 * Entries further left were written by the client and are not believed.
 * 0, or -1 when the header gives no usable address.
 */
static int
forwarded_client(const struct srv_conf *cf, const char *xff, char *out, size_t outlen)
{
	size_t end = strlen(xff);

	while (end > 0) {
		size_t start = end, b, e;
		char tok[INET6_ADDRSTRLEN + 8];
		unsigned char bin[sizeof(struct in6_addr)];
		int fam;

		while (start > 0 && xff[start - 1] != ',')
			start--;
		for (b = start; b < end && (xff[b] == ' ' || xff[b] == '\t'); b++)
			;
		for (e = end; e > b && (xff[e - 1] == ' ' || xff[e - 1] == '\t'); e--)
			;
		if (e - b == 0 || e - b >= sizeof(tok))
			return -1;
		memcpy(tok, xff + b, e - b);
		tok[e - b] = '\0';
		fam = strchr(tok, ':') ? AF_INET6 : AF_INET;
		if (inet_pton(fam, tok, bin) != 1 || inet_ntop(fam, bin, out, (socklen_t)outlen) == NULL)
			return -1;
		if (!trusted(cf, out))
			return 0;
		end = start > 0 ? start - 1 : 0;
	}
	return -1;
}

int
edge_request_begin(struct MHD_Connection *mc)
{
	struct edge_conn *e = ctx_of(mc);
	const char *xff;
	const struct srv_conf *cf;
	char client[INET6_ADDRSTRLEN];
	long long per_ip;
	int rc = 0, got;

	if (e == NULL || !e->proxy)
		return 0;
	xff = MHD_lookup_connection_value(mc, MHD_HEADER_KIND, "X-Forwarded-For");
	if (xff == NULL)
		return 0;
	cf = conf_hold();
	got = forwarded_client(cf, xff, client, sizeof(client));
	per_ip = cf->max_connections_per_ip;
	conf_drop(cf);
	if (got < 0)
		return 0;   /* the proxy's own request (or a broken header): not capped */
	pthread_mutex_lock(&mu);
	if (per_ip > 0 && count_addr_locked(client) >= per_ip) {
		cuts[EDGE_PER_IP]++;
		rc = -1;
	} else {
		memcpy(e->client, client, sizeof(client));
	}
	pthread_mutex_unlock(&mu);
	return rc;
}

int
edge_client(struct MHD_Connection *mc, char out[INET6_ADDRSTRLEN])
{
	struct edge_conn *e = ctx_of(mc);

	/* written by this connection's thread in edge_request_begin(), which
	 * is the thread asking: read without mu, as edge_request_end() does */
	if (e == NULL || e->client[0] == '\0')
		return 0;
	memcpy(out, e->client, INET6_ADDRSTRLEN);
	return 1;
}

void
edge_known(struct MHD_Connection *mc)
{
	struct edge_conn *e = ctx_of(mc);

	if (e && !atomic_load(&e->known))
		atomic_store(&e->known, 1);
}

void
edge_serving(struct MHD_Connection *mc)
{
	struct edge_conn *e = ctx_of(mc);

	if (e)
		atomic_store(&e->serving, 1);
}

void
edge_request_end(struct MHD_Connection *mc)
{
	struct edge_conn *e = ctx_of(mc);

	if (e == NULL)
		return;
	/* the clock first: the watcher never sees "not serving" with the
	 * previous request's start */
	atomic_store(&e->since_us, mono_now_us());
	atomic_store(&e->answered, 1);
	atomic_store(&e->serving, 0);
	if (e->client[0]) {   /* only this thread writes it: read without mu */
		pthread_mutex_lock(&mu);
		e->client[0] = '\0';
		pthread_mutex_unlock(&mu);
	}
}

void
edge_stats(long long *open, unsigned long closed[EDGE_NREASONS])
{
	struct edge_conn *e;
	int i;

	*open = 0;
	pthread_mutex_lock(&mu);
	for (e = head; e; e = e->next)
		*open += !e->cut;
	for (i = 0; i < EDGE_NREASONS; i++)
		closed[i] = cuts[i];
	pthread_mutex_unlock(&mu);
}

static void *
watcher_main(void *arg)
{
	int64_t next_report = mono_now_us() + REPORT_EVERY_S * 1000000LL;
	unsigned long told[EDGE_NREASONS] = { 0, 0, 0 };

	(void)arg;
	pthread_mutex_lock(&mu);
	while (!stopping) {
		struct timespec ts;
		struct edge_conn *e;
		int64_t now, limit_us;
		int i;

		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += WATCH_MS * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&cv, &mu, &ts);
		if (stopping)
			break;
		pthread_mutex_unlock(&mu);
		limit_us = CONF_VALUE(request_timeout_s) * 1000000LL;
		pthread_mutex_lock(&mu);
		now = mono_now_us();
		for (e = head; e; e = e->next)
			if (!e->cut && !atomic_load(&e->serving) &&
			    now - (int64_t)atomic_load(&e->since_us) > limit_us)
				cut_locked(e, atomic_load(&e->answered) ? EDGE_IDLE : EDGE_DEADLINE);
		if (now >= next_report) {
			next_report = now + REPORT_EVERY_S * 1000000LL;
			/* an idle keep-alive's end is no warning: every browser
			 * left open on the dashboard would log one (edge.h) */
			for (i = 0; i < EDGE_NREASONS; i++)
				if (i != EDGE_IDLE && cuts[i] != told[i]) {
					log_warn("http: %lu connection(s) closed %s in the last %d s",
					    cuts[i] - told[i], cut_names[i], REPORT_EVERY_S);
					told[i] = cuts[i];
				}
		}
	}
	pthread_mutex_unlock(&mu);
	return NULL;
}

int
edge_start(unsigned max_connections, int tls, char *err, size_t errlen)
{
	int e;

	pthread_mutex_lock(&mu);
	max_conns = max_connections;
	tls_on = tls;
	stopping = 0;
	pthread_mutex_unlock(&mu);
	if ((e = pthread_create(&watcher_tid, NULL, watcher_main, NULL)) != 0) {
		snprintf(err, errlen, "http: cannot start the deadline's watcher: %s", strerror(e));
		return -1;
	}
	started = 1;
	return 0;
}

void
edge_stop(void)
{
	if (!started)
		return;
	pthread_mutex_lock(&mu);
	stopping = 1;
	pthread_cond_signal(&cv);
	pthread_mutex_unlock(&mu);
	pthread_join(watcher_tid, NULL);
	started = 0;
}
