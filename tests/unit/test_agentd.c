/*
 * test_agentd.c - custos-agentd's own parts, without a server: the
 * configuration (log_dirs, bad values), the token file's rules (group,
 * world, owner), state_dir creation, the result encoding (invalid UTF-8 in
 * output and perfdata repaired, a NaN value sent as null), and the spool:
 * a 403 naming one check drops that check's results only, in order; and
 * for --wrap the output ring (the last bytes kept across every wrap-around,
 * cut on a character boundary, within the report's limit with a note) and
 * the heartbeat spool (one private file a report, bounded by spool_max).
 */
#include "config.h"
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agentd.h"
#include "log.h"
#include "utf8.h"

static char tmpdir[] = "/tmp/custos-test-agentd-XXXXXX";

static void
write_file(const char *path, const char *text, mode_t mode)
{
	FILE *fp = fopen(path, "w");

	assert_non_null(fp);
	fputs(text, fp);
	fclose(fp);
	assert_int_equal(chmod(path, mode), 0);
}

/* ---- configuration --------------------------------------------------------- */

static void
test_config(void **state)
{
	struct agent_conf cf;
	char path[600], err[1024];

	(void)state;
	conf_defaults(&cf);
	assert_string_equal(cf.log_dirs, "/var/log");
	assert_string_equal(cf.state_dir, "/var/lib/custos-agentd");
	snprintf(path, sizeof(path), "%s/agentd.conf", tmpdir);
	write_file(path, "server = http://127.0.0.1:1\nlog_dirs = /var/log /srv/app/logs\n", 0600);
	assert_int_equal(agent_conf_load(path, &cf, err, sizeof(err)), 0);
	assert_string_equal(cf.log_dirs, "/var/log /srv/app/logs");
	/* a relative directory stops start-up, naming the file and the key */
	write_file(path, "log_dirs = /var/log logs\n", 0600);
	assert_int_equal(agent_conf_load(path, &cf, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "agentd.conf: log_dirs: \"logs\" is not an absolute path"));
	assert_string_equal(cf.log_dirs, "/var/log /srv/app/logs");   /* unchanged */
	write_file(path, "log_dir = /var/log\n", 0600);
	assert_int_equal(agent_conf_load(path, &cf, err, sizeof(err)), -1);
	assert_non_null(strstr(err, ":1:"));
	write_file(path, "timeout_s = 0\n", 0600);
	assert_int_equal(agent_conf_load(path, &cf, err, sizeof(err)), -1);
	assert_int_equal(cf.timeout_s, 10);
	unlink(path);
	agent_conf_free(&cf);
}

static void
test_token_file(void **state)
{
	char path[600], err[1024];
	char *tok;

	(void)state;
	snprintf(path, sizeof(path), "%s/token", tmpdir);
	write_file(path, "  abc123\n", 0600);
	tok = token_read(path, err, sizeof(err));
	assert_non_null(tok);
	assert_string_equal(tok, "abc123");
	free(tok);
	write_file(path, "abc123\n", 0400);
	tok = token_read(path, err, sizeof(err));
	assert_non_null(tok);
	free(tok);
	/* group bits: refused, with the chmod to run */
	write_file(path, "abc123\n", 0640);
	assert_null(token_read(path, err, sizeof(err)));
	assert_non_null(strstr(err, "its group"));
	assert_non_null(strstr(err, "run chmod 600"));
	write_file(path, "abc123\n", 0620);
	assert_null(token_read(path, err, sizeof(err)));
	assert_non_null(strstr(err, "run chmod 600"));
	write_file(path, "abc123\n", 0604);
	assert_null(token_read(path, err, sizeof(err)));
	assert_non_null(strstr(err, "everyone"));
	/* another owner: refused, with the chown to run */
	write_file(path, "abc123\n", 0600);
	if (geteuid() == 0) {
		assert_int_equal(chown(path, 65534, 65534), 0);
		assert_null(token_read(path, err, sizeof(err)));
		assert_non_null(strstr(err, "is owned by uid 65534"));
		assert_non_null(strstr(err, "run chown root"));
	}
	/* not a regular file, empty */
	assert_null(token_read(tmpdir, err, sizeof(err)));
	assert_non_null(strstr(err, "not a regular file"));
	unlink(path);
	write_file(path, "\n\n", 0600);
	assert_null(token_read(path, err, sizeof(err)));
	assert_non_null(strstr(err, "holds no token"));
	unlink(path);
}

