/*
 * confperm.c - the "this file holds a password and everyone can read it"
 * warning (see confperm.h).
 *
 * The file is read again, line by line, with the same syntax rules as
 * conf.c ("key = value", '#' comments, surrounding blanks trimmed), but only
 * to learn which keys are set: values are never copied out, and the line
 * buffer is wiped before return. A line longer than the buffer is skipped
 * whole (conf.c refuses such a file anyway).
 */
#include "config.h"
#include "confperm.h"
#include "log.h"
#include "token.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CONFPERM_LINE 4096   /* bytes per line; longer lines are skipped */

/* Trims blanks on both sides, in place; returns the first non-blank. */
static char *
trim(char *s)
{
	char *e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

/* 1 when the value is empty: nothing, "" or only a comment. */
static int
value_empty(const char *v)
{
	return *v == '\0' || *v == '#' || (v[0] == '"' && v[1] == '"');
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
	char line[CONFPERM_LINE + 2], names[256] = "";
	int found[16] = { 0 };
	struct stat st;
	FILE *fp = NULL;
	int fd, rc = -1, whole = 1;
	size_t i, nkeys = 0;

	msg[0] = '\0';
	if (path == NULL)
		return 0;   /* no file: the built-in defaults hold no secret */
	while (secret_keys[nkeys] && nkeys < sizeof(found) / sizeof(found[0]))
		nkeys++;
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
	while (fgets(line, sizeof(line), fp)) {
		size_t len = strlen(line);
		int was_whole = whole;
		char *p, *eq, *key;

		whole = len > 0 && line[len - 1] == '\n';
		if (!was_whole || !whole)
			continue;   /* part of an over-long line */
		p = trim(line);
		if (*p == '#' || (eq = strchr(p, '=')) == NULL)
			continue;
		*eq = '\0';
		key = trim(p);
		for (i = 0; i < nkeys; i++)
			if (strcmp(key, secret_keys[i]) == 0 && !value_empty(trim(eq + 1)))
				found[i] = 1;
	}
	if (ferror(fp)) {
		snprintf(msg, msglen, "%s: read error", path);
		goto done;
	}
	for (i = 0; i < nkeys; i++)
		if (found[i])
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
	secure_zero(line, sizeof(line));
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
