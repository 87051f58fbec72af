/*
 * range.c - see range.h.
 */
#include "config.h"
#include "range.h"
#include "strnum.h"

#include <string.h>

#define RANGE_MAX_LEN 64   /* longer text cannot be a sane range */

int
range_parse(const char *s, struct nrange *r)
{
	char tmp[RANGE_MAX_LEN + 1];
	const char *es;
	char *colon, *a, *b;
	size_t len;

	if (s == NULL)
		return -1;
	len = strlen(s);
	if (len == 0 || len > RANGE_MAX_LEN)
		return -1;
	memcpy(tmp, s, len + 1);
	memset(r, 0, sizeof(*r));
	a = tmp;
	if (*a == '@') {
		r->inside = 1;
		a++;
	}
	if ((colon = strchr(a, ':')) == NULL) {
		/* "10" means 0:10 */
		r->start = 0;
		r->end = str_to_double(a, &es);
		if (es)
			return -1;
	} else {
		*colon = '\0';
		b = colon + 1;
		if (strchr(b, ':'))
			return -1;
		if (strcmp(a, "~") == 0) {
			r->start_inf = 1;
		} else if (*a == '\0') {
			r->start = 0;   /* ":10" is accepted as 0:10 */
		} else {
			r->start = str_to_double(a, &es);
			if (es)
				return -1;
		}
		if (*b == '\0') {
			r->end_inf = 1;
		} else {
			r->end = str_to_double(b, &es);
			if (es)
				return -1;
		}
	}
	if (!r->start_inf && !r->end_inf && r->start > r->end)
		return -1;
	return 0;
}

int
range_alert(const struct nrange *r, double v)
{
	int inrange = (r->start_inf || v >= r->start) && (r->end_inf || v <= r->end);

	return r->inside ? inrange : !inrange;
}
