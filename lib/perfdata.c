/*
 * perfdata.c - see perfdata.h. A single left-to-right pass: label, '=',
 * value+UOM, then up to four ';'-separated fields. Each field is copied into
 * a small stack buffer before the checked number/range parsers see it, so
 * nothing here depends on the input being writable or NUL-terminated early.
 */
#include "config.h"
#include "perfdata.h"
#include "strnum.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define PERF_FIELD_MAX 64   /* a number or range longer than this is an error */

static int perr(char *err, size_t errlen, size_t idx, const char *label,
    const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static int
perr(char *err, size_t errlen, size_t idx, const char *label, const char *fmt, ...)
{
	char why[160];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	if (label && *label)
		snprintf(err, errlen, "item %zu (%s): %s", idx, label, why);
	else
		snprintf(err, errlen, "item %zu: %s", idx, why);
	return -1;
}

/* Copies [p, e) into out (size n); -1 when it does not fit. */
static int
copy_field(const char *p, const char *e, char *out, size_t n)
{
	size_t len = (size_t)(e - p);

	if (len >= n)
		return -1;
	memcpy(out, p, len);
	out[len] = '\0';
	return 0;
}

/* Splits "12.5MB" into number and unit. Returns 0 or -1. */
static int
parse_value(const char *p, const char *e, struct perf_item *it)
{
	char num[PERF_FIELD_MAX];
	const char *q = p, *es;

	if (e - p == 1 && *p == 'U') {
		it->value_known = 0;
		return 0;
	}
	while (q < e && (isdigit((unsigned char)*q) || *q == '.' || *q == '-' || *q == '+'))
		q++;
	/* an exponent, as some plugins print 1e-05 */
	if (q < e && (*q == 'e' || *q == 'E') && q + 1 < e &&
	    (isdigit((unsigned char)q[1]) ||
	    ((q[1] == '-' || q[1] == '+') && q + 2 < e && isdigit((unsigned char)q[2])))) {
		q += 2;
		while (q < e && isdigit((unsigned char)*q))
			q++;
	}
	if (q == p || copy_field(p, q, num, sizeof(num)) < 0)
		return -1;
	it->value = str_to_double(num, &es);
	if (es)
		return -1;
	it->value_known = 1;
	if (copy_field(q, e, it->uom, sizeof(it->uom)) < 0)
		return -1;
	for (es = it->uom; *es; es++)
		if (!isalpha((unsigned char)*es) && *es != '%')
			return -1;
	return 0;
}

static int
parse_number(const char *p, const char *e, double *out)
{
	char num[PERF_FIELD_MAX];
	const char *es;

	if (copy_field(p, e, num, sizeof(num)) < 0)
		return -1;
	*out = str_to_double(num, &es);
	return es ? -1 : 0;
}

int
perfdata_parse(const char *s, struct perf_item *items, size_t max,
    size_t *count, char *err, size_t errlen)
{
	struct perf_item tmp;
	const char *p = s;
	size_t n = 0;

	*count = 0;
	if (s == NULL)
		return 0;
	for (;;) {
		struct perf_item *it = n < max ? &items[n] : &tmp;
		const char *e, *f;
		size_t li = 0;
		int field;

		while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
			p++;
		if (*p == '\0')
			break;
		n++;
		memset(it, 0, sizeof(*it));
		/* label */
		if (*p == '\'') {
			p++;
			for (;;) {
				if (*p == '\0')
					return perr(err, errlen, n, it->label, "%s", "unterminated quoted label");
				if (*p == '\'') {
					if (p[1] != '\'')
						break;
					p++;   /* '' is a literal quote */
				}
				if (li + 1 >= sizeof(it->label))
					return perr(err, errlen, n, NULL, "%s", "label too long");
				it->label[li++] = *p++;
			}
			p++;
			if (*p != '=')
				return perr(err, errlen, n, it->label, "%s", "expected '=' after the quoted label");
		} else {
			while (*p && *p != '=' && *p != ' ' && *p != '\t') {
				if (*p == '\'')
					return perr(err, errlen, n, NULL, "%s", "a quote inside an unquoted label");
				if (li + 1 >= sizeof(it->label))
					return perr(err, errlen, n, NULL, "%s", "label too long");
				it->label[li++] = *p++;
			}
			if (*p != '=')
				return perr(err, errlen, n, it->label, "%s", "expected label=value");
		}
		it->label[li] = '\0';
		if (li == 0)
			return perr(err, errlen, n, NULL, "%s", "empty label");
		p++;   /* '=' */
		/* the rest of the item runs to the next blank */
		e = p;
		while (*e && *e != ' ' && *e != '\t' && *e != '\n' && *e != '\r')
			e++;
		for (field = 0; field < 5; field++) {
			f = p;
			while (f < e && *f != ';')
				f++;
			switch (field) {
			case 0:
				if (parse_value(p, f, it) < 0) {
					char bad[PERF_FIELD_MAX];
					if (copy_field(p, f, bad, sizeof(bad)) < 0)
						return perr(err, errlen, n, it->label, "%s", "value too long");
					return perr(err, errlen, n, it->label, "bad value \"%s\"", bad);
				}
				break;
			case 1:
			case 2: {
				char *txt = field == 1 ? it->warn_text : it->crit_text;
				struct nrange *r = field == 1 ? &it->warn : &it->crit;
				if (f == p)
					break;
				if (copy_field(p, f, txt, PERF_RANGE_MAX) < 0 || range_parse(txt, r) < 0) {
					char bad[PERF_FIELD_MAX];
					if (copy_field(p, f, bad, sizeof(bad)) < 0)
						return perr(err, errlen, n, it->label, "%s", "threshold too long");
					return perr(err, errlen, n, it->label,
					    field == 1 ? "bad warning range \"%s\"" : "bad critical range \"%s\"", bad);
				}
				if (field == 1)
					it->has_warn = 1;
				else
					it->has_crit = 1;
				break;
			}
			case 3:
			case 4:
				if (f == p)
					break;
				if (parse_number(p, f, field == 3 ? &it->min : &it->max) < 0) {
					char bad[PERF_FIELD_MAX];
					if (copy_field(p, f, bad, sizeof(bad)) < 0)
						return perr(err, errlen, n, it->label, "%s", "number too long");
					return perr(err, errlen, n, it->label,
					    field == 3 ? "bad min \"%s\"" : "bad max \"%s\"", bad);
				}
				if (field == 3)
					it->has_min = 1;
				else
					it->has_max = 1;
				break;
			}
			if (f == e) {
				p = e;
				break;
			}
			if (field == 4) {
				/* one stray trailing ';' is tolerated, more fields are not */
				if (f + 1 != e)
					return perr(err, errlen, n, it->label, "%s", "more than five fields");
				p = e;
				break;
			}
			p = f + 1;   /* past ';' */
		}
	}
	*count = n;
	return 0;
}
