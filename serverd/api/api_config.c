/*
 * api_config.c - POST /api/v1/config: the whole desired configuration in
 * one request (monitoring as code: custos apply, docs/config-as-code.md).
 *
 * The body is {"objects": [{"kind", "name", ...the API object's fields}]}.
 * Each object is validated by its kind's rules (the helpers the routes of
 * that object use) and brought to a canonical form: every field the kind
 * manages, defaults filled, names where the database keeps ids. The
 * database's objects are read in the same form, one query a store, so a
 * plan is two JSON objects compared field by field. The plan is answered
 * (?dry_run=1) or carried out in the transaction that read the database,
 * one statement a store and action (jsonb_to_recordset): 10,000 checks
 * are a handful of round trips, not 10,000.
 *
 * Kinds are a table (kinds[]): a kind names its store (where its rows
 * live: "contact" and "user" share the contacts table, and so their
 * names), the members it takes and its normaliser. A kind added later is
 * a row, its normaliser, and a store when it has a table of its own.
 *
 * Every error names the object (its index in "objects", kind and name)
 * and the field, so that custos apply can point at file:line:column; all
 * of the set's errors are answered at once (up to CONFIG_ERRORS_MAX).
 */
#include "config.h"
#include "api.h"
#include "apiutil.h"
#include "byname.h"
#include "auth.h"
#include "buf.h"
#include "check.h"
#include "db.h"
#include "hbeat.h"
#include "jobs.h"
#include "oncall.h"
#include "range.h"
#include "serverd.h"
#include "strnum.h"
#include "timeutil.h"
#include "tz.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NAME_MAX_LEN 200
#define COMMENT_MAX 4096
#define CONFIG_ERRORS_MAX 100

/* ---- stores: where the rows are, and the statements that read and write them -- */

/* contacts named (an ordered JSON array of names, or null) as ids, and back */
#define IDS_OF(x) \
	"CASE WHEN " x " IS NULL OR jsonb_typeof(" x ") <> 'array' THEN NULL ELSE" \
	" ARRAY(SELECT ct.id FROM jsonb_array_elements_text(" x ") WITH ORDINALITY n(v, i)" \
	" JOIN contacts ct ON ct.name = n.v ORDER BY n.i) END"
#define NAMES_OF(x) \
	"CASE WHEN " x " IS NULL THEN NULL ELSE COALESCE((SELECT jsonb_agg(ct.name ORDER BY n.i)" \
	" FROM unnest(" x ") WITH ORDINALITY n(id, i) JOIN contacts ct ON ct.id = n.id), '[]') END"

/* parents as names; most lists are empty, and a call a row cost the load most of its time */
#define PARENT_NAMES(x) \
	"CASE WHEN " x " = '{}' THEN '[]'::jsonb ELSE check_parent_names(" x ") END"

/* each load: id, managed, the canonical object, the kind export writes */
static const struct db_stmt q_load_contacts = { "config_load_contacts",
	"SELECT id, managed, jsonb_build_object('name', name, 'email', NULLIF(email, ''),"
	" 'pushover_user', NULLIF(pushover_user, ''), 'pushover_device', NULLIF(pushover_device, ''),"
	" 'pushover_emergency', pushover_emergency, 'webhook_url', NULLIF(webhook_url, ''),"
	" 'notify_on', to_jsonb(notify_on), 'role', role, 'tz', tz)::text,"
	" CASE WHEN role = 'viewer' AND tz = 'UTC' AND (COALESCE(email, '') <> ''"
	"  OR COALESCE(pushover_user, '') <> '' OR COALESCE(webhook_url, '') <> '')"
	"  THEN 'contact' ELSE 'user' END"
	" FROM contacts ORDER BY name", 0 };
static const struct db_stmt q_load_agents = { "config_load_agents",
	"SELECT a.id, a.managed, jsonb_build_object('name', a.name, 'interval_s', a.interval_s,"
	" 'contacts', " NAMES_OF("a.contacts") ", 'labels', a.labels,"
	" 'parents', " PARENT_NAMES("a.parents") ")::text, 'agent'"
	" FROM agents a ORDER BY a.name", 0 };
static const struct db_stmt q_load_checks = { "config_load_checks",
	"SELECT c.id, c.managed, jsonb_build_object('agent', a.name, 'name', c.name, 'type', c.type,"
	" 'params', c.params, 'warning', c.warning, 'critical', c.critical,"
	" 'max_attempts', c.max_attempts, 'enabled', c.enabled,"
	" 'contacts', " NAMES_OF("c.contacts") ", 'labels', c.labels,"
	" 'parents', " PARENT_NAMES("c.parents") ")::text, 'check'"
	" FROM checks c JOIN agents a ON a.id = c.agent_id"
	/* a template's checks are its template's configuration, not their own */
	" WHERE c.template IS NULL ORDER BY a.name, c.name", 0 };
/* a downtime made by hand has no name, and is not configuration */
static const struct db_stmt q_load_downtimes = { "config_load_downtimes",
	"SELECT d.id, d.managed, jsonb_build_object('name', d.name, 'agent', a.name,"
	" 'check', ca.name || '/' || c.name, 'start', rfc3339(d.start_at),"
	" 'end', rfc3339(d.end_at), 'comment', d.comment)::text, 'downtime'"
	" FROM downtimes d LEFT JOIN agents a ON a.id = d.agent_id"
	" LEFT JOIN checks c ON c.id = d.check_id LEFT JOIN agents ca ON ca.id = c.agent_id"
	" WHERE d.name IS NOT NULL ORDER BY d.name", 0 };

#define CONTACT_COLS "x(id bigint, name text, email text, pushover_user text," \
	" pushover_device text, pushover_emergency boolean, webhook_url text, notify_on jsonb," \
	" role text, tz text)"
static const struct db_stmt q_create_contacts = { "config_create_contacts",
	"INSERT INTO contacts (name, email, pushover_user, pushover_device, pushover_emergency,"
	" webhook_url, notify_on, role, tz, managed)"
	" SELECT x.name, x.email, x.pushover_user, x.pushover_device, x.pushover_emergency,"
	" x.webhook_url, ARRAY(SELECT jsonb_array_elements_text(x.notify_on)),"
	" COALESCE(x.role, 'viewer'), COALESCE(x.tz, 'UTC'), true"
	" FROM jsonb_to_recordset($1::jsonb) AS " CONTACT_COLS, 1 };
/* a "contact" leaves role and tz as they are; a "user" sets them */
static const struct db_stmt q_update_contacts = { "config_update_contacts",
	"UPDATE contacts ct SET email = x.email, pushover_user = x.pushover_user,"
	" pushover_device = x.pushover_device, pushover_emergency = x.pushover_emergency,"
	" webhook_url = x.webhook_url, notify_on = ARRAY(SELECT jsonb_array_elements_text(x.notify_on)),"
	" role = COALESCE(x.role, ct.role), tz = COALESCE(x.tz, ct.tz)"
	" FROM jsonb_to_recordset($1::jsonb) AS " CONTACT_COLS " WHERE ct.id = x.id", 1 };
/* as DELETE /api/v1/contacts/{id}: gone from every contact list too */
static const struct db_stmt q_delete_contacts = { "config_delete_contacts",
	"WITH d AS (DELETE FROM contacts WHERE id = ANY ($1::bigint[]) RETURNING id),"
	" c AS (UPDATE checks SET contacts = ARRAY(SELECT v FROM unnest(contacts) WITH ORDINALITY"
	"   n(v, i) WHERE v <> ALL ($1::bigint[]) ORDER BY i) WHERE contacts && $1::bigint[]),"
	" a AS (UPDATE agents SET contacts = ARRAY(SELECT v FROM unnest(contacts) WITH ORDINALITY"
	"   n(v, i) WHERE v <> ALL ($1::bigint[]) ORDER BY i) WHERE contacts && $1::bigint[])"
	" SELECT count(*) FROM d", 1 };

#define AGENT_COLS "x(id bigint, name text, interval_s integer, contacts jsonb, labels jsonb)"
/* an agent made here has a token nobody knows (its hash is of random
 * bytes): POST /api/v1/agents/{id}/token gives it one to paste */
static const struct db_stmt q_create_agents = { "config_create_agents",
	"INSERT INTO agents (name, interval_s, contacts, labels, token_hash, managed)"
	" SELECT x.name, x.interval_s, " IDS_OF("x.contacts") ", x.labels,"
	" sha256(convert_to(gen_random_uuid()::text || gen_random_uuid()::text, 'UTF8')), true"
	" FROM jsonb_to_recordset($1::jsonb) AS " AGENT_COLS, 1 };
static const struct db_stmt q_update_agents = { "config_update_agents",
	"UPDATE agents a SET interval_s = x.interval_s, contacts = " IDS_OF("x.contacts") ","
	" labels = x.labels FROM jsonb_to_recordset($1::jsonb) AS " AGENT_COLS " WHERE a.id = x.id", 1 };
static const struct db_stmt q_delete_agents = { "config_delete_agents",
	"DELETE FROM agents WHERE id = ANY ($1::bigint[])", 1 };

#define CHECK_COLS "x(id bigint, agent text, name text, type text, params jsonb, warning text," \
	" critical text, max_attempts integer, enabled boolean, contacts jsonb, labels jsonb," \
	" old_type text)"
/* both answer (id, type, type before): heartbeats are kept in step after */
static const struct db_stmt q_create_checks = { "config_create_checks",
	"INSERT INTO checks (agent_id, name, type, params, warning, critical, max_attempts, enabled,"
	" contacts, labels, managed)"
	" SELECT a.id, x.name, x.type, x.params, x.warning, x.critical, x.max_attempts, x.enabled,"
	" " IDS_OF("x.contacts") ", x.labels, true"
	" FROM jsonb_to_recordset($1::jsonb) AS " CHECK_COLS " JOIN agents a ON a.name = x.agent"
	" RETURNING id, type, NULL", 1 };
