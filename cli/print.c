/*
 * print.c - what the CLI prints: the tables (colour only on a terminal,
 * never with NO_COLOR), or with --json the API's own JSON.
 *
 * What it prints came from a server, and from agents before that: every
 * string of an answer is made harmless for a terminal first (tty_clean():
 * an output holding ESC ] 0 ; ... could retitle the window, or redraw a
 * CRITICAL row as a green OK). http_request() cleans every answer it
 * returns, unless --json, whose JSON escapes control characters itself.
 */
#include "config.h"
#include "cli.h"
#include "buf.h"
#include "timeutil.h"

#include <stdio.h>
#include <string.h>

int opt_json, colour;

/* ---- escapes ---------------------------------------------------------------- */

/*
 * C0 controls (but a newline when keep_nl), DEL, the C1 controls
 * U+0080-U+009F (CSI, OSC, ... on terminals that take them) and the
 * bidirectional overrides and isolates (U+202A-U+202E, U+2066-U+2069:
 * text that reads other than it is) become visible escapes: ESC is
 * "\x1b", U+009B "\u009b". Jansson gives only valid UTF-8; a byte that
 * is not is escaped all the same.
 */
void
tty_clean(struct buf *b, const char *s, int keep_nl)
{
	const unsigned char *p = (const unsigned char *)s;

	while (*p) {
		unsigned cp;
		if (*p < 0x20 || *p == 0x7f) {
			if (*p == '\n' && keep_nl)
				buf_add(b, "\n", 1);
			else
				buf_addf(b, "\\x%02x", *p);
			p++;
			continue;
		}
		if (*p < 0x80) {
			buf_add(b, (const char *)p++, 1);
			continue;
		}
		if ((p[0] & 0xE0) == 0xC0 && (p[1] & 0xC0) == 0x80) {
			cp = (unsigned)(p[0] & 0x1F) << 6 | (p[1] & 0x3F);
			if (cp >= 0x80 && cp <= 0x9f)
				buf_addf(b, "\\u%04x", cp);
			else
				buf_add(b, (const char *)p, 2);
			p += 2;
		} else if ((p[0] & 0xF0) == 0xE0 && (p[1] & 0xC0) == 0x80 && (p[2] & 0xC0) == 0x80) {
			cp = (unsigned)(p[0] & 0x0F) << 12 | (unsigned)(p[1] & 0x3F) << 6 | (p[2] & 0x3F);
			if ((cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069))
				buf_addf(b, "\\u%04x", cp);
			else
				buf_add(b, (const char *)p, 3);
			p += 3;
		} else if ((p[0] & 0xF8) == 0xF0 && (p[1] & 0xC0) == 0x80 && (p[2] & 0xC0) == 0x80 &&
		    (p[3] & 0xC0) == 0x80) {
			buf_add(b, (const char *)p, 4);
			p += 4;
		} else {
			buf_addf(b, "\\x%02x", *p++);
		}
	}
}

/*
 * Every string of j (in place) through tty_clean(): what the tables print
 * comes from here. A check's output keeps its newlines (the tables cut it
 * at the first); a name or any other member does not.
 */
void
json_tty_clean(json_t *j, const char *key)
{
	const char *k;
	json_t *v;
	size_t i;

	if (json_is_object(j)) {
		json_object_foreach(j, k, v)
			json_tty_clean(v, k);
	} else if (json_is_array(j)) {
		json_array_foreach(j, i, v)
			json_tty_clean(v, key);
	} else if (json_is_string(j)) {
		struct buf b;
		buf_init(&b, BODY_MAX);
		tty_clean(&b, json_string_value(j), key && strcmp(key, "output") == 0);
		if (!b.failed && b.len != json_string_length(j))
			json_string_setn(j, b.ptr, b.len);
		buf_free(&b);
	}
}

/* ---- tables ----------------------------------------------------------------- */

int
print_list(const char *path, void (*rows)(json_t *items))
{
	json_t *items;
	int rc;

	if ((rc = http_get_all(path, &items)) != 0)
		return rc;
	if (opt_json)
		print_json(items);
	else
		rows(items);
	json_decref(items);
	return 0;
}

void
print_json(json_t *j)
{
	json_dumpf(j, stdout, JSON_INDENT(2));
	fputc('\n', stdout);
}

