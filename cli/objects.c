/*
 * objects.c - show, create, edit and delete for each object of the API
 * (agents, checks, contacts, users, downtimes, templates, rotations;
 * tokens' show: the rest of tokens and the lists of agents and checks are
 * in commands.c). One function per row of the table in main.c, as there;
 * the verbs themselves are one each, over the table of named objects
 * (named[] below; policies.c uses them too).
 *
 * The API takes ids; these commands take names (an agent's, AGENT/CHECK,
 * a contact's, in --contacts too), resolved to ids here through the list
 * routes, or an id when no object has that name. A downtime has no name:
 * its id. A field set to "" is cleared (sent as null) where the API allows
 * it; an edit sends only what was given (PATCH), but --param is merged
 * into the check's parameters as they are.
 */
#include "config.h"
#include "cli.h"
#include "selector.h"
#include "yamlload.h"
#include "strnum.h"
#include "timeutil.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The default path of agentd.conf's token_file, for the lines to paste. */
#define AGENT_TOKEN_FILE "/etc/custos/agent.token"

/* ---- helpers ------------------------------------------------------------------- */

static int
parse_id(const char *what, const char *word, long long *id)
{
	const char *es;

	*id = str_to_ll(word, 1, INT64_MAX, &es);
	if (es)
		return usage("%s: expected an ID (a number), got \"%s\"", what, word);
	return 0;
}

/* "" as JSON null (clears the member), else the string. */
static void
set_text(json_t *body, const char *key, const char *v)
{
	json_object_set_new(body, key, v[0] ? json_string(v) : json_null());
}

/* "a,b,c" as a JSON array of strings (borrowed words copied). */
static json_t *
csv_array(const char *csv)
{
	json_t *arr = json_array();
	const char *p = csv;

	while (*p) {
		size_t n = strcspn(p, ",");
		if (n > 0)
			json_array_append_new(arr, json_stringn(p, n));
		p += n;
		if (*p == ',')
			p++;
	}
	return arr;
}

void
opt_members(const struct cli_args *a, const struct opt_member *list, json_t *body)
{
	const struct opt_member *m;
	const char *v;

	for (m = list; m->member; m++) {
		if ((v = a->val[m->opt]) == NULL)
			continue;
		switch (m->kind) {
		case M_STRING:
			json_object_set_new(body, m->member, json_string(v));
			break;
		case M_CLEARABLE:
			set_text(body, m->member, v);
			break;
		case M_NUMBER:
			json_object_set_new(body, m->member, json_integer(a->num[m->opt]));
			break;
		case M_CSV:
			json_object_set_new(body, m->member, csv_array(v));
			break;
		}
	}
}

/*
 * --contacts NAME,... as the ids the API takes (*out, the caller's):
 * "" is null (no contacts of its own). 0, or an exit status.
 */
static int
contact_ids(const char *csv, json_t **out)
{
	json_t *names, *items, *n, *c;
	size_t i, j;
	int rc;

	*out = NULL;
	if (csv[0] == '\0') {
		*out = json_null();
		return 0;
	}
	if ((rc = http_get_all("/api/v1/contacts", &items)) != 0)
		return rc;
	names = csv_array(csv);
	*out = json_array();
	json_array_foreach(names, i, n) {
		const char *name = json_string_value(n), *es;
		long long id = 0, num = str_to_ll(name, 1, INT64_MAX, &es);
		json_array_foreach(items, j, c)
			if (strcmp(jstr(c, "name", ""), name) == 0)
				id = (long long)json_integer_value(json_object_get(c, "id"));
		if (id == 0 && es == NULL)
			json_array_foreach(items, j, c)
				if (json_integer_value(json_object_get(c, "id")) == num)
					id = num;
		if (id == 0) {
			fprintf(stderr, "custos: no contact named \"%s\"\n", name);
			json_decref(*out);
			*out = NULL;
			rc = EXIT_REFUSED;
			break;
		}
		json_array_append_new(*out, json_integer(id));
	}
	json_decref(names);
	json_decref(items);
	return rc;
}

/*
 * KEY=VALUE: an integer, true or false as such, anything else a string;
 * KEY:=JSON for the rest (a list of plugin arguments, a string of digits).
 * Sets it in params; 0, or EXIT_USAGE after saying why.
 */
static int
set_param(json_t *params, const char *kv)
{
	const char *eq = strchr(kv, '='), *v = eq + 1, *es;
	size_t klen = (size_t)(eq - kv);
	char key[128];
	json_t *val;
	long long n;

	if (klen > 0 && kv[klen - 1] == ':') {
		json_error_t jerr;
		klen--;
		if ((val = json_loads(v, JSON_DECODE_ANY, &jerr)) == NULL)
			return usage("--param %.*s:=: not JSON (%s)", (int)klen, kv, jerr.text);
	} else if (strcmp(v, "true") == 0 || strcmp(v, "false") == 0) {
		val = json_boolean(v[0] == 't');
	} else {
		n = str_to_ll(v, INT64_MIN, INT64_MAX, &es);
		val = es == NULL && v[0] ? json_integer(n) : json_string(v);
	}
	if (klen == 0 || klen >= sizeof(key)) {
		json_decref(val);
		return usage("--param: \"%s\" has no KEY", kv);
	}
	memcpy(key, kv, klen);
	key[klen] = '\0';
	json_object_set_new(params, key, val);
	return 0;
}

