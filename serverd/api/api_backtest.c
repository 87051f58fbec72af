/*
 * api_backtest.c - POST /api/v1/checks/{id}/backtest: what other
 * thresholds would have caused, beside what the current ones cause.
 *
 * The body names a proposed policy - warning, critical, max_attempts
 * (each absent member keeps the check's current one; a null range means
 * none, as in a PATCH) - and since, how far back to replay (RFC 3339, or a
 * duration back from now: "30d", "24h"; default 30d, at most
 * BACKTEST_SINCE_MAX_S). The check's stored results since then are read
 * once (store/results.h) and replayed twice (alert/backtest.h), under the
 * proposed and the current policy. It changes nothing, so a viewer may
 * ask (NEED_READ): it reads no more than GET .../history already shows.
 *
 * Its cost is bounded by BACKTEST_RESULTS_MAX: a window holding more
 * results is refused (422 on since) rather than read into memory.
 */
#include "config.h"
#include "api.h"
#include "apiutil.h"
#include "backtest.h"
#include "check.h"
#include "db.h"
#include "log.h"
#include "range.h"
#include "results.h"
#include "serverd.h"
#include "strnum.h"
#include "timeutil.h"

#include <stdlib.h>
#include <string.h>

#define BACKTEST_SINCE_MAX_S (90LL * 86400)   /* the longest window replayed */
#define BACKTEST_SINCE_DEFAULT "30d"
#define BACKTEST_RESULTS_MAX 500000            /* ~12 MB of results at most */

static const char *const bt_fields[] = { "warning", "critical", "max_attempts", "since", NULL };

static const struct db_stmt q_check = { "backtest_check",
	"SELECT type, warning, critical, max_attempts FROM checks WHERE id = $1", 1 };

/* One side of the comparison: its settings as text, and the policy. */
struct side {
	const char *warning, *critical;   /* NULL: no range */
	long long max_attempts;
	struct bt_policy pol;
	struct bt_outcome out;
};

/*
 * The range member key of the body into *text (absent: keeps *text, the
 * current one; null: no range). 0, or -1 with rs filled: 400 for a wrong
 * type, 422 naming the member for a bad range.
 */
static int
range_member(json_t *o, const char *key, const char **text, struct resp *rs)
{
	json_t *v = json_object_get(o, key);
	struct nrange nr;

	if (v == NULL)
		return 0;
	if (json_is_null(v)) {
		*text = NULL;
		return 0;
	}
	if (!json_is_string(v)) {
		resp_error(rs, 400, key, "%s must be a Nagios range string or null", key);
		return -1;
	}
	if (range_parse(json_string_value(v), &nr) < 0) {
		resp_error(rs, 422, key, "%s \"%s\" is not a Nagios range (10, 10:, ~:10, 10:20, @10:20)",
		    key, json_string_value(v));
		return -1;
	}
	*text = json_string_value(v);
	return 0;
}

/*
 * since as microseconds since the epoch: RFC 3339, or one number and a
 * unit (s, m, h, d, w) back from now_us. 0, or -1 with rs filled (422:
 * unreadable, in the future, or more than BACKTEST_SINCE_MAX_S ago).
 */
static int
since_member(json_t *o, int64_t now_us, int64_t *since_us, struct resp *rs)
{
	const char *s = BACKTEST_SINCE_DEFAULT, *es;
	char num[24];
	size_t len;
	long long v, unit;

	if (jv_str(o, "since", 0, 64, &s, rs) < 0)
		return -1;
	if (rfc3339_parse(s, since_us) == 0)
		goto check;
	len = strlen(s);
	if (len < 2 || len >= sizeof(num))
		goto bad;
	switch (s[len - 1]) {
	case 's': unit = 1; break;
	case 'm': unit = 60; break;
	case 'h': unit = 3600; break;
	case 'd': unit = 86400; break;
	case 'w': unit = 7 * 86400; break;
	default: goto bad;
	}
	memcpy(num, s, len - 1);
	num[len - 1] = '\0';
	v = str_to_ll(num, 1, BACKTEST_SINCE_MAX_S, &es);
	if (es && strcmp(es, "too large") != 0)
		goto bad;
	if (es || v * unit > BACKTEST_SINCE_MAX_S)
		goto far;
	*since_us = now_us - v * unit * 1000000;
check:
	if (*since_us > now_us) {
		resp_error(rs, 422, "since", "since \"%s\" is in the future", s);
		return -1;
	}
	if (now_us - *since_us > BACKTEST_SINCE_MAX_S * 1000000)
		goto far;
	return 0;
far:
	resp_error(rs, 422, "since", "since \"%s\" is more than %lld days back",
	    s, BACKTEST_SINCE_MAX_S / 86400);
	return -1;
bad:
	resp_error(rs, 422, "since", "since \"%s\" is neither an RFC 3339 time nor a duration "
	    "(90m, 24h, 30d, 2w)", s);
	return -1;
}

/* Fills side's policy from its settings (already validated). */
static void
side_policy(struct side *sd, const struct check_type *ct, const struct srv_conf *cf)
{
	const char *crit = sd->critical;

	memset(&sd->pol, 0, sizeof(sd->pol));
	/* as a check saved with neither range: its type's default (process "1:") */
	if (sd->warning == NULL && crit == NULL && ct && ct->default_critical)
		crit = ct->default_critical;
	sd->pol.has_warn = sd->warning && range_parse(sd->warning, &sd->pol.warn) == 0;
	sd->pol.has_crit = crit && range_parse(crit, &sd->pol.crit) == 0;
	sd->pol.judge_values = ct == NULL || !ct->ignore_thresholds;
	sd->pol.p.max_attempts = (int)sd->max_attempts;
	sd->pol.p.flap_low_pct = (double)cf->flap_low_pct;
	sd->pol.p.flap_high_pct = (double)cf->flap_high_pct;
}

