/*
 * atomicfile.h - replacing a file so that readers see the old or the new
 * contents, never half: write to PATH.tmp, then atomicfile_commit().
 */
#ifndef CUSTOS_ATOMICFILE_H
#define CUSTOS_ATOMICFILE_H

#include <stddef.h>
#include <stdio.h>

/*
 * Flushes fp (written to tmp), fsyncs it when sync is set, closes it and
 * renames tmp over path. fp is closed whatever happens; on failure tmp is
 * removed and err says why. 0 or -1.
 */
int atomicfile_commit(FILE *fp, const char *tmp, const char *path, int sync,
    char *err, size_t errlen);

/*
 * Writes len bytes of data to path atomically: PATH.tmp (mode 0600) gets
 * the bytes, then atomicfile_commit(). 0, or -1 with err (tmp removed).
 */
int atomicfile_write(const char *path, const void *data, size_t len, int sync,
    char *err, size_t errlen);

#endif
