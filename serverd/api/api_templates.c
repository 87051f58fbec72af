/*
 * api_templates.c - /api/v1/templates: checks for every agent a selector
 * picks (docs/config-as-code.md, "Templates").
 *
 *   name      [A-Za-z0-9_.-]{1,63}, unique; the routes take it in the path
 *   selector  a selector (lib/selector.h): labels and fact.KEY, as the
 *             lists' ?selector= ("role=web,fact.os=debian"); "" picks none
 *   checks    check definitions: a check's fields without its agent
 *             (check_def_canon(), api_checks.c: the same rules)
 *
 * The checks themselves are made, kept in step and removed by the
 * database (template_sync(), sql/functions/template_sync.sql) from
 * triggers on templates and agents, so this file writes only the
 * template row: the request's one transaction carries the template and
 * every check it makes, changes or removes, all or nothing.
 */
#include "config.h"
#include "api.h"
#include "apiutil.h"
#include "byname.h"
#include "db.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TPL_PREFIX "/api/v1/templates/"
#define TPL_SELECTOR_MAX 4096
#define TPL_CHECKS_MAX 200

static const char *const template_fields[] = { "name", "selector", "checks", NULL };

/* the object: contacts by name, and what it made */
#define TEMPLATE_JSON \
	"jsonb_build_object('id', t.id, 'name', t.name, 'selector', t.selector," \
	" 'checks', COALESCE((SELECT jsonb_agg(d.v || jsonb_build_object('contacts'," \
	"   CASE WHEN jsonb_typeof(d.v->'contacts') = 'array' THEN COALESCE((SELECT" \
	"   jsonb_agg(ct.name ORDER BY n.i) FROM jsonb_array_elements_text(d.v->'contacts')" \
	"   WITH ORDINALITY n(x, i) JOIN contacts ct ON ct.id = n.x::bigint), '[]') END)" \
	"   ORDER BY d.i) FROM jsonb_array_elements(t.checks) WITH ORDINALITY d(v, i)), '[]')," \
	" 'agents', (SELECT count(DISTINCT c.agent_id) FROM checks c WHERE c.template = t.name)," \
	" 'checks_made', (SELECT count(*) FROM checks c WHERE c.template = t.name)," \
	" 'managed', t.managed, 'created_at', rfc3339(t.created_at)," \
	" 'updated_at', rfc3339(t.updated_at))"

static const struct db_stmt q_list = { "templates_list",
	"SELECT " TEMPLATE_JSON ", t.id FROM templates t WHERE t.id > $1 ORDER BY t.id LIMIT $2", 2 };
static const struct db_stmt q_get = { "templates_get",
	"SELECT " TEMPLATE_JSON " FROM templates t WHERE t.name = $1", 1 };
static const struct db_stmt q_create = { "templates_create",
	"INSERT INTO templates (name, selector, selector_json, checks)"
	" VALUES ($1, $2, $3::jsonb, $4::jsonb)", 4 };
static const struct db_stmt q_lock = { "templates_lock",
	"SELECT selector, checks::text FROM templates WHERE name = $1 FOR UPDATE", 1 };
static const struct db_stmt q_update = { "templates_update",
	"UPDATE templates SET selector = $2, selector_json = $3::jsonb, checks = $4::jsonb,"
	" updated_at = now() WHERE name = $1", 4 };
static const struct db_stmt q_delete = { "templates_delete",
	"DELETE FROM templates WHERE name = $1", 1 };

/* its by-name routes (byname.h) */
static const struct byname templates = { TPL_PREFIX, "template", &q_get, &q_delete };

/* The error of checks[i] names it: field "checks[i].FIELD", "checks[i]: ..." */
static void
which_check(struct resp *rs, size_t i)
{
	json_t *e = json_object_get(rs->json, "error"), *f = json_object_get(rs->json, "field");
	char buf[600];

	if (json_is_string(f)) {
		snprintf(buf, sizeof(buf), "checks[%zu].%s", i, json_string_value(f));
		json_object_set_new(rs->json, "field", json_string(buf));
	}
	if (json_is_string(e)) {
		snprintf(buf, sizeof(buf), "checks[%zu]: %s", i, json_string_value(e));
		json_object_set_new(rs->json, "error", json_string(buf));
	}
}

/*
 * The checks array validated (each by check_def_canon()), as canonical
 * JSON text (heap). Names unique within the template. NULL with rs filled.
 */
char *
template_checks_canon(struct req *r, json_t *arr, struct resp *rs)
{
	json_t *out, *d, *c;
	size_t i, j;
	char *text = NULL;

	if (!json_is_array(arr)) {
		resp_error(rs, 400, "checks", "checks must be an array of check definitions");
		return NULL;
	}
	if (json_array_size(arr) > TPL_CHECKS_MAX) {
		resp_error(rs, 422, "checks", "at most %d checks in a template", TPL_CHECKS_MAX);
		return NULL;
	}
	if ((out = json_array()) == NULL) {
		resp_error(rs, 500, NULL, "out of memory");
		return NULL;
	}
	json_array_foreach(arr, i, d) {
		if ((c = check_def_canon(r, d, rs)) == NULL) {
			which_check(rs, i);
			goto done;
		}
		for (j = 0; j < i; j++)
			if (strcmp(json_string_value(json_object_get(c, "name")),
			    json_string_value(json_object_get(json_array_get(out, j), "name"))) == 0) {
				resp_error(rs, 422, "checks", "checks[%zu]: a second check named \"%s\"",
				    i, json_string_value(json_object_get(c, "name")));
				json_decref(c);
				goto done;
			}
		if (json_array_append_new(out, c) < 0) {
			resp_error(rs, 500, NULL, "out of memory");
			goto done;
		}
	}
	if ((text = json_dumps(out, JSON_COMPACT)) == NULL)
		resp_error(rs, 500, NULL, "out of memory");
done:
	json_decref(out);
	return text;
}

