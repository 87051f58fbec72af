/*
 * test_channels.c - unit tests for the registry of notification channels
 * (serverd/notify/registry.c, channel.h): look-up by name, unknown names,
 * every row complete (the contacts' columns of the addresses are checked
 * against the schema by channels_register() at start, e2e), the lease each channel's time limit gives, each
 * channel's configuration check, and the send counters (serverd/counters.c)
 * /metrics reads, and receipt_parse() (receipt.h): Pushover's receipt answer
 * read strictly. No network: nothing here sends. cmocka, TAP out.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "channel.h"
#include "counters.h"
#include "receipt.h"
#include "serverd.h"

static void
test_find_by_name(void **ctx)
{
	(void)ctx;
	assert_ptr_equal(channel_find("email"), &channel_email);
	assert_ptr_equal(channel_find("pushover"), &channel_pushover);
	assert_ptr_equal(channel_find("webhook"), &channel_webhook);
}

static void
test_unknown_name(void **ctx)
{
	(void)ctx;
	assert_null(channel_find("sms"));
	assert_null(channel_find("EMAIL"));      /* names are exact */
	assert_null(channel_find("email "));
	assert_null(channel_find("mail"));
	assert_null(channel_find(""));
	assert_null(channel_find(NULL));
}

/* Every row: found by its own name at its own index, and complete. */
static void
test_rows_complete(void **ctx)
{
	size_t i;

	(void)ctx;
	assert_int_equal(channel_count(), 3);
	assert_true(channel_count() <= COUNTERS_CHANNELS_MAX);
	for (i = 0; channel_types[i]; i++) {
		const struct channel_type *ct = channel_types[i];
		assert_non_null(ct->name);
		assert_non_null(ct->contact_column);
		assert_ptr_equal(channel_find(ct->name), ct);
		assert_int_equal(channel_index(ct), i);
		assert_non_null(ct->send);
		assert_non_null(ct->time_limit_s);
		assert_true(ct->backoff_max_s > 0);
		assert_true(ct->give_up_h > 0);
		assert_int_equal(ct->tag == NULL, ct->cancel == NULL);   /* both or neither */
	}
	assert_int_equal(i, channel_count());
}

static void
test_names(void **ctx)
{
	char b[64], small[8];

	(void)ctx;
	channel_names(b, sizeof(b));
	assert_string_equal(b, "email, pushover or webhook");
	channel_names(small, sizeof(small));   /* cut, still a string */
	assert_int_equal(strlen(small), sizeof(small) - 1);
}

static struct srv_conf
conf(void)
{
	struct srv_conf c;

	memset(&c, 0, sizeof(c));
	c.smtp_from = (char *)"custos <alerts@example.com>";
	c.pushover_url = (char *)"https://api.pushover.net/1/messages.json";
	c.smtp_timeout_s = 15;
	c.pushover_timeout_s = 10;
	c.webhook_timeout_s = 7;
	return c;
}

/* The time limits the leases are built on (docs/alerting-delivery.md). */
static void
test_time_limits(void **ctx)
{
	struct srv_conf c = conf();

	(void)ctx;
	assert_int_equal(channel_email.time_limit_s(&c), 15 * 4);   /* per SMTP step x 4 */
	assert_int_equal(channel_pushover.time_limit_s(&c), 10);
	assert_int_equal(channel_webhook.time_limit_s(&c), 7);
	assert_non_null(channel_pushover.cancel);   /* emergency pages are cancelled */
	assert_null(channel_email.cancel);
}

static void
test_check_conf(void **ctx)
{
	struct srv_conf c = conf();
	char err[256] = "";

	(void)ctx;
	assert_int_equal(channels_check_conf(&c, err, sizeof(err)), 0);
	c.smtp_from = (char *)"alerts@example.com";
	assert_int_equal(channels_check_conf(&c, err, sizeof(err)), 0);
	c.smtp_from = (char *)"custos";
	assert_int_equal(channels_check_conf(&c, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "smtp_from"));
	c = conf();
	c.pushover_url = (char *)"ftp://example.com/1/messages.json";
	err[0] = '\0';
	assert_int_equal(channels_check_conf(&c, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "pushover_url"));
	c.pushover_url = (char *)"http://127.0.0.1:9/1/messages.json";   /* a stand-in */
	assert_int_equal(channels_check_conf(&c, err, sizeof(err)), 0);
}

