/*
 * main.c - custos(1), the operator's command line: a thin client of the
 * REST API (libcurl + jansson) that names checks AGENT/CHECK and agents
 * by their name, prints tables for people or, with --json, the API's own
 * JSON for scripts.
 *
 * The layout, one concern per file (their contracts are in cli.h):
 *   main.c      the option table, the command table, the usage (generated
 *               from both: `custos help` and --help), and the dispatch
 *   commands.c  the operator's commands (status, problems, history, events,
 *               why, ack, downtime, the lists of agents, checks and tokens)
 *   objects.c   show, create, edit and delete of agents, checks, contacts,
 *               users, downtimes, tokens, templates and rotations (names
 *               resolved to ids), over one table of named objects
 *   policies.c  the notification policies' commands
 *   http.c      HTTP, on lib/httpc.h: cli.conf and the environment, the
 *               URL's scheme check, the CA file, the token, requests,
 *               whole lists, names resolved to ids through the lists
 *   print.c     the tables, --json, and the escaping of what the server
 *               sent (control characters never reach the terminal)
 *   follow.c    `events -f`: the live stream, reconnecting
 *
 * A command is one row of cli_cmds[] below plus one function (declared in
 * cli.h): its row says how many words it takes and which options, so a
 * wrong count or an option it does not take is refused here, before
 * anything is read or sent, and its lines of the usage come from the row.
 * A new option is one enum value (cli.h) and one row of cli_opts[]; the
 * function finds it, checked and parsed, in its struct cli_args.
 *
 * Exit status: 0 success, 1 the request was refused or failed (the API's
 * error is printed), 2 a usage error (nothing was sent). See custos(1).
 */
#include "config.h"
#include "cli.h"
#include "strnum.h"
#include "timeutil.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_WORDS 64
#define HELP_COL 30             /* the usage's first column, in bytes */

static int cmd_help(const struct cli_args *a);

/* ---- the options --------------------------------------------------------------- */

enum opt_kind { V_FLAG, V_TEXT, V_DURATION, V_NUMBER, V_TIME, V_PARAM, V_FILE, V_LIST };

struct cli_opt {
	enum cli_opt_id id;
	const char *name, *alias;       /* alias: NULL or a second spelling */
	const char *value;              /* how the usage names its value; NULL for a flag */
	enum opt_kind kind;
	long long min, max;             /* V_NUMBER's range */
};

