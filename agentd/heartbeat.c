/*
 * heartbeat.c - heartbeat reports (custos-agentd --wrap) and their spool.
 *
 * A report is one JSON object, POSTed to /api/v1/agent/self/heartbeats/NAME.
 * When the server cannot take it now (no connection, a timeout, 5xx, 408,
 * 429, or a refused token that an operator may yet fix) it is kept in
 * state_dir/heartbeats/, one file a report, as {"name": NAME, "report":
 * {...}}, named "<at in microseconds, 16 digits>-<id>.json" so that sorting
 * the names sends the reports oldest first. One file a report, not one
 * spool file, because several --wrap processes (every cron job of the host)
 * and the agent itself add and send at the same time: creating a file
 * (temp file + fsync + rename) and unlinking it need no lock, and a crash
 * leaves a report whole or absent. Two processes that send the same file
 * at once both succeed: the report's id makes the second a duplicate on
 * the server (200).
 *
 * A report the server refuses for good (404: no heartbeat check of that
 * name; 422: a body it cannot take) is dropped with an error: sending it
 * again would never succeed.
 */
#include "config.h"
#include "agentd.h"
#include "atomicfile.h"
#include "log.h"
#include "timeutil.h"
#include "token.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define HB_DIR "heartbeats"
#define HB_FILE_MAX (64 * 1024)     /* a larger spool file is damaged: dropped */
#define HB_TMP_STALE_S 3600         /* a temp file this old was left by a crash */

const char *
hb_kind_name(enum hb_kind k)
{
	static const char *const names[] = { "start", "success", "fail", "exit" };

	return (unsigned)k < sizeof(names) / sizeof(names[0]) ? names[k] : "?";
}

json_t *
hb_report_new(enum hb_kind kind, int64_t at_us)
{
	char ts[RFC3339_LEN], tok[TOKEN_HEX_LEN + 1];

	rfc3339_format(at_us, ts);
	if (token_generate(tok) < 0)
		return NULL;
	tok[HB_ID_LEN] = '\0';
	return json_pack("{s:s,s:s,s:s}", "kind", hb_kind_name(kind), "at", ts, "id", tok);
}

