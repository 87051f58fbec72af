/*
 * api_policies.c - /api/v1/policies: who is told about what, and when
 * (docs/alerting.md, "Policies and escalation").
 *
 *   name      [A-Za-z0-9_.-]{1,63}, unique; the routes take it in the path
 *   position  the order policies are tried in (then name); POST's default
 *             puts the new one last
 *   match     a selector (lib/selector.h) over the check's and its agent's
 *             labels, with the keys agent, check, status (OK, WARNING,
 *             CRITICAL, UNKNOWN) and kind (PROBLEM, RECOVERY, ...) set
 *             over them; "" matches every event
 *   continue  true: the next matching policies apply too
 *   steps     [{"after_s", "notify": [user names, "rotation:NAME"],
 *             "channels": ["email", "pushover", "webhook"], "priority"}],
 *             1..POLICY_STEPS_MAX, after_s 0 first and then ascending
 *   repeat_s  after the last step, everyone of the steps is told again this
 *             often while the problem is open (0: never; else >= 60)
 *   urgent    the lowest status that passes quiet hours (WARNING, UNKNOWN,
 *             CRITICAL; default CRITICAL)
 *
 * A policy is read and written by name; the routing works on names too
 * (notifications.policy), so the policy a row names is the one the user
 * reads here. The routing itself is SQL (sql/functions/policy_route.sql,
 * policy_escalate.sql): this file only keeps what is stored valid. The
 * parsed match is stored beside its text (match_sel), so routing never
 * parses. POST /api/v1/config takes policies through policy_norm() and
 * policy_refs_check().
 */
#include "config.h"
#include "api.h"
#include "apiutil.h"
#include "byname.h"
#include "db.h"
#include "selector.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define POL_PREFIX "/api/v1/policies/"
#define POLICY_STEPS_MAX 10
#define POLICY_NOTIFY_MAX 20
#define POLICY_AFTER_MAX (7 * 86400)
#define POLICY_REPEAT_MIN 60
#define POLICY_REPEAT_MAX (7 * 86400)

static const char *const policy_fields[] = { "name", "position", "match", "continue", "steps",
	"repeat_s", "urgent", NULL };
static const char *const step_fields[] = { "after_s", "notify", "channels", "priority", NULL };
static const char *const channel_names[] = { "email", "pushover", "webhook", NULL };
static const char *const status_names[] = { "OK", "WARNING", "CRITICAL", "UNKNOWN", NULL };
/* the event kinds a match may name (serverd/alert/state.h's ev_kind_names) */
static const char *const kind_names[] = { "PROBLEM", "RECOVERY", "RENOTIFY", "ACKNOWLEDGEMENT",
	"FLAPPING START", "FLAPPING STOP", "AGENT DOWN", "AGENT UP", NULL };

#define POLICY_JSON \
	"jsonb_build_object('name', p.name, 'position', p.position, 'match', p.match," \
	" 'continue', p.continue, 'steps', p.steps, 'repeat_s', p.repeat_s," \
	" 'urgent', status_name(p.urgent), 'managed', p.managed," \
	" 'created_at', rfc3339(p.created_at), 'created_by', p.created_by," \
	" 'updated_at', rfc3339(p.updated_at), 'updated_by', p.updated_by)"

static const struct db_stmt q_list = { "policies_list",
	"SELECT " POLICY_JSON ", p.id FROM policies p ORDER BY p.position, p.name", 0 };
static const struct db_stmt q_get = { "policies_get",
	"SELECT " POLICY_JSON " FROM policies p WHERE p.name = $1", 1 };
/* the stored definition, to lay a PATCH over */
static const struct db_stmt q_def = { "policies_def",
	"SELECT jsonb_build_object('name', p.name, 'position', p.position, 'match', p.match,"
	" 'continue', p.continue, 'steps', p.steps, 'repeat_s', p.repeat_s,"
	" 'urgent', status_name(p.urgent)) FROM policies p WHERE p.name = $1 FOR UPDATE", 1 };
