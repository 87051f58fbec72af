/*
 * test_checks.c - the check library over fixture /proc trees
 * (tests/fixtures/proc/) and fixture plugins (tests/fixtures/plugins/):
 * odd comms, vanished pids, zombies, no swap, zero-length files, counter
 * wrap, the plugin runner's limits, validation for the server.
 */
#include "config.h"
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <ftw.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "proc.h"
#include "procfs.h"
#include "samples.h"
#include "timeutil.h"

static char srcdir[512];
static char tmpdir[] = "/tmp/custos-test-checks-XXXXXX";

/* nftw(): removes each entry, the directory itself last */
static int
rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	remove(path);
	return 0;
}

static void
fixture(char *out, size_t size, const char *rel)
{
	snprintf(out, size, "%s/tests/fixtures/%s", srcdir, rel);
}

struct run {
	struct check_env env;
	char root[600];
	char plugins[600];
	struct check_def d;
	struct check_result r;
};

/* Runs a check given as JSON text over the fixture proc tree "tree". */
static void
run_json(struct run *t, const char *tree, const char *json)
{
	json_error_t je;
	json_t *j = json_loads(json, 0, &je);
	char err[256];
	const char *field = NULL;
	struct check_def *dp = &t->d;

	if (j == NULL)
		fail_msg("bad test JSON %s: %s", json, je.text);
	if (t->env.timeout_ms == 0)
		check_env_init(&t->env);   /* first use of a zeroed run */
	fixture(t->root, sizeof(t->root), tree);
	fixture(t->plugins, sizeof(t->plugins), "plugins");
	t->env.proc_root = t->root;
	t->env.plugin_dir = t->plugins;
	t->env.state_dir = tmpdir;
	t->env.log_dirs = tmpdir;
	t->env.first_sample_ms = 0;
	t->env.kill_grace_ms = 300;
	if (check_def_from_json(j, &t->d, err, sizeof(err), &field) < 0)
		fail_msg("definition %s refused: %s", json, err);
	json_decref(j);
	check_env_begin_run(&t->env, &dp, 1);
	check_run(&t->d, &t->env, &t->r);
}

static void
done(struct run *t)
{
	check_result_free(&t->r);
	check_def_free(&t->d);
	check_env_end_run(&t->env);
}

static void
free_run(struct run *t)
{
	done(t);
	check_env_free(&t->env);
}

/* ---- status table, validation -------------------------------------------- */

static void
test_status_names(void **state)
{
	(void)state;
	assert_string_equal(check_status_name(CHECK_OK), "OK");
	assert_string_equal(check_status_name(CHECK_WARNING), "WARNING");
	assert_string_equal(check_status_name(CHECK_CRITICAL), "CRITICAL");
	assert_string_equal(check_status_name(CHECK_UNKNOWN), "UNKNOWN");
	assert_string_equal(check_status_name(7), "UNKNOWN");
	assert_string_equal(check_status_name(-1), "UNKNOWN");
}

static void
expect_invalid(const char *type, const char *params, const char *want_field)
{
	json_t *p = params ? json_loads(params, JSON_DECODE_ANY, NULL) : NULL;
	const char *field = NULL;
	char err[256] = "";

	if (params && p == NULL)
		fail_msg("bad test JSON %s", params);
	if (check_validate(type, p, err, sizeof(err), &field) == 0)
		fail_msg("%s %s validated", type, params ? params : "null");
	assert_true(err[0] != '\0');
	if (field == NULL || strcmp(field, want_field) != 0)
		fail_msg("%s %s: field %s, wanted %s (%s)", type, params, field ? field : "NULL",
		    want_field, err);
	json_decref(p);
}

static void
expect_valid(const char *type, const char *params)
{
	json_t *p = params ? json_loads(params, 0, NULL) : NULL;
	const char *field = NULL;
	char err[256] = "";

	if (check_validate(type, p, err, sizeof(err), &field) != 0)
		fail_msg("%s %s refused: %s", type, params ? params : "null", err);
	json_decref(p);
}

