/*
 * swap.c - the swap check: % of swap in use, from /proc/meminfo. A host
 * without swap is OK, says so, and has no value (unlike check_swap, which is
 * CRITICAL there by default).
 */
#include "config.h"
#include "check.h"
#include "params.h"
#include "procfs.h"

static void
swap_run(const void *p, struct check_env *env, struct check_out *o)
{
	struct meminfo m;
	char err[256], used_h[32], total_h[32];
	uint64_t used;
	double pct;

	o->label = "SWAP";
	if (meminfo_read(env->proc_root, &m, err, sizeof(err)) < 0) {
		check_fail(o, CHECK_UNKNOWN, "%s", err);
		return;
	}
	if (!m.have_swap || m.swap_total_kb == 0) {
		check_fail(o, CHECK_OK, "no swap configured");
		return;
	}
	used = m.swap_free_kb > m.swap_total_kb ? 0 : m.swap_total_kb - m.swap_free_kb;
	pct = 100.0 * (double)used / (double)m.swap_total_kb;
	human_bytes((double)used * 1024.0, used_h, sizeof(used_h));
	human_bytes((double)m.swap_total_kb * 1024.0, total_h, sizeof(total_h));
	check_set_value(o, pct, 1);
	check_detail(o, "%.1f%% used (%s of %s)", pct, used_h, total_h);
	o->perf_label = "swap_used";
	o->uom = "%";
	o->has_min = o->has_max = 1;
	o->min = 0;
	o->max = 100;
}

const struct check_type check_type_swap = {
	.name = "swap",
	.parse_params = params_none,
	.free_params = params_free_plain,
	.run = swap_run,
};
