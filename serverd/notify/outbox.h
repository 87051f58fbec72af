/*
 * outbox.h - the notification senders (see outbox.c): sender_threads
 * threads per channel that claim, send and record, the holder thread
 * (holder.h) and the receipt thread (receipt.h). They are woken by NOTIFY
 * custos_outbox through the LISTEN thread (listen.h), to which
 * outbox_start() subscribes, and by this serverd's ingest directly
 * (outbox_wake_local() below).
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
 * The wake-up from this process, without the round through PostgreSQL.
 * Ingest's transaction leaves its NOTIFY custos_outbox for after its
 * COMMIT (sql/functions/notify_or_defer.sql); the LISTEN thread hands it
 * to the senders only after the database forwarded it to the LISTEN
 * connection's backend and that to us: two more processes to schedule on
 * a busy machine, between a page's COMMIT and its send. So ingest wakes
 * the senders of its own serverd itself, right after the COMMIT, and
 * marks its NOTIFY with outbox_wake_marker(): on_outbox() skips a
 * notification that carries this process's marker (the wake came
 * already); every other serverd on the database strips the marker and
 * wakes as before (one older than the marker does not parse it and wakes
 * every sender: slower, never missed).
 *
 * outbox_wake_marker(): this process's marker ("" until outbox_start():
 * a NOTIFY without one is handled by everyone, this process included).
 * outbox_wake_local(payload): wakes as the NOTIFY of that payload would
 * ("email:2,pushover:1"; "" or anything else: every sender); nothing
 * before outbox_start() or after outbox_stop().
 */
const char *outbox_wake_marker(void);
void outbox_wake_local(const char *payload);

#endif
