/*
 * registry.c - the compiled-in table of notification channels (channel.h).
 *
 * Adding a channel is one new file in notify/ that defines its struct
 * channel_type (its name, the contact column of its address, its send,
 * its time limit, its limits and, when it has settings, its check_conf),
 * its declaration in channel.h, one row here and the file's name in
 * Makefile.am (custos_serverd_SOURCES). From that row serverd writes the
 * channel into the database at start (channels_register(): the outbox's
 * tables accept its name, alert_record() fans events out to it), the
 * outbox runs senders for it, /metrics counts it and ?channel= accepts
 * it; nothing else in serverd's C names a channel. Beyond the row: the
 * dashboard's filter of the notifications page lists the names
 * (serverd/www/app.js), docs/alerting.md says what the channel sends, and
 * a channel whose address is a new kind of thing needs that column of
 * contacts (a migration) and its field in the contacts API
 * (api/api_contacts.c).
 */
#include "config.h"
#include "channel.h"
#include "counters.h"
#include "db.h"
#include "log.h"
#include "serverd.h"

#include <stdio.h>
#include <string.h>

const struct channel_type *const channel_types[] = {
	&channel_email,
	&channel_pushover,
	&channel_webhook,
	NULL,
};

_Static_assert(sizeof(channel_types) / sizeof(channel_types[0]) - 1 <= COUNTERS_CHANNELS_MAX,
    "more channels than counters.h counts");

size_t
channel_count(void)
{
	return sizeof(channel_types) / sizeof(channel_types[0]) - 1;
}

const struct channel_type *
channel_find(const char *name)
{
	size_t i;

	for (i = 0; name && channel_types[i]; i++)
		if (strcmp(channel_types[i]->name, name) == 0)
			return channel_types[i];
	return NULL;
}

size_t
channel_index(const struct channel_type *ct)
{
	size_t i;

	for (i = 0; channel_types[i] && channel_types[i] != ct; i++)
		;
	return i;
}

void
channel_names(char *out, size_t outlen)
{
	size_t i, n = channel_count(), len = 0;

	if (outlen == 0)
		return;
	out[0] = '\0';
	for (i = 0; i < n && len < outlen; i++) {
		int w = snprintf(out + len, outlen - len, "%s%s",
		    i == 0 ? "" : i + 1 == n ? " or " : ", ", channel_types[i]->name);
		if (w < 0)
			break;
		len += (size_t)w;
	}
}

/*
 * One channel: its row, unless its column is not one of contacts (then
 * nothing is written and ok is false); changed when a row was written.
 */
static const struct db_stmt q_register = { "channels_register",
	"WITH col AS (SELECT EXISTS (SELECT 1 FROM pg_attribute a"
	"   WHERE a.attrelid = 'contacts'::regclass AND a.attname = $2"
	"    AND a.attnum > 0 AND NOT a.attisdropped) AS ok),"
	" ins AS (INSERT INTO channels (name, contact_column) SELECT $1, $2 FROM col WHERE col.ok"
	"   ON CONFLICT (name) DO UPDATE SET contact_column = EXCLUDED.contact_column"
	"   WHERE channels.contact_column IS DISTINCT FROM EXCLUDED.contact_column"
	"   RETURNING 1)"
	"SELECT col.ok, EXISTS (SELECT 1 FROM ins) FROM col", 2 };

int
channels_register(PGconn *c)
{
	size_t i;
	int changed = 0;

	for (i = 0; channel_types[i]; i++) {
		const char *v[2] = { channel_types[i]->name, channel_types[i]->contact_column };
		PGresult *r = db_exec(c, &q_register, v);
		int ok = db_ok(r, PGRES_TUPLES_OK) && PQntuples(r) == 1;

		if (!ok)
			log_error("channel %s: cannot register it: %s", v[0], PQerrorMessage(c));
		else if (PQgetvalue(r, 0, 0)[0] != 't') {
			log_error("channel %s: its contact_column %s is not a column of contacts", v[0], v[1]);
			ok = 0;
		}
		if (ok && PQgetvalue(r, 0, 1)[0] == 't') {
			log_info("channel %s registered (contacts.%s holds its addresses)", v[0], v[1]);
			changed = 1;
		}
		PQclear(r);
		if (!ok)
			return -1;
	}
	/* the fan-out is planned on these statistics (see sql/028_channels.sql) */
	if (changed && db_cmd(c, "ANALYZE channels") < 0)
		return -1;
	return 0;
}

int
channels_check_conf(const struct srv_conf *cf, char *err, size_t errlen)
{
	size_t i;

	for (i = 0; channel_types[i]; i++)
		if (channel_types[i]->check_conf && channel_types[i]->check_conf(cf, err, errlen) < 0)
			return -1;
	return 0;
}