static void
test_validate(void **state)
{
	(void)state;
	expect_valid("load", NULL);
	expect_valid("load", "{\"period\": 15}");
	expect_valid("cpu", "{}");
	expect_valid("memory", NULL);
	expect_valid("swap", NULL);
	expect_valid("disk", "{\"path\": \"/\", \"inodes\": true}");
	expect_valid("net", "{\"iface\": \"eth0\", \"metric\": \"errors_per_s\"}");
	expect_valid("process", "{\"name\": \"sshd\", \"user\": \"root\"}");
	expect_valid("process", "{\"cmdline\": \"^/usr/sbin/(sshd|dropbear)\"}");
	expect_valid("process", "{\"pidfile\": \"/run/sshd.pid\"}");
	expect_valid("tcp", "{\"host\": \"db\", \"port\": 5432, \"timeout_ms\": 500}");
	expect_valid("http", "{\"url\": \"https://x/\", \"expect_status\": 301, \"contains\": \"ok\"}");
	expect_valid("log", "{\"path\": \"/var/log/syslog\", \"pattern\": \"error|fail\"}");
	expect_valid("plugin", "{\"command\": \"check_ntp_time\", \"args\": [\"-H\", \"pool\"]}");

	expect_invalid("nosuch", NULL, "type");
	expect_invalid(NULL, NULL, "type");
	expect_invalid("load", "[1]", "params");
	expect_invalid("load", "{\"period\": 2}", "period");
	expect_invalid("load", "{\"period\": \"5\"}", "period");
	expect_invalid("load", "{\"perod\": 5}", "params");
	expect_invalid("cpu", "{\"x\": 1}", "params");
	expect_invalid("disk", "{}", "path");
	expect_invalid("disk", "{\"path\": \"relative\"}", "path");
	expect_invalid("disk", "{\"path\": \"/\", \"inodes\": 1}", "inodes");
	expect_invalid("net", "{\"iface\": \"eth0\"}", "metric");
	expect_invalid("net", "{\"iface\": \"eth0\", \"metric\": \"rx\"}", "metric");
	expect_invalid("net", "{\"iface\": \"a/b\", \"metric\": \"errors_per_s\"}", "iface");
	expect_invalid("process", "{}", "name");
	expect_invalid("process", "{\"cmdline\": \"(unclosed\"}", "cmdline");
	expect_invalid("process", "{\"name\": \"\"}", "name");
	expect_invalid("process", "{\"pidfile\": \"x.pid\"}", "pidfile");
	expect_invalid("tcp", "{\"host\": \"h\"}", "port");
	expect_invalid("tcp", "{\"host\": \"h\", \"port\": 70000}", "port");
	expect_invalid("tcp", "{\"port\": 22}", "host");
	expect_invalid("http", "{\"url\": \"ftp://x/\"}", "url");
	expect_invalid("http", "{\"url\": \"http://x/\", \"expect_status\": 99}", "expect_status");
	expect_invalid("log", "{\"path\": \"/x\"}", "pattern");
	expect_invalid("log", "{\"path\": \"/x\", \"pattern\": \"[\"}", "pattern");
	expect_invalid("plugin", "{}", "command");
	expect_invalid("plugin", "{\"command\": \"../bin/sh\"}", "command");
	expect_invalid("plugin", "{\"command\": \"/bin/sh\"}", "command");
	expect_invalid("plugin", "{\"command\": \"..\"}", "command");
	expect_invalid("plugin", "{\"command\": \"a..b\"}", "command");
	expect_invalid("plugin", "{\"command\": \"ok.sh\", \"args\": \"-w 5\"}", "args");
	expect_invalid("plugin", "{\"command\": \"ok.sh\", \"args\": [5]}", "args");
}

static void
test_def_from_json(void **state)
{
	struct check_def d;
	char err[256];
	const char *field = NULL;
	json_t *j;

	(void)state;
	j = json_loads("{\"id\": 7, \"name\": \"sshd\", \"type\": \"process\","
	    "\"params\": {\"name\": \"sshd\"}, \"warning\": null, \"critical\": null}", 0, NULL);
	assert_int_equal(check_def_from_json(j, &d, err, sizeof(err), &field), 0);
	assert_int_equal(d.id, 7);
	assert_string_equal(d.name, "sshd");
	/* process checks default to critical 1: */
	assert_true(d.has_crit);
	assert_string_equal(d.critical, "1:");
	check_def_free(&d);
	json_decref(j);

	j = json_loads("{\"type\": \"load\", \"critical\": \"10:5\"}", 0, NULL);
	assert_int_equal(check_def_from_json(j, &d, err, sizeof(err), &field), -1);
	assert_string_equal(field, "critical");
	json_decref(j);
	j = json_loads("{\"type\": \"load\", \"warning\": 5}", 0, NULL);
	assert_int_equal(check_def_from_json(j, &d, err, sizeof(err), &field), -1);
	assert_string_equal(field, "warning");
	json_decref(j);
	j = json_loads("{\"type\": \"load\", \"id\": \"x\"}", 0, NULL);
	assert_int_equal(check_def_from_json(j, &d, err, sizeof(err), &field), -1);
	assert_string_equal(field, "id");
	json_decref(j);
	j = json_loads("[]", 0, NULL);
	assert_int_equal(check_def_from_json(j, &d, err, sizeof(err), &field), -1);
	json_decref(j);
}

/* ---- /proc checks ------------------------------------------------------- */

static void
test_load(void **state)
{
	struct run t;

	(void)state;
	memset(&t, 0, sizeof(t));
	run_json(&t, "proc/basic", "{\"type\": \"load\", \"warning\": \"5\", \"critical\": \"10\"}");
	assert_int_equal(t.r.status, CHECK_OK);
	assert_true(t.r.has_value && t.r.value == 1.32);
	assert_string_equal(t.r.output, "LOAD OK - 1.32 (warn 5, crit 10)");
	assert_string_equal(t.r.perfdata, "load1=1.32;5;10;0;");
	assert_true(t.r.duration_ms >= 0);
	done(&t);
	run_json(&t, "proc/basic", "{\"type\": \"load\", \"params\": {\"period\": 15}, \"warning\": \"0.3\"}");
	assert_int_equal(t.r.status, CHECK_WARNING);
	assert_true(t.r.value == 0.40);
	assert_string_equal(t.r.output, "LOAD WARNING - 0.40 (warn 0.3)");
	done(&t);
	run_json(&t, "proc/basic", "{\"type\": \"load\", \"params\": {\"period\": 5}, \"critical\": \"@0.5:1\"}");
	assert_int_equal(t.r.status, CHECK_CRITICAL);
	done(&t);
	/* zero-length /proc file */
	run_json(&t, "proc/empty", "{\"type\": \"load\"}");
	assert_int_equal(t.r.status, CHECK_UNKNOWN);
	assert_false(t.r.has_value);
	assert_null(t.r.perfdata);
	assert_non_null(strstr(t.r.output, "cannot parse"));
	done(&t);
	/* missing proc root */
	run_json(&t, "proc/nonexistent", "{\"type\": \"load\"}");
	assert_int_equal(t.r.status, CHECK_UNKNOWN);
	assert_non_null(strstr(t.r.output, "No such file"));
	free_run(&t);
}

