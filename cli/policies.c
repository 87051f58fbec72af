/*
 * policies.c - `custos policies`: list, show, create, edit and delete the
 * notification policies (docs/alerting.md, "Policies and escalation").
 *
 * A policy's steps are given whole, either as the API's JSON array
 * (--step '[{"after_s": 0, "notify": ["alice"]}]') or one --step a step:
 *
 *   --step "after_s=0,notify=alice|rotation:ops,channels=email|pushover,priority=1"
 *
 * (lists inside a step are joined by '|', since ',' parts the step's
 * fields). An edit that gives --step replaces every step.
 */
#include "config.h"
#include "cli.h"
#include "strnum.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* "a|b|c" as a JSON array of strings (empty parts left out). */
static json_t *
bar_list(const char *s, size_t n)
{
	json_t *a = json_array();
	size_t i = 0, j;

	while (a && i < n) {
		for (j = i; j < n && s[j] != '|'; j++)
			;
		if (j > i)
			json_array_append_new(a, json_stringn(s + i, j - i));
		i = j + 1;
	}
	return a;
}

/* One --step "k=v,..." as a step object into steps; 0 or a usage error. */
static int
step_parse(const char *text, json_t *steps)
{
	json_t *st = json_object();
	const char *p = text;

	json_array_append_new(steps, st);
	while (*p) {
		size_t n = strcspn(p, ","), kl;
		const char *eq = memchr(p, '=', n), *es;
		long long v;
		char num[32];

		if (eq == NULL || eq == p)
			return usage("--step \"%s\": \"%.*s\" is not KEY=VALUE (after_s, notify, "
			    "channels, priority)", text, (int)n, p);
		kl = (size_t)(eq - p);
		if ((kl == 7 && strncmp(p, "after_s", 7) == 0) ||
		    (kl == 8 && strncmp(p, "priority", 8) == 0)) {
			size_t vl = n - kl - 1;
			if (vl == 0 || vl >= sizeof(num))
				return usage("--step \"%s\": %.*s needs a number", text, (int)kl, p);
			memcpy(num, eq + 1, vl);
			num[vl] = '\0';
			v = str_to_ll(num, kl == 7 ? 0 : -2, kl == 7 ? 7 * 86400 : 2, &es);
			if (es != NULL)
				return usage("--step \"%s\": %.*s: %s", text, (int)kl, p, es);
			json_object_set_new(st, kl == 7 ? "after_s" : "priority", json_integer(v));
		} else if ((kl == 6 && strncmp(p, "notify", 6) == 0) ||
		    (kl == 8 && strncmp(p, "channels", 8) == 0)) {
			json_object_set_new(st, kl == 6 ? "notify" : "channels",
			    bar_list(eq + 1, n - kl - 1));
		} else {
			return usage("--step \"%s\": unknown field \"%.*s\" (after_s, notify, channels, "
			    "priority)", text, (int)kl, p);
		}
		p += n;
		if (*p == ',')
			p++;
	}
	if (json_object_get(st, "notify") == NULL)
		return usage("--step \"%s\": notify=USER|rotation:NAME|... is needed", text);
	if (json_object_get(st, "after_s") == NULL)
		json_object_set_new(st, "after_s", json_integer(0));
	return 0;
}

static const struct opt_member policy_members[] = {
	{ O_NAME, "name", M_STRING }, { O_MATCH, "match", M_STRING },
	{ O_POSITION, "position", M_NUMBER }, { O_REPEAT, "repeat_s", M_NUMBER },
	{ O_URGENT, "urgent", M_STRING }, { 0, NULL, 0 },
};

/* The members create and edit share, from the options; 0 or a usage error. */
static int
policy_body(const struct cli_args *a, json_t *body)
{
	int i;

	opt_members(a, policy_members, body);
	if (a->val[O_CONTINUE]) {
		const char *c = a->val[O_CONTINUE];
		if (strcmp(c, "yes") != 0 && strcmp(c, "no") != 0)
			return usage("--continue is yes or no");
		json_object_set_new(body, "continue", json_boolean(strcmp(c, "yes") == 0));
	}
	if (a->nparams > 0) {
		json_t *steps;
		const char *first = a->params[0];

		while (*first == ' ')
			first++;
		if (*first == '[') {
			json_error_t err;
			if (a->nparams > 1)
				return usage("--step: a JSON array of steps is given alone");
			if ((steps = json_loads(first, 0, &err)) == NULL || !json_is_array(steps)) {
				json_decref(steps);
				return usage("--step: not a JSON array of steps: %s", err.text);
			}
		} else {
			steps = json_array();
			for (i = 0; i < a->nparams; i++)
				if (step_parse(a->params[i], steps) != 0) {
					json_decref(steps);
					return EXIT_USAGE;
				}
		}
		json_object_set_new(body, "steps", steps);
	}
	return 0;
}

