/*
 * tz.c - see tz.h. The TZif reader takes the v2+ body (64-bit times) and
 * its footer; a v1-only file (no longer made by zic) is refused. The
 * footer's POSIX rule covers instants after the last transition: dates in
 * the forms Mm.w.d, Jn and n, times with sign and hours past 24 (v3).
 *
 * The cache is a fixed table under one mutex; a loaded zone is never
 * changed or freed while the process runs, so readers need no lock.
 */
#include "config.h"
#include "tz.h"
#include "timeutil.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TZ_FILE_MAX (256 * 1024)    /* the largest zoneinfo file is ~4 kB */
#define TZ_CACHE_MAX 1024           /* more zone names than tzdata has */

struct tz_rule_date {
	char kind;          /* 'M', 'J' or 'n' */
	int m, w, d;        /* Mm.w.d; for J and n the day is in d */
	int32_t time;       /* seconds after local midnight (may be < 0 or > 24 h) */
};

struct tz_rule {
	int present;        /* a footer rule exists */
	int32_t std_off;    /* seconds east of UTC */
	int has_dst;
	int32_t dst_off;
	struct tz_rule_date start, end;
};

struct tz {
	char name[TZ_NAME_MAX];
	size_t n;           /* transitions */
	int64_t *at;        /* transition instants, ascending */
	int32_t *off;       /* the offset from each transition on */
	int32_t off0;       /* before the first transition */
	struct tz_rule rule;
};

static pthread_mutex_t cache_mu = PTHREAD_MUTEX_INITIALIZER;
static struct tz *cache[TZ_CACHE_MAX];
static size_t ncache;

/* ---- civil calendar: days_from_civil() and civil_from_days(), timeutil.h -- */

unsigned
tz_weekday(int64_t days)
{
	int64_t w = (days + 4) % 7;   /* 1970-01-01 was a Thursday */

	return (unsigned)(w < 0 ? w + 7 : w);
}

static int64_t
floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;

	return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

