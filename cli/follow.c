/*
 * follow.c - `custos events -f`: the server's event stream (Server-Sent
 * Events on /api/v1/stream) read frame by frame, each event printed as it
 * comes, the connection made again after a drop with Last-Event-ID, so
 * that the server replays what was missed (or says it cannot: "reset").
 */
#include "config.h"
#include "cli.h"
#include "buf.h"
#include "strnum.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

struct sse {
	struct buf line;            /* the frame being read */
	long long last_id;
	char event[32];
	int failed;
};

/* Handles one complete frame (text up to the blank line). */
static void
sse_frame(struct sse *s, char *text)
{
	char *p = text, *data = NULL;

	s->event[0] = '\0';
	while (p && *p) {
		char *nl = strchr(p, '\n');
		if (nl)
			*nl = '\0';
		if (strncmp(p, "event: ", 7) == 0) {
			snprintf(s->event, sizeof(s->event), "%s", p + 7);
		} else if (strncmp(p, "id: ", 4) == 0) {
			const char *es;
			long long id = str_to_ll(p + 4, 0, INT64_MAX, &es);
			if (!es)
				s->last_id = id;
		} else if (strncmp(p, "data: ", 6) == 0) {
			data = p + 6;
		}
		p = nl ? nl + 1 : NULL;
	}
	if (data && strcmp(s->event, "event") == 0) {
		json_error_t jerr;
		json_t *e = json_loads(data, 0, &jerr);
		if (e && !opt_json)
			json_tty_clean(e, NULL);
		if (e)
			print_event(e);
		json_decref(e);
	} else if (data && strcmp(s->event, "reset") == 0 && !opt_json) {
		printf("-- the server says events were missed; `custos events` lists the recent ones\n");
		fflush(stdout);
	}
}

static size_t
on_stream(char *p, size_t sz, size_t n, void *ud)
{
	struct sse *s = ud;
	size_t len = sz * n, i;

	for (i = 0; i < len; i++) {
		if (buf_add(&s->line, p + i, 1) < 0) {
			s->failed = 1;
			return 0;
		}
		if (p[i] == '\n' && s->line.len >= 2 && s->line.ptr[s->line.len - 2] == '\n') {
			sse_frame(s, s->line.ptr);
			buf_reset(&s->line);
		}
	}
	return len;
}

int
http_follow(long long since)
{
	struct sse s;
	int tries = 0;

	memset(&s, 0, sizeof(s));
	buf_init(&s.line, 16 << 20);
	s.last_id = since;
	for (;;) {
		CURL *c;
		struct curl_slist *hdr = NULL;
		char lei[64];
		long status = 0;
		CURLcode cc;

		snprintf(lei, sizeof(lei), "Last-Event-ID: %lld", s.last_id);
		if ((c = http_handle("/api/v1/stream", "text/event-stream", lei, &hdr)) == NULL)
			break;
		curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_stream);
		curl_easy_setopt(c, CURLOPT_WRITEDATA, &s);
		curl_easy_setopt(c, CURLOPT_FAILONERROR, 1L);
		/* heartbeats come every stream_heartbeat_s: silence this long means gone */
		curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
		curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, 60L);
		buf_reset(&s.line);
		cc = curl_easy_perform(c);
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
		curl_slist_free_all(hdr);
		curl_easy_cleanup(c);
		if (status == 401 || status == 403) {
			fprintf(stderr, "custos: the stream was refused (HTTP %ld)\n", status);
			buf_free(&s.line);
			return EXIT_REFUSED;
		}
		if (s.failed)
			break;
		if (status == 200)
			tries = 0;
		fprintf(stderr, "custos: stream ended (%s); reconnecting\n", curl_easy_strerror(cc));
		sleep(tries < 5 ? 1U << tries++ : 30U);
	}
	buf_free(&s.line);
	return EXIT_REFUSED;
}
