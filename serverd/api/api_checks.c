/*
 * api_checks.c - /api/v1/checks: check definitions, their state and history.
 *
 * A check is validated whole on create and on PATCH (the patch is merged
 * onto the stored definition first): type and params by the check library
 * (checks/check.h, the same code the agent runs), thresholds by the Nagios
 * range parser, contacts against the contacts table, parents (checks named
 * "agent/check") by parents_resolve() (sql/functions/), in the transaction
 * that writes them.
 */
#include "config.h"
#include "api.h"
#include "apiutil.h"
#include "check.h"
#include "db.h"
#include "hbeat.h"
#include "range.h"
#include "serverd.h"
#include "strnum.h"
#include "timeutil.h"

#include <stdlib.h>
#include <string.h>

#define CHECK_NAME_MAX 200

static const char *const check_fields[] = { "agent_id", "agent", "name", "type", "params",
	"warning", "critical", "max_attempts", "enabled", "contacts", "labels", "parents", NULL };

struct check_in {
	long long agent_id;
	const char *name, *type, *warning, *critical;
	char *params;      /* JSON text, heap */
	long long max_attempts;
	int enabled;
	char *contacts;    /* PostgreSQL array literal or NULL, heap */
	char *labels;      /* JSON text, heap; NULL: not given (PATCH keeps them) */
};

static const struct db_stmt q_list = { "checks_list",
	"SELECT check_json(c) || CASE WHEN c.type = 'heartbeat'"
	"  THEN check_heartbeat_json(c, $5, $6::boolean) ELSE '{}' END, c.id"
	" FROM checks c JOIN check_state s ON s.check_id = c.id"
	" WHERE c.id > $1 AND ($3::bigint IS NULL OR c.agent_id = $3)"
	" AND ($4::smallint IS NULL OR s.status = $4)"
	" AND ($7::jsonb IS NULL OR check_selected(c.id, $7))"
	" ORDER BY c.id LIMIT $2", 7 };
/* a heartbeat's object carries its ping URL: a secret, so for admins only
 * (check_heartbeat_json(), sql/functions/) */
static const struct db_stmt q_get = { "checks_get",
	"SELECT check_json(c) || CASE WHEN c.type = 'heartbeat'"
	"  THEN check_heartbeat_json(c, $2, $3::boolean) ELSE '{}' END"
	" FROM checks c WHERE c.id = $1", 3 };
static const struct db_stmt q_def = { "checks_def",
	"SELECT check_def_json(c), c.template FROM checks c WHERE c.id = $1 FOR UPDATE", 1 };
/* a template's check (sql/039_templates.sql): what PATCH set on it wins */
static const struct db_stmt q_override = { "checks_override",
	"UPDATE checks SET overrides = overrides || $2::jsonb WHERE id = $1", 2 };
static const struct db_stmt q_override_reset = { "checks_override_reset",
	"WITH c AS (UPDATE checks SET overrides = '{}' WHERE id = $1 RETURNING agent_id)"
	" SELECT template_sync(c.agent_id, NULL) FROM c", 1 };
static const struct db_stmt q_template_of = { "checks_template_of",
	"SELECT template FROM checks WHERE id = $1", 1 };
static const struct db_stmt q_agent = { "checks_agent_exists",
	"SELECT 1 FROM agents WHERE id = $1", 1 };
static const struct db_stmt q_create = { "checks_create",
	"INSERT INTO checks (agent_id, name, type, params, warning, critical, max_attempts,"
	" enabled, contacts, labels) VALUES ($1, $2, $3, $4::jsonb, $5, $6, $7, $8, $9::bigint[],"
	" COALESCE($10::jsonb, '{}')) RETURNING id", 10 };
static const struct db_stmt q_update = { "checks_update",
	"UPDATE checks SET agent_id = $2, name = $3, type = $4, params = $5::jsonb,"
	" warning = $6, critical = $7, max_attempts = $8, enabled = $9,"
	" contacts = $10::bigint[], labels = COALESCE($11::jsonb, labels),"
	" updated_at = now() WHERE id = $1", 11 };
