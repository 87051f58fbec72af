/*
 * agentd.h - custos-agentd's parts and the state of one agent process.
 *
 *   config.c  the config file (keys, defaults) and the token file
 *   client.c  serverd's API: lib/httpc.h's client, reused (keep-alive), and the token
 *   spool.c   results not yet delivered, kept in state_dir
 *   facts.c   host facts sent at checkout when they change
 *   run.c     one cycle: self, checks (ETag), run, post, checkout
 *   heartbeat.c  heartbeat reports, and their spool in state_dir/heartbeats
 *   wrap.c    --wrap: run a cron job's command, report its start and end
 *   main.c    options, modes (--once, daemon, --local, --test, --wrap), signals
 */
#ifndef CUSTOS_AGENTD_H
#define CUSTOS_AGENTD_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <curl/curl.h>
#include <jansson.h>

#include "buf.h"
#include "httpc.h"
#include "check.h"
#include "token.h"

#define AGENT_NAME "custos-agentd"

struct agent_conf {
	char *server;            /* base URL, "http://127.0.0.1:8675" */
	char *token_file;        /* "/etc/custos/agent.token" */
	char *ca_file;           /* NULL: the system CA store */
	char *plugin_dir;        /* "/etc/custos/plugins.d" */
	char *log_dirs;          /* "/var/log": where log checks may read (blank-separated) */
	char *state_dir;         /* "/var/lib/custos-agentd" */
	long long timeout_s;     /* HTTP requests, and checks without their own */
	int log_level;           /* enum log_level */
	long long spool_max;     /* results kept while the server is away */
	long long jitter_s;      /* daemon start: wait up to this (and < interval) */
	long long interval_s;    /* 0: the server's interval_s */
	char *labels;            /* "role=web,env=prod" (lib/selector.h), sent at checkout */
};

/* config.c */
void conf_defaults(struct agent_conf *cf);
/* 0, or -1 with "FILE:LINE: reason" in err; cf is unchanged on failure. */
int agent_conf_load(const char *path, struct agent_conf *cf, char *err, size_t errlen);
void agent_conf_free(struct agent_conf *cf);
/* cf->labels as a JSON object (new reference; {} when none), NULL when out of memory */
json_t *conf_labels_json(const struct agent_conf *cf);
/* the token file is read by client_open() (client.c), through lib/token.h's
 * token_read_owned(): the CLI reads its own the same way */
/*
 * Makes sure state_dir exists (created with mode 0700 when missing, its
 * parent too) and is a directory this process can write. 0, or -1 with err.
 */
int state_dir_ready(const char *dir, char *err, size_t errlen);

/* client.c: serverd's API through lib/httpc.h, with the agent's token */
struct client {
	struct httpc http;            /* status and resp: the last answer */
	char *base;                   /* server URL without a trailing '/' */
	char etag[128];               /* ETag of the last response, "" if none */
};
/*
 * Reads the token (token_read_owned(): the file's owner is the effective
 * user or also_uid, mode 0600) and makes a client with it, whose requests
 * take at most connect_s to connect and total_s in all. 0, or -1 (logged).
 */
int client_open(struct client *cl, const struct agent_conf *cf, uid_t also_uid,
    long connect_s, long total_s);
void client_free(struct client *cl);
/*
 * One request. body may be NULL; if_none_match may be NULL. Returns 0 when
 * a response arrived (cl->http.status, cl->http.resp), -1 on a transport
 * error or a broken limit (err).
 */
int client_request(struct client *cl, const char *method, const char *path,
    const char *body, const char *if_none_match, char *err, size_t errlen);
/* The server's {"error": ...} text of the last response, or a default. */
const char *client_error_text(struct client *cl, char *out, size_t size);

/* spool.c: results as JSON text lines */
struct lines {
	char **v;
	size_t n, cap;
};
int lines_push(struct lines *l, char *s);   /* takes s; -1 frees it */
void lines_free(struct lines *l);
/*
 * Removes (and frees) the results in v[from..to) whose check_id is in ids,
 * a JSON array of integers (a 403's "check_ids"); the others keep their
 * order. Returns how many were removed.
 */
size_t lines_drop_checks(struct lines *l, size_t from, size_t to, json_t *ids);
int spool_load(const char *dir, struct lines *out, char *err, size_t errlen);
/* Replaces the spool with v[from..n), keeping at most max (oldest dropped). */
int spool_store(const char *dir, const struct lines *l, size_t from, long long max,
    char *err, size_t errlen);

/* facts.c: a new object (caller decrefs), NULL on allocation failure */
json_t *facts_collect(const char *proc_root);

struct agent;

/* heartbeat.c: reports of custos-agentd --wrap, and their spool */
#define HB_OUTPUT_MAX 10000      /* bytes of output in a report (server: 10 kB) */
#define HB_ID_LEN 32             /* hex characters of a report id */
enum hb_kind { HB_START, HB_SUCCESS, HB_FAIL, HB_EXIT };
enum hb_outcome {
	HB_SENT,      /* stored (201) or already stored (200) */
	HB_REFUSED,   /* never to be taken (404, 422, other 4xx): not kept */
	HB_AWAY,      /* not taken now (network, timeout, 5xx, 408, 429, 401/403): keep */
};
const char *hb_kind_name(enum hb_kind k);
/* {"kind", "at", "id"} with a new random id; NULL when out of memory. */
json_t *hb_report_new(enum hb_kind kind, int64_t at_us);
/* POSTs one report for heartbeat name; err says why unless HB_SENT. */
enum hb_outcome hb_send(struct client *cl, const char *name, json_t *report,
    char *err, size_t errlen);