static const struct db_stmt q_update_checks = { "config_update_checks",
	"UPDATE checks c SET type = x.type, params = x.params, warning = x.warning,"
	" critical = x.critical, max_attempts = x.max_attempts, enabled = x.enabled,"
	" contacts = " IDS_OF("x.contacts") ", labels = x.labels, updated_at = now()"
	" FROM jsonb_to_recordset($1::jsonb) AS " CHECK_COLS " WHERE c.id = x.id"
	" RETURNING c.id, c.type, x.old_type", 1 };
static const struct db_stmt q_delete_checks = { "config_delete_checks",
	"DELETE FROM checks WHERE id = ANY ($1::bigint[])", 1 };

/* a template's checks: their contacts by name here, by id in the table */
#define TPL_CHECKS_NAMED(x) \
	"COALESCE((SELECT jsonb_agg(d.v || jsonb_build_object('contacts'," \
	" CASE WHEN jsonb_typeof(d.v->'contacts') = 'array' THEN COALESCE((SELECT" \
	" jsonb_agg(ct.name ORDER BY n.i) FROM jsonb_array_elements_text(d.v->'contacts')" \
	" WITH ORDINALITY n(x, i) JOIN contacts ct ON ct.id = n.x::bigint), '[]') END) ORDER BY d.i)" \
	" FROM jsonb_array_elements(" x ") WITH ORDINALITY d(v, i)), '[]')"
#define TPL_CHECKS_IDS(x) \
	"COALESCE((SELECT jsonb_agg(d.v || jsonb_build_object('contacts'," \
	" CASE WHEN jsonb_typeof(d.v->'contacts') = 'array' THEN COALESCE((SELECT" \
	" jsonb_agg(ct.id ORDER BY n.i) FROM jsonb_array_elements_text(d.v->'contacts')" \
	" WITH ORDINALITY n(x, i) JOIN contacts ct ON ct.name = n.x), '[]') END) ORDER BY d.i)" \
	" FROM jsonb_array_elements(" x ") WITH ORDINALITY d(v, i)), '[]')"
static const struct db_stmt q_load_templates = { "config_load_templates",
	"SELECT t.id, t.managed, jsonb_build_object('name', t.name, 'selector', t.selector,"
	" 'checks', " TPL_CHECKS_NAMED("t.checks") ")::text, 'template'"
	" FROM templates t ORDER BY t.name", 0 };
#define TEMPLATE_COLS "x(id bigint, name text, selector text, selector_json jsonb, checks jsonb)"
/* the triggers on templates make, change and remove the checks (template_sync()) */
static const struct db_stmt q_create_templates = { "config_create_templates",
	"INSERT INTO templates (name, selector, selector_json, checks, managed)"
	" SELECT x.name, x.selector, x.selector_json, " TPL_CHECKS_IDS("x.checks") ", true"
	" FROM jsonb_to_recordset($1::jsonb) AS " TEMPLATE_COLS, 1 };
static const struct db_stmt q_update_templates = { "config_update_templates",
	"UPDATE templates t SET selector = x.selector, selector_json = x.selector_json,"
	" checks = " TPL_CHECKS_IDS("x.checks") ", updated_at = now()"
	" FROM jsonb_to_recordset($1::jsonb) AS " TEMPLATE_COLS " WHERE t.id = x.id", 1 };
static const struct db_stmt q_delete_templates = { "config_delete_templates",
	"DELETE FROM templates WHERE id = ANY ($1::bigint[])", 1 };

/* ca, cn: the check's agent and name, taken apart here (a name may hold '/') */
#define DOWNTIME_COLS "x(id bigint, name text, agent text, ca text, cn text, start text," \
	" \"end\" text, comment text)"
#define DOWNTIME_TARGET \
	" LEFT JOIN agents a ON a.name = x.agent" \
	" LEFT JOIN (checks c JOIN agents ca ON ca.id = c.agent_id)" \
	"   ON ca.name = x.ca AND c.name = x.cn"
static const struct db_stmt q_create_downtimes = { "config_create_downtimes",
	"INSERT INTO downtimes (name, agent_id, check_id, start_at, end_at, comment, created_by,"
	" managed) SELECT x.name, a.id, c.id, x.start::timestamptz, x.\"end\"::timestamptz,"
	" x.comment, $2, true FROM jsonb_to_recordset($1::jsonb) AS " DOWNTIME_COLS
	DOWNTIME_TARGET, 2 };
/* a window moved after its end (a downtime extended) starts again */
static const struct db_stmt q_update_downtimes = { "config_update_downtimes",
	"UPDATE downtimes d SET agent_id = t.aid, check_id = t.cid, start_at = t.s, end_at = t.e,"
	" comment = t.comment, started = d.started AND NOT (d.ended AND t.e > now()),"
	" ended = d.ended AND NOT t.e > now()"
	" FROM (SELECT x.id, a.id AS aid, c.id AS cid, x.start::timestamptz AS s,"
	"  x.\"end\"::timestamptz AS e, x.comment FROM jsonb_to_recordset($1::jsonb) AS "
	DOWNTIME_COLS DOWNTIME_TARGET ") t WHERE d.id = t.id", 1 };

/*
 * Parents ("agent/check" names) are written after every store's creates and
 * updates, as a parent may be a check the set makes after the agent that
 * names it; decide() made sure each will exist. Then the graph is checked
 * whole for a cycle (parents_cycle(), sql/functions/), which fails the
 * apply. Names to ids as IDS_OF() does for contacts.
 */
#define PARENT_IDS \
	"ARRAY(SELECT pc.id FROM jsonb_array_elements_text(x.parents) WITH ORDINALITY n(v, i)" \
	" JOIN agents pa ON pa.name = split_part(n.v, '/', 1)" \
	" JOIN checks pc ON pc.agent_id = pa.id AND pc.name = substr(n.v, strpos(n.v, '/') + 1)" \
	" ORDER BY n.i)"
static const struct db_stmt q_parents_agents = { "config_parents_agents",
	"UPDATE agents a SET parents = " PARENT_IDS
	" FROM jsonb_to_recordset($1::jsonb) AS x(name text, parents jsonb)"
	" WHERE a.name = x.name AND a.parents IS DISTINCT FROM " PARENT_IDS, 1 };
static const struct db_stmt q_parents_checks = { "config_parents_checks",
	"UPDATE checks c SET parents = " PARENT_IDS
	" FROM jsonb_to_recordset($1::jsonb) AS x(agent text, name text, parents jsonb)"
	" JOIN agents ca ON ca.name = x.agent"
	" WHERE c.agent_id = ca.id AND c.name = x.name AND c.parents IS DISTINCT FROM " PARENT_IDS, 1 };
static const struct db_stmt q_parents_cycle = { "config_parents_cycle",
	"SELECT parents_cycle()", 0 };

/*
 * The check names the set points at (a downtime's "check", a "parents"
 * entry) that are neither the set's checks nor stored checks of their own:
 * those a template makes. The load leaves a template's checks out (they
 * are its configuration), so they are looked for here, after the apply:
 * $1 [{v: "AGENT/CHECK", agent, check, labels: the agent's labels once
 * applied}], $2 [{sel: a parsed selector, checks: [names]}] the templates
 * once applied. An agent's labels from its file and its facts are the
 * stored ones (none for an agent the set makes), as template_sync() sees
 * them. Answers the names some template makes.
 */
static const struct db_stmt q_template_made = { "config_template_made",
	"SELECT n.v FROM jsonb_to_recordset($1::jsonb) AS n(v text, agent text, \"check\" text,"
	" labels jsonb) LEFT JOIN agents a ON a.name = n.agent"
	" WHERE EXISTS (SELECT FROM jsonb_to_recordset($2::jsonb) AS t(sel jsonb, checks jsonb)"
	"  WHERE t.checks ? n.\"check\" AND selector_match(COALESCE(a.agent_labels, '{}')"
	"  || COALESCE(n.labels, '{}'), a.facts, t.sel))", 2 };

/* recurring downtimes (downtime_recurring): named ones only, as downtimes */
static const struct db_stmt q_load_recurring = { "config_load_recurring",
	"SELECT d.id, d.managed, jsonb_build_object('name', d.name, 'agent', a.name,"
	" 'check', ca.name || '/' || c.name, 'recurring', d.recurring, 'tz', d.tz,"
	" 'comment', d.comment)::text, 'downtime'"
	" FROM downtime_recurring d LEFT JOIN agents a ON a.id = d.agent_id"
	" LEFT JOIN checks c ON c.id = d.check_id LEFT JOIN agents ca ON ca.id = c.agent_id"
	" WHERE d.name IS NOT NULL ORDER BY d.name", 0 };
#define RECURRING_COLS "x(id bigint, name text, agent text, ca text, cn text, recurring text," \
	" tz text, comment text)"
/* both answer the ids: their occurrences are planned after (jobs_plan_recurring()) */
static const struct db_stmt q_create_recurring = { "config_create_recurring",
	"INSERT INTO downtime_recurring (name, agent_id, check_id, recurring, tz, comment,"
	" created_by, managed) SELECT x.name, a.id, c.id, x.recurring, x.tz, x.comment, $2, true"
	" FROM jsonb_to_recordset($1::jsonb) AS " RECURRING_COLS DOWNTIME_TARGET " RETURNING id", 2 };
/* a changed definition is planned afresh: its future occurrences go */
static const struct db_stmt q_update_recurring = { "config_update_recurring",
	"WITH u AS (UPDATE downtime_recurring d SET agent_id = t.aid, check_id = t.cid,"
	"  recurring = t.recurring, tz = t.tz, comment = t.comment, planned_until = NULL"
	"  FROM (SELECT x.id, a.id AS aid, c.id AS cid, x.recurring, x.tz, x.comment"
	"   FROM jsonb_to_recordset($1::jsonb) AS " RECURRING_COLS DOWNTIME_TARGET ") t"
	"  WHERE d.id = t.id RETURNING d.id),"
	" f AS (DELETE FROM downtimes o USING u WHERE o.recurring_id = u.id AND o.start_at > now())"
	" SELECT id FROM u", 1 };
