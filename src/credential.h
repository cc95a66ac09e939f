/*
 * credential.h: turns what the user gave (API key or OAuth token) into the
 * Authorization header line, and wipes it when done. Never echoes it.
 */
#ifndef SM_CREDENTIAL_H
#define SM_CREDENTIAL_H

#include <stddef.h>

/* Trims surrounding whitespace, keeps a leading "Bearer " as is, and builds
 * "Authorization: Bearer <token>" in fresh memory (*out, length *out_len).
 * Returns NULL on success, else a message that does not contain the input.
 * On success *token_at is the offset of the token inside *out. */
const char *sm_credential_header(const char *s, size_t n, char **out,
                                 size_t *out_len, size_t *token_at);

/* Longest credential accepted: a megabyte one would make every request
 * fail (as out of memory, retried) rather than be refused. */
#define SM_CREDENTIAL_MAX 16384

/* Where secret shows in s[0..n): its first SM_SECRET_PREFIX characters (all
 * of it when shorter), in any letter case, so that a server quoting the
 * credential lower-cased or cut short is caught too. Returns the offset of
 * the first match and sets *len to how far it runs (as long as it goes on
 * matching the secret, case aside); returns n when there is none. */
#define SM_SECRET_PREFIX 8
size_t sm_secret_find(const char *s, size_t n, const char *secret,
                      size_t *len);

/* Overwrites n bytes in a way the compiler may not drop, then frees p. */
void sm_wipe_free(char *p, size_t n);

#endif
