/*
 * check.c - the core of the check library: status names, check definitions
 * from JSON, validation for the server, and check_run(), which times a check,
 * applies the thresholds and writes the output line and the perfdata.
 */
#include "config.h"
#include "check.h"
#include "proc.h"
#include "samples.h"
#include "timeutil.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#define CHECK_NAME_MAX 200   /* a check's name, bytes */

static const char *const status_names[CHECK_STATUS_COUNT] = {
	[CHECK_OK] = "OK",
	[CHECK_WARNING] = "WARNING",
	[CHECK_CRITICAL] = "CRITICAL",
	[CHECK_UNKNOWN] = "UNKNOWN",
};

const char *
check_status_name(int status)
{
	if (status < 0 || status >= CHECK_STATUS_COUNT)
		return "UNKNOWN";
	return status_names[status];
}

void
check_result_free(struct check_result *r)
{
	if (r == NULL)
		return;
	free(r->output);
	free(r->perfdata);
	r->output = r->perfdata = NULL;
}

const struct check_type *
check_type_find(const char *name)
{
	size_t i;

	if (name == NULL)
		return NULL;
	for (i = 0; check_types[i]; i++)
		if (strcmp(check_types[i]->name, name) == 0)
			return check_types[i];
	return NULL;
}

int
check_default_max_attempts(const char *type)
{
	const struct check_type *t = check_type_find(type);

	return t && t->default_max_attempts > 0 ? t->default_max_attempts :
	    CHECK_MAX_ATTEMPTS_DEFAULT;
}

void
check_env_init(struct check_env *env)
{
	memset(env, 0, sizeof(*env));
	env->proc_root = "/proc";
	env->plugin_dir = "/etc/custos/plugins.d";
	env->log_dirs = "/var/log";
	env->timeout_ms = 10000;
	env->kill_grace_ms = 2000;
	env->first_sample_ms = 250;
}

void
check_env_free(struct check_env *env)
{
	check_env_end_run(env);
	if (env->have_timer)
		timer_delete(env->timer);
	env->have_timer = 0;
	sample_store_free(env->samples);
	env->samples = NULL;
}

void
check_env_begin_run(struct check_env *env, struct check_def *const *defs, size_t n)
{
	size_t i;

	check_env_end_run(env);
	env->want_cmdline = env->want_uid = 0;
	for (i = 0; i < n; i++)
		if (defs[i]->type->prepare)
			defs[i]->type->prepare(defs[i]->params, env);
}

void
check_env_end_run(struct check_env *env)
{
	proc_table_free(env->procs);
	env->procs = NULL;
}

/* ---- definitions ----------------------------------------------------------- */

static int
def_fail(char *err, size_t errlen, const char **field, const char *f, const char *msg)
{
	snprintf(err, errlen, "%s: %s", f, msg);
	if (field)
		*field = f;
	return -1;
}

static int
parse_params_of(const struct check_type *t, json_t *params, void **out,
    char *err, size_t errlen, const char **field)
{
	json_t *empty = NULL;
	int rc;

	*out = NULL;
	if (params == NULL || json_is_null(params))
		params = empty = json_object();
	if (params == NULL)
		return def_fail(err, errlen, field, "params", "out of memory");
	if (!json_is_object(params))
		return def_fail(err, errlen, field, "params", "must be an object");
	rc = t->parse_params(params, out, err, errlen, field);
	json_decref(empty);
	return rc;
}

int
check_validate(const char *type, json_t *params, char *err, size_t errlen,
    const char **field)
{
	const struct check_type *t = check_type_find(type);
	void *p;

	if (t == NULL) {
		snprintf(err, errlen, "unknown check type \"%s\"", type ? type : "");
		if (field)
			*field = "type";
		return -1;
	}
	if (parse_params_of(t, params, &p, err, errlen, field) < 0)
		return -1;
	t->free_params(p);
	return 0;
}

static int
range_member(json_t *obj, const char *key, char **text, struct nrange *r,
    int *has, char *err, size_t errlen, const char **field)
{
	json_t *v = json_object_get(obj, key);

	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_string(v) || range_parse(json_string_value(v), r) < 0)
		return def_fail(err, errlen, field, key,
		    "not a Nagios range (10, 10:, ~:10, 10:20, @10:20)");
	if ((*text = strdup(json_string_value(v))) == NULL)
		return def_fail(err, errlen, field, key, "out of memory");
	*has = 1;
	return 0;
}

