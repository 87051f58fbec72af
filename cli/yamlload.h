/*
 * yamlload.h - configuration files for custos apply: YAML (libyaml; JSON
 * is YAML too) read into the JSON objects POST /api/v1/config takes, each
 * with where it came from, so that the server's errors (which name an
 * object and a field) can be shown as file:line:column.
 *
 * A file holds documents (YAML's "---"), each one object (a mapping with
 * "kind") or a list of them; an empty document is skipped. A directory is
 * read recursively, entries in byte order of their names, files ending
 * .yaml, .yml or .json only, names beginning "." skipped; a file named on
 * the command line is read whatever its name.
 *
 * Scalars: a quoted one is a string; a plain one is null (null, ~, empty),
 * a boolean (true, false), an integer, a number, or else a string. Under
 * the members that are text whatever they look like (name, warning,
 * critical, comment, contacts, ...: yaml_text_key(); a list's items with
 * it) and every value of "labels", a
 * plain scalar is a string, so that `warning: 90` means the range "90".
 * Anchors and aliases work; a duplicate key in a mapping is an error.
 */
#ifndef CUSTOS_YAMLLOAD_H
#define CUSTOS_YAMLLOAD_H

#include <jansson.h>
#include <stddef.h>

struct yaml_obj {
	json_t *obj;            /* the object (a JSON object) */
	const char *file;       /* the path it was read from (owned by the set) */
	int line, col;          /* where it begins, 1-based */
	/* where each member's value begins: {"warning": [14, 7], "params.url": [16, 9]} */
	json_t *pos;
};

struct yaml_set {
	struct yaml_obj *o;
	size_t n, cap;
	char **files;           /* every path read, owned */
	size_t nfiles;
};

/*
 * Reads paths (files or directories) in order into set (zeroed by the
 * caller). 0, or -1 with err holding "FILE:LINE:COL: why" (or "PATH:
 * why"); set then holds what was read before and must be freed anyway.
 */
int yaml_load_paths(char *const *paths, int n, struct yaml_set *set, char *err, size_t errlen);
void yaml_set_free(struct yaml_set *set);

/*
 * Where field (a member name, or "params.url") of object i is, else where
 * the object begins: "FILE:LINE:COL" into out.
 */
void yaml_where(const struct yaml_set *set, size_t i, const char *field, char *out, size_t len);

/* Whether a plain scalar under key is text whatever it looks like. */
int yaml_text_key(const char *key);

#endif
