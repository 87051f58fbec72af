/*
 * apiutil.c - see apiutil.h.
 */
#include "config.h"
#include "apiutil.h"
#include "utf8.h"
#include "buf.h"
#include "db.h"
#include "selector.h"
#include "strnum.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int
jv_object(struct req *r, struct resp *rs)
{
	if (r->body == NULL || !json_is_object(r->body)) {
		resp_error(rs, 400, NULL, "expected a JSON object");
		return -1;
	}
	return 0;
}

int
jv_known(json_t *o, const char *const *allowed, struct resp *rs)
{
	const char *key;
	json_t *v;

	json_object_foreach(o, key, v) {
		int i;
		for (i = 0; allowed[i]; i++)
			if (strcmp(allowed[i], key) == 0)
				break;
		if (allowed[i] == NULL) {
			resp_error(rs, 422, key, "unknown field \"%s\"", key);
			return -1;
		}
	}
	return 0;
}

/*
 * The member key of o, for the typed getters: 1 with *v, 0 when absent
 * or null, -1 with a 422 "KEY is required" when it is absent but required.
 */
static int
jv_member(json_t *o, const char *key, int required, json_t **v, struct resp *rs)
{
	*v = json_object_get(o, key);
	if (*v != NULL && !json_is_null(*v))
		return 1;
	if (required) {
		resp_error(rs, 422, key, "%s is required", key);
		return -1;
	}
	return 0;
}

int
jv_str(json_t *o, const char *key, int required, size_t maxlen, const char **out, struct resp *rs)
{
	json_t *v;
	int rc;

	if ((rc = jv_member(o, key, required, &v, rs)) <= 0)
		return rc;
	if (!json_is_string(v)) {
		resp_error(rs, 400, key, "%s must be a string", key);
		return -1;
	}
	if (json_string_length(v) > maxlen) {
		resp_error(rs, 422, key, "%s is longer than %zu bytes", key, maxlen);
		return -1;
	}
	if (strlen(json_string_value(v)) != json_string_length(v)) {
		resp_error(rs, 422, key, "%s contains a NUL character", key);
		return -1;
	}
	*out = json_string_value(v);
	return 1;
}

int
jv_name(json_t *o, const char *key, int required, size_t maxlen, const char **out,
    struct resp *rs)
{
	int rc = jv_str(o, key, required, maxlen, out, rs);
	size_t n, at;

	if (rc <= 0)
		return rc;
	n = strlen(*out);
	if ((at = utf8_ctl_find(*out, n, 0)) < n) {
		resp_error(rs, 422, key, "%s contains a control character (byte %zu)", key, at);
		return -1;
	}
	return 1;
}

static json_t *
ctl_string(const char *s, size_t n)
{
	char *e;
	json_t *j;

	if (utf8_ctl_find(s, n, 0) == n)
		return json_stringn(s, n);
	if ((e = utf8_ctl_escape(s, n, 0)) == NULL)
		return NULL;
	j = json_string(e);
	free(e);
	return j;
}

json_t *
jv_ctl_escaped(json_t *v)
{
	json_t *out, *x;

	if (json_is_string(v))
		return ctl_string(json_string_value(v), json_string_length(v));
	if (json_is_array(v)) {
		size_t i;
		if ((out = json_array()) == NULL)
			return NULL;
		for (i = 0; i < json_array_size(v); i++)
			if ((x = jv_ctl_escaped(json_array_get(v, i))) == NULL ||
			    json_array_append_new(out, x) < 0) {
				json_decref(out);
				return NULL;
			}
		return out;
	}
	if (json_is_object(v)) {
		const char *k;
		json_t *val;
		if ((out = json_object()) == NULL)
			return NULL;
		json_object_foreach(v, k, val) {
			size_t kn = strlen(k);
			char *ek = utf8_ctl_find(k, kn, 0) == kn ? NULL : utf8_ctl_escape(k, kn, 0);
			if ((x = jv_ctl_escaped(val)) == NULL ||
			    json_object_set_new(out, ek ? ek : k, x) < 0) {
				free(ek);
				json_decref(out);
				return NULL;
			}
			free(ek);
		}
		return out;
	}
	return json_incref(v);
}

