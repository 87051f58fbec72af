/*
 * config.c - serverd's keys: names, types, ranges and defaults. Every key
 * here appears, commented with its default, in conf/serverd.conf.sample.
 */
#include "config.h"
#include "serverd.h"
#include "channel.h"
#include "conf.h"
#include "log.h"
#include "strnum.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stddef.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const level_choices[] = { "debug", "info", "warning", "error", NULL };
static const char *const starttls_choices[] = { "off", "try", "require", NULL };

#define S(k) #k, CONF_STR, offsetof(struct srv_conf, k), 0, 0, NULL
#define I(k, lo, hi) #k, CONF_INT, offsetof(struct srv_conf, k), lo, hi, NULL
#define B(k) #k, CONF_BOOL, offsetof(struct srv_conf, k), 0, 0, NULL
#define E(k, c) #k, CONF_ENUM, offsetof(struct srv_conf, k), 0, 0, c

static const struct conf_key srv_keys[] = {
	{ S(listen) },
	{ S(database) },
	{ I(threads, 1, 256) },
	{ I(max_body_bytes, 1024, 1LL << 30) },
	{ I(config_max_body_bytes, 1024, 1LL << 30) },
	{ S(tls_cert) },
	{ S(tls_key) },
	{ S(public_url) },
	{ S(smtp_host) },
	{ I(smtp_port, 1, 65535) },
	{ E(smtp_starttls, starttls_choices) },
	{ B(smtp_verify_cert) },
	{ S(smtp_user) },
	{ S(smtp_password) },
	{ S(smtp_from) },
	{ S(pushover_token) },
	{ S(pushover_url) },
	{ S(smtp_ca_file) },
	{ I(smtp_timeout_s, 1, 600) },
	{ I(pushover_timeout_s, 1, 600) },
	{ I(pushover_receipt_poll_s, 5, 86400) },
	{ I(webhook_timeout_s, 1, 600) },
	{ I(renotify_interval_s, 0, 86400 * 30) },
	{ I(agent_grace_s, 0, 86400 * 7) },
	{ I(flap_low_pct, 0, 100) },
	{ I(flap_high_pct, 1, 100) },
	{ I(sender_threads, 1, 64) },
	{ I(bulk_threads, 0, 64) },
	{ I(bulk_yield_ms, 0, 10000) },
	{ I(group_window_s, 0, 86400) },
	{ I(group_min, 1, 1000000) },
	{ I(takeover_grace_s, 1, 3600) },
	{ I(database_timeout_s, 0, 86400) },
	{ I(history_retention_days, 0, 36500) },
	{ I(max_clock_skew_s, 0, 86400 * 7) },
	{ I(max_connections_per_ip, 0, 100000) },
	{ I(ping_limit_uuid, 0, 1000000) },
	{ I(ping_limit_address, 0, 10000000) },
	{ I(max_connections, 16, 1000000) },
	{ I(reserved_connections, 0, 1000000) },
	{ I(request_timeout_s, 1, 3600) },
	{ S(trusted_proxies) },
	{ I(rollup_minute_days, 1, 36500) },
	{ I(rollup_hour_days, 1, 36500) },
	{ I(rollup_interval_s, 1, 3600) },
	{ E(log_level, level_choices) },
	{ S(www_dir) },
	{ I(session_idle_s, 60, 86400 * 30) },
	{ I(session_max_s, 300, 86400 * 365) },
	{ I(stream_heartbeat_s, 1, 3600) },
	{ I(stream_max, 1, 100000) },
	{ I(stream_max_per_token, 1, 100000) },
	{ NULL, 0, 0, 0, 0, NULL },
};

