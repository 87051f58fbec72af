/*
 * config.c - custos-agentd's configuration keys and their defaults (the
 * token file is read by client.c). conf/agentd.conf.sample lists the same
 * keys; keep them in step.
 */
#include "config.h"
#include "agentd.h"
#include "conf.h"
#include "log.h"
#include "selector.h"
#include "utf8.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <limits.h>


static const char *const levels[] = { "debug", "info", "warning", "error", NULL };

#define OFF(f) offsetof(struct agent_conf, f)
static const struct conf_key agent_keys[] = {
	{ "server", CONF_STR, OFF(server), 0, 0, NULL },
	{ "token_file", CONF_STR, OFF(token_file), 0, 0, NULL },
	{ "ca_file", CONF_STR, OFF(ca_file), 0, 0, NULL },
	{ "plugin_dir", CONF_STR, OFF(plugin_dir), 0, 0, NULL },
	{ "log_dirs", CONF_STR, OFF(log_dirs), 0, 0, NULL },
	{ "state_dir", CONF_STR, OFF(state_dir), 0, 0, NULL },
	{ "timeout_s", CONF_INT, OFF(timeout_s), 1, 3600, NULL },
	{ "log_level", CONF_ENUM, OFF(log_level), 0, 0, levels },
	{ "spool_max", CONF_INT, OFF(spool_max), 0, 1000000, NULL },
	{ "jitter_s", CONF_INT, OFF(jitter_s), 0, 3600, NULL },
	{ "interval_s", CONF_INT, OFF(interval_s), 0, 86400, NULL },
	{ "labels", CONF_STR, OFF(labels), 0, 0, NULL },
	{ NULL, CONF_STR, 0, 0, 0, NULL },
};

void
conf_defaults(struct agent_conf *cf)
{
	memset(cf, 0, sizeof(*cf));
	cf->server = strdup("http://127.0.0.1:8675");
	cf->token_file = strdup("/etc/custos/agent.token");
	cf->plugin_dir = strdup("/etc/custos/plugins.d");
	cf->log_dirs = strdup("/var/log");
	cf->state_dir = strdup("/var/lib/custos-agentd");
	cf->timeout_s = 10;
	cf->log_level = LOG_LVL_INFO;
	cf->spool_max = 10000;
	cf->jitter_s = 30;
	cf->interval_s = 0;
}

/* Every entry of log_dirs is an absolute path; an empty list reads nothing. */
static int
log_dirs_check(const char *dirs, char *err, size_t errlen, const char *path)
{
	const char *s = dirs ? dirs : "", *e;

	while (*s) {
		s += strspn(s, " \t,:");
		e = s + strcspn(s, " \t,:");
		if (e > s && *s != '/') {
			snprintf(err, errlen, "%s: log_dirs: \"%.*s\" is not an absolute path",
			    path, (int)(e - s), s);
			return -1;
		}
		s = e;
	}
	return 0;
}

int
agent_conf_load(const char *path, struct agent_conf *cf, char *err, size_t errlen)
{
	struct agent_conf work;
	const char *s;

	if (conf_copy(agent_keys, &work, cf, sizeof(work)) < 0) {
		snprintf(err, errlen, "%s: out of memory", path);
		return -1;
	}
	if (conf_load(path, agent_keys, &work, sizeof(work), err, errlen) < 0) {
		conf_free(agent_keys, &work);
		return -1;
	}
	/* checks that span a value's meaning, not its syntax */
	s = work.server;
	if (s == NULL || (strncmp(s, "http://", 7) != 0 && strncmp(s, "https://", 8) != 0)) {
		snprintf(err, errlen, "%s: server: \"%s\" is not an http:// or https:// URL",
		    path, s ? s : "");
		conf_free(agent_keys, &work);
		return -1;
	}
	if (work.interval_s < 0) {
		snprintf(err, errlen, "%s: interval_s: %lld must be 0 (the server's) or more",
		    path, work.interval_s);
		conf_free(agent_keys, &work);
		return -1;
	}
	if (log_dirs_check(work.log_dirs, err, errlen, path) < 0) {
		conf_free(agent_keys, &work);
		return -1;
	}
	if (work.labels) {
		struct selector l;
		char lerr[300];
		if (!utf8_valid(work.labels, strlen(work.labels))) {
			snprintf(err, errlen, "%s: labels: not UTF-8", path);
			conf_free(agent_keys, &work);
			return -1;
		}
		if (labels_parse("labels", work.labels, &l, lerr, sizeof(lerr)) < 0) {
			snprintf(err, errlen, "%s: %s", path, lerr);
			conf_free(agent_keys, &work);
			return -1;
		}
		selector_free(&l);
	}
	if (work.ca_file && *work.ca_file == '\0') {
		free(work.ca_file);
		work.ca_file = NULL;
	}
	conf_free(agent_keys, cf);
	*cf = work;
	return 0;
}

json_t *
conf_labels_json(const struct agent_conf *cf)
{
	struct selector l;
	char err[300];
	json_t *o = json_object();
	size_t i;

	if (o == NULL || cf->labels == NULL)
		return o;
	/* validated at load: a failure here is memory */
	if (labels_parse("labels", cf->labels, &l, err, sizeof(err)) < 0) {
		json_decref(o);
		return NULL;
	}
	for (i = 0; i < l.n; i++)
		if (json_object_set_new(o, l.reqs[i].key, json_string(l.reqs[i].values[0])) < 0) {
			json_decref(o);
			o = NULL;
			break;
		}
	selector_free(&l);
	return o;
}

void
agent_conf_free(struct agent_conf *cf)
{
	conf_free(agent_keys, cf);
}

/* mkdir -p with mode 0700 for what is created; 0 or -1 with errno */
static int
mkdir_parents(char *path)
{
	char *s;
	struct stat st;

	for (s = path + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		if (stat(path, &st) < 0 && mkdir(path, 0755) < 0 && errno != EEXIST) {
			*s = '/';
			return -1;
		}
		*s = '/';
	}
	return mkdir(path, 0700) < 0 && errno != EEXIST ? -1 : 0;
}

int
state_dir_ready(const char *dir, char *err, size_t errlen)
{
	char path[PATH_MAX];
	struct stat st;

	if (dir == NULL || dir[0] != '/' || strlen(dir) >= sizeof(path)) {
		snprintf(err, errlen, "state_dir \"%s\" must be an absolute path", dir ? dir : "");
		return -1;
	}
	if (stat(dir, &st) < 0) {
		if (errno != ENOENT) {
			snprintf(err, errlen, "state_dir %s: %s", dir, strerror(errno));
			return -1;
		}
		memcpy(path, dir, strlen(dir) + 1);
		if (mkdir_parents(path) < 0 || stat(dir, &st) < 0) {
			snprintf(err, errlen, "state_dir %s cannot be created: %s", dir, strerror(errno));
			return -1;
		}
	}
	if (!S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "state_dir %s is not a directory", dir);
		return -1;
	}
	if (access(dir, W_OK | X_OK) < 0) {
		snprintf(err, errlen, "state_dir %s is not writable by this agent's user (uid %lu): %s",
		    dir, (unsigned long)geteuid(), strerror(errno));
		return -1;
	}
	return 0;
}