/* GET path and print it (an object) as key/value lines, or JSON. */
static int
show(const char *path)
{
	json_t *o;
	int rc;

	if ((rc = http_request("GET", path, NULL, &o)) != 0)
		return rc;
	if (opt_json)
		print_json(o);
	else
		print_object(o);
	json_decref(o);
	return 0;
}

/* DELETE path; prints msg (or the JSON answer, none: nothing). */
static int
delete(const char *path, const char *msg)
{
	json_t *out;
	int rc;

	if ((rc = http_request("DELETE", path, NULL, &out)) != 0)
		return rc;
	return print_done(out, msg);
}

/*
 * The objects the commands name (enum named, cli.h), and what deleting one
 * takes with it. Most are found by id: a name is resolved through the
 * object's list (object_id()), a check's AGENT/CHECK through its agent. A
 * rotation, a template and a policy are named in their path (in_path),
 * and their "created" line has no id.
 */
static const struct {
	const char *cmd, *list, *what, *gone;
	int in_path;
} named[] = {
	[N_AGENT] = { "agents", "/api/v1/agents", "agent", ", with its checks", 0 },
	[N_CHECK] = { "checks", "/api/v1/checks", "check", ", with its history", 0 },
	[N_CONTACT] = { "contacts", "/api/v1/contacts", "contact", "", 0 },
	[N_USER] = { "users", "/api/v1/users", "user", "", 0 },
	[N_ROTATION] = { "rotations", "/api/v1/rotations", "rotation", "", 1 },
	[N_TEMPLATE] = { "templates", "/api/v1/templates", "template", ", and its checks", 1 },
	[N_POLICY] = { "policies", "/api/v1/policies", "policy", "", 1 },
};
#define N_NAMED (sizeof(named) / sizeof(named[0]))

static int check_spec(const char *what, const char *spec, long long *aid, long long *id);

/*
 * LIST/NAME then tail, for a kind named in its path: the API's rule for
 * the name (1-63 of A-Z a-z 0-9 _ . -), so nothing needs escaping; a
 * usage error otherwise.
 */
static int
name_in_path(enum named k, const char *name, const char *tail, char *out, size_t len)
{
	size_t n = strlen(name);

	if (n == 0 || n > 63 || strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	    "0123456789_.-") != n)
		return usage("\"%s\" is not a %s's name (1-63 letters, digits, '_', '.', '-')",
		    name, named[k].what);
	snprintf(out, len, "%s/%s%s", named[k].list, name, tail);
	return 0;
}

int
named_path(enum named k, const char *verb, const char *word, char *path, size_t len)
{
	char cmd[32];
	long long aid, id;
	int rc;

	if (named[k].in_path)
		return name_in_path(k, word, "", path, len);
	if (k == N_CHECK) {
		snprintf(cmd, sizeof(cmd), "checks %s", verb);
		rc = check_spec(cmd, word, &aid, &id);
	} else {
		rc = object_id(named[k].list, named[k].what, word, &id);
	}
	if (rc == 0)
		snprintf(path, len, "%s/%lld", named[k].list, id);
	return rc;
}

int
show_named(enum named k, const char *word)
{
	char path[128];
	int rc;

	if ((rc = named_path(k, "show", word, path, sizeof(path))) != 0)
		return rc;
	return show(path);
}

int
patch_path(const char *path, json_t *body, enum named k, const char *word)
{
	char msg[400];
	json_t *out = NULL;
	int rc;

	if ((rc = http_request("PATCH", path, body, &out)) != 0)
		return rc;
	snprintf(msg, sizeof(msg), "%s %s changed", named[k].what, word);
	return print_done(out, msg);
}

int
create_named(enum named k, const char *word, json_t *body)
{
	char msg[400];
	json_t *out = NULL;
	int rc;

	if ((rc = http_request("POST", named[k].list, body, &out)) != 0)
		return rc;
	if (named[k].in_path)
		snprintf(msg, sizeof(msg), "%s %s created", named[k].what, word);
	else
		snprintf(msg, sizeof(msg), "%s %s created (id %lld)", named[k].what, word,
		    (long long)json_integer_value(json_object_get(out, "id")));
	return print_done(out, msg);
}

int
patch_named(enum named k, const char *word, json_t *body)
{
	char path[128];
	int rc;

	if ((rc = named_path(k, "edit", word, path, sizeof(path))) != 0)
		return rc;
	return patch_path(path, body, k, word);
}

int
delete_named(enum named k, const char *word)
{
	char path[128], msg[400];
	int rc;

	if ((rc = named_path(k, "delete", word, path, sizeof(path))) != 0)
		return rc;
	snprintf(msg, sizeof(msg), "%s %s deleted%s", named[k].what, word, named[k].gone);
	return delete(path, msg);
}

