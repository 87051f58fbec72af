/*
 * atomicfile.c - see atomicfile.h.
 */
#include "config.h"
#include "atomicfile.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

int
atomicfile_commit(FILE *fp, const char *tmp, const char *path, int sync,
    char *err, size_t errlen)
{
	if (fflush(fp) != 0 || ferror(fp) || (sync && fsync(fileno(fp)) < 0)) {
		snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
		fclose(fp);
		unlink(tmp);
		return -1;
	}
	if (fclose(fp) != 0) {
		snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
		unlink(tmp);
		return -1;
	}
	if (rename(tmp, path) < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		unlink(tmp);
		return -1;
	}
	return 0;
}
