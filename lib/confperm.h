/*
 * confperm.h - warn when a configuration file that holds secrets can be
 * read by every user of the host.
 *
 * A daemon calls conf_warn_secret_perms() once its file has loaded. The
 * check is advisory: the daemon starts either way (refusing would break
 * hosts that were fine yesterday), but the log says what is exposed and the
 * command that fixes it. Only the file's own mode counts ("others" may read
 * it: S_IROTH); a directory that keeps others out is not looked at. Group
 * read is the intended setup (0640 root:custos) and is not warned about.
 */
#ifndef CUSTOS_CONFPERM_H
#define CUSTOS_CONFPERM_H

#include <stddef.h>

/*
 * Looks at path: when it is readable by others and one of secret_keys
 * (NULL-terminated) is set there to a non-empty value, writes one sentence
 * naming the file, its mode, the keys and the fix into msg and returns 1.
 * Returns 0 when there is nothing to say (also for a NULL path: a daemon
 * started without -c runs on defaults), -1 when the file cannot be opened
 * or read, or conf.h's reader refuses it (msg says why; the config loader
 * reports that case itself).
 */
int conf_secret_exposure(const char *path, const char *const *secret_keys,
    char *msg, size_t msglen);

/*
 * conf_secret_exposure(), with a 1 logged as a warning (log.h). Returns
 * what conf_secret_exposure() returned; a -1 is not logged.
 */
int conf_warn_secret_perms(const char *path, const char *const *secret_keys);

#endif
