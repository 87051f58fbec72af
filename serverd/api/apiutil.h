/*
 * apiutil.h - request validation and response helpers shared by the
 * api_*.c handlers. Every validator fills rs with the right status and the
 * field name when it fails: 400 for a wrong JSON type, 422 for a value
 * that breaks a rule or a missing required field.
 */
#ifndef CUSTOS_APIUTIL_H
#define CUSTOS_APIUTIL_H

#include "db.h"
#include "http.h"
#include "strnum.h"   /* id_text(), used by every handler with it */

#include <stdint.h>

#define API_LIST_DEFAULT 100
#define API_LIST_MAX 1000

/* The body must be a JSON object; 0 or -1. */
int jv_object(struct req *r, struct resp *rs);
/* Unknown members of o are a 422 naming the member. */
int jv_known(json_t *o, const char *const *allowed, struct resp *rs);
/*
 * Typed getters: return 1 when present (and valid), 0 when absent (or null,
 * when nullable), -1 on error (rs filled).
 */
int jv_str(json_t *o, const char *key, int required, size_t maxlen, const char **out, struct resp *rs);
int jv_int(json_t *o, const char *key, int required, long long min, long long max,
    long long *out, struct resp *rs);
/*
 * jv_str for a name (agent, check, contact, token): a control character
 * (C0, DEL, C1: utf8.h) in it is a 422. Names are shown everywhere, in
 * terminals and mail subjects too, and are typed by an admin: refused, not
 * escaped, so what is stored is what was meant.
 */
int jv_name(json_t *o, const char *key, int required, size_t maxlen, const char **out,
    struct resp *rs);
/*
 * A copy of v (new reference; NULL when out of memory) in which every
 * string, object keys included, has its control characters escaped
 * (utf8_ctl_escape(), nothing kept): an agent's facts.
 */
json_t *jv_ctl_escaped(json_t *v);
int jv_bool(json_t *o, const char *key, int *out, struct resp *rs);
/*
 * An array of positive integer ids (or null): *out is a heap PostgreSQL
 * array literal ("{1,2}") the caller frees, or NULL for null/absent.
 */
int jv_ids(json_t *o, const char *key, char **out, int *present, struct resp *rs);
/*
 * A nullable string member that must pass ok() (422 "KEY is not RULE"
 * otherwise); "" counts as null. *has says whether the member was in o at
 * all (even as null). 0 or -1. In api_contacts.c, shared with api_users.c.
 */
int jv_str_rule(json_t *o, const char *key, size_t max, int (*ok)(const char *),
    const char *rule, const char **out, int *has, struct resp *rs);
/* api_contacts.c's rules, which users (api_users.c) share: 1 when valid. */
int valid_email(const char *s);
int valid_pushover_key(const char *s);
/*
 * A contact or user definition o (members already checked against the
 * caller's list), by api_contacts.c's rules: name required; need_channel:
 * at least one of email, pushover_user, webhook_url (a contact; a user
 * needs none). 0 or -1 with rs filled. For POST /api/v1/config.
 */
int contact_validate(json_t *o, int need_channel, struct resp *rs);
/*
 * The rows of table contacts have two views: contacts (api_contacts.c) and
 * users (api_users.c, the same rows with a role and a password). Each view
 * reads a row whole (an admin) or redacted (anyone else: its secrets left
 * out, "redacted" naming the ones it has); deleting a row through either
 * is the one statement of api_contacts.c. The reads are written with the
 * macros below from the view's JSON expression J over the row alias T.
 */
struct contacts_view {
	const char *what;             /* "contact" or "user", as a 404 names it */
	const struct db_stmt *list, *list_redacted, *get, *get_redacted;
};
#define CONTACTS_LIST_SQL(J, T) \
	"SELECT " J ", " T ".id FROM contacts " T " WHERE " T ".id > $1 ORDER BY " T ".id LIMIT $2"
#define CONTACTS_GET_SQL(J, T) "SELECT " J " FROM contacts " T " WHERE " T ".id = $1"
/* the "redacted" member: SECRETS is SECRET_IF_SET()s joined by "," */
#define CONTACTS_REDACTED_MEMBER(SECRETS) \
	"jsonb_build_object('redacted', to_jsonb(array_remove(ARRAY[" SECRETS "], NULL)))"
#define SECRET_IF_SET(COL, NAME) " CASE WHEN COALESCE(" COL ", '') <> '' THEN '" NAME "' END"
/* GET the list, GET one (route id), DELETE one (route id): the handlers of both views */
void contacts_view_list(const struct contacts_view *v, struct req *r, struct resp *rs);
void contacts_view_get(const struct contacts_view *v, struct req *r, struct resp *rs);
void contacts_view_delete(const struct contacts_view *v, struct req *r, struct resp *rs);
/* An IANA zone name with a TZif file under /usr/share/zoneinfo (api_users.c); 1 when valid. */
int valid_tz(const char *s);
/*
 * A labels object (string values; keys and counts as lib/selector.h says;
 * keys beginning "fact." are reserved for selectors): 1 with *out its
 * compact JSON text (heap, the caller frees), 0 absent or null, -1 with a
 * 422 naming the key.
 */