/* An option may have two rows (two spellings beyond name and alias): one id. */
static const struct cli_opt cli_opts[] = {
	{ O_JSON,     "--json",       NULL,        NULL,       V_FLAG,     0, 0 },
	{ O_CA_FILE,  "--ca-file",    NULL,        "FILE",     V_TEXT,     0, 0 },
	{ O_FOLLOW,   "-f",           "--follow",  NULL,       V_FLAG,     0, 0 },
	{ O_MESSAGE,  "-m",           "--message", "TEXT",     V_TEXT,     0, 0 },
	{ O_MESSAGE,  "--comment",    NULL,        "TEXT",     V_TEXT,     0, 0 },
	{ O_EXPIRES,  "--expires",    NULL,        "DURATION", V_DURATION, 0, 0 },
	{ O_FOR,      "--for",        NULL,        "DURATION", V_DURATION, 0, 0 },
	{ O_LIMIT,    "-n",           NULL,        "N",        V_NUMBER,   1, 1000 },
	{ O_START,    "--start",      NULL,        "TIME",     V_TIME,     0, 0 },
	{ O_END,      "--end",        NULL,        "TIME",     V_TIME,     0, 0 },
	{ O_CANCEL,   "--cancel",     NULL,        "ID",       V_NUMBER,   1, INT64_MAX },
	{ O_ACTIVE,   "--active",     NULL,        NULL,       V_FLAG,     0, 0 },
	{ O_NAME,     "--name",       NULL,        "NEW",      V_TEXT,     0, 0 },
	{ O_INTERVAL, "--interval",   NULL,        "SECONDS",  V_NUMBER,   5, 86400 },
	{ O_CONTACTS, "--contacts",   NULL,        "NAME,...", V_TEXT,     0, 0 },
	{ O_TYPE,     "--type",       NULL,        "TYPE",     V_TEXT,     0, 0 },
	{ O_PARAM,    "--param",      "-p",        "KEY=VALUE", V_PARAM,   0, 0 },
	{ O_WARNING,  "--warning",    NULL,        "RANGE",    V_TEXT,     0, 0 },
	{ O_CRITICAL, "--critical",   NULL,        "RANGE",    V_TEXT,     0, 0 },
	{ O_ATTEMPTS, "--attempts",   NULL,        "N",        V_NUMBER,   1, 100 },
	{ O_ATTEMPTS, "--max-attempts", NULL,      "N",        V_NUMBER,   1, 100 },
	{ O_ENABLE,   "--enable",     NULL,        NULL,       V_FLAG,     0, 0 },
	{ O_DISABLE,  "--disable",    NULL,        NULL,       V_FLAG,     0, 0 },
	{ O_EMAIL,    "--email",      NULL,        "ADDRESS",  V_TEXT,     0, 0 },
	{ O_PUSHOVER_USER, "--pushover-user", NULL, "KEY",     V_TEXT,     0, 0 },
	{ O_PUSHOVER_DEVICE, "--pushover-device", NULL, "NAME", V_TEXT,    0, 0 },
	{ O_WEBHOOK_URL, "--webhook-url", NULL,    "URL",      V_TEXT,     0, 0 },
	{ O_NOTIFY_ON, "--notify-on", NULL,        "KIND,...", V_TEXT,     0, 0 },
	{ O_ROLE,     "--role",       NULL,        "ROLE",     V_TEXT,     0, 0 },
	{ O_TZ,       "--tz",         NULL,        "ZONE",     V_TEXT,     0, 0 },
	{ O_PASSWORD_STDIN, "--password-stdin", NULL, NULL,    V_FLAG,     0, 0 },
	{ O_NO_PASSWORD, "--no-password", NULL,    NULL,       V_FLAG,     0, 0 },
	{ O_SINCE,    "--since",      NULL,        "30d",      V_TEXT,     0, 0 },
	{ O_LABELS,   "--labels",     NULL,        "K=V,...",  V_TEXT,     0, 0 },
	{ O_SELECTOR, "--selector",   "-l",        "SELECTOR", V_TEXT,     0, 0 },
	/* -f is --follow but for apply, diff and templates (main() tells them apart) */
	{ O_FILE,     "--file",       NULL,        "PATH",     V_FILE,     0, 0 },
	{ O_DRY_RUN,  "--dry-run",    NULL,        NULL,       V_FLAG,     0, 0 },
	{ O_PRUNE,    "--prune",      NULL,        NULL,       V_FLAG,     0, 0 },
	{ O_EXPECT,   "--expect",     NULL,        "VERSION",  V_NUMBER,   0, INT64_MAX },
	{ O_DIR,      "--dir",        NULL,        "DIR",      V_TEXT,     0, 0 },
	{ O_MEMBERS,  "--members",    NULL,        "USER,...", V_TEXT,     0, 0 },
	{ O_SHIFT,    "--shift",      NULL,        "day|week|hours:N", V_TEXT, 0, 0 },
	{ O_HANDOFF,  "--handoff",    NULL,        "HH:MM",    V_TEXT,     0, 0 },
	{ O_HANDOFF_DAY, "--handoff-day", NULL,    "DAY",      V_TEXT,     0, 0 },
	{ O_FIRST_DAY, "--first-day", NULL,        "YYYY-MM-DD", V_TEXT,   0, 0 },
	{ O_AT,       "--at",         NULL,        "TIME",     V_TIME,     0, 0 },
	{ O_QUIET,    "--quiet-hours", NULL,       "WINDOW;...", V_TEXT,   0, 0 },
	{ O_WEEKLY,   "--weekly",     "--recurring", "\"DAYS HH:MM-HH:MM\"", V_TEXT, 0, 0 },
	{ O_PARENTS,  "--parents",    NULL,        "AGENT/CHECK,...", V_TEXT, 0, 0 },
	{ O_MATCH,    "--match",      NULL,        "SELECTOR", V_TEXT,     0, 0 },
	{ O_STEP,     "--step",       NULL,        "STEP",     V_LIST,     0, 0 },
	{ O_CONTINUE, "--continue",   NULL,        "yes|no",   V_TEXT,     0, 0 },
	{ O_REPEAT,   "--repeat",     NULL,        "SECONDS",  V_NUMBER,   0, 604800 },
	{ O_URGENT,   "--urgent",     NULL,        "STATUS",   V_TEXT,     0, 0 },
	{ O_POSITION, "--position",   NULL,        "N",        V_NUMBER,   0, 1000000 },
};
#define N_OPTS (sizeof(cli_opts) / sizeof(cli_opts[0]))
#define OPTS_ALL (OPT(O_JSON) | OPT(O_CA_FILE))   /* taken by every command */

/* ---- the commands ---------------------------------------------------------------- */

