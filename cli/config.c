/*
 * config.c - monitoring as code: `apply` and `diff` send what the files
 * say (yamlload.h) to POST /api/v1/config and print its plan as a diff;
 * `export` writes GET /api/v1/config back as YAML that applies as
 * "unchanged" (docs/config-as-code.md).
 *
 * A file that is not YAML stops everything before any request. The
 * server validates the whole set and answers every error with the object's
 * index and the field, which become FILE:LINE:COLUMN here; then nothing
 * was applied. apply asks nothing (it is for CI as much as for people):
 * the plan is printed with what was done.
 */
#include "config.h"
#include "strnum.h"
#include "cli.h"
#include "atomicfile.h"
#include "buf.h"
#include "yamlload.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <yaml.h>

#define CONFIG_TIMEOUT_S 900L   /* a fleet's apply on a busy server */

/* ---- the plan -------------------------------------------------------------------- */

static const char *
paint(const char *action)
{
	if (!colour)
		return "";
	if (strcmp(action, "create") == 0)
		return "\033[32m";
	if (strcmp(action, "delete") == 0)
		return "\033[31m";
	return "\033[33m";
}

static void
value(json_t *v)
{
	char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);

	fputs(s ? s : "?", stdout);
	free(s);
}

/* "+ check web01/nginx" and its fields; unchanged objects are counted, not shown */
static void
print_plan(json_t *plan, int dry_run)
{
	json_t *ch, *counts = json_object_get(plan, "counts");
	size_t i;
	long long cr = json_integer_value(json_object_get(counts, "create")),
	    up = json_integer_value(json_object_get(counts, "update")),
	    de = json_integer_value(json_object_get(counts, "delete"));

	json_array_foreach(json_object_get(plan, "changes"), i, ch) {
		const char *act = jstr(ch, "action", "?");
		const char *field;
		json_t *f;

		if (strcmp(act, "unchanged") == 0)
			continue;
		printf("%s%c %s %s%s\n", paint(act), act[0] == 'c' ? '+' : act[0] == 'd' ? '-' : '~',
		    jstr(ch, "kind", "?"), jstr(ch, "name", "?"), colour ? "\033[0m" : "");
		if (act[0] == 'd')
			continue;
		json_object_foreach(json_object_get(ch, "fields"), field, f) {
			if (act[0] == 'c' && (strcmp(field, "name") == 0 || strcmp(field, "agent") == 0))
				continue;
			printf("    %s: ", field);
			if (act[0] == 'u') {
				value(json_object_get(f, "before"));
				fputs(" -> ", stdout);
			}
			value(json_object_get(f, "after"));
			putchar('\n');
		}
	}
	printf("%lld to create, %lld to update, %lld to delete, %lld unchanged; "
	    "configuration version %lld%s\n", cr, up, de,
	    (long long)json_integer_value(json_object_get(counts, "unchanged")),
	    (long long)json_integer_value(json_object_get(plan, "version")),
	    dry_run ? (cr + up + de ? " (dry run: nothing changed)" : "") :
	    cr + up + de ? " (applied)" : " (nothing to do)");
}

/* The server's refusal, each error at its file:line:column. */
static void
print_errors(const struct yaml_set *set, json_t *ans, long status)
{
	json_t *errs = json_object_get(ans, "errors"), *e;
	size_t i;

	if (!json_is_array(errs)) {
		const char *f = jstr(ans, "field", NULL);
		fprintf(stderr, "custos: %s (HTTP %ld)%s%s\n", jstr(ans, "error", "request refused"),
		    status, f ? ", field: " : "", f ? f : "");
		return;
	}
	json_array_foreach(errs, i, e) {
		json_t *ix = json_object_get(e, "index");
		char where[600];
		if (json_is_integer(ix) && json_integer_value(ix) >= 0 &&
		    (size_t)json_integer_value(ix) < set->n) {
			yaml_where(set, (size_t)json_integer_value(ix), jstr(e, "field", NULL), where,
			    sizeof(where));
			fprintf(stderr, "%s: %s\n", where, jstr(e, "error", "?"));
		} else {
			fprintf(stderr, "custos: %s\n", jstr(e, "error", "?"));
		}
	}
	fprintf(stderr, "custos: %zu error%s: nothing was applied\n", json_array_size(errs),
	    json_array_size(errs) == 1 ? "" : "s");
}