int
print_done(json_t *j, const char *msg)
{
	if (opt_json && j)
		print_json(j);
	else if (!opt_json)
		printf("%s\n", msg);
	json_decref(j);
	return 0;
}

const char *
col(const char *status)
{
	if (!colour || status == NULL)
		return "";
	if (strcmp(status, "CRITICAL") == 0 || strcmp(status, "down") == 0)
		return "\033[1;31m";
	if (strcmp(status, "WARNING") == 0)
		return "\033[1;33m";
	if (strcmp(status, "UNKNOWN") == 0)
		return "\033[1;35m";
	if (strcmp(status, "OK") == 0 || strcmp(status, "up") == 0)
		return "\033[32m";
	return "";
}

const char *
reset(void)
{
	return colour ? "\033[0m" : "";
}

/* "3 h 12 min" since an RFC 3339 time; "-" when absent. */
const char *
ago(const char *t, char out[32])
{
	int64_t us;
	long long s, d, h, m;

	if (t == NULL || rfc3339_parse(t, &us) < 0) {
		snprintf(out, 32, "-");
		return out;
	}
	s = (long long)((time_now_us() - us) / 1000000);
	if (s < 0)
		s = 0;
	d = s / 86400;
	h = s % 86400 / 3600;
	m = s % 3600 / 60;
	if (d)
		snprintf(out, 32, "%lld d %lld h", d, h);
	else if (h)
		snprintf(out, 32, "%lld h %lld min", h, m);
	else if (m)
		snprintf(out, 32, "%lld min", m);
	else
		snprintf(out, 32, "%lld s", s);
	return out;
}

/* The first line of s, cut at OUT_WIDTH bytes on a UTF-8 boundary. */
const char *
first_line(const char *s, char out[OUT_WIDTH + 8])
{
	size_t n;

	if (s == NULL)
		s = "";
	n = strcspn(s, "\n");
	if (n > OUT_WIDTH) {
		n = OUT_WIDTH;
		while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
			n--;
		memcpy(out, s, n);
		memcpy(out + n, "...", 4);
		return out;
	}
	memcpy(out, s, n);
	out[n] = '\0';
	return out;
}

const char *
jstr(json_t *o, const char *key, const char *dflt)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s ? s : dflt;
}

/* The marks of one problem: "ack downtime flapping soft suppressed by
 * AGENT/CHECK", or "" when there is none. "suppressed by": a parent is a
 * HARD problem, so this one is recorded, not notified (as the dashboard's
 * SUPPRESSED mark). */
static const char *
problem_marks(json_t *c, char marks[384])
{
	json_t *s = json_object_get(c, "state");
	const char *sup = jstr(c, "suppressed_by", NULL);
	size_t n;

	snprintf(marks, 384, "%s%s%s%s%s%s",
	    json_is_true(json_object_get(s, "acknowledged")) ? "ack " : "",
	    json_is_true(json_object_get(s, "in_downtime")) ? "downtime " : "",
	    json_is_true(json_object_get(s, "flapping")) ? "flapping " : "",
	    strcmp(jstr(s, "state_type", ""), "SOFT") == 0 ? "soft " : "",
	    sup ? "suppressed by " : "", sup ? sup : "");
	n = strlen(marks);
	if (n && marks[n - 1] == ' ')
		marks[n - 1] = '\0';
	return marks;
}

/* A column as wide as its widest cell (at least its heading, at most 48):
 * a long check name or "suppressed by AGENT/CHECK" must not run into the
 * next column. */
int
col_width(size_t w, size_t heading)
{
	if (w < heading)
		w = heading;
	return w > 48 ? 48 : (int)w;
}

