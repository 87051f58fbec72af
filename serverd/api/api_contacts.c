/*
 * api_contacts.c - /api/v1/contacts: who is told, on which channels, about
 * what.
 *
 * A contact has at least one channel: email, pushover_user (a Pushover
 * user or group key: 30 letters and digits; pushover_device optionally
 * names devices) or webhook_url (http or https). notify_on lists the kinds
 * it hears about - warning, critical, unknown, recovery, flapping, agent,
 * acknowledgement - all by default. PATCH merges: an absent member is kept,
 * null clears it; the merged contact must still have a channel.
 * Deleting a contact removes it from every check's and agent's contacts
 * list (a list left empty then tells nobody, as it names nobody); its
 * pending notifications fail with "the contact was deleted".
 * Anyone but an admin reads a contact without its secrets (CONTACT_REDACTED).
 * A contact is a user too (sql/024_users.sql, api_users.c): one made here
 * is a viewer without a password, and a user's role, time zone and
 * password are not shown nor changed here.
 */
#include "config.h"
#include "api.h"
#include "apiutil.h"
#include "buf.h"
#include "db.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#define CONTACT_NAME_MAX 200
#define EMAIL_MAX 254
#define WEBHOOK_URL_MAX 2048
#define PUSHOVER_KEY_LEN 30
#define PUSHOVER_DEVICE_MAX 200   /* device names, comma-separated, 25 chars each */

static const char *const contact_fields[] = { "name", "email", "pushover_user",
	"pushover_device", "pushover_emergency", "webhook_url", "notify_on", NULL };
static const char *const kinds[] = { "warning", "critical", "unknown", "recovery",
	"flapping", "agent", "acknowledgement", NULL };

#define CONTACT_PUBLIC \
	"jsonb_build_object('id', ct.id, 'name', ct.name, 'email', ct.email," \
	" 'pushover_device', ct.pushover_device, 'pushover_emergency', ct.pushover_emergency," \
	" 'notify_on', to_jsonb(ct.notify_on), 'created_at', rfc3339(ct.created_at)," \
	" 'managed', ct.managed)"
#define CONTACT_JSON \
	"(" CONTACT_PUBLIC " || jsonb_build_object('pushover_user', ct.pushover_user," \
	" 'webhook_url', ct.webhook_url))"
/*
 * What a viewer reads: the secret members left out, and "redacted" naming
 * the ones the contact has. A webhook URL is the chat's password (whoever
 * has it posts to the channel) and a Pushover user key, with any
 * application token, pages the person: only an admin, who can change them
 * anyway, reads them.
 */
#define CONTACT_REDACTED \
	"(" CONTACT_PUBLIC " || " CONTACTS_REDACTED_MEMBER(SECRET_IF_SET("ct.pushover_user", \
	"pushover_user") "," SECRET_IF_SET("ct.webhook_url", "webhook_url")) ")"
#define HAS_CHANNEL \
	"(COALESCE(ct.email, '') <> '' OR COALESCE(ct.pushover_user, '') <> ''" \
	" OR COALESCE(ct.webhook_url, '') <> '')"

static const struct db_stmt q_list = { "contacts_list", CONTACTS_LIST_SQL(CONTACT_JSON, "ct"), 2 };
static const struct db_stmt q_get = { "contacts_get", CONTACTS_GET_SQL(CONTACT_JSON, "ct"), 1 };
static const struct db_stmt q_list_redacted = { "contacts_list_redacted",
	CONTACTS_LIST_SQL(CONTACT_REDACTED, "ct"), 2 };
static const struct db_stmt q_get_redacted = { "contacts_get_redacted",
	CONTACTS_GET_SQL(CONTACT_REDACTED, "ct"), 1 };
static const struct contacts_view view = { "contact", &q_list, &q_list_redacted, &q_get,
	&q_get_redacted };
static const struct db_stmt q_create = { "contacts_create",
	"INSERT INTO contacts AS ct (name, email, pushover_user, pushover_device, pushover_emergency,"
	"  webhook_url, notify_on)"
	" VALUES ($1, $2, $3, $4, COALESCE($5::boolean, false), $6,"
	"  COALESCE($7::text[], ARRAY['warning','critical','unknown','recovery','flapping','agent',"
	"  'acknowledgement']))"
	" RETURNING " CONTACT_JSON, 7 };