static int
plan(const struct cli_args *a, int dry_run)
{
	struct yaml_set set;
	char err[1024], path[128];
	char *paths[2 * MAX_FILES];
	json_t *body, *objects, *ans = NULL;
	long status = 0;
	size_t i;
	int n = 0, rc;

	for (i = 0; i < (size_t)a->nfiles; i++)
		paths[n++] = (char *)a->files[i];
	for (i = 0; i < (size_t)a->argc && n < (int)(sizeof(paths) / sizeof(paths[0])); i++)
		paths[n++] = a->argv[i];
	if (n == 0)
		return usage("%s: which files? -f PATH (a file or a directory)",
		    dry_run ? "diff" : "apply");
	memset(&set, 0, sizeof(set));
	if (yaml_load_paths(paths, n, &set, err, sizeof(err)) < 0) {
		fprintf(stderr, "%s\ncustos: nothing was sent\n", err);
		yaml_set_free(&set);
		return EXIT_REFUSED;
	}
	objects = json_array();
	for (i = 0; i < set.n; i++)
		json_array_append(objects, set.o[i].obj);
	body = json_pack("{s:o}", "objects", objects);
	snprintf(path, sizeof(path), "/api/v1/config?dry_run=%d%s", dry_run,
	    a->val[O_PRUNE] ? "&prune=1" : "");
	if (a->val[O_EXPECT])
		snprintf(path + strlen(path), sizeof(path) - strlen(path), "&expect=%lld",
		    a->num[O_EXPECT]);
	rc = http_request_full("POST", path, body, CONFIG_TIMEOUT_S, &ans, &status);
	json_decref(body);
	if (rc == 0) {
		if (opt_json)
			print_json(ans);
		else
			print_plan(ans, dry_run);
	} else if (ans) {
		if (opt_json)
			print_json(ans);
		if (status == 422)
			print_errors(&set, ans, status);
		else if (!opt_json)
			print_errors(&set, ans, status);
	}
	json_decref(ans);
	yaml_set_free(&set);
	return rc;
}

int
cmd_apply(const struct cli_args *a)
{
	return plan(a, a->val[O_DRY_RUN] != NULL);
}

int
cmd_diff(const struct cli_args *a)
{
	return plan(a, 1);
}

/* ---- export ------------------------------------------------------------------------ */

/* plain text that would load as something else (yamlload.c's rules) is quoted */
static int
looks_typed(const char *s)
{
	static const char *const words[] = { "null", "Null", "NULL", "~", "true", "True", "TRUE",
		"false", "False", "FALSE", NULL };
	const char *p = s;
	size_t i;
	int digits = 0;

	if (*s == '\0')
		return 1;
	for (i = 0; words[i]; i++)
		if (strcmp(s, words[i]) == 0)
			return 1;
	if (*p == '-' || *p == '+' || *p == '.')
		p++;
	for (; *p; p++)
		if (*p >= '0' && *p <= '9')
			digits++;
		else if (!strchr(".eE+-", *p))
			return 0;
	return digits > 0;
}

struct emit {
	yaml_emitter_t em;
	yaml_event_t ev;
	int ok;
};

static void
emit(struct emit *e)
{
	if (e->ok && !yaml_emitter_emit(&e->em, &e->ev))
		e->ok = 0;
}

