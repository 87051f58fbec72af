/*
 * ingest_parse.c - see ingest_parse.h.
 *
 * A recursive-descent reader for the two shapes that matter (the top
 * level: one result object or an array of them; a result object: eight
 * known members), and skip_value() for everything else: the values of
 * unknown members, non-object array elements, the elements past an invalid
 * result. skip_value() checks every byte as strictly as the rest but keeps
 * nothing, and holds its nesting on a heap stack, not the C stack, so 2,048
 * levels cost no thread stack.
 *
 * The rules are jansson 2.14's (src/load.c), down to its corners:
 *   - only space, tab, LF and CR between tokens; the top level must be an
 *     object or an array; nothing but blanks after it;
 *   - strict UTF-8 everywhere (no overlong forms, no encoded surrogates,
 *     nothing above U+10FFFF, no truncated sequence, no stray continuation
 *     byte); bytes >= 0x80 only inside strings; no byte < 0x20 in a string;
 *   - the escapes \" \\ \/ \b \f \n \r \t \uXXXX, a high surrogate escape
 *     only followed by a low one, no lone low one, no \u0000 (jansson
 *     without JSON_ALLOW_NUL refuses it in values and keys alike);
 *   - numbers: an integer (no fraction, no exponent) must fit int64 ("too
 *     big integer"), a real is read by strtod and refused when it overflows
 *     to infinity (an underflow is fine); "-0" is the integer 0;
 *   - every value, scalars too, is one level: deeper than 2,048 is refused
 *     (JSON_PARSER_MAX_DEPTH, so a scalar inside 2,048 arrays is too deep);
 *   - no two keys of one object equal once decoded (JSON_REJECT_DUPLICATES);
 *   - one quirk: jansson "ungets" the byte that ends a number or a literal,
 *     and an ungot NUL byte is lost (stream_unget() leaves it where
 *     stream_get() takes NUL for "nothing buffered"), so one NUL right after
 *     a number or true/false/null is skipped as if absent. jansson accepts
 *     "[1\0]"; so does this parser, or the two would answer differently.
 * Error texts are ours; the shape "malformed JSON: <reason> (line L,
 * column C)" is http.c's.
 */
#include "config.h"
#include "ingest_parse.h"
#include "strnum.h"
#include "timeutil.h"
#include "utf8.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_DEPTH 2048          /* jansson's JSON_PARSER_MAX_DEPTH */
#define KEYS_EAGER 16           /* keys compared as they come; a larger object is sorted at its end */
#define NO_FRAME ((size_t)-1)

enum jtype { JV_ABSENT, JV_NULL, JV_TRUE, JV_FALSE, JV_INT, JV_REAL, JV_STR, JV_ARRAY, JV_OBJECT };

/* A scalar, or a known member's value as check_result() needs it. */
struct jv {
	enum jtype type;
	int64_t i;              /* JV_INT */
	double d;               /* JV_INT and JV_REAL: what json_number_value() gives */
	const char *s;          /* JV_STR: decoded, NUL-terminated, in the strings' buffer */
	size_t len;
};

/* The members a result may have. */
enum { K_CHECK_ID, K_STATUS, K_OUTPUT, K_VALUE, K_PERFDATA, K_OBSERVED_AT, K_DURATION_MS,
	K_RESULT_ID, NKNOWN };

static const struct {
	const char *name;
	size_t len;
} known[NKNOWN] = {
	[K_CHECK_ID] = { "check_id", 8 },
	[K_STATUS] = { "status", 6 },
	[K_OUTPUT] = { "output", 6 },
	[K_VALUE] = { "value", 5 },
	[K_PERFDATA] = { "perfdata", 8 },
	[K_OBSERVED_AT] = { "observed_at", 11 },
	[K_DURATION_MS] = { "duration_ms", 11 },
	[K_RESULT_ID] = { "result_id", 9 },
};

