/*
 * api_users.c - /api/v1/users: the people. A user is a contact (the same
 * row of table contacts, the same id: sql/024_users.sql) with a role, a
 * time zone and, to log in to the dashboard, a password.
 *
 *   name            unique among users and contacts, as a contact's name
 *   email           optional; pushover_user optional (a secret: redacted
 *                   for anyone but an admin, as a contact's is)
 *   tz              an IANA zone name found under /usr/share/zoneinfo
 *                   (default UTC); quiet hours and rotations read it
 *   role            admin, operator or viewer (default viewer: http.h)
 *   quiet_hours     weekly windows on the user's wall clock (tz) in which
 *                   only urgent notifications reach them: ["mon-fri
 *                   22:00-07:00", "sat,sun 00:00-00:00"] (lib/oncall.h;
 *                   docs/oncall.md); [] or null: none
 *   password        write-only, LOGIN_PASSWORD_MIN..MAX bytes, stored as
 *                   an argon2id string (login.h); null removes it. Reads
 *                   say only "has_password". A new or removed password
 *                   ends the user's sessions.
 *
 * A user needs no channel (a viewer may only log in); one made through
 * /api/v1/contacts is a viewer without a password. Deleting a user is
 * deleting the contact (api_contacts.c): it leaves every contacts list,
 * and its sessions end.
 */
#include "config.h"
#include "api.h"
#include "apiutil.h"
#include "auth.h"
#include "db.h"
#include "log.h"
#include "login.h"
#include "oncall.h"
#include "token.h"

#include <stdlib.h>

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define USER_NAME_MAX 200
#define EMAIL_MAX 254
#define PUSHOVER_KEY_LEN 30
#define TZ_MAX 64
#define ZONEINFO "/usr/share/zoneinfo/"

static const char *const user_fields[] = { "name", "email", "pushover_user", "tz", "role",
	"password", "quiet_hours", NULL };

#define USER_PUBLIC \
	"jsonb_build_object('id', u.id, 'name', u.name, 'email', u.email, 'tz', u.tz," \
	" 'role', u.role, 'has_password', u.password_hash IS NOT NULL," \
	" 'quiet_hours', to_jsonb(u.quiet_hours)," \
	" 'created_at', rfc3339(u.created_at), 'managed', u.managed)"
#define USER_JSON "(" USER_PUBLIC " || jsonb_build_object('pushover_user', u.pushover_user))"
/* a viewer's or an operator's read (apiutil.h, struct contacts_view) */
#define USER_REDACTED \
	"(" USER_PUBLIC " || " CONTACTS_REDACTED_MEMBER(SECRET_IF_SET("u.pushover_user", \
	"pushover_user")) ")"

static const struct db_stmt q_list = { "users_list", CONTACTS_LIST_SQL(USER_JSON, "u"), 2 };
static const struct db_stmt q_list_redacted = { "users_list_redacted",
	CONTACTS_LIST_SQL(USER_REDACTED, "u"), 2 };
static const struct db_stmt q_get = { "users_get", CONTACTS_GET_SQL(USER_JSON, "u"), 1 };
static const struct db_stmt q_get_redacted = { "users_get_redacted",
	CONTACTS_GET_SQL(USER_REDACTED, "u"), 1 };
static const struct contacts_view view = { "user", &q_list, &q_list_redacted, &q_get,
	&q_get_redacted };
static const struct db_stmt q_create = { "users_create",
	"INSERT INTO contacts AS u (name, email, pushover_user, tz, role, password_hash, quiet_hours)"
	" VALUES ($1, $2, $3, COALESCE($4, 'UTC'), COALESCE($5, 'viewer'), $6,"
	"  ARRAY(SELECT jsonb_array_elements_text(COALESCE($7::jsonb, '[]'))))"
	" RETURNING " USER_JSON, 7 };
/* (present, value) pairs for the nullable members; a password written ends the sessions */
static const struct db_stmt q_patch = { "users_patch",
	"WITH s AS (DELETE FROM sessions WHERE user_id = $1 AND $9::boolean)"
	" UPDATE contacts AS u SET name = COALESCE($2, u.name),"
	"  email = CASE WHEN $3::boolean THEN $4 ELSE u.email END,"
	"  pushover_user = CASE WHEN $5::boolean THEN $6 ELSE u.pushover_user END,"
	"  tz = COALESCE($7, u.tz), role = COALESCE($8, u.role),"
	"  password_hash = CASE WHEN $9::boolean THEN $10 ELSE u.password_hash END,"
	"  quiet_hours = CASE WHEN $11::boolean"
	"    THEN ARRAY(SELECT jsonb_array_elements_text(COALESCE($12::jsonb, '[]')))"
	"    ELSE u.quiet_hours END"
	" WHERE u.id = $1 RETURNING " USER_JSON, 12 };

