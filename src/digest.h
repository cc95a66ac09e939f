/*
 * digest.h: SHA-256 (FIPS 180-4), for the rate budget's keys: a store (a
 * lua_shared_dict, Redis) names a key's window by a digest of the
 * credential and base URL, never by the credential itself. Plain C over
 * bytes.
 */
#ifndef SM_DIGEST_H
#define SM_DIGEST_H

#include <stddef.h>
#include <stdint.h>

#define SM_SHA256_BYTES 32

typedef struct sm_sha256 {
    uint32_t h[8];
    uint64_t bytes;          /* fed so far */
    unsigned char block[64]; /* the part of a block fed so far */
    size_t fill;
} sm_sha256;

void sm_sha256_init(sm_sha256 *s);
void sm_sha256_feed(sm_sha256 *s, const void *data, size_t n);
/* Writes the digest and wipes s (it held the input's last bytes). */
void sm_sha256_done(sm_sha256 *s, unsigned char out[SM_SHA256_BYTES]);

#endif
