/*
 * schedule.c - see schedule.h. A cron expression becomes one bit set per
 * field; the next run is found by walking local days forward and, on a
 * matching day, its hours and minutes, mapping each candidate wall-clock
 * time to an instant with tz_from_local() (which is non-decreasing in the
 * wall-clock time, so the first candidate past t is the answer).
 */
#include "config.h"
#include "schedule.h"
#include "strnum.h"
#include "timeutil.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

struct field {
	const char *name;
	int lo, hi;
	const char *const *names;   /* names for lo.., or NULL */
};

static const char *const month_names[] = { "jan", "feb", "mar", "apr", "may", "jun", "jul",
	"aug", "sep", "oct", "nov", "dec", NULL };
static const char *const dow_names[] = { "sun", "mon", "tue", "wed", "thu", "fri", "sat",
	NULL };

static const struct field fields[5] = {
	{ "minute", 0, 59, NULL },
	{ "hour", 0, 23, NULL },
	{ "day-of-month", 1, 31, NULL },
	{ "month", 1, 12, month_names },
	{ "day-of-week", 0, 7, dow_names },   /* 7 is Sunday too */
};

static const struct { const char *alias, *expr; } aliases[] = {
	{ "@yearly", "0 0 1 1 *" },
	{ "@annually", "0 0 1 1 *" },
	{ "@monthly", "0 0 1 * *" },
	{ "@weekly", "0 0 * * 0" },
	{ "@daily", "0 0 * * *" },
	{ "@midnight", "0 0 * * *" },
	{ "@hourly", "0 * * * *" },
};

/* A number or (for month and weekday) a three-letter name, [s, e). */
static int
value(const struct field *f, const char *s, const char *e, int *out, char *err, size_t errlen)
{
	char tmp[16];
	const char *es;
	size_t n = (size_t)(e - s);
	long long v;
	int i;

	if (n == 0 || n >= sizeof(tmp)) {
		snprintf(err, errlen, "%s field: empty or overlong value", f->name);
		return -1;
	}
	memcpy(tmp, s, n);
	tmp[n] = '\0';
	if (f->names && n == 3)
		for (i = 0; f->names[i]; i++)
			if (strcasecmp(tmp, f->names[i]) == 0) {
				*out = f->lo + i;
				return 0;
			}
	v = str_to_ll(tmp, f->lo, f->hi, &es);
	if (es) {
		snprintf(err, errlen, "%s field: \"%s\" is not a number in %d-%d%s", f->name, tmp,
		    f->lo, f->hi, f->names ? " or a name" : "");
		return -1;
	}
	*out = (int)v;
	return 0;
}

/* One field's text [s, e) into a bit set; *star when it starts with '*'. */
static int
parse_field(const struct field *f, const char *s, const char *e, uint64_t *bits, int *star,
    char *err, size_t errlen)
{
	const char *p = s;

	*bits = 0;
	*star = *s == '*';
	while (p < e) {
		const char *item_end = memchr(p, ',', (size_t)(e - p)), *slash, *dash;
		int a, b, step = 1, v;
		if (item_end == NULL)
			item_end = e;
		slash = memchr(p, '/', (size_t)(item_end - p));
		if (slash) {
			const char *es;
			char tmp[8];
			size_t n = (size_t)(item_end - slash - 1);
			if (n == 0 || n >= sizeof(tmp)) {
				snprintf(err, errlen, "%s field: bad step", f->name);
				return -1;
			}
			memcpy(tmp, slash + 1, n);
			tmp[n] = '\0';
			step = (int)str_to_ll(tmp, 1, f->hi - f->lo + 1, &es);
			if (es) {
				snprintf(err, errlen, "%s field: step \"%s\" is not in 1-%d", f->name, tmp,
				    f->hi - f->lo + 1);
				return -1;
			}
		}
		{
			const char *re = slash ? slash : item_end;
			if (re - p == 1 && *p == '*') {
				a = f->lo;
				b = f->hi == 7 ? 6 : f->hi;
			} else {
				dash = memchr(p, '-', (size_t)(re - p));
				if (value(f, p, dash ? dash : re, &a, err, errlen) < 0)
					return -1;
				if (dash) {
					if (value(f, dash + 1, re, &b, err, errlen) < 0)
						return -1;
					if (b < a) {
						snprintf(err, errlen, "%s field: range %d-%d runs backwards",
						    f->name, a, b);
						return -1;
					}
				} else {
					/* "5/15" is "5-last/15" */
					b = slash ? (f->hi == 7 ? 6 : f->hi) : a;
				}
			}
		}
		for (v = a; v <= b; v += step)
			*bits |= (uint64_t)1 << (f->hi == 7 && v == 7 ? 0 : v);
		p = item_end + (item_end < e);
		if (item_end < e && p == e) {
			snprintf(err, errlen, "%s field: trailing comma", f->name);
			return -1;
		}
	}
	if (*bits == 0) {
		snprintf(err, errlen, "%s field: empty", f->name);
		return -1;
	}
	return 0;
}