/* policies: their steps name users and rotations by name already */
static const struct db_stmt q_load_policies = { "config_load_policies",
	"SELECT id, managed, jsonb_build_object('name', name, 'position', position, 'match', match,"
	" 'continue', continue, 'steps', steps, 'repeat_s', repeat_s,"
	" 'urgent', status_name(urgent))::text, 'policy'"
	" FROM policies ORDER BY position, name", 0 };
#define POLICY_COLS "x(id bigint, name text, position integer, match text, match_sel jsonb," \
	" continue boolean, steps jsonb, repeat_s integer, urgent text)"
#define POLICY_URGENT "array_position(ARRAY['OK', 'WARNING', 'CRITICAL', 'UNKNOWN'], x.urgent) - 1"
static const struct db_stmt q_create_policies = { "config_create_policies",
	"INSERT INTO policies (name, position, match, match_sel, continue, steps, repeat_s, urgent,"
	" managed, created_by, updated_by)"
	" SELECT x.name, x.position, x.match, x.match_sel, x.continue, x.steps, x.repeat_s,"
	" " POLICY_URGENT ", true, $2, $2 FROM jsonb_to_recordset($1::jsonb) AS " POLICY_COLS, 2 };
static const struct db_stmt q_update_policies = { "config_update_policies",
	"UPDATE policies p SET position = x.position, match = x.match, match_sel = x.match_sel,"
	" continue = x.continue, steps = x.steps, repeat_s = x.repeat_s, urgent = " POLICY_URGENT ","
	" updated_at = now(), updated_by = $2"
	" FROM jsonb_to_recordset($1::jsonb) AS " POLICY_COLS " WHERE p.id = x.id", 2 };
static const struct db_stmt q_delete_policies = { "config_delete_policies",
	"DELETE FROM policies WHERE id = ANY ($1::bigint[])", 1 };

static const struct db_stmt q_lock = { "config_lock",
	"SELECT version FROM config_version FOR UPDATE", 0 };
static const struct db_stmt q_version = { "config_version",
	"SELECT version FROM config_version", 0 };
static const struct db_stmt q_actor = { "config_actor",
	"SELECT set_config('custos.actor', $1, true)", 1 };

struct store {
	const char *name;
	const struct db_stmt *load, *create, *update, *del;   /* del NULL: downtime_delete() */
};

/*
 * In the order of creation; deletion goes the other way. Templates after
 * the checks: an agent's own check of a name wins over a template's
 * (template_sync()), so the set's are made first. Policies last: their
 * steps name users.
 */
enum { ST_CONTACT, ST_AGENT, ST_CHECK, ST_TEMPLATE, ST_DOWNTIME, ST_RECURRING, ST_POLICY,
	ST_COUNT };
static const struct store stores[ST_COUNT] = {
	{ "contact", &q_load_contacts, &q_create_contacts, &q_update_contacts, &q_delete_contacts },
	{ "agent", &q_load_agents, &q_create_agents, &q_update_agents, &q_delete_agents },
	{ "check", &q_load_checks, &q_create_checks, &q_update_checks, &q_delete_checks },
	{ "template", &q_load_templates, &q_create_templates, &q_update_templates,
	  &q_delete_templates },
	{ "downtime", &q_load_downtimes, &q_create_downtimes, &q_update_downtimes, NULL },
	/* kind "downtime" with "recurring": a weekly window (sql/031) */
	{ "recurring downtime", &q_load_recurring, &q_create_recurring, &q_update_recurring, NULL },
	{ "policy", &q_load_policies, &q_create_policies, &q_update_policies, &q_delete_policies },
};

/* ---- the plan ------------------------------------------------------------------- */

enum action { ACT_NONE, ACT_CREATE, ACT_UPDATE, ACT_DELETE, ACT_UNCHANGED };
static const char *const action_names[] = { "none", "create", "update", "delete", "unchanged" };

struct kind;

struct obj {
	const struct kind *kind;        /* the set's kind; a row only in the database: its own */
	int store;
	const char *key;                /* its name within the store ("web01/nginx"); in want/have */
	json_t *want, *have;            /* canonical; NULL when absent from the set / the database */
	int64_t id;                     /* 0 when not in the database */
	int managed;
	int index;                      /* in "objects"; -1 when not in the set */
	enum action act;
	json_t *changes;                /* an update's {"field": {"before", "after"}} */
};

struct plan {
	struct req *r;
	struct obj *o;
	size_t n, cap;
	json_t *where;                  /* "store:key" -> position in o */
	json_t *errors;
	json_t *pending;                /* [position in o, field, check name]: template_made() */
	int prune;
};

/*
 * A kind: its members, and a normaliser that validates in (members
 * already checked) and fills out with the canonical object, or fills e and
 * returns -1. key: the member that names the object within its store.
 */
struct kind {
	const char *name;
	int store;
	const char *const *fields;
	int (*norm)(const struct kind *k, json_t *in, json_t *out, struct resp *e);
};

/* ---- normalisers --------------------------------------------------------------- */

/* A JSON copy of member key, or null when absent. */
static json_t *
member(json_t *in, const char *key)
{
	json_t *v = json_object_get(in, key);

	return v ? json_deep_copy(v) : json_null();
}

/* "contacts": an array of contact names, or null (absent). */
static int
contact_list(json_t *in, json_t *out, struct resp *e)
{
	json_t *v = json_object_get(in, "contacts"), *c;
	size_t i;

	if (v == NULL || json_is_null(v)) {
		json_object_set_new(out, "contacts", json_null());
		return 0;
	}
	if (!json_is_array(v)) {
		resp_error(e, 400, "contacts", "contacts must be a list of contact names");
		return -1;
	}
	json_array_foreach(v, i, c)
		if (!json_is_string(c) || json_string_length(c) == 0) {
			resp_error(e, 422, "contacts", "contacts must be a list of contact names "
			    "(item %zu is not a name)", i + 1);
			return -1;
		}
	json_object_set_new(out, "contacts", json_deep_copy(v));
	return 0;
}

static int
labels(json_t *in, json_t *out, struct resp *e)
{
	char *text = NULL;
	int rc = jv_labels(in, "labels", &text, e);

	free(text);
	if (rc < 0)
		return -1;
	json_object_set_new(out, "labels", rc ? member(in, "labels") : json_object());
	return 0;
}

/*
 * "parents": a list of checks named "AGENT/CHECK", [] when absent. That
 * each will exist is decide()'s; the check itself, an agent's own check
 * and cycles are refused by name here, by decide() and by parents_cycle().
 */
static int
parent_list(json_t *in, json_t *out, struct resp *e)
{
	json_t *v = json_object_get(in, "parents"), *c;
	size_t i;

	if (v == NULL || json_is_null(v)) {
		json_object_set_new(out, "parents", json_array());
		return 0;
	}
	if (!json_is_array(v)) {
		resp_error(e, 400, "parents", "parents must be a list of checks named \"agent/check\"");
		return -1;
	}
	json_array_foreach(v, i, c)
		if (!json_is_string(c) || strchr(json_string_value(c), '/') == NULL ||
		    json_string_value(c)[0] == '/') {
			resp_error(e, 422, "parents", "parents must be a list of checks named "
			    "\"agent/check\" (item %zu is not)", i + 1);
			return -1;
		}
	json_object_set_new(out, "parents", json_deep_copy(v));
	return 0;
}

static int
norm_agent(const struct kind *k, json_t *in, json_t *out, struct resp *e)
{
	const char *name;
	long long iv = 60;

	(void)k;
	if (jv_name(in, "name", 1, NAME_MAX_LEN, &name, e) < 0 ||
	    jv_int(in, "interval_s", 0, 5, 86400, &iv, e) < 0)
		return -1;
	if (*name == '\0' || strchr(name, '/')) {
		resp_error(e, 422, "name", "name must be non-empty and without '/'");
		return -1;
	}
	json_object_set_new(out, "name", json_string(name));
	json_object_set_new(out, "interval_s", json_integer(iv));
	return contact_list(in, out, e) < 0 || labels(in, out, e) < 0 ||
	    parent_list(in, out, e) < 0 ? -1 : 0;
}

static int
range_member(json_t *in, json_t *out, const char *key, struct resp *e)
{
	const char *s = NULL;
	struct nrange nr;
	int rc = jv_str(in, key, 0, 64, &s, e);

	if (rc < 0)
		return -1;
	if (rc > 0 && range_parse(s, &nr) < 0) {
		resp_error(e, 422, key, "%s \"%s\" is not a Nagios range (10, 10:, ~:10, 10:20, "
		    "@10:20)", key, s);
		return -1;
	}
	json_object_set_new(out, key, rc > 0 ? json_string(s) : json_null());
	return 0;
}

/*
 * A check: "agent" and "name", or "name": "AGENT/CHECK". The defaults are
 * those of POST /api/v1/checks (api_checks.c): max_attempts by type, a
 * type's default critical range when neither is given.
 */