/* $2..$7 are (present, value) pairs for the nullable members */
static const struct db_stmt q_patch = { "contacts_patch",
	"UPDATE contacts AS ct SET name = COALESCE($2, ct.name),"
	"  email = CASE WHEN $3::boolean THEN $4 ELSE ct.email END,"
	"  pushover_user = CASE WHEN $5::boolean THEN $6 ELSE ct.pushover_user END,"
	"  pushover_device = CASE WHEN $7::boolean THEN $8 ELSE ct.pushover_device END,"
	"  pushover_emergency = COALESCE($9::boolean, ct.pushover_emergency),"
	"  webhook_url = CASE WHEN $10::boolean THEN $11 ELSE ct.webhook_url END,"
	"  notify_on = CASE WHEN $12::boolean THEN COALESCE($13::text[],"
	"    ARRAY['warning','critical','unknown','recovery','flapping','agent','acknowledgement'])"
	"    ELSE ct.notify_on END"
	" WHERE ct.id = $1 RETURNING " CONTACT_JSON ", " HAS_CHANNEL, 13 };
/* a contact's or a user's: the row leaves every contacts list */
static const struct db_stmt q_delete = { "contacts_delete",
	"WITH d AS (DELETE FROM contacts WHERE id = $1 RETURNING id),"
	" c AS (UPDATE checks SET contacts = array_remove(contacts, $1::bigint)"
	"   WHERE $1::bigint = ANY (contacts) AND EXISTS (SELECT 1 FROM d)),"
	" a AS (UPDATE agents SET contacts = array_remove(contacts, $1::bigint)"
	"   WHERE $1::bigint = ANY (contacts) AND EXISTS (SELECT 1 FROM d))"
	" SELECT count(*) FROM d", 1 };

struct contact_in {
	const char *name, *email, *po_user, *po_device, *webhook;
	int has[7];          /* member present in the body (even as null), by field index */
	int emergency;       /* -1 absent */
	char *notify_on;     /* heap array literal, or NULL (absent / null: all kinds) */
};

enum { F_NAME, F_EMAIL, F_PO_USER, F_PO_DEVICE, F_EMERG, F_WEBHOOK, F_NOTIFY };

int
valid_email(const char *s)
{
	const char *at = strchr(s, '@');

	if (at == NULL || at == s || at[1] == '\0' || strchr(at + 1, '@'))
		return 0;
	for (; *s; s++)
		if ((unsigned char)*s <= ' ' || strchr("<>(),;:\\\"[]", *s))
			return 0;
	return 1;
}

int
valid_pushover_key(const char *s)
{
	size_t n = strlen(s), i;

	if (n != PUSHOVER_KEY_LEN)
		return 0;
	for (i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]))
			return 0;
	return 1;
}

static int
valid_device(const char *s)
{
	size_t run = 0;

	if (*s == '\0')
		return 0;
	for (; *s; s++) {
		if (*s == ',') {
			run = 0;
			continue;
		}
		if (!isalnum((unsigned char)*s) && *s != '_' && *s != '-')
			return 0;
		if (++run > 25)
			return 0;
	}
	return 1;
}

static int
valid_url(const char *s)
{
	if (strncmp(s, "http://", 7) != 0 && strncmp(s, "https://", 8) != 0)
		return 0;
	if (s[strncmp(s, "http://", 7) == 0 ? 7 : 8] == '\0')
		return 0;
	for (; *s; s++)
		if ((unsigned char)*s <= ' ' || *s == 0x7f)
			return 0;
	return 1;
}

