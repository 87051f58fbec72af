/*
 * buf.c - see buf.h. Growth doubles the allocation, clamped to the cap.
 */
#include "config.h"
#include "buf.h"
#include "invariant.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void
buf_init(struct buf *b, size_t toobig)
{
	b->ptr = NULL;
	b->len = 0;
	b->cap = 0;
	b->toobig = toobig;
	b->failed = 0;
}

void
buf_free(struct buf *b)
{
	free(b->ptr);
	buf_init(b, b->toobig);
}

void
buf_reset(struct buf *b)
{
	b->len = 0;
	b->failed = 0;
	if (b->ptr)
		b->ptr[0] = '\0';
}

static int
buf_fail(struct buf *b)
{
	free(b->ptr);
	b->ptr = NULL;
	b->len = b->cap = 0;
	b->failed = 1;
	return -1;
}

static int
buf_grow(struct buf *b, size_t need)
{
	size_t ncap;
	char *p;

	if (b->failed)
		return -1;
	if (need < b->len || need + 1 > b->toobig)
		return buf_fail(b);
	if (need + 1 <= b->cap)
		return 0;
	ncap = b->cap ? b->cap : 64;
	while (ncap < need + 1)
		ncap *= 2;
	if (ncap > b->toobig)
		ncap = b->toobig;
	CUSTOS_ASSERT(ncap >= need + 1);   /* the cap was checked above: room for the NUL */
	p = realloc(b->ptr, ncap);
	if (p == NULL)
		return buf_fail(b);
	b->ptr = p;
	b->cap = ncap;
	return 0;
}

int
buf_add(struct buf *b, const void *mem, size_t len)
{
	if (buf_grow(b, b->len + len) < 0)
		return -1;
	if (len)
		memcpy(b->ptr + b->len, mem, len);
	b->len += len;
	b->ptr[b->len] = '\0';
	CUSTOS_ASSERT(b->len < b->cap && b->cap <= b->toobig);
	return 0;
}

int
buf_adds(struct buf *b, const char *s)
{
	return buf_add(b, s, strlen(s));
}

int
buf_addf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (b->failed)
		return -1;
	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return buf_fail(b);
	if (buf_grow(b, b->len + (size_t)n) < 0)
		return -1;
	va_start(ap, fmt);
	vsnprintf(b->ptr + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
	CUSTOS_ASSERT(b->len < b->cap && b->ptr[b->len] == '\0');   /* always NUL-terminated */
	return 0;
}

char *
buf_take(struct buf *b)
{
	char *p = b->ptr;

	buf_init(b, b->toobig);
	return p;
}