static void
emit_scalar(struct emit *e, const char *s, int quote)
{
	if (!e->ok)
		return;
	yaml_scalar_event_initialize(&e->ev, NULL, NULL, (yaml_char_t *)s, (int)strlen(s), 1, 1,
	    quote ? YAML_DOUBLE_QUOTED_SCALAR_STYLE : YAML_ANY_SCALAR_STYLE);
	emit(e);
}

static void
emit_value(struct emit *e, json_t *v)
{
	char num[64];
	const char *k;
	json_t *x;
	size_t i;

	switch (json_typeof(v)) {
	case JSON_OBJECT:
		yaml_mapping_start_event_initialize(&e->ev, NULL, NULL, 1, YAML_BLOCK_MAPPING_STYLE);
		emit(e);
		json_object_foreach(v, k, x) {
			/* a member without a value (a template check's warning,
			 * contacts ...) is its default: left out, as apply reads it,
			 * rather than written "null" */
			if (json_is_null(x))
				continue;
			emit_scalar(e, k, looks_typed(k));
			emit_value(e, x);
		}
		yaml_mapping_end_event_initialize(&e->ev);
		emit(e);
		break;
	case JSON_ARRAY:
		yaml_sequence_start_event_initialize(&e->ev, NULL, NULL, 1, YAML_FLOW_SEQUENCE_STYLE);
		emit(e);
		json_array_foreach(v, i, x)
			emit_value(e, x);
		yaml_sequence_end_event_initialize(&e->ev);
		emit(e);
		break;
	case JSON_STRING:
		emit_scalar(e, json_string_value(v), looks_typed(json_string_value(v)) ||
		    strlen(json_string_value(v)) != json_string_length(v));
		break;
	case JSON_INTEGER:
		snprintf(num, sizeof(num), "%lld", (long long)json_integer_value(v));
		emit_scalar(e, num, 0);
		break;
	case JSON_REAL: {
		double d = json_real_value(v);
		/* the shortest text that reads back as the same number, and as a number */
		snprintf(num, sizeof(num), "%.15g", d);
		{
			const char *es;
			if (str_to_double(num, &es) != d || es != NULL)
				snprintf(num, sizeof(num), "%.17g", d);
		}
		if (!strpbrk(num, ".eE") && isfinite(d) && strlen(num) + 3 <= sizeof(num))
			memcpy(num + strlen(num), ".0", 3);
		emit_scalar(e, num, 0);
		break;
	}
	case JSON_TRUE:
	case JSON_FALSE:
		emit_scalar(e, json_is_true(v) ? "true" : "false", 0);
		break;
	case JSON_NULL:
		emit_scalar(e, "null", 0);
		break;
	}
}

/* "kind", "agent", "name" first, then the rest as the server ordered them */
static void
emit_object(struct emit *e, json_t *o)
{
	static const char *const first[] = { "kind", "agent", "name", NULL };
	const char *k;
	json_t *v;
	size_t i;

	yaml_document_start_event_initialize(&e->ev, NULL, NULL, NULL, 0);
	emit(e);
	yaml_mapping_start_event_initialize(&e->ev, NULL, NULL, 1, YAML_BLOCK_MAPPING_STYLE);
	emit(e);
	for (i = 0; first[i]; i++)
		if ((v = json_object_get(o, first[i])) != NULL) {
			emit_scalar(e, first[i], 0);
			emit_value(e, v);
		}
	json_object_foreach(o, k, v) {
		for (i = 0; first[i] && strcmp(first[i], k) != 0; i++)
			;
		if (first[i])
			continue;
		/* an empty labels or params is the default: left out; so are
		 * no parents (an empty contacts list is not: it means nobody) */
		if (json_is_object(v) && json_object_size(v) == 0)
			continue;
		if (strcmp(k, "parents") == 0 && json_is_array(v) && json_array_size(v) == 0)
			continue;
		emit_scalar(e, k, looks_typed(k));
		emit_value(e, v);
	}
	yaml_mapping_end_event_initialize(&e->ev);
	emit(e);
	yaml_document_end_event_initialize(&e->ev, 1);
	emit(e);
}