/*
 * New quiet hours release what the old ones held: due now, when the sender
 * weighs them again against the new windows (and drops what is no longer
 * worth sending). held_until = now() keeps the record that they were held.
 */
static const struct db_stmt q_release = { "users_release_held",
	"WITH r AS (UPDATE notifications SET next_attempt_at = now(), held_until = now()"
	"  WHERE contact_id = $1 AND status = 'pending' AND held_until > now() RETURNING 1)"
	" SELECT count(*), CASE WHEN count(*) > 0 THEN pg_notify('custos_outbox', '') END FROM r", 1 };

struct user_in {
	const char *name, *email, *po_user, *tz, *role;
	int has_email, has_po_user, has_password;
	char hash[LOGIN_HASH_MAX];   /* the new password's, when has_password and set */
	int hashed;
	int has_quiet;
	char *quiet;                 /* the windows as a JSON array (heap), NULL for none */
};

/* "quiet_hours": an array of window texts, each as lib/oncall.h reads them */
static int
parse_quiet(json_t *o, struct user_in *in, struct resp *rs)
{
	json_t *v = json_object_get(o, "quiet_hours"), *e;
	struct quiet_window w;
	char err[256];
	size_t i;

	if ((in->has_quiet = v != NULL) == 0 || json_is_null(v))
		return 0;
	if (!json_is_array(v) || json_array_size(v) > QUIET_WINDOWS_MAX) {
		resp_error(rs, 400, "quiet_hours", "quiet_hours is an array of at most %d windows "
		    "(\"mon-fri 22:00-07:00\")", QUIET_WINDOWS_MAX);
		return -1;
	}
	json_array_foreach(v, i, e) {
		if (!json_is_string(e) || json_string_length(e) > 64 ||
		    strlen(json_string_value(e)) != json_string_length(e)) {
			resp_error(rs, 400, "quiet_hours", "quiet_hours[%zu] is not a window's text", i);
			return -1;
		}
		if (quiet_window_parse(json_string_value(e), &w, err, sizeof(err)) < 0) {
			resp_error(rs, 422, "quiet_hours", "quiet_hours[%zu]: %s", i, err);
			return -1;
		}
	}
	if ((in->quiet = json_dumps(v, JSON_COMPACT)) == NULL) {
		resp_error(rs, 500, NULL, "out of memory");
		return -1;
	}
	return 0;
}

/*
 * An IANA zone name: letters, digits and "_+-/" in components that are not
 * "." or "..", naming a TZif file under /usr/share/zoneinfo.
 */
int
valid_tz(const char *s)
{
	char path[sizeof(ZONEINFO) + TZ_MAX], magic[4];
	const char *p;
	struct stat st;
	int fd, ok;

	if (*s == '\0' || *s == '/' || strlen(s) > TZ_MAX)
		return 0;
	for (p = s; *p; p++)
		if (!(*p >= 'a' && *p <= 'z') && !(*p >= 'A' && *p <= 'Z') &&
		    !(*p >= '0' && *p <= '9') && !strchr("_+-/", *p))
			return 0;
	for (p = s; *p; p = *p ? p + 1 : p) {
		size_t n = strcspn(p, "/");
		if (n == 0 || (p[0] == '.' && (n == 1 || (n == 2 && p[1] == '.'))))
			return 0;
		p += n;
	}
	snprintf(path, sizeof(path), ZONEINFO "%s", s);
	/* the name's rules keep it inside ZONEINFO; a link there (US/Eastern) is a zone too */
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return 0;
	ok = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
	    read(fd, magic, sizeof(magic)) == (ssize_t)sizeof(magic) &&
	    memcmp(magic, "TZif", 4) == 0;
	close(fd);
	return ok;
}