static int
is_leap(int64_t y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static unsigned
month_days(int64_t y, unsigned m)
{
	static const unsigned md[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };

	return m == 2 && is_leap(y) ? 29 : md[m - 1];
}

/* ---- the POSIX TZ rule of the footer --------------------------------------- */

/* hh[:mm[:ss]] with optional sign; hours up to 167 (v3). -1 on error. */
static int
parse_hms(const char **pp, int32_t *out)
{
	const char *p = *pp;
	int sign = 1, part = 0;
	int32_t v[3] = { 0, 0, 0 };

	if (*p == '+' || *p == '-')
		sign = *p++ == '-' ? -1 : 1;
	for (;;) {
		int digits = 0;
		while (*p >= '0' && *p <= '9' && digits < 3) {
			v[part] = v[part] * 10 + (*p++ - '0');
			digits++;
		}
		if (digits == 0)
			return -1;
		if (part == 2 || *p != ':')
			break;
		p++;
		part++;
	}
	if (v[0] > 167 || v[1] > 59 || v[2] > 59)
		return -1;
	*out = sign * (v[0] * 3600 + v[1] * 60 + v[2]);
	*pp = p;
	return 0;
}

static int
parse_abbr(const char **pp)
{
	const char *p = *pp;
	int n = 0;

	if (*p == '<') {
		p++;
		while (*p && *p != '>')
			p++, n++;
		if (*p != '>')
			return -1;
		p++;
	} else {
		while ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z'))
			p++, n++;
	}
	if (n < 3)
		return -1;
	*pp = p;
	return 0;
}

static int
parse_num(const char **pp, int lo, int hi, int *out)
{
	const char *p = *pp;
	int v = 0, digits = 0;

	while (*p >= '0' && *p <= '9' && digits < 4) {
		v = v * 10 + (*p++ - '0');
		digits++;
	}
	if (digits == 0 || v < lo || v > hi)
		return -1;
	*out = v;
	*pp = p;
	return 0;
}

static int
parse_rule_date(const char **pp, struct tz_rule_date *rd)
{
	const char *p = *pp;

	memset(rd, 0, sizeof(*rd));
	if (*p == 'M') {
		p++;
		rd->kind = 'M';
		if (parse_num(&p, 1, 12, &rd->m) < 0 || *p++ != '.' ||
		    parse_num(&p, 1, 5, &rd->w) < 0 || *p++ != '.' ||
		    parse_num(&p, 0, 6, &rd->d) < 0)
			return -1;
	} else if (*p == 'J') {
		p++;
		rd->kind = 'J';
		if (parse_num(&p, 1, 365, &rd->d) < 0)
			return -1;
	} else {
		rd->kind = 'n';
		if (parse_num(&p, 0, 365, &rd->d) < 0)
			return -1;
	}
	rd->time = 7200;
	if (*p == '/') {
		p++;
		if (parse_hms(&p, &rd->time) < 0)
			return -1;
	}
	*pp = p;
	return 0;
}

/* "STDoff[DST[off][,start[/time],end[/time]]]"; offsets are west-positive */
static int
parse_rule(const char *s, struct tz_rule *r)
{
	const char *p = s;
	int32_t o;

	memset(r, 0, sizeof(*r));
	if (*p == '\0')
		return 0;   /* no footer: the transitions are all there is */
	if (parse_abbr(&p) < 0 || parse_hms(&p, &o) < 0)
		return -1;
	r->std_off = -o;
	r->present = 1;
	if (*p == '\0')
		return 0;
	if (parse_abbr(&p) < 0)
		return -1;
	r->has_dst = 1;
	r->dst_off = r->std_off + 3600;
	if (*p && *p != ',') {
		if (parse_hms(&p, &o) < 0)
			return -1;
		r->dst_off = -o;
	}
	if (*p != ',')
		return -1;   /* zic always writes the rule; without it POSIX says "implementation-defined" */
	p++;
	if (parse_rule_date(&p, &r->start) < 0 || *p++ != ',' ||
	    parse_rule_date(&p, &r->end) < 0 || *p != '\0')
		return -1;
	return 0;
}

/* The local midnight (as seconds) of a rule date in year y. */
static int64_t
rule_day(const struct tz_rule_date *rd, int64_t y)
{
	int64_t days;

	if (rd->kind == 'M') {
		int64_t first = days_from_civil(y, (unsigned)rd->m, 1);
		unsigned wd0 = tz_weekday(first);
		int64_t day = 1 + (rd->d - (int)wd0 + 7) % 7 + (rd->w - 1) * 7;
		while (day > (int64_t)month_days(y, (unsigned)rd->m))
			day -= 7;
		days = first + day - 1;
	} else if (rd->kind == 'J') {
		/* 1..365, February 29 never counted */
		int64_t d = rd->d;
		days = days_from_civil(y, 1, 1) + d - 1;
		if (is_leap(y) && d >= 60)
			days++;
	} else {
		days = days_from_civil(y, 1, 1) + rd->d;
	}
	return days * 86400;
}

static int
rule_offset(const struct tz_rule *r, int64_t t)
{
	int64_t y, start, end;
	unsigned m, d;

	if (!r->has_dst)
		return r->std_off;
	civil_from_days(floor_div(t + r->std_off, 86400), &y, &m, &d);
	/* start is given in standard local time, end in daylight local time */
	start = rule_day(&r->start, y) + r->start.time - r->std_off;
	end = rule_day(&r->end, y) + r->end.time - r->dst_off;
	if (start < end)
		return t >= start && t < end ? r->dst_off : r->std_off;
	/* the southern hemisphere: daylight time spans the new year */
	return t >= end && t < start ? r->std_off : r->dst_off;
}

/* ---- the TZif reader ------------------------------------------------------- */

static uint32_t
be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int64_t
be64(const unsigned char *p)
{
	return (int64_t)((uint64_t)be32(p) << 32 | be32(p + 4));
}

struct tzif_hdr {
	uint32_t isut, isstd, leap, time, type, chars;
};

static int
read_hdr(const unsigned char *p, size_t len, struct tzif_hdr *h)
{
	if (len < 44 || memcmp(p, "TZif", 4) != 0)
		return -1;
	h->isut = be32(p + 20);
	h->isstd = be32(p + 24);
	h->leap = be32(p + 28);
	h->time = be32(p + 32);
	h->type = be32(p + 36);
	h->chars = be32(p + 40);
	if (h->type == 0 || h->type > 256 || h->time > 100000 || h->leap > 10000 ||
	    h->chars > 100000 || h->isut > 256 || h->isstd > 256)
		return -1;
	return 0;
}

static size_t
body_len(const struct tzif_hdr *h, size_t tsize)
{
	return h->time * tsize + h->time + h->type * 6 + h->chars + h->leap * (tsize + 4) +
	    h->isstd + h->isut;
}

static int
parse_tzif(const unsigned char *p, size_t len, struct tz *z)
{
	struct tzif_hdr h;
	const unsigned char *b, *idx, *types, *foot;
	size_t v1, v2, i, flen;
	char footer[128];

	if (read_hdr(p, len, &h) < 0 || p[4] < '2')
		return -1;
	v1 = 44 + body_len(&h, 4);
	if (len < v1 || read_hdr(p + v1, len - v1, &h) < 0)
		return -1;
	b = p + v1 + 44;
	v2 = body_len(&h, 8);
	if ((size_t)(p + len - b) < v2)
		return -1;
	idx = b + h.time * 8;
	types = idx + h.time;
	z->n = h.time;
	if (z->n > 0) {
		z->at = calloc(z->n, sizeof(*z->at));
		z->off = calloc(z->n, sizeof(*z->off));
		if (z->at == NULL || z->off == NULL)
			return -1;
	}
	for (i = 0; i < z->n; i++) {
		unsigned t = idx[i];
		if (t >= h.type)
			return -1;
		z->at[i] = be64(b + i * 8);
		if (i > 0 && z->at[i] <= z->at[i - 1])
			return -1;
		z->off[i] = (int32_t)be32(types + t * 6);
	}
	z->off0 = (int32_t)be32(types);   /* RFC 8536: type 0 before the first */
	/* the footer: "\n<rule>\n" */
	foot = b + v2;
	flen = (size_t)(p + len - foot);
	footer[0] = '\0';
	if (flen >= 2 && foot[0] == '\n') {
		const unsigned char *nl = memchr(foot + 1, '\n', flen - 1);
		size_t fl;
		if (nl == NULL || (fl = (size_t)(nl - foot - 1)) >= sizeof(footer))
			return -1;
		memcpy(footer, foot + 1, fl);
		footer[fl] = '\0';
	}
	return parse_rule(footer, &z->rule);
}

static void
tz_free(struct tz *z)
{
	if (z) {
		free(z->at);
		free(z->off);
		free(z);
	}
}

/* Area/Location names only: letters, digits, '_', '-', '+', '/' between parts. */
static int
name_ok(const char *name)
{
	const char *p;
	size_t n = strlen(name);

	if (n == 0 || n >= TZ_NAME_MAX || name[0] == '/' || name[0] == '.' || strstr(name, ".."))
		return 0;
	for (p = name; *p; p++)
		if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
		    (*p >= '0' && *p <= '9') || *p == '_' || *p == '-' || *p == '+' || *p == '/'))
			return 0;
	return name[n - 1] != '/';
}