void
print_problems(json_t *problems)
{
	size_t i, wname = 0, wmarks = 0;
	json_t *c;
	int cn, cm;

	if (json_array_size(problems) == 0) {
		printf("No problems.\n");
		return;
	}
	json_array_foreach(problems, i, c) {
		char marks[384];
		size_t n = strlen(jstr(c, "agent_name", "?")) + 1 + strlen(jstr(c, "name", "?"));
		if (n > wname)
			wname = n;
		n = strlen(problem_marks(c, marks));
		if (n > wmarks)
			wmarks = n;
	}
	cn = col_width(wname, 32);
	cm = col_width(wmarks, 5);
	printf("%-9s %-*s %-14s %-*s %s\n", "STATUS", cn, "CHECK", "FOR", cm, "MARKS", "OUTPUT");
	json_array_foreach(problems, i, c) {
		json_t *s = json_object_get(c, "state");
		const char *st = jstr(s, "status", "PENDING");
		char name[256], marks[384], t[32], out[OUT_WIDTH + 8];
		snprintf(name, sizeof(name), "%s/%s", jstr(c, "agent_name", "?"), jstr(c, "name", "?"));
		problem_marks(c, marks);
		printf("%s%-9s%s %-*s %-14s %-*s %s\n", col(st), st, reset(), cn, name,
		    ago(jstr(s, "since", NULL), t), cm, marks[0] ? marks : "-",
		    first_line(jstr(s, "output", ""), out));
	}
}

static void print_members(json_t *o, const char *prefix);

static int
has_object(json_t *arr)
{
	json_t *x;
	size_t i;

	json_array_foreach(arr, i, x)
		if (json_is_object(x))
			return 1;
	return 0;
}

/* a list of objects (a template's checks, a fact's disks): each element's
 * members under "key[i]", as an object's are, rather than a line of JSON
 * that shows every unset field as null */
static void
print_elements(json_t *arr, const char *key)
{
	json_t *x;
	size_t i;

	json_array_foreach(arr, i, x) {
		char sub[192];
		snprintf(sub, sizeof(sub), "%s[%zu]", key, i);
		if (json_is_object(x) && json_object_size(x) > 0) {
			print_members(x, sub);
			continue;
		}
		printf("%-24s ", sub);
		if (json_is_null(x))
			fputs("-", stdout);
		else if (json_is_string(x))
			fputs(json_string_value(x), stdout);
		else
			json_dumpf(x, stdout, JSON_COMPACT | JSON_ENCODE_ANY);
		putchar('\n');
	}
}

static void
print_members(json_t *o, const char *prefix)
{
	const char *k;
	json_t *v;

	json_object_foreach(o, k, v) {
		char key[160];
		snprintf(key, sizeof(key), "%s%s%s", prefix, prefix[0] ? "." : "", k);
		if (json_is_object(v) && json_object_size(v) > 0) {
			print_members(v, key);
			continue;
		}
		if (json_is_array(v) && has_object(v)) {
			print_elements(v, key);
			continue;
		}
		printf("%-24s ", key);
		if (json_is_string(v)) {
			char out[OUT_WIDTH + 8];
			const char *s = json_string_value(v);
			/* a check's output: its first line, as in the tables */
			fputs(strchr(s, '\n') ? first_line(s, out) : s, stdout);
		} else if (json_is_null(v)) {
			fputs("-", stdout);
		} else {
			/* numbers, booleans, arrays: as JSON (their strings were cleaned) */
			json_dumpf(v, stdout, JSON_COMPACT | JSON_ENCODE_ANY);
		}
		putchar('\n');
	}
}

void
print_object(json_t *o)
{
	print_members(o, "");
}

void
print_event(json_t *e)
{
	char what[300], change[64], out[OUT_WIDTH + 8];
	const char *st = jstr(e, "status", NULL), *prev = jstr(e, "prev_status", NULL);

	if (opt_json) {
		json_dumpf(e, stdout, JSON_COMPACT);
		fputc('\n', stdout);
		fflush(stdout);
		return;
	}
	if (json_is_string(json_object_get(e, "check")))
		snprintf(what, sizeof(what), "%s/%s", jstr(e, "agent", "?"), jstr(e, "check", "?"));
	else
		snprintf(what, sizeof(what), "%s", jstr(e, "agent", "-"));
	if (st && prev)
		snprintf(change, sizeof(change), "%s -> %s", prev, st);
	else
		snprintf(change, sizeof(change), "%s", st ? st : "-");
	printf("%-8lld %-24s %-16s %-32s %s%-22s%s %s\n",
	    (long long)json_integer_value(json_object_get(e, "id")), jstr(e, "created_at", "?"),
	    jstr(e, "kind", "?"), what, col(st), change, reset(), first_line(jstr(e, "output", ""), out));
	fflush(stdout);
}
