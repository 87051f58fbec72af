/*
 * outbox.h - the notification senders (see outbox.c): a LISTEN thread on
 * custos_outbox and sender_threads threads that claim, send and record.
 */
#ifndef CUSTOS_OUTBOX_H
#define CUSTOS_OUTBOX_H

/* Starts the listener and the senders; 0 or -1. */
int outbox_start(void);
/* Lets in-flight sends finish, then joins every thread. */
void outbox_stop(void);

#endif
