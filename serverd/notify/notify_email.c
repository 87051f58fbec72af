/*
 * notify_email.c - email through libesmtp, one SMTP session per message.
 *
 * The relay is smtp_host:smtp_port; smtp_starttls is off|try|require and
 * smtp_verify_cert decides whether a certificate libesmtp cannot verify
 * (its CA store) or one for another host name ends the session; AUTH uses
 * libesmtp's SASL plugins (PLAIN, LOGIN, CRAM-MD5) with smtp_user and
 * smtp_password. With AUTH over a link without TLS the password travels in
 * clear: use smtp_starttls = require with a relay on another host.
 *
 * The message is built here in full (RFC 5322, CRLF line ends): From, To,
 * Subject ("[custos] ..." - RFC 2047-encoded when not ASCII), Date, and a
 * Message-ID derived from the notification id, stable across retries, so
 * a receiving system can recognise a resend. A PROBLEM or RENOTIFY of a
 * check ends with a single-use acknowledgement link, new for every
 * attempt (acklink.c). The body is quoted-printable
 * UTF-8 (any output, lines within SMTP's limit). libesmtp dot-stuffs.
 *
 * A digest (n->digest: many notifications as one, digest.h) is built the
 * same way, with its own Message-ID (custos.digest.<id>), an
 * X-Custos-Digest header and no acknowledgement link (a link acknowledges
 * one check; each member's line links to its check).
 *
 * A resend of an attempt in doubt (n->resent) keeps its Message-ID and
 * adds "X-Custos-Resent: yes". An attempt whose data went out and got no
 * reply is in doubt itself (*n->in_doubt): the relay may have taken it.
 *
 * A 5xx reply (to MAIL, RCPT or the data) is permanent
 * (docs/alerting-delivery.md): the notification fails at once - but not
 * an authentication failure (530,
 * 534, 535, 538: our configuration, see smtp_permanent()); 4xx replies, a relay that cannot be reached
 * and every protocol timeout are transient and retried by the outbox. Every
 * protocol step waits at most smtp_timeout_s (the outbox's email lease is
 * built on that; see outbox.c). A contact without a usable address fails
 * permanently.
 *
 * The lease (channel_email): libesmtp limits each protocol step, not the
 * session, so a send's time limit is smtp_timeout_s x SMTP_LEASE_STEPS - a
 * relay slow on more steps than that in one session can outlive the lease;
 * the resend is then marked as such, never silent.
 * Ownership: smtp_message_transfer_status() points into the session and
 * is freed by smtp_destroy_session(), so reasons are copied into err first.
 */
#include "config.h"
#include "channel.h"
#include "notify.h"
#include "serverd.h"
#include "log.h"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <auth-client.h>
#include <curl/curl.h>
#include <libesmtp.h>

#include <arpa/inet.h>
#include <pthread.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define EMAIL_MAX 65536         /* bytes of one message */
#define SMTP_LEASE_STEPS 4      /* SMTP steps at their full limit a lease covers */

struct creds {
	const char *user, *pass;
};

static int
auth_interact(auth_client_request_t req, char **result, int fields, void *arg)
{
	struct creds *c = arg;
	int i;

	for (i = 0; i < fields; i++) {
		if (req[i].flags & AUTH_USER)
			result[i] = (char *)c->user;
		else if (req[i].flags & AUTH_PASS)
			result[i] = (char *)c->pass;
		else
			return 0;   /* realm or anything else: not configured */
	}
	return 1;
}

struct evstate {
	int verify;          /* refuse certificates that do not verify */
	int cert_refused;
	int data_sent;       /* the message's data went out (wholly or in part) */
};

/*
 * libesmtp reports TLS certificate problems here; *ok = 1 accepts. With
 * verification on, OpenSSL has already checked the chain and the host name
 * (or IP address) during the handshake (tls_ctx()), which fails at once on
 * a bad certificate; libesmtp's own name check knows no IP addresses, so
 * its WRONG_PEER verdict is overridden by OpenSSL's.
 */
