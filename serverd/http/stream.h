/*
 * stream.h - GET /api/v1/stream: Server-Sent Events of what an operator
 * sees change, driven by PostgreSQL's LISTEN/NOTIFY (sql/006_face.sql).
 *
 * This file subscribes to custos_stream on the LISTEN thread (listen.h);
 * the stream's own thread turns the notified ids into frames (the event
 * row, the check's or the agent's current JSON), a round of look-ups at a
 * time, and appends them to a ring shared by every open stream; nothing
 * polls a table. A stream's connection is suspended in
 * libmicrohttpd while it has nothing to send and resumed when the ring
 * grows or its heartbeat (stream_heartbeat_s) is due, so 500 idle streams
 * cost 500 sockets and no thread.
 *
 * Frames: "event: event" (a row of /api/v1/events), "event: check" (a
 * check with its state and agent_name), "event: agent", each with
 * "id: <newest event id>"; "event: reset" tells the client to fetch
 * everything again (it fell too far behind, the server missed
 * notifications while reconnecting to PostgreSQL, or more changed within
 * one round than one lookup takes: stream.c, on_stream()). A client that
 * reconnects with Last-Event-ID gets the events after that id (and the
 * current state of their checks and agents) first, or a reset when more
 * than STREAM_REPLAY_MAX happened since or the id is beyond the newest
 * event (the reset's id is then the newest event's); either way the
 * events that come after are sent.
 */
#ifndef CUSTOS_STREAM_H
#define CUSTOS_STREAM_H

#include <stddef.h>
#include <stdint.h>

#include "http.h"

#define STREAM_REPLAY_MAX 1000

/*
 * Starts the stream's thread and subscribes to custos_stream: before
 * listen_start() and the HTTP daemon. 0 or -1.
 */
int stream_start(void);
/*
 * Ends every open stream and refuses new ones: after the daemon stopped
 * accepting, before MHD_stop_daemon() (http_stop()).
 */
void stream_end_all(void);
/* Stops the stream's thread and frees the ring: after listen_stop(). */
void stream_stop(void);
/* Open streams now (for tests and /metrics). */
int stream_count(void);

/*
 * What operators see changed: a generation that moves on with every
 * custos_stream notification (from any serverd), with every write answered
 * by this one (http.c calls stream_changed()), and whenever the LISTEN
 * thread connects or loses its connection. 0 while it is not connected:
 * then nothing may be cached on it. Lets /api/v1/status answer from memory
 * while nothing changed (api_status.c).
 */
uint64_t stream_generation(void);
void stream_changed(void);

/* The route handler (NEED_READ). */
void api_stream(struct req *r, struct resp *rs);

#endif