static int
norm_check(const struct kind *k, json_t *in, json_t *out, struct resp *e)
{
	const char *name, *agent = NULL, *type = NULL, *field = NULL;
	long long ma;
	int enabled = 1;
	json_t *params;
	char err[256];

	if (jv_name(in, "name", 1, 2 * NAME_MAX_LEN + 1, &name, e) < 0 ||
	    jv_name(in, "agent", 0, NAME_MAX_LEN, &agent, e) < 0)
		return -1;
	if (agent == NULL) {
		const char *slash = strchr(name, '/');
		if (slash == NULL || slash == name) {
			resp_error(e, 422, "agent", "a check needs its agent: \"agent\", or a name "
			    "written AGENT/CHECK");
			return -1;
		}
		json_object_set_new(out, "agent", json_stringn(name, (size_t)(slash - name)));
		name = slash + 1;
	} else {
		json_object_set_new(out, "agent", json_string(agent));
	}
	if (*name == '\0' || strlen(name) > NAME_MAX_LEN) {
		resp_error(e, 422, "name", "name must be 1..%d bytes", NAME_MAX_LEN);
		return -1;
	}
	json_object_set_new(out, "name", json_string(name));
	if (strcmp(k->name, "heartbeat") == 0 && json_object_get(in, "type") == NULL)
		type = "heartbeat";
	else if (jv_str(in, "type", 1, 32, &type, e) < 0)
		return -1;
	json_object_set_new(out, "type", json_string(type));
	params = json_object_get(in, "params");
	if (params && json_is_null(params))
		params = NULL;
	if (params && !json_is_object(params)) {
		resp_error(e, 400, "params", "params must be an object");
		return -1;
	}
	if (check_validate(type, params, err, sizeof(err), &field) < 0) {
		resp_error(e, 422, field ? field : "params", "%s", err);
		return -1;
	}
	json_object_set_new(out, "params", params ? json_deep_copy(params) : json_object());
	if (range_member(in, out, "warning", e) < 0 || range_member(in, out, "critical", e) < 0)
		return -1;
	if (json_is_null(json_object_get(out, "warning")) &&
	    json_is_null(json_object_get(out, "critical"))) {
		const struct check_type *ct = check_type_find(type);
		if (ct && ct->default_critical)
			json_object_set_new(out, "critical", json_string(ct->default_critical));
	}
	ma = check_default_max_attempts(type);
	if (jv_int(in, "max_attempts", 0, 1, 100, &ma, e) < 0 || jv_bool(in, "enabled", &enabled, e) < 0)
		return -1;
	json_object_set_new(out, "max_attempts", json_integer(ma));
	json_object_set_new(out, "enabled", json_boolean(enabled));
	return contact_list(in, out, e) < 0 || labels(in, out, e) < 0 ||
	    parent_list(in, out, e) < 0 ? -1 : 0;
}

/* the kinds of notify_on, in the order the API stores them (api_contacts.c) */
static const char *const notify_kinds[] = { "warning", "critical", "unknown", "recovery",
	"flapping", "agent", "acknowledgement", NULL };

/* A contact ("contact": one channel at least) or a user (and its role and zone). */
static int
norm_contact(const struct kind *k, json_t *in, json_t *out, struct resp *e)
{
	static const char *const texts[] = { "email", "pushover_user", "pushover_device",
		"webhook_url", NULL };
	int user = strcmp(k->name, "user") == 0, emergency = 0;
	json_t *on = json_object_get(in, "notify_on"), *list;
	const char *s;
	size_t i, j;

	if (contact_validate(in, !user, e) < 0 || jv_bool(in, "pushover_emergency", &emergency, e) < 0)
		return -1;
	json_object_set_new(out, "name", member(in, "name"));
	for (i = 0; texts[i]; i++) {
		json_t *v = json_object_get(in, texts[i]);
		json_object_set_new(out, texts[i], json_is_string(v) && json_string_length(v) > 0 ?
		    json_copy(v) : json_null());
	}
	json_object_set_new(out, "pushover_emergency", json_boolean(emergency));
	list = json_array();
	for (i = 0; notify_kinds[i]; i++) {
		int want = on == NULL || json_is_null(on);
		json_t *x;
		json_array_foreach(on, j, x)
			if (json_is_string(x) && strcmp(json_string_value(x), notify_kinds[i]) == 0)
				want = 1;
		if (want)
			json_array_append_new(list, json_string(notify_kinds[i]));
	}
	json_object_set_new(out, "notify_on", list);
	if (!user)
		return 0;
	s = "viewer";
	if (jv_str(in, "role", 0, 16, &s, e) < 0)
		return -1;
	if (auth_role_kind(s) == WHO_NONE) {
		resp_error(e, 422, "role", "role must be admin, operator or viewer");
		return -1;
	}
	json_object_set_new(out, "role", json_string(s));
	s = "UTC";
	if (jv_str(in, "tz", 0, 64, &s, e) < 0)
		return -1;
	if (!valid_tz(s)) {
		resp_error(e, 422, "tz", "tz \"%s\" is not a time zone of /usr/share/zoneinfo "
		    "(an IANA name such as Europe/Paris or UTC)", s);
		return -1;
	}
	json_object_set_new(out, "tz", json_string(s));
	return 0;
}

static int
time_member(json_t *in, json_t *out, const char *key, int64_t *us, struct resp *e)
{
	const char *s;
	char t[RFC3339_LEN];

	if (jv_str(in, key, 1, 64, &s, e) < 0)
		return -1;
	if (rfc3339_parse(s, us) < 0) {
		resp_error(e, 422, key, "%s \"%s\" is not an RFC 3339 time", key, s);
		return -1;
	}
	rfc3339_format(*us, t);
	json_object_set_new(out, key, json_string(t));
	return 0;
}

/*
 * A recurring downtime's own members (as POST /api/v1/downtimes takes
 * them): "recurring" ("sun 02:00-04:00", "mon-fri 22:00-23:00"), "tz"
 * (UTC), "comment"; no start or end.
 */
static int
norm_recurring(json_t *in, json_t *out, struct resp *e)
{
	const char *rec, *zone = "UTC", *comment = "";
	struct quiet_window w;
	char err[256];

	if (json_object_get(in, "start") || json_object_get(in, "end")) {
		resp_error(e, 422, json_object_get(in, "start") ? "start" : "end",
		    "a downtime is either recurring or has a start and end, not both");
		return -1;
	}
	if (jv_str(in, "recurring", 1, 128, &rec, e) < 0 || jv_str(in, "tz", 0, 64, &zone, e) < 0 ||
	    jv_str(in, "comment", 0, COMMENT_MAX, &comment, e) < 0)
		return -1;
	if (quiet_window_parse(rec, &w, err, sizeof(err)) < 0) {
		resp_error(e, 422, "recurring", "recurring: %s", err);
		return -1;
	}
	if (zone == NULL)
		zone = "UTC";
	if (tz_get(zone, err, sizeof(err)) == NULL) {
		resp_error(e, 422, "tz", "tz: %s", err);
		return -1;
	}
	json_object_set_new(out, "recurring", json_string(rec));
	json_object_set_new(out, "tz", json_string(zone));
	json_object_set_new(out, "comment", json_string(comment ? comment : ""));
	return 0;
}

/* A named downtime of one agent or one check ("AGENT/CHECK"), start and end given. */
static int
norm_downtime(const struct kind *k, json_t *in, json_t *out, struct resp *e)
{
	const char *name, *agent = NULL, *check = NULL, *comment = "";
	int64_t start, end;

	(void)k;
	if (jv_name(in, "name", 1, NAME_MAX_LEN, &name, e) < 0 ||
	    jv_name(in, "agent", 0, NAME_MAX_LEN, &agent, e) < 0 ||
	    jv_name(in, "check", 0, 2 * NAME_MAX_LEN + 1, &check, e) < 0)
		return -1;
	if (*name == '\0') {
		resp_error(e, 422, "name", "name must not be empty");
		return -1;
	}
	if ((agent == NULL) == (check == NULL)) {
		resp_error(e, 422, agent ? "check" : "agent",
		    "a downtime names exactly one of agent and check");
		return -1;
	}
	if (check && (strchr(check, '/') == NULL || check[0] == '/' || strchr(check, '/')[1] == '\0')) {
		resp_error(e, 422, "check", "check must be written AGENT/CHECK");
		return -1;
	}
	json_object_set_new(out, "name", json_string(name));
	json_object_set_new(out, "agent", agent ? json_string(agent) : json_null());
	json_object_set_new(out, "check", check ? json_string(check) : json_null());
	if (json_object_get(in, "recurring"))
		return norm_recurring(in, out, e);
	if (json_object_get(in, "tz")) {
		resp_error(e, 422, "tz", "tz is for a recurring downtime only");
		return -1;
	}
	if (time_member(in, out, "start", &start, e) < 0 || time_member(in, out, "end", &end, e) < 0)
		return -1;
	if (end <= start) {
		resp_error(e, 422, "end", "end must be after start");
		return -1;
	}
	if (jv_str(in, "comment", 0, COMMENT_MAX, &comment, e) < 0)
		return -1;
	json_object_set_new(out, "comment", json_string(comment ? comment : ""));
	return 0;
}

static const char *const template_check_fields[] = { "name", "type", "params", "warning",
	"critical", "max_attempts", "enabled", "contacts", "labels", NULL };

/*
 * A template: name, selector (as written; parsed again when applied) and
 * its checks, each normalised as a check (norm_check()) without an agent.
 */
