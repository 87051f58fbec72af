/*
 * test_login.c - unit tests for serverd/http/login.c: the lockout windows
 * of failed password logins per name and per address (login.h), and the
 * argon2id hash and check. cmocka, TAP out.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "login.h"

static int
setup(void **state)
{
	(void)state;
	login_reset();
	return 0;
}

/* The first failures for a name cost nothing; the 5th closes it for 5 s. */
static void
test_user_window(void **state)
{
	int i;

	(void)state;
	for (i = 1; i < LOGIN_FREE_USER; i++)
		assert_int_equal(login_failed("alice", "192.0.2.1"), 0);
	assert_int_equal(login_wait("alice", "192.0.2.1"), 0);
	assert_int_equal(login_failed("alice", "192.0.2.1"), LOGIN_FIRST_LOCK_S);
	/* the name is closed from any address; another name is not */
	assert_true(login_wait("alice", "198.51.100.9") > 0);
	assert_int_equal(login_wait("bob", "198.51.100.9"), 0);
}

/* Each further failure doubles the window, up to LOGIN_MAX_LOCK_S. */
static void
test_doubling_and_cap(void **state)
{
	long w = 0, prev;
	int i;

	(void)state;
	for (i = 0; i < LOGIN_FREE_USER; i++)
		w = login_failed("carol", "192.0.2.2");
	assert_int_equal(w, LOGIN_FIRST_LOCK_S);
	for (i = 0; i < 20; i++) {
		prev = w;
		w = login_failed("carol", "192.0.2.2");
		assert_true(w == 2 * prev || w == LOGIN_MAX_LOCK_S);
		assert_true(w <= LOGIN_MAX_LOCK_S);
	}
	assert_int_equal(w, LOGIN_MAX_LOCK_S);
}

/* An address closes after LOGIN_FREE_ADDR failures, whatever the names. */
static void
test_address_window(void **state)
{
	char name[32];
	int i;

	(void)state;
	for (i = 1; i < LOGIN_FREE_ADDR; i++) {
		snprintf(name, sizeof(name), "guess%d", i);
		assert_int_equal(login_failed(name, "203.0.113.5"), 0);
	}
	assert_int_equal(login_failed("guess-last", "203.0.113.5"), LOGIN_FIRST_LOCK_S);
	assert_true(login_wait("dave", "203.0.113.5") > 0);
	assert_int_equal(login_wait("dave", "203.0.113.6"), 0);
}

/* A success clears the name's count, not the address's. */
static void
test_success_clears_name(void **state)
{
	int i;

	(void)state;
	for (i = 1; i < LOGIN_FREE_USER; i++)
		login_failed("erin", "192.0.2.3");
	login_succeeded("erin");
	for (i = 1; i < LOGIN_FREE_USER; i++)
		assert_int_equal(login_failed("erin", "192.0.2.3"), 0);
	/* the address has 2 * (LOGIN_FREE_USER - 1) failures now: still open */
	assert_int_equal(login_wait("frank", "192.0.2.3"), 0);
}

/* More keys than the table holds: the oldest go, nothing breaks. */
static void
test_table_full(void **state)
{
	char name[32], addr[32];
	int i;

	(void)state;
	for (i = 0; i < 3000; i++) {
		snprintf(name, sizeof(name), "n%d", i);
		snprintf(addr, sizeof(addr), "10.0.%d.%d", i / 256, i % 256);
		assert_int_equal(login_failed(name, addr), 0);
	}
}

static void
test_hash_verify(void **state)
{
	char h[LOGIN_HASH_MAX];

	(void)state;
	assert_int_equal(login_init(), 0);
	assert_int_equal(login_hash("correct horse", h), 0);
	assert_int_equal(strncmp(h, "$argon2id$", 10), 0);
	assert_int_equal(login_verify(h, "correct horse"), 1);
	assert_int_equal(login_verify(h, "correct horsE"), 0);
	assert_int_equal(login_verify(NULL, "correct horse"), 0);
	assert_int_equal(login_verify("", ""), 0);
	assert_int_equal(login_verify("not a hash", "x"), 0);
}

static void
test_hash_slots(void **state)
{
	int i;

	(void)state;
	for (i = 0; i < LOGIN_HASHES; i++)
		assert_int_equal(login_hash_begin(), 0);
	assert_int_equal(login_hash_begin(), -1);
	login_hash_end();
	assert_int_equal(login_hash_begin(), 0);
	for (i = 0; i < LOGIN_HASHES; i++)
		login_hash_end();
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_user_window, setup),
		cmocka_unit_test_setup(test_doubling_and_cap, setup),
		cmocka_unit_test_setup(test_address_window, setup),
		cmocka_unit_test_setup(test_success_clears_name, setup),
		cmocka_unit_test_setup(test_table_full, setup),
		cmocka_unit_test(test_hash_verify),
		cmocka_unit_test(test_hash_slots),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