static void
test_memory_swap(void **state)
{
	struct run t;

	(void)state;
	memset(&t, 0, sizeof(t));
	run_json(&t, "proc/basic", "{\"type\": \"memory\", \"warning\": \"70\", \"critical\": \"90\"}");
	assert_int_equal(t.r.status, CHECK_WARNING);   /* (1000000-250000)/1000000 = 75% */
	assert_true(t.r.value > 74.99 && t.r.value < 75.01);
	assert_non_null(strstr(t.r.output, "MEMORY WARNING - 75.0% used"));
	done(&t);
	/* an old kernel without MemAvailable: free + buffers + cached */
	run_json(&t, "proc/swap", "{\"type\": \"memory\"}");
	assert_true(t.r.value > 49.99 && t.r.value < 50.01);
	done(&t);
	/* no swap: OK, no value, and it says so */
	run_json(&t, "proc/basic", "{\"type\": \"swap\", \"critical\": \"@0:100\"}");
	assert_int_equal(t.r.status, CHECK_OK);
	assert_false(t.r.has_value);
	assert_string_equal(t.r.output, "SWAP OK - no swap configured");
	done(&t);
	run_json(&t, "proc/swap", "{\"type\": \"swap\", \"warning\": \"50\", \"critical\": \"80\"}");
	assert_int_equal(t.r.status, CHECK_WARNING);
	assert_true(t.r.value > 74.99 && t.r.value < 75.01);
	assert_string_equal(t.r.perfdata, "swap_used=75.0%;50;80;0;100");
	done(&t);
	run_json(&t, "proc/empty", "{\"type\": \"memory\"}");
	assert_int_equal(t.r.status, CHECK_UNKNOWN);
	assert_non_null(strstr(t.r.output, "no MemTotal"));
	done(&t);
	run_json(&t, "proc/empty", "{\"type\": \"swap\"}");
	assert_int_equal(t.r.status, CHECK_UNKNOWN);
	free_run(&t);
}

static void
test_cpu_wrap(void **state)
{
	struct run t;
	uint64_t prev[8] = { 4294967290ULL, 0, 40, 4294967000ULL, 50, 0, 0, 0 };
	uint64_t big[8] = { 1ULL << 40, 0, 0, 1ULL << 40, 0, 0, 0, 0 };

	(void)state;
	memset(&t, 0, sizeof(t));
	/* first run: no sample, a window of 0 ms over an unchanged file: 0% */
	run_json(&t, "proc/basic", "{\"type\": \"cpu\"}");
	assert_int_equal(t.r.status, CHECK_OK);
	assert_true(t.r.value == 0);
	assert_non_null(sample_get(t.env.samples, "cpu"));
	done(&t);
	/* 32-bit wrap: user 4294967290 -> 100 is +106, idle +1096 */
	sample_put(t.env.samples, "cpu", time_now_us() / 1000 - 1000, prev, 8);
	run_json(&t, "proc/basic", "{\"type\": \"cpu\", \"warning\": \"5\"}");
	assert_int_equal(t.r.status, CHECK_WARNING);
	assert_true(t.r.value > 9.56 && t.r.value < 9.58);   /* 116 / 1212 */
	assert_string_equal(t.r.output, "CPU WARNING - 9.6% busy (warn 5)");
	done(&t);
	/* a 64-bit counter going down is a reset (reboot): sample afresh */
	sample_put(t.env.samples, "cpu", time_now_us() / 1000 - 1000, big, 8);
	run_json(&t, "proc/reset", "{\"type\": \"cpu\"}");
	assert_int_equal(t.r.status, CHECK_OK);
	assert_true(t.r.value == 0);
	assert_int_equal(sample_get(t.env.samples, "cpu")->v[0], 10);
	done(&t);
	run_json(&t, "proc/empty", "{\"type\": \"cpu\"}");
	assert_int_equal(t.r.status, CHECK_UNKNOWN);
	free_run(&t);
}

static void
test_counter_delta(void **state)
{
	int reset = 0;

	(void)state;
	assert_int_equal(counter_delta(10, 5, &reset), 5);
	assert_int_equal(counter_delta(5, 0xfffffffbULL, &reset), 10);
	assert_int_equal(reset, 0);
	assert_int_equal(counter_delta(5, 1ULL << 33, &reset), 0);
	assert_int_equal(reset, 1);
}

