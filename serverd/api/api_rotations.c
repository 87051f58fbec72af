/*
 * api_rotations.c - /api/v1/rotations: who is on call.
 *
 *   name         [A-Za-z0-9_.-]{1,63}, unique; the routes take it in the
 *                path (/api/v1/rotations/ops), policies name it
 *                "rotation:ops"
 *   members      users in order, by name or id (at least one)
 *   shift        "day", "week" or "hours:N" (N dividing 24)
 *   handoff      "HH:MM" on the wall clock of tz (default 09:00)
 *   handoff_day  "week" shifts: the weekday of the hand-off (default: the
 *                weekday of start)
 *   tz           an IANA zone (default UTC)
 *   start        "YYYY-MM-DD": the day of the first hand-off (default today)
 *   overrides    [{"user", "start", "end"}]: that person is on call from
 *                start to end whatever the order says; a PATCH replaces the
 *                list, POST .../overrides adds one
 *
 * GET /api/v1/rotations/{name}/oncall?at=TIME answers who is on call at
 * TIME (default now), the shift's bounds and who comes next. The arithmetic
 * is lib/oncall.c's: hand-offs at the wall-clock time in the rotation's
 * zone, right on the days the clocks change. It runs here, in C, not in
 * SQL: lib/oncall.c is what the unit tests prove across the changes, and
 * the routing of the on-call policies will call it too.
 */
#include "config.h"
#include "api.h"
#include "apiutil.h"
#include "byname.h"
#include "db.h"
#include "oncall.h"
#include "strnum.h"
#include "timeutil.h"
#include "tz.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ROT_PREFIX "/api/v1/rotations/"
#define OVERRIDES_MAX 200

static const char *const rotation_fields[] = { "name", "members", "shift", "handoff",
	"handoff_day", "tz", "start", "overrides", NULL };
static const char *const override_fields[] = { "user", "start", "end", NULL };

#define ROTATION_JSON \
	"jsonb_build_object('id', r.id, 'name', r.name, 'shift', r.shift, 'handoff', r.handoff," \
	" 'handoff_day', r.handoff_day, 'tz', r.tz, 'start', to_char(r.start_date, 'YYYY-MM-DD')," \
	" 'members', COALESCE((SELECT jsonb_agg(c.name ORDER BY m.pos) FROM rotation_members m" \
	"   JOIN contacts c ON c.id = m.contact_id WHERE m.rotation_id = r.id), '[]'::jsonb)," \
	" 'overrides', COALESCE((SELECT jsonb_agg(jsonb_build_object('id', o.id, 'user', c.name," \
	"   'start', rfc3339(o.start_at), 'end', rfc3339(o.end_at), 'created_by', o.created_by)" \
	"   ORDER BY o.start_at, o.id) FROM rotation_overrides o JOIN contacts c" \
	"   ON c.id = o.contact_id WHERE o.rotation_id = r.id), '[]'::jsonb)," \
	" 'created_at', rfc3339(r.created_at), 'created_by', r.created_by)"

static const struct db_stmt q_list = { "rotations_list",
	"SELECT " ROTATION_JSON ", r.id FROM rotations r WHERE r.id > $1 ORDER BY r.id LIMIT $2", 2 };
static const struct db_stmt q_get = { "rotations_get",
	"SELECT " ROTATION_JSON " FROM rotations r WHERE r.name = $1", 1 };
static const struct db_stmt q_id = { "rotations_id",
	"SELECT id FROM rotations WHERE name = $1 FOR UPDATE", 1 };
static const struct db_stmt q_create = { "rotations_create",
	"INSERT INTO rotations (name, shift, handoff, handoff_day, tz, start_date, created_by)"
	" VALUES ($1, $2, COALESCE($3, '09:00'), $4, COALESCE($5, 'UTC'),"
	"  COALESCE($6::date, (now() AT TIME ZONE COALESCE($5, 'UTC'))::date), $7)"
	" RETURNING id", 7 };
static const struct db_stmt q_patch = { "rotations_patch",
	"UPDATE rotations SET name = COALESCE($2, name), shift = COALESCE($3, shift),"
	"  handoff = COALESCE($4, handoff),"
	"  handoff_day = CASE WHEN $5::boolean THEN $6 ELSE handoff_day END,"
	"  tz = COALESCE($7, tz), start_date = COALESCE($8::date, start_date)"
	" WHERE id = $1", 8 };