int
check_def_from_json(json_t *obj, struct check_def *d, char *err,
    size_t errlen, const char **field)
{
	json_t *v;
	const char *name;

	memset(d, 0, sizeof(*d));
	if (!json_is_object(obj))
		return def_fail(err, errlen, field, "check", "must be an object");
	v = json_object_get(obj, "id");
	if (v && !json_is_null(v)) {
		if (!json_is_integer(v) || json_integer_value(v) < 0)
			return def_fail(err, errlen, field, "id", "must be a non-negative integer");
		d->id = json_integer_value(v);
	}
	v = json_object_get(obj, "name");
	if (v && !json_is_string(v))
		return def_fail(err, errlen, field, "name", "must be a string");
	name = v ? json_string_value(v) : NULL;
	v = json_object_get(obj, "type");
	if (!json_is_string(v))
		return def_fail(err, errlen, field, "type", "required string");
	if ((d->type = check_type_find(json_string_value(v))) == NULL) {
		snprintf(err, errlen, "unknown check type \"%s\"", json_string_value(v));
		if (field)
			*field = "type";
		return -1;
	}
	if (name == NULL)
		name = d->type->name;
	if (strlen(name) > CHECK_NAME_MAX)
		return def_fail(err, errlen, field, "name", "too long");
	if ((d->name = strdup(name)) == NULL)
		return def_fail(err, errlen, field, "name", "out of memory");
	if (parse_params_of(d->type, json_object_get(obj, "params"), &d->params,
	    err, errlen, field) < 0)
		goto fail;
	if (range_member(obj, "warning", &d->warning, &d->warn, &d->has_warn,
	    err, errlen, field) < 0 ||
	    range_member(obj, "critical", &d->critical, &d->crit, &d->has_crit,
	    err, errlen, field) < 0)
		goto fail;
	if (!d->has_warn && !d->has_crit && d->type->default_critical) {
		if ((d->critical = strdup(d->type->default_critical)) == NULL)
			goto fail;
		range_parse(d->critical, &d->crit);
		d->has_crit = 1;
	}
	return 0;
fail:
	check_def_free(d);
	return -1;
}

void
check_def_free(struct check_def *d)
{
	if (d == NULL)
		return;
	if (d->type && d->params)
		d->type->free_params(d->params);
	free(d->name);
	free(d->warning);
	free(d->critical);
	memset(d, 0, sizeof(*d));
}

/* ---- running ------------------------------------------------------------- */

void
check_fail(struct check_out *o, enum check_status st, const char *fmt, ...)
{
	va_list ap;
	char line[CHECK_DETAIL_MAX];

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	o->forced = 1;
	o->status = st;
	buf_reset(&o->detail);
	buf_adds(&o->detail, line);
}

void
check_detail(struct check_out *o, const char *fmt, ...)
{
	va_list ap;
	char line[CHECK_DETAIL_MAX];

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	buf_adds(&o->detail, line);
}

void
check_set_value(struct check_out *o, double v, int decimals)
{
	o->has_value = 1;
	o->value = v;
	o->decimals = decimals;
}