#define AGENT_OPTS (OPT(O_INTERVAL) | OPT(O_CONTACTS) | OPT(O_LABELS) | OPT(O_PARENTS))
#define CHECK_OPTS (OPT(O_TYPE) | OPT(O_PARAM) | OPT(O_WARNING) | OPT(O_CRITICAL) | \
	OPT(O_ATTEMPTS) | OPT(O_CONTACTS) | OPT(O_ENABLE) | OPT(O_DISABLE) | OPT(O_LABELS) | \
	OPT(O_PARENTS))
#define CONTACT_OPTS (OPT(O_EMAIL) | OPT(O_PUSHOVER_USER) | OPT(O_PUSHOVER_DEVICE) | \
	OPT(O_WEBHOOK_URL) | OPT(O_NOTIFY_ON))
#define USER_OPTS (OPT(O_EMAIL) | OPT(O_PUSHOVER_USER) | OPT(O_ROLE) | OPT(O_TZ) | \
	OPT(O_PASSWORD_STDIN) | OPT(O_QUIET))
#define ROTATION_OPTS (OPT(O_MEMBERS) | OPT(O_SHIFT) | OPT(O_HANDOFF) | OPT(O_HANDOFF_DAY) | \
	OPT(O_TZ) | OPT(O_FIRST_DAY))
#define POLICY_OPTS (OPT(O_MATCH) | OPT(O_STEP) | OPT(O_CONTINUE) | OPT(O_REPEAT) | \
	OPT(O_URGENT) | OPT(O_POSITION))
#define DOWNTIME_OPTS (OPT(O_FOR) | OPT(O_START) | OPT(O_END) | OPT(O_MESSAGE) | \
	OPT(O_WEEKLY) | OPT(O_TZ))