static struct tz *
tz_load(const char *name, char *err, size_t errlen)
{
	const char *dir = getenv("TZDIR");
	char path[512];
	unsigned char *data = NULL;
	struct tz *z = NULL;
	FILE *fp = NULL;
	size_t len = 0, got;

	if (!name_ok(name)) {
		snprintf(err, errlen, "\"%s\" is not a time zone name (e.g. Europe/Berlin)", name);
		return NULL;
	}
	if ((z = calloc(1, sizeof(*z))) == NULL)
		goto nomem;
	memcpy(z->name, name, strlen(name) + 1);
	if (strcmp(name, "UTC") == 0) {
		z->rule.present = 1;   /* no file needed: offset 0 forever */
		return z;
	}
	snprintf(path, sizeof(path), "%s/%s", dir && *dir ? dir : "/usr/share/zoneinfo", name);
	if ((fp = fopen(path, "rb")) == NULL) {
		snprintf(err, errlen, "unknown time zone \"%s\" (%s)", name,
		    errno == ENOENT ? "no such zone" : strerror(errno));
		goto fail;
	}
	if ((data = malloc(TZ_FILE_MAX)) == NULL)
		goto nomem;
	while ((got = fread(data + len, 1, TZ_FILE_MAX - len, fp)) > 0)
		len += got;
	if (ferror(fp) || len == TZ_FILE_MAX || parse_tzif(data, len, z) < 0) {
		snprintf(err, errlen, "\"%s\" is not a time zone (unreadable zoneinfo file)", name);
		goto fail;
	}
	fclose(fp);
	free(data);
	return z;
nomem:
	snprintf(err, errlen, "out of memory");
fail:
	if (fp)
		fclose(fp);
	free(data);
	tz_free(z);
	return NULL;
}

