/*
 * registry.c - the compiled-in table of check types. Adding a type is one
 * new file that defines its struct check_type, its declaration in types.h,
 * one row here and the file's name in Makefile.am (libchecks_a_SOURCES);
 * then docs/plugins.md and docs/api.md say what its params are.
 */
#include "config.h"
#include "check.h"
#include "types.h"

const struct check_type *const check_types[] = {
	&check_type_process,
	&check_type_load,
	&check_type_cpu,
	&check_type_memory,
	&check_type_swap,
	&check_type_disk,
	&check_type_net,
	&check_type_tcp,
	&check_type_http,
	&check_type_log,
	&check_type_plugin,
	&check_type_heartbeat,
	NULL,
};