/* The selector member (required when req): its text and parsed jsonb. 1, 0 absent, -1. */
static int
selector_member(json_t *o, int req, const char **text, char **parsed, struct resp *rs)
{
	int has = jv_str(o, "selector", req, TPL_SELECTOR_MAX, text, rs);

	if (has <= 0)
		return has;
	return selector_jsonb("selector", *text, parsed, rs) < 0 ? -1 : 1;
}

void
api_templates_list(struct req *r, struct resp *rs)
{
	api_list_page(r, rs, &q_list);
}

void
api_templates_get(struct req *r, struct resp *rs)
{
	byname_get(&templates, r, rs);
}

void
api_templates_create(struct req *r, struct resp *rs)
{
	const char *name, *sel, *v[4];
	char *parsed = NULL, *checks = NULL;
	PGresult *q = NULL;
	int in_tx = 0;

	if (jv_object(r, rs) < 0 || jv_known(r->body, template_fields, rs) < 0 ||
	    jv_str(r->body, "name", 1, BYNAME_MAX, &name, rs) < 0 ||
	    selector_member(r->body, 1, &sel, &parsed, rs) < 0)
		goto done;
	if (!byname_valid(name)) {
		resp_error(rs, 422, "name", "name must be 1 to %d of A-Z a-z 0-9 _ . -", BYNAME_MAX);
		goto done;
	}
	if (json_object_get(r->body, "checks") == NULL) {
		resp_error(rs, 422, "checks", "checks is required (an array, [] allowed)");
		goto done;
	}
	if ((checks = template_checks_canon(r, json_object_get(r->body, "checks"), rs)) == NULL)
		goto done;
	if (api_begin(r, rs) < 0)
		goto done;
	in_tx = 1;
	v[0] = name;
	v[1] = sel;
	v[2] = parsed;
	v[3] = checks;
	/* the trigger makes the checks (template_sync()) in this transaction */
	q = db_exec(r->db, &q_create, v);
	if (!db_ok(q, PGRES_COMMAND_OK)) {
		byname_write_error(&templates, r, rs, q, name);
		goto done;
	}
	in_tx = 0;
	if (api_commit(r, rs) < 0)
		goto done;
	snprintf(rs->location, sizeof(rs->location), TPL_PREFIX "%s", name);
	byname_answer(&templates, r, rs, name, 201);
done:
	if (in_tx)
		api_rollback(r);
	PQclear(q);
	free(parsed);
	free(checks);
}

void
api_templates_patch(struct req *r, struct resp *rs)
{
	static const char *const patch_fields[] = { "selector", "checks", NULL };
	char name[BYNAME_MAX + 1], *parsed = NULL, *checks = NULL;
	const char *sel = NULL, *v[4];
	PGresult *q = NULL;
	int in_tx = 0, has_sel;

	if (byname_path(&templates, r, rs, name) < 0 || jv_object(r, rs) < 0)
		goto done;
	if (json_object_get(r->body, "name")) {
		resp_error(rs, 422, "name", "a template is not renamed: create the new one, "
		    "then delete this one");
		goto done;
	}
	if (jv_known(r->body, patch_fields, rs) < 0 ||
	    (has_sel = selector_member(r->body, 0, &sel, &parsed, rs)) < 0)
		goto done;
	if (json_object_get(r->body, "checks") &&
	    (checks = template_checks_canon(r, json_object_get(r->body, "checks"), rs)) == NULL)
		goto done;
	if (api_begin(r, rs) < 0)
		goto done;
	in_tx = 1;
	v[0] = name;
	q = db_exec(r->db, &q_lock, v);
	if (!db_ok(q, PGRES_TUPLES_OK)) {
		resp_db_error(rs, r->db, q);
		goto done;
	}
	if (PQntuples(q) == 0) {
		byname_missing(&templates, rs, name);
		goto done;
	}
	if (!has_sel) {
		sel = PQgetvalue(q, 0, 0);
		if (selector_jsonb("selector", sel, &parsed, rs) < 0)
			goto done;
	}
	if (checks == NULL && (checks = strdup(PQgetvalue(q, 0, 1))) == NULL) {
		resp_error(rs, 500, NULL, "out of memory");
		goto done;
	}
	v[1] = sel;
	v[2] = parsed;
	v[3] = checks;
	{
		/* sel may point into q: run the update before q goes */
		PGresult *u = db_exec(r->db, &q_update, v);
		int ok = db_ok(u, PGRES_COMMAND_OK);
		if (!ok)
			resp_db_error(rs, r->db, u);
		PQclear(u);
		if (!ok)
			goto done;
	}
	in_tx = 0;
	if (api_commit(r, rs) < 0)
		goto done;
	byname_answer(&templates, r, rs, name, 200);
done:
	if (in_tx)
		api_rollback(r);
	PQclear(q);
	free(parsed);
	free(checks);
}

void
api_templates_delete(struct req *r, struct resp *rs)
{
	/* its checks go with it (checks.template ON DELETE CASCADE) */
	byname_delete(&templates, r, rs);
}