int
jv_int(json_t *o, const char *key, int required, long long min, long long max,
    long long *out, struct resp *rs)
{
	json_t *v;
	int rc;

	if ((rc = jv_member(o, key, required, &v, rs)) <= 0)
		return rc;
	if (!json_is_integer(v)) {
		resp_error(rs, 400, key, "%s must be an integer", key);
		return -1;
	}
	if (json_integer_value(v) < min || json_integer_value(v) > max) {
		resp_error(rs, 422, key, "%s must be from %lld to %lld", key, min, max);
		return -1;
	}
	*out = json_integer_value(v);
	return 1;
}

int
jv_bool(json_t *o, const char *key, int *out, struct resp *rs)
{
	json_t *v = json_object_get(o, key);

	if (v == NULL)
		return 0;
	if (!json_is_boolean(v)) {
		resp_error(rs, 400, key, "%s must be true or false", key);
		return -1;
	}
	*out = json_is_true(v);
	return 1;
}

int
jv_ids(json_t *o, const char *key, char **out, int *present, struct resp *rs)
{
	json_t *v = json_object_get(o, key), *e;
	struct buf b;
	size_t i;

	*out = NULL;
	*present = v != NULL;
	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_array(v)) {
		resp_error(rs, 400, key, "%s must be an array of ids or null", key);
		return -1;
	}
	if (json_array_size(v) > 1000) {
		resp_error(rs, 422, key, "%s has more than 1000 ids", key);
		return -1;
	}
	buf_init(&b, 1 << 16);
	buf_adds(&b, "{");
	json_array_foreach(v, i, e) {
		if (!json_is_integer(e) || json_integer_value(e) < 1) {
			resp_error(rs, 400, key, "%s must hold positive integer ids", key);
			buf_free(&b);
			return -1;
		}
		buf_addf(&b, "%s%lld", i ? "," : "", (long long)json_integer_value(e));
	}
	if (buf_adds(&b, "}") < 0) {
		resp_error(rs, 500, NULL, "out of memory");
		buf_free(&b);
		return -1;
	}
	*out = buf_take(&b);
	return 1;
}

static const struct db_stmt q_contact_named = { "contact_named",
	"SELECT id FROM contacts WHERE name = $1", 1 };
static const struct db_stmt q_agent_named = { "agent_named",
	"SELECT id FROM agents WHERE name = $1", 1 };
static const struct db_stmt q_check_named = { "check_named",
	"SELECT c.id FROM checks c JOIN agents a ON a.id = c.agent_id"
	" WHERE a.name = $1 AND c.name = $2", 2 };

/* the id of the row st finds (by name), 0 when none, -1 with rs filled */
static long long
id_by_name(struct req *r, const struct db_stmt *st, const char *const *v, struct resp *rs)
{
	PGresult *q = db_exec(r->db, st, v);
	const char *es = NULL;
	long long id = -1;

	if (!db_ok(q, PGRES_TUPLES_OK)) {
		resp_db_error(rs, r->db, q);
	} else if (PQntuples(q) == 0) {
		id = 0;
	} else {
		id = str_to_ll(PQgetvalue(q, 0, 0), 1, INT64_MAX, &es);
		if (es) {
			resp_error(rs, 500, NULL, "bad id from the database");
			id = -1;
		}
	}
	PQclear(q);
	return id;
}

int
contact_names(struct req *r, json_t *o, const char *key, struct resp *rs)
{
	json_t *v = json_object_get(o, key), *e;
	long long id;
	size_t i;

	if (!json_is_array(v) || json_array_size(v) > 1000)
		return 0;   /* jv_ids() says what is wrong */
	json_array_foreach(v, i, e) {
		if (!json_is_string(e))
			continue;
		if (strlen(json_string_value(e)) != json_string_length(e)) {
			resp_error(rs, 422, key, "%s: a name contains a NUL character", key);
			return -1;
		}
		const char *nv[1] = { json_string_value(e) };
		if ((id = id_by_name(r, &q_contact_named, nv, rs)) < 0)
			return -1;
		if (id == 0) {
			resp_error(rs, 422, key, "%s: no contact named \"%.200s\"", key,
			    json_string_value(e));
			return -1;
		}
		if (json_array_set_new(v, i, json_integer(id)) < 0) {
			resp_error(rs, 500, NULL, "out of memory");
			return -1;
		}
	}
	return 0;
}

