/*
 * resp.c - filling a struct resp: JSON answers and the one error shape,
 * {"error": ..., "field": ...}; reading query arguments and headers. Separate from http.c so the validators can
 * be unit-tested without a server.
 */
#include "config.h"
#include "http.h"
#include "db.h"
#include "log.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

void
resp_json(struct resp *rs, int status, json_t *j)
{
	json_decref(rs->json);
	rs->json = NULL;
	if (j == NULL) {
		resp_error(rs, 500, NULL, "out of memory");
		return;
	}
	rs->status = status;
	rs->json = j;
}

void
resp_error(struct resp *rs, int status, const char *field, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	json_t *j;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	json_decref(rs->json);
	j = json_object();
	if (j) {
		json_object_set_new(j, "error", json_string(msg));
		if (field)
			json_object_set_new(j, "field", json_string(field));
	}
	rs->status = status;
	rs->json = j;
	if (status >= 500)
		log_error("%d: %s", status, msg);
}

void
resp_db_error(struct resp *rs, PGconn *c, const PGresult *r)
{
	resp_db_outcome(rs, db_outcome(c, r), NULL);
}

void
resp_db_outcome(struct resp *rs, enum db_outcome o, const char *what)
{
	switch (o) {
	case DB_OK:
		break;
	case DB_UNAVAILABLE:
		resp_error(rs, 503, NULL, "database unavailable");
		break;
	case DB_CONFLICT:
		resp_error(rs, 409, NULL, "conflict: already exists");
		break;
	case DB_NOT_FOUND:
		resp_error(rs, 404, NULL, "%s", what ? what : "not found");
		break;
	case DB_NOMEM:
		resp_error(rs, 500, NULL, "out of memory");
		break;
	default:
		resp_error(rs, 500, NULL, "%s", what ? what : "internal database error");
		break;
	}
}

const char *
req_arg(struct req *r, const char *key)
{
	return MHD_lookup_connection_value(r->mc, MHD_GET_ARGUMENT_KIND, key);
}

const char *
req_header(struct req *r, const char *key)
{
	return MHD_lookup_connection_value(r->mc, MHD_HEADER_KIND, key);
}

int
req_etag_matches(const char *inm, const char *etag)
{
	size_t el = strlen(etag);
	const char *p = inm;

	while (p && *p) {
		while (*p == ' ' || *p == ',')
			p++;
		if (strncmp(p, "W/", 2) == 0)
			p += 2;
		if (*p == '*')
			return 1;
		if (strncmp(p, etag, el) == 0 && (p[el] == '\0' || p[el] == ',' || p[el] == ' '))
			return 1;
		p = strchr(p, ',');
	}
	return 0;
}

const char *
req_client(struct req *r, char out[INET6_ADDRSTRLEN])
{
	const union MHD_ConnectionInfo *ci = r->mc ? MHD_get_connection_info(r->mc,
	    MHD_CONNECTION_INFO_CLIENT_ADDRESS) : NULL;
	const struct sockaddr *sa = ci ? ci->client_addr : NULL;

	snprintf(out, INET6_ADDRSTRLEN, "?");
	if (sa && sa->sa_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, out,
		    INET6_ADDRSTRLEN);
	else if (sa && sa->sa_family == AF_INET6)
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, out,
		    INET6_ADDRSTRLEN);
	return out;
}
