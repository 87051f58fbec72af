/*
 * workers.h - serverd's background threads: the notification senders
 * (woken by NOTIFY custos_outbox) and the periodic jobs (dead agents,
 * re-notification, downtimes, acknowledgement expiry, retention).
 */
#ifndef CUSTOS_WORKERS_H
#define CUSTOS_WORKERS_H

/* Starts the threads; 0 or -1. */
int workers_start(void);
/* Asks them to finish what they are doing and joins them. */
void workers_stop(void);

#endif