const struct cli_cmd cli_cmds[] = {
	/* name       verb      args (as the usage shows them)
	 *                      usage                                  words  options */
	{ "status",   NULL,     "",
	                        "counts and current problems",         0, 0, 0, cmd_status },
	{ "problems", NULL,     "",
	                        "current problems, worst first",       0, 0, 0, cmd_problems },
	{ "history",  NULL,     "AGENT/CHECK [-n N]",
	                        "the newest results of a check",       1, 1, OPT(O_LIMIT), cmd_history },
	{ "events",   NULL,     "[-f]",
	                        "recent events; -f follows the stream", 0, 0, OPT(O_FOLLOW), cmd_events },
	{ "why",      NULL,     "EVENT_ID",
	                        "why an event was, or was not, notified, and what became of each "
	                        "notification",                        1, 1, 0, cmd_why },
	{ "ack",      NULL,     "AGENT/CHECK [-m TEXT] [--expires DURATION]",
	                        "acknowledge a problem",               1, 1, OPT(O_MESSAGE) | OPT(O_EXPIRES),
	                                                                     cmd_ack },
	{ "unack",    NULL,     "AGENT/CHECK",
	                        "remove an acknowledgement",           1, 1, 0, cmd_unack },
	{ "downtime", NULL,     "AGENT[/CHECK] --for DURATION|--end TIME [--start TIME] [-m TEXT] "
	                        "| AGENT[/CHECK] --weekly \"DAYS HH:MM-HH:MM\" [--tz ZONE] [-m TEXT] "
	                        "| --cancel ID",
	                        "a downtime (from now, or --start), or a recurring one; "
	                        "--cancel ends one",
	                                                               0, 1, DOWNTIME_OPTS | OPT(O_CANCEL),
	                                                                     cmd_downtime },

	{ "backtest", NULL,     "AGENT/CHECK [--warning RANGE] [--critical RANGE] [--max-attempts N] "
	                        "[--since 30d]",
	                        "what other thresholds would have paged, beside what these did",
	                                                               1, 1, OPT(O_WARNING) | OPT(O_CRITICAL) |
	                                                               OPT(O_ATTEMPTS) | OPT(O_SINCE),
	                                                                     cmd_backtest },

	{ "agents",   NULL,     "[--selector SELECTOR]",
	                        "every agent (or those selected) and its state",
	                                                               0, 0, OPT(O_SELECTOR), cmd_agents },
	{ "agents",   "list",   "[--selector SELECTOR]",
	                        "the same",                            0, 0, OPT(O_SELECTOR), cmd_agents },
	{ "agents",   "show",   "AGENT",
	                        "one agent, its facts and state",      1, 1, 0, cmd_show },
	{ "agents",   "create", "NAME [--interval SECONDS] [--contacts NAME,...] [--labels K=V,...] "
	                        "[--parents AGENT/CHECK,...]",
	                        "a new agent: its token and agentd.conf lines, once",
	                                                               1, 1, AGENT_OPTS, cmd_agents_create },
	{ "agents",   "token",  "AGENT",
	                        "a new token for an agent (the old one stops working), once",
	                                                               1, 1, 0, cmd_agents_token },
	{ "agents",   "edit",   "AGENT [--name NEW] [--interval SECONDS] [--contacts NAME,...] "
	                        "[--labels K=V,...] [--parents AGENT/CHECK,...]",
	                        "change an agent",                     1, 1, AGENT_OPTS | OPT(O_NAME),
	                                                                     cmd_agents_edit },
	{ "agents",   "delete", "AGENT",
	                        "remove an agent, its checks and their history",
	                                                               1, 1, 0, cmd_delete },

	{ "checks",   NULL,     "[AGENT] [--selector SELECTOR]",
	                        "checks (of one agent, or selected) with their state",
	                                                               0, 1, OPT(O_SELECTOR), cmd_checks },
	{ "checks",   "list",   "[AGENT] [--selector SELECTOR]",
	                        "the same",                            0, 1, OPT(O_SELECTOR), cmd_checks },
	{ "checks",   "show",   "AGENT/CHECK",
	                        "one check, its parameters and state", 1, 1, 0, cmd_show },
	{ "checks",   "create", "AGENT/CHECK --type TYPE [--param KEY=VALUE]... [--warning RANGE] "
	                        "[--critical RANGE] [--attempts N] [--contacts NAME,...] [--labels K=V,...] "
	                        "[--parents AGENT/CHECK,...] [--disable]",
	                        "a new check",                         1, 1, CHECK_OPTS, cmd_checks_create },
	{ "checks",   "edit",   "AGENT/CHECK [--name NEW] [--type TYPE] [--param KEY=VALUE]... "
	                        "[--warning RANGE] [--critical RANGE] [--attempts N] "
	                        "[--contacts NAME,...] [--labels K=V,...] [--parents AGENT/CHECK,...] "
	                        "[--enable|--disable]",
	                        "change a check",                      1, 1, CHECK_OPTS | OPT(O_NAME),
	                                                                     cmd_checks_edit },
	{ "checks",   "delete", "AGENT/CHECK",
	                        "remove a check and its history",      1, 1, 0, cmd_delete },

	{ "contacts", NULL,     "",
	                        "who is told, and how",                0, 0, 0, cmd_contacts },
	{ "contacts", "list",   "",
	                        "the same",                            0, 0, 0, cmd_contacts },
	{ "contacts", "show",   "CONTACT",
	                        "one contact",                         1, 1, 0, cmd_show },
	{ "contacts", "create", "NAME [--email ADDRESS] [--pushover-user KEY] [--pushover-device NAME] "
	                        "[--webhook-url URL] [--notify-on KIND,...]",
	                        "a new contact",                       1, 1, CONTACT_OPTS, cmd_contacts_create },
	{ "contacts", "edit",   "CONTACT [--name NEW] [--email ADDRESS] [--pushover-user KEY] "
	                        "[--pushover-device NAME] [--webhook-url URL] [--notify-on KIND,...]",
	                        "change a contact (\"\" clears a field)", 1, 1, CONTACT_OPTS | OPT(O_NAME),
	                                                                     cmd_contacts_edit },
	{ "contacts", "delete", "CONTACT",
	                        "remove a contact",                    1, 1, 0, cmd_delete },

	{ "users",    NULL,     "",
	                        "the people: role, time zone, channels", 0, 0, 0, cmd_users },
	{ "users",    "list",   "",
	                        "the same",                            0, 0, 0, cmd_users },
	{ "users",    "show",   "USER",
	                        "one user",                            1, 1, 0, cmd_show },
	{ "users",    "create", "NAME [--role ROLE] [--tz ZONE] [--email ADDRESS] [--pushover-user KEY] "
	                        "[--quiet-hours WINDOW;...] [--password-stdin]",
	                        "a new user (a contact who may log in)", 1, 1, USER_OPTS, cmd_users_create },
	{ "users",    "edit",   "USER [--name NEW] [--role ROLE] [--tz ZONE] [--email ADDRESS] "
	                        "[--pushover-user KEY] [--quiet-hours WINDOW;...] "
	                        "[--password-stdin|--no-password]",
	                        "change a user (\"\" clears a field)", 1, 1,
	                                                               USER_OPTS | OPT(O_NAME) | OPT(O_NO_PASSWORD),
	                                                                     cmd_users_edit },
	{ "users",    "delete", "USER",
	                        "remove a user (and the contact)",     1, 1, 0, cmd_delete },

	{ "templates", NULL,    "",
	                        "checks for every agent a selector picks", 0, 0, 0, cmd_templates },
	{ "templates", "list",  "",
	                        "the same",                            0, 0, 0, cmd_templates },
	{ "templates", "show",  "TEMPLATE",
	                        "one template, its selector and checks", 1, 1, 0, cmd_show },
	{ "templates", "create", "NAME --selector SELECTOR -f CHECKS.yaml",
	                        "a new template: its checks are the file's (YAML or JSON, one "
	                        "check definition a document or a list)",
	                                                               1, 1, OPT(O_SELECTOR) | OPT(O_FILE),
	                                                                     cmd_templates_create },
	{ "templates", "edit",  "TEMPLATE [--selector SELECTOR] [-f CHECKS.yaml]",
	                        "change its selector, or replace its checks", 1, 1,
	                                                               OPT(O_SELECTOR) | OPT(O_FILE),
	                                                                     cmd_templates_edit },
	{ "templates", "delete", "TEMPLATE",
	                        "remove a template and the checks it made", 1, 1, 0, cmd_delete },
	{ "policies", NULL,     "",
	                        "who is told about what, in order",    0, 0, 0, cmd_policies },
	{ "policies", "list",   "",
	                        "the same",                            0, 0, 0, cmd_policies },
	{ "policies", "show",   "POLICY",
	                        "one policy and its steps",            1, 1, 0, cmd_policies_show },
	{ "policies", "create", "NAME --step STEP... [--match SELECTOR] [--continue yes|no] "
	                        "[--repeat SECONDS] [--urgent STATUS] [--position N]",
	                        "a new policy",                        1, 1, POLICY_OPTS,
	                                                                     cmd_policies_create },
	{ "policies", "edit",   "POLICY [--name NEW] [--step STEP...] [--match SELECTOR] ...",
	                        "change a policy (--step replaces the steps)", 1, 1,
	                        POLICY_OPTS | OPT(O_NAME),                   cmd_policies_edit },
	{ "policies", "delete", "POLICY",
	                        "remove a policy",                     1, 1, 0, cmd_delete },
	{ "rotations", NULL,    "",
	                        "who takes turns on call",             0, 0, 0, cmd_rotations },
	{ "rotations", "list",  "",
	                        "the same",                            0, 0, 0, cmd_rotations },
	{ "rotations", "show",  "ROTATION",
	                        "one rotation, its members and overrides", 1, 1, 0, cmd_show },
	{ "rotations", "create", "NAME --members USER,... --shift day|week|hours:N [--handoff HH:MM] "
	                        "[--handoff-day DAY] [--tz ZONE] [--first-day YYYY-MM-DD]",
	                        "a new rotation",                      1, 1, ROTATION_OPTS, cmd_rotations_create },
	{ "rotations", "edit",  "ROTATION [--name NEW] [--members USER,...] [--shift S] [--handoff HH:MM] "
	                        "[--handoff-day DAY] [--tz ZONE] [--first-day YYYY-MM-DD]",
	                        "change a rotation",                   1, 1, ROTATION_OPTS | OPT(O_NAME),
	                                                                     cmd_rotations_edit },
	{ "rotations", "delete", "ROTATION",
	                        "remove a rotation",                   1, 1, 0, cmd_delete },
	{ "rotations", "override", "ROTATION USER [--start TIME] --end TIME|--for DURATION",
	                        "put USER on call for a while",        2, 2,
	                                                               OPT(O_START) | OPT(O_END) | OPT(O_FOR),
	                                                                     cmd_rotations_override },
	{ "oncall",   NULL,     "ROTATION [--at TIME]",
	                        "who is on call (now, or at TIME), and who is next", 1, 1, OPT(O_AT),
	                                                                     cmd_oncall },

	{ "downtimes", NULL,    "[AGENT[/CHECK]] [--active]",
	                        "downtimes, newest first",             0, 1, OPT(O_ACTIVE), cmd_downtimes },
	{ "downtimes", "list",  "[AGENT[/CHECK]] [--active]",
	                        "the same",                            0, 1, OPT(O_ACTIVE), cmd_downtimes },
	{ "downtimes", "show",  "ID",
	                        "one downtime",                        1, 1, 0, cmd_downtimes_show },
	{ "downtimes", "create", "AGENT[/CHECK] --for DURATION|--end TIME [--start TIME] [-m TEXT] "
	                        "| --weekly \"DAYS HH:MM-HH:MM\" [--tz ZONE]",
	                        "as downtime",                         1, 1, DOWNTIME_OPTS, cmd_downtime },
	{ "downtimes", "delete", "ID",
	                        "as downtime --cancel ID",             1, 1, 0, cmd_downtimes_delete },

	{ "tokens",   NULL,     "",
	                        "the API tokens (never the tokens themselves)", 0, 0, 0, cmd_tokens },
	{ "tokens",   "list",   "",
	                        "the same",                            0, 0, 0, cmd_tokens },
	{ "tokens",   "show",   "NAME",
	                        "one token's name, role and use",      1, 1, 0, cmd_tokens_show },
	{ "tokens",   "create", "NAME ROLE",
	                        "a token (ROLE: admin, operator or viewer), shown once", 2, 2, 0, cmd_tokens_create },
	{ "tokens",   "delete", "NAME",
	                        "revoke a token",                      1, 1, 0, cmd_tokens_revoke },
	{ "tokens",   "revoke", "NAME",
	                        "the same",                            1, 1, 0, cmd_tokens_revoke },

	{ "apply",    NULL,     "-f PATH... [--dry-run] [--prune] [--expect VERSION]",
	                        "make the server's configuration what the files say (YAML or JSON; "
	                        "a directory is read whole), printing the plan",
	                                                               0, MAX_FILES, OPT(O_FILE) | OPT(O_DRY_RUN) |
	                                                               OPT(O_PRUNE) | OPT(O_EXPECT), cmd_apply },
	{ "diff",     NULL,     "-f PATH... [--prune]",
	                        "the plan of apply, changing nothing", 0, MAX_FILES, OPT(O_FILE) | OPT(O_PRUNE) |
	                                                               OPT(O_EXPECT), cmd_diff },
	{ "export",   NULL,     "[--dir DIR]",
	                        "the configuration as YAML (a file per kind in DIR, or stdout)",
	                                                               0, 0, OPT(O_DIR), cmd_export },

	{ "help",     NULL,     "",
	                        "this list",                           0, 0, 0, cmd_help },
	{ NULL, NULL, NULL, NULL, 0, 0, 0, NULL },
};

