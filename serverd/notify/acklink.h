/*
 * acklink.h - the single-use acknowledgement link of a problem mail
 * (acklink.c makes its token, the outbox's claim its row - outbox.c,
 * serverd/api/api_acklink.c answers it).
 */
#ifndef CUSTOS_ACKLINK_H
#define CUSTOS_ACKLINK_H

#define ACK_TOKEN_BYTES 32      /* random bytes of a token */
#define ACK_TOKEN_LEN   43      /* its base64url text, no padding */
#define ACK_LINK_TTL_H  24      /* hours a link works */

/*
 * A fresh token into out: ACK_TOKEN_BYTES random bytes (libsodium),
 * base64url without padding. The caller wipes it (sodium_memzero) when
 * done: only its SHA-256 is ever stored.
 */
void ack_token_new(char out[ACK_TOKEN_LEN + 1]);

#endif
