/*
 * acklink.c - the acknowledgement link of a problem mail
 * (docs/alerting.md, "Acknowledging from the mail").
 *
 * A PROBLEM or RENOTIFY mail to a person carries
 * "Acknowledge: <public_url>/ack/<token>": 32 random bytes (libsodium),
 * base64url without padding, 43 characters. Only the token's SHA-256 is
 * stored (ack_links, sql/032_ack_links.sql) with the check, the person,
 * the event and expires_at = now() + ACK_LINK_TTL_H hours; the token
 * itself is in the mail alone. serverd/api/api_acklink.c answers it.
 *
 * Every sent attempt makes its own link (a resend after a crash, a retry
 * after an outage): the mail that arrives always carries one that works,
 * and each stays valid until used or expired. Using any link of a
 * problem acknowledges it; the others then find it acknowledged already.
 *
 * This is the one place a sender touches the database (the email sender
 * thread's own connection, no transaction open: the lease is committed).
 * When the row cannot be made, the mail goes without the link: a page is
 * never held back for its convenience.
 */
#include "config.h"
#include "acklink.h"
#include "db.h"
#include "engine.h"
#include "log.h"
#include "serverd.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

/* the link's row, from the notification being sent ($2); long-expired
 * links are cleared on the way (a week past expiry, kept for the record) */
static const struct db_stmt q_issue = { "acklink_issue",
	"WITH old AS (DELETE FROM ack_links WHERE expires_at < now() - interval '7 days')"
	" INSERT INTO ack_links (token_hash, check_id, contact_id, event_id, notification_id,"
	"  expires_at)"
	" SELECT sha256(convert_to($1, 'UTF8')), e.check_id, n.contact_id, n.event_id, n.id,"
	"  now() + make_interval(hours => $3::int)"
	" FROM notifications n JOIN events e ON e.id = n.event_id"
	" WHERE n.id = $2 AND n.contact_id IS NOT NULL AND e.check_id IS NOT NULL", 3 };

int
ack_link_issue(const struct notice *n, struct buf *url)
{
	unsigned char raw[ACK_TOKEN_BYTES];
	char token[ACK_TOKEN_LEN + 1], id[24], ttl[24];
	const char *v[3];
	int k = ev_kind_parse(n->kind), made;
	PGconn *c;
	PGresult *q;

	if ((k != EV_PROBLEM && k != EV_RENOTIFY) || n->check_id == 0 ||
	    (n->resolved_since && *n->resolved_since) || n->conf == NULL ||
	    n->conf->public_url == NULL || *n->conf->public_url == '\0')
		return 0;
	if ((c = db_conn()) == NULL)
		return 0;
	randombytes_buf(raw, sizeof(raw));
	sodium_bin2base64(token, sizeof(token), raw, sizeof(raw),
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	sodium_memzero(raw, sizeof(raw));
	snprintf(id, sizeof(id), "%lld", (long long)n->id);
	snprintf(ttl, sizeof(ttl), "%d", ACK_LINK_TTL_H);
	v[0] = token;
	v[1] = id;
	v[2] = ttl;
	q = db_exec(c, &q_issue, v);
	made = db_ok(q, PGRES_COMMAND_OK) && strcmp(PQcmdTuples(q), "1") == 0;
	if (!db_ok(q, PGRES_COMMAND_OK))
		log_warn("notification %s: no acknowledgement link (the mail goes without): %s", id,
		    PQerrorMessage(c));
	PQclear(q);
	if (made)
		buf_addf(url, "%s/ack/%s", n->conf->public_url, token);
	sodium_memzero(token, sizeof(token));
	return made;
}
