/*
 * heartbeat.c - the heartbeat check type: a job's schedule, not something
 * to measure. No agent runs it; serverd is fed by its pings (serverd/api/
 * heartbeat.c) and misses them on time. Here only its params are read,
 * for the server's validation and for the server's schedule arithmetic:
 *   schedule        "every 5m" or a cron expression (lib/schedule.h)
 *   tz              IANA zone name the cron expression is read in (UTC)
 *   grace_s         how long after the expected time a run may report
 *   max_duration_s  optional: a run taking longer is a WARNING, and one
 *                   started and not ended by then a problem
 * run() exists so an agent that was handed one anyway says why it cannot.
 */
#include "config.h"
#include "check.h"
#include "heartbeat.h"
#include "params.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const hb_keys[] = { "schedule", "tz", "grace_s", "max_duration_s", NULL };

int
heartbeat_params_parse(json_t *params, struct heartbeat_params *hp, char *err, size_t errlen,
    const char **field)
{
	const char *sched, *zone;
	char why[256];
	long long v;

	memset(hp, 0, sizeof(*hp));
	if (params_allowed(params, hb_keys, err, errlen, field) < 0 ||
	    params_string(params, "schedule", 1, SCHEDULE_TEXT_MAX - 1, &sched, err, errlen,
	    field) < 0 ||
	    params_string(params, "tz", 0, TZ_NAME_MAX - 1, &zone, err, errlen, field) < 0)
		return -1;
	if (schedule_parse(sched, &hp->sched, why, sizeof(why)) < 0)
		return params_error("schedule", err, errlen, field, "%s", why);
	if ((hp->tz = tz_get(zone ? zone : "UTC", why, sizeof(why))) == NULL)
		return params_error("tz", err, errlen, field, "%s", why);
	if (params_int(params, "grace_s", 0, 0, HEARTBEAT_GRACE_MAX, HEARTBEAT_GRACE_DEFAULT, &v,
	    err, errlen, field) < 0)
		return -1;
	hp->grace_s = v;
	if (params_int(params, "max_duration_s", 0, 1, HEARTBEAT_GRACE_MAX, 0, &v, err, errlen,
	    field) < 0)
		return -1;
	hp->max_duration_s = v;
	return 0;
}

static int
hb_parse(json_t *params, void **out, char *err, size_t errlen, const char **field)
{
	struct heartbeat_params *hp = malloc(sizeof(*hp));

	if (hp == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (heartbeat_params_parse(params, hp, err, errlen, field) < 0) {
		free(hp);
		return -1;
	}
	*out = hp;
	return 0;
}

static void
hb_run(const void *p, struct check_env *env, struct check_out *o)
{
	(void)p;
	(void)env;
	o->label = "HEARTBEAT";
	check_fail(o, CHECK_UNKNOWN, "a heartbeat is fed by its pings; no agent runs it");
}

const struct check_type check_type_heartbeat = {
	.name = "heartbeat",
	.parse_params = hb_parse,
	.free_params = params_free_plain,   /* tz is the cache's */
	.run = hb_run,
	.ignore_thresholds = 1,
	/* a missed run is a problem at once: each result is a whole run */
	.default_max_attempts = 1,
};
