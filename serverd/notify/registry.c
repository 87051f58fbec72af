/*
 * registry.c - the compiled-in table of notification channels (channel.h).
 *
 * Adding a channel is one new file in notify/ that defines its struct
 * channel_type (its name, its send, its time limit, its limits and, when it
 * has settings, its check_conf), its declaration in channel.h, one row here
 * and the file's name in Makefile.am (custos_serverd_SOURCES). The outbox
 * then runs senders for it, /metrics counts it and ?channel= accepts it;
 * nothing else in serverd names a channel. What the file cannot bring is
 * the database's side: a contact keeps one address per channel in a
 * column of contacts (email, pushover_user, webhook_url), so a channel with
 * a new kind of address comes with a migration that adds the column, lets
 * the name into the CHECKs of notifications.channel and
 * channel_pauses.channel, and adds the pair (name, column) to the fan-out
 * in alert/alert.c; and docs/alerting.md says what it sends.
 */
#include "config.h"
#include "channel.h"
#include "counters.h"
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

int
channels_check_conf(const struct srv_conf *cf, char *err, size_t errlen)
{
	size_t i;

	for (i = 0; channel_types[i]; i++)
		if (channel_types[i]->check_conf && channel_types[i]->check_conf(cf, err, errlen) < 0)
			return -1;
	return 0;
}
