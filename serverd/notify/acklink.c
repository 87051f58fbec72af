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
 * Every claim of a mail to send makes its own link (a resend after a
 * crash, a retry after an outage): the mail that arrives always carries
 * one that works, and each stays valid until used or expired. Using any
 * link of a problem acknowledges it; the others then find it acknowledged
 * already.
 *
 * The token is made here, before the claim; the link's row is written by
 * the claim itself (outbox.c, q_claim: the round trip a sender makes
 * anyway, so the mail waits for no statement of its own), and removed
 * again when the claimed mail is not sent after all (held by quiet hours,
 * merged into a digest). When the row cannot be made, the mail goes
 * without the link: a page is never held back for its convenience.
 */
#include "config.h"
#include "acklink.h"

#include <sodium.h>

void
ack_token_new(char out[ACK_TOKEN_LEN + 1])
{
	unsigned char raw[ACK_TOKEN_BYTES];

	randombytes_buf(raw, sizeof(raw));
	sodium_bin2base64(out, ACK_TOKEN_LEN + 1, raw, sizeof(raw),
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	sodium_memzero(raw, sizeof(raw));
}