/* notify_on: an array of kinds (duplicates dropped) or null. */
static int
parse_notify_on(json_t *o, struct contact_in *in, struct resp *rs)
{
	json_t *v = json_object_get(o, "notify_on"), *e;
	int seen[8] = { 0 }, i;
	size_t k;
	struct buf b;

	in->has[F_NOTIFY] = v != NULL;
	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_array(v)) {
		resp_error(rs, 400, "notify_on", "notify_on must be an array of kinds");
		return -1;
	}
	json_array_foreach(v, k, e) {
		if (!json_is_string(e)) {
			resp_error(rs, 400, "notify_on", "notify_on must hold strings");
			return -1;
		}
		for (i = 0; kinds[i] && strcmp(kinds[i], json_string_value(e)) != 0; i++)
			;
		if (kinds[i] == NULL) {
			resp_error(rs, 422, "notify_on", "unknown kind \"%s\" (warning, critical, unknown, "
			    "recovery, flapping, agent, acknowledgement)", json_string_value(e));
			return -1;
		}
		seen[i] = 1;
	}
	buf_init(&b, 1024);
	buf_adds(&b, "{");
	for (i = 0; kinds[i]; i++)
		if (seen[i])
			buf_addf(&b, "%s%s", b.len > 1 ? "," : "", kinds[i]);
	if (buf_adds(&b, "}") < 0) {
		resp_error(rs, 500, NULL, "out of memory");
		return -1;
	}
	in->notify_on = buf_take(&b);
	return 0;
}

/* apiutil.h */
int
jv_str_rule(json_t *o, const char *key, size_t max, int (*ok)(const char *), const char *rule,
    const char **out, int *has, struct resp *rs)
{
	*has = json_object_get(o, key) != NULL;
	if (jv_str(o, key, 0, max, out, rs) < 0)
		return -1;
	if (*out && **out == '\0')
		*out = NULL;
	if (*out && !ok(*out)) {
		resp_error(rs, 422, key, "%s is not %s", key, rule);
		return -1;
	}
	return 0;
}

/*
 * creating: 1 a new contact (name and a channel required), 0 a PATCH, -1 a
 * definition of POST /api/v1/config's "user" kind (name required, no
 * channel). known: the members allowed (NULL: the caller checked them).
 */
static int
parse_contact(json_t *o, int creating, const char *const *known, struct contact_in *in,
    struct resp *rs)
{
	int e = -1;

	memset(in, 0, sizeof(*in));
	in->emergency = -1;
	if ((known && jv_known(o, known, rs) < 0) ||
	    jv_name(o, "name", creating, CONTACT_NAME_MAX, &in->name, rs) < 0)
		return -1;
	if (in->name && *in->name == '\0') {
		resp_error(rs, 422, "name", "name must not be empty");
		return -1;
	}
	if (jv_str_rule(o, "email", EMAIL_MAX, valid_email, "an email address (user@domain)",
	    &in->email, &in->has[F_EMAIL], rs) < 0 ||
	    jv_str_rule(o, "pushover_user", PUSHOVER_KEY_LEN, valid_pushover_key,
	    "a Pushover user key (30 letters and digits)", &in->po_user, &in->has[F_PO_USER], rs) < 0 ||
	    jv_str_rule(o, "pushover_device", PUSHOVER_DEVICE_MAX, valid_device,
	    "a list of Pushover device names (letters, digits, _ and -, up to 25 each, comma-separated)",
	    &in->po_device, &in->has[F_PO_DEVICE], rs) < 0 ||
	    jv_str_rule(o, "webhook_url", WEBHOOK_URL_MAX, valid_url, "an http:// or https:// URL",
	    &in->webhook, &in->has[F_WEBHOOK], rs) < 0)
		return -1;
	if (jv_bool(o, "pushover_emergency", &e, rs) < 0)
		return -1;
	in->emergency = e;
	if (parse_notify_on(o, in, rs) < 0)
		return -1;
	if (creating > 0 && !in->email && !in->po_user && !in->webhook) {
		resp_error(rs, 422, "email", "a contact needs a channel: email, pushover_user or webhook_url");
		return -1;
	}
	return 0;
}

int
contact_validate(json_t *o, int need_channel, struct resp *rs)
{
	struct contact_in in;
	int rc = parse_contact(o, need_channel ? 1 : -1, NULL, &in, rs);

	free(in.notify_on);
	return rc;
}

void
contacts_view_list(const struct contacts_view *v, struct req *r, struct resp *rs)
{
	api_list_page(r, rs, r->who.kind == WHO_ADMIN ? v->list : v->list_redacted);
}

void
contacts_view_get(const struct contacts_view *v, struct req *r, struct resp *rs)
{
	api_get_id(r, rs, r->who.kind == WHO_ADMIN ? v->get : v->get_redacted, r->id[0], 200,
	    v->what);
}

