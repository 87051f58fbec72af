/*
 * api_acklink.c - GET and POST /ack/{token}: the acknowledgement link of a
 * problem mail (serverd/notify/acklink.c makes it; docs/alerting.md).
 *
 * The token is the credential, as a ping URL's uuid is (NEED_NONE): 32
 * random bytes nobody guesses, looked up by its SHA-256. GET answers a
 * small confirm page (what will be acknowledged, as whom) with a form
 * whose button POSTs to the same address; only the POST acknowledges, so
 * a mail scanner or a link preview that fetches the URL acknowledges
 * nothing. The POST is the acknowledgement itself (api_ack_apply(), as
 * POST /api/v1/checks/{id}/ack: `by` is the link's person), and marks the
 * link used, with the address it came from, in the same transaction.
 *
 * Answers, each a small HTML page (every value escaped; no script, no
 * style: the CSP allows neither, and a form only to this server):
 *   200  GET: the confirm page; POST: "acknowledged"
 *   404  no such link (never issued, or its check or person was deleted)
 *   409  the check is no longer a problem (OK, or no result yet)
 *   410  the link was used already, or is past expires_at (24 h)
 * A cross-site POST gains nothing: it has to carry the token, which is the
 * whole secret, and no cookie is involved. Guessing is hopeless (2^256)
 * and the edge caps requests per address anyway (edge.h).
 */
#include "config.h"
#include "strnum.h"
#include "acklink.h"
#include "api.h"
#include "apiutil.h"
#include "buf.h"
#include "check.h"
#include "db.h"
#include "edge.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ACK_PREFIX "/ack/"
#define ACK_LINK_COMMENT "acknowledged from the mail link"

#define Q_LOOK \
	"SELECT l.used_at IS NOT NULL, l.expires_at <= now(), l.check_id, ct.name, c.name," \
	"  a.name, s.status, COALESCE((check_last(l.check_id)).output, ''), s.acknowledged," \
	"  COALESCE(rfc3339(l.used_at), ''), rfc3339(l.expires_at)" \
	" FROM ack_links l JOIN contacts ct ON ct.id = l.contact_id" \
	" JOIN checks c ON c.id = l.check_id JOIN agents a ON a.id = c.agent_id" \
	" JOIN check_state s ON s.check_id = l.check_id" \
	" WHERE l.token_hash = sha256(convert_to($1, 'UTF8'))"

static const struct db_stmt q_look = { "acklink_look", Q_LOOK, 1 };
/* the POST: the link's row held until the acknowledgement commits, so two
 * clicks at once acknowledge once and the second finds it used */
static const struct db_stmt q_look_lock = { "acklink_look_lock", Q_LOOK " FOR UPDATE OF l", 1 };
static const struct db_stmt q_use = { "acklink_use",
	"UPDATE ack_links SET used_at = now(), used_from = $2"
	" WHERE token_hash = sha256(convert_to($1, 'UTF8'))", 2 };

/* columns of Q_LOOK */
enum { L_USED, L_EXPIRED, L_CHECK_ID, L_PERSON, L_CHECK, L_AGENT, L_STATUS, L_OUTPUT, L_ACKED,
	L_USED_AT, L_EXPIRES_AT };

/* s with &, <, >, " and ' escaped for HTML text and attribute values */
static void
html(struct buf *b, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '&': buf_adds(b, "&amp;"); break;
		case '<': buf_adds(b, "&lt;"); break;
		case '>': buf_adds(b, "&gt;"); break;
		case '"': buf_adds(b, "&quot;"); break;
		case '\'': buf_adds(b, "&#39;"); break;
		default: buf_add(b, s, 1); break;
		}
	}
}

static void
page_begin(struct buf *b, const char *title)
{
	buf_adds(b, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
	    "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
	    "<meta name=\"referrer\" content=\"no-referrer\"><title>custos: ");
	html(b, title);
	buf_adds(b, "</title></head>\n<body>\n<h1>");
	html(b, title);
	buf_adds(b, "</h1>\n");
}