/* The kind a command names: its row's name is named[].cmd (main.c's table). */
static enum named
kind_of(const struct cli_args *a)
{
	size_t k;

	for (k = 0; k < N_NAMED - 1; k++)
		if (strcmp(named[k].cmd, a->cmd->name) == 0)
			break;
	return (enum named)k;
}

int
cmd_show(const struct cli_args *a)
{
	return show_named(kind_of(a), a->argv[0]);
}

int
cmd_delete(const struct cli_args *a)
{
	return delete_named(kind_of(a), a->argv[0]);
}

/* ---- labels ----------------------------------------------------------------------- */

/*
 * --labels k=v,k2=v2 as the API's "labels" object (it replaces the
 * object's labels whole; --labels "" clears them). Parsed here with the
 * server's and agentd's own rules (lib/selector.h), so a bad key is a usage
 * error before anything is sent.
 */
int
labels_member(const char *text, json_t *body)
{
	struct selector sel;
	char err[300];
	json_t *o;
	size_t i;

	if (labels_parse("--labels", text, &sel, err, sizeof(err)) < 0)
		return usage("%s", err);
	o = json_object();
	for (i = 0; i < sel.n; i++)
		json_object_set_new(o, sel.reqs[i].key, json_string(sel.reqs[i].values[0]));
	selector_free(&sel);
	json_object_set_new(body, "labels", o);
	return 0;
}

/*
 * --parents a/b,c/d as the API's "parents" list of checks (it replaces the
 * list whole; --parents "" clears it). The server resolves the names and
 * refuses an unknown check, the check itself and a cycle.
 */
int
parents_member(const char *text, json_t *body)
{
	json_t *arr = json_array();
	const char *p = text, *comma;
	size_t n;

	while (*p) {
		comma = strchr(p, ',');
		n = comma ? (size_t)(comma - p) : strlen(p);
		if (n == 0 || memchr(p, '/', n) == NULL) {
			json_decref(arr);
			return usage("--parents: expected AGENT/CHECK,..., got \"%s\"", text);
		}
		json_array_append_new(arr, json_stringn(p, n));
		p += n;
		if (*p == ',')
			p++;
	}
	json_object_set_new(body, "parents", arr);
	return 0;
}

/* ---- agents ----------------------------------------------------------------------- */

static const struct opt_member agent_members[] = {
	{ O_NAME, "name", M_STRING }, { O_INTERVAL, "interval_s", M_NUMBER }, { 0, NULL, 0 },
};

/*
 * --labels, --parents and --contacts, which agents and checks both take,
 * into body; 0 or an exit status.
 */
static int
watch_members(const struct cli_args *a, json_t *body)
{
	json_t *ids;
	int rc;

	if (a->val[O_LABELS] && (rc = labels_member(a->val[O_LABELS], body)) != 0)
		return rc;
	if (a->val[O_PARENTS] && (rc = parents_member(a->val[O_PARENTS], body)) != 0)
		return rc;
	if (a->val[O_CONTACTS]) {
		if ((rc = contact_ids(a->val[O_CONTACTS], &ids)) != 0)
			return rc;
		json_object_set_new(body, "contacts", ids);
	}
	return 0;
}

/* The members of an agent that create and edit share; 0 or an exit status. */
static int
agent_body(const struct cli_args *a, json_t *body)
{
	opt_members(a, agent_members, body);
	return watch_members(a, body);
}

/* An answer holding an agent's new token: the agentd.conf lines (or the JSON). */
static void
print_agent_token(json_t *out)
{
	const char *tok;

	if (opt_json) {
		print_json(out);
	} else {
		/* lines an agentd.conf takes as they are (comments included) */
		tok = jstr(out, "token", "");
		printf("# agent %s (id %lld); its token is shown this once.\n", jstr(out, "name", "?"),
		    (long long)json_integer_value(json_object_get(out, "id")));
		printf("# On that host, as root:\n");
		printf("#   (umask 077; echo %s > %s)\n", tok, AGENT_TOKEN_FILE);
		printf("# and in its agentd.conf:\n");
		printf("server = %s\n", http_shown_url());
		printf("token_file = %s\n", AGENT_TOKEN_FILE);
		if (isatty(1))
			fprintf(stderr, "custos: this token is shown once; keep it now\n");
	}
}

int
cmd_agents_create(const struct cli_args *a)
{
	json_t *body = json_pack("{s:s}", "name", a->argv[0]), *out = NULL;
	int rc;

	if ((rc = agent_body(a, body)) == 0)
		rc = http_request("POST", "/api/v1/agents", body, &out);
	json_decref(body);
	if (rc)
		return rc;
	print_agent_token(out);
	json_decref(out);
	return 0;
}

