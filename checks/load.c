/*
 * load.c - the load check: the 1, 5 or 15 minute load average from
 * /proc/loadavg ("0.52 0.58 0.59 1/389 12345").
 */
#include "config.h"
#include "check.h"
#include "params.h"
#include "procfs.h"
#include "strnum.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct load_params {
	int period;    /* 1, 5 or 15 */
};

static int
load_parse(json_t *params, void **out, char *err, size_t errlen, const char **field)
{
	static const char *const keys[] = { "period", NULL };
	struct load_params *p;
	long long period;

	*out = NULL;
	if (params_allowed(params, keys, err, errlen, field) < 0 ||
	    params_int(params, "period", 0, 1, 15, 1, &period, err, errlen, field) < 0)
		return -1;
	if (period != 1 && period != 5 && period != 15)
		return params_error("period", err, errlen, field, "must be 1, 5 or 15");
	if ((p = malloc(sizeof(*p))) == NULL)
		return params_error("period", err, errlen, field, "out of memory");
	p->period = (int)period;
	*out = p;
	return 0;
}

static void
load_run(const void *vp, struct check_env *env, struct check_out *o)
{
	const struct load_params *p = vp;
	char buf[256], *s = buf, *tok = NULL;
	const char *es;
	size_t len;
	double v;
	int i, idx = p->period == 1 ? 0 : p->period == 5 ? 1 : 2;
	static const char *const labels[] = { "load1", "load5", "load15" };

	o->label = "LOAD";
	if (procfs_read(env->proc_root, "loadavg", buf, sizeof(buf), &len) < 0) {
		check_fail(o, CHECK_UNKNOWN, "%s/loadavg: %s", env->proc_root, strerror(errno));
		return;
	}
	for (i = 0; i <= idx; i++)
		tok = next_token(&s);
	v = str_to_double(tok, &es);
	if (tok == NULL || es || v < 0) {
		check_fail(o, CHECK_UNKNOWN, "%s/loadavg: cannot parse", env->proc_root);
		return;
	}
	check_set_value(o, v, 2);
	check_detail(o, "%.2f", v);
	o->perf_label = labels[idx];
	o->has_min = 1;
	o->min = 0;
}

const struct check_type check_type_load = {
	.name = "load",
	.parse_params = load_parse,
	.free_params = params_free_plain,
	.run = load_run,
};