static void
event_cb(smtp_session_t s, int ev, void *arg, ...)
{
	struct evstate *st = arg;
	va_list ap;
	int *ok;

	(void)s;
	va_start(ap, arg);
	switch (ev) {
	case SMTP_EV_INVALID_PEER_CERTIFICATE:
		(void)va_arg(ap, long);      /* the verification result */
		ok = va_arg(ap, int *);
		*ok = !st->verify;
		st->cert_refused |= st->verify;
		break;
	case SMTP_EV_NO_PEER_CERTIFICATE:
		ok = va_arg(ap, int *);
		*ok = !st->verify;
		st->cert_refused |= st->verify;
		break;
	case SMTP_EV_WRONG_PEER_CERTIFICATE:
		ok = va_arg(ap, int *);
		*ok = 1;
		break;
	case SMTP_EV_MESSAGEDATA:
		st->data_sent = 1;
		break;
	default:
		break;
	}
	va_end(ap);
}

/*
 * A TLS context for one session. libesmtp 1.1 frees a session's context
 * at smtp_destroy_session() but does not hold a reference on its own
 * shared default one, so a second session would use freed memory: we
 * always give it ours (smtp_starttls_set_ctx() takes a reference; we drop
 * ours after the session). Verification uses the system CA store and the
 * configured host name or address; smtp_ca_file, when set, replaces the
 * system store. NULL when the context (or the CA file) cannot be had.
 */
static SSL_CTX *
tls_ctx(const char *host, int verify, const char *ca_file)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	struct in6_addr a6;
	struct in_addr a4;

	if (ctx == NULL)
		return NULL;
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	/*
	 * TLS 1.3 is capped off: with libesmtp 1.1 a TLS 1.3 session stalls
	 * now and then until a protocol timeout (measured: 7 of 20 sessions
	 * against aiosmtpd, none of 20 with TLS 1.2, none with Python's
	 * smtplib), which turns a delivery into a timeout and a retry. TLS 1.2
	 * with the default (AEAD, forward-secret) ciphers is what most relays
	 * negotiate anyway.
	 */
	SSL_CTX_set_max_proto_version(ctx, TLS1_2_VERSION);
	if (verify) {
		X509_VERIFY_PARAM *vp = SSL_CTX_get0_param(ctx);
		if (ca_file && *ca_file) {
			if (SSL_CTX_load_verify_locations(ctx, ca_file, NULL) != 1) {
				SSL_CTX_free(ctx);
				return NULL;
			}
		} else {
			SSL_CTX_set_default_verify_paths(ctx);
		}
		SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
		if (inet_pton(AF_INET, host, &a4) == 1 || inet_pton(AF_INET6, host, &a6) == 1)
			X509_VERIFY_PARAM_set1_ip_asc(vp, host);
		else
			X509_VERIFY_PARAM_set1_host(vp, host, 0);
	}
	return ctx;
}

/*
 * The TLS context is made once and kept while the settings it was made
 * from (host, verification, CA file) stay the same, for at most
 * TLS_CTX_KEEP_S (a CA file or system store changed on disk is read again
 * by then). Making one (SSL_CTX_new, and the CA store: OpenSSL 3 decodes
 * the whole system bundle) costs milliseconds of CPU, and every attempt
 * paid it before connecting - also every retry to a relay that refuses the
 * connection (under churn a third of serverd's CPU: bench/README.md). A
 * context is not changed after it is made, so sessions on several threads
 * share it; each session holds its own reference (tls_ctx_get() takes one
 * for the caller), so a context replaced meanwhile lives until its last
 * session ends.
 */
#define TLS_CTX_KEEP_S 300
static pthread_mutex_t tls_kept_mu = PTHREAD_MUTEX_INITIALIZER;
static struct {
	SSL_CTX *ctx;      /* NULL: none kept */
	char *host;
	char *ca_file;     /* "" for the system store */
	int verify;
	time_t made;
} tls_kept;

static void
tls_kept_drop(void)
{
	SSL_CTX_free(tls_kept.ctx);
	free(tls_kept.host);
	free(tls_kept.ca_file);
	memset(&tls_kept, 0, sizeof(tls_kept));
}

/* tls_ctx() through the kept context: a reference for the caller (who
 * frees it with SSL_CTX_free()), or NULL as tls_ctx(). */