/*
 * "KEY": NAME in place of "KEY_id" (agent: "web01"; check: "web01/nginx",
 * its agent's name, a slash, its own): o's KEY_id becomes the id, KEY goes.
 */
static int
name_to_id(struct req *r, json_t *o, const char *key, const char *idkey, struct resp *rs)
{
	json_t *v = json_object_get(o, key);
	const char *s, *slash, *nv[2];
	char agent[256];
	long long id;

	if (v == NULL)
		return 0;
	if (!json_is_string(v) || json_string_length(v) > 512 ||
	    strlen(json_string_value(v)) != json_string_length(v)) {
		resp_error(rs, json_is_string(v) ? 422 : 400, key, "%s must be %s name",
		    key, strcmp(key, "check") == 0 ? "a check's \"agent/check\"" : "an agent's");
		return -1;
	}
	if (json_object_get(o, idkey) != NULL) {
		resp_error(rs, 422, key, "give %s or %s, not both", key, idkey);
		return -1;
	}
	s = json_string_value(v);
	if (strcmp(key, "check") == 0) {
		if ((slash = strchr(s, '/')) == NULL || (size_t)(slash - s) >= sizeof(agent)) {
			resp_error(rs, 422, key, "check must be \"agent/check\", as \"web01/nginx\"");
			return -1;
		}
		memcpy(agent, s, (size_t)(slash - s));
		agent[slash - s] = '\0';
		nv[0] = agent;
		nv[1] = slash + 1;
		id = id_by_name(r, &q_check_named, nv, rs);
	} else {
		nv[0] = s;
		id = id_by_name(r, &q_agent_named, nv, rs);
	}
	if (id < 0)
		return -1;
	if (id == 0) {
		resp_error(rs, 422, key, "no %s named \"%.200s\"", key, s);
		return -1;
	}
	if (json_object_set_new(o, idkey, json_integer(id)) < 0) {
		resp_error(rs, 500, NULL, "out of memory");
		return -1;
	}
	json_object_del(o, key);
	return 0;
}

/*
 * ?WHAT_id=ID or ?WHAT=NAME (what: "agent" or "check"), the part both
 * lists' arguments share: 1 with out the id when ID was given, 0 with
 * *name the NAME (NULL when neither was), -1 with rs filled (both given,
 * a bad ID).
 */
static int
id_or_name_arg(struct req *r, struct resp *rs, const char *what, const char **name, char out[24])
{
	char key[16];
	const char *ids, *es;
	long long id;

	snprintf(key, sizeof(key), "%s_id", what);
	ids = req_arg(r, key);
	*name = req_arg(r, what);
	if (ids && *name) {
		resp_error(rs, 422, what, "give %s or %s, not both", what, key);
		return -1;
	}
	if (ids == NULL)
		return 0;
	id = str_to_ll(ids, 1, INT64_MAX, &es);
	if (es) {
		resp_error(rs, 400, key, "%s must be a positive integer", key);
		return -1;
	}
	id_text(id, out);
	return 1;
}

/* The id st finds for nv into out: 1, or -1 with a 422 "no WHAT named \"SHOWN\"". */
static int
named_id_arg(struct req *r, struct resp *rs, const char *what, const struct db_stmt *st,
    const char *const *nv, const char *shown, char out[24])
{
	long long id = id_by_name(r, st, nv, rs);

	if (id < 0)
		return -1;
	if (id == 0) {
		resp_error(rs, 422, what, "no %s named \"%.200s\"", what, shown);
		return -1;
	}
	id_text(id, out);
	return 1;
}