static json_t *
side_json(const struct side *sd)
{
	return json_pack("{s:o, s:o, s:I, s:I, s:I, s:I, s:I}",
	    "warning", sd->warning ? json_string(sd->warning) : json_null(),
	    "critical", sd->critical ? json_string(sd->critical) : json_null(),
	    "max_attempts", (json_int_t)sd->max_attempts,
	    "hard_problems", (json_int_t)sd->out.hard_problems,
	    "recoveries", (json_int_t)sd->out.recoveries,
	    "notifications", (json_int_t)sd->out.notifications,
	    "flaps", (json_int_t)sd->out.flaps);
}

static json_t *
changes_json(const struct bt_outcome *o)
{
	json_t *a = json_array();
	size_t i;

	for (i = 0; a && i < o->nchanges; i++) {
		const struct bt_change *c = &o->changes[i];
		char at[RFC3339_LEN];
		rfc3339_format(c->at_us, at);
		if (json_array_append_new(a, json_pack("{s:s, s:s, s:s, s:b}", "at", at,
		    "kind", ev_kind_names[c->kind], "status", check_status_name(c->status),
		    "notified", c->notified)) < 0) {
			json_decref(a);
			return NULL;
		}
	}
	return a;
}

void
api_checks_backtest(struct req *r, struct resp *rs)
{
	struct side *cur = NULL, *prop = NULL;
	struct stored_result *res = NULL;
	const struct check_type *ct;
	const struct srv_conf *cf = NULL;
	char id[24], since[RFC3339_LEN], until[RFC3339_LEN];
	const char *v[1] = { id }, *es;
	int64_t now_us = time_now_us(), since_us = 0, t0, t1;
	size_t n = 0;
	enum db_outcome o;
	PGresult *q = NULL;

	if (jv_object(r, rs) < 0 || jv_known(r->body, bt_fields, rs) < 0)
		goto done;
	cur = calloc(1, sizeof(*cur));
	prop = calloc(1, sizeof(*prop));
	if (cur == NULL || prop == NULL) {
		resp_error(rs, 500, NULL, "out of memory");
		goto done;
	}
	id_text(r->id[0], id);
	q = db_exec(r->db, &q_check, v);
	if (!db_ok(q, PGRES_TUPLES_OK)) {
		resp_db_error(rs, r->db, q);
		goto done;
	}
	if (PQntuples(q) == 0) {
		resp_error(rs, 404, NULL, "no check %lld", (long long)r->id[0]);
		goto done;
	}
	/* the current side borrows q's text: q lives to done */
	ct = check_type_find(PQgetvalue(q, 0, 0));
	cur->warning = PQgetisnull(q, 0, 1) ? NULL : PQgetvalue(q, 0, 1);
	cur->critical = PQgetisnull(q, 0, 2) ? NULL : PQgetvalue(q, 0, 2);
	cur->max_attempts = str_to_ll(PQgetvalue(q, 0, 3), 1, 100, &es);
	if (es)
		cur->max_attempts = 3;
	prop->warning = cur->warning;
	prop->critical = cur->critical;
	prop->max_attempts = cur->max_attempts;
	if (range_member(r->body, "warning", &prop->warning, rs) < 0 ||
	    range_member(r->body, "critical", &prop->critical, rs) < 0 ||
	    jv_int(r->body, "max_attempts", 0, 1, 100, &prop->max_attempts, rs) < 0 ||
	    since_member(r->body, now_us, &since_us, rs) < 0)
		goto done;

	t0 = mono_now_us();
	o = results_since(r->db, r->id[0], since_us, BACKTEST_RESULTS_MAX, &res, &n);
	t1 = mono_now_us();
	if (o != DB_OK) {
		resp_db_outcome(rs, o, NULL);
		goto done;
	}
	if (n > BACKTEST_RESULTS_MAX) {
		resp_error(rs, 422, "since", "more than %d results since then: choose a later since",
		    BACKTEST_RESULTS_MAX);
		goto done;
	}
	cf = conf_hold();
	side_policy(cur, ct, cf);
	side_policy(prop, ct, cf);
	backtest_replay(res, n, &cur->pol, &cur->out);
	backtest_replay(res, n, &prop->pol, &prop->out);
	/* the two costs, apart: bench/backtest's figure is their sum plus HTTP */
	log_debug("backtest of check %lld: %zu results read in %lld us, replayed twice in %lld us",
	    (long long)r->id[0], n, (long long)(t1 - t0), (long long)(mono_now_us() - t1));
	rfc3339_format(since_us, since);
	rfc3339_format(now_us, until);
	resp_json(rs, 200, json_pack("{s:I, s:s, s:s, s:I, s:o, s:o, s:o}",
	    "check_id", (json_int_t)r->id[0], "since", since, "until", until,
	    "results", (json_int_t)n, "proposed", side_json(prop), "current", side_json(cur),
	    "changes", changes_json(&prop->out)));
done:
	conf_drop(cf);
	PQclear(q);
	free(res);
	free(cur);
	free(prop);
}