static const struct db_stmt q_parents = { "checks_parents",
	"UPDATE checks SET parents = $2::bigint[] WHERE id = $1", 2 };
static const struct db_stmt q_delete = { "checks_delete",
	"DELETE FROM checks WHERE id = $1", 1 };
static const struct db_stmt q_history = { "checks_history",
	"SELECT json_build_object('id', h.id, 'status', status_name(h.status), 'value', h.value,"
	"  'output', h.output, 'perfdata', h.perfdata, 'observed_at', rfc3339(h.observed_at),"
	"  'received_at', rfc3339(h.received_at), 'duration_ms', h.duration_ms,"
	"  'result_id', h.result_id),"
	"  (extract(epoch FROM h.observed_at) * 1000000)::bigint || '.' || h.id"
	" FROM check_history h WHERE h.check_id = $1"
	"  AND ($2::timestamptz IS NULL OR h.observed_at >= $2)"
	"  AND ($3::timestamptz IS NULL OR h.observed_at < $3)"
	"  AND ($5::bigint IS NULL OR (h.observed_at, h.id) <"
	"       ('epoch'::timestamptz + $5::bigint * interval '1 microsecond', $6::bigint))"
	" ORDER BY h.observed_at DESC, h.id DESC LIMIT $4", 6 };
static const struct db_stmt q_exists = { "checks_exists",
	"SELECT 1 FROM checks WHERE id = $1", 1 };

static const char *
range_arg(json_t *o, const char *key, struct resp *rs, int *err)
{
	json_t *v = json_object_get(o, key);
	struct nrange nr;

	*err = 0;
	if (v == NULL || json_is_null(v))
		return NULL;
	if (!json_is_string(v)) {
		resp_error(rs, 400, key, "%s must be a Nagios range string or null", key);
		*err = 1;
		return NULL;
	}
	if (range_parse(json_string_value(v), &nr) < 0) {
		resp_error(rs, 422, key, "%s \"%s\" is not a Nagios range (10, 10:, ~:10, 10:20, @10:20)",
		    key, json_string_value(v));
		*err = 1;
		return NULL;
	}
	return json_string_value(v);
}

/* Validates a whole definition o into in, its agent aside; 0 or -1 with rs filled. */
static int
check_fields_valid(struct req *r, json_t *o, struct check_in *in, struct resp *rs)
{
	char err[256];
	const char *field = NULL;
	json_t *params;
	int e, present;

	memset(in, 0, sizeof(*in));
	in->max_attempts = 3;
	in->enabled = 1;
	if (jv_known(o, check_fields, rs) < 0 || agent_name(r, o, rs) < 0 ||
	    contact_names(r, o, "contacts", rs) < 0 ||
	    jv_int(o, "agent_id", 1, 1, INT64_MAX, &in->agent_id, rs) < 0 ||
	    jv_name(o, "name", 1, CHECK_NAME_MAX, &in->name, rs) < 0 ||
	    jv_str(o, "type", 1, 32, &in->type, rs) < 0 ||
	    jv_int(o, "max_attempts", 0, 1, 100, &in->max_attempts, rs) < 0 ||
	    jv_bool(o, "enabled", &in->enabled, rs) < 0 ||
	    jv_ids(o, "contacts", &in->contacts, &present, rs) < 0 ||
	    jv_labels(o, "labels", &in->labels, rs) < 0)
		return -1;
	/* the type's own default (log: 1, it alerts on the run that saw the lines) */
	if (json_object_get(o, "max_attempts") == NULL)
		in->max_attempts = check_default_max_attempts(in->type);
	if (*in->name == '\0') {
		resp_error(rs, 422, "name", "name must not be empty");
		return -1;
	}
	in->warning = range_arg(o, "warning", rs, &e);
	if (e)
		return -1;
	in->critical = range_arg(o, "critical", rs, &e);
	if (e)
		return -1;
	params = json_object_get(o, "params");
	if (params && json_is_null(params))
		params = NULL;
	if (params && !json_is_object(params)) {
		resp_error(rs, 400, "params", "params must be an object");
		return -1;
	}
	if (check_validate(in->type, params, err, sizeof(err), &field) < 0) {
		resp_error(rs, 422, field ? field : "params", "%s", err);
		return -1;
	}
	/* a type's default thresholds come from the check registry (the agent
	 * applies the same), so the API shows what the agent will use: a
	 * process check is CRITICAL when none runs ("1:"), and so on */
	if (in->warning == NULL && in->critical == NULL) {
		const struct check_type *ct = check_type_find(in->type);
		if (ct && ct->default_critical)
			in->critical = ct->default_critical;
	}
	in->params = params ? json_dumps(params, JSON_COMPACT) : strdup("{}");
	if (in->params == NULL) {
		resp_error(rs, 500, NULL, "out of memory");
		return -1;
	}
	return contacts_exist(r, in->contacts, "contacts", rs);
}

