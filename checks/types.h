/*
 * types.h - the check types of registry.c, one per file.
 */
#ifndef CUSTOS_TYPES_H
#define CUSTOS_TYPES_H

#include "check.h"

extern const struct check_type check_type_process;   /* process.c */
extern const struct check_type check_type_load;      /* load.c */
extern const struct check_type check_type_cpu;       /* cpu.c */
extern const struct check_type check_type_memory;    /* memory.c */
extern const struct check_type check_type_swap;      /* swap.c */
extern const struct check_type check_type_disk;      /* disk.c */
extern const struct check_type check_type_net;       /* net.c */
extern const struct check_type check_type_tcp;       /* tcp.c */
extern const struct check_type check_type_http;      /* http.c */
extern const struct check_type check_type_log;       /* log.c */
extern const struct check_type check_type_plugin;    /* plugin.c */
extern const struct check_type check_type_heartbeat;  /* heartbeat.c */

#endif