static const struct db_stmt q_create = { "policies_create",
	"INSERT INTO policies AS p (name, position, match, match_sel, continue, steps, repeat_s,"
	"  urgent, created_by, updated_by)"
	" VALUES ($1, COALESCE($2::integer, (SELECT COALESCE(max(position), 0) + 1 FROM policies)),"
	"  $3, $4::jsonb, $5::boolean, $6::jsonb, $7::integer,"
	"  array_position(ARRAY['OK', 'WARNING', 'CRITICAL', 'UNKNOWN'], $8) - 1, $9, $9)"
	" RETURNING " POLICY_JSON, 9 };
static const struct db_stmt q_patch = { "policies_patch",
	"UPDATE policies p SET name = $2, position = $3::integer, match = $4, match_sel = $5::jsonb,"
	"  continue = $6::boolean, steps = $7::jsonb, repeat_s = $8::integer,"
	"  urgent = array_position(ARRAY['OK', 'WARNING', 'CRITICAL', 'UNKNOWN'], $9) - 1,"
	"  updated_at = now(), updated_by = $10"
	" WHERE p.name = $1 RETURNING " POLICY_JSON, 10 };
static const struct db_stmt q_delete = { "policies_delete",
	"DELETE FROM policies WHERE name = $1", 1 };
/* the first name a policy's steps give that is no user or rotation */
static const struct db_stmt q_refs = { "policies_refs",
	"SELECT s.i, w.who FROM jsonb_array_elements($1::jsonb) WITH ORDINALITY s(st, i)"
	" CROSS JOIN LATERAL jsonb_array_elements_text(s.st -> 'notify') w(who)"
	" WHERE NOT CASE WHEN w.who LIKE 'rotation:%'"
	"  THEN EXISTS (SELECT 1 FROM rotations r WHERE r.name = substr(w.who, 10))"
	"  ELSE EXISTS (SELECT 1 FROM contacts c WHERE c.name = w.who) END"
	" ORDER BY s.i LIMIT 1", 1 };

/* its by-name routes (byname.h) */
static const struct byname policies = { POL_PREFIX, "policy", &q_get, &q_delete };

static int
in_list(const char *const *list, const char *s)
{
	for (; *list; list++)
		if (strcmp(*list, s) == 0)
			return 1;
	return 0;
}

/*
 * The match's parsed form as selector_match() takes it (heap text), "[]"
 * for an empty match; NULL with rs filled (422 "match").
 */
char *
policy_match_sel(const char *match, struct resp *rs)
{
	struct selector sel;
	char err[256];
	json_t *a;
	char *text = NULL;
	size_t i, j;

	if (*match == '\0')
		return strdup("[]");
	if (selector_parse("match", match, &sel, err, sizeof(err)) < 0) {
		resp_error(rs, 422, "match", "%s", err);
		return NULL;
	}
	/* status and kind name what can be: a typo would match nothing, for ever */
	for (i = 0; i < sel.n; i++) {
		const struct sel_req *q = &sel.reqs[i];
		int st = !q->fact && strcmp(q->key, "status") == 0;
		int kd = !q->fact && strcmp(q->key, "kind") == 0;

		for (j = 0; (st || kd) && j < q->nvalues; j++)
			if (!in_list(st ? status_names : kind_names, q->values[j])) {
				resp_error(rs, 422, "match", "match: %s \"%s\" is not one of %s", q->key,
				    q->values[j], st ? "OK, WARNING, CRITICAL, UNKNOWN" : "PROBLEM, "
				    "RECOVERY, RENOTIFY, ACKNOWLEDGEMENT, \"FLAPPING START\", "
				    "\"FLAPPING STOP\", \"AGENT DOWN\", \"AGENT UP\"");
				selector_free(&sel);
				return NULL;
			}
	}
	a = api_selector_json(&sel);
	selector_free(&sel);
	if (a == NULL || (text = json_dumps(a, JSON_COMPACT)) == NULL)
		resp_error(rs, 422, "match", "match: not UTF-8 (or out of memory)");
	json_decref(a);
	return text;
}