static int
set_defaults(struct srv_conf *c)
{
	memset(c, 0, sizeof(*c));
	c->threads = 8;
	c->max_body_bytes = 1 << 20;
	c->config_max_body_bytes = 64LL << 20;
	c->smtp_port = 25;
	c->smtp_starttls = STARTTLS_TRY;
	c->smtp_verify_cert = 1;
	c->renotify_interval_s = 0;
	c->agent_grace_s = 0;
	c->flap_low_pct = 25;
	c->flap_high_pct = 50;
	c->sender_threads = 2;
	/* two per CPU, 4 to 16: a batch waits for PostgreSQL about half its
	 * time, so one per CPU left CPUs idle (bench/ingest, batched: -14 to
	 * -28 % with 2 on 2 CPUs, -4 to -8 % with 4; bench/README.md); at most
	 * 16, for each holds a PostgreSQL connection (max_connections is 100
	 * by default, for every serverd on the database); the rest wait
	 * asleep (http.c, "bulk") */
	{
		long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
		c->bulk_threads = ncpu < 2 ? 4 : ncpu > 8 ? 16 : 2 * ncpu;
	}
	/* a batch waits this long at most while a page is being made
	 * (urgent.h): a page's statements and SMTP session take a few ms
	 * each, and a bulk thread never waits more than half its time */
	c->bulk_yield_ms = 50;
	c->group_window_s = 30;
	c->group_min = 3;
	c->takeover_grace_s = 2;
	c->database_timeout_s = 60;
	c->smtp_timeout_s = 15;
	c->pushover_timeout_s = 10;
	c->pushover_receipt_poll_s = 15;
	c->webhook_timeout_s = 10;
	c->max_clock_skew_s = 300;
	c->max_connections_per_ip = 64;
	c->ping_limit_uuid = 30;
	c->ping_limit_address = 6000;
	c->max_connections = 1000;
	c->reserved_connections = -1;   /* a tenth of max_connections */
	c->request_timeout_s = 30;
	c->history_retention_days = 31;
	c->rollup_minute_days = 2;
	c->rollup_hour_days = 400;
	c->rollup_interval_s = 60;
	c->log_level = LOG_LVL_INFO;
	c->session_idle_s = 8 * 3600;
	c->session_max_s = 7 * 86400;
	c->stream_heartbeat_s = 15;
	c->stream_max = 1000;
	c->stream_max_per_token = 20;
	c->listen = strdup("127.0.0.1:8675");
	c->database = strdup("dbname=custos");
	c->public_url = strdup("http://127.0.0.1:8675");
	c->smtp_host = strdup("127.0.0.1");
	c->smtp_from = strdup("custos@localhost");
	c->pushover_url = strdup("https://api.pushover.net/1/messages.json");
	c->www_dir = strdup(CUSTOS_WWW_DIR);
	if (!c->listen || !c->database || !c->public_url || !c->smtp_host ||
	    !c->smtp_from || !c->pushover_url || !c->www_dir) {
		conf_free(srv_keys, c);
		return -1;
	}
	return 0;
}

/*
 * trusted_proxies: IPv4 addresses or CIDR blocks, separated by commas or
 * blanks ("127.0.0.1, 10.1.0.0/16"). A bad entry refuses the whole file:
 * believing X-Forwarded-For from the wrong peer would let any client pick
 * the address it is counted under.
 */
static int
parse_trusted(struct srv_conf *c, char *err, size_t errlen)
{
	const char *p = c->trusted_proxies;

	c->ntrusted_ = 0;
	while (p && *p) {
		char tok[40], *slash;
		size_t n = strcspn(p, ", \t");
		struct in_addr a;
		long bits = 32;

		if (n == 0) {
			p++;
			continue;
		}
		if (n >= sizeof(tok)) {
			snprintf(err, errlen, "trusted_proxies: entry too long");
			return -1;
		}
		memcpy(tok, p, n);
		tok[n] = '\0';
		p += n;
		if ((slash = strchr(tok, '/')) != NULL) {
			const char *es;
			*slash = '\0';
			bits = (long)str_to_ll(slash + 1, 0, 32, &es);
			if (es) {
				snprintf(err, errlen, "trusted_proxies: \"%s/%s\": bad prefix length",
				    tok, slash + 1);
				return -1;
			}
		}
		if (inet_pton(AF_INET, tok, &a) != 1) {
			snprintf(err, errlen, "trusted_proxies: \"%s\" is not an IPv4 address", tok);
			return -1;
		}
		if (c->ntrusted_ == SRV_TRUSTED_MAX) {
			snprintf(err, errlen, "trusted_proxies: more than %d entries", SRV_TRUSTED_MAX);
			return -1;
		}
		c->trusted_[c->ntrusted_].mask = bits == 0 ? 0 : 0xffffffffU << (32 - bits);
		c->trusted_[c->ntrusted_].net = ntohl(a.s_addr) & c->trusted_[c->ntrusted_].mask;
		c->ntrusted_++;
	}
	return 0;
}