/* the members in the order given: a user named twice takes two places
 * (two statements: one that deleted and inserted the same key would see
 * its own deletion only after it ended, and conflict) */
static const struct db_stmt q_members_clear = { "rotations_members_clear",
	"DELETE FROM rotation_members WHERE rotation_id = $1", 1 };
static const struct db_stmt q_members = { "rotations_members",
	"INSERT INTO rotation_members (rotation_id, pos, contact_id)"
	" SELECT $1, m.ord, m.id FROM unnest($2::bigint[]) WITH ORDINALITY m(id, ord)", 2 };
static const struct db_stmt q_overrides_clear = { "rotations_overrides_clear",
	"DELETE FROM rotation_overrides WHERE rotation_id = $1", 1 };
static const struct db_stmt q_override_add = { "rotations_override_add",
	"INSERT INTO rotation_overrides (rotation_id, contact_id, start_at, end_at, created_by)"
	" VALUES ($1, $2, 'epoch'::timestamptz + $3::bigint * interval '1 second',"
	"  'epoch'::timestamptz + $4::bigint * interval '1 second', $5)"
	" RETURNING jsonb_build_object('id', id, 'start', rfc3339(start_at), 'end', rfc3339(end_at))", 5 };
/* after the writes: the whole rotation, and whether it is still valid */
static const struct db_stmt q_after = { "rotations_after",
	"SELECT " ROTATION_JSON ", (SELECT count(*) FROM rotation_members m"
	"  WHERE m.rotation_id = r.id), r.shift, r.handoff, r.handoff_day, r.tz"
	" FROM rotations r WHERE r.id = $1", 1 };
static const struct db_stmt q_delete = { "rotations_delete",
	"DELETE FROM rotations WHERE name = $1", 1 };
/*
 * What oncall needs: the rules, the start day as a day number, the members
 * in order, and the newest override covering the instant.
 */
static const struct db_stmt q_oncall = { "rotations_oncall",
	"SELECT r.name, r.shift, r.handoff, r.handoff_day, r.tz,"
	"  (r.start_date - DATE '1970-01-01'),"
	"  (SELECT json_agg(c.name ORDER BY m.pos) FROM rotation_members m"
	"    JOIN contacts c ON c.id = m.contact_id WHERE m.rotation_id = r.id),"
	"  o.name, extract(epoch FROM o.start_at)::bigint, extract(epoch FROM o.end_at)::bigint"
	" FROM rotations r LEFT JOIN LATERAL (SELECT c.name, x.start_at, x.end_at"
	"   FROM rotation_overrides x JOIN contacts c ON c.id = x.contact_id"
	"   WHERE x.rotation_id = r.id"
	"     AND x.start_at <= 'epoch'::timestamptz + $2::bigint * interval '1 second'"
	"     AND x.end_at > 'epoch'::timestamptz + $2::bigint * interval '1 second'"
	"   ORDER BY x.id DESC LIMIT 1) o ON true"
	" WHERE r.name = $1", 2 };

/* its by-name routes (byname.h) */
static const struct byname rotations = { ROT_PREFIX, "rotation", &q_get, &q_delete };

/* An RFC 3339 member as seconds; 1 present, 0 absent, -1 error. */
static int
time_member(json_t *o, const char *key, int required, int64_t *t, struct resp *rs)
{
	const char *s = NULL;
	int64_t us;
	int rc = jv_str(o, key, required, 64, &s, rs);

	if (rc <= 0)
		return rc;
	if (rfc3339_parse(s, &us) < 0) {
		resp_error(rs, 422, key, "%s \"%s\" is not an RFC 3339 time", key, s);
		return -1;
	}
	*t = us / 1000000;
	return 1;
}

struct rotation_in {
	const char *name, *shift, *handoff, *handoff_day, *tz, *start;
	int has_handoff_day;
	char *members;          /* "{3,5}", heap */
	int has_members;
	json_t *overrides;      /* borrowed from the body */
};

/* "YYYY-MM-DD", a real day */
static int
valid_date(const char *s)
{
	int64_t us;
	char t[32];

	if (strlen(s) != 10)
		return 0;
	snprintf(t, sizeof(t), "%sT00:00:00Z", s);
	return rfc3339_parse(t, &us) == 0;
}