/*
 * The keys of the open objects, for the duplicate rule, with skip_value()'s
 * frames among them: an entry with s NULL is an open container ('[' or '{'
 * in len; at: the index of the frame below it). An object's keys are the
 * entries above its frame (or above the mark read_result() took).
 */
struct kref {
	const char *s;          /* the decoded key, or NULL: a frame */
	size_t len;
	size_t at;              /* the key's offset in the body; a frame: the frame below */
};

struct parser {
	const unsigned char *start, *p, *end;
	char *out;              /* the next free byte of the strings' buffer */
	char *out_end;          /* one past its last byte */
	struct kref *keys;
	size_t nkeys, capkeys;
	size_t frame;           /* skip_value()'s innermost open container, or NO_FRAME */
	struct ingest_err *err;
	int syntax;             /* err holds a syntax error or 500: stop */
	int invalid;            /* err holds the first invalid result */
};

/* ---- errors ------------------------------------------------------------- */

/*
 * A syntax error at byte at (p->end: the end of the body). Wins over an
 * invalid result found before; the line and column are counted as jansson
 * counts them (columns in characters, the offending one included).
 */
static int
syntax(struct parser *p, const unsigned char *at, const char *why)
{
	const unsigned char *q, *stop = at < p->end ? at + 1 : p->end;
	int line = 1, col = 0;

	for (q = p->start; q < stop; q++) {
		if (*q == '\n') {
			line++;
			col = 0;
		} else if ((*q & 0xc0) != 0x80) {
			col++;
		}
	}
	p->err->status = 400;
	p->err->field = NULL;
	snprintf(p->err->msg, sizeof(p->err->msg), "malformed JSON: %s (line %d, column %d)",
	    why, line, col);
	p->syntax = 1;
	return -1;
}

static int
out_of_memory(struct parser *p)
{
	p->err->status = 500;
	p->err->field = NULL;
	snprintf(p->err->msg, sizeof(p->err->msg), "out of memory");
	p->syntax = 1;
	return -1;
}

