/*
 * edge.h - who may hold serverd's connections, and for how long.
 *
 * libmicrohttpd's own guards are not enough against a hostile network:
 * its timeout is an idle timeout (a client sending one header line every
 * 10 s holds a connection for ever), its connection limit refuses at
 * accept without knowing who knocks (a flood of half-sent requests keeps
 * the agents out), and its per-address cap counts a reverse proxy as one
 * client. This file keeps its own book of every open connection
 * (MHD_OPTION_NOTIFY_CONNECTION) and enforces, in this order:
 *
 *   per address   max_connections_per_ip open connections from one
 *                 address; one more is closed at once. A connection from
 *                 a trusted proxy (trusted_proxies) is not counted by its
 *                 own address: each of its requests counts, while it runs,
 *                 against the client address X-Forwarded-For names (the
 *                 rightmost one that is not itself a trusted proxy), and
 *                 one over the cap is answered 429.
 *   the pool      max_connections open connections at most, of which
 *                 reserved_connections only ever go to connections that
 *                 have shown a known token (agent, admin, viewer or a
 *                 browser session). When a new connection would take more
 *                 than the rest, the oldest connection that has shown no
 *                 token and is not being answered is closed to make room;
 *                 a client with a token sends its headers within
 *                 milliseconds, so slow clients are always the older ones.
 *   the deadline  a request must be read whole (headers and body) within
 *                 request_timeout_s of the connection's accept, or of the
 *                 previous answer on a kept-alive connection: a deadline,
 *                 not an idle timeout. Over it, the connection is closed
 *                 (told 408 first when it is plain HTTP and its first
 *                 request is the late one).
 *
 * Closing is shutdown(2) of the socket from here: libmicrohttpd then sees
 * the end of the stream on the connection's own thread and closes it there
 * (it tells us, NOTIFY_CLOSED, before it closes the descriptor, under the
 * same lock, so a descriptor is never shut down after it was reused).
 *
 * libmicrohttpd's MHD_OPTION_CONNECTION_LIMIT stays as the backstop:
 * edge_mhd_limit() sets it far enough above max_connections that it never
 * refuses before this book has had its say (it splits its limit between
 * the pool threads, and a thread at its share stops accepting).
 */
#ifndef CUSTOS_EDGE_H
#define CUSTOS_EDGE_H

#include <arpa/inet.h>
#include <microhttpd.h>
#include <stddef.h>

/* Starts the deadline's watcher. tls: no 408 text on a TLS socket. */
int edge_start(unsigned max_connections, int tls, char *err, size_t errlen);
void edge_stop(void);

/* What libmicrohttpd's own connection limit is set to (see above). */
unsigned edge_mhd_limit(unsigned max_connections, unsigned threads);

/*
 * The file descriptors max_connections needs (checked at start); senders:
 * the notification senders of all channels (sender_threads each).
 */
unsigned long edge_fds_needed(unsigned max_connections, unsigned threads, unsigned senders);

/* MHD_OPTION_NOTIFY_CONNECTION. */
void edge_notify(void *cls, struct MHD_Connection *mc, void **socket_context,
    enum MHD_ConnectionNotificationCode code);

/*
 * A request's headers are in (first call): a proxied one is attributed to
 * its forwarded client address. 0, or -1 when that address is over its cap
 * (answer 429).
 */
int edge_request_begin(struct MHD_Connection *mc);
/*
 * The running request's forwarded client address (a trusted proxy's
 * request with X-Forwarded-For): 1 with out filled, else 0 (use the
 * peer's). For password logins, slowed per client address (login.h).
 */
int edge_client(struct MHD_Connection *mc, char out[INET6_ADDRSTRLEN]);
/* The connection showed a known token: it may use the reserve. */
void edge_known(struct MHD_Connection *mc);
/* The request was read whole: the deadline no longer applies. */
void edge_serving(struct MHD_Connection *mc);
/* The answer went out (or the request ended): the next one's clock starts. */
void edge_request_end(struct MHD_Connection *mc);

/*
 * For /metrics: open connections in the book (those being closed by us not
 * counted) and, since start, the connections closed for each reason.
 * EDGE_IDLE is the deadline met by a kept-alive connection after an
 * answer, with no new request whole since: how a browser's idle
 * keep-alive usually ends (or a slow next request: the edge cannot tell
 * the two apart). It is counted, closed without a word and not logged;
 * the other three are logged as warnings.
 */
enum edge_reason { EDGE_DEADLINE, EDGE_ROOM, EDGE_PER_IP, EDGE_IDLE, EDGE_NREASONS };
extern const char *const edge_reason_names[EDGE_NREASONS];   /* "deadline", ... */
void edge_stats(long long *open, unsigned long closed[EDGE_NREASONS]);

#endif
