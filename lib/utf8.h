/*
 * utf8.h - UTF-8 repair and cutting. A result's text comes from the host
 * (a plugin printing Latin-1, a log line with a stray byte) and must still
 * become JSON: invalid bytes are replaced, never a reason to drop a result.
 */
#ifndef CUSTOS_UTF8_H
#define CUSTOS_UTF8_H

#include <stddef.h>

#define UTF8_REPLACEMENT "\xef\xbf\xbd"   /* U+FFFD */

/*
 * Length of the valid UTF-8 sequence at s (at most n bytes available):
 * 1-4, or 0 when the bytes there are not a valid, shortest-form sequence of
 * a scalar value (no surrogates, nothing above U+10FFFF).
 */
size_t utf8_seq_len(const unsigned char *s, size_t n);
/* 1 when s[0..n) is valid UTF-8 (NUL bytes count as valid). */
int utf8_valid(const char *s, size_t n);
/*
 * A heap copy of s[0..n) in which every byte that does not start a valid
 * sequence becomes U+FFFD and every NUL a space (JSON strings here are C
 * strings). Caller frees. NULL only when out of memory.
 */
char *utf8_repair(const char *s, size_t n);
/*
 * Control characters: C0 (U+0000-U+001F), DEL (U+007F) and C1
 * (U+0080-U+009F, the bytes C2 80-C2 9F in UTF-8). A terminal obeys them
 * (ESC [ ... rewrites the screen an operator reads with custos-cli or
 * less), so text from a host never reaches storage with one in it.
 * UTF8_CTL_KEEP_NL_TAB spares LF and TAB (a check's multi-line output).
 *
 * utf8_ctl_find: the offset of the first one in s[0..n), or n when none.
 * utf8_ctl_escape: a heap copy with each one written as the six
 *   characters \u00XX (ESC becomes \u001b), so what a plugin printed stays
 *   readable and no byte of it acts. NULL only when out of memory.
 */
#define UTF8_CTL_KEEP_NL_TAB 1
size_t utf8_ctl_find(const char *s, size_t n, int flags);
char *utf8_ctl_escape(const char *s, size_t n, int flags);

/* The largest length <= max at which s (of length n) can be cut without
 * splitting a multi-byte sequence. */
size_t utf8_cut(const char *s, size_t n, size_t max);

#endif
