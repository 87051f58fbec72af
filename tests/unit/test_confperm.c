/*
 * test_confperm.c - unit tests for lib/confperm.c: the warning for a config
 * file that holds secrets and that every user can read. cmocka, TAP out.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "confperm.h"

#define CONF_LINE_TEST 4096   /* CONF_MAX_LINE in lib/conf.c */

static const char *const secrets[] = { "smtp_password", "pushover_token", NULL };

/* Writes text to a new temporary file with mode; returns its path (static). */
static const char *
write_conf(const char *text, mode_t mode)
{
	static char path[64];
	FILE *fp;
	int fd;

	snprintf(path, sizeof(path), "/tmp/custos-confperm-XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	fp = fdopen(fd, "w");
	assert_non_null(fp);
	assert_true(fputs(text, fp) >= 0);
	assert_int_equal(fclose(fp), 0);
	assert_int_equal(chmod(path, mode), 0);
	return path;
}

static void
test_world_readable_with_password(void **state)
{
	const char *p = write_conf("listen = 127.0.0.1:8675\nsmtp_password = hunter2\n", 0644);
	char msg[512];

	assert_int_equal(conf_secret_exposure(p, secrets, msg, sizeof(msg)), 1);
	assert_non_null(strstr(msg, p));
	assert_non_null(strstr(msg, "smtp_password"));
	assert_null(strstr(msg, "pushover_token"));
	assert_non_null(strstr(msg, "0644"));
	assert_non_null(strstr(msg, "chmod o-rwx"));
	assert_null(strstr(msg, "hunter2"));   /* never the secret itself */
	assert_int_equal(conf_warn_secret_perms(p, secrets), 1);
	unlink(p);
}

static void
test_both_keys_named(void **state)
{
	const char *p = write_conf("  pushover_token=abc # app\nsmtp_password = \"x#y\"\n", 0604);
	char msg[512];

	assert_int_equal(conf_secret_exposure(p, secrets, msg, sizeof(msg)), 1);
	assert_non_null(strstr(msg, "smtp_password"));
	assert_non_null(strstr(msg, "pushover_token"));
	unlink(p);
}

static void
test_group_readable_is_fine(void **state)
{
	const char *p = write_conf("smtp_password = hunter2\n", 0640);
	char msg[512];

	assert_int_equal(conf_secret_exposure(p, secrets, msg, sizeof(msg)), 0);
	assert_int_equal(conf_warn_secret_perms(p, secrets), 0);
	unlink(p);
}

static void
test_no_secret_no_warning(void **state)
{
	const char *p = write_conf(
	    "# smtp_password = commented out\n"
	    "#pushover_token = x\n"
	    "smtp_password =\n"
	    "pushover_token = \"\"\n"
	    "smtp_user = alerts\n"
	    "smtp_password_hint = not the key\n", 0644);
	char msg[512];

	assert_int_equal(conf_secret_exposure(p, secrets, msg, sizeof(msg)), 0);
	assert_string_equal(msg, "");
	unlink(p);
}

/*
 * conf.c's reader refuses the file (as conf_load() did first): an error,
 * and the tail of the long line is never read as a key of its own.
 */
static void
test_overlong_line_refused(void **state)
{
	size_t n = 6000, i;
	char *text = malloc(n + 64);
	const char *p;
	char msg[512];

	assert_non_null(text);
	/* a long comment whose tail would look like a key if read on its own */
	text[0] = '#';
	for (i = 1; i < n; i++)
		text[i] = ' ';
	memcpy(text + CONF_LINE_TEST + 1, "smtp_password = x", 17);
	snprintf(text + n, 64, "\nlisten = *:1\n");
	p = write_conf(text, 0644);
	free(text);
	assert_int_equal(conf_secret_exposure(p, secrets, msg, sizeof(msg)), -1);
	assert_non_null(strstr(msg, "line too long"));
	assert_null(strstr(msg, "smtp_password"));
	unlink(p);
}

static void
test_missing_file(void **state)
{
	char msg[512];

	assert_int_equal(conf_secret_exposure("/nonexistent/custos.conf", secrets,
	    msg, sizeof(msg)), -1);
	assert_non_null(strstr(msg, "/nonexistent/custos.conf"));
	assert_int_equal(conf_warn_secret_perms("/nonexistent/custos.conf", secrets), -1);
	/* no -c: defaults only, nothing to warn about */
	assert_int_equal(conf_secret_exposure(NULL, secrets, msg, sizeof(msg)), 0);
	assert_int_equal(conf_warn_secret_perms(NULL, secrets), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_world_readable_with_password),
		cmocka_unit_test(test_both_keys_named),
		cmocka_unit_test(test_group_readable_is_fine),
		cmocka_unit_test(test_no_secret_no_warning),
		cmocka_unit_test(test_overlong_line_refused),
		cmocka_unit_test(test_missing_file),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
