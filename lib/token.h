/*
 * token.h - secrets: SHA-256, random tokens, constant-time comparison.
 *
 * A token is 32 random bytes from getrandom(2), shown to the user once as 64
 * lowercase hex characters. Only its SHA-256 is stored; lookups go by the
 * hash and the stored hash is compared again in constant time.
 */
#ifndef CUSTOS_TOKEN_H
#define CUSTOS_TOKEN_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define TOKEN_BYTES 32
#define TOKEN_HEX_LEN (TOKEN_BYTES * 2)
#define SHA256_LEN 32

void sha256(const void *data, size_t len, uint8_t out[SHA256_LEN]);
/* Fills out (TOKEN_HEX_LEN + 1 bytes) with a new token. 0 or -1. */
int token_generate(char out[TOKEN_HEX_LEN + 1]);
/* SHA-256 of the token text. */
void token_hash(const char *token, uint8_t out[SHA256_LEN]);
/* 1 when equal; time depends only on len. */
int ct_equal(const void *a, const void *b, size_t len);
/* Lowercase hex of len bytes into out (2*len + 1 bytes). */
void hex_encode(const uint8_t *in, size_t len, char *out);
/* Overwrites memory in a way the compiler may not drop. */
void secure_zero(void *p, size_t len);

#define TOKEN_FILE_MAX 512   /* bytes read from a token file */
/*
 * Reads a token file (custos-agentd's token_file, the CLI's): refuses a
 * file that is not regular, that its group or others may read or write, or
 * that another user than the effective one owns (err then says the
 * chmod/chown to run). Returns a heap string (caller wipes and frees it)
 * or NULL with err.
 */
char *token_read(const char *path, char *err, size_t errlen);
/*
 * token_read(), also accepting a file owned by also_uid ((uid_t)-1: none):
 * root running `custos-agentd --wrap` reads the token of an agent that runs
 * as another user (the owner of its state_dir).
 */
char *token_read_owned(const char *path, uid_t also_uid, char *err, size_t errlen);

#endif
