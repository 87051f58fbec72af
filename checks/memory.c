/*
 * memory.c - the memory check: % of memory in use, from MemAvailable in
 * /proc/meminfo (on kernels before 3.14 without it: MemFree + Buffers +
 * Cached, which overstates what is free a little).
 */
#include "config.h"
#include "check.h"
#include "params.h"
#include "procfs.h"

static void
memory_run(const void *p, struct check_env *env, struct check_out *o)
{
	struct meminfo m;
	char err[256], used_h[32], total_h[32];
	uint64_t avail;
	double pct;

	o->label = "MEMORY";
	if (meminfo_read(env->proc_root, &m, err, sizeof(err)) < 0) {
		check_fail(o, CHECK_UNKNOWN, "%s", err);
		return;
	}
	avail = m.have_avail ? m.avail_kb : m.free_kb + m.buffers_kb + m.cached_kb;
	if (avail > m.total_kb)
		avail = m.total_kb;
	pct = 100.0 * (double)(m.total_kb - avail) / (double)m.total_kb;
	human_bytes((double)(m.total_kb - avail) * 1024.0, used_h, sizeof(used_h));
	human_bytes((double)m.total_kb * 1024.0, total_h, sizeof(total_h));
	check_set_value(o, pct, 1);
	check_detail(o, "%.1f%% used (%s of %s)", pct, used_h, total_h);
	o->perf_label = "memory_used";
	o->uom = "%";
	o->has_min = o->has_max = 1;
	o->min = 0;
	o->max = 100;
}

const struct check_type check_type_memory = {
	.name = "memory",
	.parse_params = params_none,
	.free_params = params_free_plain,
	.run = memory_run,
};