/* agents token AGENT: a new token (the old one stops working), for an agent made by apply too */
int
cmd_agents_token(const struct cli_args *a)
{
	json_t *out = NULL;
	char path[64];
	long long id;
	int rc;

	if ((rc = agent_id(a->argv[0], &id)) != 0)
		return rc;
	snprintf(path, sizeof(path), "/api/v1/agents/%lld/token", id);
	if ((rc = http_request("POST", path, NULL, &out)) != 0)
		return rc;
	print_agent_token(out);
	json_decref(out);
	return 0;
}

int
cmd_agents_edit(const struct cli_args *a)
{
	json_t *body;
	char path[128];
	int rc;

	if (!a->val[O_NAME] && !a->val[O_INTERVAL] && !a->val[O_CONTACTS] && !a->val[O_LABELS] &&
	    !a->val[O_PARENTS])
		return usage("agents edit: nothing to change (--name, --interval, --contacts, --labels,"
		    " --parents)");
	if ((rc = named_path(N_AGENT, "edit", a->argv[0], path, sizeof(path))) != 0)
		return rc;
	body = json_object();
	if ((rc = agent_body(a, body)) == 0)
		rc = patch_path(path, body, N_AGENT, a->argv[0]);
	json_decref(body);
	return rc;
}

/* ---- checks ----------------------------------------------------------------------- */

/* AGENT/CHECK to its id; usage when it is not that. */
static int
check_spec(const char *what, const char *spec, long long *aid, long long *id)
{
	char agent[256];
	const char *check;

	if (split_check(spec, agent, &check) < 0)
		return usage("%s: expected AGENT/CHECK, got \"%s\"", what, spec);
	return check_id(agent, check, aid, id);
}

static const struct opt_member check_members[] = {
	{ O_NAME, "name", M_STRING }, { O_TYPE, "type", M_STRING },
	{ O_WARNING, "warning", M_CLEARABLE }, { O_CRITICAL, "critical", M_CLEARABLE },
	{ O_ATTEMPTS, "max_attempts", M_NUMBER }, { 0, NULL, 0 },
};

/*
 * The members of a check that create and edit share, into body; params
 * (borrowed) is what --param is merged into. 0 or an exit status.
 */
static int
check_body(const struct cli_args *a, json_t *body, json_t *params)
{
	int i, rc;

	opt_members(a, check_members, body);
	for (i = 0; i < a->nparams; i++)
		if ((rc = set_param(params, a->params[i])) != 0)
			return rc;
	if (a->nparams)
		json_object_set(body, "params", params);
	if (a->val[O_ENABLE] || a->val[O_DISABLE])
		json_object_set_new(body, "enabled", json_boolean(a->val[O_ENABLE] != NULL));
	return watch_members(a, body);
}

/* What create and edit refuse before asking anything. */
static int
check_flags(const char *what, const struct cli_args *a)
{
	json_t *scratch = json_object();
	int i, rc = 0;

	if (a->val[O_ENABLE] && a->val[O_DISABLE])
		rc = usage("%s: --enable or --disable, not both", what);
	for (i = 0; rc == 0 && i < a->nparams; i++)
		rc = set_param(scratch, a->params[i]);
	json_decref(scratch);
	return rc;
}

int
cmd_checks_create(const struct cli_args *a)
{
	char agent[256];
	const char *check;
	json_t *body, *params;
	long long aid;
	int rc;

	if (split_check(a->argv[0], agent, &check) < 0)
		return usage("checks create: expected AGENT/CHECK, got \"%s\"", a->argv[0]);
	if (a->val[O_TYPE] == NULL)
		return usage("checks create needs --type TYPE (see plugins.md: disk, load, ...)");
	if ((rc = check_flags("checks create", a)) != 0)
		return rc;
	if ((rc = agent_id(agent, &aid)) != 0)
		return rc;
	body = json_pack("{s:I, s:s}", "agent_id", (json_int_t)aid, "name", check);
	params = json_object();
	if ((rc = check_body(a, body, params)) == 0)
		rc = create_named(N_CHECK, a->argv[0], body);
	json_decref(params);
	json_decref(body);
	return rc;
}

int
cmd_checks_edit(const struct cli_args *a)
{
	char path[128];
	json_t *cur = NULL, *body, *params;
	int i, rc, any = a->nparams > 0;

	for (i = 0; i < O_COUNT; i++)
		if (i != O_JSON && i != O_CA_FILE && a->val[i])
			any = 1;
	if (!any)
		return usage("checks edit: nothing to change");
	if ((rc = check_flags("checks edit", a)) != 0)
		return rc;
	if ((rc = named_path(N_CHECK, "edit", a->argv[0], path, sizeof(path))) != 0)
		return rc;
	/* --param changes one parameter: the others are kept as they are */
	if (a->nparams && (rc = http_request("GET", path, NULL, &cur)) != 0)
		return rc;
	params = json_deep_copy(json_object_get(cur, "params"));
	if (!json_is_object(params)) {
		json_decref(params);
		params = json_object();
	}
	json_decref(cur);
	body = json_object();
	if ((rc = check_body(a, body, params)) == 0)
		rc = patch_path(path, body, N_CHECK, a->argv[0]);
	json_decref(params);
	json_decref(body);
	return rc;
}