static SSL_CTX *
tls_ctx_get(const char *host, int verify, const char *ca_file)
{
	const char *ca = ca_file ? ca_file : "";
	time_t now = time(NULL);
	SSL_CTX *ctx = NULL;
	char *h, *c;

	pthread_mutex_lock(&tls_kept_mu);
	if (tls_kept.ctx && tls_kept.verify == verify && strcmp(tls_kept.host, host) == 0 &&
	    strcmp(tls_kept.ca_file, ca) == 0 && now >= tls_kept.made &&
	    now - tls_kept.made < TLS_CTX_KEEP_S && SSL_CTX_up_ref(tls_kept.ctx) == 1)
		ctx = tls_kept.ctx;
	pthread_mutex_unlock(&tls_kept_mu);
	if (ctx != NULL || (ctx = tls_ctx(host, verify, ca_file)) == NULL)
		return ctx;
	/* keep it (when it cannot be kept, the caller's is all there is) */
	h = strdup(host);
	c = strdup(ca);
	if (h == NULL || c == NULL || SSL_CTX_up_ref(ctx) != 1) {
		free(h);
		free(c);
		return ctx;
	}
	pthread_mutex_lock(&tls_kept_mu);
	tls_kept_drop();
	tls_kept.ctx = ctx;
	tls_kept.host = h;
	tls_kept.ca_file = c;
	tls_kept.verify = verify;
	tls_kept.made = now;
	pthread_mutex_unlock(&tls_kept_mu);
	return ctx;
}

/* The first OpenSSL error of this thread, for a reason worth reading. */
static void
tls_reason(char *out, size_t outlen)
{
	unsigned long e = ERR_get_error();

	out[0] = '\0';
	if (e != 0) {
		char b[256];
		ERR_error_string_n(e, b, sizeof(b));
		snprintf(out, outlen, " (TLS: %s)", b);
	}
	ERR_clear_error();
}

static void
rcpt_cb(smtp_recipient_t r, const char *mailbox, void *arg)
{
	const smtp_status_t *st = smtp_recipient_status(r);
	int *worst = arg;

	(void)mailbox;
	if (st && st->code > *worst)
		*worst = st->code;
}

/*
 * A 5xx refuses this message for good - but not the AUTH family (530
 * authentication required, 534, 535 credentials refused, 538): those say
 * our configuration is wrong, which the admin fixes (a SIGHUP then retries
 * at once); failing the notification would lose the alert.
 */
static int
smtp_permanent(int code)
{
	return code >= 500 && code < 600 && code != 530 && code != 534 && code != 535 &&
	    code != 538;
}

/* The highest reply code to RCPT TO of message (one recipient), or 0. */
static int
rcpt_code(smtp_message_t m)
{
	int worst = 0;

	smtp_enumerate_recipients(m, rcpt_cb, &worst);
	return worst;
}

/* Appends s with CR and LF turned into spaces (no header injection). */
static void
add_header_text(struct buf *b, const char *s)
{
	for (; *s; s++)
		buf_add(b, (*s == '\r' || *s == '\n') ? " " : s, 1);
}

/*
 * RFC 2047 "B" encoding of a header value that is not plain ASCII, as
 * encoded words of at most 45 input bytes (60 encoded), cut at UTF-8
 * character boundaries and folded onto continuation lines.
 */
static void
add_encoded_word(struct buf *b, const char *s)
{
	static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t n = strlen(s), i, start, end;
	int ascii = 1;

	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] >= 0x80)
			ascii = 0;
	if (ascii) {
		buf_adds(b, s);
		return;
	}
	for (start = 0; start < n; start = end) {
		end = start + 45 < n ? start + 45 : n;
		while (end < n && end > start + 1 && ((unsigned char)s[end] & 0xC0) == 0x80)
			end--;
		buf_adds(b, start ? "\r\n =?UTF-8?B?" : "=?UTF-8?B?");
		for (i = start; i < end; i += 3) {
			unsigned v = (unsigned)(unsigned char)s[i] << 16;
			char q[4];
			if (i + 1 < end)
				v |= (unsigned)(unsigned char)s[i + 1] << 8;
			if (i + 2 < end)
				v |= (unsigned char)s[i + 2];
			q[0] = tab[(v >> 18) & 63];
			q[1] = tab[(v >> 12) & 63];
			q[2] = i + 1 < end ? tab[(v >> 6) & 63] : '=';
			q[3] = i + 2 < end ? tab[v & 63] : '=';
			buf_add(b, q, 4);
		}
		buf_adds(b, "?=");
	}
}

