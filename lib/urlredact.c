/*
 * urlredact.c - see urlredact.h. One pass: each "://" is followed through
 * its authority; a JSON escape ("\"", "\\") inside it is stepped over
 * whole, so an escaped quote in a password neither ends the authority early
 * (and leaves the rest of the password shown) nor is cut in half.
 */
#include "config.h"
#include "urlredact.h"

#include <stdlib.h>
#include <string.h>

static const char MASK[] = "***";

/* the end of the authority starting at s[i], and its last '@' (or npos) */
static size_t
authority(const char *s, size_t len, size_t i, size_t *at)
{
	*at = (size_t)-1;
	while (i < len) {
		unsigned char c = (unsigned char)s[i];
		if (c == '\\' && i + 1 < len) {
			i += 2;
			continue;
		}
		if (c == '/' || c == '?' || c == '#' || c == '"' || c <= ' ')
			break;
		if (c == '@')
			*at = i;
		i++;
	}
	return i;
}

int
url_redact(const char *text, size_t len, char **out, size_t *out_len)
{
	const char *p;
	size_t i = 0, from = 0, n = 0, at, end;
	char *o = NULL;

	*out = NULL;
	while (i + 3 <= len && (p = memmem(text + i, len - i, "://", 3)) != NULL) {
		i = (size_t)(p - text) + 3;
		end = authority(text, len, i, &at);
		if (at == (size_t)-1 || at == i) {   /* none, or "http://@host" */
			i = end;
			continue;
		}
		if (o == NULL) {
			/* the result is never longer than text + "***" per URL, and
			 * a URL with userinfo takes at least 5 bytes ("://x@") */
			if ((o = malloc(len + (len / 5 + 1) * (sizeof(MASK) - 1) + 1)) == NULL)
				return -1;
		}
		memcpy(o + n, text + from, i - from);
		n += i - from;
		memcpy(o + n, MASK, sizeof(MASK) - 1);
		n += sizeof(MASK) - 1;
		from = at;          /* from the '@' on, as it was */
		i = end;
	}
	if (o == NULL)
		return 0;
	memcpy(o + n, text + from, len - from);
	n += len - from;
	o[n] = '\0';
	*out = o;
	*out_len = n;
	return 1;
}