enum hb_outcome
hb_send(struct client *cl, const char *name, json_t *report, char *err, size_t errlen)
{
	char path[700], why[512], *esc, *body;
	enum hb_outcome out;
	long st;

	if ((esc = curl_easy_escape(NULL, name, 0)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return HB_AWAY;
	}
	if ((size_t)snprintf(path, sizeof(path), "/api/v1/agent/self/heartbeats/%s", esc) >=
	    sizeof(path)) {
		curl_free(esc);
		snprintf(err, errlen, "heartbeat \"%.40s...\": the name is too long", name);
		return HB_REFUSED;
	}
	curl_free(esc);
	if ((body = json_dumps(report, JSON_COMPACT)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return HB_AWAY;
	}
	if (client_request(cl, "POST", path, body, NULL, err, errlen) < 0) {
		free(body);
		return HB_AWAY;
	}
	free(body);
	st = cl->http.status;
	if (st == 201 || st == 200) {
		out = HB_SENT;
	} else if (st == 404) {
		snprintf(err, errlen, "the server has no heartbeat check named \"%s\" for this agent "
		    "(HTTP 404): create it (type heartbeat) or fix the name", name);
		out = HB_REFUSED;
	} else if (st == 401 || st == 403) {
		snprintf(err, errlen, "the server refused this agent's token (%s): the report is "
		    "kept until it is accepted", client_error_text(cl, why, sizeof(why)));
		out = HB_AWAY;
	} else if (st >= 400 && st < 500 && st != 408 && st != 429) {
		snprintf(err, errlen, "heartbeat \"%s\": the server refused the report (%s)", name,
		    client_error_text(cl, why, sizeof(why)));
		out = HB_REFUSED;
	} else {
		snprintf(err, errlen, "heartbeat \"%s\": %s", name,
		    client_error_text(cl, why, sizeof(why)));
		out = HB_AWAY;
	}
	buf_free(&cl->http.resp);
	return out;
}

/*
 * When root runs --wrap for a cron job, the files it makes in state_dir
 * must stay readable by the agent that flushes them: they are given to
 * state_dir's owner. Nothing to do for any other user.
 */
static void
give_to_state_owner(const char *state_dir, int fd, const char *path)
{
	struct stat st;

	if (geteuid() != 0 || stat(state_dir, &st) < 0 || st.st_uid == 0)
		return;
	if ((fd >= 0 ? fchown(fd, st.st_uid, st.st_gid) : chown(path, st.st_uid, st.st_gid)) < 0)
		log_warn("%s: chown to uid %lu: %s", path, (unsigned long)st.st_uid, strerror(errno));
}

int
hb_subdir(const char *state_dir, const char *sub, char *out, size_t size,
    char *err, size_t errlen)
{
	struct stat st;

	if ((size_t)snprintf(out, size, "%s/%s", state_dir, sub) >= size) {
		snprintf(err, errlen, "%s/%s: path too long", state_dir, sub);
		return -1;
	}
	if (mkdir(out, 0700) == 0) {
		give_to_state_owner(state_dir, -1, out);
	} else if (errno != EEXIST) {
		snprintf(err, errlen, "%s: %s", out, strerror(errno));
		return -1;
	}
	if (stat(out, &st) < 0 || !S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "%s is not a directory", out);
		return -1;
	}
	return 0;
}

static int
name_cmp(const void *x, const void *y)
{
	return strcmp(*(char *const *)x, *(char *const *)y);
}

static int
is_report_file(const char *n)
{
	size_t len = strlen(n);

	return n[0] != '.' && len > 5 && strcmp(n + len - 5, ".json") == 0;
}

/*
 * The report files in dir, sorted (oldest first), as heap strings in l.
 * Temp files a crash left behind are removed on the way. 0 or -1 (err).
 */
static int
list_reports(const char *dir, struct lines *l, char *err, size_t errlen)
{
	DIR *d;
	struct dirent *e;
	char path[1024];
	struct stat st;

	if ((d = opendir(dir)) == NULL) {
		if (errno == ENOENT)
			return 0;
		snprintf(err, errlen, "%s: %s", dir, strerror(errno));
		return -1;
	}
	while ((e = readdir(d)) != NULL) {
		char *s;

		if (!is_report_file(e->d_name)) {
			snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
			if (strstr(e->d_name, ".tmp") && lstat(path, &st) == 0 &&
			    time(NULL) - st.st_mtime > HB_TMP_STALE_S)
				unlink(path);
			continue;
		}
		if ((s = strdup(e->d_name)) == NULL || lines_push(l, s) < 0) {
			closedir(d);
			lines_free(l);
			snprintf(err, errlen, "out of memory");
			return -1;
		}
	}
	closedir(d);
	if (l->n > 1)
		qsort(l->v, l->n, sizeof(l->v[0]), name_cmp);
	return 0;
}

int
hb_spool_add(const char *state_dir, const char *name, json_t *report, long long max,
    char *err, size_t errlen)
{
	char dir[600], path[700], tmp[720];
	const char *id = json_string_value(json_object_get(report, "id"));
	const char *at = json_string_value(json_object_get(report, "at"));
	struct lines l = { NULL, 0, 0 };
	int64_t at_us;
	json_t *entry;
	FILE *fp;
	int fd;

	if (id == NULL || at == NULL || rfc3339_parse(at, &at_us) < 0 ||
	    strspn(id, "0123456789abcdef") != strlen(id) || strlen(id) > HB_ID_LEN) {
		snprintf(err, errlen, "a report without a proper id and time cannot be spooled");
		return -1;
	}
	if (max <= 0) {
		snprintf(err, errlen, "spool_max is 0: nothing is kept");
		return -1;
	}
	if (hb_subdir(state_dir, HB_DIR, dir, sizeof(dir), err, errlen) < 0)
		return -1;
	/* bounded like the result spool: the oldest go first */
	if (list_reports(dir, &l, err, errlen) == 0 && (long long)l.n >= max) {
		size_t i, drop = l.n - (size_t)max + 1;

		log_warn("heartbeat spool full (spool_max = %lld): dropping the %zu oldest report%s",
		    max, drop, drop == 1 ? "" : "s");
		for (i = 0; i < drop; i++) {
			snprintf(path, sizeof(path), "%s/%s", dir, l.v[i]);
			unlink(path);
		}
	}
	lines_free(&l);
	snprintf(path, sizeof(path), "%s/%016lld-%s.json", dir, (long long)at_us, id);
	snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid());
	if ((entry = json_pack("{s:s,s:O}", "name", name, "report", report)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)) < 0 ||
	    (fp = fdopen(fd, "w")) == NULL) {
		snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
		if (fd >= 0) {
			close(fd);
			unlink(tmp);
		}
		json_decref(entry);
		return -1;
	}
	give_to_state_owner(state_dir, fd, tmp);
	if (json_dumpf(entry, fp, JSON_COMPACT) < 0)
		log_debug("%s: write failed (reported at commit)", tmp);
	json_decref(entry);
	return atomicfile_commit(fp, tmp, path, 1, err, errlen);
}