/* ---- contacts ------------------------------------------------------------------- */

/* The members of a contact that create and edit share. */
static const struct opt_member contact_members[] = {
	{ O_NAME, "name", M_STRING }, { O_EMAIL, "email", M_CLEARABLE },
	{ O_PUSHOVER_USER, "pushover_user", M_CLEARABLE },
	{ O_PUSHOVER_DEVICE, "pushover_device", M_CLEARABLE },
	{ O_WEBHOOK_URL, "webhook_url", M_CLEARABLE }, { O_NOTIFY_ON, "notify_on", M_CSV },
	{ 0, NULL, 0 },
};

/* the table of `custos contacts` */
static void
contacts_rows(json_t *items)
{
	json_t *c;
	size_t i;

	printf("%-20s %-32s %-9s %-8s %s\n", "CONTACT", "EMAIL", "PUSHOVER", "WEBHOOK", "NOTIFY ON");
	json_array_foreach(items, i, c) {
		json_t *on = json_object_get(c, "notify_on"), *k;
		size_t j;
		/* a viewer sees which secrets a contact has, not them */
		int po = json_is_string(json_object_get(c, "pushover_user")),
		    wh = json_is_string(json_object_get(c, "webhook_url"));
		json_array_foreach(json_object_get(c, "redacted"), j, k) {
			po |= strcmp(json_string_value(k) ? json_string_value(k) : "", "pushover_user") == 0;
			wh |= strcmp(json_string_value(k) ? json_string_value(k) : "", "webhook_url") == 0;
		}
		printf("%-20s %-32s %-9s %-8s ", jstr(c, "name", "?"), jstr(c, "email", "-"),
		    po ? "yes" : "-", wh ? "yes" : "-");
		json_array_foreach(on, j, k)
			printf("%s%s", j ? "," : "", json_string_value(k) ? json_string_value(k) : "?");
		putchar('\n');
	}
}

int
cmd_contacts(const struct cli_args *a)
{
	(void)a;
	return print_list("/api/v1/contacts", contacts_rows);
}

int
cmd_contacts_create(const struct cli_args *a)
{
	json_t *body = json_pack("{s:s}", "name", a->argv[0]);
	int rc;

	opt_members(a, contact_members, body);
	rc = create_named(N_CONTACT, a->argv[0], body);
	json_decref(body);
	return rc;
}

int
cmd_contacts_edit(const struct cli_args *a)
{
	json_t *body = json_object();
	int rc;

	opt_members(a, contact_members, body);
	if (json_object_size(body) == 0) {
		json_decref(body);
		return usage("contacts edit: nothing to change");
	}
	rc = patch_named(N_CONTACT, a->argv[0], body);
	json_decref(body);
	return rc;
}

/* ---- users ----------------------------------------------------------------------- */

/*
 * The password, one line of standard input (its newline dropped), into
 * body; 0 or an exit status. Never an argument: ps(1) would show it.
 */
static int
read_password(json_t *body)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t n = getline(&line, &cap, stdin);
	int rc = 0;

	if (n <= 0) {
		rc = usage("--password-stdin: no password on standard input");
	} else {
		while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
			line[--n] = '\0';
		if (n == 0)
			rc = usage("--password-stdin: the password is empty");
		else
			json_object_set_new(body, "password", json_stringn(line, (size_t)n));
	}
	if (line) {
		memset(line, 0, cap);
		free(line);
	}
	return rc;
}

static const struct opt_member user_members[] = {
	{ O_NAME, "name", M_STRING }, { O_EMAIL, "email", M_CLEARABLE },
	{ O_PUSHOVER_USER, "pushover_user", M_CLEARABLE }, { O_ROLE, "role", M_STRING },
	{ O_TZ, "tz", M_STRING }, { 0, NULL, 0 },
};

/* The members of a user that create and edit share; 0 or an exit status. */
static int
user_body(const struct cli_args *a, json_t *body)
{
	opt_members(a, user_members, body);
	if (a->val[O_QUIET]) {
		/* "mon-fri 22:00-07:00;sat,sun 00:00-00:00"; "" clears them */
		json_t *w = json_array();
		const char *p = a->val[O_QUIET];
		while (*p) {
			size_t n = strcspn(p, ";");
			if (n > 0)
				json_array_append_new(w, json_stringn(p, n));
			p += n + (p[n] == ';');
		}
		json_object_set_new(body, "quiet_hours", w);
	}
	if (a->val[O_PASSWORD_STDIN] && a->val[O_NO_PASSWORD])
		return usage("--password-stdin and --no-password: one or the other");
	if (a->val[O_NO_PASSWORD])
		json_object_set_new(body, "password", json_null());
	if (a->val[O_PASSWORD_STDIN])
		return read_password(body);
	return 0;
}

