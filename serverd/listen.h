/*
 * listen.h - serverd's one LISTEN thread: a connection of its own that
 * LISTENs on every channel some part of serverd subscribed to, and hands
 * each notification to the subscribers of its channel.
 *
 * Why one: the senders' wake-ups (custos_outbox), the live stream
 * (custos_stream) and the token cache (custos_auth) each need the same
 * things - a connection that LISTENs, a reconnect when it breaks, and a
 * catch-up after it, since whatever was notified while it was down is
 * lost for good (NOTIFY is not queued for a session that is not there).
 * Each part carrying its own copy of that loop made the token cache hang
 * on the senders' listener; here it is written once, and a part only says
 * what it does with a notification and what it does after a gap.
 *
 * A subscriber's hooks run on the LISTEN thread, one at a time:
 *
 *   notify(payload)  a notification of its channel arrived. It must not
 *                    block or query: it wakes the thread that does the
 *                    work (the senders, the stream's round), or flips a
 *                    generation. A slow hook delays every other channel.
 *   up(c)            the LISTEN is in force: at start, and again after
 *                    every reconnect. Notifications before this moment
 *                    may have been missed, so it catches up: the senders
 *                    rescan the outbox, the stream reads the newest event
 *                    id and tells its clients to fetch everything again,
 *                    the token cache is emptied and turned on. c is the
 *                    LISTEN connection, for one short query at most;
 *                    notifications arriving meanwhile are kept and handed
 *                    on after it.
 *   down()           the connection is lost (or the thread stops):
 *                    notifications will be missed until the next up(). A
 *                    part that could serve stale data turns itself off.
 *   tick(c)          optional: called each round (at most LISTEN_ROUND_MS
 *                    apart) while connected, for short work that follows
 *                    the clock rather than a notification (the outbox's
 *                    retry after a SIGHUP). Same rule as up().
 *
 * A subscriber sees up() and down() alternate, starting with up(): the
 * LISTEN statements of every channel are run first, and a connection on
 * which one of them fails is dropped and tried again, so no subscriber is
 * ever up while another's channel is not listened to. A lost connection
 * is retried every LISTEN_RETRY_MS until it comes back.
 *
 * A connection that only waits sends nothing, so a server gone silent
 * behind something that still acknowledges TCP (a frozen primary, a proxy:
 * db.h, "the answer deadline") would look alive to it for ever, and every
 * notification after a failover would be missed. So when nothing arrived
 * for half of database_timeout_s (at most LISTEN_PING_MAX_MS), the thread
 * sends SELECT 1 on it under that same deadline: a silent server has the
 * connection given up within database_timeout_s, down() is called, and
 * the reconnect finds the new primary (then up()). With database_timeout_s
 * = 0 nothing is sent (nothing would give the ping up), and only TCP
 * keepalives judge the connection. listen_stop() may wait for a ping in
 * flight: at most database_timeout_s.
 */
#ifndef CUSTOS_LISTEN_H
#define CUSTOS_LISTEN_H

#include <libpq-fe.h>

#define LISTEN_ROUND_MS 250      /* the longest wait for a notification */
#define LISTEN_RETRY_MS 1000     /* between attempts to connect again */
#define LISTEN_MAX_SUBS 8        /* subscribers, all channels together */
#define LISTEN_PING_MAX_MS 30000 /* the longest quiet before a ping */

struct listen_sub {
	const char *channel;                 /* a LISTEN channel: custos_... */
	void (*notify)(const char *payload);
	void (*up)(PGconn *c);
	void (*down)(void);
	void (*tick)(PGconn *c);             /* may be NULL */
};

/*
 * Subscribes s (kept by pointer: static storage) to its channel. Only
 * before listen_start(): the parts that subscribe are started before the
 * LISTEN thread (workers.c), so the list is never changed while it is
 * read. 0, or -1 when LISTEN_MAX_SUBS are taken.
 */
int listen_subscribe(const struct listen_sub *s);
/* Starts the thread; 0 or -1. */
int listen_start(void);
/*
 * Stops and joins the thread (each subscriber's down() is called once
 * more if it was up) and forgets the subscribers; nothing when it was not
 * started.
 */
void listen_stop(void);

#endif