/* steps[i] into its canonical form, appended to out; 0 or -1 (rs filled). */
static int
norm_step(json_t *st, size_t i, long long *prev_after, json_t *out, struct resp *rs)
{
	json_t *o = json_object(), *notify, *channels, *v;
	long long after, prio;
	size_t j;
	int rc;

	if (o == NULL) {
		resp_error(rs, 500, NULL, "out of memory");
		return -1;
	}
	json_array_append_new(out, o);
	if (!json_is_object(st)) {
		resp_error(rs, 400, "steps", "steps[%zu] is not an object {after_s, notify, channels,"
		    " priority}", i);
		return -1;
	}
	if (jv_known(st, step_fields, rs) < 0 ||
	    jv_int(st, "after_s", 1, 0, POLICY_AFTER_MAX, &after, rs) < 0)
		goto field;
	if (i == 0 && after != 0) {
		resp_error(rs, 422, "steps", "steps[0].after_s is 0: the first step is the one that"
		    " tells at once");
		return -1;
	}
	if (i > 0 && after <= *prev_after) {
		resp_error(rs, 422, "steps", "steps[%zu].after_s (%lld) is after the step before's"
		    " (%lld)", i, after, *prev_after);
		return -1;
	}
	*prev_after = after;
	json_object_set_new(o, "after_s", json_integer(after));
	notify = json_object_get(st, "notify");
	if (!json_is_array(notify) || json_array_size(notify) == 0 ||
	    json_array_size(notify) > POLICY_NOTIFY_MAX) {
		resp_error(rs, 422, "steps", "steps[%zu].notify is a list of 1-%d user names or"
		    " \"rotation:NAME\"", i, POLICY_NOTIFY_MAX);
		return -1;
	}
	json_array_foreach(notify, j, v)
		if (!json_is_string(v) || json_string_length(v) == 0 || json_string_length(v) > 200 ||
		    strcmp(json_string_value(v), "rotation:") == 0) {
			resp_error(rs, 422, "steps", "steps[%zu].notify[%zu] is not a user's name or"
			    " \"rotation:NAME\"", i, j);
			return -1;
		}
	json_object_set(o, "notify", notify);
	channels = json_object_get(st, "channels");
	if (channels != NULL && !json_is_null(channels)) {
		if (!json_is_array(channels) || json_array_size(channels) == 0) {
			resp_error(rs, 422, "steps", "steps[%zu].channels is a list of email, pushover,"
			    " webhook (absent: every channel the person has)", i);
			return -1;
		}
		json_array_foreach(channels, j, v)
			if (!json_is_string(v) || !in_list(channel_names, json_string_value(v))) {
				resp_error(rs, 422, "steps", "steps[%zu].channels[%zu] is not email,"
				    " pushover or webhook", i, j);
				return -1;
			}
		json_object_set(o, "channels", channels);
	}
	if ((rc = jv_int(st, "priority", 0, -2, 2, &prio, rs)) < 0)
		goto field;
	if (rc > 0)
		json_object_set_new(o, "priority", json_integer(prio));
	return 0;
field:
	/* the member's own message, said of steps[i] */
	{
		json_t *e = json_object_get(rs->json, "error");
		char msg[512];

		snprintf(msg, sizeof(msg), "steps[%zu]: %s", i, e ? json_string_value(e) : "invalid");
		json_decref(rs->json);
		rs->json = NULL;
		resp_error(rs, rs->status, "steps", "%s", msg);
	}
	return -1;
}

