/*
 * urlredact.h - a URL's "user:password@" hidden in a JSON text. A check's
 * params may carry a credential in a URL (an http check's
 * "http://user:pass@host/"), and so may an output that echoes it; an admin
 * and the agent that runs the check read it, no other role does. serverd
 * applies this to each answer and stream frame for the operator and
 * viewer roles (docs/api.md, "Secrets in URLs"), so no handler has to remember it.
 */
#ifndef CUSTOS_URLREDACT_H
#define CUSTOS_URLREDACT_H

#include <stddef.h>

/*
 * text (len bytes, JSON: strings as jansson or PostgreSQL write them, "/"
 * not escaped) with the userinfo of every URL - what stands between "://"
 * and the last "@" of the authority, which ends at "/", "?", "#", an
 * unescaped '"' or a control or space character - written as "***".
 * 0: there is none (*out is NULL); 1: *out is a new NUL-terminated copy of
 * *out_len bytes (the caller frees it); -1: out of memory.
 */
int url_redact(const char *text, size_t len, char **out, size_t *out_len);

#endif