static int
parse_rotation(struct req *r, json_t *o, int creating, struct rotation_in *in, struct resp *rs)
{
	struct rotation rot;
	char err[256];
	json_t *hd;
	int x;

	memset(in, 0, sizeof(*in));
	if (jv_known(o, rotation_fields, rs) < 0 ||
	    jv_name(o, "name", creating, BYNAME_MAX, &in->name, rs) < 0 ||
	    jv_str(o, "shift", creating, 16, &in->shift, rs) < 0 ||
	    jv_str(o, "handoff", 0, 8, &in->handoff, rs) < 0 ||
	    jv_str(o, "tz", 0, TZ_NAME_MAX, &in->tz, rs) < 0 ||
	    jv_str(o, "start", 0, 16, &in->start, rs) < 0)
		return -1;
	if (in->name && !byname_valid(in->name)) {
		resp_error(rs, 422, "name", "a rotation's name is 1-%d letters, digits, '_', '.' "
		    "or '-'", BYNAME_MAX);
		return -1;
	}
	if (in->shift && shift_parse(in->shift, &rot, err, sizeof(err)) < 0) {
		resp_error(rs, 422, "shift", "%s", err);
		return -1;
	}
	if (in->handoff && hhmm_parse(in->handoff, &x, err, sizeof(err)) < 0) {
		resp_error(rs, 422, "handoff", "handoff: %s", err);
		return -1;
	}
	hd = json_object_get(o, "handoff_day");
	in->has_handoff_day = hd != NULL;
	if (jv_str(o, "handoff_day", 0, 16, &in->handoff_day, rs) < 0)
		return -1;
	if (in->handoff_day && weekday_parse(in->handoff_day, &x, err, sizeof(err)) < 0) {
		resp_error(rs, 422, "handoff_day", "handoff_day: %s", err);
		return -1;
	}
	if (in->tz && tz_get(in->tz, err, sizeof(err)) == NULL) {
		resp_error(rs, 422, "tz", "tz \"%s\" is not a time zone (an IANA name such as "
		    "Europe/Paris or UTC): %s", in->tz, err);
		return -1;
	}
	if (in->start && !valid_date(in->start)) {
		resp_error(rs, 422, "start", "start \"%s\" is not a day (YYYY-MM-DD)", in->start);
		return -1;
	}
	if (contact_names(r, o, "members", rs) < 0 ||
	    jv_ids(o, "members", &in->members, &in->has_members, rs) < 0)
		return -1;
	if ((creating && in->members == NULL) || (in->has_members && in->members == NULL) ||
	    (in->members && strcmp(in->members, "{}") == 0)) {
		resp_error(rs, 422, "members", "a rotation has at least one member");
		return -1;
	}
	if (in->members && json_array_size(json_object_get(o, "members")) > ROTATION_MEMBERS_MAX) {
		resp_error(rs, 422, "members", "a rotation has at most %d members",
		    ROTATION_MEMBERS_MAX);
		return -1;
	}
	if (in->members && contacts_exist(r, in->members, "members", rs) < 0)
		return -1;
	in->overrides = json_object_get(o, "overrides");
	if (in->overrides && !json_is_null(in->overrides) && (!json_is_array(in->overrides) ||
	    json_array_size(in->overrides) > OVERRIDES_MAX)) {
		resp_error(rs, 400, "overrides", "overrides is an array of at most %d objects",
		    OVERRIDES_MAX);
		return -1;
	}
	return 0;
}

