/*
 * yamlload.c - configuration files into JSON objects, with positions
 * (yamlload.h). libyaml's document API: aliases come resolved as shared
 * nodes, which the conversion follows (depth- and count-capped, so that a
 * file of nested aliases cannot make a billion nodes).
 */
#include "config.h"
#include "strnum.h"
#include "yamlload.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <yaml.h>

#define DEPTH_MAX 64            /* nesting of a document */
#define NODES_MAX 20000000      /* nodes converted from one file, aliases followed */
#define DIR_DEPTH_MAX 32        /* nesting of directories (a link loop ends here) */
#define POS_DEPTH 3             /* members whose position is kept: "params.url", not deeper */

struct conv {
	yaml_document_t *doc;
	const char *file;
	long nodes;
	char *err;
	size_t errlen;
};

static const char *const text_keys[] = { "kind", "name", "agent", "check", "type", "warning",
	"critical", "comment", "email", "pushover_user", "pushover_device", "webhook_url", "role",
	"tz", "start", "end", "schedule", "contacts", "notify_on", "parents", "selector", "recurring",
	NULL };

int
yaml_text_key(const char *key)
{
	size_t i;

	for (i = 0; key && text_keys[i]; i++)
		if (strcmp(key, text_keys[i]) == 0)
			return 1;
	return 0;
}

/* A member of labels (an object's own, or a template's check's: "checks.labels"). */
static int
labels_of(const char *path)
{
	size_t n = strlen(path);

	return strcmp(path, "labels") == 0 || (n > 7 && strcmp(path + n - 7, ".labels") == 0);
}

/* "FILE:LINE:COL: why" (why: what, and arg in its %s when what has one) */
static int
fail(struct conv *cv, const yaml_node_t *n, const char *what, const char *arg)
{
	snprintf(cv->err, cv->errlen, "%s:%lu:%lu: %s%s%s%s", cv->file,
	    (unsigned long)n->start_mark.line + 1, (unsigned long)n->start_mark.column + 1,
	    what, arg ? " \"" : "", arg ? arg : "", arg ? "\"" : "");
	return -1;
}

static int
is_int(const char *s)
{
	if (*s == '-' || *s == '+')
		s++;
	if (*s == '\0')
		return 0;
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return 0;
	return 1;
}

static int
is_float(const char *s)
{
	int digits = 0;

	if (*s == '-' || *s == '+')
		s++;
	for (; *s >= '0' && *s <= '9'; s++)
		digits++;
	if (*s == '.')
		for (s++; *s >= '0' && *s <= '9'; s++)
			digits++;
	if (digits == 0)
		return 0;
	if (*s == 'e' || *s == 'E') {
		s++;
		if (*s == '-' || *s == '+')
			s++;
		if (*s < '0' || *s > '9')
			return 0;
		while (*s >= '0' && *s <= '9')
			s++;
	}
	return *s == '\0';
}

