/*
 * cli.h - what the parts of custos(1) offer each other. The layout is
 * described at the top of main.c; each section below names its file.
 */
#ifndef CUSTOS_CLI_H
#define CUSTOS_CLI_H

#include <jansson.h>

#include "httpc.h"

#define EXIT_REFUSED 1          /* the request was refused or failed */
#define EXIT_USAGE 2            /* a usage error: nothing was sent */
#define BODY_MAX (64 << 20)     /* an answer larger than this is an error */
#define HTTP_TOTAL_MS 60000     /* a request's time limit (connecting included) */
#define OUT_WIDTH 60            /* output column, in bytes, in tables */

/* ---- main.c: options, the command table, usage ---------------------------- */

/* Every option of every command; which command takes which is its row's opts. */
enum cli_opt_id {
	O_JSON,                 /* --json (every command) */
	O_CA_FILE,              /* --ca-file FILE (every command) */
	O_FOLLOW,               /* -f, --follow */
	O_MESSAGE,              /* -m, --message, --comment TEXT */
	O_EXPIRES,              /* --expires DURATION */
	O_FOR,                  /* --for DURATION */
	O_LIMIT,                /* -n N */
	O_START,                /* --start TIME */
	O_END,                  /* --end TIME */
	O_CANCEL,               /* --cancel ID */
	O_ACTIVE,               /* --active */
	O_NAME,                 /* --name NEW (a rename) */
	O_INTERVAL,             /* --interval SECONDS */
	O_CONTACTS,             /* --contacts NAME,... */
	O_TYPE,                 /* --type TYPE */
	O_PARAM,                /* --param KEY=VALUE, again and again */
	O_WARNING,              /* --warning RANGE */
	O_CRITICAL,             /* --critical RANGE */
	O_ATTEMPTS,             /* --attempts N */
	O_ENABLE,               /* --enable */
	O_DISABLE,              /* --disable */
	O_EMAIL,                /* --email ADDRESS */
	O_PUSHOVER_USER,        /* --pushover-user KEY */
	O_PUSHOVER_DEVICE,      /* --pushover-device NAME */
	O_WEBHOOK_URL,          /* --webhook-url URL */
	O_NOTIFY_ON,            /* --notify-on KIND,... */
	O_ROLE,                 /* --role ROLE */
	O_TZ,                   /* --tz ZONE */
	O_PASSWORD_STDIN,       /* --password-stdin */
	O_NO_PASSWORD,          /* --no-password */
	O_SINCE,                /* --since DURATION|TIME (backtest) */
	O_LABELS,               /* --labels k=v,... (agents, checks) */
	O_SELECTOR,             /* --selector SELECTOR (agents and checks lists) */
	O_FILE,                 /* -f, --file PATH, again and again (apply, diff; -f is
	                         * --follow elsewhere) */
	O_DRY_RUN,              /* --dry-run (apply) */
	O_PRUNE,                /* --prune (apply, diff) */
	O_EXPECT,               /* --expect VERSION (apply, diff) */
	O_DIR,                  /* --dir DIR (export) */
	O_MEMBERS,              /* --members USER,... (rotations) */
	O_SHIFT,                /* --shift day|week|hours:N */
	O_HANDOFF,              /* --handoff HH:MM */
	O_HANDOFF_DAY,          /* --handoff-day DAY */
	O_FIRST_DAY,            /* --first-day YYYY-MM-DD */
	O_AT,                   /* --at TIME (oncall) */
	O_QUIET,                /* --quiet-hours "WINDOW;..." (users) */
	O_WEEKLY,               /* --weekly "DAYS HH:MM-HH:MM" (a recurring downtime) */
	O_PARENTS,              /* --parents AGENT/CHECK,... (agents, checks) */
	O_MATCH,                /* --match SELECTOR (policies) */
	O_STEP,                 /* --step STEP|JSON, again and again (policies; into params) */
	O_CONTINUE,             /* --continue yes|no (policies) */
	O_REPEAT,               /* --repeat SECONDS (policies; 0: never) */
	O_URGENT,               /* --urgent STATUS (policies) */
	O_POSITION,             /* --position N (policies) */
	O_COUNT
};
_Static_assert(O_COUNT <= 64, "struct cli_cmd's opts holds one bit an option");
#define OPT(id) (1ull << (id))

