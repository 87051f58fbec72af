/*
 * holder.h - this serverd as the holder of outbox leases, and the proof
 * that it lives (holder.c, sql/019_outbox_order.sql).
 *
 * Each serverd process registers in serverd_instances at start and holds a
 * session-level advisory lock keyed by its id on a connection of its own,
 * for as long as it lives. A lease (an outbox row in 'sending') records the
 * id it was taken under; a lease whose holder's lock is not held any more
 * belongs to a dead process and is taken over at once instead of when it
 * runs out. Why a lock and not a renewed row: docs/decisions.md.
 */
#ifndef CUSTOS_HOLDER_H
#define CUSTOS_HOLDER_H

/*
 * The grace: how long this instance must have held its lock without a
 * break before it judges another instance dead (takeover_grace_s, 2 s by
 * default). After a PostgreSQL restart or failover every lock is gone at
 * once; each instance takes its own again within about HOLDER_TICK_MS of
 * getting its connection back, so one that has held its own for the grace
 * (and so has seen the server up that long) does not mistake a live but
 * not yet reconnected instance for a dead one.
 */
#define HOLDER_TICK_MS 500      /* the lock is checked (and taken again) this often */

/*
 * Starts the holder thread. wake() is called (from that thread) whenever a
 * lease of a dead holder waits to be taken over, at most every
 * HOLDER_TICK_MS. 0, or -1 when the thread cannot start.
 */
int holder_start(void (*wake)(void));
/*
 * Stops the thread; its connection closes and the lock goes with it. The
 * instance's row is removed when no lease still names it. Call after the
 * senders stopped.
 */
void holder_stop(void);
/*
 * *id: this instance's id while it holds its lock, else 0 (a lease taken
 * then names no holder and ends only when it runs out). Returns 1 when the
 * lock has been held for the grace: only then may leases of holders
 * whose lock is gone be taken over. Safe from any thread.
 */
int holder_now(int *id);

#endif