int
api_agent_arg(struct req *r, struct resp *rs, char out[24])
{
	const char *name, *nv[1];
	int rc = id_or_name_arg(r, rs, "agent", &name, out);

	if (rc != 0 || name == NULL)
		return rc;
	nv[0] = name;
	return named_id_arg(r, rs, "agent", &q_agent_named, nv, name, out);
}

int
api_check_arg(struct req *r, struct resp *rs, char out[24])
{
	const char *spec, *slash, *nv[2];
	char agent[256];
	int rc = id_or_name_arg(r, rs, "check", &spec, out);

	if (rc != 0 || spec == NULL)
		return rc;
	if ((slash = strchr(spec, '/')) == NULL || (size_t)(slash - spec) >= sizeof(agent)) {
		resp_error(rs, 422, "check", "check must be \"agent/check\", as \"web01/nginx\"");
		return -1;
	}
	memcpy(agent, spec, (size_t)(slash - spec));
	agent[slash - spec] = '\0';
	nv[0] = agent;
	nv[1] = slash + 1;
	return named_id_arg(r, rs, "check", &q_check_named, nv, spec, out);
}

int
agent_name(struct req *r, json_t *o, struct resp *rs)
{
	return name_to_id(r, o, "agent", "agent_id", rs);
}

int
check_name(struct req *r, json_t *o, struct resp *rs)
{
	return name_to_id(r, o, "check", "check_id", rs);
}

static const struct db_stmt q_contacts_exist = { "contacts_exist",
	"SELECT x FROM unnest($1::bigint[]) x WHERE NOT EXISTS"
	" (SELECT 1 FROM contacts c WHERE c.id = x) LIMIT 1", 1 };

int
contacts_exist(struct req *r, const char *ids, const char *field, struct resp *rs)
{
	const char *v[1] = { ids };
	PGresult *q;
	int rc = -1;

	if (ids == NULL)
		return 0;
	q = db_exec(r->db, &q_contacts_exist, v);
	if (!db_ok(q, PGRES_TUPLES_OK))
		resp_db_error(rs, r->db, q);
	else if (PQntuples(q) > 0)
		resp_error(rs, 422, field, "contact %s does not exist", PQgetvalue(q, 0, 0));
	else
		rc = 0;
	PQclear(q);
	return rc;
}

static const struct db_stmt q_parents = { "api_parents_resolve",
	"SELECT ids, error FROM parents_resolve($1, $2::bigint, $3::jsonb)", 3 };

int
parents_arg(struct req *r, json_t *o, const char *kind, int64_t id, char **ids,
    struct resp *rs)
{
	json_t *p = json_object_get(o, "parents");
	char idt[24], *text = NULL;
	const char *v[3] = { kind, id ? id_text(id, idt) : NULL, NULL };
	PGresult *q = NULL;
	int rc = -1;

	*ids = NULL;
	if (p == NULL)
		return 0;
	if (!json_is_array(p)) {
		resp_error(rs, 400, "parents", "parents must be a list of checks named \"agent/check\"");
		return -1;
	}
	if ((text = json_dumps(p, JSON_COMPACT | JSON_ENCODE_ANY)) == NULL) {
		resp_error(rs, 500, NULL, "out of memory");
		return -1;
	}
	v[2] = text;
	q = db_exec(r->db, &q_parents, v);
	if (!db_ok(q, PGRES_TUPLES_OK) || PQntuples(q) != 1)
		resp_db_error(rs, r->db, q);
	else if (!PQgetisnull(q, 0, 1))
		resp_error(rs, 422, "parents", "%s", PQgetvalue(q, 0, 1));
	else if ((*ids = strdup(PQgetvalue(q, 0, 0))) == NULL)
		resp_error(rs, 500, NULL, "out of memory");
	else
		rc = 1;
	PQclear(q);
	free(text);
	return rc;
}

