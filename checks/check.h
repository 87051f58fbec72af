/*
 * check.h - the check library: what the agent runs and the server validates.
 *
 * A check type is one file in checks/ that registers a struct check_type in
 * the table in registry.c: its name, a parse_params() that turns the JSON
 * params into a private struct (and is all the server needs, through
 * check_validate()), and a run() that measures. check_run() wraps run(): it
 * times the check on the monotonic clock, evaluates the Nagios warning and
 * critical ranges against the value, and writes the one-line output
 * ("LOAD OK - 1.32 (warn 5, crit 10)") and the perfdata.
 *
 * Nothing here keeps global state: whatever must live between runs (the
 * previous CPU and network samples, the /proc scan shared by every process
 * check of a run) hangs off a struct check_env the caller owns, so serverd
 * can link libchecks.a for validation alone.
 */
#ifndef CUSTOS_CHECK_H
#define CUSTOS_CHECK_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>
#include <jansson.h>

#include "buf.h"
#include "range.h"

enum check_status {
	CHECK_OK = 0,
	CHECK_WARNING = 1,
	CHECK_CRITICAL = 2,
	CHECK_UNKNOWN = 3,
};
#define CHECK_STATUS_COUNT 4

/*
 * "OK", "WARNING", "CRITICAL", "UNKNOWN"; "UNKNOWN" for anything else. The
 * one table of status names in C (checks/check.c), used by the agent, the
 * notifications, /status, /metrics and the backtest. PostgreSQL, which
 * writes the check objects of the API, has its mirror in status_name()
 * (sql/functions/status_name.sql); tests/e2e/test_face_status.py holds the
 * two equal.
 */
const char *check_status_name(int status);
/* the name a check without any result yet (check_state.status NULL) is
 * counted under in /status and /metrics */
#define CHECK_PENDING_NAME "PENDING"

struct check_result {
	enum check_status status;
	int has_value;         /* 0: value is null on the wire */
	double value;
	char *output;          /* one line, heap, owned by the result; never NULL after check_run */
	char *perfdata;        /* heap or NULL */
	int64_t duration_ms;
};
/* Frees output and perfdata; accepts a zeroed result. */
void check_result_free(struct check_result *r);

struct proc_table;      /* proc.h: one /proc scan */
struct sample_store;    /* samples.h: previous counter samples */

/*
 * Everything a run may need from its host. Fill with check_env_init(), then
 * set what differs. Strings are borrowed: they must outlive the env.
 */
struct check_env {
	const char *proc_root;    /* "/proc"; tests point it at a fixture tree */
	const char *plugin_dir;   /* where plugin checks find their executables */
	const char *state_dir;    /* log offsets, samples for --once; NULL: none */
	const char *ca_file;      /* extra CA for http checks; NULL: system store */
	const char *log_dirs;     /* where log checks may read (hostfile.h); NULL: anywhere */
	int timeout_ms;           /* default timeout of tcp, http and plugin checks,
	                           * and the time limit of every other check */
	int kill_grace_ms;        /* plugin: SIGTERM, then SIGKILL after this */
	int first_sample_ms;      /* cpu/net: window of the very first sample */
	pid_t self_pid;           /* never counted by process checks (0: none) */
	/* per run; check_env_end_run() frees */
	struct proc_table *procs; /* built by the first process check of a run */
	int64_t deadline_us;      /* set by check_run(): when the running check must end
	                           * (monotonic); 0 outside check_run() */
	int want_cmdline;         /* set by check_env_begin_run() */
	int want_uid;
	/* the time-limit timer (check.c), created by the first check_run() */
	int have_timer;
	timer_t timer;
	/* across runs; owned, freed by check_env_free() */
	struct sample_store *samples;
};

void check_env_init(struct check_env *env);
/* Frees the per-run scan and the sample store. */
void check_env_free(struct check_env *env);

/* A check definition as the server sends it (or a --local file holds it). */
struct check_def {
	long long id;                  /* 0 in local/test mode */
	char *name;                    /* heap */
	const struct check_type *type;
	void *params;                  /* the type's own struct, owned */
	char *warning, *critical;      /* range text as given, heap or NULL */
	struct nrange warn, crit;
	int has_warn, has_crit;
};

/*
 * Fills d from a check object {"id", "name", "type", "params", "warning",
 * "critical", ...} (other members ignored). Returns 0, or -1 with err and
 * *field naming the member at fault; d is then empty (nothing to free).
 */
