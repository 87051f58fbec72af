/*
 * receipt.h - acknowledging from the phone: the receipts of Pushover
 * emergency pages, polled (receipt.c; docs/alerting.md, "Acknowledging
 * from the phone"; docs/design.md, "The receipt poll").
 *
 * An emergency page (priority 2) rings until it is acknowledged in the
 * Pushover app, cancelled or expired. Pushover answers what became of it at
 * GET {base}/1/receipts/{receipt}.json?token=APP. While a page may still
 * ring and its problem is open (its check not OK and not acknowledged, its
 * agent not up), the receipt thread asks every pushover_receipt_poll_s;
 * the serverd instances on one database together ask once per interval (a
 * lease in the row, sql/037_receipt_poll.sql). The answer:
 *   acknowledged  a custos acknowledgement of the check (alert_ack_problem(),
 *                 as every acknowledgement) by the person whose pushover_user
 *                 acknowledged it - or, when nobody has that key, by the key
 *                 redacted - with its ACKNOWLEDGEMENT event (which stops
 *                 re-notification and escalation and cancels the other
 *                 pages of the check), and "acknowledged" in the
 *                 notification's routing record. Not polled again.
 *   expired       recorded; not polled again.
 *   429           every poll of every serverd pauses (receipt_poll_pause)
 *                 until X-Limit-App-Reset, or a minute.
 *   anything else that is not Pushover's documented answer (bad JSON, a
 *                 body over RECEIPT_ANSWER_MAX, a wrong type, a 5xx) is an
 *                 error, logged and kept in receipt_poll_error; nothing
 *                 else changes and the next poll is at the next interval.
 */
#ifndef CUSTOS_RECEIPT_H
#define CUSTOS_RECEIPT_H

#include <stddef.h>
#include <stdint.h>

struct srv_conf;

#define RECEIPT_ANSWER_MAX 8192      /* bytes of an answer; a larger one is an error */
#define RECEIPT_KEY_LEN 30           /* a Pushover user (or group) key: [A-Za-z0-9]{30} */
/*
 * CUSTOS_TEST_RECEIPT_POLL_S in serverd's environment replaces
 * pushover_receipt_poll_s (1 to 86400): the tests poll every second, which
 * the key itself never allows (Pushover asks for 5 s at least).
 */
#define RECEIPT_TEST_ENV "CUSTOS_TEST_RECEIPT_POLL_S"

/* What Pushover said of one receipt (its answer checked: receipt_parse()). */
struct receipt_status {
	int acknowledged;                    /* 0 or 1 */
	int64_t acknowledged_at;             /* epoch s, 0 when not */
	char acknowledged_by[RECEIPT_KEY_LEN + 1];   /* the user key, "" when not */
	int expired;                         /* 0 or 1 */
	int64_t expires_at;                  /* epoch s */
};

enum receipt_verdict {
	RECEIPT_OK,          /* *st filled */
	RECEIPT_GONE,        /* 404 "receipt not found": Pushover forgot it (older than a week) */
	RECEIPT_PAUSE,       /* 429: *pause_until set */
	RECEIPT_ERROR,       /* err says what; nothing is known */
};

/*
 * Parses the body of a 200 answer strictly by Pushover's documentation:
 * an object with status 1 and the integers acknowledged (0/1),
 * acknowledged_at, expired (0/1) and expires_at, and the string
 * acknowledged_by - a user key when acknowledged is 1. 0, or -1 with err
 * and *st all zero.
 */
int receipt_parse(const char *body, size_t len, struct receipt_status *st, char *err,
    size_t errlen);

/*
 * notify_pushover.c: asks Pushover about receipt under cf (pushover_url's
 * base, pushover_token), within pushover_timeout_s. Never touches the
 * database.
 */
enum receipt_verdict pushover_receipt_poll(const struct srv_conf *cf, const char *receipt,
    struct receipt_status *st, int64_t *pause_until, char *err, size_t errlen);

/*
 * The receipt thread (started by outbox_start() after the holder, stopped
 * by outbox_stop() before it). 0, or -1 when it cannot start.
 */
int receipt_start(void);
void receipt_stop(void);

#endif
