/*
 * buf.h - a growable byte buffer with a mandatory size cap (after curl's
 * dynbuf). The contents are always NUL-terminated, so b->ptr can be used as a
 * C string once something was added. On any failure (allocation, or growing
 * past the cap) the buffer is freed and reset, and every later add fails
 * too until buf_reset(), so a caller may check only the last call.
 */
#ifndef CUSTOS_BUF_H
#define CUSTOS_BUF_H

#include <stddef.h>

struct buf {
	char *ptr;      /* NULL until the first add; owned by the buf */
	size_t len;     /* bytes used, excluding the NUL */
	size_t cap;     /* bytes allocated */
	size_t toobig;  /* maximum len + 1 allowed */
	int failed;     /* sticky failure flag */
};

void buf_init(struct buf *b, size_t toobig);
void buf_free(struct buf *b);      /* frees and re-initialises; keeps toobig */
void buf_reset(struct buf *b);     /* len = 0, keeps memory, clears failure */
int buf_add(struct buf *b, const void *mem, size_t len);   /* 0 or -1 */
int buf_adds(struct buf *b, const char *s);
int buf_addf(struct buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Hands the memory to the caller (who frees it); the buf is re-initialised. */
char *buf_take(struct buf *b);

#endif
