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
#include <stdlib.h>
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

/* A piece of the stream: frames are handled as they complete. */
static int
on_stream(void *ud, const char *p, size_t len)
{
	struct sse *s = ud;
	size_t i;

	for (i = 0; i < len; i++) {
		if (buf_add(&s->line, p + i, 1) < 0) {
			s->failed = 1;
			return -1;
		}
		if (p[i] == '\n' && s->line.len >= 2 && s->line.ptr[s->line.len - 2] == '\n') {
			sse_frame(s, s->line.ptr);
			buf_reset(&s->line);
		}
	}
	return 0;
}

int
http_follow(long long since)
{
	struct sse s;
	int tries = 0, rc;

	memset(&s, 0, sizeof(s));
	buf_init(&s.line, 16 << 20);
	s.last_id = since;
	for (;;) {
		/* heartbeats come every stream_heartbeat_s: silence this long means gone */
		struct httpc_opts o = {
			.name = "custos-cli", .connect_ms = HTTP_TOTAL_MS, .idle_s = 60,
			.max_answer = 65536, .on_body = on_stream, .ud = &s,
		};
		struct httpc h;
		char lei[64], *url, err[CURL_ERROR_SIZE + 64];
		const char *const extra[] = { lei, NULL };
		long status;

		snprintf(lei, sizeof(lei), "Last-Event-ID: %lld", s.last_id);
		if ((rc = http_client(&h, &o, "text/event-stream", "/api/v1/stream", &url)) != 0) {
			buf_free(&s.line);
			return rc;
		}
		buf_reset(&s.line);
		if (httpc_request(&h, "GET", url, NULL, 0, extra, err, sizeof(err)) == 0)
			snprintf(err, sizeof(err), "closed by the server");
		status = h.status;
		httpc_free(&h);
		free(url);
		if (status == 401 || status == 403) {
			fprintf(stderr, "custos: the stream was refused (HTTP %ld)\n", status);
			buf_free(&s.line);
			return EXIT_REFUSED;
		}
		if (s.failed)
			break;
		if (status == 200)
			tries = 0;
		else if (status != 0)
			snprintf(err, sizeof(err), "HTTP %ld", status);
		fprintf(stderr, "custos: stream ended (%s); reconnecting\n", err);
		sleep(tries < 5 ? 1U << tries++ : 30U);
	}
	buf_free(&s.line);
	return EXIT_REFUSED;
}