int check_def_from_json(json_t *obj, struct check_def *d, char *err,
    size_t errlen, const char **field);
void check_def_free(struct check_def *d);

/*
 * Validates a check type and its params without touching the host (the
 * server's half of the contract). Returns 0, or -1 with a message in err
 * and *field set to the offending member: "type" for an unknown type, else
 * the param's name ("params" when params is not an object). params may be
 * NULL (same as {}). Pure: no /proc, no files, no network.
 */
int check_validate(const char *type, json_t *params, char *err, size_t errlen,
    const char **field);

/*
 * Prepares env for one run over defs (so a single /proc scan can serve all
 * process checks), runs nothing.
 */
void check_env_begin_run(struct check_env *env, struct check_def *const *defs, size_t n);
/* Drops what only one run needed (the /proc scan). */
void check_env_end_run(struct check_env *env);

/*
 * Runs one check; res is overwritten (free it with check_result_free()).
 * Every check has a time limit (its type's time_limit_ms, else
 * env->timeout_ms): a POSIX timer sends SIGALRM to the calling thread at
 * the limit (the handler, installed at the first run, does nothing but
 * interrupt a blocking call with EINTR), and a check that returns after its limit is UNKNOWN with
 * the reason, whatever it measured. A system call the kernel will not
 * interrupt (a hard NFS mount in D state) cannot be cut short this way.
 */
void check_run(const struct check_def *d, struct check_env *env,
    struct check_result *res);

/* ---- for check type implementations -------------------------------------- */

#define CHECK_DETAIL_MAX 1024   /* cap of the human text */
#define CHECK_PERF_MAX 8192     /* cap of the perfdata text */

/* What a type's run() reports; check_run() turns it into a result. */
struct check_out {
	const char *label;     /* "LOAD": start of the output line */
	int forced;            /* status decided by the check, not the thresholds */
	enum check_status status;
	int has_value;
	double value;
	int decimals;          /* digits after the point in output and perfdata */
	struct buf detail;     /* text after "LABEL STATUS - " */
	int raw_output;        /* detail is the whole output line (plugins) */
	const char *perf_label;/* NULL: no perfdata from the value */
	const char *uom;       /* "" or "%", "ms", "B", ... */
	int has_min, has_max;
	double min, max;
	struct buf perf;       /* raw perfdata (plugins) */
};

/* Sets a decided status and its text (an error, a refused connection). */
void check_fail(struct check_out *o, enum check_status st, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void check_detail(struct check_out *o, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void check_set_value(struct check_out *o, double v, int decimals);

struct check_type {
	const char *name;
	/*
	 * Builds the private params struct into *out (owned by the caller,
	 * released with free_params). params is never NULL (an empty object
	 * when absent). 0, or -1 with err and *field.
	 */
	int (*parse_params)(json_t *params, void **out, char *err, size_t errlen,
	    const char **field);
	void (*free_params)(void *p);
	void (*run)(const void *p, struct check_env *env, struct check_out *o);
	/* optional: what this check needs from the shared per-run state */
	void (*prepare)(const void *p, struct check_env *env);
	const char *default_critical;   /* used when neither range is set */
	int ignore_thresholds;          /* status comes from elsewhere (plugin) */
	/*
	 * max_attempts of a new check that does not say (0: CHECK_MAX_ATTEMPTS_DEFAULT).
	 * log is 1: the lines it counts are gone by the next run, so a
	 * "sustained for 3 runs" rule would never alert (docs/plugins.md).
	 */
	int default_max_attempts;
	/*
	 * optional: the time limit of a check that has its own timeout (tcp,
	 * http, plugin); others get env->timeout_ms.
	 */
	int (*time_limit_ms)(const void *p, const struct check_env *env);
};

#define CHECK_LIMIT_SLACK_MS 1000   /* time limit after a check's own timeout */

#define CHECK_MAX_ATTEMPTS_DEFAULT 3

/* The default max_attempts of a type; CHECK_MAX_ATTEMPTS_DEFAULT when unknown. */
int check_default_max_attempts(const char *type);

/* NULL when unknown. */
const struct check_type *check_type_find(const char *name);
/* The registry, NULL-terminated (registry.c). */
extern const struct check_type *const check_types[];

#endif
