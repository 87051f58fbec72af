/*
 * notify.h - one notification as the channels see it, and the channels.
 *
 * outbox.c claims an outbox row and fills a struct notice from the event,
 * the contact, the check and its agent; the channel senders turn it into
 * an email (libesmtp), a Pushover request (libcurl) or a webhook POST
 * (libcurl). notify_format.c writes the words, so every channel says the
 * same thing: a subject like "[custos] PROBLEM web01/sshd is CRITICAL" and
 * a body with host, check, state, value against the thresholds, attempts,
 * since when, the output and a link to the check.
 *
 * A sender never touches the database; it answers with a verdict and, when
 * it did not succeed, a reason in err.
 */
#ifndef CUSTOS_NOTIFY_H
#define CUSTOS_NOTIFY_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

enum send_verdict {
	SEND_OK,          /* accepted by the relay / the API */
	SEND_RETRY,       /* transient: try again later (5xx, 429, network, SMTP) */
	SEND_FAIL,        /* permanent: never retried (Pushover 4xx, bad address) */
};

/* Every string is borrowed (from a PGresult) and never NULL ("" instead). */
struct notice {
	int64_t id;                /* notifications.id: Message-ID, idempotency */
	int64_t event_id;
	const char *kind;          /* events.kind: "PROBLEM", "AGENT DOWN", ... */
	int status;                /* 0..3, -1 when not applicable */
	int prev_status;           /* -1 when not applicable */
	const char *state_type;    /* "HARD", "SOFT" or "" */
	int attempt;               /* 0 when unknown */
	int max_attempts;          /* 0 when unknown */
	int has_value;
	double value;
	const char *warning;       /* the check's thresholds ("" when none) */
	const char *critical;
	const char *output;
	const char *event_at;      /* RFC 3339 */
	int64_t event_epoch;       /* seconds, for Pushover's timestamp */
	const char *since;         /* RFC 3339 of the current status, or "" */
	int64_t agent_id;
	const char *agent;         /* host name */
	int64_t check_id;          /* 0 for agent events */
	const char *check;         /* check name, "" for agent events */
	const char *check_type;
	const char *detail;        /* events.detail as JSON text, or "" */
	/* the contact */
	const char *contact;
	const char *email;
	const char *pushover_user;
	const char *pushover_device;
	int pushover_emergency;
	const char *webhook_url;
	/* the configuration snapshot the sender holds for this one send */
	const struct srv_conf *conf;
};

#define NOTIFY_ERR_MAX 512

/* ---- notify_format.c ---- */
/* "PROBLEM web01/sshd is CRITICAL" (no "[custos] " prefix). */
void notice_title(const struct notice *n, struct buf *out);
/* The plain-text body, lines ending in "\n". */
void notice_body(const struct notice *n, struct buf *out);
/* public_url + "/api/v1/checks/<id>" (or ".../agents/<id>"). */
void notice_link(const struct notice *n, struct buf *out);
/* The status name for n->status, or "" */
const char *notice_status_name(int status);

/* ---- the channels; each is safe to call from several threads at once ---- */
/* Process-wide set-up and tear-down, before any thread starts / after all end. */
int notify_global_init(void);
void notify_global_cleanup(void);

/*
 * notify_webhook.c: POSTs body to url with libcurl (15 s timeout); *status
 * gets the HTTP status, resp (capped) the answer. 0, or -1 with err on a
 * network failure.
 */
int notify_http_post(const char *url, const char *content_type, const char *idem_key,
    const char *body, size_t len, long *status, struct buf *resp, char *err, size_t errlen);

enum send_verdict notify_email(const struct notice *n, char *err, size_t errlen);
enum send_verdict notify_pushover(const struct notice *n, char *err, size_t errlen);
enum send_verdict notify_webhook(const struct notice *n, char *err, size_t errlen);

#endif