/* Replaces control characters so the output stays one line. */
static void
one_line(char *s)
{
	for (; s && *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			*s = ' ';
}

static void
perf_label(struct buf *b, const char *label)
{
	const char *p;

	if (strpbrk(label, " ='\t") == NULL) {
		buf_adds(b, label);
		return;
	}
	buf_adds(b, "'");
	for (p = label; *p; p++) {
		if (*p == '=')
			continue;   /* not allowed even quoted */
		if (*p == '\'')
			buf_adds(b, "'");
		buf_add(b, p, 1);
	}
	buf_adds(b, "'");
}

static void
on_time_limit(int sig)
{
	(void)sig;   /* only there so a blocking call returns EINTR */
}

/* Arms (ms > 0) or disarms (ms == 0) the time-limit timer; best effort. */
static void
limit_timer(struct check_env *env, int ms)
{
	struct itimerspec its;

	if (!env->have_timer) {
		static int installed;
		struct sigevent sev;
		struct sigaction sa;

		if (ms == 0)
			return;
		if (!installed) {
			memset(&sa, 0, sizeof(sa));
			sa.sa_handler = on_time_limit;   /* no SA_RESTART: interrupt */
			sigemptyset(&sa.sa_mask);
			if (sigaction(SIGALRM, &sa, NULL) < 0)
				return;
			installed = 1;
		}
		memset(&sev, 0, sizeof(sev));
		sev.sigev_signo = SIGALRM;
#ifdef SIGEV_THREAD_ID
		/* to this thread: curl's resolver threads must not take it */
		sev.sigev_notify = SIGEV_THREAD_ID;
		sev._sigev_un._tid = (pid_t)syscall(SYS_gettid);
#else
		sev.sigev_notify = SIGEV_SIGNAL;
#endif
		if (timer_create(CLOCK_MONOTONIC, &sev, &env->timer) < 0)
			return;
		env->have_timer = 1;
	}
	memset(&its, 0, sizeof(its));
	its.it_value.tv_sec = ms / 1000;
	its.it_value.tv_nsec = (long)(ms % 1000) * 1000000L;
	timer_settime(env->timer, 0, &its, NULL);
}

void
check_run(const struct check_def *d, struct check_env *env,
    struct check_result *res)
{
	struct check_out o;
	struct buf line, perf;
	int64_t t0 = mono_now_us(), took_ms;
	int limit = d->type->time_limit_ms ? d->type->time_limit_ms(d->params, env) :
	    env->timeout_ms;

	memset(res, 0, sizeof(*res));
	memset(&o, 0, sizeof(o));
	buf_init(&o.detail, CHECK_DETAIL_MAX);
	buf_init(&o.perf, CHECK_PERF_MAX);
	o.label = "CHECK";
	o.uom = "";
	if (limit <= 0)
		limit = 10000;
	env->deadline_us = t0 + (int64_t)limit * 1000;
	limit_timer(env, limit);
	d->type->run(d->params, env, &o);
	limit_timer(env, 0);
	took_ms = (mono_now_us() - t0) / 1000;
	if (mono_now_us() >= env->deadline_us) {
		/* whatever it measured is late: the check is stuck, say so */
		o.forced = 1;
		o.status = CHECK_UNKNOWN;
		o.raw_output = 0;
		o.has_value = 0;
		o.perf_label = NULL;
		buf_reset(&o.perf);
		buf_reset(&o.detail);
		buf_addf(&o.detail, "%s check stopped at its time limit of %d ms "
		    "(ran %lld ms; the host did not answer in time)", d->type->name, limit,
		    (long long)took_ms);
	}
	env->deadline_us = 0;

	/* status */
	if (o.forced)
		res->status = o.status;
	else if (!o.has_value)
		res->status = CHECK_UNKNOWN;
	else if (d->type->ignore_thresholds)
		res->status = o.status;
	else if (d->has_crit && range_alert(&d->crit, o.value))
		res->status = CHECK_CRITICAL;
	else if (d->has_warn && range_alert(&d->warn, o.value))
		res->status = CHECK_WARNING;
	else
		res->status = CHECK_OK;
	res->has_value = o.has_value;
	res->value = o.value;

	/* output */
	buf_init(&line, CHECK_DETAIL_MAX + 256);
	if (o.raw_output) {
		buf_adds(&line, o.detail.len ? o.detail.ptr : "(no output)");
	} else {
		buf_addf(&line, "%s %s - %s", o.label, check_status_name(res->status),
		    o.detail.len ? o.detail.ptr : "");
		if (!o.forced && o.has_value && !d->type->ignore_thresholds &&
		    (d->has_warn || d->has_crit)) {
			buf_adds(&line, " (");
			if (d->has_warn)
				buf_addf(&line, "warn %s", d->warning);
			if (d->has_crit)
				buf_addf(&line, "%scrit %s", d->has_warn ? ", " : "", d->critical);
			buf_adds(&line, ")");
		}
	}
	if (line.failed || line.ptr == NULL)
		res->output = strdup("(output too long)");
	else
		res->output = buf_take(&line);
	one_line(res->output);

	/* perfdata */
	buf_init(&perf, CHECK_PERF_MAX);
	if (o.perf_label && o.has_value) {
		perf_label(&perf, o.perf_label);
		buf_addf(&perf, "=%.*f%s;%s;%s;", o.decimals, o.value, o.uom,
		    d->warning ? d->warning : "", d->critical ? d->critical : "");
		if (o.has_min)
			buf_addf(&perf, "%g", o.min);
		buf_adds(&perf, ";");
		if (o.has_max)
			buf_addf(&perf, "%g", o.max);
	}
	if (o.perf.len) {
		if (perf.len)
			buf_adds(&perf, " ");
		buf_add(&perf, o.perf.ptr, o.perf.len);
	}
	if (perf.len && !perf.failed) {
		res->perfdata = buf_take(&perf);
		one_line(res->perfdata);
	}
	buf_free(&perf);
	buf_free(&line);
	buf_free(&o.detail);
	buf_free(&o.perf);
	res->duration_ms = (mono_now_us() - t0 + 500) / 1000;
}