/* the table of `custos users` */
static void
users_rows(json_t *items)
{
	json_t *u, *k;
	size_t i, j;

	printf("%-20s %-9s %-20s %-32s %-9s %s\n", "USER", "ROLE", "TZ", "EMAIL", "PUSHOVER",
	    "PASSWORD");
	json_array_foreach(items, i, u) {
		/* a non-admin sees that a user has a Pushover key, not the key */
		int po = json_is_string(json_object_get(u, "pushover_user"));
		json_array_foreach(json_object_get(u, "redacted"), j, k)
			po |= strcmp(json_string_value(k) ? json_string_value(k) : "",
			    "pushover_user") == 0;
		printf("%-20s %-9s %-20s %-32s %-9s %s\n", jstr(u, "name", "?"),
		    jstr(u, "role", "?"), jstr(u, "tz", "?"), jstr(u, "email", "-"),
		    po ? "yes" : "-",
		    json_is_true(json_object_get(u, "has_password")) ? "yes" : "-");
	}
}

int
cmd_users(const struct cli_args *a)
{
	(void)a;
	return print_list("/api/v1/users", users_rows);
}

int
cmd_users_create(const struct cli_args *a)
{
	json_t *body = json_pack("{s:s}", "name", a->argv[0]);
	int rc;

	if ((rc = user_body(a, body)) == 0)
		rc = create_named(N_USER, a->argv[0], body);
	json_decref(body);
	return rc;
}

int
cmd_users_edit(const struct cli_args *a)
{
	json_t *body = json_object();
	int rc;

	if ((rc = user_body(a, body)) != 0) {
		json_decref(body);
		return rc;
	}
	if (json_object_size(body) == 0) {
		json_decref(body);
		return usage("users edit: nothing to change");
	}
	rc = patch_named(N_USER, a->argv[0], body);
	json_decref(body);
	return rc;
}

/* ---- downtimes ----------------------------------------------------------------- */

/* The name of the object with that id in items ("?" when none). */
static const char *
name_of(json_t *items, json_t *id)
{
	json_t *o;
	size_t i;

	json_array_foreach(items, i, o)
		if (json_integer_value(json_object_get(o, "id")) == json_integer_value(id))
			return jstr(o, "name", "?");
	return "?";
}

int
cmd_downtimes(const struct cli_args *a)
{
	json_t *items, *agents = NULL, *checks = NULL, *d;
	char path[128] = "/api/v1/downtimes", agent[256];
	const char *check;
	long long aid = 0, id = 0;
	size_t i;
	int rc;

	if (a->argc && strchr(a->argv[0], '/') && split_check(a->argv[0], agent, &check) < 0)
		return usage("downtimes: expected AGENT or AGENT/CHECK, got \"%s\"", a->argv[0]);
	if (a->argc && strchr(a->argv[0], '/'))
		rc = check_id(agent, check, &aid, &id);
	else if (a->argc)
		rc = agent_id(a->argv[0], &aid);
	else
		rc = 0;
	if (rc)
		return rc;
	if (id)
		snprintf(path, sizeof(path), "/api/v1/downtimes?check_id=%lld", id);
	else if (aid)
		snprintf(path, sizeof(path), "/api/v1/downtimes?agent_id=%lld", aid);
	if (a->val[O_ACTIVE])
		snprintf(path + strlen(path), sizeof(path) - strlen(path), "%sactive=true",
		    strchr(path, '?') ? "&" : "?");
	if ((rc = http_get_all(path, &items)) != 0)
		return rc;
	if (opt_json) {
		print_json(items);
		json_decref(items);
		return 0;
	}
	if ((rc = http_get_all("/api/v1/agents", &agents)) != 0 ||
	    (rc = http_get_all("/api/v1/checks", &checks)) != 0) {
		json_decref(items);
		json_decref(agents);
		return rc;
	}
	printf("%-6s %-32s %-22s %-22s %-6s %s\n", "ID", "AGENT/CHECK", "START", "END", "ACTIVE",
	    "COMMENT");
	json_array_foreach(items, i, d) {
		char what[300], out[OUT_WIDTH + 8];
		json_t *cid = json_object_get(d, "check_id");
		if (json_is_integer(cid)) {
			json_t *c = NULL, *x;
			size_t j;
			json_array_foreach(checks, j, x)
				if (json_integer_value(json_object_get(x, "id")) == json_integer_value(cid))
					c = x;
			snprintf(what, sizeof(what), "%s/%s", name_of(agents, json_object_get(c, "agent_id")),
			    jstr(c, "name", "?"));
		} else {
			snprintf(what, sizeof(what), "%s", name_of(agents, json_object_get(d, "agent_id")));
		}
		if (json_is_string(json_object_get(d, "recurring"))) {
			/* a recurring definition: its window where the times go */
			char when[128];
			snprintf(when, sizeof(when), "every %s %s", jstr(d, "recurring", "?"),
			    jstr(d, "tz", "UTC"));
			printf("%-6lld %-32s %-45s %-6s %s\n",
			    (long long)json_integer_value(json_object_get(d, "id")), what, when,
			    json_is_true(json_object_get(d, "active")) ? "yes" : "no",
			    first_line(jstr(d, "comment", ""), out));
			continue;
		}
		printf("%-6lld %-32s %-22s %-22s %-6s %s\n",
		    (long long)json_integer_value(json_object_get(d, "id")), what, jstr(d, "start", "?"),
		    jstr(d, "end", "?"), json_is_true(json_object_get(d, "active")) ? "yes" : "no",
		    first_line(jstr(d, "comment", ""), out));
	}
	json_decref(items);
	json_decref(agents);
	json_decref(checks);
	return 0;
}