static int
norm_template(const struct kind *k, json_t *in, json_t *out, struct resp *e)
{
	/* norm_check() reads only the kind's name */
	static const struct kind check_kind = { "check", ST_CHECK, NULL, NULL };
	const struct kind *ck = &check_kind;
	const char *name, *sel;
	char *parsed = NULL;
	json_t *arr, *d, *list;
	size_t i, j;

	(void)k;
	if (jv_str(in, "name", 1, NAME_MAX_LEN, &name, e) < 0 ||
	    jv_str(in, "selector", 1, 4096, &sel, e) < 0)
		return -1;
	if (!byname_valid(name)) {
		resp_error(e, 422, "name", "name must be 1 to 63 of A-Z a-z 0-9 _ . -");
		return -1;
	}
	if (selector_jsonb("selector", sel, &parsed, e) < 0)
		return -1;
	free(parsed);
	json_object_set_new(out, "name", json_string(name));
	json_object_set_new(out, "selector", json_string(sel));
	arr = json_object_get(in, "checks");
	if (arr == NULL || json_is_null(arr))
		arr = NULL;
	else if (!json_is_array(arr)) {
		resp_error(e, 400, "checks", "checks must be a list of check definitions");
		return -1;
	}
	list = json_array();
	json_object_set_new(out, "checks", list);
	json_array_foreach(arr, i, d) {
		json_t *c = json_object(), *cin;
		const char *cn;
		int bad;

		if (!json_is_object(d)) {
			json_decref(c);
			resp_error(e, 400, "checks", "checks[%zu] is not an object", i);
			return -1;
		}
		/* a check without its agent: one is lent for norm_check(), then dropped */
		cin = json_deep_copy(d);
		json_object_set_new(cin, "agent", json_string("-"));
		bad = jv_known(d, template_check_fields, e) < 0 || norm_check(ck, cin, c, e) < 0;
		json_decref(cin);
		if (!bad && strcmp(json_string_value(json_object_get(c, "type")), "heartbeat") == 0) {
			resp_error(e, 422, "type", "a template cannot make heartbeat checks");
			bad = 1;
		}
		cn = json_string_value(json_object_get(c, "name"));
		for (j = 0; !bad && j < i; j++)
			if (strcmp(cn, json_string_value(json_object_get(json_array_get(list, j),
			    "name"))) == 0) {
				resp_error(e, 422, "name", "a second check named \"%s\"", cn);
				bad = 1;
			}
		if (bad) {
			/* the field, within the template: checks[i].FIELD */
			json_t *f = json_object_get(e->json, "field"), *m = json_object_get(e->json, "error");
			char buf[300], msg[700];
			snprintf(buf, sizeof(buf), "checks[%zu]%s%s", i, f ? "." : "",
			    f ? json_string_value(f) : "");
			snprintf(msg, sizeof(msg), "checks[%zu]: %s", i, m ? json_string_value(m) : "");
			json_object_set_new(e->json, "field", json_string(buf));
			json_object_set_new(e->json, "error", json_string(msg));
			json_decref(c);
			return -1;
		}
		json_object_del(c, "agent");
		json_object_del(c, "parents");   /* a check's own, never a template's */
		json_array_append_new(list, c);
	}
	return 0;
}

/*
 * A policy as its route takes it (api_policies.c's rules); a position not
 * given is 0 (policies of equal position go in name order), so a file's
 * policy says all of its order.
 */
static int
norm_policy(const struct kind *k, json_t *in, json_t *out, struct resp *e)
{
	json_t *body = json_deep_copy(in);
	int rc;

	(void)k;
	if (body == NULL) {
		resp_error(e, 500, NULL, "out of memory");
		return -1;
	}
	json_object_del(body, "kind");
	rc = policy_norm(body, out, e);
	json_decref(body);
	if (rc == 0 && json_is_null(json_object_get(out, "position")))
		json_object_set_new(out, "position", json_integer(0));
	return rc;
}

static const char *const agent_fields[] = { "kind", "name", "interval_s", "contacts", "labels",
	"parents", NULL };
static const char *const check_fields[] = { "kind", "agent", "name", "type", "params", "warning",
	"critical", "max_attempts", "enabled", "contacts", "labels", "parents", NULL };
static const char *const contact_fields[] = { "kind", "name", "email", "pushover_user",
	"pushover_device", "pushover_emergency", "webhook_url", "notify_on", NULL };
static const char *const user_fields[] = { "kind", "name", "email", "pushover_user",
	"pushover_device", "pushover_emergency", "webhook_url", "notify_on", "role", "tz", NULL };
static const char *const downtime_fields[] = { "kind", "name", "agent", "check", "start", "end",
	"comment", "recurring", "tz", NULL };
static const char *const template_fields[] = { "kind", "name", "selector", "checks", NULL };
static const char *const policy_fields[] = { "kind", "name", "position", "match", "continue",
	"steps", "repeat_s", "urgent", NULL };

/* what a file's "kind:" may say; the first of a store is what export writes */
static const struct kind kinds[] = {
	{ "contact", ST_CONTACT, contact_fields, norm_contact },
	{ "user", ST_CONTACT, user_fields, norm_contact },
	{ "agent", ST_AGENT, agent_fields, norm_agent },
	{ "check", ST_CHECK, check_fields, norm_check },
	{ "heartbeat", ST_CHECK, check_fields, norm_check },   /* a check of type heartbeat */
	{ "template", ST_TEMPLATE, template_fields, norm_template },
	{ "downtime", ST_DOWNTIME, downtime_fields, norm_downtime },
	{ "policy", ST_POLICY, policy_fields, norm_policy },
	{ NULL, 0, NULL, NULL },
};

static const struct kind *
kind_find(const char *name)
{
	const struct kind *k;

	for (k = kinds; k->name; k++)
		if (strcmp(k->name, name) == 0)
			return k;
	return NULL;
}

/* ---- building the plan ----------------------------------------------------------- */

static void
add_error(struct plan *p, int index, const char *kind, const char *name, const char *field,
    const char *fmt, ...) __attribute__((format(printf, 6, 7)));

static void
add_error(struct plan *p, int index, const char *kind, const char *name, const char *field,
    const char *fmt, ...)
{
	char msg[768], full[1024];
	va_list ap;
	json_t *e;

	if (json_array_size(p->errors) >= CONFIG_ERRORS_MAX)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (kind && name)
		snprintf(full, sizeof(full), "%s \"%s\": %s", kind, name, msg);
	else
		snprintf(full, sizeof(full), "%s", msg);
	e = json_pack("{s:s}", "error", full);
	if (e == NULL)
		return;
	if (index >= 0)
		json_object_set_new(e, "index", json_integer(index));
	if (kind)
		json_object_set_new(e, "kind", json_string(kind));
	if (name)
		json_object_set_new(e, "name", json_string(name));
	if (field)
		json_object_set_new(e, "field", json_string(field));
	json_array_append_new(p->errors, e);
}

/* The object store:key, or NULL. */
static struct obj *
find(struct plan *p, int store, const char *key)
{
	char k[600];
	json_t *at;

	snprintf(k, sizeof(k), "%d:%s", store, key);
	at = json_object_get(p->where, k);
	return at ? &p->o[json_integer_value(at)] : NULL;
}

static struct obj *
add(struct plan *p, int store, const char *key)
{
	char k[600];
	struct obj *o;

	if (p->n == p->cap) {
		size_t cap = p->cap ? p->cap * 2 : 256;
		struct obj *n = realloc(p->o, cap * sizeof(*n));
		if (n == NULL)
			return NULL;
		p->o = n;
		p->cap = cap;
	}
	o = &p->o[p->n];
	memset(o, 0, sizeof(*o));
	o->store = store;
	o->key = key;
	o->index = -1;
	snprintf(k, sizeof(k), "%d:%s", store, key);
	if (json_object_set_new(p->where, k, json_integer((json_int_t)p->n)) < 0)
		return NULL;
	p->n++;
	return o;
}

/* A check's key: "AGENT/CHECK" (its want or have holds agent and name). */
static char *
obj_key(int store, json_t *c)
{
	char *k;
	const char *name = json_string_value(json_object_get(c, "name"));

	if (store != ST_CHECK)
		return strdup(name ? name : "");
	const char *agent = json_string_value(json_object_get(c, "agent"));
	size_t n;

	agent = agent ? agent : "";
	name = name ? name : "";
	n = strlen(agent) + strlen(name) + 2;
	if ((k = malloc(n)) != NULL)
		snprintf(k, n, "%s/%s", agent, name);
	return k;
}

/* The set's objects, validated and in canonical form; errors into p->errors. */
static int
read_set(struct plan *p, json_t *objects, json_t *keys)
{
	json_t *in;
	size_t i;

	json_array_foreach(objects, i, in) {
		const struct kind *k;
		const char *kn = NULL, *nm;
		struct resp e;
		json_t *out;
		struct obj *o;
		char *key;
		int store;

		memset(&e, 0, sizeof(e));
		nm = json_string_value(json_object_get(in, "name"));
		if (!json_is_object(in)) {
			add_error(p, (int)i, NULL, NULL, NULL, "objects[%zu] is not an object", i);
			continue;
		}
		if (jv_str(in, "kind", 1, 32, &kn, &e) < 0 || (k = kind_find(kn)) == NULL) {
			add_error(p, (int)i, NULL, nm, "kind", "%s", kn ? "unknown kind (agent, check, "
			    "heartbeat, contact, user, template, downtime, policy)" : "every object needs a kind");
			json_decref(e.json);
			continue;
		}
		out = json_object();
		if (out == NULL)
			return -1;
		if (jv_known(in, k->fields, &e) < 0 || k->norm(k, in, out, &e) < 0) {
			json_t *f = json_object_get(e.json, "field"), *ag = json_object_get(in, "agent");
			char shown[420];
			/* a check is shown by its key, AGENT/CHECK */
			snprintf(shown, sizeof(shown), "%s%s%s", k->store == ST_CHECK &&
			    json_is_string(ag) ? json_string_value(ag) : "", k->store == ST_CHECK &&
			    json_is_string(ag) ? "/" : "", nm ? nm : "?");
			add_error(p, (int)i, k->name, shown, json_string_value(f), "%s",
			    json_string_value(json_object_get(e.json, "error")));
			json_decref(e.json);
			json_decref(out);
			continue;
		}
		/* a downtime with "recurring" lives with the recurring definitions */
		store = k->store == ST_DOWNTIME && json_object_get(out, "recurring") ? ST_RECURRING :
		    k->store;
		if ((key = obj_key(store, out)) == NULL) {
			json_decref(out);
			return -1;
		}
		/* the key lives as long as the plan: kept in keys */
		json_array_append_new(keys, json_string(key));
		free(key);
		key = (char *)json_string_value(json_array_get(keys, json_array_size(keys) - 1));
		if ((o = find(p, store, key)) != NULL ||
		    (k->store == ST_DOWNTIME && (o = find(p, store == ST_DOWNTIME ? ST_RECURRING :
		    ST_DOWNTIME, key)) != NULL)) {
			add_error(p, (int)i, k->name, key, "name", "named twice in the set (objects %d and %zu)",
			    o->index, i);
			json_decref(out);
			continue;
		}
		if ((o = add(p, store, key)) == NULL) {
			json_decref(out);
			return -1;
		}
		o->kind = k;
		o->want = out;
		o->index = (int)i;
	}
	return 0;
}