/* "alice,rotation:ops" of a step */
static void
print_names(json_t *arr, const char *sep)
{
	json_t *v;
	size_t i;

	json_array_foreach(arr, i, v)
		printf("%s%s", i ? sep : "", json_string_value(v) ? json_string_value(v) : "?");
}

/* the table of `custos policies` */
static void
policies_rows(json_t *items)
{
	json_t *p;
	size_t i;

	printf("%-4s %-20s %-5s %-6s %-8s %-8s %s\n", "POS", "POLICY", "STEPS", "REPEAT",
	    "URGENT", "CONTINUE", "MATCH");
	json_array_foreach(items, i, p) {
		const char *m = jstr(p, "match", "");
		printf("%-4lld %-20s %-5zu %-6lld %-8s %-8s %s\n",
		    (long long)json_integer_value(json_object_get(p, "position")),
		    jstr(p, "name", "?"), json_array_size(json_object_get(p, "steps")),
		    (long long)json_integer_value(json_object_get(p, "repeat_s")),
		    jstr(p, "urgent", "?"),
		    json_is_true(json_object_get(p, "continue")) ? "yes" : "no",
		    *m ? m : "(everything)");
	}
}

int
cmd_policies(const struct cli_args *a)
{
	(void)a;
	return print_list("/api/v1/policies", policies_rows);
}

int
cmd_policies_show(const struct cli_args *a)
{
	char path[128];
	json_t *p, *st;
	size_t i;
	int rc;

	if ((rc = named_path(N_POLICY, "show", a->argv[0], path, sizeof(path))) != 0)
		return rc;
	if ((rc = http_request("GET", path, NULL, &p)) != 0)
		return rc;
	if (opt_json) {
		print_json(p);
		json_decref(p);
		return 0;
	}
	printf("name      %s\n", jstr(p, "name", "?"));
	printf("position  %lld\n", (long long)json_integer_value(json_object_get(p, "position")));
	printf("match     %s\n", *jstr(p, "match", "") ? jstr(p, "match", "") : "(everything)");
	printf("continue  %s\n", json_is_true(json_object_get(p, "continue")) ? "yes" : "no");
	printf("repeat_s  %lld\n", (long long)json_integer_value(json_object_get(p, "repeat_s")));
	printf("urgent    %s\n", jstr(p, "urgent", "?"));
	json_array_foreach(json_object_get(p, "steps"), i, st) {
		json_t *ch = json_object_get(st, "channels"), *pr = json_object_get(st, "priority");

		printf("step %zu    after %lld s: ", i,
		    (long long)json_integer_value(json_object_get(st, "after_s")));
		print_names(json_object_get(st, "notify"), ", ");
		printf(" on ");
		if (ch)
			print_names(ch, ", ");
		else
			printf("every channel they have");
		if (pr)
			printf(", priority %lld", (long long)json_integer_value(pr));
		printf("\n");
	}
	printf("created   %s by %s\n", jstr(p, "created_at", "?"), jstr(p, "created_by", "?"));
	printf("updated   %s by %s\n", jstr(p, "updated_at", "?"), jstr(p, "updated_by", "?"));
	json_decref(p);
	return 0;
}

int
cmd_policies_create(const struct cli_args *a)
{
	json_t *body;
	char path[128];
	int rc;

	if ((rc = named_path(N_POLICY, "create", a->argv[0], path, sizeof(path))) != 0)
		return rc;
	if (a->nparams == 0)
		return usage("policies create: --step is needed (one a step, or a JSON array)");
	body = json_pack("{s:s}", "name", a->argv[0]);
	if ((rc = policy_body(a, body)) != 0) {
		json_decref(body);
		return rc;
	}
	rc = create_named(N_POLICY, a->argv[0], body);
	json_decref(body);
	return rc;
}

int
cmd_policies_edit(const struct cli_args *a)
{
	json_t *body = json_object();
	char path[128];
	int rc;

	if ((rc = named_path(N_POLICY, "edit", a->argv[0], path, sizeof(path))) != 0 ||
	    (rc = policy_body(a, body)) != 0) {
		json_decref(body);
		return rc;
	}
	if (json_object_size(body) == 0) {
		json_decref(body);
		return usage("policies edit: nothing to change");
	}
	rc = patch_path(path, body, N_POLICY, a->argv[0]);
	json_decref(body);
	return rc;
}