const struct tz *
tz_get(const char *name, char *err, size_t errlen)
{
	struct tz *z = NULL;
	size_t i;

	pthread_mutex_lock(&cache_mu);
	for (i = 0; i < ncache; i++)
		if (strcmp(cache[i]->name, name) == 0) {
			z = cache[i];
			break;
		}
	if (z == NULL && (z = tz_load(name, err, errlen)) != NULL) {
		if (ncache < TZ_CACHE_MAX) {
			cache[ncache++] = z;
		} else {
			/* cannot happen with real zone names; refuse rather than leak */
			tz_free(z);
			z = NULL;
			snprintf(err, errlen, "too many time zones in use");
		}
	}
	pthread_mutex_unlock(&cache_mu);
	return z;
}

void
tz_cache_free(void)
{
	size_t i;

	pthread_mutex_lock(&cache_mu);
	for (i = 0; i < ncache; i++)
		tz_free(cache[i]);
	ncache = 0;
	pthread_mutex_unlock(&cache_mu);
}

const char *
tz_name(const struct tz *z)
{
	return z->name;
}

int
tz_offset(const struct tz *z, int64_t t)
{
	size_t lo = 0, hi = z->n;

	if (z->n == 0)
		return z->rule.present ? rule_offset(&z->rule, t) : z->off0;
	if (t < z->at[0])
		return z->off0;
	if (t >= z->at[z->n - 1] && z->rule.present)
		return rule_offset(&z->rule, t);
	/* the last transition at or before t */
	while (hi - lo > 1) {
		size_t mid = (lo + hi) / 2;
		if (z->at[mid] <= t)
			lo = mid;
		else
			hi = mid;
	}
	return z->off[lo];
}

int64_t
tz_to_local(const struct tz *z, int64_t t)
{
	return t + tz_offset(z, t);
}

int64_t
tz_from_local(const struct tz *z, int64_t local, int *kind)
{
	/* offsets change at most once within two days anywhere: the offsets a
	 * day either side are the two candidates */
	int oa = tz_offset(z, local - 86400), ob = tz_offset(z, local + 86400);
	int64_t ta = local - oa, tb = local - ob, lo, hi;
	int va = tz_offset(z, ta) == oa, vb = tz_offset(z, tb) == ob;

	if (kind)
		*kind = 0;
	if (va && vb) {
		if (ta != tb && kind)
			*kind = 1;
		return ta < tb ? ta : tb;
	}
	if (va)
		return ta;
	if (vb)
		return tb;
	/* a gap: the first instant whose offset is the later one */
	if (kind)
		*kind = 2;
	lo = ta < tb ? ta : tb;
	hi = ta < tb ? tb : ta;
	while (hi - lo > 1) {
		int64_t mid = lo + (hi - lo) / 2;
		if (tz_offset(z, mid) == ob)
			hi = mid;
		else
			lo = mid;
	}
	return tz_offset(z, lo) == ob ? lo : hi;
}