int
srv_conf_load(const char *path, struct srv_conf *out, char *err, size_t errlen)
{
	if (set_defaults(out) < 0) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (path && conf_load(path, srv_keys, out, sizeof(*out), err, errlen) < 0) {
		conf_free(srv_keys, out);
		return -1;
	}
	if (out->flap_low_pct >= out->flap_high_pct) {
		snprintf(err, errlen, "%s: flap_low_pct (%lld) must be below flap_high_pct (%lld)",
		    path ? path : "defaults", out->flap_low_pct, out->flap_high_pct);
		conf_free(srv_keys, out);
		return -1;
	}
	if ((out->tls_cert == NULL) != (out->tls_key == NULL)) {
		snprintf(err, errlen, "%s: tls_cert and tls_key must be given together",
		    path ? path : "defaults");
		conf_free(srv_keys, out);
		return -1;
	}
	if (out->reserved_connections < 0)
		out->reserved_connections = out->max_connections / 10;
	if (out->reserved_connections >= out->max_connections) {
		snprintf(err, errlen, "%s: reserved_connections (%lld) must be below max_connections (%lld)",
		    path ? path : "defaults", out->reserved_connections, out->max_connections);
		conf_free(srv_keys, out);
		return -1;
	}
	if (out->stream_max_per_token > out->stream_max)
		out->stream_max_per_token = out->stream_max;
	{
		char why[160];
		if (parse_trusted(out, why, sizeof(why)) < 0) {
			snprintf(err, errlen, "%s: %s", path ? path : "defaults", why);
			conf_free(srv_keys, out);
			return -1;
		}
	}
	{
		/* each notification channel checks its own settings (notify/channel.h) */
		char why[400];
		if (channels_check_conf(out, why, sizeof(why)) < 0) {
			snprintf(err, errlen, "%s: %s", path ? path : "defaults", why);
			conf_free(srv_keys, out);
			return -1;
		}
	}
	/* public_url is used as a prefix: drop a trailing slash */
	if (out->public_url) {
		size_t n = strlen(out->public_url);
		while (n > 0 && out->public_url[n - 1] == '/')
			out->public_url[--n] = '\0';
	}
	return 0;
}

void
srv_conf_free(struct srv_conf *c)
{
	if (c)
		conf_free(srv_keys, c);
}

/* ---- snapshots ------------------------------------------------------------ */

static pthread_mutex_t snap_mu = PTHREAD_MUTEX_INITIALIZER;
static struct srv_conf *snap_cur;     /* holds one reference of its own */
static unsigned long snap_gen;

const struct srv_conf *
conf_hold(void)
{
	struct srv_conf *c;

	pthread_mutex_lock(&snap_mu);
	c = snap_cur;
	if (c)
		c->refs_++;
	pthread_mutex_unlock(&snap_mu);
	return c;
}

static void
snap_unref_locked(struct srv_conf *c, struct srv_conf **to_free)
{
	*to_free = NULL;
	if (c && --c->refs_ == 0)
		*to_free = c;
}

void
conf_drop(const struct srv_conf *cc)
{
	struct srv_conf *c = (struct srv_conf *)cc, *gone;

	if (c == NULL)
		return;
	pthread_mutex_lock(&snap_mu);
	snap_unref_locked(c, &gone);
	pthread_mutex_unlock(&snap_mu);
	if (gone) {
		srv_conf_free(gone);
		free(gone);
	}
}

void
conf_install(struct srv_conf *c)
{
	struct srv_conf *old, *gone;

	c->refs_ = 1;
	pthread_mutex_lock(&snap_mu);
	old = snap_cur;
	snap_cur = c;
	snap_gen++;
	snap_unref_locked(old, &gone);
	pthread_mutex_unlock(&snap_mu);
	if (gone) {
		srv_conf_free(gone);
		free(gone);
	}
}

long long
conf_value_ll(size_t offset)
{
	long long v;

	pthread_mutex_lock(&snap_mu);
	memcpy(&v, (const char *)snap_cur + offset, sizeof(v));
	pthread_mutex_unlock(&snap_mu);
	return v;
}

unsigned long
conf_generation(void)
{
	unsigned long g;

	pthread_mutex_lock(&snap_mu);
	g = snap_gen;
	pthread_mutex_unlock(&snap_mu);
	return g;
}

void
conf_shutdown(void)
{
	struct srv_conf *old, *gone;

	pthread_mutex_lock(&snap_mu);
	old = snap_cur;
	snap_cur = NULL;
	snap_unref_locked(old, &gone);
	pthread_mutex_unlock(&snap_mu);
	if (gone) {
		srv_conf_free(gone);
		free(gone);
	}
}