/* ---- the usage --------------------------------------------------------------------- */

static const char usage_head[] = "usage: custos [--json] COMMAND [ARGS]\n";
static const char usage_tail[] =
	"Options: --json (the API's JSON), --ca-file FILE (CA certificates for an\n"
	"https:// server)\n"
	"Configuration: ~/.config/custos/cli.conf with \"url =\", \"token_file =\" and\n"
	"\"ca_file =\"; CUSTOS_URL, CUSTOS_TOKEN and CUSTOS_CA_FILE override it.\n"
	"DURATION: 90s, 15m, 2h, 1d, 1h30m. TIME: now, +2h, 2026-11-28T02:00:00Z.\n"
	"AGENT, CONTACT: a name or an id. \"agent\" is \"agents\", and so on.\n";

/*
 * One entry per row: "  name verb args" and the usage in a column, or,
 * when that is too long, the args wrapped below and the usage under them.
 */
static const char *usage_of;    /* the command whose rows a usage error shows */

static void
print_usage(FILE *f, const char *only)
{
	const struct cli_cmd *c;

	fputs(usage_head, f);
	for (c = cli_cmds; c->name; c++) {
		char left[512];
		const char *p;
		size_t col;
		if (only && strcmp(c->name, only) != 0)
			continue;
		snprintf(left, sizeof(left), "%s%s%s%s%s", c->name, c->verb ? " " : "",
		    c->verb ? c->verb : "", c->args[0] ? " " : "", c->args);
		if (strlen(left) <= HELP_COL) {
			fprintf(f, "  %-*s %s\n", HELP_COL, left, c->usage);
			continue;
		}
		/* words to column 78, then again from column 6 */
		fputs("  ", f);
		for (p = left, col = 2; *p; ) {
			size_t w = 0;
			int depth = 0;
			/* a word, or a [group of words] kept on one line */
			for (; p[w] && (p[w] != ' ' || depth > 0); w++)
				depth += p[w] == '[' ? 1 : p[w] == ']' ? -1 : 0;
			if (col > 2 && col + 1 + w > 78) {
				fputs("\n      ", f);
				col = 6;
			} else if (col > 2) {
				fputc(' ', f);
				col++;
			}
			fwrite(p, 1, w, f);
			col += w;
			p += w;
			while (*p == ' ')
				p++;
		}
		fprintf(f, "\n  %-*s %s\n", HELP_COL, "", c->usage);
	}
	fputs(only ? "`custos help` lists every command.\n" : usage_tail, f);
}

