/*
 * confperm.c - the "this file holds a password and everyone can read it"
 * warning (see confperm.h).
 *
 * The file is read through conf.c's reader (conf_scan()), only to learn
 * which keys are set: values are never copied out, and the reader wipes
 * its line buffer before return. A file the reader refuses (conf_load()
 * refused it first) is an error here too, and nothing is warned about.
 */
#include "config.h"
#include "conf.h"
#include "confperm.h"
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SECRET_KEYS_MAX 16

/* What the scan looks for and what it found. */
struct look {
	const char *const *keys;
	size_t nkeys;
	int found[SECRET_KEYS_MAX];
};

static const char *
look_line(void *ud, const char *key, const char *value, int lineno, char *why, size_t whylen)
{
	struct look *l = ud;
	size_t i;

	(void)lineno;
	(void)why;
	(void)whylen;
	for (i = 0; i < l->nkeys; i++)
		if (strcmp(key, l->keys[i]) == 0 && *value != '\0')
			l->found[i] = 1;
	return NULL;
}

/* Appends " and key" (or "key" first) to names; silently stops when full. */
static void
add_name(char *names, size_t len, const char *key)
{
	size_t used = strlen(names);

	snprintf(names + used, len - used, "%s%s", used ? " and " : "", key);
}

int
conf_secret_exposure(const char *path, const char *const *secret_keys,
    char *msg, size_t msglen)
{
	char names[256] = "";
	struct look look;
	struct stat st;
	FILE *fp = NULL;
	int fd, rc = -1;
	size_t i;

	msg[0] = '\0';
	if (path == NULL)
		return 0;   /* no file: the built-in defaults hold no secret */
	memset(&look, 0, sizeof(look));
	look.keys = secret_keys;
	while (secret_keys[look.nkeys] && look.nkeys < SECRET_KEYS_MAX)
		look.nkeys++;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		snprintf(msg, msglen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) < 0) {
		snprintf(msg, msglen, "%s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	if (!S_ISREG(st.st_mode) || !(st.st_mode & S_IROTH)) {
		close(fd);
		msg[0] = '\0';
		return 0;
	}
	if ((fp = fdopen(fd, "r")) == NULL) {
		snprintf(msg, msglen, "%s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	if (conf_scan(fp, path, look_line, &look, msg, msglen) < 0)
		goto done;
	for (i = 0; i < look.nkeys; i++)
		if (look.found[i])
			add_name(names, sizeof(names), secret_keys[i]);
	if (names[0] == '\0') {
		msg[0] = '\0';
		rc = 0;
		goto done;
	}
	snprintf(msg, msglen, "%s holds %s and is readable by every user (mode %04o): "
	    "run chmod o-rwx %s (the packages install it 0640 root:custos)",
	    path, names, (unsigned)(st.st_mode & 07777), path);
	rc = 1;
done:
	fclose(fp);
	return rc;
}

int
conf_warn_secret_perms(const char *path, const char *const *secret_keys)
{
	char msg[1024];
	int rc = conf_secret_exposure(path, secret_keys, msg, sizeof(msg));

	if (rc == 1)
		log_warn("%s", msg);
	return rc;
}