static void
test_net(void **state)
{
	struct run t;
	uint64_t prev[4] = { 4000000, 1000000, 1, 0 };

	(void)state;
	memset(&t, 0, sizeof(t));
	run_json(&t, "proc/basic", "{\"type\": \"net\", \"params\": {\"iface\": \"eth0\", \"metric\": \"rx_bytes_per_s\"}}");
	assert_int_equal(t.r.status, CHECK_OK);
	assert_true(t.r.value == 0);
	done(&t);
	sample_put(t.env.samples, "net:eth0", time_now_us() / 1000 - 10000, prev, 4);
	run_json(&t, "proc/basic", "{\"type\": \"net\", \"params\": {\"iface\": \"eth0\", \"metric\": \"rx_bytes_per_s\"},"
	    "\"warning\": \"50000\"}");
	assert_int_equal(t.r.status, CHECK_WARNING);
	assert_true(t.r.value > 99000 && t.r.value < 100100);   /* 1e6 B over 10 s */
	done(&t);
	sample_put(t.env.samples, "net:eth0", time_now_us() / 1000 - 10000, prev, 4);
	run_json(&t, "proc/basic", "{\"type\": \"net\", \"params\": {\"iface\": \"eth0\", \"metric\": \"errors_per_s\"}}");
	assert_true(t.r.value > 0.39 && t.r.value < 0.41);   /* (3-1)+(2-0) over 10 s */
	done(&t);
	sample_put(t.env.samples, "net:eth0", time_now_us() / 1000 - 10000, prev, 4);
	run_json(&t, "proc/basic", "{\"type\": \"net\", \"params\": {\"iface\": \"eth0\", \"metric\": \"tx_bytes_per_s\"}}");
	assert_true(t.r.value > 99000 && t.r.value < 100100);
	done(&t);
	run_json(&t, "proc/basic", "{\"type\": \"net\", \"params\": {\"iface\": \"wlan9\", \"metric\": \"rx_bytes_per_s\"}}");
	assert_int_equal(t.r.status, CHECK_UNKNOWN);
	assert_string_equal(t.r.output, "NET UNKNOWN - no interface wlan9");
	done(&t);
	run_json(&t, "proc/empty", "{\"type\": \"net\", \"params\": {\"iface\": \"eth0\", \"metric\": \"rx_bytes_per_s\"}}");
	assert_int_equal(t.r.status, CHECK_UNKNOWN);
	free_run(&t);
}

static void
test_proc_scan_oddities(void **state)
{
	struct proc_table *pt;
	const struct proc_entry *e;
	char root[600], err[256];

	(void)state;
	fixture(root, sizeof(root), "proc/basic");
	assert_int_equal(proc_scan(root, 1, 1, 0, &pt, err, sizeof(err)), 0);
	/* 1 42 43 44 45 46 parse; 50 has no stat (vanished), 51 empty, 52 garbage */
	assert_int_equal(pt->n, 6);
	assert_int_equal(pt->vanished, 1);
	e = proc_find(pt, 42);
	assert_non_null(e);
	assert_string_equal(e->comm, "my (weird) proc");
	assert_int_equal(e->state, 'S');
	assert_int_equal(e->uid, 1000);
	assert_string_equal(e->cmdline, "/usr/bin/weird --flag");
	assert_null(proc_find(pt, 50));
	assert_null(proc_find(pt, 51));
	assert_int_equal(proc_find(pt, 44)->state, 'Z');
	proc_table_free(pt);
	/* without cmdline and uid nothing else is read */
	assert_int_equal(proc_scan(root, 0, 0, 43, &pt, err, sizeof(err)), 0);
	assert_null(proc_find(pt, 43));   /* excluded (the agent itself) */
	assert_null(proc_find(pt, 42)->cmdline);
	proc_table_free(pt);
	assert_int_equal(proc_scan("/nonexistent-proc", 0, 0, 0, &pt, err, sizeof(err)), -1);
	assert_null(pt);
}

static void
test_proc_parse_stat(void **state)
{
	struct proc_entry e;

	(void)state;
	assert_int_equal(proc_parse_stat("7 ()) R 1", &e), 0);
	assert_string_equal(e.comm, ")");
	assert_int_equal(proc_parse_stat("7 (a) b) S 1 2", &e), 0);
	assert_string_equal(e.comm, "a) b");
	assert_int_equal(e.state, 'S');
	assert_int_equal(proc_parse_stat("", &e), -1);
	assert_int_equal(proc_parse_stat("x (a) S", &e), -1);
	assert_int_equal(proc_parse_stat("7 (a", &e), -1);
	assert_int_equal(proc_parse_stat("7 (a)", &e), -1);
	assert_int_equal(proc_parse_stat("99999999999 (a) S 1", &e), -1);
}

