/*
 * outbox.h - the notification senders (see outbox.c): sender_threads
 * threads per channel that claim, send and record, the holder thread
 * (holder.h) and the receipt thread (receipt.h). They are woken by NOTIFY custos_outbox through the LISTEN
 * thread (listen.h), to which outbox_start() subscribes.
 */
#ifndef CUSTOS_OUTBOX_H
#define CUSTOS_OUTBOX_H

/*
 * CUSTOS_TEST_OUTBOX_SAFETY_MS in serverd's environment replaces the
 * senders' safety net, the longest sleep without a NOTIFY (15,000 ms; 100
 * to 15,000): a test of a row due without any NOTIFY sees it go in that
 * time, not in 15 s. A bad value is logged and ignored. Never for
 * production (every sender of every channel looks that often).
 */
#define OUTBOX_TEST_SAFETY_ENV "CUSTOS_TEST_OUTBOX_SAFETY_MS"

/*
 * Starts the holder and the senders and subscribes to custos_outbox; 0 or
 * -1 (outbox_stop() then joins what started). Before listen_start().
 */
int outbox_start(void);
/* Lets in-flight sends finish, then joins every thread. After listen_stop(). */
void outbox_stop(void);

/*
 * The waking of this serverd's own commits (outbox.c, "Waking"). Ingest
 * sends its senders' wake-up after its COMMIT (sql/functions/
 * after_commit_notify.sql) tagged with outbox_tag(), a name of this
 * process (16 hex digits, random at start; "" before outbox_start()), and
 * gets the payload back in the same pipeline: it hands that to
 * outbox_wake_local(), which wakes the senders as the NOTIFY would, at
 * once, and the LISTEN thread skips the NOTIFY that carries this tag. So
 * the wake-up does not wait for PostgreSQL to pass it to the LISTEN
 * connection and that thread to run (a fraction of a millisecond, too
 * little for bench/alert-latency to show), the senders are not woken twice
 * for it, and a wake-up whose NOTIFY failed after the COMMIT is not lost.
 * Any thread; payload as custos_outbox's ("" everyone looks).
 */
const char *outbox_tag(void);
void outbox_wake_local(const char *payload);

#endif