static int
parse_user(json_t *o, int creating, struct user_in *in, struct resp *rs)
{
	json_t *pw;

	memset(in, 0, sizeof(*in));
	if (jv_known(o, user_fields, rs) < 0 ||
	    jv_str(o, "name", creating, USER_NAME_MAX, &in->name, rs) < 0)
		return -1;
	if (in->name && *in->name == '\0') {
		resp_error(rs, 422, "name", "name must not be empty");
		return -1;
	}
	if (jv_str_rule(o, "email", EMAIL_MAX, valid_email, "an email address (user@domain)",
	    &in->email, &in->has_email, rs) < 0 ||
	    jv_str_rule(o, "pushover_user", PUSHOVER_KEY_LEN, valid_pushover_key,
	    "a Pushover user key (30 letters and digits)", &in->po_user, &in->has_po_user, rs) < 0)
		return -1;
	if (jv_str(o, "tz", 0, TZ_MAX, &in->tz, rs) < 0)
		return -1;
	if (in->tz && !valid_tz(in->tz)) {
		resp_error(rs, 422, "tz", "tz \"%s\" is not a time zone of /usr/share/zoneinfo "
		    "(an IANA name such as Europe/Paris or UTC)", in->tz);
		return -1;
	}
	if (jv_str(o, "role", 0, 16, &in->role, rs) < 0 || parse_quiet(o, in, rs) < 0)
		return -1;
	if (in->role && auth_role_kind(in->role) == WHO_NONE) {
		resp_error(rs, 422, "role", "role must be admin, operator or viewer");
		return -1;
	}
	pw = json_object_get(o, "password");
	in->has_password = pw != NULL;
	if (pw != NULL && !json_is_null(pw)) {
		const char *s;
		if (jv_str(o, "password", 0, LOGIN_PASSWORD_MAX, &s, rs) < 0)
			return -1;
		if (strlen(s) < LOGIN_PASSWORD_MIN) {
			resp_error(rs, 422, "password", "a password has at least %d characters",
			    LOGIN_PASSWORD_MIN);
			return -1;
		}
		if (login_hash_begin() < 0) {
			resp_error(rs, 503, "password", "too many passwords being hashed: try again");
			return -1;
		}
		in->hashed = login_hash(s, in->hash) == 0;
		login_hash_end();
		if (!in->hashed) {
			resp_error(rs, 500, "password", "could not hash the password (out of memory)");
			return -1;
		}
	}
	return 0;
}

void
api_users_list(struct req *r, struct resp *rs)
{
	contacts_view_list(&view, r, rs);
}

void
api_users_get(struct req *r, struct resp *rs)
{
	contacts_view_get(&view, r, rs);
}

void
api_users_create(struct req *r, struct resp *rs)
{
	struct user_in in;
	const char *v[7];
	PGresult *q = NULL;

	memset(&in, 0, sizeof(in));
	if (jv_object(r, rs) < 0 || parse_user(r->body, 1, &in, rs) < 0)
		goto done;
	v[0] = in.name;
	v[1] = in.email;
	v[2] = in.po_user;
	v[3] = in.tz;
	v[4] = in.role;
	v[5] = in.hashed ? in.hash : NULL;
	v[6] = in.quiet;
	q = db_exec(r->db, &q_create, v);
	if (!db_ok(q, PGRES_TUPLES_OK)) {
		if (strcmp(db_sqlstate(q), "23505") == 0)
			resp_error(rs, 409, "name", "a user or contact named \"%s\" exists", in.name);
		else
			resp_db_error(rs, r->db, q);
		goto done;
	}
	api_one(rs, 201, q, 0);
	if (rs->status == 201)
		snprintf(rs->location, sizeof(rs->location), "/api/v1/users/%lld",
		    (long long)json_integer_value(json_object_get(rs->json, "id")));
done:
	PQclear(q);
	free(in.quiet);
	secure_zero(&in, sizeof(in));
}

void
api_users_patch(struct req *r, struct resp *rs)
{
	struct user_in in;
	char id[24];
	const char *v[12];
	PGresult *q = NULL;

	memset(&in, 0, sizeof(in));
	if (jv_object(r, rs) < 0 || parse_user(r->body, 0, &in, rs) < 0)
		goto done;
	v[0] = id_text(r->id[0], id);
	v[1] = in.name;
	v[2] = in.has_email ? "true" : "false";
	v[3] = in.email;
	v[4] = in.has_po_user ? "true" : "false";
	v[5] = in.po_user;
	v[6] = in.tz;
	v[7] = in.role;
	v[8] = in.has_password ? "true" : "false";
	v[9] = in.hashed ? in.hash : NULL;
	v[10] = in.has_quiet ? "true" : "false";
	v[11] = in.quiet;
	q = db_exec(r->db, &q_patch, v);
	if (!db_ok(q, PGRES_TUPLES_OK)) {
		if (strcmp(db_sqlstate(q), "23505") == 0)
			resp_error(rs, 409, "name", "a user or contact named \"%s\" exists",
			    in.name ? in.name : "");
		else
			resp_db_error(rs, r->db, q);
		goto done;
	}
	if (PQntuples(q) == 0) {
		resp_error(rs, 404, NULL, "no user %lld", (long long)r->id[0]);
		goto done;
	}
	if (in.has_quiet) {
		PGresult *rq = db_exec(r->db, &q_release, v);
		if (!db_ok(rq, PGRES_TUPLES_OK))   /* they are sent at the old windows' end */
			log_warn("users: releasing what the old quiet hours of user %s held: %s", id,
			    PQerrorMessage(r->db));
		PQclear(rq);
	}
	api_one(rs, 200, q, 0);
done:
	PQclear(q);
	free(in.quiet);
	secure_zero(&in, sizeof(in));
}

void
api_users_delete(struct req *r, struct resp *rs)
{
	contacts_view_delete(&view, r, rs);
}