/* Queues the page b (taken) with status; a 500 when memory ran out. */
static void
page_send(struct resp *rs, int status, struct buf *b)
{
	struct MHD_Response *mr;
	size_t len;
	char *text;

	buf_adds(b, "</body></html>\n");
	len = b->len;
	if (b->failed || (text = buf_take(b)) == NULL) {
		buf_free(b);
		resp_error(rs, 500, NULL, "out of memory");
		return;
	}
	if ((mr = MHD_create_response_from_buffer(len, text, MHD_RESPMEM_MUST_FREE)) == NULL) {
		free(text);
		resp_error(rs, 500, NULL, "out of memory");
		return;
	}
	MHD_add_response_header(mr, MHD_HTTP_HEADER_CONTENT_TYPE, "text/html; charset=utf-8");
	MHD_add_response_header(mr, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	/* the token is in the address: never hand it on */
	MHD_add_response_header(mr, "Referrer-Policy", "no-referrer");
	MHD_add_response_header(mr, "Content-Security-Policy",
	    "default-src 'none'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'");
	json_decref(rs->json);   /* a page replaces an error resp_error() made */
	rs->json = NULL;
	rs->status = status;
	rs->raw = mr;
}

/* A page with one sentence (escaped) and status. */
static void
page_simple(struct resp *rs, int status, const char *title, const char *text)
{
	struct buf b;

	buf_init(&b, 65536);
	page_begin(&b, title);
	buf_adds(&b, "<p>");
	html(&b, text);
	buf_adds(&b, "</p>\n");
	page_send(rs, status, &b);
}

/* "<agent>/<check>" */
static void
what(struct buf *b, PGresult *q)
{
	html(b, PQgetvalue(q, 0, L_AGENT));
	buf_adds(b, "/");
	html(b, PQgetvalue(q, 0, L_CHECK));
}

/* The 404 (no row) and 410 (used, expired) answers; 0 when the link is usable. */
static int
refuse(struct resp *rs, PGresult *q)
{
	char t[160];

	if (PQntuples(q) == 0) {
		page_simple(rs, 404, "No such link",
		    "This acknowledgement link is not known (or its check or person was deleted).");
		return -1;
	}
	if (PQgetvalue(q, 0, L_USED)[0] == 't') {
		snprintf(t, sizeof(t), "This acknowledgement link was used already (at %s); a link"
		    " works once.", PQgetvalue(q, 0, L_USED_AT));
		page_simple(rs, 410, "Link already used", t);
		return -1;
	}
	if (PQgetvalue(q, 0, L_EXPIRED)[0] == 't') {
		snprintf(t, sizeof(t), "This acknowledgement link expired at %s (a link works for"
		    " %d hours).", PQgetvalue(q, 0, L_EXPIRES_AT), ACK_LINK_TTL_H);
		page_simple(rs, 410, "Link expired", t);
		return -1;
	}
	return 0;
}

/* The check is OK or has no result: nothing to acknowledge (409). */
static void
no_problem(struct resp *rs, PGresult *q)
{
	struct buf b;

	buf_init(&b, 65536);
	page_begin(&b, "Nothing to acknowledge");
	buf_adds(&b, "<p>");
	what(&b, q);
	buf_adds(&b, PQgetisnull(q, 0, L_STATUS) ? " has no result yet" : " is OK again");
	buf_adds(&b, ": there is no problem to acknowledge.</p>\n");
	page_send(rs, 409, &b);
}

/* The client's address for the record: a trusted proxy's forwarded one, else the peer's. */
static void
client_address(struct req *r, char out[INET6_ADDRSTRLEN])
{
	const union MHD_ConnectionInfo *ci;

	if (edge_client(r->mc, out))
		return;
	out[0] = '\0';
	ci = MHD_get_connection_info(r->mc, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	if (ci == NULL || ci->client_addr == NULL)
		return;
	if (ci->client_addr->sa_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)ci->client_addr)->sin_addr,
		    out, INET6_ADDRSTRLEN);
	else if (ci->client_addr->sa_family == AF_INET6)
		inet_ntop(AF_INET6,
		    &((const struct sockaddr_in6 *)(const void *)ci->client_addr)->sin6_addr,
		    out, INET6_ADDRSTRLEN);
}