/*
 * The body as quoted-printable (RFC 2045), CRLF line ends: SMTP limits a
 * line to 998 bytes and a check's output can be one long line, and the
 * output may hold any byte. Encoded lines stay within 76 characters.
 */
static void
add_quoted_printable(struct buf *b, const char *s)
{
	size_t col = 0;
	const char *p;

	for (p = s; *p; p++) {
		unsigned char ch = (unsigned char)*p;
		char enc[4];
		size_t len;
		int eol_next = p[1] == '\n' || p[1] == '\r' || p[1] == '\0';

		if (ch == '\r')
			continue;
		if (ch == '\n') {
			buf_adds(b, "\r\n");
			col = 0;
			continue;
		}
		if ((ch >= 33 && ch <= 126 && ch != '=') || ((ch == ' ' || ch == '\t') && !eol_next)) {
			enc[0] = (char)ch;
			len = 1;
		} else {
			snprintf(enc, sizeof(enc), "=%02X", ch);
			len = 3;
		}
		if (col + len > 75) {
			buf_adds(b, "=\r\n");   /* soft line break */
			col = 0;
		}
		buf_add(b, enc, len);
		col += len;
	}
}

/* The bare address of "Name <a@b>" or "a@b", into out. */
static void
bare_address(const char *from, char *out, size_t outlen)
{
	const char *lt = strchr(from, '<'), *gt;

	if (lt && (gt = strchr(lt, '>')) != NULL && gt > lt + 1)
		snprintf(out, outlen, "%.*s", (int)(gt - lt - 1), lt + 1);
	else
		snprintf(out, outlen, "%s", from);
}

