/*
 * utf8.c - see utf8.h. The decoder follows the Unicode standard's table of
 * well-formed byte sequences (Table 3-7): each invalid byte is replaced by
 * one U+FFFD and decoding resumes at the next byte.
 */
#include "config.h"
#include "utf8.h"
#include "invariant.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

size_t
utf8_seq_len(const unsigned char *s, size_t n)
{
	unsigned char c = s[0];
	size_t len, i;
	unsigned char lo = 0x80, hi = 0xbf;

	if (n == 0)
		return 0;
	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		len = 2;
	else if (c >= 0xe0 && c <= 0xef) {
		len = 3;
		if (c == 0xe0)
			lo = 0xa0;          /* no overlong forms */
		else if (c == 0xed)
			hi = 0x9f;          /* no surrogates */
	} else if (c >= 0xf0 && c <= 0xf4) {
		len = 4;
		if (c == 0xf0)
			lo = 0x90;
		else if (c == 0xf4)
			hi = 0x8f;          /* nothing above U+10FFFF */
	} else
		return 0;
	if (n < len)
		return 0;
	if (s[1] < lo || s[1] > hi)
		return 0;
	for (i = 2; i < len; i++)
		if (s[i] < 0x80 || s[i] > 0xbf)
			return 0;
	return len;
}

int
utf8_valid(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, l;

	while (i < n) {
		if ((l = utf8_seq_len(p + i, n - i)) == 0)
			return 0;
		i += l;
	}
	return 1;
}

char *
utf8_repair(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, o = 0, l, cap;
	char *out;

	/* worst case: every byte becomes three */
	if (n > (((size_t)-1) - 1) / 3)
		return NULL;
	cap = n * 3 + 1;
	if (utf8_valid(s, n) && memchr(s, '\0', n) == NULL)
		cap = n + 1;
	if ((out = malloc(cap)) == NULL)
		return NULL;
	while (i < n) {
		if (p[i] == '\0') {
			out[o++] = ' ';
			i++;
		} else if ((l = utf8_seq_len(p + i, n - i)) > 0) {
			memcpy(out + o, p + i, l);
			o += l;
			i += l;
		} else {
			memcpy(out + o, UTF8_REPLACEMENT, 3);
			o += 3;
			i++;
		}
	}
	/* within the allocation (the NUL included), and what it promises */
	CUSTOS_ASSERT(o < cap && utf8_valid(out, o) && memchr(out, '\0', o) == NULL);
	out[o] = '\0';
	return out;
}

/* 0, or the length (1 or 2) of the control character at p[0..n) */
static size_t
ctl_len(const unsigned char *p, size_t n, int flags)
{
	if (p[0] < 0x20)
		return (flags & UTF8_CTL_KEEP_NL_TAB) && (p[0] == '\n' || p[0] == '\t') ? 0 : 1;
	if (p[0] == 0x7f)
		return 1;
	if (p[0] == 0xc2 && n > 1 && p[1] >= 0x80 && p[1] <= 0x9f)
		return 2;
	return 0;
}

size_t
utf8_ctl_find(const char *s, size_t n, int flags)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i;

	for (i = 0; i < n; i++)
		if ((p[i] < 0x20 || p[i] == 0x7f || p[i] == 0xc2) && ctl_len(p + i, n - i, flags))
			return i;
	return n;
}

char *
utf8_ctl_escape(const char *s, size_t n, int flags)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, o = 0, l;
	char *out;

	/* worst case: every byte becomes six */
	if (n > (((size_t)-1) - 1) / 6 || (out = malloc(n * 6 + 1)) == NULL)
		return NULL;
	while (i < n) {
		if ((l = ctl_len(p + i, n - i, flags)) == 0) {
			out[o++] = (char)p[i++];
			continue;
		}
		o += (size_t)snprintf(out + o, 7, "\\u%04x", l == 2 ? p[i + 1] : p[i]);
		i += l;
	}
	out[o] = '\0';
	return out;
}

size_t
utf8_cut(const char *s, size_t n, size_t max)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i;

	if (n <= max)
		return n;
	i = max;
	/* step back over continuation bytes, at most three */
	while (i > 0 && max - i < 3 && (p[i] & 0xc0) == 0x80)
		i--;
	if ((p[i] & 0xc0) == 0x80)
		return max;   /* not UTF-8 there anyway: cut where asked */
	return i;
}
