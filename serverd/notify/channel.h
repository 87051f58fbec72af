/*
 * channel.h - a notification channel, and the registry of them.
 *
 * A channel is one file in notify/ that defines its struct channel_type
 * (notify_email.c, notify_pushover.c, notify_webhook.c) and one row in the
 * table in registry.c, as a check type is in checks/. Everything that
 * differs from one channel to another is in its struct: its name, its send,
 * the time limit its lease is built on, its retry limits, what it checks
 * in a configuration, and (optionally) how it cancels what a send left
 * running at the provider. The outbox (outbox.c) runs sender_threads
 * senders per row of the registry and never asks which channel it serves;
 * the API (?channel=) and /metrics read the registry for the names.
 */
#ifndef CUSTOS_CHANNEL_H
#define CUSTOS_CHANNEL_H

#include <stddef.h>
#include <stdint.h>

#include <libpq-fe.h>

#include "notify.h"

struct srv_conf;

/* What a send leaves besides its verdict; zeroed by the caller. */
struct send_result {
	char receipt[64];        /* stored with the row (a Pushover emergency page's receipt), or "" */
	int64_t pause_until;     /* > 0: the provider asks to pause the channel until then (epoch s) */
	char pause_reason[64];   /* why, for the "<CHANNEL> PAUSED" event ("HTTP 429 Too Many Requests") */
};

/* lease = the channel's time limit + this (docs/alerting-delivery.md) */
#define CHANNEL_LEASE_MARGIN_S 3

struct channel_type {
	/* notifications.channel and channel_pauses.channel, ?channel= of the
	 * API, the {channel} label of /metrics */
	const char *name;
	/* the column of contacts that holds a contact's address on it: a
	 * contact gets this channel's notifications when it is set */
	const char *contact_column;
	/*
	 * Sends one notification within time_limit_s(n->conf). Never touches
	 * the database; safe to call from several threads at once. res is
	 * zeroed by the caller; err gets the reason when the verdict is not
	 * SEND_OK.
	 */
	enum send_verdict (*send)(const struct notice *n, struct send_result *res,
	    char *err, size_t errlen);
	/*
	 * The longest one send (or cancel) may take under cf, in seconds. The
	 * lease of a row is this + CHANNEL_LEASE_MARGIN_S: a sender that
	 * outlives its lease sees its row sent again, marked as a resend.
	 */
	long long (*time_limit_s)(const struct srv_conf *cf);
	/*
	 * Optional: refuses a configuration this channel could never send
	 * with (checked at start and on every SIGHUP, before the snapshot is
	 * installed). 0, or -1 with the reason in err.
	 */
	int (*check_conf)(const struct srv_conf *cf, char *err, size_t errlen);
	/*
	 * Optional, both or neither: a send may leave something running at
	 * the provider (a Pushover emergency page repeats until acknowledged),
	 * tagged tag(check_id, agent_id). The outbox cancels it by that tag
	 * when the check recovers or is acknowledged (the agent is up again),
	 * under the channel's lease; SEND_OK when the provider accepted it or
	 * knows nothing to cancel.
	 */
	void (*tag)(int64_t check_id, int64_t agent_id, char *out, size_t outlen);
	enum send_verdict (*cancel)(const struct srv_conf *cf, const char *tag,
	    char *err, size_t errlen);
	/*
	 * 1: a PROBLEM or RENOTIFY of a check to a person carries a
	 * single-use acknowledgement link (acklink.h) when public_url is set.
	 * The outbox's claim makes the link's row and hands the send its URL
	 * in n->ack_url (the send itself never touches the database).
	 */
	int ack_link;
	/* limits of SEND_RETRY: the waits are 1, 2, 4 ... s, at most
	 * backoff_max_s; after give_up_h hours the row fails */
	int backoff_max_s;
	int give_up_h;
};

/* The registry (registry.c), NULL-terminated, in the order /metrics lists them. */
extern const struct channel_type *const channel_types[];
/* Rows of channel_types; never more than COUNTERS_CHANNELS_MAX (counters.h). */
size_t channel_count(void);
/* The channel called name, or NULL (exact, case-sensitive: "email"). */
const struct channel_type *channel_find(const char *name);
/* ct's row in channel_types (the index of its counters, counters.h). */
size_t channel_index(const struct channel_type *ct);
/* "email, pushover or webhook" into out (cut to outlen): for an error message. */
void channel_names(char *out, size_t outlen);
/*
 * Writes the registry into the database's table channels (sql/028), which
 * the outbox's tables refer to and alert_record()'s fan-out reads: the
 * rows are added, or their contact_column updated. At start, after the
 * migrations. 0, or -1 (logged) when the database refuses or a channel's
 * contact_column is not a column of contacts.
 */
int channels_register(PGconn *c);
/*
 * Every channel's check_conf on cf, in registry order; 0, or -1 with the
 * first refusal in err.
 */
int channels_check_conf(const struct srv_conf *cf, char *err, size_t errlen);

/* The rows, one per file (see registry.c). */
extern const struct channel_type channel_email;     /* notify_email.c */
extern const struct channel_type channel_pushover;  /* notify_pushover.c */
extern const struct channel_type channel_webhook;   /* notify_webhook.c */

#endif
