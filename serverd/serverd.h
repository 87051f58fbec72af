/*
 * serverd.h - custos-serverd's configuration and process-wide state.
 *
 * The configuration is read at start and on SIGHUP; conf_hold() (below)
 * hands out the current one. Keys that only matter at start (listen,
 * threads, database, tls_*) are ignored on reload, with a warning when
 * they changed.
 */
#ifndef CUSTOS_SERVERD_H
#define CUSTOS_SERVERD_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#define SRV_TRUSTED_MAX 32          /* trusted_proxies entries, at most */

enum starttls_mode { STARTTLS_OFF, STARTTLS_TRY, STARTTLS_REQUIRE };

struct srv_conf {
	char *listen;               /* host:port */
	char *database;             /* libpq conninfo */
	long long threads;          /* HTTP worker threads (one db connection each) */
	long long max_body_bytes;
	long long config_max_body_bytes;   /* POST /api/v1/config's own cap */
	char *tls_cert, *tls_key;
	char *public_url;           /* base URL used in notification links */
	char *smtp_host;
	long long smtp_port;
	int smtp_starttls;          /* enum starttls_mode */
	int smtp_verify_cert;       /* verify the relay's certificate */
	char *smtp_user, *smtp_password, *smtp_from;
	char *pushover_token, *pushover_url;
	char *smtp_ca_file;         /* CA bundle for the relay (default: system store) */
	long long smtp_timeout_s;   /* per SMTP protocol step (lease: see outbox.c) */
	long long pushover_timeout_s;  /* one Pushover request, connect included */
	long long pushover_receipt_poll_s;  /* an emergency page's receipt is polled this often (notify/receipt.c) */
	long long webhook_timeout_s;   /* one webhook request, connect included */
	long long renotify_interval_s;
	long long agent_grace_s;    /* 0 = one more interval */
	long long flap_low_pct, flap_high_pct;
	long long sender_threads;   /* per channel: each channel has its own */
	long long bulk_threads;     /* large ingest batches and applies (http.c); 0: none */
	long long bulk_yield_ms;    /* a batch waits at most this while a page is made (urgent.h); 0: never */
	long long group_window_s;   /* grouping into digests (notify/outbox.c); 0 = off */
	long long group_min;        /* sent one by one in a window before the rest is grouped */
	long long takeover_grace_s; /* lock held this long before judging others dead (holder.h) */
	long long database_timeout_s; /* a statement unanswered this long is given up (db.h); 0: never */
	long long history_retention_days;  /* 0 = keep forever */
	long long max_clock_skew_s; /* a result stamped further ahead gets the server's time */
	long long max_connections_per_ip;  /* open connections per client address; 0 = no cap */
	long long ping_limit_uuid;         /* heartbeat pings a minute per uuid (and burst); 0 = no limit */
	long long ping_limit_address;      /* ... per client address */
	/* the HTTP edge under hostile load (http/edge.h) */
	long long max_connections;  /* open connections at most (start only) */
	long long reserved_connections;  /* of those, only for connections with a known token */
	long long request_timeout_s;     /* a whole request must be read within this */
	char *trusted_proxies;      /* proxies whose X-Forwarded-For is believed */
	long long rollup_minute_days;      /* minute roll-ups kept (store/history.c) */
	long long rollup_hour_days;        /* hour roll-ups kept; day ones for ever */
	long long rollup_interval_s;       /* how often the roll-ups are built */
	int log_level;              /* enum log_level */
	/* the operator's face (http/session.c, http/static.c, http/stream.c) */
	char *www_dir;              /* the dashboard's files */
	long long session_idle_s;   /* a browser session idle this long ends */
	long long session_max_s;    /* and one this old ends however used */
	long long stream_heartbeat_s;   /* comment line on a quiet /api/v1/stream */
	long long stream_max;       /* open /api/v1/stream connections, at most */
	long long stream_max_per_token;  /* ... of which one token (or session's token) may hold */
	/* trusted_proxies parsed (IPv4 address or CIDR each; config.c only writes) */
	struct srv_cidr { uint32_t net, mask; } trusted_[SRV_TRUSTED_MAX];
	int ntrusted_;
	int refs_;                  /* snapshot references (config.c only) */
};

/*
 * Configuration snapshots. A loaded configuration is immutable and
 * reference-counted, so a SIGHUP never frees what a thread still reads.
 *
 *   conf_hold()    the current snapshot, with a reference taken. Any thread.
 *   conf_drop(c)   gives the reference back (NULL is fine); the snapshot is
 *                  freed when it is no longer current and its last reader
 *                  dropped it.
 *   conf_install() (main thread) makes a freshly loaded configuration the
 *                  current one; it takes ownership of c (heap-allocated).
 *
 * How long a reader may hold a snapshot: one unit of work - one HTTP
 * request, one notification send (the whole SMTP session included: libesmtp's
 * AUTH callback reads the password from it), one job run. Never across a wait
 * for new work, so that a reload takes effect at the next unit. Values read
 * for the whole life of the process (listen, threads, database) are read from
 * the first snapshot at start only.
 */
const struct srv_conf *conf_hold(void);
void conf_drop(const struct srv_conf *c);
void conf_install(struct srv_conf *c);
/* Moves on with every conf_install(): lets a thread notice a reload. */
unsigned long conf_generation(void);
/* One scalar setting of the current snapshot, read under a reference. */
long long conf_value_ll(size_t offset);
#define CONF_VALUE(field) conf_value_ll(offsetof(struct srv_conf, field))
/* Frees the current snapshot at exit (after every thread stopped). */
void conf_shutdown(void);

/* Reads path into *out (defaults first). 0 or -1 with err. */
int srv_conf_load(const char *path, struct srv_conf *out, char *err, size_t errlen);
void srv_conf_free(struct srv_conf *c);

/* Set by signal handlers, acted on by the main loop. */
extern volatile sig_atomic_t g_stop;
extern volatile sig_atomic_t g_reload;

#endif