static int invalid(struct parser *p, int status, const char *field, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* An invalid result: kept when it is the first, answered only if the whole
 * body parses (as when jansson had parsed it all before). Returns -1. */
static int
invalid(struct parser *p, int status, const char *field, const char *fmt, ...)
{
	va_list ap;

	if (p->invalid)
		return -1;
	p->invalid = 1;
	p->err->status = status;
	p->err->field = field;
	va_start(ap, fmt);
	vsnprintf(p->err->msg, sizeof(p->err->msg), fmt, ap);
	va_end(ap);
	return -1;
}

/* ---- tokens ------------------------------------------------------------- */

static void
blanks(struct parser *p)
{
	while (p->p < p->end && (*p->p == ' ' || *p->p == '\t' || *p->p == '\n' || *p->p == '\r'))
		p->p++;
}

static int
is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

/* Four hex digits at s (the caller made sure there are four bytes), or -1. */
static long
hex4(const unsigned char *s)
{
	long v = 0;
	int i;

	for (i = 0; i < 4; i++) {
		unsigned char c = s[i];
		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= c - '0';
		else if (c >= 'a' && c <= 'f')
			v |= c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			v |= c - 'A' + 10;
		else
			return -1;
	}
	return v;
}

/* Writes the scalar value cp (not a surrogate, at most U+10FFFF) as UTF-8. */
static size_t
utf8_put(char *o, long cp)
{
	unsigned char *u = (unsigned char *)o;

	if (cp < 0x80) {
		u[0] = (unsigned char)cp;
		return 1;
	}
	if (cp < 0x800) {
		u[0] = (unsigned char)(0xc0 | (cp >> 6));
		u[1] = (unsigned char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		u[0] = (unsigned char)(0xe0 | (cp >> 12));
		u[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
		u[2] = (unsigned char)(0x80 | (cp & 0x3f));
		return 3;
	}
	u[0] = (unsigned char)(0xf0 | (cp >> 18));
	u[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3f));
	u[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
	u[3] = (unsigned char)(0x80 | (cp & 0x3f));
	return 4;
}

/*
 * The string whose opening quote is at p->p, decoded into the strings'
 * buffer and NUL-terminated (*s, *len). Its decoded length + 1 is less
 * than its source length (quotes included), so the buffer, as long as the
 * body plus one, always has room: what was written stays behind what was
 * read.
 */
static int
string(struct parser *p, const char **s, size_t *len)
{
	const unsigned char *q = p->p + 1, *end = p->end;
	char *o = p->out;
	unsigned char c;
	long cp, lo;
	size_t n;

	for (;;) {
		/* the common case: a run of printable ASCII */
		while (q < end && (c = *q) >= 0x20 && c < 0x80 && c != '"' && c != '\\') {
			*o++ = (char)c;
			q++;
		}
		if (q == end)
			return syntax(p, end, "premature end of input in a string");
		c = *q;
		if (c == '"')
			break;
		if (c < 0x20)
			return syntax(p, q, c == '\n' ? "unexpected newline in a string" :
			    "control character in a string");
		if (c >= 0x80) {
			if ((n = utf8_seq_len(q, (size_t)(end - q))) == 0)
				return syntax(p, q, "invalid UTF-8");
			memcpy(o, q, n);
			o += n;
			q += n;
			continue;
		}
		/* an escape */
		if (end - q < 2)
			return syntax(p, end, "premature end of input in a string");
		switch (q[1]) {
		case '"': case '\\': case '/':
			*o++ = (char)q[1];
			q += 2;
			continue;
		case 'b': *o++ = '\b'; q += 2; continue;
		case 'f': *o++ = '\f'; q += 2; continue;
		case 'n': *o++ = '\n'; q += 2; continue;
		case 'r': *o++ = '\r'; q += 2; continue;
		case 't': *o++ = '\t'; q += 2; continue;
		case 'u':
			break;
		default:
			return syntax(p, q + 1, "invalid escape");
		}
		if (end - q < 6 || (cp = hex4(q + 2)) < 0)
			return syntax(p, q + 1, "invalid \\u escape");
		q += 6;
		if (cp >= 0xd800 && cp <= 0xdbff) {
			/* a high surrogate: a low one must follow, as an escape */
			if (end - q < 6 || q[0] != '\\' || q[1] != 'u')
				return syntax(p, q - 1, "lone high surrogate escape");
			if ((lo = hex4(q + 2)) < 0)
				return syntax(p, q + 1, "invalid \\u escape");
			if (lo < 0xdc00 || lo > 0xdfff)
				return syntax(p, q + 5, "high surrogate escape without a low one");
			cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
			q += 6;
		} else if (cp >= 0xdc00 && cp <= 0xdfff) {
			return syntax(p, q - 1, "lone low surrogate escape");
		} else if (cp == 0) {
			return syntax(p, q - 1, "\\u0000 is not allowed");
		}
		o += utf8_put(o, cp);
	}
	*o = '\0';
	*s = p->out;
	*len = (size_t)(o - p->out);
	p->out = o + 1;
	p->p = q + 1;
	return 0;
}

/*
 * jansson's quirk (see the file's head): one NUL byte right after a number
 * or a literal is not there.
 */
static void
lost_nul(struct parser *p)
{
	if (p->p < p->end && *p->p == '\0')
		p->p++;
}

/*
 * The number at p->p, by the grammar (no leading zeros, no bare "-", "1."
 * or ".5"): an integer within int64 (a checked digit loop, as strtoll
 * decides), or a real as strtod reads it (copied, NUL-terminated, to the
 * free end of the strings' buffer: it is at most as long as what is left
 * of the body).
 */
static int
number(struct parser *p, struct jv *v)
{
	const unsigned char *s = p->p, *q = s, *end = p->end;
	int neg = 0, real = 0;

	if (*q == '-') {
		neg = 1;
		q++;
	}
	if (q == end || !is_digit(*q))
		return syntax(p, q, "invalid number");
	if (*q == '0') {
		if (++q < end && is_digit(*q))
			return syntax(p, q, "invalid number (leading zero)");
	} else {
		while (q < end && is_digit(*q))
			q++;
	}
	if (q < end && *q == '.') {
		if (++q == end || !is_digit(*q))
			return syntax(p, q, "invalid number (no digit after '.')");
		while (q < end && is_digit(*q))
			q++;
		real = 1;
	}
	if (q < end && (*q == 'e' || *q == 'E')) {
		if (++q < end && (*q == '+' || *q == '-'))
			q++;
		if (q == end || !is_digit(*q))
			return syntax(p, q, "invalid number (no digit in the exponent)");
		while (q < end && is_digit(*q))
			q++;
		real = 1;
	}
	if (!real) {
		uint64_t u = 0, lim = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
		const unsigned char *d;

		for (d = s + neg; d < q; d++) {
			unsigned dig = (unsigned)(*d - '0');
			if (u > (lim - dig) / 10)
				return syntax(p, q - 1, "too big integer");
			u = u * 10 + dig;
		}
		v->type = JV_INT;
		if (!neg)
			v->i = (int64_t)u;
		else
			v->i = u == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)u;
		v->d = (double)v->i;
	} else {
		size_t n = (size_t)(q - s);

		if ((size_t)(p->out_end - p->out) < n + 1)
			return out_of_memory(p);   /* never: see string() */
		memcpy(p->out, s, n);
		p->out[n] = '\0';
		if (str_json_real(p->out, &v->d) < 0)
			return syntax(p, q - 1, "real number overflow");
		v->type = JV_REAL;
	}
	p->p = q;
	lost_nul(p);
	return 0;
}

static int
literal(struct parser *p, struct jv *v)
{
	static const struct {
		const char *word;
		size_t len;
		enum jtype type;
	} lits[] = { { "true", 4, JV_TRUE }, { "false", 5, JV_FALSE }, { "null", 4, JV_NULL } };
	size_t i, left = (size_t)(p->end - p->p);

	for (i = 0; i < sizeof(lits) / sizeof(lits[0]); i++)
		if (left >= lits[i].len && memcmp(p->p, lits[i].word, lits[i].len) == 0) {
			v->type = lits[i].type;
			p->p += lits[i].len;
			lost_nul(p);
			return 0;
		}
	return syntax(p, p->p, "invalid token");
}

/* A string, number or literal at p->p into v. */
static int
scalar(struct parser *p, struct jv *v)
{
	if (p->p == p->end)
		return syntax(p, p->end, "value expected");
	switch (*p->p) {
	case '"':
		v->type = JV_STR;
		return string(p, &v->s, &v->len);
	case '-': case '0': case '1': case '2': case '3': case '4':
	case '5': case '6': case '7': case '8': case '9':
		return number(p, v);
	case 't': case 'f': case 'n':
		return literal(p, v);
	default:
		return syntax(p, p->p, "invalid token");
	}
}

/* ---- objects' keys -------------------------------------------------------- */

static int
keys_push(struct parser *p, const char *s, size_t len, size_t at)
{
	if (p->nkeys == p->capkeys) {
		size_t cap = p->capkeys ? p->capkeys * 2 : 64;
		struct kref *k = realloc(p->keys, cap * sizeof(*k));
		if (k == NULL)
			return out_of_memory(p);
		p->keys = k;
		p->capkeys = cap;
	}
	p->keys[p->nkeys].s = s;
	p->keys[p->nkeys].len = len;
	p->keys[p->nkeys].at = at;
	p->nkeys++;
	return 0;
}

/*
 * A key of the object whose keys start at keys[mark]. While the object has
 * fewer than KEYS_EAGER keys each new one is compared with those before
 * (a result's unknown members, most objects); keys_close() sorts a larger
 * one, so that no object costs quadratic time.
 */
static int
key_add(struct parser *p, size_t mark, const char *s, size_t len, const unsigned char *at)
{
	size_t i;

	if (p->nkeys - mark < KEYS_EAGER)
		for (i = mark; i < p->nkeys; i++)
			if (p->keys[i].len == len && memcmp(p->keys[i].s, s, len) == 0)
				return syntax(p, at, "duplicate object key");
	return keys_push(p, s, len, (size_t)(at - p->start));
}

static int
cmp_kref(const void *a, const void *b)
{
	const struct kref *x = a, *y = b;
	int c;

	if (x->len != y->len)
		return x->len < y->len ? -1 : 1;
	if ((c = memcmp(x->s, y->s, x->len)) != 0)
		return c;
	return x->at < y->at ? -1 : x->at > y->at;
}

/*
 * The end of the object whose keys are keys[mark..]: more than KEYS_EAGER
 * keys were not all compared as they came, so they are sorted by name and
 * position and neighbours compared (the error names the first repeat in
 * the body, where jansson stops). The keys are dropped.
 */
static int
keys_close(struct parser *p, size_t mark)
{
	size_t n = p->nkeys - mark, i, dup = NO_FRAME;
	struct kref *k;

	if (n > KEYS_EAGER) {
		k = p->keys + mark;
		qsort(k, n, sizeof(*k), cmp_kref);
		for (i = 1; i < n; i++)
			if (k[i].len == k[i - 1].len && memcmp(k[i].s, k[i - 1].s, k[i].len) == 0 &&
			    k[i].at < dup)
				dup = k[i].at;
	}
	p->nkeys = mark;
	if (dup != NO_FRAME)
		return syntax(p, p->start + dup, "duplicate object key");
	return 0;
}

/* An object's member up to its value: the key (at p->p), ':' and blanks. */
static int
member_key(struct parser *p, size_t mark)
{
	const unsigned char *at = p->p;
	const char *k;
	size_t len;

	if (p->p == p->end || *p->p != '"')
		return syntax(p, p->p, "string or '}' expected");
	if (string(p, &k, &len) < 0 || key_add(p, mark, k, len, at) < 0)
		return -1;
	blanks(p);
	if (p->p == p->end || *p->p != ':')
		return syntax(p, p->p, "':' expected");
	p->p++;
	blanks(p);
	return 0;
}

/* ---- any value, checked and dropped ---------------------------------------- */

static int
frame_push(struct parser *p, unsigned char kind)
{
	if (keys_push(p, NULL, kind, p->frame) < 0)
		return -1;
	p->frame = p->nkeys - 1;
	return 0;
}

static void
frame_pop(struct parser *p)
{
	size_t f = p->frame;

	p->frame = p->keys[f].at;
	p->nkeys = f;
}

/*
 * The value at p->p (blanks skipped), at nesting depth (the top level is 1),
 * checked to the last byte and forgotten: its strings' space is taken back.
 * Containers open and close on the frames of p->keys, not by recursion.
 */
static int
skip_value(struct parser *p, size_t depth)
{
	char *out0 = p->out;
	size_t open = 0;
	unsigned char c, kind;
	struct jv v;

	for (;;) {
		/* a value, at depth + open */
		if (depth + open > MAX_DEPTH)
			return syntax(p, p->p, "maximum parsing depth reached");
		if (p->p < p->end && (*p->p == '[' || *p->p == '{')) {
			c = *p->p++;
			if (frame_push(p, c) < 0)
				return -1;
			open++;
			blanks(p);
			if (p->p == p->end || *p->p != (c == '[' ? ']' : '}')) {
				/* the first element, or the first member's key */
				if (c == '{' && member_key(p, p->frame + 1) < 0)
					return -1;
				continue;
			}
			p->p++;
			frame_pop(p);
			open--;
		} else if (scalar(p, &v) < 0) {
			return -1;
		}
		/* after a value: the next one, or the ends of containers */
		for (;;) {
			if (open == 0) {
				p->out = out0;
				return 0;
			}
			kind = (unsigned char)p->keys[p->frame].len;
			blanks(p);
			if (p->p == p->end)
				return syntax(p, p->end, kind == '[' ? "']' expected" : "'}' expected");
			c = *p->p++;
			if (c == ',') {
				blanks(p);
				if (kind == '{' && member_key(p, p->frame + 1) < 0)
					return -1;
				break;
			}
			if (c != (kind == '[' ? ']' : '}'))
				return syntax(p, p->p - 1, kind == '[' ? "',' or ']' expected" :
				    "',' or '}' expected");
			if (kind == '{' && keys_close(p, p->frame + 1) < 0)
				return -1;
			frame_pop(p);
			open--;
		}
	}
}

/* ---- results -------------------------------------------------------------- */

static int
known_key(const char *k, size_t len)
{
	int i;

	for (i = 0; i < NKNOWN; i++)
		if (len == known[i].len && memcmp(k, known[i].name, len) == 0)
			return i;
	return -1;
}

/*
 * The result object at p->p ('{'), at depth: the known members' values
 * into m[] (JV_ABSENT when missing), the first unknown member's name (in
 * body order, as json_object_foreach() went) into *unknown. A known key is
 * checked for repeats by a bit; only unknown ones go on p->keys.
 */
static int
read_result(struct parser *p, size_t depth, struct jv m[NKNOWN], const char **unknown)
{
	size_t mark = p->nkeys;
	unsigned seen = 0;
	unsigned char c;
	int i;

	memset(m, 0, NKNOWN * sizeof(*m));
	*unknown = NULL;
	p->p++;
	blanks(p);
	if (p->p < p->end && *p->p == '}') {
		p->p++;
		return 0;
	}
	for (;;) {
		const unsigned char *at = p->p;
		const char *k;
		size_t len;

		if (p->p == p->end || *p->p != '"')
			return syntax(p, p->p, "string or '}' expected");
		if (string(p, &k, &len) < 0)
			return -1;
		if ((i = known_key(k, len)) >= 0) {
			if (seen & (1u << i))
				return syntax(p, at, "duplicate object key");
			seen |= 1u << i;
			p->out = (char *)k;   /* its name is known: the space is free again */
		} else {
			if (key_add(p, mark, k, len, at) < 0)
				return -1;
			if (*unknown == NULL)
				*unknown = k;
		}
		blanks(p);
		if (p->p == p->end || *p->p != ':')
			return syntax(p, p->p, "':' expected");
		p->p++;
		blanks(p);
		if (i < 0 || (p->p < p->end && (*p->p == '[' || *p->p == '{'))) {
			if (i >= 0)
				m[i].type = *p->p == '[' ? JV_ARRAY : JV_OBJECT;
			if (skip_value(p, depth + 1) < 0)
				return -1;
		} else if (scalar(p, &m[i]) < 0) {
			return -1;
		}
		blanks(p);
		if (p->p == p->end)
			return syntax(p, p->end, "'}' expected");
		c = *p->p++;
		if (c == '}')
			break;
		if (c != ',')
			return syntax(p, p->p - 1, "',' or '}' expected");
		blanks(p);
	}
	return keys_close(p, mark);
}

/* output, perfdata: a string or null, at most INGEST_MAX_OUTPUT bytes. */
static int
opt_text(struct parser *p, const struct jv *v, const char *key, size_t idx, const char **out)
{
	if (v->type == JV_ABSENT || v->type == JV_NULL)
		return 0;
	if (v->type != JV_STR)
		return invalid(p, 400, key, "result %zu: %s must be a string or null", idx, key);
	if (v->len > INGEST_MAX_OUTPUT)
		return invalid(p, 422, key, "result %zu: %s longer than %d bytes", idx, key,
		    INGEST_MAX_OUTPUT);
	*out = v->s;
	return 0;
}

/*
 * One result's members into res, or the reason it is invalid: the checks,
 * their order, statuses and messages are those ingest.c made on jansson's
 * object (an unknown member first, then check_id, status, output, value,
 * perfdata, observed_at, duration_ms, result_id).
 */
static int
check_result(struct parser *p, const struct jv m[NKNOWN], const char *unknown, size_t idx,
    int64_t now_us, int64_t max_skew_us, struct result *res)
{
	const struct jv *v;

	memset(res, 0, sizeof(*res));
	res->idx = idx;
	res->duration_ms = -1;
	if (unknown)
		return invalid(p, 422, unknown, "result %zu: unknown field \"%s\"", idx, unknown);
	v = &m[K_CHECK_ID];
	if (v->type == JV_ABSENT)
		return invalid(p, 422, "check_id", "result %zu: check_id is required", idx);
	if (v->type != JV_INT || v->i < 1)
		return invalid(p, 400, "check_id", "result %zu: check_id must be a positive integer",
		    idx);
	res->check_id = v->i;
	v = &m[K_STATUS];
	if (v->type == JV_ABSENT)
		return invalid(p, 422, "status", "result %zu: status is required", idx);
	if (v->type != JV_INT)
		return invalid(p, 400, "status", "result %zu: status must be an integer 0..3", idx);
	if (v->i < 0 || v->i > 3)
		return invalid(p, 422, "status", "result %zu: status must be 0 (OK), 1 (WARNING), "
		    "2 (CRITICAL) or 3 (UNKNOWN)", idx);
	res->status = (int)v->i;
	if (opt_text(p, &m[K_OUTPUT], "output", idx, &res->output) < 0)
		return -1;
	v = &m[K_VALUE];
	if (v->type != JV_ABSENT && v->type != JV_NULL) {
		if (v->type != JV_INT && v->type != JV_REAL)
			return invalid(p, 400, "value", "result %zu: value must be a number or null",
			    idx);
		res->has_value = 1;
		res->value = v->d;
	}
	if (opt_text(p, &m[K_PERFDATA], "perfdata", idx, &res->perfdata) < 0)
		return -1;
	res->observed_us = now_us;
	v = &m[K_OBSERVED_AT];
	if (v->type != JV_ABSENT && v->type != JV_NULL) {
		if (v->type != JV_STR)
			return invalid(p, 400, "observed_at",
			    "result %zu: observed_at must be an RFC 3339 string", idx);
		res->observed_given = 1;
		if (rfc3339_parse(v->s, &res->observed_us) < 0)
			return invalid(p, 422, "observed_at",
			    "result %zu: observed_at \"%s\" is not RFC 3339", idx, v->s);
		/*
		 * Never trust an agent's clock blindly: a stamp further ahead of
		 * ours than max_clock_skew_s would make every later result "late"
		 * and freeze the check. It is stored with our time instead, and
		 * the offset is shown as the agent's clock_skew_s.
		 */
		if (res->observed_us > now_us + max_skew_us) {
			res->ahead_us = res->observed_us - now_us;
			res->observed_us = now_us;
		}
	}
	v = &m[K_DURATION_MS];
	if (v->type != JV_ABSENT && v->type != JV_NULL) {
		if (v->type != JV_INT || v->i < 0 || v->i > INT32_MAX)
			return invalid(p, 400, "duration_ms",
			    "result %zu: duration_ms must be a non-negative integer", idx);
		res->duration_ms = v->i;
	}
	v = &m[K_RESULT_ID];
	if (v->type != JV_ABSENT && v->type != JV_NULL) {
		if (v->type != JV_STR)
			return invalid(p, 400, "result_id",
			    "result %zu: result_id must be a string or null", idx);
		if (v->len == 0 || v->len > INGEST_MAX_RESULT_ID)
			return invalid(p, 422, "result_id", "result %zu: result_id must be 1..%d bytes",
			    idx, INGEST_MAX_RESULT_ID);
		res->result_id = v->s;
	}
	return 0;
}

/* Room for result idx (the array grows by doubling, up to INGEST_MAX_RESULTS). */
static int
room_for(struct parser *p, struct ingest_body *b, size_t *cap, size_t idx)
{
	struct result *r;
	size_t n;

	if (idx < *cap)
		return 0;
	n = *cap * 2 > INGEST_MAX_RESULTS ? INGEST_MAX_RESULTS : *cap * 2;
	if ((r = realloc(b->res, n * sizeof(*r))) == NULL)
		return out_of_memory(p);
	b->res = r;
	*cap = n;
	return 0;
}

/* One element of the top-level array (or the top-level object), at depth. */
static int
element(struct parser *p, struct ingest_body *b, size_t *cap, size_t idx, size_t depth,
    int64_t now_us, int64_t max_skew_us)
{
	struct jv m[NKNOWN];
	const char *unknown;

	/* past an invalid result, or past the limit, the rest is only syntax */
	if (p->invalid || idx >= INGEST_MAX_RESULTS)
		return skip_value(p, depth);
	if (p->p == p->end || *p->p != '{') {
		invalid(p, 400, NULL, "result %zu: expected an object", idx);
		return skip_value(p, depth);
	}
	if (room_for(p, b, cap, idx) < 0 || read_result(p, depth, m, &unknown) < 0)
		return -1;
	check_result(p, m, unknown, idx, now_us, max_skew_us, &b->res[idx]);
	return 0;
}

int
ingest_parse(const char *raw, size_t len, int64_t now_us, int64_t max_skew_us,
    struct ingest_body *b, struct ingest_err *err)
{
	struct parser p;
	size_t n = 0, cap;
	unsigned char c;

	memset(b, 0, sizeof(*b));
	memset(err, 0, sizeof(*err));
	memset(&p, 0, sizeof(p));
	p.err = err;
	p.frame = NO_FRAME;
	if (len == 0) {
		/* no body: what the handler said when http.c had no JSON for it */
		return invalid(&p, 400, NULL, "expected a result object or an array of them");
	}
	/* results of ~200 bytes are usual: one allocation for most batches */
	cap = len / 128 + 1 < INGEST_MAX_RESULTS ? len / 128 + 1 : INGEST_MAX_RESULTS;
	b->strs = malloc(len + 1);
	b->res = malloc(cap * sizeof(*b->res));
	if (b->strs == NULL || b->res == NULL) {
		out_of_memory(&p);
		goto done;
	}
	p.start = p.p = (const unsigned char *)raw;
	p.end = p.start + len;
	p.out = b->strs;
	p.out_end = b->strs + len + 1;
	blanks(&p);
	if (p.p == p.end || (*p.p != '[' && *p.p != '{')) {
		syntax(&p, p.p, "'[' or '{' expected");
		goto done;
	}
	if (*p.p == '{') {
		n = 1;
		if (element(&p, b, &cap, 0, 1, now_us, max_skew_us) < 0)
			goto done;
	} else {
		p.p++;
		blanks(&p);
		if (p.p < p.end && *p.p == ']') {
			p.p++;
		} else {
			for (;;) {
				if (element(&p, b, &cap, n++, 2, now_us, max_skew_us) < 0)
					goto done;
				blanks(&p);
				if (p.p == p.end) {
					syntax(&p, p.end, "']' expected");
					goto done;
				}
				c = *p.p++;
				if (c == ']')
					break;
				if (c != ',') {
					syntax(&p, p.p - 1, "',' or ']' expected");
					goto done;
				}
				blanks(&p);
			}
		}
	}
	blanks(&p);
	if (p.p != p.end) {
		syntax(&p, p.p, "end of file expected");
		goto done;
	}
	if (n > INGEST_MAX_RESULTS) {
		err->status = 422;
		err->field = NULL;
		snprintf(err->msg, sizeof(err->msg), "%zu results in one request (at most %d)", n,
		    INGEST_MAX_RESULTS);
		p.invalid = 1;
	} else if (!p.invalid) {
		b->n = n;
	}
done:
	free(p.keys);
	return p.syntax || p.invalid ? -1 : 0;
}

void
ingest_body_free(struct ingest_body *b)
{
	free(b->res);
	free(b->strs);
	memset(b, 0, sizeof(*b));
}