int
cmd_downtimes_show(const struct cli_args *a)
{
	char path[64];
	long long id;
	int rc;

	if ((rc = parse_id("downtimes show", a->argv[0], &id)) != 0)
		return rc;
	snprintf(path, sizeof(path), "/api/v1/downtimes/%lld", id);
	return show(path);
}

int
cmd_downtimes_delete(const struct cli_args *a)
{
	char path[64], msg[64];
	long long id;
	int rc;

	if ((rc = parse_id("downtimes delete", a->argv[0], &id)) != 0)
		return rc;
	snprintf(path, sizeof(path), "/api/v1/downtimes/%lld", id);
	snprintf(msg, sizeof(msg), "downtime %lld cancelled", id);
	return delete(path, msg);
}

/* ---- templates ----------------------------------------------------------------- */

/*
 * The -f files as the template's checks (*out): every object they hold is
 * a check definition ("kind: check" allowed, and dropped). 0, or an exit
 * status after saying why (file:line:column).
 */
static int
template_checks(const struct cli_args *a, json_t **out)
{
	struct yaml_set set;
	char err[1024];
	size_t i;

	*out = NULL;
	memset(&set, 0, sizeof(set));
	if (yaml_load_paths((char *const *)a->files, a->nfiles, &set, err, sizeof(err)) < 0) {
		fprintf(stderr, "custos: %s\n", err);
		yaml_set_free(&set);
		return EXIT_REFUSED;
	}
	*out = json_array();
	for (i = 0; i < set.n; i++) {
		json_t *k = json_object_get(set.o[i].obj, "kind");
		if (k && !(json_is_string(k) && strcmp(json_string_value(k), "check") == 0)) {
			fprintf(stderr, "custos: %s:%d:%d: a template's file holds checks only "
			    "(kind: check, or no kind)\n", set.o[i].file, set.o[i].line, set.o[i].col);
			json_decref(*out);
			*out = NULL;
			yaml_set_free(&set);
			return EXIT_REFUSED;
		}
		json_object_del(set.o[i].obj, "kind");
		json_array_append(*out, set.o[i].obj);
	}
	yaml_set_free(&set);
	return 0;
}

/* the table of `custos templates` */
static void
templates_rows(json_t *items)
{
	json_t *r;
	size_t i;

	printf("%-24s %6s %6s  %s\n", "TEMPLATE", "CHECKS", "AGENTS", "SELECTOR");
	json_array_foreach(items, i, r)
		printf("%-24s %6zu %6lld  %s\n", jstr(r, "name", "?"),
		    json_array_size(json_object_get(r, "checks")),
		    (long long)json_integer_value(json_object_get(r, "agents")),
		    jstr(r, "selector", ""));
}

int
cmd_templates(const struct cli_args *a)
{
	(void)a;
	return print_list("/api/v1/templates", templates_rows);
}

int
cmd_templates_create(const struct cli_args *a)
{
	json_t *body, *checks = NULL;
	char path[128];
	int rc;

	if ((rc = named_path(N_TEMPLATE, "create", a->argv[0], path, sizeof(path))) != 0)
		return rc;
	if (!a->val[O_SELECTOR] || a->nfiles == 0)
		return usage("templates create: --selector and -f CHECKS.yaml are needed");
	if ((rc = template_checks(a, &checks)) != 0)
		return rc;
	body = json_pack("{s:s,s:s,s:o}", "name", a->argv[0], "selector", a->val[O_SELECTOR],
	    "checks", checks);
	rc = create_named(N_TEMPLATE, a->argv[0], body);
	json_decref(body);
	return rc;
}

int
cmd_templates_edit(const struct cli_args *a)
{
	json_t *body, *checks = NULL;
	char path[128];
	int rc;

	if ((rc = named_path(N_TEMPLATE, "edit", a->argv[0], path, sizeof(path))) != 0)
		return rc;
	if (!a->val[O_SELECTOR] && a->nfiles == 0)
		return usage("templates edit: nothing to change (--selector, -f CHECKS.yaml)");
	if (a->nfiles && (rc = template_checks(a, &checks)) != 0)
		return rc;
	body = json_object();
	if (a->val[O_SELECTOR])
		json_object_set_new(body, "selector", json_string(a->val[O_SELECTOR]));
	if (checks)
		json_object_set_new(body, "checks", checks);
	rc = patch_path(path, body, N_TEMPLATE, a->argv[0]);
	json_decref(body);
	return rc;
}

/* ---- rotations and who is on call ------------------------------------------------ */