int
usage(const char *fmt, ...)
{
	va_list ap;

	if (fmt) {
		fputs("custos: ", stderr);
		va_start(ap, fmt);
		vfprintf(stderr, fmt, ap);
		va_end(ap);
		fputc('\n', stderr);
	}
	print_usage(stderr, usage_of);
	return EXIT_USAGE;
}

static int
cmd_help(const struct cli_args *a)
{
	(void)a;
	print_usage(stdout, NULL);
	return 0;
}

/* ---- parsing ------------------------------------------------------------------------ */

/* "90s", "15m", "2h", "1d", "1w", "1h30m", or plain seconds; -1 if bad. */
static long long
parse_duration(const char *s)
{
	long long total = 0;
	const char *p = s;

	if (s == NULL || *s == '\0')
		return -1;
	while (*p) {
		char num[24];
		size_t n = 0;
		long long v, mul;
		const char *es;
		while (p[n] >= '0' && p[n] <= '9')
			n++;
		if (n == 0 || n >= sizeof(num))
			return -1;
		memcpy(num, p, n);
		num[n] = '\0';
		v = str_to_ll(num, 0, 100LL * 365 * 86400, &es);
		if (es)
			return -1;
		p += n;
		switch (*p) {
		case 's': mul = 1; p++; break;
		case 'm': mul = 60; p++; break;
		case 'h': mul = 3600; p++; break;
		case 'd': mul = 86400; p++; break;
		case 'w': mul = 7 * 86400; p++; break;
		case '\0': mul = 1; break;
		default: return -1;
		}
		total += v * mul;
		if (total > 100LL * 365 * 86400)
			return -1;
	}
	return total > 0 ? total : -1;
}

