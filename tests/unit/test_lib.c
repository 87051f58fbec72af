/*
 * test_lib.c - unit tests for lib/: config parser, tokens and SHA-256,
 * RFC 3339 time, capped buffers, checked number parsing. cmocka, TAP out.
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
#include <unistd.h>

#include "buf.h"
#include "conf.h"
#include "log.h"
#include "urlredact.h"
#include "strnum.h"
#include "timeutil.h"
#include "token.h"
#include "utf8.h"

/* ---- conf ---------------------------------------------------------------- */

struct tconf {
	char *name;
	long long port;
	int flag;
	int mode;
};

static const char *const modes[] = { "off", "try", "require", NULL };
static const struct conf_key tkeys[] = {
	{ "name", CONF_STR, offsetof(struct tconf, name), 0, 0, NULL },
	{ "port", CONF_INT, offsetof(struct tconf, port), 1, 65535, NULL },
	{ "flag", CONF_BOOL, offsetof(struct tconf, flag), 0, 0, NULL },
	{ "mode", CONF_ENUM, offsetof(struct tconf, mode), 0, 0, modes },
	{ NULL, 0, 0, 0, 0, NULL },
};

static char *
write_tmp(const char *text)
{
	static char path[64];
	FILE *fp;
	int fd;

	snprintf(path, sizeof(path), "/tmp/custos-conf-XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	fp = fdopen(fd, "w");
	assert_non_null(fp);
	fputs(text, fp);
	fclose(fp);
	return path;
}

static int
load_text(const char *text, struct tconf *c, char *err, size_t errlen)
{
	char *path = write_tmp(text);
	int rc = conf_load(path, tkeys, c, sizeof(*c), err, errlen);

	unlink(path);
	return rc;
}

static void
conf_good(void **state)
{
	struct tconf c = { NULL, 25, 0, 1 };
	char err[256];

	(void)state;
	c.name = strdup("default");
	assert_int_equal(load_text("# comment\n\n  name = web 01  # trailing\nport=8080\n"
	    "flag = yes\nmode = REQUIRE\n", &c, err, sizeof(err)), 0);
	assert_string_equal(c.name, "web 01");
	assert_int_equal(c.port, 8080);
	assert_int_equal(c.flag, 1);
	assert_int_equal(c.mode, 2);
	assert_int_equal(load_text("name = \"a # b\"\n", &c, err, sizeof(err)), 0);
	assert_string_equal(c.name, "a # b");
	assert_int_equal(c.port, 8080);   /* untouched keys keep their value */
	conf_free(tkeys, &c);
}

static void
conf_bad(void **state)
{
	static const struct { const char *text, *want; } cases[] = {
		{ "port = 0\n", ":1: port: \"0\" is too small" },
		{ "port = 80x\n", ":1: port: \"80x\" is invalid" },
		{ "port = 99999\n", ":1: port: \"99999\" is too large" },
		{ "\n\ncolour = red\n", ":3: unknown key \"colour\"" },
		{ "port 80\n", ":1: expected \"key = value\"" },
		{ "flag = maybe\n", ":1: flag: \"maybe\" is not a boolean" },
		{ "mode = sometimes\n", ":1: mode: \"sometimes\" is not one of off try require" },
		{ "port = 1\nport = 2\n", ":2: port given twice (first on line 1)" },
		{ "name = \"open\n", ":1: name: unterminated quote" },
		{ "port = \n", ":1: port: \"\" is invalid" },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct tconf c = { NULL, 25, 0, 1 };
		char err[256];
		c.name = strdup("keep");
		assert_int_equal(load_text(cases[i].text, &c, err, sizeof(err)), -1);
		if (strstr(err, cases[i].want) == NULL)
			fail_msg("case %zu: \"%s\" lacks \"%s\"", i, err, cases[i].want);
		/* a failed load changes nothing */
		assert_string_equal(c.name, "keep");
		assert_int_equal(c.port, 25);
		conf_free(tkeys, &c);
	}
}

static void
conf_missing_file(void **state)
{
	struct tconf c = { NULL, 25, 0, 1 };
	char err[256];

	(void)state;
	assert_int_equal(conf_load("/nonexistent/custos.conf", tkeys, &c, sizeof(c), err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "/nonexistent/custos.conf: No such file"));
}

/* conf_scan(): every "key = value" as the loader sees it; a reason stops the scan */
struct scanned {
	char text[256];
	int calls;
};

static const char *
scan_line(void *ud, const char *key, const char *value, int lineno, char *why, size_t whylen)
{
	struct scanned *sc = ud;
	size_t n = strlen(sc->text);

	sc->calls++;
	if (strcmp(key, "stop") == 0) {
		snprintf(why, whylen, "stopped at %s", value);
		return why;
	}
	snprintf(sc->text + n, sizeof(sc->text) - n, "%d:%s=[%s] ", lineno, key, value);
	return NULL;
}

static void
conf_scan_lines(void **state)
{
	struct scanned sc;
	char err[256], *path;
	FILE *fp;

	(void)state;
	memset(&sc, 0, sizeof(sc));
	path = write_tmp("# c\n a = 1 # x\nb=\"q # r\"\nc =\n\nstop = here\nd = never\n");
	fp = fopen(path, "r");
	assert_non_null(fp);
	assert_int_equal(conf_scan(fp, path, scan_line, &sc, err, sizeof(err)), -1);
	fclose(fp);
	assert_string_equal(sc.text, "2:a=[1] 3:b=[q # r] 4:c=[] ");
	assert_int_equal(sc.calls, 4);
	assert_non_null(strstr(err, ":6: stopped at here"));
	unlink(path);
}

static void
str_trim_ends(void **state)
{
	char a[] = " \t x y \r\n", b[] = "", c[] = "  ";

	(void)state;
	assert_string_equal(str_trim(a), "x y");
	assert_string_equal(str_trim(b), "");
	assert_string_equal(str_trim(c), "");
}

static void
conf_long_line(void **state)
{
	struct tconf c = { NULL, 25, 0, 1 };
	char err[256], *text = malloc(10000);

	(void)state;
	memset(text, 'x', 9998);
	memcpy(text, "name = ", 7);
	text[9998] = '\n';
	text[9999] = '\0';
	assert_int_equal(load_text(text, &c, err, sizeof(err)), -1);
	assert_non_null(strstr(err, ":1: line too long"));
	free(text);
	conf_free(tkeys, &c);
}

/* ---- tokens -------------------------------------------------------------- */

static void
sha256_vectors(void **state)
{
	static const struct { const char *in, *hex; } v[] = {
		{ "", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" },
		{ "abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" },
		{ "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
		  "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1" },
		/* 64 bytes: the padding needs a second block */
		{ "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
		  "ffe054fe7ae0cb6dc65c3af9b61d5209f439851db43d0ba5997337df154668eb" },
	};
	uint8_t h[SHA256_LEN];
	char hex[SHA256_LEN * 2 + 1];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		sha256(v[i].in, strlen(v[i].in), h);
		hex_encode(h, sizeof(h), hex);
		assert_string_equal(hex, v[i].hex);
	}
}

static void
sha256_million(void **state)
{
	char *a = malloc(1000000);
	uint8_t h[SHA256_LEN];
	char hex[SHA256_LEN * 2 + 1];

	(void)state;
	memset(a, 'a', 1000000);
	sha256(a, 1000000, h);
	hex_encode(h, sizeof(h), hex);
	assert_string_equal(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
	free(a);
}

static void
token_random(void **state)
{
	char a[TOKEN_HEX_LEN + 1], b[TOKEN_HEX_LEN + 1];
	size_t i;

	(void)state;
	assert_int_equal(token_generate(a), 0);
	assert_int_equal(token_generate(b), 0);
	assert_int_equal(strlen(a), 64);
	for (i = 0; i < 64; i++)
		assert_non_null(strchr("0123456789abcdef", a[i]));
	assert_string_not_equal(a, b);
	assert_true(ct_equal("abcd", "abcd", 4));
	assert_false(ct_equal("abcd", "abce", 4));
	assert_false(ct_equal("\x80", "\x00", 1));
}

/* ---- time ---------------------------------------------------------------- */

static void
time_parse(void **state)
{
	int64_t us;
	char out[RFC3339_LEN];

	(void)state;
	assert_int_equal(rfc3339_parse("1970-01-01T00:00:00Z", &us), 0);
	assert_int_equal(us, 0);
	assert_int_equal(rfc3339_parse("2026-11-25T06:00:00.5+01:00", &us), 0);
	rfc3339_format(us, out);
	assert_string_equal(out, "2026-11-25T05:00:00.500000Z");
	assert_int_equal(rfc3339_parse("2024-02-29t23:59:59.123456789z", &us), 0);
	rfc3339_format(us, out);
	assert_string_equal(out, "2024-02-29T23:59:59.123456Z");
	assert_int_equal(rfc3339_parse("1969-12-31T23:59:59Z", &us), 0);
	assert_int_equal(us, -1000000);
	rfc3339_format(-1, out);
	assert_string_equal(out, "1969-12-31T23:59:59.999999Z");
	{
		static const char *const bad[] = { "", "2026-11-25", "2026-11-25T06:00:00",
			"2023-02-29T00:00:00Z", "2026-13-01T00:00:00Z", "2026-11-31T00:00:00Z",
			"2026-11-25T24:00:00Z", "2026-11-25T06:00:00Zjunk", "2026-11-25T06:00:00.Z",
			"2026-11-25T06:00:00+1:00", "yesterday", NULL };
		int i;
		for (i = 0; bad[i]; i++)
			if (rfc3339_parse(bad[i], &us) == 0)
				fail_msg("accepted \"%s\"", bad[i]);
	}
}

/* ---- buf ----------------------------------------------------------------- */

static void
buf_cap(void **state)
{
	struct buf b;
	char *p;

	(void)state;
	buf_init(&b, 16);
	assert_int_equal(buf_adds(&b, "hello"), 0);
	assert_int_equal(buf_addf(&b, " %d", 42), 0);
	assert_string_equal(b.ptr, "hello 42");
	assert_int_equal(buf_adds(&b, "1234567"), 0);   /* 15 bytes: at the cap */
	assert_int_equal(buf_adds(&b, "x"), -1);         /* 16: too big */
	assert_null(b.ptr);
	assert_int_equal(buf_adds(&b, "y"), -1);         /* sticky failure */
	buf_reset(&b);
	assert_int_equal(buf_adds(&b, "ok"), 0);
	p = buf_take(&b);
	assert_string_equal(p, "ok");
	assert_null(b.ptr);
	free(p);
	buf_free(&b);
}

/* ---- strnum -------------------------------------------------------------- */

static void
strnum_checks(void **state)
{
	const char *es;

	(void)state;
	assert_int_equal(str_to_ll("42", 0, 100, &es), 42);
	assert_null(es);
	assert_int_equal(str_to_ll("-5", -10, 10, &es), -5);
	str_to_ll("101", 0, 100, &es);
	assert_string_equal(es, "too large");
	str_to_ll("-1", 0, 100, &es);
	assert_string_equal(es, "too small");
	str_to_ll(" 1", 0, 100, &es);
	assert_string_equal(es, "invalid");
	str_to_ll("1 ", 0, 100, &es);
	assert_string_equal(es, "invalid");
	str_to_ll("99999999999999999999", 0, INT64_MAX, &es);
	assert_string_equal(es, "too large");
	assert_true(str_to_double("3.5", &es) == 3.5);
	assert_null(es);
	assert_true(str_to_double("-1e3", &es) == -1000);
	str_to_double("nan", &es);
	assert_non_null(es);
	str_to_double("inf", &es);
	assert_non_null(es);
	str_to_double("0x10", &es);
	assert_non_null(es);
	str_to_double("1e999", &es);
	assert_non_null(es);
}

/* one record, one line: libpq-style multi-line messages are folded */
static void
log_one_line(void **state)
{
	int p[2], saved;
	char got[512];
	ssize_t n;

	(void)state;
	assert_int_equal(pipe(p), 0);
	saved = dup(STDERR_FILENO);
	assert_true(saved >= 0);
	assert_int_equal(dup2(p[1], STDERR_FILENO), STDERR_FILENO);
	log_init("t", LOG_LVL_INFO);
	log_error("database: server closed the connection unexpectedly\n\tThis probably "
	    "means the server terminated abnormally\n\tbefore or while processing the request.\n");
	log_info("x\n");
	assert_int_equal(dup2(saved, STDERR_FILENO), STDERR_FILENO);
	close(saved);
	close(p[1]);
	n = read(p[0], got, sizeof(got) - 1);
	close(p[0]);
	assert_true(n > 0);
	got[n] = '\0';
	assert_non_null(strstr(got, "error: database: server closed the connection unexpectedly; "
	    "This probably means the server terminated abnormally; before or while processing "
	    "the request.\n"));
	assert_non_null(strstr(got, "info: x\n"));
	/* two records, two lines */
	assert_int_equal(strchr(strchr(got, '\n') + 1, '\n') - got, n - 1);
}

/* ---- control characters ---------------------------------------------------- */

static void
utf8_controls(void **state)
{
	static const char in[] = "ok\tline\n\x1b[2Jx\r\x7f\xc2\x85\xc2\xa0\xe2\x82\xac";
	char *out;

	(void)state;
	/* C0, DEL and C1 found; LF and TAB spared when asked; U+00A0 and the
	 * euro sign (C2 A0, E2 82 AC) are no controls */
	assert_int_equal(utf8_ctl_find("plain \xc2\xa0 text", 13, 0), 13);
	assert_int_equal(utf8_ctl_find("a\tb", 3, UTF8_CTL_KEEP_NL_TAB), 3);
	assert_int_equal(utf8_ctl_find("a\tb", 3, 0), 1);
	assert_int_equal(utf8_ctl_find(in, sizeof(in) - 1, UTF8_CTL_KEEP_NL_TAB), 8);
	assert_int_equal(utf8_ctl_find("x\xc2\x9f", 3, 0), 1);
	assert_int_equal(utf8_ctl_find("x\xc2", 2, 0), 2);   /* a lone lead byte: not C1 */

	out = utf8_ctl_escape(in, sizeof(in) - 1, UTF8_CTL_KEEP_NL_TAB);
	assert_non_null(out);
	assert_string_equal(out, "ok\tline\n\\u001b[2Jx\\u000d\\u007f\\u0085\xc2\xa0\xe2\x82\xac");
	assert_int_equal(utf8_ctl_find(out, strlen(out), UTF8_CTL_KEEP_NL_TAB), strlen(out));
	free(out);
	out = utf8_ctl_escape("a\tb\n", 4, 0);
	assert_non_null(out);
	assert_string_equal(out, "a\\u0009b\\u000a");
	free(out);
	out = utf8_ctl_escape("", 0, 0);
	assert_non_null(out);
	assert_string_equal(out, "");
	free(out);
}

/* urlredact.h: a URL's user:password@ in JSON text becomes ***@ */
static void
url_redaction(void **state)
{
	static const struct { const char *in, *out; } cases[] = {
		{ "{\"url\":\"http://user:pass@host/x\"}", "{\"url\":\"http://***@host/x\"}" },
		{ "{\"url\":\"https://host/a@b\"}", NULL },              /* '@' in the path */
		{ "{\"url\":\"http://host:80\"}", NULL },
		{ "{\"url\":\"http://@host/\"}", NULL },                 /* empty userinfo */
		{ "\"ftp://a@b@host?x\" \"smb://u:p@h#f\"", "\"ftp://***@host?x\" \"smb://***@h#f\"" },
		/* an escaped quote in the password is part of it, not its end */
		{ "\"http://u:p\\\"w@host/\"", "\"http://***@host/\"" },
		{ "\"http://u:p\"", NULL },                                /* no '@' before the quote */
		{ "GET http://u:p@h failed", "GET http://***@h failed" },
		{ "://", NULL },
		{ "", NULL },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *out = (char *)1;
		size_t n = 0;
		int rc = url_redact(cases[i].in, strlen(cases[i].in), &out, &n);
		if (cases[i].out == NULL) {
			assert_int_equal(rc, 0);
			assert_null(out);
		} else {
			assert_int_equal(rc, 1);
			assert_string_equal(out, cases[i].out);
			assert_int_equal(n, strlen(cases[i].out));
			free(out);
		}
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(conf_good),
		cmocka_unit_test(conf_bad),
		cmocka_unit_test(conf_missing_file),
		cmocka_unit_test(conf_long_line),
		cmocka_unit_test(conf_scan_lines),
		cmocka_unit_test(str_trim_ends),
		cmocka_unit_test(sha256_vectors),
		cmocka_unit_test(sha256_million),
		cmocka_unit_test(token_random),
		cmocka_unit_test(time_parse),
		cmocka_unit_test(buf_cap),
		cmocka_unit_test(strnum_checks),
		cmocka_unit_test(log_one_line),
		cmocka_unit_test(utf8_controls),
		cmocka_unit_test(url_redaction),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