/* One override object into the rotation; 0 or -1 (rs filled). */
static int
add_override(struct req *r, struct resp *rs, const char *rid, json_t *o, json_t **out)
{
	int64_t start, end;
	long long uid;
	char u[24], s[24], e[24];
	const char *v[5];
	json_t *arr = NULL, *user;
	PGresult *q;
	int rc = -1;

	if (!json_is_object(o)) {
		resp_error(rs, 400, "overrides", "an override is an object {user, start, end}");
		return -1;
	}
	if (jv_known(o, override_fields, rs) < 0)
		return -1;
	/* "user": a name or an id, as a rotation's members */
	if ((user = json_object_get(o, "user")) == NULL) {
		resp_error(rs, 422, "user", "an override names its user");
		return -1;
	}
	if ((arr = json_pack("{s:[O]}", "user", user)) == NULL) {
		resp_error(rs, 500, NULL, "out of memory");
		return -1;
	}
	if (contact_names(r, arr, "user", rs) < 0)
		goto done;
	user = json_array_get(json_object_get(arr, "user"), 0);
	if (!json_is_integer(user) || (uid = json_integer_value(user)) < 1) {
		resp_error(rs, 422, "user", "user is a user's name or id");
		goto done;
	}
	snprintf(u, sizeof(u), "{%lld}", uid);
	if (contacts_exist(r, u, "user", rs) < 0 ||
	    time_member(o, "start", 1, &start, rs) < 0 || time_member(o, "end", 1, &end, rs) < 0)
		goto done;
	if (end <= start) {
		resp_error(rs, 422, "end", "an override's end is after its start");
		goto done;
	}
	snprintf(u, sizeof(u), "%lld", uid);
	snprintf(s, sizeof(s), "%lld", (long long)start);
	snprintf(e, sizeof(e), "%lld", (long long)end);
	v[0] = rid;
	v[1] = u;
	v[2] = s;
	v[3] = e;
	v[4] = r->who.name;
	q = db_exec(r->db, &q_override_add, v);
	if (!db_ok(q, PGRES_TUPLES_OK)) {
		resp_db_error(rs, r->db, q);
		PQclear(q);
		goto done;
	}
	if (out != NULL)
		*out = json_loads(PQgetvalue(q, 0, 0), 0, NULL);
	PQclear(q);
	rc = 0;
done:
	json_decref(arr);
	return rc;
}

/*
 * The writes that follow a rotation's row: members, overrides, and the
 * check that what was stored still makes a rotation (a PATCH of shift
 * alone, say). Answers the rotation with status; 0 or -1.
 */
static int
write_rest(struct req *r, struct resp *rs, const char *rid, struct rotation_in *in, int status,
    int *in_tx)
{
	const char *v[2] = { rid, in->members };
	PGresult *q;
	size_t i;
	json_t *ov;

	if (in->has_members) {
		q = db_exec(r->db, &q_members_clear, v);
		if (!db_ok(q, PGRES_COMMAND_OK)) {
			resp_db_error(rs, r->db, q);
			PQclear(q);
			return -1;
		}
		PQclear(q);
		q = db_exec(r->db, &q_members, v);
		if (!db_ok(q, PGRES_COMMAND_OK)) {
			resp_db_error(rs, r->db, q);
			PQclear(q);
			return -1;
		}
		PQclear(q);
	}
	if (in->overrides != NULL) {
		q = db_exec(r->db, &q_overrides_clear, v);
		if (!db_ok(q, PGRES_COMMAND_OK)) {
			resp_db_error(rs, r->db, q);
			PQclear(q);
			return -1;
		}
		PQclear(q);
		json_array_foreach(in->overrides, i, ov)
			if (add_override(r, rs, rid, ov, NULL) < 0)
				return -1;
	}
	q = db_exec(r->db, &q_after, v);
	if (!db_ok(q, PGRES_TUPLES_OK) || PQntuples(q) != 1) {
		resp_db_error(rs, r->db, q);
		PQclear(q);
		return -1;
	}
	if (strcmp(PQgetvalue(q, 0, 1), "0") == 0) {
		resp_error(rs, 422, "members", "a rotation has at least one member");
		PQclear(q);
		return -1;
	}
	if (strcmp(PQgetvalue(q, 0, 2), "week") != 0 && !PQgetisnull(q, 0, 4)) {
		resp_error(rs, 422, "handoff_day", "handoff_day is for \"week\" shifts only");
		PQclear(q);
		return -1;
	}
	*in_tx = 0;   /* a failed COMMIT ends the transaction too */
	if (api_commit(r, rs) < 0) {
		PQclear(q);
		return -1;
	}
	api_one(rs, status, q, 0);
	PQclear(q);
	return 0;
}

void
api_rotations_list(struct req *r, struct resp *rs)
{
	api_list_page(r, rs, &q_list);
}

void
api_rotations_get(struct req *r, struct resp *rs)
{
	byname_get(&rotations, r, rs);
}