static const struct cli_opt *
find_opt(const char *s)
{
	size_t i;

	for (i = 0; i < N_OPTS; i++)
		if (strcmp(s, cli_opts[i].name) == 0 ||
		    (cli_opts[i].alias && strcmp(s, cli_opts[i].alias) == 0))
			return &cli_opts[i];
	return NULL;
}

/* Checks the value v of option o into a; 0, or EXIT_USAGE after saying why. */
static int
set_opt(struct cli_args *a, const struct cli_opt *o, const char *given, const char *v)
{
	const char *es;

	a->val[o->id] = v;
	switch (o->kind) {
	case V_FLAG:
	case V_TEXT:
		break;
	case V_DURATION:
		if ((a->num[o->id] = parse_duration(v)) < 0)
			return usage("%s: \"%s\" is not a duration (90s, 15m, 2h, 1d)", given, v);
		break;
	case V_NUMBER:
		a->num[o->id] = str_to_ll(v, o->min, o->max, &es);
		if (es)
			return usage("%s: a number from %lld to %lld", given, o->min, o->max);
		break;
	case V_TIME: {
		int64_t us;
		long long d;
		if (strcmp(v, "now") == 0)
			us = time_now_us();
		else if (v[0] == '+' && (d = parse_duration(v + 1)) > 0)
			us = time_now_us() + d * 1000000;
		else if (rfc3339_parse(v, &us) < 0)
			return usage("%s: \"%s\" is not a time (now, +2h, 2026-11-28T02:00:00Z)",
			    given, v);
		a->num[o->id] = us;
		break;
	}
	case V_FILE:
		if (a->nfiles >= MAX_FILES)
			return usage("%s: at most %d paths", given, MAX_FILES);
		a->files[a->nfiles++] = v;
		break;
	case V_PARAM:
		if (strchr(v, '=') == NULL || v[0] == '=')
			return usage("%s: \"%s\" is not KEY=VALUE (or KEY:=JSON)", given, v);
		if (a->nparams >= MAX_PARAMS)
			return usage("%s: at most %d", given, MAX_PARAMS);
		a->params[a->nparams++] = v;
		break;
	case V_LIST:
		if (a->nparams >= MAX_PARAMS)
			return usage("%s: at most %d", given, MAX_PARAMS);
		a->params[a->nparams++] = v;
		break;
	}
	return 0;
}

/* The row for words[0] (and words[1] when it is one of its verbs); NULL if none. */
static const struct cli_cmd *
find_cmd(char **words, int n, int *used)
{
	const struct cli_cmd *c, *plain = NULL;

	for (c = cli_cmds; c->name; c++) {
		if (strcmp(c->name, words[0]) != 0)
			continue;
		if (c->verb == NULL)
			plain = c;
		else if (n > 1 && strcmp(c->verb, words[1]) == 0) {
			*used = 2;
			return c;
		}
	}
	*used = 1;
	return plain;
}

/* A command's singular works too ("agent create" is "agents create"). */
static char *
plural(char *word, char buf[64])
{
	const struct cli_cmd *c;

	for (c = cli_cmds; c->name; c++)
		if (strcmp(c->name, word) == 0)
			return word;
	snprintf(buf, 64, "%s", word);
	if (strlen(buf) + 2 > 64)
		return word;
	memcpy(buf + strlen(buf), "s", 2);
	for (c = cli_cmds; c->name; c++)
		if (strcmp(c->name, buf) == 0)
			return buf;
	return word;
}

