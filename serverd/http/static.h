/*
 * static.h - the dashboard's pages and files (static.c), route handlers
 * named in the route table (api/routes.c) as the others are.
 */
#ifndef CUSTOS_STATIC_H
#define CUSTOS_STATIC_H

#include "http.h"

/* index.html, for "/" and the dashboard's own paths (NEED_NONE) */
void www_page(struct req *r, struct resp *rs);
/* the file the route names (NEED_NONE) */
void www_file(struct req *r, struct resp *rs);

#endif