static void
test_process(void **state)
{
	struct run t;
	char pidfile[600], json[1024];
	FILE *fp;

	(void)state;
	memset(&t, 0, sizeof(t));
	/* 43 and 45 are sshd; 44 is a zombie and does not count */
	run_json(&t, "proc/basic", "{\"type\": \"process\", \"params\": {\"name\": \"sshd\"}}");
	assert_int_equal(t.r.status, CHECK_OK);
	assert_true(t.r.value == 2);
	assert_string_equal(t.r.output, "PROCS OK - 2 processes named 'sshd' (crit 1:)");
	assert_string_equal(t.r.perfdata, "procs=2;;1:;0;");
	done(&t);
	run_json(&t, "proc/basic", "{\"type\": \"process\", \"params\": {\"name\": \"sshd\", \"user\": \"1000\"}}");
	assert_true(t.r.value == 1);
	done(&t);
	run_json(&t, "proc/basic", "{\"type\": \"process\", \"params\": {\"name\": \"sshd\", \"user\": \"root\"}}");
	assert_true(t.r.value == 1);
	done(&t);
	run_json(&t, "proc/basic", "{\"type\": \"process\", \"params\": {\"name\": \"sshd\", \"user\": \"no-such-user-x\"}}");
	assert_int_equal(t.r.status, CHECK_UNKNOWN);
	done(&t);
	/* comm with spaces and parentheses */
	run_json(&t, "proc/basic", "{\"type\": \"process\", \"params\": {\"name\": \"my (weird) proc\"}}");
	assert_true(t.r.value == 1);
	done(&t);
	/* a prefix of a comm is not a match */
	run_json(&t, "proc/basic", "{\"type\": \"process\", \"params\": {\"name\": \"ssh\"}}");
	assert_int_equal(t.r.status, CHECK_CRITICAL);
	assert_true(t.r.value == 0);
	done(&t);
	/* cmdline ERE; kernel threads have no command line */
	run_json(&t, "proc/basic", "{\"type\": \"process\", \"params\": {\"cmdline\": \"^sshd: [a-z]+ \\\\[priv\\\\]$\"}}");
	assert_true(t.r.value == 1);
	done(&t);
	run_json(&t, "proc/basic", "{\"type\": \"process\", \"params\": {\"cmdline\": \".*\"}, \"warning\": \"5\"}");
	assert_true(t.r.value == 4);   /* 1 42 43 45 */
	done(&t);
	run_json(&t, "proc/basic", "{\"type\": \"process\", \"params\": {\"cmdline\": \"sshd\", \"name\": \"sshd\"}, \"critical\": \"2:2\"}");
	assert_int_equal(t.r.status, CHECK_OK);
	done(&t);
	/* pidfile */
	snprintf(pidfile, sizeof(pidfile), "%s/sshd.pid", tmpdir);
	fp = fopen(pidfile, "w");
	assert_non_null(fp);
	fputs("43\n", fp);
	fclose(fp);
	snprintf(json, sizeof(json), "{\"type\": \"process\", \"params\": {\"pidfile\": \"%s\", \"name\": \"sshd\"}}", pidfile);
	run_json(&t, "proc/basic", json);
	assert_true(t.r.value == 1);
	done(&t);
	/* the pid alive but comm not matching */
	snprintf(json, sizeof(json), "{\"type\": \"process\", \"params\": {\"pidfile\": \"%s\", \"name\": \"init\"}}", pidfile);
	run_json(&t, "proc/basic", json);
	assert_true(t.r.value == 0);
	assert_int_equal(t.r.status, CHECK_CRITICAL);
	done(&t);
	/* a pidfile naming a zombie, a garbage pidfile, a missing one */
	fp = fopen(pidfile, "w");
	fputs("44", fp);
	fclose(fp);
	snprintf(json, sizeof(json), "{\"type\": \"process\", \"params\": {\"pidfile\": \"%s\"}}", pidfile);
	run_json(&t, "proc/basic", json);
	assert_true(t.r.value == 0);
	done(&t);
	fp = fopen(pidfile, "w");
	fputs("garbage", fp);
	fclose(fp);
	run_json(&t, "proc/basic", json);
	assert_int_equal(t.r.status, CHECK_CRITICAL);
	assert_non_null(strstr(t.r.output, "no pid"));
	done(&t);
	unlink(pidfile);
	run_json(&t, "proc/basic", json);
	assert_int_equal(t.r.status, CHECK_CRITICAL);
	assert_non_null(strstr(t.r.output, "No such file"));
	free_run(&t);
}

/* one scan per run, however many process checks */
static void
test_process_one_scan(void **state)
{
	struct run t;
	struct check_def defs[3], *dp[3];
	struct check_result r;
	struct proc_table *first;
	const char *js[3] = {
		"{\"type\": \"process\", \"params\": {\"name\": \"sshd\"}}",
		"{\"type\": \"process\", \"params\": {\"cmdline\": \"weird\"}}",
		"{\"type\": \"process\", \"params\": {\"name\": \"init\", \"user\": \"0\"}}",
	};
	char err[256];
	const char *field;
	int i;

	(void)state;
	memset(&t, 0, sizeof(t));
	check_env_init(&t.env);
	fixture(t.root, sizeof(t.root), "proc/basic");
	t.env.proc_root = t.root;
	for (i = 0; i < 3; i++) {
		json_t *j = json_loads(js[i], 0, NULL);
		assert_int_equal(check_def_from_json(j, &defs[i], err, sizeof(err), &field), 0);
		json_decref(j);
		dp[i] = &defs[i];
	}
	check_env_begin_run(&t.env, dp, 3);
	assert_true(t.env.want_cmdline && t.env.want_uid);
	check_run(&defs[0], &t.env, &r);
	first = t.env.procs;
	assert_non_null(first);
	assert_true(first->have_cmdline && first->have_uid);
	check_result_free(&r);
	for (i = 1; i < 3; i++) {
		check_run(&defs[i], &t.env, &r);
		assert_true(r.value == 1);
		assert_ptr_equal(t.env.procs, first);   /* the same scan */
		check_result_free(&r);
	}
	check_env_end_run(&t.env);
	assert_null(t.env.procs);
	for (i = 0; i < 3; i++)
		check_def_free(&defs[i]);
	check_env_free(&t.env);
}

