/*
 * procfs.h - small, defensive readers for /proc files (after collectd):
 * whole-file reads into a caller buffer, a checked unsigned parser, a
 * whitespace tokenizer that does not keep hidden state, /proc/meminfo, and
 * counter deltas that survive a 32-bit wrap. The proc root is a parameter
 * everywhere so tests run over fixture trees.
 */
#ifndef CUSTOS_PROCFS_H
#define CUSTOS_PROCFS_H

#include <stddef.h>
#include <stdint.h>

/*
 * Reads root/rel (rel alone when root is NULL) into buf (size bytes, NUL-terminated; a longer file is cut,
 * which callers that only need the head rely on). 0, or -1 with errno set
 * (ENOENT: the file or the process is gone).
 */
int procfs_read(const char *root, const char *rel, char *buf, size_t size,
    size_t *len);
/* Joins root and rel into out (root NULL: rel alone); -1 when it does not fit. */
int procfs_path(char *out, size_t size, const char *root, const char *rel);
/* A decimal unsigned 64-bit number, the whole token. 0 or -1. */
int parse_u64(const char *s, uint64_t *out);
/* The next blank-separated token of *p (modified in place), or NULL. */
char *next_token(char **p);

struct meminfo {
	uint64_t total_kb, avail_kb, free_kb, buffers_kb, cached_kb;
	uint64_t swap_total_kb, swap_free_kb;
	int have_total, have_avail, have_swap;
};
/* Parses root/meminfo. 0, or -1 with a reason in err. */
int meminfo_read(const char *root, struct meminfo *m, char *err, size_t errlen);

/*
 * cur - prev for a monotonic counter. A decrease from a value that fits in
 * 32 bits is taken as a 32-bit wrap; any other decrease is a reset (reboot,
 * driver reload): *reset is set and 0 returned.
 */
uint64_t counter_delta(uint64_t cur, uint64_t prev, int *reset);

/* Human size: "3.4 GiB". */
void human_bytes(double bytes, char *out, size_t size);

#endif