/* Builds the whole message with CRLF line ends into b. */
static void
build_message(const struct notice *n, const char *from, const char *from_addr, struct buf *b)
{
	struct buf title, body;
	const char *dom = strchr(from_addr, '@');
	char date[64];
	time_t now = time(NULL);
	struct tm tm;

	buf_init(&title, 4096);
	buf_init(&body, EMAIL_MAX);
	notice_title(n, &title);
	notice_body(n, &body);
	gmtime_r(&now, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S +0000", &tm);

	buf_adds(b, "From: ");
	add_header_text(b, from);
	buf_adds(b, "\r\nTo: ");
	add_header_text(b, n->email);
	buf_adds(b, "\r\nSubject: [custos] ");
	{
		struct buf clean;
		buf_init(&clean, 8192);
		add_header_text(&clean, title.ptr ? title.ptr : "");
		add_encoded_word(b, clean.ptr ? clean.ptr : "");
		buf_free(&clean);
	}
	buf_addf(b, "\r\nDate: %s\r\n", date);
	/* a digest has an id of its own (digests.id), stable across its retries */
	buf_addf(b, "Message-ID: <custos.%s.%lld@%s>\r\n", n->digest ? "digest" : "notification",
	    (long long)n->id, dom && dom[1] ? dom + 1 : "custos.invalid");
	if (n->digest)
		buf_addf(b, "X-Custos-Digest: %lld\r\n", (long long)n->id);
	else
		buf_addf(b, "X-Custos-Notification: %lld\r\nX-Custos-Event: %lld\r\n",
		    (long long)n->id, (long long)n->event_id);
	if (n->resent)
		buf_adds(b, "X-Custos-Resent: yes\r\n");
	buf_adds(b, "X-Custos-Kind: ");
	add_header_text(b, n->kind);
	buf_adds(b, "\r\nAuto-Submitted: auto-generated\r\n"
	    "MIME-Version: 1.0\r\n"
	    "Content-Type: text/plain; charset=utf-8\r\n"
	    "Content-Transfer-Encoding: quoted-printable\r\n\r\n");
	add_quoted_printable(b, body.ptr ? body.ptr : "");
	buf_free(&title);
	buf_free(&body);
}

/* libcurl's and libesmtp's global state: set up before any thread runs. */
int
notify_global_init(void)
{
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return -1;
	auth_client_init();
	return 0;
}

void
notify_global_cleanup(void)
{
	pthread_mutex_lock(&tls_kept_mu);
	tls_kept_drop();
	pthread_mutex_unlock(&tls_kept_mu);
	auth_client_exit();
	curl_global_cleanup();
}

static enum send_verdict
email_send(const struct notice *n, struct send_result *res, char *err, size_t errlen)
{
	const struct srv_conf *cf = n->conf;
	smtp_session_t session = NULL;
	smtp_message_t message = NULL;
	auth_context_t authctx = NULL;
	SSL_CTX *ctx = NULL;
	char tlsr[320] = "";
	struct creds creds;
	struct evstate evs = { 0, 0, 0 };
	struct buf msg;
	char server[512], from_addr[320];
	enum send_verdict v = SEND_RETRY;
	const smtp_status_t *st = NULL;
	long step_ms;

	(void)res;   /* a relay leaves nothing to store and never pauses us */
	buf_init(&msg, EMAIL_MAX);
	if (*n->email == '\0' || strchr(n->email, '@') == NULL) {
		snprintf(err, errlen, "contact has no valid email address");
		v = SEND_FAIL;
		goto done;
	}
	bare_address(cf->smtp_from, from_addr, sizeof(from_addr));
	/* a problem mail carries its own acknowledgement link: n->ack_url,
	 * made by the outbox's claim (acklink.c) */
	build_message(n, cf->smtp_from, from_addr, &msg);
	if (msg.failed || msg.ptr == NULL) {
		snprintf(err, errlen, "message too large or out of memory");
		goto done;
	}
	if ((session = smtp_create_session()) == NULL ||
	    (message = smtp_add_message(session)) == NULL) {
		snprintf(err, errlen, "libesmtp: cannot create a session");
		goto done;
	}
	if (strchr(cf->smtp_host, ':'))
		snprintf(server, sizeof(server), "[%s]:%lld", cf->smtp_host, cf->smtp_port);
	else
		snprintf(server, sizeof(server), "%s:%lld", cf->smtp_host, cf->smtp_port);
	smtp_set_server(session, server);
	step_ms = cf->smtp_timeout_s * 1000;
	smtp_set_timeout(session, Timeout_GREETING | Timeout_OVERRIDE_RFC2822_MINIMUM, step_ms);
	smtp_set_timeout(session, Timeout_ENVELOPE | Timeout_OVERRIDE_RFC2822_MINIMUM, step_ms);
	smtp_set_timeout(session, Timeout_DATA | Timeout_OVERRIDE_RFC2822_MINIMUM, step_ms);
	smtp_set_timeout(session, Timeout_TRANSFER | Timeout_OVERRIDE_RFC2822_MINIMUM, step_ms);
	smtp_set_timeout(session, Timeout_DATA2 | Timeout_OVERRIDE_RFC2822_MINIMUM, step_ms);
	evs.verify = cf->smtp_verify_cert;
	evs.cert_refused = 0;
	evs.data_sent = 0;
	smtp_set_eventcb(session, event_cb, &evs);
	smtp_starttls_enable(session, cf->smtp_starttls == STARTTLS_OFF ? Starttls_DISABLED :
	    cf->smtp_starttls == STARTTLS_REQUIRE ? Starttls_REQUIRED : Starttls_ENABLED);
	if (cf->smtp_starttls != STARTTLS_OFF) {
		if ((ctx = tls_ctx_get(cf->smtp_host, cf->smtp_verify_cert, cf->smtp_ca_file)) == NULL) {
			tls_reason(tlsr, sizeof(tlsr));
			snprintf(err, errlen, "OpenSSL: cannot create a TLS context%s%s%s", tlsr,
			    cf->smtp_ca_file && *cf->smtp_ca_file ? "; smtp_ca_file " : "",
			    cf->smtp_ca_file && *cf->smtp_ca_file ? cf->smtp_ca_file : "");
			goto done;
		}
		ERR_clear_error();
		smtp_starttls_set_ctx(session, ctx);
	}
	if (cf->smtp_user && *cf->smtp_user) {
		creds.user = cf->smtp_user;
		creds.pass = cf->smtp_password ? cf->smtp_password : "";
		if ((authctx = auth_create_context()) == NULL) {
			snprintf(err, errlen, "libesmtp: cannot create an AUTH context");
			goto done;
		}
		auth_set_mechanism_flags(authctx, AUTH_PLUGIN_PLAIN, 0);
		auth_set_interact_cb(authctx, auth_interact, &creds);
		smtp_auth_set_context(session, authctx);
	}
	smtp_set_reverse_path(message, from_addr);
	/* the headers are ours: keep libesmtp from adding its own To/Message-Id */
	smtp_set_message_str(message, msg.ptr);
	if (smtp_add_recipient(message, n->email) == NULL) {
		snprintf(err, errlen, "libesmtp: cannot add recipient");
		goto done;
	}
	if (!smtp_start_session(session)) {
		char eb[256];
		tls_reason(tlsr, sizeof(tlsr));
		snprintf(err, errlen, "SMTP %s: %s%s%s", server,
		    smtp_strerror(smtp_errno(), eb, sizeof(eb)), tlsr,
		    evs.cert_refused || strstr(tlsr, "certificate") ?
		    " (certificate not trusted; see smtp_verify_cert)" : "");
		goto done;
	}
	st = smtp_message_transfer_status(message);
	if (st && st->code >= 200 && st->code < 300) {
		v = SEND_OK;
	} else {
		char eb[256];
		const smtp_status_t *rs = smtp_reverse_path_status(message);
		if (st == NULL || st->code == 0) {
			if (rs && rs->code >= 400) {
				snprintf(err, errlen, "SMTP %s: MAIL FROM refused: %d %s", server,
				    rs->code, rs->text ? rs->text : "");
				if (smtp_permanent(rs->code))
					v = SEND_FAIL;
			} else if (rcpt_code(message) >= 400) {
				snprintf(err, errlen, "SMTP %s: RCPT TO refused: %d", server,
				    rcpt_code(message));
				if (smtp_permanent(rcpt_code(message)))
					v = SEND_FAIL;
			} else {
				tls_reason(tlsr, sizeof(tlsr));
				snprintf(err, errlen, "SMTP %s: not accepted: %s%s%s", server,
				    smtp_strerror(smtp_errno(), eb, sizeof(eb)), tlsr,
				    evs.cert_refused || strstr(tlsr, "certificate") ?
				    " (certificate not trusted; see smtp_verify_cert)" : "");
			}
		} else {
			snprintf(err, errlen, "SMTP %s: %d %s", server, st->code,
			    st->text ? st->text : "");
			if (smtp_permanent(st->code))
				v = SEND_FAIL;   /* permanent: the relay refuses this message */
		}
		/* strip the CRLF a relay's text may end with */
		err[strcspn(err, "\r\n")] = '\0';
	}
done:
	/* the data went out and no reply to it came (the relay went away or
	 * timed out after it): the relay may have taken it - in doubt */
	if (v == SEND_RETRY && message && evs.data_sent && n->in_doubt &&
	    ((st = smtp_message_transfer_status(message)) == NULL || st->code == 0))
		*n->in_doubt = 1;
	if (session)
		smtp_destroy_session(session);   /* frees the statuses read above */
	SSL_CTX_free(ctx);                   /* our reference; NULL is fine */
	if (authctx)
		auth_destroy_context(authctx);
	buf_free(&msg);
	return v;
}

static long long
email_time_limit_s(const struct srv_conf *cf)
{
	return cf->smtp_timeout_s * SMTP_LEASE_STEPS;
}

/* smtp_from is a header and the envelope sender: one line, with an address. */
static int
email_check_conf(const struct srv_conf *cf, char *err, size_t errlen)
{
	char addr[320];

	if (strpbrk(cf->smtp_from, "\r\n") != NULL) {
		snprintf(err, errlen, "smtp_from: must be one line");
		return -1;
	}
	bare_address(cf->smtp_from, addr, sizeof(addr));
	if (strchr(addr, '@') == NULL) {
		snprintf(err, errlen, "smtp_from: \"%s\" has no address (user@domain, or"
		    " Name <user@domain>)", cf->smtp_from);
		return -1;
	}
	return 0;
}

const struct channel_type channel_email = {
	.name = "email",
	.contact_column = "email",
	.send = email_send,
	.time_limit_s = email_time_limit_s,
	.check_conf = email_check_conf,
	.ack_link = 1,           /* problem mails: "Acknowledge: <public_url>/ack/<token>" */
	.backoff_max_s = 600,    /* retry at least every 10 minutes */
	.give_up_h = 24,         /* transient failures: give up after a day */
};