/* The database's objects, matched with the set's. 0, or -1 with rs filled. */
static int
read_db(struct plan *p, json_t *keys, struct resp *rs)
{
	int s;

	for (s = 0; s < ST_COUNT; s++) {
		PGresult *q = db_exec(p->r->db, stores[s].load, NULL);
		int i, n;

		if (!db_ok(q, PGRES_TUPLES_OK)) {
			resp_db_error(rs, p->r->db, q);
			PQclear(q);
			return -1;
		}
		n = PQntuples(q);
		for (i = 0; i < n; i++) {
			json_t *have = json_loads(PQgetvalue(q, i, 2), 0, NULL);
			char *key = have ? obj_key(s, have) : NULL;
			const char *es, *k;
			struct obj *o;

			if (key == NULL) {
				json_decref(have);
				PQclear(q);
				resp_error(rs, 500, NULL, "out of memory");
				return -1;
			}
			json_array_append_new(keys, json_string(key));
			free(key);
			k = json_string_value(json_array_get(keys, json_array_size(keys) - 1));
			if ((o = find(p, s, k)) == NULL) {
				if ((o = add(p, s, k)) == NULL) {
					json_decref(have);
					PQclear(q);
					resp_error(rs, 500, NULL, "out of memory");
					return -1;
				}
				o->kind = kind_find(PQgetvalue(q, i, 3));
			}
			o->have = have;
			o->id = str_to_ll(PQgetvalue(q, i, 0), 1, INT64_MAX, &es);
			o->managed = PQgetvalue(q, i, 1)[0] == 't';
		}
		PQclear(q);
	}
	return 0;
}

/* Does name exist in store s once the plan is carried out? */
static int
will_exist(struct plan *p, int s, const char *name)
{
	struct obj *o = find(p, s, name);

	return o && (o->want || (o->have && o->act != ACT_DELETE));
}

static void
need_error(struct plan *p, struct obj *o, int s, const char *field, const char *name)
{
	add_error(p, o->index, o->kind->name, o->key, field,
	    "%s \"%s\" is neither in the set nor on the server%s", stores[s].name, name,
	    find(p, s, name) ? " (or is pruned)" : s == ST_CHECK ? " (nor made by a template)" : "");
}

/* A check no set's or stored check of its own: a template's, perhaps (template_made()). */
static void
need(struct plan *p, struct obj *o, int s, const char *field, const char *name)
{
	if (name == NULL || will_exist(p, s, name))
		return;
	if (s == ST_CHECK && find(p, s, name) == NULL)
		json_array_append_new(p->pending, json_pack("[I, s, s]", (json_int_t)(o - p->o),
		    field, name));
	else
		need_error(p, o, s, field, name);
}

/* What a store's object will be once applied (want, or have when kept), or NULL. */
static json_t *
after(struct obj *o)
{
	return o->want ? o->want : o->have && o->act != ACT_DELETE ? o->have : NULL;
}

/*
 * The pending check names (need()) a template makes once the plan is
 * carried out (q_template_made); the others are errors. The agents and
 * the templates as they will be come from the plan. 0, or -1 with rs filled.
 */
static int
template_made(struct plan *p, struct resp *rs)
{
	json_t *names = json_array(), *tpls = json_array(), *made = json_object(), *x;
	char *t1 = NULL, *t2 = NULL;
	const char *v[2];
	PGresult *q = NULL;
	size_t i;
	int rc = -1, row;

	if (json_array_size(p->pending) == 0) {
		rc = 0;
		goto done;
	}
	json_array_foreach(p->pending, i, x) {
		const char *nm = json_string_value(json_array_get(x, 2)), *slash = strchr(nm, '/');
		char agent[NAME_MAX_LEN + 1];
		struct obj *a;

		snprintf(agent, sizeof(agent), "%.*s", (int)(slash - nm), nm);
		a = find(p, ST_AGENT, agent);
		if (a && after(a))
			json_array_append_new(names, json_pack("{s:s, s:s, s:s, s:O}", "v", nm,
			    "agent", agent, "check", slash + 1, "labels",
			    json_object_get(after(a), "labels")));
	}
	for (i = 0; i < p->n; i++) {
		json_t *t = p->o[i].store == ST_TEMPLATE ? after(&p->o[i]) : NULL, *d, *cn;
		char *parsed = NULL;
		size_t j;

		if (t == NULL)
			continue;
		if (selector_jsonb("selector", json_string_value(json_object_get(t, "selector")),
		    &parsed, rs) < 0)
			goto done;
		cn = json_array();
		json_array_foreach(json_object_get(t, "checks"), j, d)
			json_array_append(cn, json_object_get(d, "name"));
		json_array_append_new(tpls, json_pack("{s:o, s:o}", "sel", json_loads(parsed, 0, NULL),
		    "checks", cn));
		free(parsed);
	}
	if (json_array_size(names) > 0 && json_array_size(tpls) > 0) {
		if ((v[0] = t1 = json_dumps(names, JSON_COMPACT)) == NULL ||
		    (v[1] = t2 = json_dumps(tpls, JSON_COMPACT)) == NULL) {
			resp_error(rs, 500, NULL, "out of memory");
			goto done;
		}
		q = db_exec(p->r->db, &q_template_made, v);
		if (!db_ok(q, PGRES_TUPLES_OK)) {
			resp_db_error(rs, p->r->db, q);
			goto done;
		}
		for (row = 0; row < PQntuples(q); row++)
			json_object_set_new(made, PQgetvalue(q, row, 0), json_true());
	}
	json_array_foreach(p->pending, i, x) {
		const char *nm = json_string_value(json_array_get(x, 2));
		if (json_object_get(made, nm) == NULL)
			need_error(p, &p->o[json_integer_value(json_array_get(x, 0))], ST_CHECK,
			    json_string_value(json_array_get(x, 1)), nm);
	}
	rc = 0;
done:
	PQclear(q);
	free(t1);
	free(t2);
	json_decref(names);
	json_decref(tpls);
	json_decref(made);
	return rc;
}

/*
 * What a policy's steps name: users in the set or on the server; rotations
 * (not configuration files' objects) on the server.
 */
static void
policy_needs(struct plan *p, struct obj *o)
{
	json_t *st, *w;
	size_t i, j;

	json_array_foreach(json_object_get(o->want, "steps"), i, st)
		json_array_foreach(json_object_get(st, "notify"), j, w) {
			const char *who = json_string_value(w);
			struct resp e;
			json_t *one;

			if (strncmp(who, "rotation:", 9) != 0) {
				need(p, o, ST_CONTACT, "steps", who);
				continue;
			}
			memset(&e, 0, sizeof(e));
			one = json_pack("[{s:[s]}]", "notify", who);
			if (policy_refs_check(p->r->db, one, &e) < 0)
				add_error(p, o->index, "policy", o->key, "steps", "%s",
				    json_string_value(json_object_get(e.json, "error")));
			json_decref(one);
			json_decref(e.json);
		}
}

/* Actions, field changes, and what the set names that will not exist. */
static void
decide(struct plan *p)
{
	size_t i, j;

	for (i = 0; i < p->n; i++) {
		struct obj *o = &p->o[i];
		const char *f;
		json_t *after;

		if (o->want && !o->have) {
			o->act = ACT_CREATE;
		} else if (!o->want) {
			o->act = p->prune && o->managed ? ACT_DELETE : ACT_NONE;
		} else {
			o->changes = json_object();
			json_object_foreach(o->want, f, after) {
				json_t *before = json_object_get(o->have, f);
				if (before == NULL)
					before = json_null();
				if (!json_equal(before, after))
					json_object_set_new(o->changes, f, json_pack("{s:O, s:O}",
					    "before", before, "after", after));
			}
			o->act = json_object_size(o->changes) ? ACT_UPDATE : ACT_UNCHANGED;
		}
	}
	for (i = 0; i < p->n; i++) {
		struct obj *o = &p->o[i];
		json_t *c;

		if (o->want == NULL) {
			/* pruning an agent deletes its checks: never one made by hand */
			if (o->act == ACT_DELETE && o->store == ST_AGENT)
				for (j = 0; j < p->n; j++) {
					struct obj *c2 = &p->o[j];
					if (c2->store == ST_CHECK && c2->have && c2->act != ACT_DELETE &&
					    strcmp(json_string_value(json_object_get(c2->have, "agent")),
					    o->key) == 0)
						add_error(p, -1, "agent", o->key, NULL, "pruning it would delete "
						    "check \"%s\", which %s: delete the check by hand, or keep "
						    "the agent in the set", c2->key, c2->want ? "the set "
						    "keeps" : "was made by hand");
				}
			continue;
		}
		if (o->store == ST_CHECK)
			need(p, o, ST_AGENT, "agent", json_string_value(json_object_get(o->want, "agent")));
		if (o->store == ST_RECURRING) {
			need(p, o, ST_AGENT, "agent", json_string_value(json_object_get(o->want, "agent")));
			need(p, o, ST_CHECK, "check", json_string_value(json_object_get(o->want, "check")));
		}
		if (o->store == ST_DOWNTIME) {
			need(p, o, ST_AGENT, "agent", json_string_value(json_object_get(o->want, "agent")));
			need(p, o, ST_CHECK, "check", json_string_value(json_object_get(o->want, "check")));
			if (o->act == ACT_CREATE) {
				int64_t end;
				if (rfc3339_parse(json_string_value(json_object_get(o->want, "end")), &end) == 0 &&
				    end <= time_now_us())
					add_error(p, o->index, "downtime", o->key, "end", "end is in the past");
			}
		}
		json_array_foreach(json_object_get(o->want, "contacts"), j, c)
			need(p, o, ST_CONTACT, "contacts", json_string_value(c));
		json_array_foreach(json_object_get(o->want, "parents"), j, c) {
			const char *pn = json_string_value(c);
			size_t al = strlen(o->key);
			need(p, o, ST_CHECK, "parents", pn);
			if (o->store == ST_CHECK && strcmp(pn, o->key) == 0)
				add_error(p, o->index, o->kind->name, o->key, "parents",
				    "\"%s\" cannot be its own parent", pn);
			if (o->store == ST_AGENT && strncmp(pn, o->key, al) == 0 && pn[al] == '/')
				add_error(p, o->index, o->kind->name, o->key, "parents",
				    "\"%s\" is a check of this agent: it would be its own parent", pn);
		}
		if (o->store == ST_TEMPLATE) {
			json_t *d, *c2;
			size_t k2;
			json_array_foreach(json_object_get(o->want, "checks"), j, d)
				json_array_foreach(json_object_get(d, "contacts"), k2, c2)
					need(p, o, ST_CONTACT, "checks.contacts", json_string_value(c2));
		}
		if (o->store == ST_POLICY)
			policy_needs(p, o);
	}
}

