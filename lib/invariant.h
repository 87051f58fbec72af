/*
 * invariant.h - CUSTOS_ASSERT(cond): an invariant the code relies on,
 * checked where it is cheap to check instead of only stated in a comment.
 *
 * Active when CUSTOS_DEBUG is defined (config.h: configure
 * --enable-sanitizers or --enable-debug, so every test run checks them):
 * a false cond prints file, line, function and the condition on stderr and
 * abort()s, so the sanitizer or the test that got there fails at the spot.
 * Compiled out otherwise: cond is not evaluated (it must have no side
 * effects) but is still type-checked. Never for input from outside (a
 * request, a file, the database's answers): that gets a clear error, not
 * an abort. (Not named assert.h: lib/ is on the include path, and it would
 * hide <assert.h>.)
 */
#ifndef CUSTOS_INVARIANT_H
#define CUSTOS_INVARIANT_H

#ifdef CUSTOS_DEBUG
#include <stdio.h>
#include <stdlib.h>
#define CUSTOS_ASSERT(cond) do { \
	if (!(cond)) { \
		fprintf(stderr, "%s:%d: %s: invariant failed: %s\n", \
		    __FILE__, __LINE__, __func__, #cond); \
		abort(); \
	} \
} while (0)
#else
#define CUSTOS_ASSERT(cond) ((void)sizeof(!(cond)))
#endif

#endif