static void
test_disk(void **state)
{
	struct run t;

	(void)state;
	memset(&t, 0, sizeof(t));
	run_json(&t, "proc/basic", "{\"type\": \"disk\", \"params\": {\"path\": \"/\"}, \"critical\": \"@0:100\"}");
	assert_int_equal(t.r.status, CHECK_CRITICAL);
	assert_true(t.r.has_value && t.r.value >= 0 && t.r.value <= 100);
	assert_true(strncmp(t.r.output, "DISK CRITICAL - / ", 18) == 0);
	done(&t);
	run_json(&t, "proc/basic", "{\"type\": \"disk\", \"params\": {\"path\": \"/\", \"inodes\": true}}");
	assert_non_null(strstr(t.r.output, "inodes"));
	done(&t);
	run_json(&t, "proc/basic", "{\"type\": \"disk\", \"params\": {\"path\": \"/no/such/dir\"}}");
	assert_int_equal(t.r.status, CHECK_UNKNOWN);
	assert_string_equal(t.r.output, "DISK UNKNOWN - /no/such/dir: No such file or directory");
	free_run(&t);
}

static void
test_tcp(void **state)
{
	struct run t;
	struct sockaddr_in sa;
	socklen_t len = sizeof(sa);
	char json[256];
	int fd, port;

	(void)state;
	memset(&t, 0, sizeof(t));
	fd = socket(AF_INET, SOCK_STREAM, 0);
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(fd, 4), 0);
	getsockname(fd, (struct sockaddr *)&sa, &len);
	port = ntohs(sa.sin_port);
	snprintf(json, sizeof(json), "{\"type\": \"tcp\", \"params\": {\"host\": \"127.0.0.1\", \"port\": %d}}", port);
	run_json(&t, "proc/basic", json);
	assert_int_equal(t.r.status, CHECK_OK);
	assert_true(t.r.has_value && t.r.value >= 0 && t.r.value < 1000);
	done(&t);
	close(fd);
	/* now refused */
	run_json(&t, "proc/basic", json);
	assert_int_equal(t.r.status, CHECK_CRITICAL);
	assert_non_null(strstr(t.r.output, "Connection refused"));
	assert_false(t.r.has_value);
	done(&t);
	run_json(&t, "proc/basic", "{\"type\": \"tcp\", \"params\": {\"host\": \"no-such-host.invalid\", \"port\": 1}}");
	assert_int_equal(t.r.status, CHECK_UNKNOWN);
	free_run(&t);
}

static void
append(const char *path, const char *text, const char *mode)
{
	FILE *fp = fopen(path, mode);

	assert_non_null(fp);
	fputs(text, fp);
	fclose(fp);
}

static void
test_log(void **state)
{
	struct run t;
	char path[600], json[1024], moved[620];

	(void)state;
	memset(&t, 0, sizeof(t));
	snprintf(path, sizeof(path), "%s/app.log", tmpdir);
	append(path, "old error 1\nold error 2\n", "w");
	snprintf(json, sizeof(json), "{\"type\": \"log\", \"params\": {\"path\": \"%s\", \"pattern\": \"err(or)?\"}}", path);
	/* first run starts at the end */
	run_json(&t, "proc/basic", json);
	assert_int_equal(t.r.status, CHECK_OK);
	assert_true(t.r.value == 0);
	assert_non_null(strstr(t.r.output, "first run"));
	done(&t);
	append(path, "fine\nnew error A\nfine\nnew error B\npartial err", "a");
	run_json(&t, "proc/basic", json);
	assert_true(t.r.value == 2);
	assert_int_equal(t.r.status, CHECK_CRITICAL);   /* default critical 0 */
	assert_non_null(strstr(t.r.output, "last: new error B"));
	done(&t);
	/* the partial line is counted once it is complete */
	append(path, "or done\n", "a");
	run_json(&t, "proc/basic", json);
	assert_true(t.r.value == 1);
	assert_non_null(strstr(t.r.output, "last: partial error done"));
	done(&t);
	run_json(&t, "proc/basic", json);
	assert_true(t.r.value == 0);
	assert_int_equal(t.r.status, CHECK_OK);
	done(&t);
	/* rotation: what the old file got since the last run (now PATH.1) is
	 * read first, then the new file under the same name from its start */
	append(path, "error before rotation\nfine\nlast words err", "a");
	snprintf(moved, sizeof(moved), "%s.1", path);
	assert_int_equal(rename(path, moved), 0);
	append(path, "error after rotation\n", "w");
	run_json(&t, "proc/basic", json);
	assert_true(t.r.value == 3);
	assert_non_null(strstr(t.r.output, "rotated"));
	assert_non_null(strstr(t.r.output, "last: error after rotation"));
	done(&t);
	/* a rotation whose old file is gone (compressed, deleted): the new file only */
	assert_int_equal(unlink(moved), 0);
	append(path, "error y\n", "a");
	run_json(&t, "proc/basic", json);
	done(&t);
	append(path, "error z\n", "a");
	assert_int_equal(rename(path, moved), 0);
	append(path, "error after the second rotation\n", "w");
	assert_int_equal(unlink(moved), 0);   /* after the new file: no inode reuse */
	run_json(&t, "proc/basic", json);
	assert_true(t.r.value == 1);
	done(&t);
	/* truncation */
	append(path, "a\nb\nc\nd\n", "a");
	run_json(&t, "proc/basic", json);
	done(&t);
	append(path, "error x\n", "w");
	run_json(&t, "proc/basic", json);
	assert_true(t.r.value == 1);
	assert_non_null(strstr(t.r.output, "truncated"));
	done(&t);
	/* the file gone: UNKNOWN, with the reason */
	unlink(path);
	run_json(&t, "proc/basic", json);
	assert_int_equal(t.r.status, CHECK_UNKNOWN);
	done(&t);
	unlink(moved);
	free_run(&t);
}