/*
 * A command line once parsed: the words after the command's name (and
 * verb), and the options given. val[id] is NULL when option id was not
 * given ("" for a flag); num[id] is a DURATION's seconds, a TIME
 * ("now", RFC 3339, or +DURATION from now) or N, checked against the
 * option's range before the command runs.
 */
#define MAX_PARAMS 32
#define MAX_FILES 64
struct cli_args {
	int argc;
	char **argv;
	const char *val[O_COUNT];
	long long num[O_COUNT];         /* a TIME is in microseconds since the epoch */
	const char *params[MAX_PARAMS]; /* every --param (or --step), in order (the repeated ones) */
	int nparams;
	const char *files[MAX_FILES];   /* every -f PATH of apply and diff, in order */
	int nfiles;
	const struct cli_cmd *cmd;      /* the row of cli_cmds[] being run */
};

/*
 * One row per command. name (and verb, when the command has several) is
 * what the user types; args and usage are its line of `custos help`;
 * min_args..max_args words may follow; opts are the options it takes
 * beyond --json and --ca-file. fn checks what it can without the server
 * before its first request (a usage error sends nothing) and returns the
 * exit status.
 */
struct cli_cmd {
	const char *name;
	const char *verb;       /* NULL: the command itself */
	const char *args;       /* as `custos help` shows them */
	const char *usage;      /* one line, what it does */
	int min_args, max_args;
	unsigned long long opts;        /* OPT(O_...) | ... */
	int (*fn)(const struct cli_args *);
};

extern const struct cli_cmd cli_cmds[];

