/*
 * workers.h - the one place serverd's parts are started and stopped
 * (workers.c, a table): the listening socket, libcurl's and libesmtp's
 * global state, the notification senders and the holder (notify/), the
 * jobs (alert/jobs.c), the history thread (store/history.c), the heartbeat
 * watcher (alert/hbeat.c), the token cache's and the live stream's
 * subscriptions and the stream's thread (http/), the LISTEN thread
 * (listen.h), the request deadline's watcher (http/edge.c) and the HTTP
 * daemon, in that order. docs/design.md, "Threads", says what each does.
 */
#ifndef CUSTOS_WORKERS_H
#define CUSTOS_WORKERS_H

struct srv_conf;

/*
 * Starts every part in order; cf is the snapshot read at start (listen,
 * threads, max_connections, TLS), held until exit. 0, or -1 when a part
 * would not start: the ones started are stopped again, and the log says
 * which and why.
 */
int workers_start(const struct srv_conf *cf);
/*
 * Stops the parts started, last first: the HTTP daemon stops accepting and
 * lets requests in flight finish, the senders finish their sends, each
 * thread closes its connection. Idempotent.
 */
void workers_stop(void);

#endif
