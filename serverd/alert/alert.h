/*
 * alert.h - recording alert events and queueing their notifications.
 *
 * alert_record() is called inside the caller's transaction (the one that
 * changed the state), so a state change, its events and its outbox rows
 * commit together or not at all. In one statement it:
 *   - inserts the events, deciding per event whether it notifies: not
 *     during a downtime of the check or its agent, not for a check whose
 *     agent is DOWN, not for an acknowledged problem, not for PROBLEM/
 *     RECOVERY while flapping; DOWNTIME START/END are recorded only;
 *   - fans each notifying event out to notifications rows, one per
 *     contact x channel the contact has an address on (the table
 *     channels: notify/registry.c writes it at start), for
 *     contacts whose notify_on has the event's kind, narrowed by the check's
 *     contacts (else its agent's contacts, else everybody);
 *   - records last_notified_at/notified_status on the check's state;
 *   - NOTIFYs custos_outbox, which wakes the senders at COMMIT (in
 *     ingest's transactions, right after it: alert_q_lock_ingest).
 */
#ifndef CUSTOS_ALERT_H
#define CUSTOS_ALERT_H

#include <jansson.h>
#include <libpq-fe.h>
#include <stdint.h>

#include "db.h"
#include "engine.h"

struct alert_event {
	enum ev_kind kind;
	int64_t agent_id;
	int64_t check_id;      /* 0 for agent events */
	int status;            /* -1 when not applicable */
	int prev_status;       /* -1 when not applicable */
	int hard;              /* state_type HARD (1) or SOFT (0); -1 n/a */
	int attempt;           /* 0 when not applicable */
	int has_value;
	double value;
	const char *output;    /* may be NULL */
	json_t *detail;        /* borrowed; may be NULL */
};

/*
 * Records n events. Returns DB_OK, or another outcome after which the
 * caller must roll back. *notifications (may be NULL) gets the number of
 * outbox rows queued.
 */
enum db_outcome alert_record(PGconn *c, const struct alert_event *ev, size_t n, long *notifications);

/*
 * The same in pieces, for a caller that sends it in a pipeline with its
 * other statements (ingest): alert_q_record takes one parameter, the text
 * alert_record_text() makes (malloc'd; NULL when out of memory; n >= 1);
 * alert_record_done() reads its result (logs the events) and returns the
 * outcome. The caller keeps and clears the PGresult.
 */
extern const struct db_stmt alert_q_record;
char *alert_record_text(const struct alert_event *ev, size_t n);
enum db_outcome alert_record_done(PGconn *c, PGresult *r, long *notifications);

/*
 * Records that a channel's provider paused it (notify/outbox.c: Pushover's
 * 429 or quota): an event "<CHANNEL> PAUSED" (e.g. "PUSHOVER PAUSED"),
 * notifying nobody, detail {"channel", "until", "reason"}. until is epoch
 * seconds. Called in the caller's transaction; DB_OK, or the outcome after
 * which the caller rolls back.
 */
enum db_outcome alert_channel_paused(PGconn *c, const char *channel, long long until, const char *reason);

/* An acknowledgement's terms; strings borrowed, expires_at NULL when none. */
struct ack_args {
	int64_t check_id;
	const char *comment;        /* never NULL */
	int sticky;
	const char *expires_at;     /* RFC 3339 as given, or NULL */
	int64_t expires_us;         /* its value when set */
	const char *by;             /* who: the token's, the user's, the link's or
	                             * the Pushover receipt's person */
};

/*
 * Acknowledges a->check_id inside the caller's open transaction (ack.c):
 * the check's agent lock (state.h), the problem it applies to, the flag
 * and the ACKNOWLEDGEMENT event (detail: comment, by, sticky, expires_at)
 * through alert_record(), so it stops re-notification and escalation and
 * ends an emergency page. DB_OK with *out the acknowledgement's row (the
 * caller clears it); DB_NOT_FOUND: no such check; DB_CONFLICT with *status
 * 0 (OK) or -1 (no result yet): there is no problem to acknowledge, and the
 * transaction is still good; another outcome (a DB_CONFLICT with *status
 * above 0 included) after which the caller rolls back.
 * *out is NULL on every outcome but DB_OK.
 */
enum db_outcome alert_ack_problem(PGconn *c, const struct ack_args *a, PGresult **out,
    int *status);

#endif