int
policy_norm(json_t *in, json_t *out, struct resp *rs)
{
	const char *name = NULL, *match = "", *urgent = "CRITICAL";
	long long position, repeat = 0;
	json_t *steps, *cs;
	long long prev = 0;
	int cont = 0, rc;
	size_t i;
	char *sel;

	if (jv_name(in, "name", 1, BYNAME_MAX, &name, rs) < 0)
		return -1;
	if (!byname_valid(name)) {
		resp_error(rs, 422, "name", "a policy's name is 1-%d letters, digits, '_', '.' or '-'",
		    BYNAME_MAX);
		return -1;
	}
	json_object_set_new(out, "name", json_string(name));
	if ((rc = jv_int(in, "position", 0, 0, 1000000, &position, rs)) < 0)
		return -1;
	json_object_set_new(out, "position", rc ? json_integer(position) : json_null());
	if (jv_str(in, "match", 0, SELECTOR_TEXT_MAX, &match, rs) < 0)
		return -1;
	if (match == NULL)
		match = "";
	if ((sel = policy_match_sel(match, rs)) == NULL)
		return -1;
	free(sel);
	json_object_set_new(out, "match", json_string(match));
	if (jv_bool(in, "continue", &cont, rs) < 0)
		return -1;
	json_object_set_new(out, "continue", json_boolean(cont));
	steps = json_object_get(in, "steps");
	if (!json_is_array(steps) || json_array_size(steps) == 0 ||
	    json_array_size(steps) > POLICY_STEPS_MAX) {
		resp_error(rs, steps && !json_is_array(steps) ? 400 : 422, "steps", "steps is a list"
		    " of 1-%d steps {after_s, notify, channels, priority}", POLICY_STEPS_MAX);
		return -1;
	}
	if ((cs = json_array()) == NULL) {
		resp_error(rs, 500, NULL, "out of memory");
		return -1;
	}
	json_object_set_new(out, "steps", cs);
	for (i = 0; i < json_array_size(steps); i++)
		if (norm_step(json_array_get(steps, i), i, &prev, cs, rs) < 0)
			return -1;
	if (jv_int(in, "repeat_s", 0, 0, POLICY_REPEAT_MAX, &repeat, rs) < 0)
		return -1;
	if (repeat > 0 && repeat < POLICY_REPEAT_MIN) {
		resp_error(rs, 422, "repeat_s", "repeat_s is 0 (never) or %d-%d s", POLICY_REPEAT_MIN,
		    POLICY_REPEAT_MAX);
		return -1;
	}
	json_object_set_new(out, "repeat_s", json_integer(repeat));
	if (jv_str(in, "urgent", 0, 16, &urgent, rs) < 0)
		return -1;
	if (urgent == NULL)
		urgent = "CRITICAL";
	if (strcmp(urgent, "WARNING") != 0 && strcmp(urgent, "UNKNOWN") != 0 &&
	    strcmp(urgent, "CRITICAL") != 0) {
		resp_error(rs, 422, "urgent", "urgent is WARNING, UNKNOWN or CRITICAL (the lowest"
		    " status that passes quiet hours)");
		return -1;
	}
	json_object_set_new(out, "urgent", json_string(urgent));
	return 0;
}

int
policy_refs_check(PGconn *db, json_t *steps, struct resp *rs)
{
	char *text = json_dumps(steps, JSON_COMPACT);
	const char *v[1] = { text };
	PGresult *q;
	int rc = -1;

	if (text == NULL) {
		resp_error(rs, 500, NULL, "out of memory");
		return -1;
	}
	q = db_exec(db, &q_refs, v);
	if (!db_ok(q, PGRES_TUPLES_OK))
		resp_db_error(rs, db, q);
	else if (PQntuples(q) > 0) {
		const char *who = PQgetvalue(q, 0, 1);
		const char *es;
		long long i = str_to_ll(PQgetvalue(q, 0, 0), 1, INT_MAX, &es);

		if (strncmp(who, "rotation:", 9) == 0)
			resp_error(rs, 422, "steps", "steps[%lld].notify: no rotation \"%s\"", i - 1,
			    who + 9);
		else
			resp_error(rs, 422, "steps", "steps[%lld].notify: no user \"%s\"", i - 1, who);
	} else
		rc = 0;
	PQclear(q);
	free(text);
	return rc;
}

/*
 * Validates def (a whole definition) and writes it in the caller's
 * transaction: a new policy (path NULL), or the one named path. Answers
 * the policy and commits: 1 when the transaction is over (committed, or a
 * COMMIT failed), 0 when the caller rolls it back.
 */