/* ---- carrying it out --------------------------------------------------------------- */

/* One store's action as one statement; heartbeats kept in step. 0 or -1 with rs filled. */
static int
run_store(struct plan *p, int s, enum action act, int *hb, struct resp *rs)
{
	json_t *recs = json_array();
	char *text = NULL, ids[24];
	struct buf idl;
	const char *v[2];
	PGresult *q = NULL;
	size_t i;
	int rc = -1, n = 0, row;

	buf_init(&idl, (size_t)1 << 30);
	buf_add(&idl, "{", 1);
	for (i = 0; i < p->n; i++) {
		struct obj *o = &p->o[i];
		json_t *rec;

		if (o->store != s || o->act != act)
			continue;
		n++;
		if (act == ACT_DELETE && stores[s].del == NULL) {
			int found;
			enum db_outcome st = s == ST_RECURRING ?
			    recurring_delete(p->r->db, o->id, p->r->who.name, &found) :
			    downtime_delete(p->r->db, o->id, p->r->who.name, &found);
			if (st != DB_OK) {
				resp_db_outcome(rs, st, "could not delete a downtime");
				goto done;
			}
			continue;
		}
		if (act == ACT_DELETE) {
			buf_addf(&idl, "%s%s", idl.len > 1 ? "," : "", id_text(o->id, ids));
			continue;
		}
		rec = json_deep_copy(o->want);
		json_object_set_new(rec, "id", json_integer(o->id));
		if (s == ST_CHECK && o->have)
			json_object_set(rec, "old_type", json_object_get(o->have, "type"));
		if (s == ST_TEMPLATE) {
			char *parsed = NULL;
			if (selector_jsonb("selector", json_string_value(json_object_get(o->want,
			    "selector")), &parsed, rs) < 0) {
				json_decref(rec);
				goto done;
			}
			json_object_set_new(rec, "selector_json", json_loads(parsed, 0, NULL));
			free(parsed);
		}
		if (s == ST_POLICY) {
			struct resp e;
			char *sel;

			memset(&e, 0, sizeof(e));
			sel = policy_match_sel(json_string_value(json_object_get(o->want, "match")), &e);
			json_decref(e.json);
			if (sel == NULL || json_object_set_new(rec, "match_sel",
			    json_loads(sel, 0, NULL)) < 0) {
				free(sel);
				json_decref(rec);
				resp_error(rs, 500, NULL, "out of memory");
				goto done;
			}
			free(sel);
		}
		if ((s == ST_DOWNTIME || s == ST_RECURRING) &&
		    json_is_string(json_object_get(o->want, "check"))) {
			const char *c = json_string_value(json_object_get(o->want, "check"));
			const char *slash = strchr(c, '/');
			json_object_set_new(rec, "ca", json_stringn(c, (size_t)(slash - c)));
			json_object_set_new(rec, "cn", json_string(slash + 1));
		}
		json_array_append_new(recs, rec);
	}
	if (n == 0 || (act == ACT_DELETE && stores[s].del == NULL)) {
		rc = 0;
		goto done;
	}
	buf_add(&idl, "}", 1);
	if (act == ACT_DELETE) {
		v[0] = idl.ptr;
	} else if ((v[0] = text = json_dumps(recs, JSON_COMPACT)) == NULL) {
		resp_error(rs, 500, NULL, "out of memory");
		goto done;
	}
	v[1] = p->r->who.name;
	q = db_exec(p->r->db, act == ACT_CREATE ? stores[s].create : act == ACT_UPDATE ?
	    stores[s].update : stores[s].del, v);
	if (!db_ok(q, PGRES_TUPLES_OK) && !db_ok(q, PGRES_COMMAND_OK)) {
		resp_db_error(rs, p->r->db, q);
		goto done;
	}
	if (s == ST_CHECK && act != ACT_DELETE)
		for (row = 0; row < PQntuples(q); row++) {
			const char *es;
			char uuid[37];
			enum db_outcome st;
			if (strcmp(PQgetvalue(q, row, 1), "heartbeat") != 0 &&
			    strcmp(PQgetvalue(q, row, 2), "heartbeat") != 0)
				continue;
			if (hbeat_new_uuid(uuid) < 0) {
				resp_error(rs, 500, NULL, "no random bytes for a ping uuid");
				goto done;
			}
			if ((st = hbeat_sync(p->r->db, str_to_ll(PQgetvalue(q, row, 0), 1, INT64_MAX, &es),
			    uuid)) != DB_OK) {
				resp_db_outcome(rs, st, "check");
				goto done;
			}
			*hb = 1;
		}
	/* a recurring definition made or changed: its next occurrences written */
	if (s == ST_RECURRING && act != ACT_DELETE)
		for (row = 0; row < PQntuples(q); row++) {
			const char *es;
			enum db_outcome st = jobs_plan_recurring(p->r->db,
			    str_to_ll(PQgetvalue(q, row, 0), 1, INT64_MAX, &es));
			if (st != DB_OK) {
				resp_db_outcome(rs, st, "could not plan a recurring downtime");
				goto done;
			}
		}
	rc = 0;
done:
	PQclear(q);
	free(text);
	buf_free(&idl);
	json_decref(recs);
	return rc;
}

/*
 * The parents of the agents and checks made or changed (see PARENT_IDS),
 * then the cycle check. 0, or -1 with rs filled.
 */
static int
run_parents(struct plan *p, struct resp *rs)
{
	static const struct db_stmt *const st[2] = { &q_parents_agents, &q_parents_checks };
	json_t *recs[2] = { json_array(), json_array() };
	char *text = NULL;
	const char *v[1];
	PGresult *q = NULL;
	size_t i;
	int k, rc = -1;

	for (i = 0; i < p->n; i++) {
		struct obj *o = &p->o[i];
		json_t *rec;

		if ((o->store != ST_AGENT && o->store != ST_CHECK) || o->want == NULL ||
		    (o->act != ACT_CREATE && o->act != ACT_UPDATE))
			continue;
		rec = json_pack("{s:O, s:O}", "name", json_object_get(o->want, "name"),
		    "parents", json_object_get(o->want, "parents"));
		if (rec && o->store == ST_CHECK)
			json_object_set(rec, "agent", json_object_get(o->want, "agent"));
		json_array_append_new(recs[o->store == ST_CHECK], rec);
	}
	for (k = 0; k < 2; k++) {
		if (json_array_size(recs[k]) == 0)
			continue;
		if ((v[0] = text = json_dumps(recs[k], JSON_COMPACT)) == NULL) {
			resp_error(rs, 500, NULL, "out of memory");
			goto done;
		}
		q = db_exec(p->r->db, st[k], v);
		if (!db_ok(q, PGRES_COMMAND_OK)) {
			resp_db_error(rs, p->r->db, q);
			goto done;
		}
		PQclear(q);
		q = NULL;
		free(text);
		text = NULL;
	}
	if (json_array_size(recs[0]) + json_array_size(recs[1]) > 0) {
		q = db_exec(p->r->db, &q_parents_cycle, NULL);
		if (!db_ok(q, PGRES_TUPLES_OK) || PQntuples(q) != 1) {
			resp_db_error(rs, p->r->db, q);
			goto done;
		}
		if (!PQgetisnull(q, 0, 0)) {
			resp_error(rs, 422, "parents", "check \"%s\" would depend on itself through "
			    "its parents: a cycle", PQgetvalue(q, 0, 0));
			goto done;
		}
	}
	rc = 0;
done:
	PQclear(q);
	free(text);
	json_decref(recs[0]);
	json_decref(recs[1]);
	return rc;
}

static int
carry_out(struct plan *p, int *hb, struct resp *rs)
{
	int s;

	for (s = 0; s < ST_COUNT; s++)
		if (run_store(p, s, ACT_CREATE, hb, rs) < 0 || run_store(p, s, ACT_UPDATE, hb, rs) < 0)
			return -1;
	if (run_parents(p, rs) < 0)
		return -1;
	for (s = ST_COUNT - 1; s >= 0; s--)
		if (run_store(p, s, ACT_DELETE, hb, rs) < 0)
			return -1;
	return 0;
}

/* ---- the answer ---------------------------------------------------------------------- */

/*
 * The answer is written as text, not built as a jansson tree then dumped:
 * a plan of 10,000 creates is 120,000 {"after": v} members, and the tree
 * was most of the plan's memory (and, touched for the first time, of its
 * CPU: bench/README.md). The same JSON a tree would give.
 */
static int
dump_cb(const char *s, size_t n, void *b)
{
	return buf_add(b, s, n);
}