/* BEGIN or COMMIT: 0, or -1 with rs filled */
static int
tx_cmd(struct req *r, struct resp *rs, const char *sql)
{
	PGresult *q = db_query(r->db, sql);
	int ok = db_ok(q, PGRES_COMMAND_OK);

	if (!ok)
		resp_db_error(rs, r->db, q);
	PQclear(q);
	return ok ? 0 : -1;
}

int
api_begin(struct req *r, struct resp *rs)
{
	return tx_cmd(r, rs, "BEGIN");
}

int
api_commit(struct req *r, struct resp *rs)
{
	return tx_cmd(r, rs, "COMMIT");
}

void
api_rollback(struct req *r)
{
	if (r->db && PQstatus(r->db) == CONNECTION_OK)
		db_cmd(r->db, "ROLLBACK");
}

long
api_limit(struct req *r, struct resp *rs)
{
	const char *s = req_arg(r, "limit"), *es;
	long long n;

	if (s == NULL)
		return API_LIST_DEFAULT;
	n = str_to_ll(s, 1, API_LIST_MAX, &es);
	if (es) {
		resp_error(rs, 400, "limit", "limit must be from 1 to %d", API_LIST_MAX);
		return -1;
	}
	return (long)n;
}

int64_t
api_cursor(struct req *r, struct resp *rs)
{
	const char *s = req_arg(r, "cursor"), *es;
	long long n;

	if (s == NULL || *s == '\0')
		return 0;
	n = str_to_ll(s, 1, INT64_MAX, &es);
	if (es) {
		resp_error(rs, 400, "cursor", "invalid cursor");
		return -1;
	}
	return n;
}

void
api_list(struct resp *rs, PGresult *q, int jcol, int idcol, long limit)
{
	json_t *items = json_array(), *o = json_object();
	int n = PQntuples(q), i;

	if (items == NULL || o == NULL)
		goto oom;
	for (i = 0; i < n && i < limit; i++) {
		json_t *it = json_loads(PQgetvalue(q, i, jcol), JSON_DECODE_ANY, NULL);
		if (it == NULL || json_array_append_new(items, it) < 0)
			goto oom;
	}
	json_object_set_new(o, "items", items);
	items = NULL;
	json_object_set_new(o, "next", n > limit ? json_string(PQgetvalue(q, (int)limit - 1, idcol)) : json_null());
	resp_json(rs, 200, o);
	return;
oom:
	json_decref(items);
	json_decref(o);
	resp_error(rs, 500, NULL, "out of memory");
}

void
api_query_list(struct req *r, struct resp *rs, const struct db_stmt *st,
    const char *const *vals, long limit)
{
	PGresult *q = db_exec(r->db, st, vals);

	if (db_ok(q, PGRES_TUPLES_OK))
		api_list(rs, q, 0, 1, limit);
	else
		resp_db_error(rs, r->db, q);
	PQclear(q);
}

void
api_list_page(struct req *r, struct resp *rs, const struct db_stmt *st)
{
	char cur[24], lim[24];
	const char *v[2] = { cur, lim };
	long limit;
	int64_t cursor;

	if ((limit = api_limit(r, rs)) < 0 || (cursor = api_cursor(r, rs)) < 0)
		return;
	id_text(cursor, cur);
	id_text(limit + 1, lim);
	api_query_list(r, rs, st, v, limit);
}

void
api_get_id(struct req *r, struct resp *rs, const struct db_stmt *st, int64_t id,
    int status, const char *what)
{
	char ids[24];
	const char *v[1] = { id_text(id, ids) };
	PGresult *q = db_exec(r->db, st, v);

	if (!db_ok(q, PGRES_TUPLES_OK))
		resp_db_error(rs, r->db, q);
	else if (PQntuples(q) == 0)
		resp_error(rs, 404, NULL, "no %s %lld", what, (long long)id);
	else
		api_one(rs, status, q, 0);
	PQclear(q);
}

void
api_one(struct resp *rs, int status, PGresult *q, int col)
{
	json_t *j = json_loads(PQgetvalue(q, 0, col), JSON_DECODE_ANY, NULL);

	resp_json(rs, status, j);
}

