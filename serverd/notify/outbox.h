/*
 * outbox.h - the notification senders (see outbox.c): sender_threads
 * threads per channel that claim, send and record, the holder thread
 * (holder.h) and the receipt thread (receipt.h). They are woken by NOTIFY custos_outbox through the LISTEN
 * thread (listen.h), to which outbox_start() subscribes.
 */
#ifndef CUSTOS_OUTBOX_H
#define CUSTOS_OUTBOX_H

/*
 * Starts the holder and the senders and subscribes to custos_outbox; 0 or
 * -1 (outbox_stop() then joins what started). Before listen_start().
 */
int outbox_start(void);
/* Lets in-flight sends finish, then joins every thread. After listen_stop(). */
void outbox_stop(void);

#endif
