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
 * A sender never touches the database (but notify_email(), which makes a
 * problem mail's acknowledgement link: acklink.h); it answers with a verdict and, when
 * it did not succeed, a reason in err. It never runs longer than its
 * channel's time limit (struct channel_type's time_limit_s: smtp_timeout_s
 * per SMTP step, pushover_timeout_s, webhook_timeout_s), which the outbox's
 * lease is built on.
 */
#ifndef CUSTOS_NOTIFY_H
#define CUSTOS_NOTIFY_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

struct notice_digest;

enum send_verdict {
	SEND_OK,          /* accepted by the relay / the API */
	SEND_RETRY,       /* transient: try again later (HTTP 5xx/408/429, SMTP 4xx, network) */
	SEND_FAIL,        /* permanent: never retried (SMTP 5xx, HTTP 4xx, bad address) */
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
	/* an earlier attempt ended in doubt (serverd died mid-send): say so */
	int resent;
	/*
	 * A PROBLEM (RENOTIFY, AGENT DOWN) whose check recovered (agent came
	 * up) after it, by the time it is sent: RFC 3339 of that RECOVERY
	 * (AGENT UP); "" or NULL when not. The title ends in " (resolved
	 * since)" and a page is no longer urgent.
	 */
	const char *resolved_since;
	/*
	 * The routing record of the row (sql/033_routing.sql) as claimed:
	 * the policy that made it ("" when none: the check's contacts), its
	 * step (-1 when none), and the decisions so far (a JSON array).
	 */
	const char *policy;
	int step;
	const char *route;
	/*
	 * The Pushover priority the policy's step asks for ("-2".."2"), or
	 * "" (or NULL) for the channel's own choice.
	 */
	const char *priority;
	/*
	 * The single-use acknowledgement link (acklink.h) of a channel with
	 * ack_link (email), made by the outbox's claim for this one attempt;
	 * NULL or "" when none.
	 */
	const char *ack_url;
	/* the configuration snapshot the sender holds for this one send */
	const struct srv_conf *conf;
	/*
	 * Set to 1 by a channel whose attempt failed after the message went
	 * out whole - the data sent, no answer (the relay or the API went
	 * away or timed out): it may have arrived, so the outbox marks the
	 * retry as a resend. NULL: nobody asks.
	 */
	int *in_doubt;
	/*
	 * Set when this message is a digest (digest.h): many notifications to
	 * this contact as one. Then id is the digest's, kind is "DIGEST",
	 * the event's fields are empty, and notice_title(), notice_body() and
	 * notice_link() speak for the digest. NULL: one notification.
	 */
	const struct notice_digest *digest;
};

#define NOTIFY_ERR_MAX 512

/* ---- notify_format.c ---- */
#define NOTICE_OUTPUT_MAX 1000   /* characters of a check's output in a message */
/*
 * The output cut to NOTICE_OUTPUT_MAX characters at a UTF-8 boundary,
 * ending in "\u2026" when cut; every channel uses it, so a huge or
 * non-ASCII output always fits its channel.
 */
void notice_output(const struct notice *n, struct buf *out);
#define NOTICE_RESOLVED " (resolved since)"   /* ends the title of a resolved problem */
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

/* What notify_http_post() saw of an answer. */
struct http_reply {
	long status;              /* HTTP status, 0 when none */
	long limit_remaining;     /* X-Limit-App-Remaining, -1 when absent */
	int64_t limit_reset;      /* X-Limit-App-Reset (epoch seconds), 0 when absent */
	int in_doubt;             /* failed after the request went out: it may have arrived */
};

/*
 * notify_webhook.c: POSTs body to url with lib/httpc.h's client (http(s)
 * only, no redirects, TLS verified), the whole request within timeout_ms;
 * rep gets the status and the rate-limit headers, resp the answer's first
 * 16 KiB. idem_key may be NULL. 0, or -1 with err on a network failure or
 * a timeout. Each thread keeps its connection open between sends
 * (notify_webhook.c): it is closed after 30 s idle or when the thread ends.
 */
int notify_http_post(const char *url, const char *content_type, const char *idem_key,
    const char *body, size_t len, long timeout_ms, struct http_reply *rep, struct buf *resp,
    char *err, size_t errlen);

/*
 * The senders themselves are reached through the registry only: each
 * channel file defines its struct channel_type (channel.h, registry.c).
 */

#endif