/* Validates a whole definition o into in; 0 or -1 with rs filled. */
static int
check_input(struct req *r, json_t *o, struct check_in *in, struct resp *rs)
{
	char aid[24];
	const char *v[1];
	PGresult *q;
	int e;

	if (check_fields_valid(r, o, in, rs) < 0)
		return -1;
	v[0] = id_text(in->agent_id, aid);
	q = db_exec(r->db, &q_agent, v);
	if (!db_ok(q, PGRES_TUPLES_OK)) {
		resp_db_error(rs, r->db, q);
		PQclear(q);
		return -1;
	}
	e = PQntuples(q) == 0;
	PQclear(q);
	if (e) {
		resp_error(rs, 422, "agent_id", "agent %lld does not exist", in->agent_id);
		return -1;
	}
	return 0;
}

/* The ten column values of a check, in q_create's order (aid, ma: text space). */
static void
check_vals(const struct check_in *in, const char **v, char aid[24], char ma[24])
{
	v[0] = id_text(in->agent_id, aid);
	v[1] = in->name;
	v[2] = in->type;
	v[3] = in->params;
	v[4] = in->warning;
	v[5] = in->critical;
	v[6] = id_text(in->max_attempts, ma);
	v[7] = in->enabled ? "true" : "false";
	v[8] = in->contacts;
	v[9] = in->labels;
}

static void
check_in_free(struct check_in *in)
{
	free(in->params);
	free(in->contacts);
	free(in->labels);
}

static const char *const def_fields[] = { "name", "type", "params", "warning", "critical",
	"max_attempts", "enabled", "contacts", "labels", NULL };

