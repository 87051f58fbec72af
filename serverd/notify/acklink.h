/*
 * acklink.h - the single-use acknowledgement link of a problem mail
 * (acklink.c makes it, serverd/api/api_acklink.c answers it).
 */
#ifndef CUSTOS_ACKLINK_H
#define CUSTOS_ACKLINK_H

#include "buf.h"
#include "notify.h"

#define ACK_TOKEN_BYTES 32      /* random bytes of a token */
#define ACK_TOKEN_LEN   43      /* its base64url text, no padding */
#define ACK_LINK_TTL_H  24      /* hours a link works */

/*
 * For a PROBLEM or RENOTIFY of a check (not resolved since) to a person,
 * with public_url set: makes a link's row and appends
 * "<public_url>/ack/<token>" to url; 1. Otherwise, or when the database
 * refuses (logged), 0 and url unchanged.
 */
int ack_link_issue(const struct notice *n, struct buf *url);

#endif
