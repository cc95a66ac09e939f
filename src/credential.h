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

/* Overwrites n bytes in a way the compiler may not drop, then frees p. */
void sm_wipe_free(char *p, size_t n);

#endif
