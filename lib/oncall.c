/*
 * oncall.c - rotations and quiet hours on a zone's wall clock (oncall.h).
 *
 * The method for both: turn the instant into wall-clock seconds
 * (tz_to_local), do the calendar arithmetic there as plain integers, and
 * turn each boundary found back into an instant (tz_from_local). A guess
 * made on the wall clock is then checked against the boundaries' instants,
 * since around a change the wall clock runs backwards for an hour.
 */
#include "config.h"
#include "oncall.h"
#include "strnum.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define DAY 86400

static int64_t
floor_div(int64_t a, int64_t b)
{
	return a / b - ((a % b != 0) && ((a < 0) != (b < 0)));
}

static int64_t
floor_mod(int64_t a, int64_t b)
{
	return a - floor_div(a, b) * b;
}

static const char *const wday_names[7] = { "sun", "mon", "tue", "wed", "thu", "fri", "sat" };
static const char *const wday_long[7] = { "sunday", "monday", "tuesday", "wednesday",
	"thursday", "friday", "saturday" };

int
weekday_parse(const char *text, int *wday, char *err, size_t errlen)
{
	for (int i = 0; i < 7; i++)
		if (strcasecmp(text, wday_names[i]) == 0 || strcasecmp(text, wday_long[i]) == 0) {
			*wday = i;
			return 0;
		}
	snprintf(err, errlen, "\"%.32s\" is not a day of the week (sun..sat)", text);
	return -1;
}

int
hhmm_parse(const char *text, int *min, char *err, size_t errlen)
{
	const char *p = text;
	int h = 0, m = 0, nd = 0;

	while (isdigit((unsigned char)*p) && nd < 2)
		h = h * 10 + (*p++ - '0'), nd++;
	if (nd == 0 || *p++ != ':' || !isdigit((unsigned char)p[0]) ||
	    !isdigit((unsigned char)p[1]) || p[2] != '\0')
		goto bad;
	m = (p[0] - '0') * 10 + (p[1] - '0');
	if (h > 23 || m > 59)
		goto bad;
	*min = h * 60 + m;
	return 0;
bad:
	snprintf(err, errlen, "\"%.32s\" is not a time of day (HH:MM, 00:00-23:59)", text);
	return -1;
}

int
shift_parse(const char *text, struct rotation *r, char *err, size_t errlen)
{
	if (strcmp(text, "day") == 0) {
		r->kind = SHIFT_DAY;
		r->hours = 24;
		return 0;
	}
	if (strcmp(text, "week") == 0) {
		r->kind = SHIFT_WEEK;
		r->hours = 24 * 7;
		return 0;
	}
	if (strncmp(text, "hours:", 6) == 0) {
		const char *es;
		long long h = str_to_ll(text + 6, 1, 24, &es);

		/* a divisor of 24, so hand-offs fall at the same wall-clock
		 * times every day (12 h: 09:00 and 21:00) */
		if (es == NULL && 24 % h == 0) {
			r->kind = h == 24 ? SHIFT_DAY : SHIFT_HOURS;
			r->hours = (int)h;
			return 0;
		}
	}
	snprintf(err, errlen, "shift \"%.32s\" is not \"day\", \"week\" or \"hours:N\" "
	    "with N dividing 24 (1, 2, 3, 4, 6, 8, 12)", text);
	return -1;
}

/* The wall-clock second of the first hand-off, and the shift's length. */
static void
rotation_base(const struct rotation *r, int64_t *base, int64_t *len)
{
	int64_t day = r->start_day;

	if (r->kind == SHIFT_WEEK)
		day += floor_mod((int64_t)r->handoff_wday - (int64_t)tz_weekday(day), 7);
	*base = day * DAY + (int64_t)r->handoff_min * 60;
	*len = r->kind == SHIFT_WEEK ? 7 * DAY : r->kind == SHIFT_DAY ? DAY : (int64_t)r->hours * 3600;
}

void
rotation_at(const struct rotation *r, const struct tz *z, int64_t t, struct shift *out)
{
	int64_t base, len, k, s0, s1;

	rotation_base(r, &base, &len);
	k = floor_div(tz_to_local(z, t) - base, len);
	/* the wall clock repeats an hour in autumn and skips one in spring:
	 * settle k on the instants (a step or two at most) */
	s0 = tz_from_local(z, base + k * len, NULL);
	for (int i = 0; i < 4 && t < s0; i++)
		s0 = tz_from_local(z, base + --k * len, NULL);
	s1 = tz_from_local(z, base + (k + 1) * len, NULL);
	for (int i = 0; i < 4 && t >= s1; i++) {
		k++;
		s0 = s1;
		s1 = tz_from_local(z, base + (k + 1) * len, NULL);
	}
	out->member = (size_t)floor_mod(k, (int64_t)(r->members ? r->members : 1));
	out->start = s0;
	out->end = s1;
}