/* ---- plugins ------------------------------------------------------------- */

static void
plugin(struct run *t, const char *cmd, const char *extra)
{
	char json[512];

	snprintf(json, sizeof(json), "{\"type\": \"plugin\", \"params\": {\"command\": \"%s\"%s}}",
	    cmd, extra ? extra : "");
	run_json(t, "proc/basic", json);
}

static void
test_plugin_exit_codes(void **state)
{
	struct run t;

	(void)state;
	memset(&t, 0, sizeof(t));
	plugin(&t, "ok.sh", NULL);
	assert_int_equal(t.r.status, CHECK_OK);
	assert_string_equal(t.r.output, "FIX OK - fine");
	/* perfdata after '|' on a later line (long output) counts too */
	assert_string_equal(t.r.perfdata, "val=5;10;20;0;100 other=1s more=2");
	assert_true(t.r.has_value && t.r.value == 5);
	done(&t);
	plugin(&t, "warn.sh", NULL);
	assert_int_equal(t.r.status, CHECK_WARNING);
	assert_true(t.r.value == 15);
	done(&t);
	plugin(&t, "crit.sh", NULL);
	assert_int_equal(t.r.status, CHECK_CRITICAL);
	done(&t);
	plugin(&t, "unknown.sh", NULL);
	assert_int_equal(t.r.status, CHECK_UNKNOWN);
	assert_string_equal(t.r.output, "FIX UNKNOWN - what");
	assert_false(t.r.has_value);
	done(&t);
	plugin(&t, "exit7.sh", NULL);
	assert_int_equal(t.r.status, CHECK_UNKNOWN);
	assert_string_equal(t.r.output, "(exit7.sh exited with code 7) odd");
	done(&t);
	plugin(&t, "killed.sh", NULL);
	assert_int_equal(t.r.status, CHECK_UNKNOWN);
	assert_non_null(strstr(t.r.output, "killed by signal 9"));
	done(&t);
	plugin(&t, "stderr.sh", NULL);
	assert_int_equal(t.r.status, CHECK_CRITICAL);
	assert_string_equal(t.r.output, "(no output; stderr: it broke)");
	done(&t);
	plugin(&t, "silent.sh", NULL);
	assert_int_equal(t.r.status, CHECK_OK);
	assert_string_equal(t.r.output, "(silent.sh printed nothing)");
	done(&t);
	plugin(&t, "badperf.sh", NULL);
	assert_int_equal(t.r.status, CHECK_OK);
	assert_null(t.r.perfdata);
	assert_non_null(strstr(t.r.output, "1 bad perfdata item dropped: 'val=abc'"));
	done(&t);
	/* argv without a shell: the space stays inside one argument */
	plugin(&t, "args.sh", ", \"args\": [\"a b\", \"$HOME;ls\"]");
	assert_string_equal(t.r.output, "ARGS 2 [a b] [$HOME;ls]");
	free_run(&t);
}

static void
test_plugin_limits(void **state)
{
	struct run t;
	int64_t t0;

	(void)state;
	memset(&t, 0, sizeof(t));
	/* timeout: SIGTERM to the group */
	t0 = mono_now_ms();
	plugin(&t, "sleep.sh", ", \"timeout_ms\": 300");
	assert_int_equal(t.r.status, CHECK_CRITICAL);
	assert_string_equal(t.r.output, "PLUGIN CRITICAL - sleep.sh timed out after 300 ms");
	assert_true(mono_now_ms() - t0 < 2000);
	done(&t);
	/* ignores SIGTERM: SIGKILL after the grace (300 ms here) */
	t0 = mono_now_ms();
	plugin(&t, "stubborn.sh", ", \"timeout_ms\": 300");
	assert_int_equal(t.r.status, CHECK_CRITICAL);
	assert_true(mono_now_ms() - t0 >= 550);
	assert_true(mono_now_ms() - t0 < 3000);
	done(&t);
	/* 3 MB of output: read, capped, no hang */
	plugin(&t, "giant.sh", NULL);
	assert_int_equal(t.r.status, CHECK_OK);
	assert_true(strlen(t.r.output) <= CHECK_DETAIL_MAX);
	done(&t);
	/* a backgrounded child holding stdout does not hold the check */
	t0 = mono_now_ms();
	plugin(&t, "background.sh", NULL);
	assert_int_equal(t.r.status, CHECK_OK);
	assert_string_equal(t.r.output, "BG OK");
	assert_true(mono_now_ms() - t0 < 3000);
	done(&t);
	/* missing file, not executable */
	plugin(&t, "missing.sh", NULL);
	assert_int_equal(t.r.status, CHECK_UNKNOWN);
	assert_non_null(strstr(t.r.output, "No such file"));
	done(&t);
	plugin(&t, "notexec.sh", NULL);
	assert_int_equal(t.r.status, CHECK_UNKNOWN);
	assert_non_null(strstr(t.r.output, "not an executable"));
	free_run(&t);
}

