/*
 * digest.h - the words of a digest: one message for many notifications due
 * to one person on one channel in a storm (docs/alerting.md, "Grouping
 * (digests)").
 *
 * outbox.c decides what is grouped and leases, sends and records a digest
 * with its members (see "Grouping" at the top of outbox.c); this file only
 * writes: the title ("37 problems on 12 agents"), the body (worst first,
 * one entry per member with its check, status, output and link) and the
 * webhook's member list. Nothing here touches the database, so the unit
 * test (tests/unit/test_digest.c) runs it as it is.
 */
#ifndef CUSTOS_DIGEST_H
#define CUSTOS_DIGEST_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "buf.h"

struct notice;

/* One notification carried by a digest; strings borrowed, never NULL. */
struct digest_member {
	int64_t notification_id;
	int64_t event_id;
	int64_t series;          /* notifications.series: the check, or minus the agent */
	int64_t check_id;        /* 0 for an agent's own events */
	int64_t agent_id;
	const char *kind;        /* events.kind */
	int status;              /* 0..3, -1 when not applicable */
	int prev_status;
	const char *agent;
	const char *check;       /* "" for agent events */
	const char *output;
};

/* A digest as a channel sees it (struct notice's digest). */
struct notice_digest {
	int64_t id;              /* digests.id: Message-ID, idempotency */
	size_t n;
	struct digest_member *m; /* sorted by digest_sort() before any text is made */
};

/* Members listed in a body; the rest are counted, with the dashboard's link. */
#define DIGEST_LINES_MAX 100
/* Characters of a member's output in a digest (one line each). */
#define DIGEST_OUTPUT_MAX 200

/*
 * Worst first: CRITICAL problems and agents down, then UNKNOWN, WARNING,
 * other events, then recoveries. The members of one check (one series)
 * stay together, in event order, placed by the worst of them: a digest
 * never tells a check's story backwards.
 */
void digest_sort(struct digest_member *m, size_t n);
/* "37 problems on 12 agents" (", 3 recoveries", ", 2 other notifications");
 * a digest of one: its notification's own title ("PROBLEM web01/disk is
 * WARNING"). */
void digest_title(const struct notice_digest *d, struct buf *out);
/* The plain-text body, lines ending in "\n"; links use n->conf's public_url. */
void digest_body(const struct notice *n, struct buf *out);
/* The dashboard's link for a member. */
void digest_member_link(const struct notice *n, const struct digest_member *m,
    struct buf *out);
/*
 * The webhook's "members": [{notification_id, event_id, kind, check,
 * agent, status, output, url}, ...] in digest order; NULL when out of memory.
 */
json_t *digest_members_json(const struct notice *n);

#endif