/* "mon", "mon-fri", "fri-mon", "sat,sun", "daily" into a bit set. */
static int
days_parse(const char *text, unsigned *days, char *err, size_t errlen)
{
	char buf[64], *save = NULL, *tok;

	*days = 0;
	if (strcasecmp(text, "daily") == 0) {
		*days = 0x7f;
		return 0;
	}
	if (strlen(text) >= sizeof(buf)) {
		snprintf(err, errlen, "days \"%.32s...\" are too long", text);
		return -1;
	}
	memcpy(buf, text, strlen(text) + 1);
	for (tok = strtok_r(buf, ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save)) {
		char *dash = strchr(tok, '-');
		int a, b;

		if (dash != NULL)
			*dash = '\0';
		if (weekday_parse(tok, &a, err, errlen) < 0)
			return -1;
		b = a;
		if (dash != NULL && weekday_parse(dash + 1, &b, err, errlen) < 0)
			return -1;
		for (int d = a;; d = (d + 1) % 7) {
			*days |= 1u << d;
			if (d == b)
				break;
		}
	}
	if (*days == 0) {
		snprintf(err, errlen, "no day named in \"%.32s\"", text);
		return -1;
	}
	return 0;
}

int
quiet_window_parse(const char *text, struct quiet_window *w, char *err, size_t errlen)
{
	char days[64], from[8], to[8];
	const char *sp = strchr(text, ' '), *dash;
	size_t n;

	if (sp == NULL || (size_t)(sp - text) >= sizeof(days))
		goto bad;
	n = (size_t)(sp - text);
	memcpy(days, text, n);
	days[n] = '\0';
	while (*sp == ' ')
		sp++;
	if ((dash = strchr(sp, '-')) == NULL || (size_t)(dash - sp) >= sizeof(from) ||
	    strlen(dash + 1) >= sizeof(to))
		goto bad;
	memcpy(from, sp, (size_t)(dash - sp));
	from[dash - sp] = '\0';
	memcpy(to, dash + 1, strlen(dash + 1) + 1);
	if (days_parse(days, &w->days, err, errlen) < 0 ||
	    hhmm_parse(from, &w->from_min, err, errlen) < 0 ||
	    hhmm_parse(to, &w->to_min, err, errlen) < 0)
		return -1;
	return 0;
bad:
	snprintf(err, errlen, "\"%.64s\" is not \"DAYS HH:MM-HH:MM\" "
	    "(\"mon-fri 22:00-07:00\", \"sat,sun 00:00-00:00\", \"daily 23:00-06:30\")", text);
	return -1;
}

/* The end (wall clock) of the window containing wall-clock second l, or 0. */
static int64_t
window_end(const struct quiet_window *w, size_t n, int64_t l)
{
	int64_t today = floor_div(l, DAY), best = 0;

	for (size_t i = 0; i < n; i++) {
		int64_t dur = (int64_t)floor_mod(w[i].to_min - w[i].from_min, 1440) * 60;

		if (dur == 0)
			dur = DAY;
		/* a window that began today or yesterday may hold l */
		for (int64_t d = today - 1; d <= today; d++) {
			int64_t s = d * DAY + (int64_t)w[i].from_min * 60;

			if ((w[i].days >> tz_weekday(d) & 1u) && s <= l && l < s + dur &&
			    s + dur > best)
				best = s + dur;
		}
	}
	return best;
}

int64_t
quiet_until(const struct quiet_window *w, size_t n, const struct tz *z, int64_t t)
{
	int64_t l = tz_to_local(z, t), end = 0, e;

	/* follow windows that touch: sat,sun 00:00-00:00 then mon 00:00-07:00
	 * is quiet until Monday 07:00; a week at most (always-quiet ends) */
	for (int hop = 0; hop < 8 && (e = window_end(w, n, l)) > 0; hop++)
		end = l = e;
	if (end == 0)
		return 0;
	e = tz_from_local(z, end, NULL);
	return e > t ? e : 0;
}

int64_t
quiet_next(const struct quiet_window *w, size_t n, const struct tz *z, int64_t t, int64_t *end)
{
	int64_t today = floor_div(tz_to_local(z, t), DAY), best = 0;

	/* the start of every window on the coming days (a week and a day: a
	 * window on one weekday only, just missed, comes back in seven) as an
	 * instant; the earliest at or after t */
	for (int64_t d = today - 1; d <= today + 8; d++)
		for (size_t i = 0; i < n; i++) {
			int64_t s;

			if (!(w[i].days >> tz_weekday(d) & 1u))
				continue;
			s = tz_from_local(z, d * DAY + (int64_t)w[i].from_min * 60, NULL);
			if (s >= t && (best == 0 || s < best))
				best = s;
		}
	if (best == 0 || (*end = quiet_until(w, n, z, best)) <= best)
		return 0;
	return best;
}