static void
test_state_dir(void **state)
{
	char dir[600], file[600], err[1024];
	struct stat st;

	(void)state;
	snprintf(dir, sizeof(dir), "%s/var/lib/custos-agentd", tmpdir);
	assert_int_equal(state_dir_ready(dir, err, sizeof(err)), 0);
	assert_int_equal(stat(dir, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0700);
	assert_int_equal(state_dir_ready(dir, err, sizeof(err)), 0);   /* exists: fine */
	snprintf(file, sizeof(file), "%s/plainfile", tmpdir);
	write_file(file, "x", 0600);
	assert_int_equal(state_dir_ready(file, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "is not a directory"));
	assert_int_equal(state_dir_ready("relative/dir", err, sizeof(err)), -1);
	assert_non_null(strstr(err, "absolute path"));
	unlink(file);
	rmdir(dir);
	snprintf(dir, sizeof(dir), "%s/var/lib", tmpdir);
	rmdir(dir);
	snprintf(dir, sizeof(dir), "%s/var", tmpdir);
	rmdir(dir);
}

/* ---- result encoding ------------------------------------------------------- */

static void
test_result_json(void **state)
{
	struct agent a;
	struct check_result r;
	json_t *o, *back;
	char *text;

	(void)state;
	agent_init(&a);
	memset(&r, 0, sizeof(r));
	r.status = CHECK_CRITICAL;
	r.output = strdup("LOG CRITICAL - 1 line, last: temp\351rature \377high");
	r.perfdata = strdup("'temp\351'=21 ok=1");
	r.has_value = 1;
	r.value = 1;
	o = result_json(&a, 17, &r, 1700000000000000LL, 1);
	assert_non_null(o);
	text = json_dumps(o, JSON_COMPACT);
	assert_non_null(text);
	back = json_loads(text, 0, NULL);
	assert_non_null(back);
	assert_string_equal(json_string_value(json_object_get(back, "output")),
	    "LOG CRITICAL - 1 line, last: temp\xef\xbf\xbdrature \xef\xbf\xbdhigh");
	assert_string_equal(json_string_value(json_object_get(back, "perfdata")),
	    "'temp\xef\xbf\xbd'=21 ok=1");
	assert_int_equal(json_integer_value(json_object_get(back, "check_id")), 17);
	assert_int_equal(json_integer_value(json_object_get(back, "status")), 2);
	assert_true(json_is_string(json_object_get(back, "result_id")));
	assert_string_equal(json_string_value(json_object_get(back, "observed_at")),
	    "2023-11-14T22:13:20Z");
	json_decref(back);
	free(text);
	json_decref(o);
	/* a value no JSON can carry goes as null; the result still goes */
	r.value = NAN;
	o = result_json(&a, 17, &r, 1700000000000000LL, 1);
	assert_non_null(o);
	assert_true(json_is_null(json_object_get(o, "value")));
	json_decref(o);
	/* valid UTF-8 goes through untouched; no perfdata is null */
	free(r.output);
	free(r.perfdata);
	r.output = strdup("caf\xc3\xa9 OK");
	r.perfdata = NULL;
	o = result_json(&a, 18, &r, 0, 0);
	assert_string_equal(json_string_value(json_object_get(o, "output")), "caf\xc3\xa9 OK");
	assert_true(json_is_null(json_object_get(o, "perfdata")));
	assert_null(json_object_get(o, "check_id"));   /* --local: no ids */
	json_decref(o);
	check_result_free(&r);
	agent_free(&a);
}

/* ---- spool ----------------------------------------------------------------- */

static void
push(struct lines *l, long long check_id, int n)
{
	char buf[128];

	snprintf(buf, sizeof(buf), "{\"check_id\":%lld,\"status\":0,\"output\":\"r%d\","
	    "\"result_id\":\"x-%d\"}", check_id, n, n);
	assert_int_equal(lines_push(l, strdup(buf)), 0);
}

static long long
cid(const struct lines *l, size_t i)
{
	json_t *j = json_loads(l->v[i], 0, NULL);
	long long v = json_integer_value(json_object_get(j, "check_id"));

	json_decref(j);
	return v;
}

static void
test_spool_403(void **state)
{
	struct lines l = { NULL, 0, 0 }, back = { NULL, 0, 0 };
	json_t *ids;
	char err[512];

	(void)state;
	push(&l, 17, 1);
	push(&l, 18, 2);
	push(&l, 17, 3);
	push(&l, 19, 4);
	push(&l, 17, 5);
	/* the 403 names check 17: only its results go, inside the batch [0, 4) */
	ids = json_loads("[17]", 0, NULL);
	assert_int_equal(lines_drop_checks(&l, 0, 4, ids), 2);
	assert_int_equal(l.n, 3);
	assert_int_equal(cid(&l, 0), 18);
	assert_int_equal(cid(&l, 1), 19);
	assert_int_equal(cid(&l, 2), 17);   /* outside the batch: kept for its own answer */
	json_decref(ids);
	/* an answer naming no check of the batch drops nothing */
	ids = json_loads("[99]", 0, NULL);
	assert_int_equal(lines_drop_checks(&l, 0, l.n, ids), 0);
	json_decref(ids);
	ids = json_loads("{\"check_ids\": \"x\"}", 0, NULL);
	assert_int_equal(lines_drop_checks(&l, 0, l.n, json_object_get(ids, "check_ids")), 0);
	json_decref(ids);
	assert_int_equal(lines_drop_checks(&l, 0, l.n, NULL), 0);
	assert_int_equal(l.n, 3);
	/* what is left is spooled and read back in order */
	assert_int_equal(spool_store(tmpdir, &l, 0, 100, err, sizeof(err)), 0);
	assert_int_equal(spool_load(tmpdir, &back, err, sizeof(err)), 0);
	assert_int_equal(back.n, 3);
	assert_string_equal(back.v[0], l.v[0]);
	assert_string_equal(back.v[2], l.v[2]);
	lines_free(&back);
	/* spool_max keeps the newest */
	assert_int_equal(spool_store(tmpdir, &l, 0, 2, err, sizeof(err)), 0);
	assert_int_equal(spool_load(tmpdir, &back, err, sizeof(err)), 0);
	assert_int_equal(back.n, 2);
	assert_string_equal(back.v[1], l.v[2]);
	lines_free(&back);
	/* everything delivered: the spool file goes */
	assert_int_equal(spool_store(tmpdir, &l, l.n, 100, err, sizeof(err)), 0);
	assert_int_equal(spool_load(tmpdir, &back, err, sizeof(err)), 0);
	assert_int_equal(back.n, 0);
	lines_free(&back);
	lines_free(&l);
}

/* ---- --wrap: the output ring and the heartbeat spool ------------------------ */

static void
test_tail(void **state)
{
	static struct tail t;
	static char ref[25000];
	const char *euro = "\xe2\x82\xac";
	char *s, *body;
	size_t i, hl;

	(void)state;
	memset(&t, 0, sizeof(t));
	s = tail_text(&t, NULL, HB_OUTPUT_MAX);
	assert_string_equal(s, "");
	free(s);
	tail_add(&t, "abc", 3);
	tail_add(&t, "def\n", 4);
	s = tail_text(&t, NULL, HB_OUTPUT_MAX);
	assert_string_equal(s, "abcdef\n");   /* nothing cut: no header */
	free(s);
	s = tail_text(&t, "note\n", HB_OUTPUT_MAX);
	assert_string_equal(s, "abcdef\nnote\n");
	free(s);

	/* chunks that wrap the ring at every offset keep exactly the last bytes */
	memset(&t, 0, sizeof(t));
	for (i = 0; i < sizeof(ref); i++)
		ref[i] = (char)('a' + i % 26);
	for (i = 0; i < sizeof(ref); i += 7)
		tail_add(&t, ref + i, i + 7 <= sizeof(ref) ? 7 : sizeof(ref) - i);
	assert_int_equal(t.total, sizeof(ref));
	assert_int_equal(t.len, HB_OUTPUT_MAX);
	s = tail_text(&t, NULL, 2 * HB_OUTPUT_MAX);
	assert_non_null(strstr(s, "[25000 bytes of output; the last ones follow]\n"));
	body = strchr(s, '\n') + 1;
	assert_int_equal(strlen(body), HB_OUTPUT_MAX);
	assert_memory_equal(body, ref + sizeof(ref) - HB_OUTPUT_MAX, HB_OUTPUT_MAX);
	free(s);
	/* at the report's limit the header and a note fit, the front gives way */
	s = tail_text(&t, "\ncustos-agentd: timed out\n", HB_OUTPUT_MAX);
	assert_true(strlen(s) <= HB_OUTPUT_MAX);
	assert_true(strlen(s) >= HB_OUTPUT_MAX - 3);
	assert_non_null(strstr(s, "bytes of output"));
	hl = strlen(s) - strlen("\ncustos-agentd: timed out\n");
	assert_string_equal(s + hl, "\ncustos-agentd: timed out\n");
	assert_memory_equal(s + hl - 10, ref + sizeof(ref) - 10, 10);
	free(s);
	/* one write larger than the ring */
	memset(&t, 0, sizeof(t));
	tail_add(&t, ref, 15000);
	assert_int_equal(t.len, HB_OUTPUT_MAX);
	s = tail_text(&t, NULL, 2 * HB_OUTPUT_MAX);
	body = strchr(s, '\n') + 1;
	assert_memory_equal(body, ref + 5000, HB_OUTPUT_MAX);
	free(s);

	/* a cut inside a character starts at the next one: no U+FFFD */
	memset(&t, 0, sizeof(t));
	for (i = 0; i < 4000; i++)
		tail_add(&t, euro, 3);
	s = tail_text(&t, NULL, 2 * HB_OUTPUT_MAX);
	assert_null(strstr(s, UTF8_REPLACEMENT));
	body = strchr(s, '\n') + 1;
	assert_int_equal(strlen(body), 9999);   /* 10000 kept, one continuation byte dropped */
	assert_memory_equal(body, euro, 3);
	assert_true(utf8_valid(s, strlen(s)));
	free(s);
	/* and so does a cut to the limit */
	s = tail_text(&t, "x\n", 5000);
	assert_true(strlen(s) <= 5000);
	assert_true(utf8_valid(s, strlen(s)));
	assert_null(strstr(s, UTF8_REPLACEMENT));
	free(s);

	/* invalid bytes are repaired, NUL becomes a space */
	memset(&t, 0, sizeof(t));
	tail_add(&t, "a\xff" "b\0c", 5);
	s = tail_text(&t, NULL, HB_OUTPUT_MAX);
	assert_string_equal(s, "a" UTF8_REPLACEMENT "b c");
	free(s);
	/* a note longer than the limit is cut itself */
	s = tail_text(&t, "0123456789abcdef", 10);
	assert_true(strlen(s) <= 10);
	free(s);
}

/* Counts the report files in dir; with rm, removes every file and dir. */
static int
count_files(const char *dir, int rm)
{
	char path[900];
	struct dirent *e;
	DIR *d = opendir(dir);
	int n = 0;

	assert_non_null(d);
	while ((e = readdir(d)) != NULL) {
		size_t len = strlen(e->d_name);

		if (e->d_name[0] == '.')
			continue;
		n += len > 5 && strcmp(e->d_name + len - 5, ".json") == 0;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		if (rm)
			unlink(path);
	}
	closedir(d);
	if (rm)
		rmdir(dir);
	return n;
}

static void
test_hb_spool(void **state)
{
	char err[512], dir[600];
	json_t *r[3], *bad;
	int i;
	struct stat st;

	(void)state;
	snprintf(dir, sizeof(dir), "%s/heartbeats", tmpdir);
	for (i = 0; i < 3; i++) {
		r[i] = hb_report_new(i == 0 ? HB_START : HB_EXIT, 1796000000000000LL + i * 1000000LL);
		assert_non_null(r[i]);
		assert_int_equal(strlen(json_string_value(json_object_get(r[i], "id"))), HB_ID_LEN);
		assert_string_equal(json_string_value(json_object_get(r[i], "kind")),
		    i == 0 ? "start" : "exit");
	}
	assert_string_not_equal(json_string_value(json_object_get(r[0], "id")),
	    json_string_value(json_object_get(r[1], "id")));
	assert_int_equal(hb_spool_add(tmpdir, "backup", r[0], 2, err, sizeof(err)), 0);
	assert_int_equal(stat(dir, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0700);
	assert_int_equal(hb_spool_add(tmpdir, "backup", r[1], 2, err, sizeof(err)), 0);
	assert_int_equal(count_files(dir, 0), 2);
	/* spool_max: the oldest goes */
	assert_int_equal(hb_spool_add(tmpdir, "backup", r[2], 2, err, sizeof(err)), 0);
	assert_int_equal(count_files(dir, 0), 2);
	/* a report without a proper id is refused, nothing written */
	bad = json_pack("{s:s,s:s,s:s}", "kind", "exit", "at", "2026-12-06T00:00:00Z",
	    "id", "../../etc/x");
	assert_int_equal(hb_spool_add(tmpdir, "backup", bad, 10, err, sizeof(err)), -1);
	assert_int_equal(count_files(dir, 0), 2);
	json_decref(bad);
	assert_int_equal(hb_spool_add(tmpdir, "backup", r[2], 0, err, sizeof(err)), -1);
	for (i = 0; i < 3; i++)
		json_decref(r[i]);
	assert_int_equal(count_files(dir, 1), 2);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_config),
		cmocka_unit_test(test_token_file),
		cmocka_unit_test(test_state_dir),
		cmocka_unit_test(test_result_json),
		cmocka_unit_test(test_spool_403),
		cmocka_unit_test(test_tail),
		cmocka_unit_test(test_hb_spool),
	};
	int rc;

	log_init("test_agentd", LOG_LVL_ERROR);
	if (mkdtemp(tmpdir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	rc = cmocka_run_group_tests_name("agentd", tests, NULL, NULL);
	rmdir(tmpdir);
	return rc;
}