/* A scalar's JSON; text: a plain one is a string unless it is null. */
static json_t *
scalar(const yaml_node_t *n, int text)
{
	const char *s = (const char *)n->data.scalar.value;
	size_t len = n->data.scalar.length;

	if (n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return json_stringn(s, len);
	if (len == 0 || strcmp(s, "null") == 0 || strcmp(s, "Null") == 0 ||
	    strcmp(s, "NULL") == 0 || strcmp(s, "~") == 0)
		return json_null();
	if (text || strlen(s) != len)
		return json_stringn(s, len);
	if (strcmp(s, "true") == 0 || strcmp(s, "True") == 0 || strcmp(s, "TRUE") == 0)
		return json_true();
	if (strcmp(s, "false") == 0 || strcmp(s, "False") == 0 || strcmp(s, "FALSE") == 0)
		return json_false();
	if (is_int(s)) {
		const char *es;
		long long v = str_to_ll(s, LLONG_MIN, LLONG_MAX, &es);
		if (es == NULL)
			return json_integer(v);
	}
	if (is_float(s)) {
		const char *es;
		double d = str_to_double(s, &es);
		if (es == NULL)
			return json_real(d);
	}
	return json_stringn(s, len);
}

static void
keep_pos(json_t *pos, const char *path, const yaml_node_t *n)
{
	if (pos && path[0])
		json_object_set_new(pos, path, json_pack("[i, i]", (int)n->start_mark.line + 1,
		    (int)n->start_mark.column + 1));
}

/*
 * Node n as JSON into *out. path: its member path from the object ("" at
 * the object), for pos; text: plain scalars are strings (yamlload.h).
 */
static int
convert(struct conv *cv, yaml_node_t *n, const char *path, int text, int depth, json_t *pos,
    json_t **out)
{
	*out = NULL;
	if (++cv->nodes > NODES_MAX)
		return fail(cv, n, "too many nodes (aliases nested too deep?)", NULL);
	if (depth > DEPTH_MAX)
		return fail(cv, n, "nested too deep (an alias of itself?)", NULL);
	switch (n->type) {
	case YAML_SCALAR_NODE:
		if ((*out = scalar(n, text)) == NULL)
			return fail(cv, n, "a string that is not valid text", NULL);
		return 0;
	case YAML_SEQUENCE_NODE: {
		yaml_node_item_t *it;
		*out = json_array();
		for (it = n->data.sequence.items.start; it < n->data.sequence.items.top; it++) {
			json_t *v;
			char sub[512];
			/* an item's members are found as "checks[0].warning" (a template's) */
			snprintf(sub, sizeof(sub), "%s[%ld]", path, (long)(it - n->data.sequence.items.start));
			if (convert(cv, yaml_document_get_node(cv->doc, *it), sub, text, depth + 1,
			    depth < POS_DEPTH ? pos : NULL, &v) < 0) {
				json_decref(v);
				return -1;
			}
			json_array_append_new(*out, v);
		}
		return 0;
	}
	case YAML_MAPPING_NODE: {
		yaml_node_pair_t *pr;
		*out = json_object();
		for (pr = n->data.mapping.pairs.start; pr < n->data.mapping.pairs.top; pr++) {
			yaml_node_t *k = yaml_document_get_node(cv->doc, pr->key);
			yaml_node_t *v = yaml_document_get_node(cv->doc, pr->value);
			char sub[512];
			const char *key;
			json_t *jv;
			if (k->type != YAML_SCALAR_NODE)
				return fail(cv, k, "a key must be a plain word, not a list or a mapping", NULL);
			key = (const char *)k->data.scalar.value;
			if (strlen(key) != k->data.scalar.length)
				return fail(cv, k, "a key holds a NUL", NULL);
			if (json_object_get(*out, key))
				return fail(cv, k, "duplicate key", key);
			snprintf(sub, sizeof(sub), "%s%s%s", path, path[0] ? "." : "", key);
			if (depth < POS_DEPTH)
				keep_pos(pos, sub, v);
			/* the text members are text, and so is every value of labels */
			if (convert(cv, v, sub, yaml_text_key(key) || labels_of(path), depth + 1,
			    pos, &jv) < 0) {
				json_decref(jv);
				return -1;
			}
			if (jv == NULL || json_object_set_new(*out, key, jv) < 0)
				return fail(cv, k, "a key that is not valid text", NULL);
		}
		return 0;
	}
	default:
		return fail(cv, n, "an empty node", NULL);
	}
}

static int
add_obj(struct yaml_set *set, json_t *obj, json_t *pos, const char *file, const yaml_node_t *n)
{
	struct yaml_obj *o;

	if (set->n == set->cap) {
		size_t cap = set->cap ? set->cap * 2 : 64;
		struct yaml_obj *m = realloc(set->o, cap * sizeof(*m));
		if (m == NULL)
			return -1;
		set->o = m;
		set->cap = cap;
	}
	o = &set->o[set->n++];
	o->obj = obj;
	o->pos = pos;
	o->file = file;
	o->line = (int)n->start_mark.line + 1;
	o->col = (int)n->start_mark.column + 1;
	return 0;
}

/* One object of a document: a mapping. */
static int
one_object(struct conv *cv, struct yaml_set *set, yaml_node_t *n)
{
	json_t *obj, *pos;

	if (n->type != YAML_MAPPING_NODE)
		return fail(cv, n, "expected an object (a mapping with \"kind\" and \"name\")", NULL);
	if ((pos = json_object()) == NULL)
		return fail(cv, n, "out of memory", NULL);
	if (convert(cv, n, "", 0, 0, pos, &obj) < 0) {
		json_decref(obj);
		json_decref(pos);
		return -1;
	}
	if (add_obj(set, obj, pos, cv->file, n) < 0) {
		json_decref(obj);
		json_decref(pos);
		return fail(cv, n, "out of memory", NULL);
	}
	return 0;
}

static int
load_file(const char *path, struct yaml_set *set, char *err, size_t errlen)
{
	yaml_parser_t parser;
	yaml_document_t doc;
	FILE *f;
	char *name, **files;
	int rc = -1;

	if ((f = fopen(path, "rb")) == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	files = realloc(set->files, (set->nfiles + 1) * sizeof(*files));
	if (files == NULL || (name = strdup(path)) == NULL) {
		if (files)
			set->files = files;
		fclose(f);
		snprintf(err, errlen, "%s: out of memory", path);
		return -1;
	}
	set->files = files;
	set->files[set->nfiles++] = name;
	yaml_parser_initialize(&parser);
	yaml_parser_set_input_file(&parser, f);
	for (;;) {
		struct conv cv = { &doc, name, 0, err, errlen };
		yaml_node_t *root;

		if (!yaml_parser_load(&parser, &doc)) {
			snprintf(err, errlen, "%s:%lu:%lu: YAML: %s%s%s", name,
			    (unsigned long)parser.problem_mark.line + 1,
			    (unsigned long)parser.problem_mark.column + 1,
			    parser.problem ? parser.problem : "unreadable",
			    parser.context ? " " : "", parser.context ? parser.context : "");
			break;
		}
		if ((root = yaml_document_get_root_node(&doc)) == NULL) {
			yaml_document_delete(&doc);   /* the end of the stream */
			rc = 0;
			break;
		}
		if (root->type == YAML_SEQUENCE_NODE) {
			yaml_node_item_t *it;
			int bad = 0;
			for (it = root->data.sequence.items.start; !bad && it < root->data.sequence.items.top;
			    it++)
				bad = one_object(&cv, set, yaml_document_get_node(&doc, *it)) < 0;
			if (bad) {
				yaml_document_delete(&doc);
				break;
			}
		} else if (!(root->type == YAML_SCALAR_NODE && root->data.scalar.length == 0) &&
		    one_object(&cv, set, root) < 0) {
			yaml_document_delete(&doc);
			break;
		}
		yaml_document_delete(&doc);
	}
	yaml_parser_delete(&parser);
	fclose(f);
	return rc;
}

static int
by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int
wanted(const char *name)
{
	size_t n = strlen(name);

	return (n > 5 && strcmp(name + n - 5, ".yaml") == 0) ||
	    (n > 4 && strcmp(name + n - 4, ".yml") == 0) ||
	    (n > 5 && strcmp(name + n - 5, ".json") == 0);
}

static int
load_path(const char *path, int top, int depth, struct yaml_set *set, char *err, size_t errlen)
{
	struct stat st;
	DIR *d;
	struct dirent *e;
	char **names = NULL;
	size_t n = 0, cap = 0, i;
	int rc = 0;

	if (stat(path, &st) < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode))
		return top || wanted(path) ? load_file(path, set, err, errlen) : 0;
	if (depth > DIR_DEPTH_MAX) {
		snprintf(err, errlen, "%s: directories nested too deep (a link loop?)", path);
		return -1;
	}
	if ((d = opendir(path)) == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	while ((e = readdir(d)) != NULL) {
		char *full;
		if (e->d_name[0] == '.')
			continue;
		if (n == cap) {
			char **m = realloc(names, (cap = cap ? cap * 2 : 32) * sizeof(*m));
			if (m == NULL) {
				rc = -1;
				break;
			}
			names = m;
		}
		{
			size_t len = strlen(path) + strlen(e->d_name) + 2;
			if ((full = malloc(len)) == NULL) {
				rc = -1;
				break;
			}
			snprintf(full, len, "%s%s%s", path, path[strlen(path) - 1] == '/' ? "" : "/",
			    e->d_name);
		}
		names[n++] = full;
	}
	closedir(d);
	if (rc < 0)
		snprintf(err, errlen, "%s: out of memory", path);
	else
		qsort(names, n, sizeof(*names), by_name);
	for (i = 0; i < n; i++) {
		if (rc == 0)
			rc = load_path(names[i], 0, depth + 1, set, err, errlen);
		free(names[i]);
	}
	free(names);
	return rc;
}

int
yaml_load_paths(char *const *paths, int n, struct yaml_set *set, char *err, size_t errlen)
{
	int i;

	for (i = 0; i < n; i++)
		if (load_path(paths[i], 1, 0, set, err, errlen) < 0)
			return -1;
	return 0;
}

void
yaml_set_free(struct yaml_set *set)
{
	size_t i;

	for (i = 0; i < set->n; i++) {
		json_decref(set->o[i].obj);
		json_decref(set->o[i].pos);
	}
	free(set->o);
	for (i = 0; i < set->nfiles; i++)
		free(set->files[i]);
	free(set->files);
	memset(set, 0, sizeof(*set));
}

void
yaml_where(const struct yaml_set *set, size_t i, const char *field, char *out, size_t len)
{
	const struct yaml_obj *o = &set->o[i];
	json_t *p = field ? json_object_get(o->pos, field) : NULL;
	char sub[300];

	/* a parameter's error names the parameter: look under params too */
	if (p == NULL && field) {
		snprintf(sub, sizeof(sub), "params.%s", field);
		p = json_object_get(o->pos, sub);
	}
	if (p)
		snprintf(out, len, "%s:%d:%d", o->file, (int)json_integer_value(json_array_get(p, 0)),
		    (int)json_integer_value(json_array_get(p, 1)));
	else
		snprintf(out, len, "%s:%d:%d", o->file, o->line, o->col);
}
