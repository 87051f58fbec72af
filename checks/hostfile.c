/*
 * hostfile.c - see hostfile.h.
 */
#include "config.h"
#include "hostfile.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statfs.h>
#include <unistd.h>

#ifndef PROC_SUPER_MAGIC
#define PROC_SUPER_MAGIC 0x9fa0
#endif
#ifndef SYSFS_MAGIC
#define SYSFS_MAGIC 0x62656572
#endif
#define DEBUGFS_MAGIC_ 0x64626720
#define SECURITYFS_MAGIC_ 0x73636673
#define TRACEFS_MAGIC_ 0x74726163
#define CGROUP_MAGIC_ 0x27e0eb
#define CGROUP2_MAGIC_ 0x63677270

/* file systems whose "regular files" the kernel makes up on read */
static const long kernel_fs[] = { PROC_SUPER_MAGIC, SYSFS_MAGIC, DEBUGFS_MAGIC_,
	SECURITYFS_MAGIC_, TRACEFS_MAGIC_, CGROUP_MAGIC_, CGROUP2_MAGIC_ };

static int
under(const char *resolved, const char *dir)
{
	size_t n = strlen(dir);

	while (n > 1 && dir[n - 1] == '/')
		n--;
	if (n == 1 && dir[0] == '/')
		return 1;
	return strncmp(resolved, dir, n) == 0 && resolved[n] == '/';
}

int
hostfile_allowed(const char *resolved, const char *dirs)
{
	char one[PATH_MAX], real[PATH_MAX];
	const char *s = dirs, *e;
	size_t n;

	if (dirs == NULL)
		return 1;
	while (*s) {
		s += strspn(s, " \t,:");
		e = s + strcspn(s, " \t,:");
		n = (size_t)(e - s);
		if (n > 0 && n < sizeof(one)) {
			memcpy(one, s, n);
			one[n] = '\0';
			/* a directory that does not exist allows nothing */
			if (one[0] == '/' && realpath(one, real) != NULL && under(resolved, real))
				return 1;
		}
		s = e;
	}
	return 0;
}

static const char *
kind(mode_t m)
{
	if (S_ISDIR(m))
		return "a directory";
	if (S_ISFIFO(m))
		return "a FIFO";
	if (S_ISSOCK(m))
		return "a socket";
	if (S_ISCHR(m) || S_ISBLK(m))
		return "a device";
	return "not a regular file";
}

int
hostfile_open(const char *path, const char *dirs, char *resolved, size_t rsize,
    struct stat *st, char *err, size_t errlen)
{
	char real[PATH_MAX];
	struct statfs sf;
	size_t i;
	int fd, saved;

	if (realpath(path, real) == NULL) {
		saved = errno;
		snprintf(err, errlen, "%s: %s", path, strerror(saved));
		errno = saved;
		return -1;
	}
	if (strlen(real) >= rsize) {
		snprintf(err, errlen, "%s: path too long", path);
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(resolved, real, strlen(real) + 1);
	if (!hostfile_allowed(real, dirs)) {
		snprintf(err, errlen, "%s%s%s is outside the directories this agent may read "
		    "(log_dirs = %s in its configuration)", path, strcmp(path, real) ? " -> " : "",
		    strcmp(path, real) ? real : "", dirs);
		errno = EACCES;
		return -1;
	}
	/* stat() first: opening a device can have effects (a tape rewinds) */
	if (stat(real, st) < 0) {
		saved = errno;
		snprintf(err, errlen, "%s: %s", path, strerror(saved));
		errno = saved;
		return -1;
	}
	if (!S_ISREG(st->st_mode)) {
		snprintf(err, errlen, "%s is %s: refused (only regular files are read)", path,
		    kind(st->st_mode));
		errno = EINVAL;
		return -1;
	}
	if ((fd = open(real, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_NOFOLLOW | O_CLOEXEC)) < 0) {
		saved = errno;
		snprintf(err, errlen, "%s: %s", path, strerror(saved));
		errno = saved;
		return -1;
	}
	if (fstat(fd, st) < 0 || fstatfs(fd, &sf) < 0) {
		saved = errno;
		snprintf(err, errlen, "%s: %s", path, strerror(saved));
		close(fd);
		errno = saved;
		return -1;
	}
	if (!S_ISREG(st->st_mode)) {
		snprintf(err, errlen, "%s is %s: refused (only regular files are read)", path,
		    kind(st->st_mode));
		close(fd);
		errno = EINVAL;
		return -1;
	}
	for (i = 0; i < sizeof(kernel_fs) / sizeof(kernel_fs[0]); i++)
		if ((long)sf.f_type == kernel_fs[i]) {
			snprintf(err, errlen, "%s is a kernel file (/proc, /sys): refused", path);
			close(fd);
			errno = EINVAL;
			return -1;
		}
	return fd;
}