/* a symlink in plugin_dir is trusted: that is how plugins are enabled */
static void
test_plugin_symlink(void **state)
{
	struct run t;
	char link[600], target[600];
	json_t *j;
	char err[256];
	const char *field;
	struct check_def *dp;

	(void)state;
	memset(&t, 0, sizeof(t));
	fixture(target, sizeof(target), "plugins/ok.sh");
	snprintf(link, sizeof(link), "%s/linked", tmpdir);
	unlink(link);
	assert_int_equal(symlink(target, link), 0);
	check_env_init(&t.env);
	t.env.plugin_dir = tmpdir;
	t.env.proc_root = "/proc";
	j = json_loads("{\"type\": \"plugin\", \"params\": {\"command\": \"linked\"}}", 0, NULL);
	assert_int_equal(check_def_from_json(j, &t.d, err, sizeof(err), &field), 0);
	json_decref(j);
	dp = &t.d;
	check_env_begin_run(&t.env, &dp, 1);
	check_run(&t.d, &t.env, &t.r);
	assert_int_equal(t.r.status, CHECK_OK);
	assert_string_equal(t.r.output, "FIX OK - fine");
	unlink(link);
	free_run(&t);
}

/* the real monitoring-plugins, when installed */
static void
test_plugin_monitoring_plugins(void **state)
{
	struct run t;
	json_t *j;
	char err[256];
	const char *field;

	(void)state;
	if (access("/usr/lib/nagios/plugins/check_load", X_OK) < 0)
		skip();
	memset(&t, 0, sizeof(t));
	check_env_init(&t.env);
	t.env.plugin_dir = "/usr/lib/nagios/plugins";
	j = json_loads("{\"type\": \"plugin\", \"params\": {\"command\": \"check_load\","
	    "\"args\": [\"-w\", \"1000,1000,1000\", \"-c\", \"2000,2000,2000\"]}}", 0, NULL);
	assert_int_equal(check_def_from_json(j, &t.d, err, sizeof(err), &field), 0);
	json_decref(j);
	check_run(&t.d, &t.env, &t.r);
	assert_int_equal(t.r.status, CHECK_OK);
	assert_true(strncmp(t.r.output, "LOAD OK", 7) == 0);
	assert_non_null(t.r.perfdata);
	assert_non_null(strstr(t.r.perfdata, "load1="));
	assert_true(t.r.has_value);
	free_run(&t);
}

static void
test_samples_file(void **state)
{
	struct sample_store *st = sample_store_new(), *st2 = sample_store_new();
	uint64_t v[3] = { 1, 18446744073709551615ULL, 3 };
	char err[256], path[600];
	int i;

	(void)state;
	sample_put(st, "cpu", 1000, v, 3);
	sample_put(st, "net:eth0", 2000, v, 2);
	assert_int_equal(sample_store_save(st, tmpdir, err, sizeof(err)), 0);
	assert_int_equal(sample_store_load(st2, tmpdir, err, sizeof(err)), 0);
	assert_int_equal(st2->n, 2);
	assert_true(sample_get(st2, "cpu")->v[1] == 18446744073709551615ULL);
	assert_int_equal(sample_get(st2, "net:eth0")->n, 2);
	/* bounded: the oldest key goes */
	for (i = 0; i < SAMPLE_MAX + 5; i++) {
		char key[32];
		snprintf(key, sizeof(key), "k%d", i);
		sample_put(st, key, 5000 + i, v, 1);
	}
	assert_int_equal(st->n, SAMPLE_MAX);
	assert_null(sample_get(st, "cpu"));
	/* a damaged file is refused, not half-read */
	snprintf(path, sizeof(path), "%s/samples", tmpdir);
	append(path, "cpu 1000 1 2 x\n", "w");
	sample_store_free(st2);
	st2 = sample_store_new();
	assert_int_equal(sample_store_load(st2, tmpdir, err, sizeof(err)), -1);
	assert_int_equal(st2->n, 0);
	unlink(path);
	sample_store_free(st);
	sample_store_free(st2);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_status_names),
		cmocka_unit_test(test_validate),
		cmocka_unit_test(test_def_from_json),
		cmocka_unit_test(test_load),
		cmocka_unit_test(test_memory_swap),
		cmocka_unit_test(test_cpu_wrap),
		cmocka_unit_test(test_counter_delta),
		cmocka_unit_test(test_net),
		cmocka_unit_test(test_proc_scan_oddities),
		cmocka_unit_test(test_proc_parse_stat),
		cmocka_unit_test(test_process),
		cmocka_unit_test(test_process_one_scan),
		cmocka_unit_test(test_disk),
		cmocka_unit_test(test_tcp),
		cmocka_unit_test(test_log),
		cmocka_unit_test(test_plugin_exit_codes),
		cmocka_unit_test(test_plugin_limits),
		cmocka_unit_test(test_plugin_symlink),
		cmocka_unit_test(test_plugin_monitoring_plugins),
		cmocka_unit_test(test_samples_file),
	};
	const char *s = getenv("CUSTOS_SRCDIR");
	int rc;

	snprintf(srcdir, sizeof(srcdir), "%s", s ? s : ".");
	if (mkdtemp(tmpdir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	signal(SIGPIPE, SIG_IGN);
	rc = cmocka_run_group_tests_name("checks", tests, NULL, NULL);
	/* the directory and whatever the tests left in it (state files) */
	nftw(tmpdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	return rc;
}
