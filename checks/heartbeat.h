/*
 * heartbeat.h - a heartbeat check's params, read (heartbeat.c) for the
 * server, which does the schedule arithmetic; no agent runs the type.
 */
#ifndef CUSTOS_HEARTBEAT_H
#define CUSTOS_HEARTBEAT_H

#include <jansson.h>
#include <stdint.h>

#include "schedule.h"
#include "tz.h"

#define HEARTBEAT_GRACE_DEFAULT 300        /* s */
#define HEARTBEAT_GRACE_MAX (30 * 86400)   /* grace_s and max_duration_s, s */

struct heartbeat_params {
	struct schedule sched;
	const struct tz *tz;        /* tz_get()'s: shared, never freed by the caller */
	int64_t grace_s;
	int64_t max_duration_s;     /* 0: not set */
};

/* Reads and validates params (see heartbeat.c); 0, or -1 with err and *field. */
int heartbeat_params_parse(json_t *params, struct heartbeat_params *hp, char *err,
    size_t errlen, const char **field);

#endif