/* v as JSON text (any value) */
static void
add_json(struct buf *b, json_t *v)
{
	if (json_dump_callback(v, dump_cb, b, JSON_COMPACT | JSON_ENCODE_ANY) < 0)
		b->failed = 1;
}

/* s as a JSON string */
static void
add_str(struct buf *b, const char *s)
{
	json_t *v = json_string(s);

	if (v == NULL)
		b->failed = 1;
	else
		add_json(b, v);
	json_decref(v);
}

/* {"field": {"after"|"before": v}, ...} of a whole object, nulls left out */
static void
add_whole(struct buf *b, json_t *o, const char *side)
{
	json_t *v;
	const char *k;
	int first = 1;

	buf_adds(b, "{");
	json_object_foreach(o, k, v) {
		if (json_is_null(v))
			continue;
		if (!first)
			buf_adds(b, ",");
		first = 0;
		add_str(b, k);
		buf_addf(b, ":{\"%s\":", side);
		add_json(b, v);
		buf_adds(b, "}");
	}
	buf_adds(b, "}");
}

/* The plan's answer (200) into rs as text; a 500 when out of memory. */
static void
answer(struct plan *p, long long version, int dry_run, struct resp *rs)
{
	struct buf b;
	long long c[5] = { 0 };
	size_t i;
	int first = 1;

	buf_init(&b, (size_t)1 << 31);
	buf_adds(&b, "{\"changes\":[");
	for (i = 0; i < p->n; i++) {
		struct obj *o = &p->o[i];

		if (o->act == ACT_NONE)
			continue;
		c[o->act]++;
		buf_adds(&b, first ? "{\"kind\":" : ",{\"kind\":");
		first = 0;
		add_str(&b, o->kind ? o->kind->name : stores[o->store].name);
		buf_adds(&b, ",\"name\":");
		add_str(&b, o->key);
		buf_addf(&b, ",\"action\":\"%s\",\"managed\":%s", action_names[o->act],
		    o->act == ACT_CREATE || o->managed ? "true" : "false");
		if (o->index >= 0)
			buf_addf(&b, ",\"index\":%d", o->index);
		if (o->act == ACT_CREATE || o->act == ACT_DELETE) {
			buf_adds(&b, ",\"fields\":");
			add_whole(&b, o->act == ACT_CREATE ? o->want : o->have,
			    o->act == ACT_CREATE ? "after" : "before");
		} else if (o->act == ACT_UPDATE) {
			buf_adds(&b, ",\"fields\":");
			add_json(&b, o->changes);
		}
		buf_adds(&b, "}");
	}
	buf_addf(&b, "],\"version\":%lld,\"dry_run\":%s,\"applied\":%s,\"counts\":{\"create\":%lld,"
	    "\"update\":%lld,\"delete\":%lld,\"unchanged\":%lld}}\n", version, dry_run ? "true" :
	    "false", !dry_run && (c[ACT_CREATE] || c[ACT_UPDATE] || c[ACT_DELETE]) ? "true" : "false",
	    c[ACT_CREATE], c[ACT_UPDATE], c[ACT_DELETE], c[ACT_UNCHANGED]);
	resp_json_buf(rs, 200, &b);
}

static void
answer_errors(struct plan *p, struct resp *rs)
{
	json_t *first = json_array_get(p->errors, 0), *a = json_deep_copy(first);

	if (a == NULL) {
		resp_error(rs, 500, NULL, "out of memory");
		return;
	}
	json_object_set(a, "errors", p->errors);
	resp_json(rs, 422, a);
}

static int
flag(struct req *r, struct resp *rs, const char *name, int *out)
{
	const char *s = req_arg(r, name);

	*out = 0;
	if (s == NULL)
		return 0;
	if (strcmp(s, "1") == 0 || strcmp(s, "true") == 0)
		*out = 1;
	else if (strcmp(s, "0") != 0 && strcmp(s, "false") != 0) {
		resp_error(rs, 400, name, "%s must be 1 or 0", name);
		return -1;
	}
	return 0;
}

static long long
version_of(PGresult *q)
{
	const char *es;

	return str_to_ll(PQgetvalue(q, 0, 0), 0, INT64_MAX, &es);
}

/*
 * The order of work: lock the version row (an apply; a dry run only reads
 * it), compare ?expect=, read the database, plan, and carry out, all in
 * one transaction: what was planned is what is done, or nothing is.
 */
void
api_config(struct req *r, struct resp *rs)
{
	static const char *const body_fields[] = { "objects", NULL };
	struct plan p;
	json_t *objects, *keys = json_array();
	const char *ex = req_arg(r, "expect"), *es, *v[1];
	long long expect = -1, version;
	int dry_run, in_tx = 0, hb = 0;
	PGresult *q = NULL;
	size_t i;

	memset(&p, 0, sizeof(p));
	p.r = r;
	p.where = json_object();
	p.errors = json_array();
	p.pending = json_array();
	if (flag(r, rs, "dry_run", &dry_run) < 0 || flag(r, rs, "prune", &p.prune) < 0)
		goto done;
	if (ex && (expect = str_to_ll(ex, 0, INT64_MAX, &es), es)) {
		resp_error(rs, 400, "expect", "expect must be a version number (the plan's \"version\")");
		goto done;
	}
	if (jv_object(r, rs) < 0 || jv_known(r->body, body_fields, rs) < 0)
		goto done;
	objects = json_object_get(r->body, "objects");
	if (!json_is_array(objects)) {
		resp_error(rs, 400, "objects", "objects must be an array of objects");
		goto done;
	}
	if (read_set(&p, objects, keys) < 0) {
		resp_error(rs, 500, NULL, "out of memory");
		goto done;
	}
	if (api_begin(r, rs) < 0)
		goto done;
	in_tx = 1;
	q = db_exec(r->db, dry_run ? &q_version : &q_lock, NULL);
	if (!db_ok(q, PGRES_TUPLES_OK) || PQntuples(q) != 1) {
		resp_db_error(rs, r->db, q);
		goto done;
	}
	version = version_of(q);
	PQclear(q);
	q = NULL;
	if (expect >= 0 && expect != version) {
		resp_error(rs, 409, "expect", "the configuration changed since the plan: version %lld, "
		    "not %lld (plan again)", version, expect);
		goto done;
	}
	if (read_db(&p, keys, rs) < 0)
		goto done;
	decide(&p);
	if (template_made(&p, rs) < 0)
		goto done;
	if (json_array_size(p.errors) > 0) {
		answer_errors(&p, rs);
		goto done;
	}
	if (!dry_run) {
		v[0] = r->who.name;
		q = db_exec(r->db, &q_actor, v);
		if (!db_ok(q, PGRES_TUPLES_OK)) {
			resp_db_error(rs, r->db, q);
			goto done;
		}
		PQclear(q);
		if (carry_out(&p, &hb, rs) < 0) {
			q = NULL;
			goto done;
		}
		q = db_exec(r->db, &q_version, NULL);
		if (!db_ok(q, PGRES_TUPLES_OK) || PQntuples(q) != 1) {
			resp_db_error(rs, r->db, q);
			goto done;
		}
		version = version_of(q);
		in_tx = 0;   /* a failed COMMIT ends the transaction too */
		if (api_commit(r, rs) < 0)
			goto done;
		if (hb)
			hbeat_wake();
	}
	answer(&p, version, dry_run, rs);
done:
	if (in_tx)
		api_rollback(r);
	PQclear(q);
	for (i = 0; i < p.n; i++) {
		json_decref(p.o[i].want);
		json_decref(p.o[i].have);
		json_decref(p.o[i].changes);
	}
	free(p.o);
	json_decref(p.where);
	json_decref(p.errors);
	json_decref(p.pending);
	json_decref(keys);
}

/*
 * GET /api/v1/config: the configuration as the objects POST takes back,
 * every store's in name order (custos export). A "contact" leaves out the
 * role and zone it does not manage; null members are left out (absent is
 * null to POST).
 */
void
api_config_get(struct req *r, struct resp *rs)
{
	struct plan p;
	json_t *keys = json_array(), *objects = json_array(), *a;
	long long version = 0;
	PGresult *q = NULL;
	size_t i;
	int in_tx = 0;

	memset(&p, 0, sizeof(p));
	p.r = r;
	p.where = json_object();
	p.errors = json_array();
	/* one snapshot: the version and the objects agree */
	if (db_cmd(r->db, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY") < 0) {
		resp_error(rs, 503, NULL, "database unavailable");
		goto done;
	}
	in_tx = 1;
	q = db_exec(r->db, &q_version, NULL);
	if (!db_ok(q, PGRES_TUPLES_OK) || PQntuples(q) != 1) {
		resp_db_error(rs, r->db, q);
		goto done;
	}
	version = version_of(q);
	if (read_db(&p, keys, rs) < 0)
		goto done;
	for (i = 0; i < p.n; i++) {
		json_t *o = json_object(), *v;
		const char *k;

		json_object_set_new(o, "kind", json_string(p.o[i].kind ? p.o[i].kind->name :
		    stores[p.o[i].store].name));
		json_object_foreach(p.o[i].have, k, v) {
			if (json_is_null(v) || (p.o[i].kind && p.o[i].kind->store == ST_CONTACT &&
			    strcmp(p.o[i].kind->name, "contact") == 0 &&
			    (strcmp(k, "role") == 0 || strcmp(k, "tz") == 0)))
				continue;
			json_object_set(o, k, v);
		}
		json_array_append_new(objects, o);
	}
	a = json_pack("{s:I, s:O}", "version", (json_int_t)version, "objects", objects);
	resp_json(rs, 200, a);
done:
	if (in_tx)
		api_rollback(r);
	PQclear(q);
	for (i = 0; i < p.n; i++)
		json_decref(p.o[i].have);
	free(p.o);
	json_decref(p.where);
	json_decref(p.errors);
	json_decref(keys);
	json_decref(objects);
}
