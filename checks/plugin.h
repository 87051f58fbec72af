/*
 * plugin.h - the plugin check's output parser, exposed for the unit tests
 * and the fuzz target (plugin.c runs it on what a plugin printed).
 */
#ifndef CUSTOS_PLUGIN_H
#define CUSTOS_PLUGIN_H

#include <stddef.h>
#include "check.h"

/*
 * Parses a plugin's stdout (out, len bytes, NUL-terminated, modified in
 * place) into o->detail (the first line's text, with notes: cut, bad
 * perfdata) and o->perf (every good perfdata item, first line and long
 * output), and the value (the first item's). truncated: bytes after len
 * were dropped, so the last perfdata item may be cut and is dropped.
 */
void plugin_parse_output(char *out, size_t len, int truncated, struct check_out *o);

#endif