json_t *
check_def_canon(struct req *r, json_t *o, struct resp *rs)
{
	struct check_in in;
	json_t *out = NULL, *p, *l = NULL, *c = NULL;

	memset(&in, 0, sizeof(in));
	if (!json_is_object(o)) {
		resp_error(rs, 400, "checks", "each of checks must be an object");
		return NULL;
	}
	in.max_attempts = 3;
	in.enabled = 1;
	if (jv_known(o, def_fields, rs) < 0 || contact_names(r, o, "contacts", rs) < 0 ||
	    jv_name(o, "name", 1, CHECK_NAME_MAX, &in.name, rs) < 0 ||
	    jv_str(o, "type", 1, 32, &in.type, rs) < 0)
		return NULL;
	if (strcmp(in.type, "heartbeat") == 0) {
		/* a heartbeat's ping URL is a secret of its own: one check, made by hand */
		resp_error(rs, 422, "type", "a template cannot make heartbeat checks");
		return NULL;
	}
	if (*in.name == '\0' || strchr(in.name, '/') != NULL) {
		resp_error(rs, 422, "name", "a check's name must not be empty or hold '/'");
		return NULL;
	}
	/* check_input() takes an agent: the definition is checked without one */
	if ((p = json_deep_copy(o)) == NULL || json_object_set_new(p, "agent_id", json_integer(1)) < 0) {
		json_decref(p);
		resp_error(rs, 500, NULL, "out of memory");
		return NULL;
	}
	if (check_fields_valid(r, p, &in, rs) < 0)
		goto done;
	if (in.labels && (l = json_loads(in.labels, 0, NULL)) == NULL)
		goto oom;
	if (in.contacts)
		c = json_deep_copy(json_object_get(p, "contacts"));
	out = json_pack("{s:s,s:s,s:o,s:s?,s:s?,s:I,s:b,s:o,s:o}", "name", in.name, "type", in.type,
	    "params", json_loads(in.params, 0, NULL), "warning", in.warning, "critical", in.critical,
	    "max_attempts", (json_int_t)in.max_attempts, "enabled", in.enabled,
	    "contacts", c ? c : json_null(), "labels", l ? l : json_object());
	c = l = NULL;
	if (out == NULL)
		goto oom;
	goto done;
oom:
	resp_error(rs, 500, NULL, "out of memory");
done:
	json_decref(l);
	json_decref(c);
	json_decref(p);
	check_in_free(&in);
	return out;
}

/* public_url without a trailing '/', for ping URLs (heap; NULL: no memory) */
static char *
ping_base(void)
{
	const struct srv_conf *cf = conf_hold();
	size_t n = strlen(cf->public_url);
	char *b;

	while (n > 0 && cf->public_url[n - 1] == '/')
		n--;
	b = strndup(cf->public_url, n);
	conf_drop(cf);
	return b;
}

static void
answer_check(struct req *r, struct resp *rs, int status, int64_t id)
{
	char ids[24], *base = ping_base();
	const char *v[3] = { id_text(id, ids), base, r->who.kind == WHO_ADMIN ? "true" : "false" };
	PGresult *q;

	if (base == NULL) {
		resp_error(rs, 500, NULL, "out of memory");
		return;
	}
	q = db_exec(r->db, &q_get, v);
	if (!db_ok(q, PGRES_TUPLES_OK))
		resp_db_error(rs, r->db, q);
	else if (PQntuples(q) == 0)
		resp_error(rs, 404, NULL, "no check %lld", (long long)id);
	else
		api_one(rs, status, q, 0);
	PQclear(q);
	free(base);
}

/*
 * Inside the request's transaction: the heartbeat row of check id follows
 * its definition (hbeat.h). 0, or -1 with rs filled.
 */
static int
sync_heartbeat(struct req *r, struct resp *rs, int64_t id)
{
	char uuid[37];
	enum db_outcome o;

	if (hbeat_new_uuid(uuid) < 0) {
		resp_error(rs, 500, NULL, "no random bytes for the ping uuid");
		return -1;
	}
	if ((o = hbeat_sync(r->db, id, uuid)) != DB_OK) {
		resp_db_outcome(rs, o, "check");
		return -1;
	}
	return 0;
}

/*
 * Inside the request's transaction: the check's parents, when the request
 * names them (parents_arg()). 0, or -1 with rs filled.
 */
static int
set_parents(struct req *r, struct resp *rs, json_t *o, int64_t id, int made)
{
	char ids[24], *parents = NULL;
	const char *v[2] = { id_text(id, ids), NULL };
	PGresult *q;
	int rc;

	if ((rc = parents_arg(r, o, "check", made ? 0 : id, &parents, rs)) <= 0)
		return rc;
	v[1] = parents;
	q = db_exec(r->db, &q_parents, v);
	rc = db_ok(q, PGRES_COMMAND_OK) ? 0 : -1;
	if (rc < 0)
		resp_db_error(rs, r->db, q);
	PQclear(q);
	free(parents);
	return rc;
}

