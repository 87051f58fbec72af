/*
 * selector.h - labels and the selector language that picks objects by them.
 *
 * A label is key=value: keys are 1..63 of [a-z0-9_.-], values at most 255
 * bytes, at most 32 labels per object. A selector is requirements joined by
 * commas, all of which must hold (AND):
 *
 *   team=db            the label is there and equal ("==" is the same)
 *   env!=dev           the label is absent or different
 *   role in (web,api)  the label is there and one of the list
 *   role notin (x,y)   the label is absent or none of the list
 *   key                the label is there
 *   !key               the label is absent
 *
 * A key written "fact.PATH" reads the agent's reported facts instead of its
 * labels; PATH is dot-separated members of nested objects (fact.os,
 * fact.interfaces.eth0). A value is a run of bytes other than blanks and
 * , ( ) = ! " or a "double-quoted" string (\" and \\ escaped inside), so
 * env="" selects an empty value. The negative forms match an absent key,
 * as Kubernetes' selectors do: "env!=dev" keeps the objects that have no env.
 *
 * Errors name the byte column (from 1) where parsing stopped, after the
 * caller's prefix: "selector:12: expected \"=\", \"!=\", \"in\" or ...".
 * The module is pure (no I/O, no allocation beyond the parsed result), so
 * the server, the agent and the CLI share it; the server evaluates in SQL
 * (sql/functions/selector_match.sql) over the same parsed form, and
 * selector_match() here is the reference the unit tests pin.
 */
#ifndef CUSTOS_SELECTOR_H
#define CUSTOS_SELECTOR_H

#include <stddef.h>

#define LABEL_KEY_MAX 63        /* bytes */
#define LABEL_VALUE_MAX 255     /* bytes */
#define LABELS_MAX 32           /* labels per object */
#define SELECTOR_TEXT_MAX 4096  /* bytes of selector text */
#define SELECTOR_REQS_MAX 32    /* requirements per selector */
#define SELECTOR_VALUES_MAX 64  /* values in one in (...) list */

enum sel_op {
	SEL_IN,          /* =, ==, in (...) */
	SEL_NOTIN,       /* !=, notin (...) */
	SEL_EXISTS,      /* key */
	SEL_NOT_EXISTS,  /* !key */
};

struct sel_req {
	enum sel_op op;
	int fact;          /* 1: key is a fact path (without "fact.") */
	char *key;         /* heap */
	char **values;     /* heap, nvalues heap strings; SEL_IN/SEL_NOTIN only */
	size_t nvalues;
	int list;          /* 1: written "in (...)" / "notin (...)" */
};

struct selector {
	struct sel_req *reqs;  /* heap, n of them */
	size_t n;
};

/* 1 when key is a valid label key ([a-z0-9_.-]{1,63}), else 0. */
int label_key_valid(const char *key);
/* 1 when value is a valid label value (at most 255 bytes), else 0. */
int label_value_valid(const char *value);

/*
 * Parses text into *out (zeroed first). Returns 0, or -1 with
 * "NAME:COL: reason" in err and *out empty. An empty text is an error.
 * selector_free() releases what a successful parse made.
 */
int selector_parse(const char *name, const char *text, struct selector *out,
    char *err, size_t errlen);
void selector_free(struct selector *s);

/*
 * Parses a label list "k=v,k2=v2" (agentd.conf's labels): the selector
 * syntax restricted to key=value with label keys, no key twice, at most
 * LABELS_MAX. An empty or blank text is the empty list. Same contract as
 * selector_parse(): each req is SEL_IN with its one value.
 */
int labels_parse(const char *name, const char *text, struct selector *out,
    char *err, size_t errlen);

/*
 * The value of a label (fact == 0) or of a fact path (fact == 1) of the
 * object being tested, or NULL when it has none; the pointer needs to stay
 * valid only until the next call.
 */
typedef const char *(*sel_lookup_fn)(void *ctx, int fact, const char *key);

/* 1 when every requirement of s holds for the object lookup describes. */
int selector_match(const struct selector *s, sel_lookup_fn lookup, void *ctx);

#endif