void
contacts_view_delete(const struct contacts_view *v, struct req *r, struct resp *rs)
{
	char id[24];
	const char *vals[1] = { id_text(r->id[0], id) };
	PGresult *q = db_exec(r->db, &q_delete, vals);

	if (!db_ok(q, PGRES_TUPLES_OK))
		resp_db_error(rs, r->db, q);
	else if (strcmp(PQgetvalue(q, 0, 0), "0") == 0)
		resp_error(rs, 404, NULL, "no %s %lld", v->what, (long long)r->id[0]);
	else
		rs->status = 204;
	PQclear(q);
}

void
api_contacts_list(struct req *r, struct resp *rs)
{
	contacts_view_list(&view, r, rs);
}

void
api_contacts_get(struct req *r, struct resp *rs)
{
	contacts_view_get(&view, r, rs);
}

void
api_contacts_create(struct req *r, struct resp *rs)
{
	struct contact_in in;
	const char *v[7];
	PGresult *q = NULL;

	memset(&in, 0, sizeof(in));
	if (jv_object(r, rs) < 0 || parse_contact(r->body, 1, contact_fields, &in, rs) < 0)
		goto done;
	v[0] = in.name;
	v[1] = in.email;
	v[2] = in.po_user;
	v[3] = in.po_device;
	v[4] = in.emergency < 0 ? NULL : in.emergency ? "true" : "false";
	v[5] = in.webhook;
	v[6] = in.notify_on;
	q = db_exec(r->db, &q_create, v);
	if (!db_ok(q, PGRES_TUPLES_OK)) {
		if (strcmp(db_sqlstate(q), "23505") == 0)
			resp_error(rs, 409, "name", "a contact named \"%s\" exists", in.name);
		else
			resp_db_error(rs, r->db, q);
		goto done;
	}
	api_one(rs, 201, q, 0);
done:
	PQclear(q);
	free(in.notify_on);
}

void
api_contacts_patch(struct req *r, struct resp *rs)
{
	struct contact_in in;
	char id[24];
	const char *v[13];
	PGresult *q = NULL;
	int in_tx = 0;

	memset(&in, 0, sizeof(in));
	if (jv_object(r, rs) < 0 || parse_contact(r->body, 0, contact_fields, &in, rs) < 0)
		goto done;
	v[0] = id_text(r->id[0], id);
	v[1] = in.name;
	v[2] = in.has[F_EMAIL] ? "true" : "false";
	v[3] = in.email;
	v[4] = in.has[F_PO_USER] ? "true" : "false";
	v[5] = in.po_user;
	v[6] = in.has[F_PO_DEVICE] ? "true" : "false";
	v[7] = in.po_device;
	v[8] = in.emergency < 0 ? NULL : in.emergency ? "true" : "false";
	v[9] = in.has[F_WEBHOOK] ? "true" : "false";
	v[10] = in.webhook;
	v[11] = in.has[F_NOTIFY] ? "true" : "false";
	v[12] = in.notify_on;
	if (api_begin(r, rs) < 0)
		goto done;
	in_tx = 1;
	q = db_exec(r->db, &q_patch, v);
	if (!db_ok(q, PGRES_TUPLES_OK)) {
		if (strcmp(db_sqlstate(q), "23505") == 0)
			resp_error(rs, 409, "name", "a contact named \"%s\" exists", in.name ? in.name : "");
		else
			resp_db_error(rs, r->db, q);
		goto done;
	}
	if (PQntuples(q) == 0) {
		resp_error(rs, 404, NULL, "no contact %lld", (long long)r->id[0]);
		goto done;
	}
	if (PQgetvalue(q, 0, 1)[0] != 't') {
		resp_error(rs, 422, NULL, "a contact needs a channel: email, pushover_user or webhook_url");
		goto done;
	}
	in_tx = 0;   /* a failed COMMIT ends the transaction too */
	if (api_commit(r, rs) < 0)
		goto done;
	api_one(rs, 200, q, 0);
done:
	if (in_tx)
		api_rollback(r);
	PQclear(q);
	free(in.notify_on);
}

void
api_contacts_delete(struct req *r, struct resp *rs)
{
	contacts_view_delete(&view, r, rs);
}