void
api_rotations_create(struct req *r, struct resp *rs)
{
	struct rotation_in in;
	const char *v[7];
	PGresult *q = NULL;
	int in_tx = 0;

	memset(&in, 0, sizeof(in));
	if (jv_object(r, rs) < 0 || parse_rotation(r, r->body, 1, &in, rs) < 0)
		goto done;
	if (in.handoff_day && strcmp(in.shift, "week") != 0) {
		resp_error(rs, 422, "handoff_day", "handoff_day is for \"week\" shifts only");
		goto done;
	}
	if (api_begin(r, rs) < 0)
		goto done;
	in_tx = 1;
	v[0] = in.name;
	v[1] = in.shift;
	v[2] = in.handoff;
	v[3] = in.handoff_day;
	v[4] = in.tz;
	v[5] = in.start;
	v[6] = r->who.name;
	q = db_exec(r->db, &q_create, v);
	if (!db_ok(q, PGRES_TUPLES_OK)) {
		byname_write_error(&rotations, r, rs, q, in.name);
		goto done;
	}
	write_rest(r, rs, PQgetvalue(q, 0, 0), &in, 201, &in_tx);
done:
	if (in_tx)
		api_rollback(r);
	PQclear(q);
	free(in.members);
}

/* The rotation's id, locked for the rest of the transaction; 0 or -1. */
static int
lock_rotation(struct req *r, struct resp *rs, const char *name, char id[24])
{
	const char *v[1] = { name };
	PGresult *q = db_exec(r->db, &q_id, v);
	int rc = -1;

	if (!db_ok(q, PGRES_TUPLES_OK))
		resp_db_error(rs, r->db, q);
	else if (PQntuples(q) == 0)
		byname_missing(&rotations, rs, name);
	else {
		snprintf(id, 24, "%s", PQgetvalue(q, 0, 0));
		rc = 0;
	}
	PQclear(q);
	return rc;
}

void
api_rotations_patch(struct req *r, struct resp *rs)
{
	char name[BYNAME_MAX + 1], id[24];
	struct rotation_in in;
	const char *v[8];
	PGresult *q = NULL;
	int in_tx = 0;

	memset(&in, 0, sizeof(in));
	if (byname_path(&rotations, r, rs, name) < 0 || jv_object(r, rs) < 0 ||
	    parse_rotation(r, r->body, 0, &in, rs) < 0 || api_begin(r, rs) < 0)
		goto done;
	in_tx = 1;
	if (lock_rotation(r, rs, name, id) < 0)
		goto done;
	v[0] = id;
	v[1] = in.name;
	v[2] = in.shift;
	v[3] = in.handoff;
	v[4] = in.has_handoff_day ? "true" : "false";
	v[5] = in.handoff_day;
	v[6] = in.tz;
	v[7] = in.start;
	q = db_exec(r->db, &q_patch, v);
	if (!db_ok(q, PGRES_COMMAND_OK)) {
		byname_write_error(&rotations, r, rs, q, in.name);
		goto done;
	}
	write_rest(r, rs, id, &in, 200, &in_tx);
done:
	if (in_tx)
		api_rollback(r);
	PQclear(q);
	free(in.members);
}

void
api_rotations_override(struct req *r, struct resp *rs)
{
	char name[BYNAME_MAX + 1], id[24];
	json_t *made = NULL;
	int in_tx = 0;

	if (byname_path(&rotations, r, rs, name) < 0 || jv_object(r, rs) < 0 || api_begin(r, rs) < 0)
		return;
	in_tx = 1;
	if (lock_rotation(r, rs, name, id) < 0 || add_override(r, rs, id, r->body, &made) < 0)
		goto done;
	in_tx = 0;
	if (api_commit(r, rs) < 0)
		goto done;
	if (made == NULL) {
		resp_error(rs, 500, NULL, "out of memory");
		goto done;
	}
	resp_json(rs, 201, made);
	made = NULL;
done:
	if (in_tx)
		api_rollback(r);
	json_decref(made);
}

void
api_rotations_delete(struct req *r, struct resp *rs)
{
	byname_delete(&rotations, r, rs);
}

