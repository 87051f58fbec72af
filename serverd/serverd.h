/*
 * serverd.h - custos-serverd's configuration and process-wide state.
 *
 * The configuration is read at start and on SIGHUP; g_conf points at the
 * current one. Keys that only matter at start (listen, threads, database,
 * tls_*) are ignored on reload, with a warning when they changed.
 */
#ifndef CUSTOS_SERVERD_H
#define CUSTOS_SERVERD_H

#include <signal.h>
#include <stddef.h>

enum starttls_mode { STARTTLS_OFF, STARTTLS_TRY, STARTTLS_REQUIRE };

struct srv_conf {
	char *listen;               /* host:port */
	char *database;             /* libpq conninfo */
	long long threads;          /* HTTP worker threads (one db connection each) */
	long long max_body_bytes;
	char *tls_cert, *tls_key;
	char *public_url;           /* base URL used in notification links */
	char *smtp_host;
	long long smtp_port;
	int smtp_starttls;          /* enum starttls_mode */
	int smtp_verify_cert;       /* verify the relay's certificate */
	char *smtp_user, *smtp_password, *smtp_from;
	char *pushover_token, *pushover_url;
	long long renotify_interval_s;
	long long agent_grace_s;    /* 0 = one more interval */
	long long flap_low_pct, flap_high_pct;
	long long sender_threads;
	long long history_retention_days;  /* 0 = keep forever */
	int log_level;              /* enum log_level */
};

extern struct srv_conf *g_conf;

/* Reads path into *out (defaults first). 0 or -1 with err. */
int srv_conf_load(const char *path, struct srv_conf *out, char *err, size_t errlen);
void srv_conf_free(struct srv_conf *c);

/* Set by signal handlers, acted on by the main loop. */
extern volatile sig_atomic_t g_stop;
extern volatile sig_atomic_t g_reload;

#endif