static int
has_verbs(const char *name)
{
	const struct cli_cmd *c;

	for (c = cli_cmds; c->name; c++)
		if (c->verb && strcmp(c->name, name) == 0)
			return 1;
	return 0;
}

/* "-f goes with events": the commands that take option o. */
static int
misplaced(const struct cli_opt *o)
{
	const struct cli_cmd *c;
	char with[256] = "";
	size_t len = 0;

	for (c = cli_cmds; c->name; c++)
		if (c->opts & OPT(o->id))
			len += (size_t)snprintf(with + len, len < sizeof(with) ? sizeof(with) - len : 0,
			    "%s%s%s%s", len ? ", " : "", c->name, c->verb ? " " : "",
			    c->verb ? c->verb : "");
	return usage("%s goes with %s", o->name, with);
}

/*
 * Whether the command word (the first word that is neither an option nor
 * an option's value) is apply, diff or templates, whose -f is --file, not --follow.
 */
static int
files_command(int argc, char **argv)
{
	const struct cli_opt *o;
	int i;

	for (i = 1; i < argc; i++) {
		if ((o = find_opt(argv[i])) != NULL) {
			if (o->kind != V_FLAG)
				i++;
			continue;
		}
		if (argv[i][0] == '-')
			continue;
		return strcmp(argv[i], "apply") == 0 || strcmp(argv[i], "diff") == 0 ||
		    strcmp(argv[i], "templates") == 0;
	}
	return 0;
}

int
main(int argc, char **argv)
{
	char *words[MAX_WORDS], plural_buf[64];
	struct cli_args a;
	const struct cli_cmd *c;
	const struct cli_opt *o;
	int n = 0, i, used, rc, files = files_command(argc, argv);

	memset(&a, 0, sizeof(a));
	/* options may stand anywhere; what is left are the command's words */
	for (i = 1; i < argc; i++) {
		const char *s = argv[i];
		if (strcmp(s, "-h") == 0 || strcmp(s, "--help") == 0) {
			print_usage(stdout, NULL);
			return 0;
		} else if (strcmp(s, "--version") == 0) {
			printf("custos %s\n", PACKAGE_VERSION);
			return 0;
		} else if ((o = find_opt(files && strcmp(s, "-f") == 0 ? "--file" : s)) != NULL) {
			if (o->kind != V_FLAG && i + 1 >= argc)
				return usage("%s needs a value", s);
			if ((rc = set_opt(&a, o, s, o->kind == V_FLAG ? "" : argv[++i])) != 0)
				return rc;
		} else if (s[0] == '-' && s[1] != '\0') {
			return usage("unknown option %s", s);
		} else if (n < MAX_WORDS) {
			words[n++] = argv[i];
		} else {
			return usage("too many arguments");
		}
	}
	if (n == 0)
		return usage(NULL);

	/* usage errors first, before any configuration or network */
	words[0] = plural(words[0], plural_buf);
	if ((c = find_cmd(words, n, &used)) == NULL) {
		if (has_verbs(words[0])) {
			usage_of = words[0];
			return usage("%s: unknown subcommand \"%s\"", words[0], n > 1 ? words[1] : "");
		}
		return usage("unknown command \"%s\"", words[0]);
	}
	/* from here on, a usage error shows this command's lines only */
	usage_of = c->name;
	for (i = 0; i < (int)N_OPTS; i++)
		if (a.val[cli_opts[i].id] && !((c->opts | OPTS_ALL) & OPT(cli_opts[i].id)))
			return misplaced(&cli_opts[i]);
	a.argc = n - used;
	a.argv = words + used;
	if (a.argc < c->min_args || a.argc > c->max_args) {
		if (c->verb == NULL && has_verbs(c->name) && a.argc > c->max_args)
			return usage("%s: unknown subcommand \"%s\"", c->name, a.argv[0]);
		if (c->max_args == 0)
			return usage("%s%s%s takes no arguments", c->name, c->verb ? " " : "",
			    c->verb ? c->verb : "");
		return usage("%s%s%s: expected %s", c->name, c->verb ? " " : "",
		    c->verb ? c->verb : "", c->args);
	}

	opt_json = a.val[O_JSON] != NULL;
	colour = isatty(1) && getenv("NO_COLOR") == NULL && !opt_json;
	http_init(a.val[O_CA_FILE]);
	a.cmd = c;
	rc = c->fn(&a);
	http_close();
	return rc;
}
