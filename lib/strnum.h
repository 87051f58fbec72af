/*
 * strnum.h - text: the one checked way to turn text into numbers (after
 * OpenBSD's strtonum), and the one trim.
 *
 * The numbers: the whole string must be a number within [min, max]. On
 * error *errstr says why ("invalid", "too small", "too large") and 0 is
 * returned; on success *errstr is NULL.
 */
#ifndef CUSTOS_STRNUM_H
#define CUSTOS_STRNUM_H

#include <stdint.h>

long long str_to_ll(const char *s, long long min, long long max, const char **errstr);
/* A finite double; accepts what strtod accepts, except inf/nan and hex. */
double str_to_double(const char *s, const char **errstr);
/*
 * A JSON number's text (RFC 8259's grammar, already checked by the caller,
 * NUL-terminated) read as jansson reads a real: by strtod. 0, or -1 when it
 * overflows to infinity (jansson's "real number overflow"); an underflow
 * to zero or a subnormal is no error there, and none here.
 */
int str_json_real(const char *s, double *out);

/* Cuts white space (isspace()) off both ends of s, in place; returns the first non-blank. */
char *str_trim(char *s);

/* And back: an id as decimal text into buf (24 bytes: any int64); returns buf. */
const char *id_text(int64_t id, char buf[24]);

#endif