/* The members of a rotation that create and edit share. */
static const struct opt_member rotation_members[] = {
	{ O_NAME, "name", M_STRING }, { O_MEMBERS, "members", M_CSV }, { O_SHIFT, "shift", M_STRING },
	{ O_HANDOFF, "handoff", M_STRING }, { O_HANDOFF_DAY, "handoff_day", M_CLEARABLE },
	{ O_TZ, "tz", M_STRING }, { O_FIRST_DAY, "start", M_STRING }, { 0, NULL, 0 },
};

/* the table of `custos rotations` */
static void
rotations_rows(json_t *items)
{
	json_t *r, *m;
	size_t i, j;

	printf("%-20s %-9s %-8s %-4s %-20s %s\n", "ROTATION", "SHIFT", "HANDOFF", "DAY", "TZ",
	    "MEMBERS");
	json_array_foreach(items, i, r) {
		printf("%-20s %-9s %-8s %-4s %-20s ", jstr(r, "name", "?"), jstr(r, "shift", "?"),
		    jstr(r, "handoff", "?"), jstr(r, "handoff_day", "-"), jstr(r, "tz", "?"));
		json_array_foreach(json_object_get(r, "members"), j, m)
			printf("%s%s", j ? "," : "", json_string_value(m) ? json_string_value(m) : "?");
		printf("\n");
	}
}

int
cmd_rotations(const struct cli_args *a)
{
	(void)a;
	return print_list("/api/v1/rotations", rotations_rows);
}

int
cmd_rotations_create(const struct cli_args *a)
{
	json_t *body;
	char path[128];
	int rc;

	if ((rc = named_path(N_ROTATION, "create", a->argv[0], path, sizeof(path))) != 0)
		return rc;
	if (!a->val[O_MEMBERS] || !a->val[O_SHIFT])
		return usage("rotations create: --members and --shift are needed");
	body = json_pack("{s:s}", "name", a->argv[0]);
	opt_members(a, rotation_members, body);
	rc = create_named(N_ROTATION, a->argv[0], body);
	json_decref(body);
	return rc;
}

int
cmd_rotations_edit(const struct cli_args *a)
{
	json_t *body;
	char path[128];
	int rc;

	if ((rc = named_path(N_ROTATION, "edit", a->argv[0], path, sizeof(path))) != 0)
		return rc;
	body = json_object();
	opt_members(a, rotation_members, body);
	if (json_object_size(body) == 0) {
		json_decref(body);
		return usage("rotations edit: nothing to change");
	}
	rc = patch_path(path, body, N_ROTATION, a->argv[0]);
	json_decref(body);
	return rc;
}

int
cmd_rotations_override(const struct cli_args *a)
{
	char path[128], msg[400], s[RFC3339_LEN], e[RFC3339_LEN];
	long long start = a->val[O_START] ? a->num[O_START] : time_now_us(), end;
	json_t *body, *out = NULL;
	int rc;

	if ((rc = name_in_path(N_ROTATION, a->argv[0], "/overrides", path, sizeof(path))) != 0)
		return rc;
	if (!!a->val[O_END] == !!a->val[O_FOR])
		return usage("rotations override: --end TIME or --for DURATION (one of them)");
	end = a->val[O_END] ? a->num[O_END] : start + a->num[O_FOR] * 1000000LL;
	rfc3339_format(start, s);
	rfc3339_format(end, e);
	body = json_pack("{s:s,s:s,s:s}", "user", a->argv[1], "start", s, "end", e);
	rc = http_request("POST", path, body, &out);
	json_decref(body);
	snprintf(msg, sizeof(msg), "%s is on call for %s from %s to %s", a->argv[1], a->argv[0], s, e);
	return rc ? rc : print_done(out, msg);
}

int
cmd_oncall(const struct cli_args *a)
{
	char path[192], at[RFC3339_LEN], q[RFC3339_LEN + 8];
	json_t *o;
	int rc;

	q[0] = '\0';
	if (a->val[O_AT]) {
		rfc3339_format(a->num[O_AT], at);
		snprintf(q, sizeof(q), "?at=%s", at);
	}
	if ((rc = name_in_path(N_ROTATION, a->argv[0], "/oncall", path,
	    sizeof(path) - sizeof(q))) != 0)
		return rc;
	memcpy(path + strlen(path), q, strlen(q) + 1);   /* room kept above */
	if ((rc = http_request("GET", path, NULL, &o)) != 0)
		return rc;
	if (opt_json) {
		print_json(o);
	} else {
		int over = json_is_true(json_object_get(o, "override"));

		/* after an override the order resumes with whom it had scheduled */
		printf("%s is on call for %s until %s%s, then %s\n", jstr(o, "user", "?"),
		    jstr(o, "rotation", "?"), jstr(o, "end", "?"), over ? " (an override)" : "",
		    over ? jstr(o, "scheduled", "?") : jstr(json_object_get(o, "next"), "user", "?"));
	}
	json_decref(o);
	return 0;
}
