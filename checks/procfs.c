/*
 * procfs.c - see procfs.h.
 */
#include "config.h"
#include "procfs.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int
procfs_path(char *out, size_t size, const char *root, const char *rel)
{
	int n = root ? snprintf(out, size, "%s/%s", root, rel) : snprintf(out, size, "%s", rel);

	if (n < 0 || (size_t)n >= size) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

int
procfs_read(const char *root, const char *rel, char *buf, size_t size,
    size_t *len)
{
	char path[512];
	size_t off = 0;
	ssize_t r;
	int fd, saved;

	*len = 0;
	if (size == 0 || procfs_path(path, sizeof(path), root, rel) < 0)
		return -1;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return -1;
	while (off < size - 1) {
		r = read(fd, buf + off, size - 1 - off);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			saved = errno;
			close(fd);
			errno = saved;
			return -1;
		}
		if (r == 0)
			break;
		off += (size_t)r;
	}
	close(fd);
	buf[off] = '\0';
	*len = off;
	return 0;
}

int
parse_u64(const char *s, uint64_t *out)
{
	unsigned long long v;
	char *end;

	if (s == NULL || *s < '0' || *s > '9')
		return -1;   /* also refuses the sign strtoull would accept */
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end != '\0')
		return -1;
	*out = v;
	return 0;
}

char *
next_token(char **p)
{
	char *s = *p, *t;

	while (*s == ' ' || *s == '\t' || *s == '\n')
		s++;
	if (*s == '\0') {
		*p = s;
		return NULL;
	}
	t = s;
	while (*s && *s != ' ' && *s != '\t' && *s != '\n')
		s++;
	if (*s)
		*s++ = '\0';
	*p = s;
	return t;
}

int
meminfo_read(const char *root, struct meminfo *m, char *err, size_t errlen)
{
	static const struct {
		const char *key;
		size_t off;
	} keys[] = {
		{ "MemTotal:", offsetof(struct meminfo, total_kb) },
		{ "MemAvailable:", offsetof(struct meminfo, avail_kb) },
		{ "MemFree:", offsetof(struct meminfo, free_kb) },
		{ "Buffers:", offsetof(struct meminfo, buffers_kb) },
		{ "Cached:", offsetof(struct meminfo, cached_kb) },
		{ "SwapTotal:", offsetof(struct meminfo, swap_total_kb) },
		{ "SwapFree:", offsetof(struct meminfo, swap_free_kb) },
	};
	char buf[4096], *line, *next;
	size_t len, i;
	int have_swap_free = 0;

	memset(m, 0, sizeof(*m));
	if (procfs_read(root, "meminfo", buf, sizeof(buf), &len) < 0) {
		snprintf(err, errlen, "%s/meminfo: %s", root, strerror(errno));
		return -1;
	}
	for (line = buf; line && *line; line = next) {
		char *p, *key, *val;
		uint64_t v;

		if ((next = strchr(line, '\n')) != NULL)
			*next++ = '\0';
		p = line;
		if ((key = next_token(&p)) == NULL || (val = next_token(&p)) == NULL)
			continue;
		for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
			if (strcmp(key, keys[i].key) != 0)
				continue;
			if (parse_u64(val, &v) < 0) {
				snprintf(err, errlen, "%s/meminfo: bad number for %s", root, key);
				return -1;
			}
			*(uint64_t *)(void *)((char *)m + keys[i].off) = v;
			if (i == 0) m->have_total = 1;
			if (i == 1) m->have_avail = 1;
			if (i == 5) m->have_swap = 1;
			if (i == 6) have_swap_free = 1;
		}
	}
	if (!m->have_total || m->total_kb == 0) {
		snprintf(err, errlen, "%s/meminfo: no MemTotal", root);
		return -1;
	}
	if (m->have_swap && !have_swap_free) {
		snprintf(err, errlen, "%s/meminfo: SwapTotal without SwapFree", root);
		return -1;
	}
	return 0;
}

uint64_t
counter_delta(uint64_t cur, uint64_t prev, int *reset)
{
	if (cur >= prev)
		return cur - prev;
	if (prev <= UINT32_MAX)
		return (uint64_t)(uint32_t)((uint32_t)cur - (uint32_t)prev);
	*reset = 1;
	return 0;
}

void
human_bytes(double bytes, char *out, size_t size)
{
	static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB", "PiB" };
	size_t u = 0;

	while (bytes >= 1024.0 && u + 1 < sizeof(units) / sizeof(units[0])) {
		bytes /= 1024.0;
		u++;
	}
	snprintf(out, size, u ? "%.1f %s" : "%.0f %s", bytes, units[u]);
}