static int
on_write(void *data, unsigned char *p, size_t n)
{
	return buf_add(data, p, n) == 0;
}

/* the objects of the kinds in kinds (NULL: all) as a YAML stream into b; 0 or -1 */
static int
to_yaml(json_t *objects, const char *const *kinds, long long version, struct buf *b)
{
	struct emit e;
	json_t *o;
	size_t i, k;

	buf_addf(b, "# custos export: configuration version %lld. `custos apply -f` takes it back.\n",
	    version);
	memset(&e, 0, sizeof(e));
	e.ok = yaml_emitter_initialize(&e.em);
	if (!e.ok)
		return -1;
	yaml_emitter_set_output(&e.em, on_write, b);
	yaml_emitter_set_unicode(&e.em, 1);
	yaml_emitter_set_width(&e.em, 100);
	yaml_stream_start_event_initialize(&e.ev, YAML_UTF8_ENCODING);
	emit(&e);
	json_array_foreach(objects, i, o) {
		for (k = 0; kinds && kinds[k] && strcmp(kinds[k], jstr(o, "kind", "")) != 0; k++)
			;
		if (kinds == NULL || kinds[k])
			emit_object(&e, o);
	}
	yaml_stream_end_event_initialize(&e.ev);
	emit(&e);
	yaml_emitter_delete(&e.em);
	return e.ok && !b->failed ? 0 : -1;
}

int
cmd_export(const struct cli_args *a)
{
	static const struct { const char *file; const char *kinds[3]; } files[] = {
		{ "contacts.yaml", { "contact", "user", NULL } },
		{ "agents.yaml", { "agent", NULL, NULL } },
		{ "checks.yaml", { "check", "heartbeat", NULL } },
		{ "templates.yaml", { "template", NULL, NULL } },
		{ "downtimes.yaml", { "downtime", NULL, NULL } },
		{ "policies.yaml", { "policy", NULL, NULL } },
	};
	const char *dir = a->val[O_DIR];
	json_t *ans, *objects;
	long long version;
	struct buf b;
	size_t i;
	int rc;

	if (dir && *dir == '\0')
		return usage("export: --dir needs a directory");
	if ((rc = http_request_full("GET", "/api/v1/config", NULL, CONFIG_TIMEOUT_S, &ans, NULL)) != 0)
		return rc;
	if (opt_json) {
		print_json(ans);
		json_decref(ans);
		return 0;
	}
	objects = json_object_get(ans, "objects");
	version = (long long)json_integer_value(json_object_get(ans, "version"));
	buf_init(&b, (size_t)1 << 31);
	if (dir == NULL) {
		rc = to_yaml(objects, NULL, version, &b);
		if (rc == 0)
			fwrite(b.ptr, 1, b.len, stdout);
		else
			fprintf(stderr, "custos: export: could not write YAML\n");
		rc = rc ? EXIT_REFUSED : 0;
		goto done;
	}
	if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
		fprintf(stderr, "custos: export: %s: %s\n", dir, strerror(errno));
		rc = EXIT_REFUSED;
		goto done;
	}
	/* every file, the empty ones too: a kind emptied since must not come back */
	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		char path[4096], err[256];
		buf_reset(&b);
		snprintf(path, sizeof(path), "%s/%s", dir, files[i].file);
		if (to_yaml(objects, files[i].kinds, version, &b) < 0 ||
		    atomicfile_write(path, b.ptr, b.len, 1, err, sizeof(err)) < 0) {
			fprintf(stderr, "custos: export: %s: %s\n", path, b.failed ? "out of memory" : err);
			rc = EXIT_REFUSED;
			goto done;
		}
		printf("%s\n", path);
	}
done:
	buf_free(&b);
	json_decref(ans);
	return rc;
}
