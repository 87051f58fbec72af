/*
 * disk.c - the disk check: % of a filesystem in use (or of its inodes),
 * from statvfs(2). "Used" is counted as df(1) does: against the space a
 * non-root user could have (used + available), so 100 % means full for
 * ordinary users even while root's reserve remains.
 */
#include "config.h"
#include "check.h"
#include "params.h"
#include "procfs.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>

#define DISK_PATH_MAX 1024

struct disk_params {
	char *path;
	int inodes;
};

static void
disk_free(void *vp)
{
	struct disk_params *p = vp;

	if (p) {
		free(p->path);
		free(p);
	}
}

static int
disk_parse(json_t *params, void **out, char *err, size_t errlen, const char **field)
{
	static const char *const keys[] = { "path", "inodes", NULL };
	struct disk_params *p;
	const char *path;
	int inodes;

	*out = NULL;
	if (params_allowed(params, keys, err, errlen, field) < 0 ||
	    params_string(params, "path", 1, DISK_PATH_MAX, &path, err, errlen, field) < 0 ||
	    params_bool(params, "inodes", 0, &inodes, err, errlen, field) < 0)
		return -1;
	if (path[0] != '/')
		return params_error("path", err, errlen, field, "must be an absolute path");
	if ((p = calloc(1, sizeof(*p))) == NULL || (p->path = strdup(path)) == NULL) {
		free(p);
		return params_error("path", err, errlen, field, "out of memory");
	}
	p->inodes = inodes;
	*out = p;
	return 0;
}

static void
disk_run(const void *vp, struct check_env *env, struct check_out *o)
{
	const struct disk_params *p = vp;
	struct statvfs sv;
	double pct;

	o->label = "DISK";
	if (statvfs(p->path, &sv) < 0) {
		check_fail(o, CHECK_UNKNOWN, "%s: %s", p->path, strerror(errno));
		return;
	}
	if (p->inodes) {
		if (sv.f_files == 0) {
			check_fail(o, CHECK_OK, "%s: the filesystem has no inode count", p->path);
			return;
		}
		pct = 100.0 * (double)(sv.f_files - sv.f_ffree) / (double)sv.f_files;
		check_set_value(o, pct, 1);
		check_detail(o, "%s %.1f%% of inodes used (%llu of %llu)", p->path, pct,
		    (unsigned long long)(sv.f_files - sv.f_ffree), (unsigned long long)sv.f_files);
		o->perf_label = "inodes_used";
	} else {
		unsigned long long used = sv.f_blocks - sv.f_bfree;
		unsigned long long avail_total = used + sv.f_bavail;
		char used_h[32], total_h[32];

		if (avail_total == 0) {
			check_fail(o, CHECK_OK, "%s: the filesystem has no blocks", p->path);
			return;
		}
		pct = 100.0 * (double)used / (double)avail_total;
		human_bytes((double)used * (double)sv.f_frsize, used_h, sizeof(used_h));
		human_bytes((double)avail_total * (double)sv.f_frsize, total_h, sizeof(total_h));
		check_set_value(o, pct, 1);
		check_detail(o, "%s %.1f%% used (%s of %s)", p->path, pct, used_h, total_h);
		o->perf_label = p->path;
	}
	o->uom = "%";
	o->has_min = o->has_max = 1;
	o->min = 0;
	o->max = 100;
}

const struct check_type check_type_disk = {
	.name = "disk",
	.parse_params = disk_parse,
	.free_params = disk_free,
	.run = disk_run,
};
