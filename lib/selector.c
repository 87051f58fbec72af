/*
 * selector.c - the label selector parser and its reference evaluator
 * (contract in selector.h). A hand-written recursive descent over bytes:
 * the grammar is four productions, and every error knows its column.
 *
 *   selector    = requirement *( "," requirement )
 *   requirement = "!" key | key [ ( "=" | "==" | "!=" ) value
 *                               | ( "in" | "notin" ) "(" value *( "," value ) ")" ]
 *   key         = label-key | "fact." path
 *
 * Blanks (space, tab) may surround every token.
 */
#include "config.h"
#include "selector.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct parser {
	const char *name;     /* error prefix, "selector" */
	const char *start, *p;
	char *err;
	size_t errlen;
	int failed;
};

static void fail(struct parser *ps, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Records the first error only, at the current column. */
static void
fail(struct parser *ps, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (ps->failed)
		return;
	ps->failed = 1;
	n = snprintf(ps->err, ps->errlen, "%s:%zu: ", ps->name, (size_t)(ps->p - ps->start) + 1);
	if (n < 0 || (size_t)n >= ps->errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(ps->err + n, ps->errlen - (size_t)n, fmt, ap);
	va_end(ap);
}

static int
key_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-';
}

/* a fact path segment may carry what facts carry: interface names, upper case */
static int
fact_char(char c)
{
	return key_char(c) || (c >= 'A' && c <= 'Z');
}

/* bytes that end a bare value */
static int
value_stop(char c)
{
	return c == '\0' || c == ' ' || c == '\t' || c == ',' || c == '(' || c == ')' ||
	    c == '=' || c == '!' || c == '"';
}

int
label_key_valid(const char *key)
{
	size_t i;

	for (i = 0; key[i]; i++)
		if (!key_char(key[i]) || i >= LABEL_KEY_MAX)
			return 0;
	return i > 0;
}

int
label_value_valid(const char *value)
{
	return strlen(value) <= LABEL_VALUE_MAX;
}

static void
blanks(struct parser *ps)
{
	while (*ps->p == ' ' || *ps->p == '\t')
		ps->p++;
}

static char *
dup_range(struct parser *ps, const char *s, size_t n)
{
	char *d = malloc(n + 1);

	if (d == NULL) {
		fail(ps, "out of memory");
		return NULL;
	}
	memcpy(d, s, n);
	d[n] = '\0';
	return d;
}

/* key: a label key, or "fact." and a path; *fact says which */
static char *
parse_key(struct parser *ps, int *fact)
{
	const char *s = ps->p;
	size_t n;

	*fact = 0;
	if (strncmp(s, "fact.", 5) == 0) {
		const char *seg;
		*fact = 1;
		ps->p += 5;
		s = ps->p;
		for (;;) {
			seg = ps->p;
			while (fact_char(*ps->p) && *ps->p != '.')
				ps->p++;
			if (ps->p == seg) {
				fail(ps, "expected a fact name after \"%.*s\"",
				    (int)(ps->p - s) + 5, s - 5);
				return NULL;
			}
			if (*ps->p != '.')
				break;
			ps->p++;
		}
		n = (size_t)(ps->p - s);
		if (n > 255) {
			ps->p = s;
			fail(ps, "fact path longer than 255 bytes");
			return NULL;
		}
		return dup_range(ps, s, n);
	}
	while (key_char(*ps->p))
		ps->p++;
	n = (size_t)(ps->p - s);
	if (n == 0) {
		if (*ps->p >= 'A' && *ps->p <= 'Z')
			fail(ps, "label keys are lower case ([a-z0-9_.-])");
		else if (*ps->p == '\0')
			fail(ps, "expected a label key at the end");
		else
			fail(ps, "expected a label key, found \"%c\"", *ps->p);
		return NULL;
	}
	if (n > LABEL_KEY_MAX) {
		ps->p = s + LABEL_KEY_MAX;
		fail(ps, "label key longer than %d bytes", LABEL_KEY_MAX);
		return NULL;
	}
	return dup_range(ps, s, n);
}

/* value: bare or "quoted" */
static char *
parse_value(struct parser *ps)
{
	const char *s = ps->p;
	char *d;
	size_t n = 0;

	if (*ps->p == '"') {
		ps->p++;
		s = ps->p;
		/* first pass: find the end and the unescaped length */
		while (*ps->p && *ps->p != '"') {
			if (*ps->p == '\\' && (ps->p[1] == '"' || ps->p[1] == '\\'))
				ps->p++;
			ps->p++;
			n++;
		}
		if (*ps->p != '"') {
			ps->p = s - 1;
			fail(ps, "unterminated quoted value");
			return NULL;
		}
		if (n > LABEL_VALUE_MAX) {
			ps->p = s - 1;
			fail(ps, "value longer than %d bytes", LABEL_VALUE_MAX);
			return NULL;
		}
		if ((d = malloc(n + 1)) == NULL) {
			fail(ps, "out of memory");
			return NULL;
		}
		for (n = 0; s < ps->p; s++) {
			if (*s == '\\' && (s[1] == '"' || s[1] == '\\'))
				s++;
			d[n++] = *s;
		}
		d[n] = '\0';
		ps->p++;
		return d;
	}
	while (!value_stop(*ps->p))
		ps->p++;
	n = (size_t)(ps->p - s);
	if (n == 0) {
		if (*ps->p == '\0')
			fail(ps, "expected a value at the end (\"\" for an empty one)");
		else
			fail(ps, "expected a value, found \"%c\" (quote values that contain it)", *ps->p);
		return NULL;
	}
	if (n > LABEL_VALUE_MAX) {
		ps->p = s;
		fail(ps, "value longer than %d bytes", LABEL_VALUE_MAX);
		return NULL;
	}
	return dup_range(ps, s, n);
}

static int
add_value(struct parser *ps, struct sel_req *rq, char *v)
{
	char **nv;

	if (v == NULL)
		return -1;
	if (rq->nvalues >= SELECTOR_VALUES_MAX) {
		free(v);
		fail(ps, "more than %d values in one list", SELECTOR_VALUES_MAX);
		return -1;
	}
	if ((nv = realloc(rq->values, (rq->nvalues + 1) * sizeof(*nv))) == NULL) {
		free(v);
		fail(ps, "out of memory");
		return -1;
	}
	rq->values = nv;
	rq->values[rq->nvalues++] = v;
	return 0;
}

/* "in"/"notin" as a whole word at p */
static int
word_at(const char *p, const char *w)
{
	size_t n = strlen(w);

	return strncmp(p, w, n) == 0 && (p[n] == ' ' || p[n] == '\t' || p[n] == '(');
}

static void
req_free(struct sel_req *rq)
{
	size_t i;

	for (i = 0; i < rq->nvalues; i++)
		free(rq->values[i]);
	free(rq->values);
	free(rq->key);
	memset(rq, 0, sizeof(*rq));
}

/* one requirement into rq; 0 or -1 (ps failed, rq freed) */
static int
parse_req(struct parser *ps, struct sel_req *rq)
{
	const char *after_key;

	memset(rq, 0, sizeof(*rq));
	blanks(ps);
	if (*ps->p == '!') {
		ps->p++;
		blanks(ps);
		rq->op = SEL_NOT_EXISTS;
		if ((rq->key = parse_key(ps, &rq->fact)) == NULL)
			goto fail;
		blanks(ps);
		return 0;
	}
	if ((rq->key = parse_key(ps, &rq->fact)) == NULL)
		goto fail;
	after_key = ps->p;
	blanks(ps);
	if (*ps->p == '\0' || *ps->p == ',') {
		rq->op = SEL_EXISTS;
		return 0;
	}
	if (*ps->p == '=' || (ps->p[0] == '!' && ps->p[1] == '=')) {
		rq->op = *ps->p == '=' ? SEL_IN : SEL_NOTIN;
		ps->p += *ps->p == '=' ? (ps->p[1] == '=' ? 2 : 1) : 2;
		blanks(ps);
		if (add_value(ps, rq, parse_value(ps)) < 0)
			goto fail;
		blanks(ps);
		return 0;
	}
	if (ps->p > after_key && (word_at(ps->p, "in") || word_at(ps->p, "notin"))) {
		rq->op = ps->p[0] == 'i' ? SEL_IN : SEL_NOTIN;
		rq->list = 1;
		ps->p += rq->op == SEL_IN ? 2 : 5;
		blanks(ps);
		if (*ps->p != '(') {
			fail(ps, "expected \"(\" after \"%s\"", rq->op == SEL_IN ? "in" : "notin");
			goto fail;
		}
		ps->p++;
		for (;;) {
			blanks(ps);
			if (add_value(ps, rq, parse_value(ps)) < 0)
				goto fail;
			blanks(ps);
			if (*ps->p == ')')
				break;
			if (*ps->p != ',') {
				fail(ps, "expected \",\" or \")\" in the list of \"%s\"", rq->key);
				goto fail;
			}
			ps->p++;
		}
		ps->p++;
		blanks(ps);
		return 0;
	}
	fail(ps, "expected \"=\", \"!=\", \"in\", \"notin\" or \",\" after \"%s%s\"",
	    rq->fact ? "fact." : "", rq->key);
fail:
	req_free(rq);
	return -1;
}

void
selector_free(struct selector *s)
{
	size_t i;

	if (s == NULL)
		return;
	for (i = 0; i < s->n; i++)
		req_free(&s->reqs[i]);
	free(s->reqs);
	s->reqs = NULL;
	s->n = 0;
}

/* the shared loop; max: requirements allowed; allow_empty: "" is no requirement */
static int
parse_list(const char *name, const char *text, struct selector *out, char *err,
    size_t errlen, size_t max, int allow_empty)
{
	struct parser ps = { name, text, text, err, errlen, 0 };
	struct sel_req rq, *nr;

	memset(out, 0, sizeof(*out));
	if (errlen)
		err[0] = '\0';
	if (strlen(text) > SELECTOR_TEXT_MAX) {
		fail(&ps, "longer than %d bytes", SELECTOR_TEXT_MAX);
		return -1;
	}
	blanks(&ps);
	if (*ps.p == '\0') {
		if (allow_empty)
			return 0;
		fail(&ps, "empty");
		return -1;
	}
	for (;;) {
		if (out->n >= max) {
			fail(&ps, "more than %zu %s", max, allow_empty ? "labels" : "requirements");
			goto fail;
		}
		if (parse_req(&ps, &rq) < 0)
			goto fail;
		if ((nr = realloc(out->reqs, (out->n + 1) * sizeof(*nr))) == NULL) {
			req_free(&rq);
			fail(&ps, "out of memory");
			goto fail;
		}
		out->reqs = nr;
		out->reqs[out->n++] = rq;
		if (*ps.p == '\0')
			return 0;
		if (*ps.p != ',') {
			fail(&ps, "expected \",\" or the end, found \"%c\"", *ps.p);
			goto fail;
		}
		ps.p++;
	}
fail:
	selector_free(out);
	return -1;
}

int
selector_parse(const char *name, const char *text, struct selector *out, char *err, size_t errlen)
{
	return parse_list(name, text, out, err, errlen, SELECTOR_REQS_MAX, 0);
}

int
labels_parse(const char *name, const char *text, struct selector *out, char *err, size_t errlen)
{
	size_t i, j;

	if (parse_list(name, text, out, err, errlen, LABELS_MAX, 1) < 0)
		return -1;
	for (i = 0; i < out->n; i++) {
		const struct sel_req *rq = &out->reqs[i];
		if (rq->fact || rq->op != SEL_IN || rq->list) {
			snprintf(err, errlen, "%s: \"%s%s\": labels are key=value pairs", name,
			    rq->fact ? "fact." : "", rq->key);
			goto fail;
		}
		for (j = 0; j < i; j++)
			if (strcmp(out->reqs[j].key, rq->key) == 0) {
				snprintf(err, errlen, "%s: label \"%s\" given twice", name, rq->key);
				goto fail;
			}
	}
	return 0;
fail:
	selector_free(out);
	return -1;
}

int
selector_match(const struct selector *s, sel_lookup_fn lookup, void *ctx)
{
	size_t i, j;

	for (i = 0; i < s->n; i++) {
		const struct sel_req *rq = &s->reqs[i];
		const char *v = lookup(ctx, rq->fact, rq->key);
		int found = 0;

		if (v && (rq->op == SEL_IN || rq->op == SEL_NOTIN))
			for (j = 0; j < rq->nvalues && !found; j++)
				found = strcmp(v, rq->values[j]) == 0;
		switch (rq->op) {
		case SEL_IN:
			if (!found)
				return 0;
			break;
		case SEL_NOTIN:
			if (found)
				return 0;
			break;
		case SEL_EXISTS:
			if (v == NULL)
				return 0;
			break;
		case SEL_NOT_EXISTS:
			if (v != NULL)
				return 0;
			break;
		}
	}
	return 1;
}