void
api_rotations_oncall(struct req *r, struct resp *rs)
{
	char name[BYNAME_MAX + 1], ts[24], err[256], buf[RFC3339_LEN];
	json_t *members = NULL;
	const char *v[2] = { name, ts }, *s, *es;
	struct rotation rot;
	struct shift sh, nx;
	const struct tz *z;
	int64_t t = time_now_us() / 1000000, us;
	size_t n;
	PGresult *q = NULL;
	json_t *o;

	if (byname_path(&rotations, r, rs, name) < 0)
		return;
	if ((s = req_arg(r, "at")) != NULL) {
		if (rfc3339_parse(s, &us) < 0) {
			resp_error(rs, 400, "at", "at \"%s\" is not an RFC 3339 time", s);
			return;
		}
		t = us / 1000000;
	}
	snprintf(ts, sizeof(ts), "%lld", (long long)t);
	q = db_exec(r->db, &q_oncall, v);
	if (!db_ok(q, PGRES_TUPLES_OK)) {
		resp_db_error(rs, r->db, q);
		goto done;
	}
	if (PQntuples(q) == 0) {
		byname_missing(&rotations, rs, name);
		goto done;
	}
	memset(&rot, 0, sizeof(rot));
	if (shift_parse(PQgetvalue(q, 0, 1), &rot, err, sizeof(err)) < 0 ||
	    hhmm_parse(PQgetvalue(q, 0, 2), &rot.handoff_min, err, sizeof(err)) < 0 ||
	    (!PQgetisnull(q, 0, 3) &&
	     weekday_parse(PQgetvalue(q, 0, 3), &rot.handoff_wday, err, sizeof(err)) < 0) ||
	    (z = tz_get(PQgetvalue(q, 0, 4), err, sizeof(err))) == NULL) {
		resp_error(rs, 500, NULL, "rotation \"%s\" as stored: %s", name, err);
		goto done;
	}
	rot.start_day = str_to_ll(PQgetvalue(q, 0, 5), INT32_MIN, INT32_MAX, &es);
	if (rot.kind == SHIFT_WEEK && PQgetisnull(q, 0, 3))
		rot.handoff_wday = (int)tz_weekday(rot.start_day);
	if (PQgetisnull(q, 0, 6) || (members = json_loads(PQgetvalue(q, 0, 6), 0, NULL)) == NULL ||
	    (n = json_array_size(members)) == 0) {
		resp_error(rs, 409, NULL, "rotation \"%s\" has no members", name);
		goto done;
	}
	rot.members = n;
	rotation_at(&rot, z, t, &sh);
	rotation_at(&rot, z, sh.end, &nx);
	o = json_object();
	json_object_set_new(o, "rotation", json_string(name));
	rfc3339_format(t * 1000000, buf);
	json_object_set_new(o, "at", json_string(buf));
	if (!PQgetisnull(q, 0, 7)) {
		/* an override: on call until it ends, the order resumes after */
		json_object_set_new(o, "user", json_string(PQgetvalue(q, 0, 7)));
		json_object_set_new(o, "override", json_true());
		rfc3339_format(str_to_ll(PQgetvalue(q, 0, 8), INT64_MIN / 1000000,
		    INT64_MAX / 1000000, &es) * 1000000, buf);
		json_object_set_new(o, "start", json_string(buf));
		rfc3339_format(str_to_ll(PQgetvalue(q, 0, 9), INT64_MIN / 1000000,
		    INT64_MAX / 1000000, &es) * 1000000, buf);
		json_object_set_new(o, "end", json_string(buf));
		json_object_set_new(o, "scheduled", json_string(json_string_value(json_array_get(members, sh.member))));
	} else {
		json_object_set_new(o, "user", json_string(json_string_value(json_array_get(members, sh.member))));
		json_object_set_new(o, "override", json_false());
		rfc3339_format(sh.start * 1000000, buf);
		json_object_set_new(o, "start", json_string(buf));
		rfc3339_format(sh.end * 1000000, buf);
		json_object_set_new(o, "end", json_string(buf));
	}
	rfc3339_format(sh.end * 1000000, buf);
	json_object_set_new(o, "next", json_pack("{s:s,s:s}", "user", json_string_value(json_array_get(members, nx.member)),
	    "at", buf));
	resp_json(rs, 200, o);
done:
	json_decref(members);
	PQclear(q);
}
