/*
 * static.c - the dashboard's files (www_dir, by default
 * $datadir/custos/www). The route table names every file served (routes.c:
 * "/ui/app.js" and so on), so no request path ever reaches the file
 * system: there is nothing to traverse. "/", "/checks/{id}" and
 * "/agents/{id}" all answer index.html; the page's script reads the path,
 * asks /api/v1/session who it is, and shows the login form first when
 * there is no session. Files are read at each request (they are small,
 * and an upgrade changes them under a running serverd).
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

static const struct { const char *ext, *type; } types[] = {
	{ ".html", "text/html; charset=utf-8" },
	{ ".js", "text/javascript; charset=utf-8" },
	{ ".css", "text/css; charset=utf-8" },
	{ ".svg", "image/svg+xml" },
	{ ".png", "image/png" },
	{ ".txt", "text/plain; charset=utf-8" },
};

static const char *
type_of(const char *name)
{
	size_t i, n = strlen(name);

	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		size_t e = strlen(types[i].ext);
		if (n > e && strcmp(name + n - e, types[i].ext) == 0)
			return types[i].type;
	}
	return "application/octet-stream";
}

static void
serve(struct resp *rs, const char *name)
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
	mr = text ? MHD_create_response_from_buffer(len, text, MHD_RESPMEM_MUST_FREE)
	    : MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
	if (mr == NULL) {
		free(text);
		resp_error(rs, 500, NULL, "out of memory");
		return;
	}
	MHD_add_response_header(mr, MHD_HTTP_HEADER_CONTENT_TYPE, type_of(name));
	MHD_add_response_header(mr, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache");
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
	(void)r;
	serve(rs, "index.html");
}

void
www_file(struct req *r, struct resp *rs)
{
	/* the route matched "/ui/NAME" exactly: NAME is one of ours, but the
	 * matcher tolerates a trailing slash, and "app.js/" is no file (it
	 * was opened, failed with ENOTDIR and answered 500) */
	const char *name = r->path + strlen("/ui/");

	if (strchr(name, '/') != NULL) {
		resp_error(rs, 404, NULL, "no such file");
		return;
	}
	serve(rs, name);
}