static void
confirm_page(struct resp *rs, PGresult *q, const char *token)
{
	struct buf b;
	const char *es;
	int st = PQgetisnull(q, 0, L_STATUS) ? -1 :
	    (int)str_to_ll(PQgetvalue(q, 0, L_STATUS), 0, 3, &es);

	buf_init(&b, 65536);
	page_begin(&b, "Acknowledge this problem?");
	buf_adds(&b, "<p><strong>");
	what(&b, q);
	buf_adds(&b, "</strong> is ");
	html(&b, st >= 0 && st < CHECK_STATUS_COUNT ? check_status_name(st) : "");
	if (PQgetvalue(q, 0, L_ACKED)[0] == 't')
		buf_adds(&b, " (acknowledged already)");
	buf_adds(&b, ".</p>\n<p>Output:</p>\n<pre>");
	html(&b, PQgetvalue(q, 0, L_OUTPUT));
	buf_adds(&b, "</pre>\n<p>You will acknowledge it as <strong>");
	html(&b, PQgetvalue(q, 0, L_PERSON));
	buf_adds(&b, "</strong>: its notifications stop until it recovers. This link works once.</p>\n"
	    "<form method=\"post\" action=\"" ACK_PREFIX);
	html(&b, token);
	buf_adds(&b, "\"><button type=\"submit\">Acknowledge</button></form>\n");
	page_send(rs, 200, &b);
}

void
api_acklink(struct req *r, struct resp *rs)
{
	const char *token = r->path + strlen(ACK_PREFIX), *v[2];
	char addr[INET6_ADDRSTRLEN];
	PGresult *q = NULL, *u = NULL;
	struct ack_args a;
	struct buf b;
	size_t i;
	int post = strcmp(r->method, "POST") == 0, in_tx = 0;

	/* a token is ACK_TOKEN_LEN characters of base64url: anything else is unknown */
	for (i = 0; token[i]; i++)
		if (!((token[i] >= 'A' && token[i] <= 'Z') || (token[i] >= 'a' && token[i] <= 'z') ||
		    (token[i] >= '0' && token[i] <= '9') || token[i] == '-' || token[i] == '_'))
			break;
	if (i != ACK_TOKEN_LEN || token[i] != '\0') {
		page_simple(rs, 404, "No such link", "This acknowledgement link is not known.");
		return;
	}
	if ((r->db = db_conn_worker()) == NULL) {
		resp_error(rs, 503, NULL, "database unavailable");
		return;
	}
	v[0] = token;
	if (!post) {
		q = db_exec(r->db, &q_look, v);
		if (!db_ok(q, PGRES_TUPLES_OK))
			resp_db_error(rs, r->db, q);
		else if (refuse(rs, q) == 0) {
			if (PQgetisnull(q, 0, L_STATUS) || strcmp(PQgetvalue(q, 0, L_STATUS), "0") == 0)
				no_problem(rs, q);
			else
				confirm_page(rs, q, token);
		}
		goto done;
	}
	if (api_begin(r, rs) < 0)
		goto done;
	in_tx = 1;
	q = db_exec(r->db, &q_look_lock, v);
	if (!db_ok(q, PGRES_TUPLES_OK)) {
		resp_db_error(rs, r->db, q);
		goto done;
	}
	if (refuse(rs, q) < 0)
		goto done;
	memset(&a, 0, sizeof(a));
	{
		const char *es;
		a.check_id = str_to_ll(PQgetvalue(q, 0, L_CHECK_ID), 1, INT64_MAX, &es);
	}
	a.comment = ACK_LINK_COMMENT;
	a.sticky = 1;
	a.by = PQgetvalue(q, 0, L_PERSON);
	if (api_ack_apply(r, rs, &a, &u) < 0) {
		if (rs->status == 409)
			no_problem(rs, q);
		goto done;
	}
	client_address(r, addr);
	v[1] = addr;
	PQclear(u);
	u = db_exec(r->db, &q_use, v);
	if (!db_ok(u, PGRES_COMMAND_OK)) {
		resp_db_error(rs, r->db, u);
		goto done;
	}
	in_tx = 0;   /* a failed COMMIT ends the transaction too */
	if (api_commit(r, rs) < 0)
		goto done;
	buf_init(&b, 65536);
	page_begin(&b, "Acknowledged");
	buf_adds(&b, "<p><strong>");
	what(&b, q);
	buf_adds(&b, "</strong> is acknowledged by <strong>");
	html(&b, PQgetvalue(q, 0, L_PERSON));
	buf_adds(&b, "</strong>. Its notifications stop until it recovers.</p>\n");
	page_send(rs, 200, &b);
done:
	if (in_tx)
		api_rollback(r);
	PQclear(q);
	PQclear(u);
}
