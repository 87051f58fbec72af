/*
 * pattern.c - see pattern.h. One pass over the ERE, outside bracket
 * expressions, with a stack of open groups. The cost model follows what
 * regcomp() builds: an atom is 1; X* and X? add one node to X; X+ is X
 * followed by X* (two copies); X{m,n} is max(m, n) copies (m + 1 for
 * X{m,}); a group costs the sum of its branches. The cost of each
 * repetition multiplies what it repeats, which is how nesting grows.
 */
#include "config.h"
#include "pattern.h"
#include "params.h"

#include <stdio.h>
#include <string.h>

enum last { L_NONE, L_ATOM, L_REPEAT };

struct group {
	unsigned long cost;       /* of the group so far (completed items) */
	unsigned long last_cost;  /* of the item a repetition would apply to */
};

/* Skips a bracket expression starting at s (at '['); returns the byte after
 * its ']', or NULL when it does not end (regcomp() will say so). */
static const char *
skip_bracket(const char *s)
{
	s++;
	if (*s == '^')
		s++;
	if (*s == ']')
		s++;   /* a leading ']' is literal */
	while (*s && *s != ']') {
		if (*s == '[' && (s[1] == ':' || s[1] == '=' || s[1] == '.')) {
			char end = s[1];
			const char *e = s + 2;
			while (*e && !(e[0] == end && e[1] == ']'))
				e++;
			if (*e == '\0')
				return NULL;
			s = e + 2;
			continue;
		}
		s++;
	}
	return *s ? s + 1 : NULL;
}

/* Parses "{m}", "{m,}", "{m,n}" at s; returns the byte after '}' or NULL
 * (not a count: a literal '{' to regcomp()). *copies is the cost factor. */
static const char *
parse_count(const char *s, unsigned long *copies, int *too_big)
{
	unsigned long m = 0, n = 0;
	int have_n = 0, comma = 0, digits = 0;

	*too_big = 0;
	for (s++; *s >= '0' && *s <= '9'; s++, digits++)
		if ((m = m * 10 + (unsigned long)(*s - '0')) > PATTERN_COUNT_MAX)
			*too_big = 1, m = PATTERN_COUNT_MAX + 1;
	/* glibc takes "{,n}" and "{,}" as counts with m = 0 (found by
	 * fuzz_params: "7{,776}{6,79}" went past the rules) */
	if (digits == 0 && *s != ',')
		return NULL;
	if (*s == ',') {
		comma = 1;
		for (s++; *s >= '0' && *s <= '9'; s++, have_n = 1)
			if ((n = n * 10 + (unsigned long)(*s - '0')) > PATTERN_COUNT_MAX)
				*too_big = 1, n = PATTERN_COUNT_MAX + 1;
	}
	if (*s != '}')
		return NULL;
	if (!comma)
		n = m;
	else if (!have_n)
		n = m + 1;
	*copies = (m > n ? m : n) + 1;
	return s + 1;
}

const char *
pattern_check(const char *text)
{
	struct group st[PATTERN_DEPTH_MAX + 1];
	size_t depth = 0;
	enum last last = L_NONE;
	const char *s = text;
	unsigned long copies;
	int too_big;

	if (strlen(text) > PATTERN_MAX)
		return "longer than 256 bytes";
	memset(&st[0], 0, sizeof(st[0]));
	while (*s) {
		struct group *g = &st[depth];

		switch (*s) {
		case '\\':
			if (s[1] >= '1' && s[1] <= '9')
				return "back-references (\\1 to \\9) are not allowed";
			g->cost += g->last_cost;
			g->last_cost = 1;
			last = L_ATOM;
			s += s[1] ? 2 : 1;
			continue;
		case '[': {
			const char *e = skip_bracket(s);
			if (e == NULL)
				return NULL;   /* unbalanced: regcomp() refuses it */
			g->cost += g->last_cost;
			g->last_cost = 1;
			last = L_ATOM;
			s = e;
			continue;
		}
		case '(':
			if (depth == PATTERN_DEPTH_MAX)
				return "groups nested too deep";
			g->cost += g->last_cost;
			g->last_cost = 0;
			depth++;
			memset(&st[depth], 0, sizeof(st[depth]));
			last = L_NONE;
			break;
		case ')':
			if (depth == 0) {   /* a literal ')' in an ERE */
				g->cost += g->last_cost;
				g->last_cost = 1;
				last = L_ATOM;
				break;
			}
			g->cost += g->last_cost;
			depth--;
			st[depth].last_cost = g->cost + 1;
			last = L_ATOM;
			break;
		case '|':
			g->cost += g->last_cost + 1;
			g->last_cost = 0;
			last = L_NONE;
			break;
		case '*': case '+': case '?': case '{':
			copies = *s == '+' ? 2 : 1;
			if (*s == '{') {
				const char *e = parse_count(s, &copies, &too_big);
				if (e == NULL) {   /* a literal '{' */
					g->cost += g->last_cost;
					g->last_cost = 1;
					last = L_ATOM;
					break;
				}
				if (too_big)
					return "a repetition count above 255";
				s = e - 1;
			}
			if (last == L_REPEAT)
				return "stacked repetition operators (such as a++ or a*{2}) are not allowed";
			g->last_cost = g->last_cost * copies + 1;
			last = L_REPEAT;
			break;
		default:
			g->cost += g->last_cost;
			g->last_cost = 1;
			last = L_ATOM;
			break;
		}
		if (st[depth].cost + st[depth].last_cost > PATTERN_COST_MAX)
			return "the repetitions expand too far (nested or large counts such as "
			    "(a{100}){100}); simplify the pattern";
		s++;
	}
	return NULL;
}

int
pattern_compile(const char *key, const char *text, regex_t *re, char *err,
    size_t errlen, const char **field)
{
	const char *why;
	int rc;

	if ((why = pattern_check(text)) != NULL)
		return params_error(key, err, errlen, field, "%s", why);
	if ((rc = regcomp(re, text, REG_EXTENDED | REG_NOSUB)) != 0) {
		char msg[128];
		regerror(rc, NULL, msg, sizeof(msg));
		return params_error(key, err, errlen, field,
		    "not a POSIX extended regular expression: %s", msg);
	}
	return 0;
}