int
jv_labels(json_t *o, const char *key, char **out, struct resp *rs)
{
	json_t *v = json_object_get(o, key), *lv;
	const char *k;

	*out = NULL;
	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_object(v)) {
		resp_error(rs, 400, key, "%s must be an object of strings", key);
		return -1;
	}
	if (json_object_size(v) > LABELS_MAX) {
		resp_error(rs, 422, key, "%s: %zu labels, at most %d", key, json_object_size(v),
		    LABELS_MAX);
		return -1;
	}
	json_object_foreach(v, k, lv) {
		if (!label_key_valid(k) || strncmp(k, "fact.", 5) == 0) {
			resp_error(rs, 422, key, "%s: key \"%.80s\" must be 1..%d of a-z 0-9 _ . - "
			    "(and not begin \"fact.\")", key, k, LABEL_KEY_MAX);
			return -1;
		}
		if (!json_is_string(lv)) {
			resp_error(rs, 400, key, "%s: the value of \"%s\" must be a string", key, k);
			return -1;
		}
		if (json_string_length(lv) > LABEL_VALUE_MAX ||
		    strlen(json_string_value(lv)) != json_string_length(lv)) {
			resp_error(rs, 422, key, "%s: the value of \"%s\" must be at most %d bytes, "
			    "without NUL", key, k, LABEL_VALUE_MAX);
			return -1;
		}
	}
	if ((*out = json_dumps(v, JSON_COMPACT)) == NULL) {
		resp_error(rs, 500, NULL, "out of memory");
		return -1;
	}
	return 1;
}

/*
 * One requirement as selector_match() reads it; NULL when out of memory or
 * when a value is not UTF-8 (json_string() refuses it).
 */
static json_t *
sel_req_json(const struct sel_req *rq)
{
	static const char *const ops[] = { "in", "notin", "exists", "!exists" };
	json_t *vals = json_array(), *key;
	const char *s, *dot;
	size_t i;
	int bad = vals == NULL;

	if (rq->fact) {
		key = json_array();
		for (s = rq->key; key && !bad; s = dot + 1) {
			dot = strchr(s, '.');
			bad = json_array_append_new(key, json_stringn(s, dot ? (size_t)(dot - s) :
			    strlen(s))) < 0;
			if (dot == NULL)
				break;
		}
	} else {
		key = json_string(rq->key);
	}
	for (i = 0; !bad && i < rq->nvalues; i++)
		bad = json_array_append_new(vals, json_string(rq->values[i])) < 0;
	if (bad || key == NULL) {
		json_decref(key);
		json_decref(vals);
		return NULL;
	}
	/* "o" steals both references, on failure too */
	return json_pack("{s:o,s:b,s:s,s:o}", "key", key, "fact", rq->fact, "op", ops[rq->op],
	    "values", vals);
}

json_t *
api_selector_json(const struct selector *sel)
{
	json_t *a = json_array();
	size_t i;

	for (i = 0; a && i < sel->n; i++)
		if (json_array_append_new(a, sel_req_json(&sel->reqs[i])) < 0) {
			json_decref(a);
			a = NULL;
		}
	return a;
}

int
selector_jsonb(const char *field, const char *s, char **out, struct resp *rs)
{
	struct selector sel;
	char err[256];
	json_t *a;

	*out = NULL;
	if (selector_parse(field, s, &sel, err, sizeof(err)) < 0) {
		resp_error(rs, 400, field, "%s", err);
		return -1;
	}
	a = api_selector_json(&sel);
	selector_free(&sel);
	if (a == NULL || (*out = json_dumps(a, JSON_COMPACT)) == NULL) {
		json_decref(a);
		resp_error(rs, 400, field, "%s: not UTF-8 (or out of memory)", field);
		return -1;
	}
	json_decref(a);
	return 1;
}

int
api_selector(struct req *r, struct resp *rs, char **out)
{
	const char *s = req_arg(r, "selector");

	*out = NULL;
	if (s == NULL)
		return 0;
	return selector_jsonb("selector", s, out, rs);
}
