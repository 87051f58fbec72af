/*
 * cpu.c - the cpu check: % of CPU time busy since the previous sample, from
 * the "cpu" line of /proc/stat (user nice system idle iowait irq softirq
 * steal; guest time is already inside user). Busy = all but idle and
 * iowait. The previous sample lives in env->samples; without one (the very
 * first run, a reboot, a damaged state file) the check samples over
 * env->first_sample_ms. Counters that wrap at 32 bits are handled.
 */
#include "config.h"
#include "check.h"
#include "params.h"
#include "procfs.h"
#include "samples.h"
#include "timeutil.h"

#include <errno.h>
#include <string.h>
#include <time.h>

#define CPU_FIELDS 8              /* user .. steal */
#define CPU_SAMPLE_MAX_AGE_MS (24LL * 3600 * 1000)  /* older: sample afresh */

static int
read_cpu(const char *root, uint64_t v[CPU_FIELDS], char *err, size_t errlen)
{
	char buf[1024], *p = buf, *tok;
	size_t len;
	int i;

	if (procfs_read(root, "stat", buf, sizeof(buf), &len) < 0) {
		snprintf(err, errlen, "%s/stat: %s", root, strerror(errno));
		return -1;
	}
	if ((tok = next_token(&p)) == NULL || strcmp(tok, "cpu") != 0) {
		snprintf(err, errlen, "%s/stat: no cpu line", root);
		return -1;
	}
	for (i = 0; i < CPU_FIELDS; i++) {
		/* kernels before 2.6.11 lack steal: missing trailing fields are 0 */
		char *nl = strchr(p, '\n');
		if (nl)
			*nl = '\0';
		tok = next_token(&p);
		if (tok == NULL) {
			if (i < 4) {
				snprintf(err, errlen, "%s/stat: short cpu line", root);
				return -1;
			}
			v[i] = 0;
			continue;
		}
		if (parse_u64(tok, &v[i]) < 0) {
			snprintf(err, errlen, "%s/stat: bad cpu counter \"%s\"", root, tok);
			return -1;
		}
	}
	return 0;
}


/* busy % between two samples; -1 when the counters were reset or no time passed */
static double
cpu_busy(const uint64_t *prev, const uint64_t *cur)
{
	uint64_t total = 0, idle = 0, d;
	int i, reset = 0;

	for (i = 0; i < CPU_FIELDS; i++) {
		d = counter_delta(cur[i], prev[i], &reset);
		total += d;
		if (i == 3 || i == 4)
			idle += d;
	}
	if (reset || total == 0)
		return -1;
	return 100.0 * (double)(total - idle) / (double)total;
}

static void
cpu_run(const void *p, struct check_env *env, struct check_out *o)
{
	uint64_t cur[CPU_FIELDS], first[CPU_FIELDS];
	const struct sample *prev;
	char err[256];
	int64_t now;
	double busy = -1;

	o->label = "CPU";
	if (env->samples == NULL && (env->samples = sample_store_new()) == NULL) {
		check_fail(o, CHECK_UNKNOWN, "out of memory");
		return;
	}
	if (read_cpu(env->proc_root, cur, err, sizeof(err)) < 0) {
		check_fail(o, CHECK_UNKNOWN, "%s", err);
		return;
	}
	now = time_now_us() / 1000;
	prev = sample_get(env->samples, "cpu");
	if (prev && prev->n == CPU_FIELDS && prev->t_ms <= now &&
	    now - prev->t_ms <= CPU_SAMPLE_MAX_AGE_MS)
		busy = cpu_busy(prev->v, cur);
	if (busy < 0) {
		/* no usable previous sample: measure over a short window */
		memcpy(first, cur, sizeof(first));
		sleep_ms(env->first_sample_ms);
		if (read_cpu(env->proc_root, cur, err, sizeof(err)) < 0) {
			check_fail(o, CHECK_UNKNOWN, "%s", err);
			return;
		}
		now = time_now_us() / 1000;
		busy = cpu_busy(first, cur);
		if (busy < 0)
			busy = 0;   /* no tick in the window: nothing ran */
	}
	sample_put(env->samples, "cpu", now, cur, CPU_FIELDS);
	check_set_value(o, busy, 1);
	check_detail(o, "%.1f%% busy", busy);
	o->perf_label = "cpu_busy";
	o->uom = "%";
	o->has_min = o->has_max = 1;
	o->min = 0;
	o->max = 100;
}

const struct check_type check_type_cpu = {
	.name = "cpu",
	.parse_params = params_none,
	.free_params = params_free_plain,
	.run = cpu_run,
};
