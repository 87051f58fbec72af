/*
 * fuzz_proc.c - the /proc readers on fuzzed trees (checks/procfs.c,
 * proc.c and the load, cpu, memory, swap, net and process checks). The
 * input is split at "\n@@" into chunks; each chunk's first byte picks the
 * file it becomes in a private proc tree, the rest is its content. Every
 * check then runs over that tree.
 */
#include "config.h"
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "proc.h"
#include "procfs.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const files[] = {
	"loadavg", "meminfo", "stat", "net/dev", "uptime",
	"1/stat", "1/cmdline", "1/status", "2/stat", "2/cmdline", "2/status",
	"300/stat", "300/cmdline", "300/status",
};
#define NFILES (sizeof(files) / sizeof(files[0]))

static const char *const checks[] = {
	"{\"type\": \"load\", \"params\": {\"period\": 1}}",
	"{\"type\": \"load\", \"params\": {\"period\": 15}}",
	"{\"type\": \"cpu\"}",
	"{\"type\": \"memory\"}",
	"{\"type\": \"swap\"}",
	"{\"type\": \"net\", \"params\": {\"iface\": \"eth0\", \"metric\": \"rx_bytes_per_s\"}}",
	"{\"type\": \"process\", \"params\": {\"name\": \"sshd\"}}",
	"{\"type\": \"process\", \"params\": {\"cmdline\": \"^/usr/sbin/(sshd|cron)\", \"user\": \"0\"}}",
};
#define NCHECKS (sizeof(checks) / sizeof(checks[0]))

static char root[64];
static struct check_def defs[NCHECKS];

/* at exit: the fixture's files, its directories, then its root */
static void
teardown(void)
{
	char path[256];
	size_t i;

	for (i = 0; i < NFILES; i++) {
		snprintf(path, sizeof(path), "%s/%s", root, files[i]);
		unlink(path);
	}
	for (i = 0; i < NFILES; i++) {
		const char *slash = strchr(files[i], '/');
		if (slash) {
			snprintf(path, sizeof(path), "%s/%.*s", root, (int)(slash - files[i]), files[i]);
			rmdir(path);
		}
	}
	rmdir(root);
}

static void
setup(void)
{
	char d[128];
	size_t i;
	const char *field;
	char err[256];

	snprintf(root, sizeof(root), "/tmp/custos-fuzz-proc-%ld", (long)getpid());
	mkdir(root, 0700);
	atexit(teardown);
	for (i = 0; i < NFILES; i++) {
		const char *slash = strchr(files[i], '/');
		if (slash) {
			snprintf(d, sizeof(d), "%s/%.*s", root, (int)(slash - files[i]), files[i]);
			mkdir(d, 0700);
		}
	}
	for (i = 0; i < NCHECKS; i++) {
		json_t *j = json_loads(checks[i], 0, NULL);
		if (j == NULL || check_def_from_json(j, &defs[i], err, sizeof(err), &field) < 0)
			abort();
		json_decref(j);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct check_env env;
	struct check_def *dp[NCHECKS];
	struct check_result r;
	struct proc_table *t = NULL;
	struct meminfo m;
	struct proc_entry e;
	char path[256], err[256], buf[512];
	const uint8_t *p = data, *end = data + size;
	size_t i;

	if (root[0] == '\0')
		setup();
	for (i = 0; i < NFILES; i++) {
		snprintf(path, sizeof(path), "%s/%s", root, files[i]);
		unlink(path);
	}
	while (p < end) {
		const uint8_t *q = p, *next = end;
		FILE *fp;

		for (; q + 2 < end; q++)
			if (q[0] == '\n' && q[1] == '@' && q[2] == '@') {
				next = q;
				break;
			}
		if (next > p) {
			snprintf(path, sizeof(path), "%s/%s", root, files[p[0] % NFILES]);
			if ((fp = fopen(path, "a")) != NULL) {
				fwrite(p + 1, 1, (size_t)(next - p - 1), fp);
				fclose(fp);
			}
		}
		p = next == end ? end : next + 3;
	}
	check_env_init(&env);
	env.proc_root = root;
	env.state_dir = NULL;
	env.first_sample_ms = 0;
	env.self_pid = 0;
	for (i = 0; i < NCHECKS; i++)
		dp[i] = &defs[i];
	check_env_begin_run(&env, dp, NCHECKS);
	for (i = 0; i < NCHECKS; i++) {
		check_run(&defs[i], &env, &r);
		if (r.output == NULL || r.status > CHECK_UNKNOWN)
			abort();
		check_result_free(&r);
	}
	check_env_end_run(&env);
	check_env_free(&env);
	/* the readers on their own */
	(void)meminfo_read(root, &m, err, sizeof(err));
	if (proc_scan(root, 1, 1, 0, &t, err, sizeof(err)) == 0)
		proc_table_free(t);
	snprintf(buf, sizeof(buf) < size + 1 ? sizeof(buf) : size + 1, "%.*s",
	    (int)(size < sizeof(buf) - 1 ? size : sizeof(buf) - 1), (const char *)data);
	memset(&e, 0, sizeof(e));
	(void)proc_parse_stat(buf, &e);
	return 0;
}