int jv_labels(json_t *o, const char *key, char **out, struct resp *rs);
/*
 * ?selector=: 1 with *out the parsed selector as the jsonb text that
 * selector_match() (sql/functions/selector_match.sql) takes (heap, the caller frees),
 * 0 when absent, -1 with a 400 "selector:COL: reason".
 */
int api_selector(struct req *r, struct resp *rs, char **out);
/* The same for selector text s (a template's "selector"); errors name field. */
int selector_jsonb(const char *field, const char *s, char **out, struct resp *rs);
/*
 * ?agent_id=ID or ?agent=NAME on a list: 1 with out the agent's id as
 * text, 0 when neither is given, -1 with rs filled (both given, a bad id,
 * no agent of that name: 422).
 */
int api_agent_arg(struct req *r, struct resp *rs, char out[24]);
/* The same for ?check_id=ID or ?check=AGENT/CHECK. */
int api_check_arg(struct req *r, struct resp *rs, char out[24]);
struct selector;
/* A parsed selector as that jsonb's array (new reference), NULL when out of memory or not UTF-8. */
json_t *api_selector_json(const struct selector *sel);
/*
 * Policies (api_policies.c), for POST /api/v1/config too: policy_norm()
 * validates a definition into its canonical object (position null when
 * not given); policy_refs_check() refuses steps naming no user or
 * rotation; policy_match_sel() is a match's parsed form (heap text, "[]"
 * for ""). Each fills rs (422 and the field) when it fails.
 */
int policy_norm(json_t *in, json_t *out, struct resp *rs);
int policy_refs_check(PGconn *db, json_t *steps, struct resp *rs);
char *policy_match_sel(const char *match, struct resp *rs);
/*
 * Lets an array of contact ids name contacts too ("contacts": ["alice", 3]):
 * replaces each string of o's key array by that contact's id, in place,
 * before jv_ids() reads it. 0 (nothing to do included), or -1 with a 422
 * naming the unknown contact.
 */
int contact_names(struct req *r, json_t *o, const char *key, struct resp *rs);
/*
 * "agent": NAME where "agent_id" is taken: sets o's agent_id to the named
 * agent's id and removes "agent". 0 (no "agent": nothing done), or -1: a
 * non-string (400), an unknown agent (422), both given (422).
 */
int agent_name(struct req *r, json_t *o, struct resp *rs);
/* The same for "check": "AGENT/CHECK" (the agent's name, a slash, the check's) and check_id. */
int check_name(struct req *r, json_t *o, struct resp *rs);
/* Checks that every id in the array literal names a contact; 0 or -1. */
int contacts_exist(struct req *r, const char *ids, const char *field, struct resp *rs);
/*
 * The "parents" of a check or an agent (kind "check" or "agent"; id: the
 * one being changed, 0 when it is being made), if o has the key: a list of
 * checks named "AGENT/CHECK", resolved by parents_resolve()
 * (sql/functions/), which refuses an unknown check, the check itself and a
 * cycle. 1 with *ids a heap array literal ("{4,7}"), 0 when o has no
 * "parents" (*ids NULL), or -1 with a 400 or 422 on "parents" in rs.
 */
int parents_arg(struct req *r, json_t *o, const char *kind, int64_t id, char **ids,
    struct resp *rs);

/*
 * One transaction per request: api_begin() and api_commit() return 0, or -1
 * with rs filled (503/500); either way a failed COMMIT ends the transaction.
 * api_rollback() is for done: paths, and does nothing on a lost connection.
 */
int api_begin(struct req *r, struct resp *rs);
int api_commit(struct req *r, struct resp *rs);
void api_rollback(struct req *r);

/* ?limit= (default API_LIST_DEFAULT, at most API_LIST_MAX); -1 on error. */
long api_limit(struct req *r, struct resp *rs);
/* ?cursor= as the last id seen (0 when absent); -1 on error. */
int64_t api_cursor(struct req *r, struct resp *rs);
/*
 * Answers a list from q whose column jcol holds each item's JSON and idcol
 * its id; q has up to limit + 1 rows: a row beyond limit means there is a
 * next page, whose cursor is the last returned id.
 */
void api_list(struct resp *rs, PGresult *q, int jcol, int idcol, long limit);
/*
 * Runs st with vals and answers its rows as a list (see api_list: column 0
 * the item, column 1 its id; st asks for limit + 1 rows).
 */
void api_query_list(struct req *r, struct resp *rs, const struct db_stmt *st,
    const char *const *vals, long limit);
/* A plain page: st takes ($1 cursor, $2 limit + 1); ?cursor= and ?limit= apply. */
void api_list_page(struct req *r, struct resp *rs, const struct db_stmt *st);
/*
 * Runs st with the route's id as its one parameter and answers column 0 of
 * its row with status, or 404 "no WHAT ID" when there is no row.
 */
void api_get_id(struct req *r, struct resp *rs, const struct db_stmt *st, int64_t id,
    int status, const char *what);
/* Parses column col of row 0 (JSON text) into the response with status. */
void api_one(struct resp *rs, int status, PGresult *q, int col);

#endif