/* Reads one spool file: {"name", "report"} or NULL when damaged. */
static json_t *
load_entry(const char *path)
{
	json_error_t je;
	json_t *j;
	struct stat st;

	if (stat(path, &st) < 0 || st.st_size > HB_FILE_MAX)
		return NULL;
	if ((j = json_load_file(path, 0, &je)) == NULL)
		return NULL;
	if (!json_is_string(json_object_get(j, "name")) ||
	    !json_is_object(json_object_get(j, "report"))) {
		json_decref(j);
		return NULL;
	}
	return j;
}

size_t
hb_spool_flush(struct client *cl, const char *state_dir, size_t max_send,
    int64_t max_ms, int *away)
{
	int64_t t0 = mono_now_ms();
	char dir[600], path[1200], err[1024];
	struct lines l = { NULL, 0, 0 };
	size_t i, sent = 0;

	*away = 0;
	snprintf(dir, sizeof(dir), "%s/%s", state_dir, HB_DIR);
	if (list_reports(dir, &l, err, sizeof(err)) < 0) {
		log_warn("%s", err);
		return 0;
	}
	for (i = 0; i < l.n && sent < max_send && (max_ms < 0 || mono_now_ms() - t0 < max_ms); i++) {
		json_t *j;
		const char *name;

		snprintf(path, sizeof(path), "%s/%s", dir, l.v[i]);
		if ((j = load_entry(path)) == NULL) {
			if (access(path, F_OK) < 0)
				continue;   /* another process sent it meanwhile */
			log_warn("%s: damaged heartbeat report dropped", path);
			unlink(path);
			continue;
		}
		name = json_string_value(json_object_get(j, "name"));
		switch (hb_send(cl, name, json_object_get(j, "report"), err, sizeof(err))) {
		case HB_SENT:
			unlink(path);
			sent++;
			break;
		case HB_REFUSED:
			log_error("%s: spooled report dropped", err);
			unlink(path);
			break;
		case HB_AWAY:
			/* a refused token needs a person; a server away does not */
			log_msg(cl->http.status == 401 || cl->http.status == 403 ? LOG_LVL_ERROR : LOG_LVL_INFO,
			    "%s: %zu spooled heartbeat report%s kept for later", err, l.n - i,
			    l.n - i == 1 ? "" : "s");
			*away = 1;
			break;
		}
		json_decref(j);
		if (*away)
			break;
	}
	if (sent)
		log_info("sent %zu spooled heartbeat report%s", sent, sent == 1 ? "" : "s");
	lines_free(&l);
	return sent;
}