static void
conflict_or_error(struct req *r, struct resp *rs, PGresult *q, const char *name)
{
	if (strcmp(db_sqlstate(q), "23505") == 0)
		resp_error(rs, 409, "name", "this agent already has a check named \"%s\"", name);
	else
		resp_db_error(rs, r->db, q);
}

void
api_checks_create(struct req *r, struct resp *rs)
{
	struct check_in in;
	char aid[24], ma[24];
	const char *v[10];
	const char *es;
	PGresult *q = NULL;
	int64_t id;
	int in_tx = 0;

	memset(&in, 0, sizeof(in));
	if (jv_object(r, rs) < 0 || check_input(r, r->body, &in, rs) < 0)
		goto done;
	check_vals(&in, v, aid, ma);
	if (api_begin(r, rs) < 0)
		goto done;
	in_tx = 1;
	q = db_exec(r->db, &q_create, v);
	if (!db_ok(q, PGRES_TUPLES_OK)) {
		conflict_or_error(r, rs, q, in.name);
		goto done;
	}
	id = str_to_ll(PQgetvalue(q, 0, 0), 1, INT64_MAX, &es);
	if (strcmp(in.type, "heartbeat") == 0 && sync_heartbeat(r, rs, id) < 0)
		goto done;
	if (set_parents(r, rs, r->body, id, 1) < 0)
		goto done;
	in_tx = 0;
	if (api_commit(r, rs) < 0)
		goto done;
	hbeat_wake();
	snprintf(rs->location, sizeof(rs->location), "/api/v1/checks/%lld", (long long)id);
	answer_check(r, rs, 201, id);
done:
	if (in_tx)
		api_rollback(r);
	PQclear(q);
	check_in_free(&in);
}

void
api_checks_get(struct req *r, struct resp *rs)
{
	answer_check(r, rs, 200, r->id[0]);
}

/*
 * A template's check (checks.template): its name, type and agent are the
 * template's; a PATCH may set the other fields, which become its overrides
 * (they win over the template's, through its updates). 0, or -1 with a 422.
 */
static int
template_fixed(json_t *body, const char *tname, struct resp *rs)
{
	static const char *const fixed[] = { "name", "type", "agent", "agent_id", NULL };
	int i;

	for (i = 0; fixed[i]; i++)
		if (json_object_get(body, fixed[i])) {
			resp_error(rs, 422, fixed[i], "this check is made by template \"%s\": its %s "
			    "is the template's (PATCH /api/v1/templates/%s)", tname, fixed[i], tname);
			return -1;
		}
	return 0;
}

/* The patched fields, as cur has them validated (contacts as ids), onto overrides. */
static int
record_overrides(struct req *r, struct resp *rs, json_t *cur)
{
	json_t *o = json_object(), *val;
	const char *key, *v[2];
	char id[24], *text = NULL;
	PGresult *q = NULL;
	int rc = -1;

	if (o == NULL)
		goto oom;
	json_object_foreach(r->body, key, val) {
		json_t *cv = json_object_get(cur, key);
		/* parents are the check's own (set_parents()), never a template's */
		if (strcmp(key, "parents") == 0)
			continue;
		if (json_object_set(o, key, cv ? cv : json_null()) < 0)
			goto oom;
	}
	if ((text = json_dumps(o, JSON_COMPACT)) == NULL)
		goto oom;
	v[0] = id_text(r->id[0], id);
	v[1] = text;
	q = db_exec(r->db, &q_override, v);
	if (!db_ok(q, PGRES_COMMAND_OK))
		resp_db_error(rs, r->db, q);
	else
		rc = 0;
	goto done;
oom:
	resp_error(rs, 500, NULL, "out of memory");
done:
	PQclear(q);
	free(text);
	json_decref(o);
	return rc;
}