static int
write_policy(struct req *r, struct resp *rs, json_t *def, const char *path, int status)
{
	json_t *out = json_object();
	char *sel = NULL, *steps = NULL, pos[24], rep[24];
	const char *v[10], **f;
	PGresult *q = NULL;
	json_t *p;
	int over = 0;

	if (out == NULL) {
		resp_error(rs, 500, NULL, "out of memory");
		return 0;
	}
	if (policy_norm(def, out, rs) < 0 ||
	    policy_refs_check(r->db, json_object_get(out, "steps"), rs) < 0)
		goto done;
	if ((sel = policy_match_sel(json_string_value(json_object_get(out, "match")), rs)) == NULL)
		goto done;
	if ((steps = json_dumps(json_object_get(out, "steps"), JSON_COMPACT)) == NULL) {
		resp_error(rs, 500, NULL, "out of memory");
		goto done;
	}
	p = json_object_get(out, "position");
	snprintf(pos, sizeof(pos), "%lld", (long long)json_integer_value(p));
	snprintf(rep, sizeof(rep), "%lld",
	    (long long)json_integer_value(json_object_get(out, "repeat_s")));
	/* the same columns in the same order; a patch's $1 is the name it had */
	f = path == NULL ? v : v + 1;
	v[0] = path;
	f[0] = json_string_value(json_object_get(out, "name"));
	f[1] = path == NULL && json_is_null(p) ? NULL : pos;   /* a new one's null: last */
	f[2] = json_string_value(json_object_get(out, "match"));
	f[3] = sel;
	f[4] = json_is_true(json_object_get(out, "continue")) ? "true" : "false";
	f[5] = steps;
	f[6] = rep;
	f[7] = json_string_value(json_object_get(out, "urgent"));
	f[8] = r->who.name;
	q = db_exec(r->db, path == NULL ? &q_create : &q_patch, v);
	if (!db_ok(q, PGRES_TUPLES_OK)) {
		byname_write_error(&policies, r, rs, q,
		    json_string_value(json_object_get(out, "name")));
		goto done;
	}
	if (PQntuples(q) == 0) {
		byname_missing(&policies, rs, path);
		goto done;
	}
	over = 1;   /* a failed COMMIT ends the transaction too */
	if (api_commit(r, rs) == 0)
		api_one(rs, status, q, 0);
done:
	PQclear(q);
	free(sel);
	free(steps);
	json_decref(out);
	return over;
}

void
api_policies_list(struct req *r, struct resp *rs)
{
	PGresult *q = db_exec(r->db, &q_list, NULL);

	if (!db_ok(q, PGRES_TUPLES_OK))
		resp_db_error(rs, r->db, q);
	else
		api_list(rs, q, 0, 1, LONG_MAX);
	PQclear(q);
}

void
api_policies_get(struct req *r, struct resp *rs)
{
	byname_get(&policies, r, rs);
}

void
api_policies_create(struct req *r, struct resp *rs)
{
	if (jv_object(r, rs) < 0 || jv_known(r->body, policy_fields, rs) < 0 ||
	    api_begin(r, rs) < 0)
		return;
	if (!write_policy(r, rs, r->body, NULL, 201))
		api_rollback(r);
}

void
api_policies_patch(struct req *r, struct resp *rs)
{
	char name[BYNAME_MAX + 1];
	const char *v[1] = { name }, *k;
	json_t *def = NULL, *val;
	PGresult *q = NULL;
	int over = 0;

	if (byname_path(&policies, r, rs, name) < 0 || jv_object(r, rs) < 0 ||
	    jv_known(r->body, policy_fields, rs) < 0 || api_begin(r, rs) < 0)
		return;
	q = db_exec(r->db, &q_def, v);
	if (!db_ok(q, PGRES_TUPLES_OK)) {
		resp_db_error(rs, r->db, q);
		goto done;
	}
	if (PQntuples(q) == 0) {
		byname_missing(&policies, rs, name);
		goto done;
	}
	if ((def = json_loads(PQgetvalue(q, 0, 0), 0, NULL)) == NULL) {
		resp_error(rs, 500, NULL, "out of memory");
		goto done;
	}
	/* the body's members over the stored ones; null puts back the default */
	json_object_foreach(r->body, k, val) {
		if (json_is_null(val))
			json_object_del(def, k);
		else
			json_object_set(def, k, val);
	}
	if (json_is_null(json_object_get(r->body, "position")))
		json_object_set_new(def, "position", json_integer(0));
	over = write_policy(r, rs, def, name, 200);
done:
	if (!over)
		api_rollback(r);
	PQclear(q);
	json_decref(def);
}

void
api_policies_delete(struct req *r, struct resp *rs)
{
	byname_delete(&policies, r, rs);
}
