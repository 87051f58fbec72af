/*
 * static.c - the dashboard's files (www_dir, by default
 * $datadir/custos/www). One route, "/ui/{name}", serves them, and NAME must
 * be one of www_files[] below, compiled in: no other name, and so no
 * request path, ever reaches the file system (nothing to traverse, nothing
 * else in www_dir to read); anything else is a 404, "/ui/app.js/" too.
 * "/", "/checks/{id}" and "/agents/{id}" all answer index.html; the page's
 * script reads the path, asks /api/v1/session who it is, and shows the
 * login form first when there is no session. Files are read at each
 * request (they are small, and an upgrade changes them under a running
 * serverd). Each answer carries an ETag made from the file's bytes and
 * "Cache-Control: no-cache": the browser asks again on every page load, and
 * an unchanged file is a 304 with no body, so a page load over a slow link
 * does not download the fifteen ES modules again; a file changed by an
 * upgrade has another ETag, so it is never stale. (On one machine it saves
 * nothing measurable: bench/README.md, "The ES modules against one app.js,
 * and the files revalidated".) A new file of the dashboard is added here
 * and to Makefile.am's dist_www_DATA.
 */
#include "config.h"
#include "static.h"
#include "buf.h"
#include "serverd.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WWW_FILE_MAX (4 << 20)

#define JS "text/javascript; charset=utf-8"

/* every file of serverd/www, with its type; the ES modules are app.js's */
static const struct { const char *name, *type; } www_files[] = {
	{ "index.html", "text/html; charset=utf-8" },
	{ "style.css", "text/css; charset=utf-8" },
	{ "favicon.svg", "image/svg+xml" },
	{ "stream-worker.js", JS },
	{ "app.js", JS },
	{ "state.js", JS },
	{ "api.js", JS },
	{ "dom.js", JS },
	{ "stream.js", JS },
	{ "login.js", JS },
	{ "dialogs.js", JS },
	{ "overview.js", JS },
	{ "hosts.js", JS },
	{ "check.js", JS },
	{ "backtest.js", JS },
	{ "agent.js", JS },
	{ "downtimes.js", JS },
	{ "events.js", JS },
	{ "chart.js", JS },
};

/* the entry of www_files[] named name, or NULL */
static const char *
type_of(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(www_files) / sizeof(www_files[0]); i++)
		if (strcmp(name, www_files[i].name) == 0)
			return www_files[i].type;
	return NULL;
}

/* the ETag of a file's bytes: 64-bit FNV-1a, quoted */
static void
etag_of(const char *text, size_t len, char *out, size_t outlen)
{
	unsigned long long h = 14695981039346656037ULL;
	size_t i;

	for (i = 0; i < len; i++) {
		h ^= (unsigned char)text[i];
		h *= 1099511628211ULL;
	}
	snprintf(out, outlen, "\"%016llx\"", h);
}

static void
serve(struct req *r, struct resp *rs, const char *name, const char *type)
{
	const struct srv_conf *cf = conf_hold();
	char path[4096], chunk[8192];
	struct buf b;
	struct MHD_Response *mr;
	FILE *fp;
	size_t n, len;
	char *text;

	buf_init(&b, WWW_FILE_MAX);
	snprintf(path, sizeof(path), "%s/%s", cf->www_dir ? cf->www_dir : ".", name);
	conf_drop(cf);
	if ((fp = fopen(path, "rb")) == NULL) {
		resp_error(rs, errno == ENOENT ? 404 : 500, NULL, "%s: %s (www_dir)", name,
		    strerror(errno));
		return;
	}
	while ((n = fread(chunk, 1, sizeof(chunk), fp)) > 0)
		if (buf_add(&b, chunk, n) < 0)
			break;
	if (ferror(fp) || b.failed) {
		fclose(fp);
		buf_free(&b);
		resp_error(rs, 500, NULL, "%s: unreadable or too large", name);
		return;
	}
	fclose(fp);
	len = b.len;
	text = buf_take(&b);
	etag_of(text ? text : "", text ? len : 0, rs->etag, sizeof(rs->etag));
	if (req_etag_matches(req_header(r, MHD_HTTP_HEADER_IF_NONE_MATCH), rs->etag)) {
		free(text);
		rs->status = 304;   /* http.c answers it with the ETag, no body */
		return;
	}
	mr = text ? MHD_create_response_from_buffer(len, text, MHD_RESPMEM_MUST_FREE)
	    : MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
	if (mr == NULL) {
		free(text);
		resp_error(rs, 500, NULL, "out of memory");
		return;
	}
	MHD_add_response_header(mr, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	MHD_add_response_header(mr, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache");
	MHD_add_response_header(mr, MHD_HTTP_HEADER_ETAG, rs->etag);
	MHD_add_response_header(mr, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(mr, "Referrer-Policy", "no-referrer");
	MHD_add_response_header(mr, "Content-Security-Policy",
	    "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; "
	    "base-uri 'none'; form-action 'self'");
	rs->status = 200;
	rs->raw = mr;
}

void
www_page(struct req *r, struct resp *rs)
{
	serve(r, rs, "index.html", type_of("index.html"));
}

void
www_file(struct req *r, struct resp *rs)
{
	/* "/ui/{name}": the route matched one segment, or one and a trailing
	 * slash ("app.js/", which is no file: it was opened, failed with
	 * ENOTDIR and answered 500); only the names of www_files[] are served */
	const char *name = r->path + strlen("/ui/"), *type = type_of(name);

	if (type == NULL) {
		resp_error(rs, 404, NULL, "no such file");
		return;
	}
	serve(r, rs, name, type);
}