static void
test_counters(void **ctx)
{
	size_t i = channel_index(&channel_pushover);

	(void)ctx;
	assert_int_equal(counters_send_read(i, COUNT_SENT), 0);
	counters_send(i, COUNT_SENT);
	counters_send(i, COUNT_RETRIED);
	counters_send(i, COUNT_RETRIED);
	assert_int_equal(counters_send_read(i, COUNT_SENT), 1);
	assert_int_equal(counters_send_read(i, COUNT_RETRIED), 2);
	assert_int_equal(counters_send_read(i, COUNT_FAILED), 0);
	assert_int_equal(counters_send_read(channel_index(&channel_email), COUNT_SENT), 0);
	counters_send(COUNTERS_CHANNELS_MAX, COUNT_SENT);   /* out of range: ignored */
	assert_int_equal(counters_send_read(COUNTERS_CHANNELS_MAX, COUNT_SENT), 0);
}

#define KEY "A1ice" "kkkkkkkkkkkkkkkkkkkkkkkkk"
#define ANSWER(ack, at, by, exp) "{\"status\":1,\"acknowledged\":" ack ",\"acknowledged_at\":" \
	at ",\"acknowledged_by\":" by ",\"acknowledged_by_device\":\"p\",\"last_delivered_at\":0," \
	"\"expired\":" exp ",\"expires_at\":1900000000,\"called_back\":0,\"called_back_at\":0," \
	"\"request\":\"r\"}"

static int
parse(const char *s, struct receipt_status *st)
{
	char err[256] = "";
	int rc = receipt_parse(s, strlen(s), st, err, sizeof(err));

	assert_true(rc == 0 ? err[0] == '\0' : err[0] != '\0');   /* an error always says why */
	return rc;
}

static void
test_receipt_parse(void **ctx)
{
	struct receipt_status st;
	static const char *const bad[] = {
		"", "{", "[]", "null", "1",
		ANSWER("\"1\"", "1700000000", "\"" KEY "\"", "0"),    /* a string, not an integer */
		ANSWER("2", "1700000000", "\"" KEY "\"", "0"),          /* not 0 or 1 */
		ANSWER("1.0", "1700000000", "\"" KEY "\"", "0"),        /* a real */
		ANSWER("true", "1700000000", "\"" KEY "\"", "0"),
		ANSWER("1", "-5", "\"" KEY "\"", "0"),                  /* a time before 1970 */
		ANSWER("1", "1700000000", "\"\"", "0"),                  /* acknowledged by nobody */
		ANSWER("1", "1700000000", "\"" KEY "x\"", "0"),         /* 31 characters */
		ANSWER("1", "1700000000", "\"<script>alert(1)</script>aaaaaa\"", "0"),
		ANSWER("1", "1700000000", "null", "0"),
		ANSWER("0", "0", "\"\"", "\"0\""),
		"{\"status\":0,\"errors\":[\"x\"]}",
		"{\"status\":1}",                                          /* members missing */
		"{\"status\":1,\"acknowledged\":0,\"acknowledged\":1,\"acknowledged_at\":0,"
		    "\"acknowledged_by\":\"\",\"expired\":0,\"expires_at\":1}",  /* twice */
		NULL,
	};
	size_t i;

	(void)ctx;
	assert_int_equal(parse(ANSWER("0", "0", "\"\"", "0"), &st), 0);
	assert_int_equal(st.acknowledged, 0);
	assert_int_equal(st.expired, 0);
	assert_string_equal(st.acknowledged_by, "");
	assert_int_equal(parse(ANSWER("1", "1700000000", "\"" KEY "\"", "0"), &st), 0);
	assert_int_equal(st.acknowledged, 1);
	assert_int_equal(st.acknowledged_at, 1700000000);
	assert_string_equal(st.acknowledged_by, KEY);
	assert_int_equal(parse(ANSWER("0", "0", "\"\"", "1"), &st), 0);
	assert_int_equal(st.expired, 1);
	assert_int_equal(st.expires_at, 1900000000);
	for (i = 0; bad[i]; i++) {
		if (parse(bad[i], &st) != -1)
			fail_msg("accepted: %s", bad[i]);
		assert_int_equal(st.acknowledged, 0);   /* a refused answer acknowledges nothing */
	}
	/* a NUL inside the body is not the end of it */
	assert_int_equal(receipt_parse("{\"status\":1}\0xx", 16, &st, (char[64]){ 0 }, 64), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_find_by_name),
		cmocka_unit_test(test_unknown_name),
		cmocka_unit_test(test_rows_complete),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_time_limits),
		cmocka_unit_test(test_check_conf),
		cmocka_unit_test(test_counters),
		cmocka_unit_test(test_receipt_parse),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