/*
 * PATCH {"overrides": null} (or {}), alone: a template's check forgets its
 * overrides and takes its template's fields again.
 */
static void
patch_reset(struct req *r, struct resp *rs)
{
	json_t *o = json_object_get(r->body, "overrides");
	char id[24];
	const char *v[1] = { id_text(r->id[0], id) };
	PGresult *q = NULL;
	int in_tx = 0;

	if (json_object_size(r->body) != 1 ||
	    !(json_is_null(o) || (json_is_object(o) && json_object_size(o) == 0))) {
		resp_error(rs, 422, "overrides", "overrides may only be reset, alone: "
		    "{\"overrides\": null}");
		return;
	}
	if (r->who.kind != WHO_ADMIN) {
		resp_error(rs, 403, "overrides", "resetting overrides needs the admin role");
		return;
	}
	if (api_begin(r, rs) < 0)
		return;
	in_tx = 1;
	q = db_exec(r->db, &q_template_of, v);
	if (!db_ok(q, PGRES_TUPLES_OK)) {
		resp_db_error(rs, r->db, q);
		goto done;
	}
	if (PQntuples(q) == 0 || PQgetisnull(q, 0, 0)) {
		resp_error(rs, PQntuples(q) ? 422 : 404, PQntuples(q) ? "overrides" : NULL,
		    PQntuples(q) ? "check %lld is not made by a template" : "no check %lld",
		    (long long)r->id[0]);
		goto done;
	}
	PQclear(q);
	q = db_exec(r->db, &q_override_reset, v);
	if (!db_ok(q, PGRES_TUPLES_OK)) {
		resp_db_error(rs, r->db, q);
		goto done;
	}
	in_tx = 0;
	if (api_commit(r, rs) < 0)
		goto done;
	answer_check(r, rs, 200, r->id[0]);
done:
	if (in_tx)
		api_rollback(r);
	PQclear(q);
}

void
api_checks_patch(struct req *r, struct resp *rs)
{
	struct check_in in;
	char id[24], aid[24], ma[24];
	const char *v[11];
	json_t *cur = NULL, *val;
	const char *key;
	PGresult *q = NULL;
	int in_tx = 0, templated = 0;

	memset(&in, 0, sizeof(in));
	if (jv_object(r, rs) < 0)
		goto done;
	if (json_object_get(r->body, "overrides")) {
		patch_reset(r, rs);
		goto done;
	}
	if (jv_known(r->body, check_fields, rs) < 0)
		goto done;
	/* the route is NEED_OPERATOR: an operator enables and disables, no more */
	if (r->who.kind != WHO_ADMIN) {
		json_object_foreach(r->body, key, val)
			if (strcmp(key, "enabled") != 0) {
				resp_error(rs, 403, key, "an operator may change only \"enabled\" of a "
				    "check; \"%s\" needs the admin role", key);
				goto done;
			}
	}
	if (api_begin(r, rs) < 0)
		goto done;
	in_tx = 1;
	v[0] = id_text(r->id[0], id);
	q = db_exec(r->db, &q_def, v);
	if (!db_ok(q, PGRES_TUPLES_OK)) {
		resp_db_error(rs, r->db, q);
		goto done;
	}
	if (PQntuples(q) == 0) {
		resp_error(rs, 404, NULL, "no check %lld", (long long)r->id[0]);
		goto done;
	}
	if ((cur = json_loads(PQgetvalue(q, 0, 0), 0, NULL)) == NULL) {
		resp_error(rs, 500, NULL, "out of memory");
		goto done;
	}
	if (!PQgetisnull(q, 0, 1) && template_fixed(r->body, PQgetvalue(q, 0, 1), rs) < 0)
		goto done;
	templated = !PQgetisnull(q, 0, 1);
	PQclear(q);
	q = NULL;
	/* merge: the patch's members replace the stored ones */
	json_object_del(cur, "id");
	json_object_del(cur, "created_at");
	json_object_del(cur, "updated_at");
	if (json_object_get(r->body, "agent"))   /* moved by name */
		json_object_del(cur, "agent_id");
	json_object_foreach(r->body, key, val)
		json_object_set(cur, key, val);
	if (check_input(r, cur, &in, rs) < 0)
		goto done;
	check_vals(&in, v + 1, aid, ma);
	q = db_exec(r->db, &q_update, v);
	if (!db_ok(q, PGRES_COMMAND_OK)) {
		conflict_or_error(r, rs, q, in.name);
		goto done;
	}
	PQclear(q);
	q = NULL;
	if (templated && record_overrides(r, rs, cur) < 0)
		goto done;
	if (sync_heartbeat(r, rs, r->id[0]) < 0 || set_parents(r, rs, r->body, r->id[0], 0) < 0)
		goto done;
	in_tx = 0;   /* a failed COMMIT ends the transaction too */
	if (api_commit(r, rs) < 0)
		goto done;
	hbeat_wake();
	answer_check(r, rs, 200, r->id[0]);
done:
	if (in_tx)
		api_rollback(r);
	PQclear(q);
	json_decref(cur);
	check_in_free(&in);
}