/* Prints "custos: FMT" (when fmt) and the usage to stderr; EXIT_USAGE. */
int usage(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* ---- http.c: HTTP, on lib/httpc.h's client ------------------------------------ */

/*
 * The configuration (cli.conf, CUSTOS_URL, CUSTOS_TOKEN, CUSTOS_CA_FILE,
 * and ca, --ca-file's value, borrowed until http_close()) is read at the
 * first request, not before: a command checks its words first, and a
 * usage error needs no configuration and sends nothing.
 */
void http_init(const char *ca);
void http_close(void);          /* frees it all; the token is wiped */

/*
 * One request. body (borrowed) is sent as JSON when not NULL. On a 2xx
 * answer returns 0 and *out (owned by the caller; NULL for an empty body),
 * its strings made harmless for a terminal unless --json. Otherwise prints
 * why and returns EXIT_REFUSED, or EXIT_USAGE when the configuration is
 * missing or refused.
 */
int http_request(const char *method, const char *path, json_t *body, json_t **out);
/*
 * The same, but a refused request's JSON answer is kept for the caller
 * (*out, not printed) with its *status, and the whole exchange may take
 * timeout_s (POST /api/v1/config of a fleet takes longer than a minute on
 * a loaded server). Returns 0 on 2xx, else EXIT_REFUSED (or EXIT_USAGE);
 * *out may be NULL when the answer was not JSON (then it was printed).
 */
int http_request_full(const char *method, const char *path, json_t *body, long timeout_s,
    json_t **out, long *status);
/* GETs every page of a list into one array (*items, the caller's); as above. */
/* path plus "?selector=" (or "&...") with sel URL-encoded, into out; -1 when it does not fit */
int with_selector(const char *path, const char *sel, char *out, size_t len);
int http_get_all(const char *path, json_t **items);

/*
 * Names to ids, through the lists (the API takes ids): 0 and *id, or an
 * exit status after saying why ("no agent named ..."). check_id takes
 * AGENT and CHECK apart (see split_check()) and sets *aid too.
 */
int agent_id(const char *name, long long *id);
/*
 * The id of the object of list path (e.g. "/api/v1/contacts") named word,
 * or, when none is, whose id word is (all digits): 0, or an exit status
 * after saying "no WHAT named ...".
 */
int object_id(const char *path, const char *what, const char *word, long long *id);
int check_id(const char *agent, const char *check, long long *aid, long long *id);
/* AGENT/CHECK into agent (a copy) and *check (in spec); -1 when it is not that. */
int split_check(const char *spec, char agent[256], const char **check);

/*
 * A client (lib/httpc.h, with options o: the CA file is filled in) for
 * base_url + path, with the token and "Accept: accept" on every request;
 * *url (the caller's to free) is the whole URL. The configuration is read
 * first (http_request()). 0, or the exit status after saying why; the
 * caller frees h with httpc_free() after a 0.
 */
int http_client(struct httpc *h, struct httpc_opts *o, const char *accept,
    const char *path, char **url);
const char *http_shown_url(void);       /* the URL without user:password@ */

/*
 * Follows /api/v1/stream from event since (Last-Event-ID), printing each
 * event with print_event(), reconnecting until killed or refused (the
 * exit status). follow.c, on http.c's configuration.
 */
int http_follow(long long since);

/* ---- print.c: tables, escapes, --json ------------------------------------------ */

extern int opt_json;            /* --json: the API's JSON, not tables */
extern int colour;              /* colour in tables (a terminal, no NO_COLOR) */

/*
 * s made harmless for a terminal, appended to b: C0 controls (but a
 * newline when keep_nl), DEL, C1 controls and the bidirectional overrides
 * become visible escapes.
 */
struct buf;
void tty_clean(struct buf *b, const char *s, int keep_nl);
/* Every string of j (in place) through tty_clean(); "output" keeps its newlines. */
void json_tty_clean(json_t *j, const char *key);

void print_json(json_t *j);
/* j as JSON with --json, else msg; consumes j; 0. */
int print_done(json_t *j, const char *msg);
/* A column's width: its widest cell, at least heading, at most 48. */
int col_width(size_t w, size_t heading);
void print_problems(json_t *problems);
/* One "key  value" line per member; a nested object's as "key.member". */
void print_object(json_t *o);
void print_event(json_t *e);    /* one line (one JSON object with --json), flushed */
/*
 * A list command: every page of path (http_get_all()), as JSON with
 * --json, else rows() prints its table (header and rows; items borrowed).
 * 0 or the request's exit status.
 */
int print_list(const char *path, void (*rows)(json_t *items));

const char *col(const char *status);    /* the colour of a status ("" without) */
const char *reset(void);
const char *ago(const char *rfc3339, char out[32]);     /* "3 h 12 min", "-" */
const char *first_line(const char *s, char out[OUT_WIDTH + 8]);
const char *jstr(json_t *o, const char *key, const char *dflt);

/* ---- commands.c: one function per row of the table ---------------------------- */

int cmd_status(const struct cli_args *a);
int cmd_problems(const struct cli_args *a);
int cmd_agents(const struct cli_args *a);
int cmd_checks(const struct cli_args *a);
int cmd_history(const struct cli_args *a);
int cmd_ack(const struct cli_args *a);
int cmd_unack(const struct cli_args *a);
int cmd_downtime(const struct cli_args *a);
int cmd_events(const struct cli_args *a);
int cmd_why(const struct cli_args *a);
int cmd_tokens(const struct cli_args *a);
int cmd_tokens_create(const struct cli_args *a);
int cmd_tokens_revoke(const struct cli_args *a);
int cmd_backtest(const struct cli_args *a);
int cmd_templates(const struct cli_args *a);
int cmd_templates_create(const struct cli_args *a);
int cmd_templates_edit(const struct cli_args *a);
int cmd_rotations(const struct cli_args *a);
int cmd_rotations_create(const struct cli_args *a);
int cmd_rotations_edit(const struct cli_args *a);
int cmd_rotations_override(const struct cli_args *a);
int cmd_oncall(const struct cli_args *a);

/* ---- policies.c: notification policies ---------------------------------------------- */

int cmd_policies(const struct cli_args *a);
int cmd_policies_show(const struct cli_args *a);
int cmd_policies_create(const struct cli_args *a);
int cmd_policies_edit(const struct cli_args *a);

/* ---- config.c: monitoring as code (files, plans, export) ------------------------- */

int cmd_apply(const struct cli_args *a);
int cmd_diff(const struct cli_args *a);
int cmd_export(const struct cli_args *a);

/* ---- objects.c: show, create, edit, delete of each object ---------------------- */

/*
 * The objects the commands name. An agent, check, contact or user is found
 * by name through its list (the API takes its id); a rotation, template or
 * policy is named in its path (the name checked against the API's rule
 * first, a usage error otherwise).
 */
enum named { N_AGENT, N_CHECK, N_CONTACT, N_USER, N_ROTATION, N_TEMPLATE, N_POLICY };
/*
 * The path of the object of kind k named word; verb ("edit") leads a
 * usage message. 0 or an exit status.
 */
int named_path(enum named k, const char *verb, const char *word, char *path, size_t len);
/* GET it and print it (key/value lines, or --json). */
int show_named(enum named k, const char *word);
/*
 * POST body (borrowed) to kind k's list; prints "WHAT WORD created" (and
 * "(id N)" for the kinds found by id).
 */
int create_named(enum named k, const char *word, json_t *body);
/* PATCH body (borrowed) to path, or to the object named word; prints "WHAT WORD changed". */
int patch_path(const char *path, json_t *body, enum named k, const char *word);
int patch_named(enum named k, const char *word, json_t *body);
/* DELETE the object named word; prints "WHAT WORD deleted" and what went with it. */
int delete_named(enum named k, const char *word);
/*
 * show and delete of the object a command names (agents, checks, contacts,
 * users, templates, rotations; policies delete): one function each for
 * every such row of main.c's table, the kind taken from the row's name.
 */
int cmd_show(const struct cli_args *a);
int cmd_delete(const struct cli_args *a);
/*
 * An option given becomes a member of a create's or an edit's body, one
 * row a member: M_STRING its text, M_CLEARABLE its text or null for ""
 * (clears the member), M_NUMBER its parsed number (a->num), M_CSV "a,b"
 * as ["a","b"]. opt_members() sets the given ones of list (ended by a row
 * with member NULL) into body; what needs more (checks, a reply) stays in
 * each *_body().
 */
enum member_kind { M_STRING, M_CLEARABLE, M_NUMBER, M_CSV };
struct opt_member {
	enum cli_opt_id opt;
	const char *member;
	enum member_kind kind;
};
void opt_members(const struct cli_args *a, const struct opt_member *list, json_t *body);

/* --labels k=v,... as the API's labels object into body; 0 or EXIT_USAGE */
int labels_member(const char *text, json_t *body);
/* --parents a/b,c/d as the API's "parents" list ("" clears); 0 or an exit status. */
int parents_member(const char *text, json_t *body);

int cmd_agents_create(const struct cli_args *a);
int cmd_agents_token(const struct cli_args *a);
int cmd_agents_edit(const struct cli_args *a);
int cmd_checks_create(const struct cli_args *a);
int cmd_checks_edit(const struct cli_args *a);
int cmd_contacts(const struct cli_args *a);
int cmd_contacts_create(const struct cli_args *a);
int cmd_contacts_edit(const struct cli_args *a);
int cmd_downtimes(const struct cli_args *a);
int cmd_downtimes_show(const struct cli_args *a);
int cmd_downtimes_delete(const struct cli_args *a);
int cmd_tokens_show(const struct cli_args *a);
int cmd_users(const struct cli_args *a);
int cmd_users_create(const struct cli_args *a);
int cmd_users_edit(const struct cli_args *a);

#endif