static int
parse_every(const char *p, struct schedule *s, char *err, size_t errlen)
{
	char num[24];
	const char *es;
	size_t n = 0;
	long long v, mul;

	while (*p == ' ')
		p++;
	while (p[n] >= '0' && p[n] <= '9' && n < sizeof(num) - 1)
		n++;
	memcpy(num, p, n);
	num[n] = '\0';
	switch (p[n]) {
	case 's': mul = 1; break;
	case 'm': mul = 60; break;
	case 'h': mul = 3600; break;
	case 'd': mul = 86400; break;
	default: mul = 0; break;
	}
	v = str_to_ll(num, 1, SCHEDULE_EVERY_MAX, &es);
	if (n == 0 || es || mul == 0 || p[n + 1] != '\0' || v * mul > SCHEDULE_EVERY_MAX) {
		snprintf(err, errlen, "\"every\" wants a period such as 30s, 5m, 2h or 1d"
		    " (at most 366 days)");
		return -1;
	}
	s->every_s = v * mul;
	return 0;
}

int
schedule_parse(const char *text, struct schedule *s, char *err, size_t errlen)
{
	const char *p = text, *start[5], *end[5];
	uint64_t bits[5];
	int star[5], i, nf = 0;
	size_t k;

	memset(s, 0, sizeof(*s));
	if (text == NULL || strlen(text) >= SCHEDULE_TEXT_MAX) {
		snprintf(err, errlen, "schedule is missing or longer than %d characters",
		    SCHEDULE_TEXT_MAX - 1);
		return -1;
	}
	while (*p == ' ')
		p++;
	if (strncmp(p, "every ", 6) == 0)
		return parse_every(p + 6, s, err, errlen);
	for (k = 0; k < sizeof(aliases) / sizeof(aliases[0]); k++)
		if (strcmp(p, aliases[k].alias) == 0) {
			p = aliases[k].expr;
			break;
		}
	while (*p) {
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p == '\0')
			break;
		if (nf == 5) {
			snprintf(err, errlen, "a cron expression has five fields"
			    " (minute hour day-of-month month day-of-week), or use \"every 5m\"");
			return -1;
		}
		start[nf] = p;
		while (*p && *p != ' ' && *p != '\t')
			p++;
		end[nf++] = p;
	}
	if (nf != 5) {
		snprintf(err, errlen, "a cron expression has five fields"
		    " (minute hour day-of-month month day-of-week), or use \"every 5m\"");
		return -1;
	}
	for (i = 0; i < 5; i++)
		if (parse_field(&fields[i], start[i], end[i], &bits[i], &star[i], err, errlen) < 0)
			return -1;
	s->minute = bits[0];
	s->hour = (uint32_t)bits[1];
	s->dom = (uint32_t)bits[2];
	s->month = (uint32_t)bits[3];
	s->dow = (uint32_t)bits[4];
	s->dom_star = star[2];
	s->dow_star = star[4];
	/* one that never fires (February 30) is a mistake worth saying now */
	if (schedule_next(s, NULL, 0) < 0) {
		snprintf(err, errlen, "this cron expression never fires (a day the month never has?)");
		return -1;
	}
	return 0;
}

static int
day_matches(const struct schedule *s, int64_t days)
{
	int64_t y;
	unsigned m, d;
	int dom_ok, dow_ok;

	civil_from_days(days, &y, &m, &d);
	if (!(s->month & (1u << m)))
		return 0;
	dom_ok = (s->dom >> d) & 1;
	dow_ok = (s->dow >> tz_weekday(days)) & 1;
	if (s->dom_star || s->dow_star)
		return dom_ok && dow_ok;   /* a '*' field matches every day anyway */
	return dom_ok || dow_ok;       /* both restricted: either (cron's rule) */
}

int64_t
schedule_next(const struct schedule *s, const struct tz *z, int64_t t)
{
	int64_t local, l0, day0, day;

	if (s->every_s > 0)
		return t + s->every_s;
	local = z ? tz_to_local(z, t) : t;
	/* two hours back: a wall-clock time before local(t) may still name an
	 * instant after t where the clock was set back */
	l0 = local - 7200;
	day0 = l0 >= 0 ? l0 / 86400 : -((-l0 + 86399) / 86400);
	for (day = day0; day < day0 + SCHEDULE_HORIZON_DAYS; day++) {
		int h, m;
		if (!day_matches(s, day))
			continue;
		for (h = 0; h < 24; h++) {
			if (!((s->hour >> h) & 1))
				continue;
			for (m = 0; m < 60; m++) {
				int64_t l, at;
				if (!((s->minute >> m) & 1))
					continue;
				l = day * 86400 + h * 3600 + m * 60;
				if (l < l0)
					continue;
				at = z ? tz_from_local(z, l, NULL) : l;
				if (at > t)
					return at;
			}
		}
	}
	return -1;
}