void
api_checks_delete(struct req *r, struct resp *rs)
{
	char id[24];
	const char *v[1] = { id_text(r->id[0], id) };
	PGresult *q = db_exec(r->db, &q_template_of, v);

	/* it would come back at the next sync: the template (or the agent's
	 * labels) is what to change; a check can be disabled by an override */
	if (db_ok(q, PGRES_TUPLES_OK) && PQntuples(q) == 1 && !PQgetisnull(q, 0, 0)) {
		resp_error(rs, 409, NULL, "check %lld is made by template \"%s\": change the "
		    "template or the agent's labels, or PATCH {\"enabled\": false}",
		    (long long)r->id[0], PQgetvalue(q, 0, 0));
		PQclear(q);
		return;
	}
	PQclear(q);
	q = db_exec(r->db, &q_delete, v);

	if (!db_ok(q, PGRES_COMMAND_OK))
		resp_db_error(rs, r->db, q);
	else if (strcmp(PQcmdTuples(q), "0") == 0)
		resp_error(rs, 404, NULL, "no check %lld", (long long)r->id[0]);
	else
		rs->status = 204;
	PQclear(q);
}

static int
status_arg(const char *s, int *out)
{
	int i;

	for (i = 0; i < CHECK_STATUS_COUNT; i++)
		if (strcasecmp(s, check_status_name(i)) == 0) {
			*out = i;
			return 0;
		}
	return -1;
}

void
api_checks_list(struct req *r, struct resp *rs)
{
	char cur[24], lim[24], aid[24], st[4], *base = NULL, *sel = NULL;
	const char *v[7] = { cur, lim, NULL, NULL, NULL,
		r->who.kind == WHO_ADMIN ? "true" : "false", NULL };
	const char *s = req_arg(r, "status");
	long limit;
	int64_t cursor;
	int sv;

	if ((limit = api_limit(r, rs)) < 0 || (cursor = api_cursor(r, rs)) < 0)
		return;
	switch (api_agent_arg(r, rs, aid)) {   /* ?agent_id= or ?agent=NAME */
	case -1:
		return;
	case 1:
		v[2] = aid;
		break;
	}
	if (s) {
		if (status_arg(s, &sv) < 0) {
			resp_error(rs, 400, "status", "status must be OK, WARNING, CRITICAL or UNKNOWN");
			return;
		}
		snprintf(st, sizeof(st), "%d", sv);
		v[3] = st;
	}
	if (api_selector(r, rs, &sel) < 0)
		return;
	v[6] = sel;
	id_text(cursor, cur);
	id_text(limit + 1, lim);
	if ((v[4] = base = ping_base()) == NULL) {
		free(sel);
		resp_error(rs, 500, NULL, "out of memory");
		return;
	}
	api_query_list(r, rs, &q_list, v, limit);
	free(base);
	free(sel);
}