/*
 * Keeps report (not stolen) in state_dir/heartbeats/ until it is sent; at
 * most max reports are kept (the oldest dropped). 0 or -1 (err).
 */
int hb_spool_add(const char *state_dir, const char *name, json_t *report, long long max,
    char *err, size_t errlen);
/*
 * Sends up to max_send spooled reports, oldest first, removing each the
 * server stored or refused for good; stops at the first it did not take
 * now (*away set), and starts no new request after max_ms (-1: no limit),
 * so a slow server delays a cron job by a bounded time. Returns how many
 * were stored.
 */
size_t hb_spool_flush(struct client *cl, const char *state_dir, size_t max_send,
    int64_t max_ms, int *away);
/* Makes state_dir/sub (0700, owned like state_dir) and its path in out. 0 or -1. */
int hb_subdir(const char *state_dir, const char *sub, char *out, size_t size,
    char *err, size_t errlen);

/* wrap.c: custos-agentd --wrap NAME -- CMD ARGS... */
#define WRAP_NAME_MAX 200        /* bytes of a check's name, as the server allows */
#define WRAP_EXIT_USAGE 2        /* bad options: nothing was run */
#define WRAP_EXIT_LOCKED 75      /* --lock: a previous run holds the lock (EX_TEMPFAIL) */
#define WRAP_EXIT_TIMEOUT 124    /* --timeout expired, as timeout(1) */
#define WRAP_EXIT_FAILED 125     /* the command could not be started (fork failed) */
#define WRAP_EXIT_NOEXEC 126     /* found but not executable, as a shell */
#define WRAP_EXIT_NOTFOUND 127   /* not found, as a shell */

/*
 * The last bytes of a command's output (stdout and stderr, as they came):
 * a ring of HB_OUTPUT_MAX bytes, so a command that prints gigabytes costs
 * no more memory than one that prints a line.
 */
struct tail {
	char buf[HB_OUTPUT_MAX];
	size_t start, len;               /* the kept bytes: buf[start..] wrapping */
	unsigned long long total;        /* bytes seen */
};
void tail_add(struct tail *t, const char *p, size_t n);
/*
 * The kept output as valid UTF-8 text (a heap string, caller frees; NULL
 * when out of memory) of at most max bytes, note (may be NULL) appended:
 * invalid bytes become U+FFFD, NULs spaces, and when the front had to go
 * the text starts at a character boundary with a line saying how much
 * output there was.
 */
char *tail_text(const struct tail *t, const char *note, size_t max);

struct wrap_opts {
	const char *name;        /* the heartbeat check's name */
	char **argv;             /* the command, NULL-terminated */
	long long timeout_s;     /* 0: none */
	int lock;                /* --lock */
};
/*
 * Runs the command and reports it; returns the exit status to exit with.
 * reporting is 0 when the configuration could not be read: the command
 * still runs (the job matters more than its report), unreported.
 */
int agent_wrap(struct agent *a, int reporting, const struct wrap_opts *o);

/* run.c */
struct agent_check {
	struct check_def def;      /* valid unless bad */
	long long id;
	char *bad;                 /* why the definition was refused, or NULL */
};

struct agent {
	struct agent_conf cf;
	struct client cl;
	int have_client;
	struct check_env env;
	struct agent_check *checks;
	size_t nchecks;
	int have_checks;           /* a list was loaded (possibly empty) */
	char etag[128];            /* revision of checks, as the server sent it */
	long long interval_s;      /* from the server */
	char facts_hash[65];       /* of the facts last delivered */
	char rid_prefix[17];       /* result_id = prefix-seq */
	unsigned long long seq;
	int once;                  /* --once: samples and cache live in state_dir */
	int self_ok;               /* token verified in this process */
	int described;             /* labels and facts went with a download (POST) */
	int old_server;            /* it knows no POST .../checks: GET only */
};

void agent_init(struct agent *a);
void agent_free(struct agent *a);
/* (Re)creates the HTTP client from a->cf. 0 or -1 (logged). */
int agent_connect(struct agent *a);
/* Copies what the checks need of a->cf into a->env (agent_connect(),
 * agent_run_checks() and --test call it): the one place a key reaches the
 * check library. */
void agent_apply_env(struct agent *a);
/* Loads the cached check list from state_dir (best effort). */
void agent_load_cache(struct agent *a);
/*
 * One cycle. Returns 0 when the results were delivered or spooled, -1
 * otherwise (logged with the reason).
 */
int agent_cycle(struct agent *a);
/* Replaces the check list from a JSON array; logs refused entries. */
int agent_set_checks(struct agent *a, json_t *arr, char *err, size_t errlen);
void agent_clear_checks(struct agent *a);
/*
 * One result as the JSON object posted to the server (new reference, NULL
 * only when out of memory). Text from the host that is not valid UTF-8 is
 * repaired (bad bytes become U+FFFD), never a reason to drop the result.
 */
json_t *result_json(struct agent *a, long long check_id, const struct check_result *r,
    int64_t observed_us, int with_ids);
/* Runs the checks once; results as JSON objects into out (an array). */
void agent_run_checks(struct agent *a, json_t *out, int with_ids);

#endif