/*
 * History cursors are "<observed_at in us>.<id>" of the last item, so pages
 * stay stable while new results arrive.
 */
void
api_checks_history(struct req *r, struct resp *rs)
{
	char id[24], lim[24], cus[24], cid[24], since[RFC3339_LEN], until[RFC3339_LEN];
	const char *v[6] = { id, NULL, NULL, lim, NULL, NULL };
	const char *s, *es;
	int64_t us;
	long limit;
	PGresult *q = NULL;

	id_text(r->id[0], id);
	if ((limit = api_limit(r, rs)) < 0)
		return;
	id_text(limit + 1, lim);
	if ((s = req_arg(r, "since")) != NULL) {
		if (rfc3339_parse(s, &us) < 0) {
			resp_error(rs, 400, "since", "since must be an RFC 3339 time");
			return;
		}
		rfc3339_format(us, since);
		v[1] = since;
	}
	if ((s = req_arg(r, "until")) != NULL) {
		if (rfc3339_parse(s, &us) < 0) {
			resp_error(rs, 400, "until", "until must be an RFC 3339 time");
			return;
		}
		rfc3339_format(us, until);
		v[2] = until;
	}
	if ((s = req_arg(r, "cursor")) != NULL && *s) {
		const char *dot = strchr(s, '.');
		char a[24];
		long long t, hid;
		if (dot == NULL || (size_t)(dot - s) >= sizeof(a)) {
			resp_error(rs, 400, "cursor", "invalid cursor");
			return;
		}
		memcpy(a, s, (size_t)(dot - s));
		a[dot - s] = '\0';
		t = str_to_ll(a, INT64_MIN, INT64_MAX, &es);
		if (es == NULL)
			hid = str_to_ll(dot + 1, 1, INT64_MAX, &es);
		if (es) {
			resp_error(rs, 400, "cursor", "invalid cursor");
			return;
		}
		v[4] = id_text(t, cus);
		v[5] = id_text(hid, cid);
	}
	{
		const char *ev[1] = { id };
		q = db_exec(r->db, &q_exists, ev);
		if (!db_ok(q, PGRES_TUPLES_OK)) {
			resp_db_error(rs, r->db, q);
			goto done;
		}
		if (PQntuples(q) == 0) {
			resp_error(rs, 404, NULL, "no check %lld", (long long)r->id[0]);
			goto done;
		}
		PQclear(q);
	}
	q = db_exec(r->db, &q_history, v);
	if (db_ok(q, PGRES_TUPLES_OK))
		api_list(rs, q, 0, 1, limit);
	else
		resp_db_error(rs, r->db, q);
done:
	PQclear(q);
}

static const struct db_stmt q_rotate = { "checks_ping_rotate",
	"UPDATE heartbeats SET ping_uuid = $2::uuid WHERE check_id = $1", 2 };

/*
 * POST /api/v1/checks/{id}/ping/rotate: a new ping uuid (the old URL
 * answers 404 from now on); the check object with the new URL.
 */
void
api_checks_ping_rotate(struct req *r, struct resp *rs)
{
	char id[24], uuid[37];
	const char *v[2] = { id_text(r->id[0], id), uuid };
	PGresult *q;

	if (hbeat_new_uuid(uuid) < 0) {
		resp_error(rs, 500, NULL, "no random bytes for the ping uuid");
		return;
	}
	q = db_exec(r->db, &q_rotate, v);
	if (!db_ok(q, PGRES_COMMAND_OK))
		resp_db_error(rs, r->db, q);
	else if (strcmp(PQcmdTuples(q), "0") == 0)
		resp_error(rs, 404, NULL, "no heartbeat check %lld", (long long)r->id[0]);
	else
		answer_check(r, rs, 200, r->id[0]);
	PQclear(q);
}
