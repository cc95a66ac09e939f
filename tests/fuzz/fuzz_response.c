/*
 * fuzz_response: what a server controls before the body is decoded
 * (src/response.c, src/buffer.c). The input is a response head: one header
 * line per '\n'-ended piece, fed to sm_meta_header as libcurl would; the
 * same bytes are a Retry-After value and a status, and
 * drive the size-capped body buffer in pieces.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buffer.h"
#include "response.h"

#include "invariant.h"

/* A fixed "now" keeps runs reproducible (2023-11-14). */
#define FUZZ_NOW ((time_t)1700000000)

static void check_meta(const sm_meta *m)
{
    size_t n = strlen(m->request_id);
    FUZZ_ASSERT(n == 0 || sm_valid_request_id(m->request_id, n));
    FUZZ_ASSERT(m->retry_after == -1 ||
                (m->retry_after >= 0 && m->retry_after <= SM_RETRY_AFTER_MAX));
    FUZZ_ASSERT(m->rate_limit >= -1 && m->rate_remaining >= -1);
}

static void check_headers(const uint8_t *data, size_t size)
{
    sm_meta m;
    size_t start = 0, i;
    sm_meta_reset(&m);
    for (i = 0; i <= size; i++) {
        if (i == size || data[i] == '\n') {
            size_t end = i < size ? i + 1 : i;
            /* Each line in its own allocation: ASan sees any over-read. */
            char *line = malloc(end - start + 1);
            FUZZ_ASSERT(line != NULL);
            memcpy(line, data + start, end - start);
            sm_meta_header(&m, line, end - start, FUZZ_NOW);
            free(line);
            check_meta(&m);
            start = end;
        }
    }
}

static void check_retry_after(const uint8_t *data, size_t size)
{
    double seconds = -1;
    char *copy = malloc(size ? size : 1);
    FUZZ_ASSERT(copy != NULL);
    memcpy(copy, data, size);
    if (sm_parse_retry_after(copy, size, FUZZ_NOW, &seconds) == 0)
        FUZZ_ASSERT(seconds >= 0 && seconds <= SM_RETRY_AFTER_MAX);
    free(copy);
}

static int is_code(const char *s)
{
    size_t i;
    if (s == NULL || s[0] < 'A' || s[0] > 'Z' || strlen(s) > 100)
        return 0;
    for (i = 1; s[i]; i++)
        if (!((s[i] >= 'A' && s[i] <= 'Z') || s[i] == '_'))
            return 0;
    return 1;
}

static void check_codes(const uint8_t *data, size_t size)
{
    uint32_t bits = 0;
    long status;
    size_t i;
    for (i = 0; i < size && i < 4; i++)
        bits = bits << 8 | data[i];
    status = (long)bits - 0x7fffffffL; /* negative and huge statuses too */
    FUZZ_ASSERT(is_code(sm_code_for_status(status)));
    (void)sm_reason_for_status(status);
}

/* Appends the input in pieces whose sizes come from the input, under a cap
 * from the input; the buffer must hold exactly the accepted prefix. */
static void check_buffer(const uint8_t *data, size_t size)
{
    sm_buffer b;
    size_t limit, i = 0, accepted = 0;
    int refused = 0;
    if (size < 2)
        return;
    limit = 1 + (((size_t)data[0] << 8 | data[1]) % 8192);
    sm_buffer_init(&b, limit);
    data += 2;
    size -= 2;
    while (i < size && !refused) {
        size_t piece = 1 + data[i] % 64;
        if (piece > size - i)
            piece = size - i;
        if (sm_buffer_append(&b, (const char *)data + i, piece) == 0) {
            accepted += piece;
        } else {
            FUZZ_ASSERT(b.over_limit && accepted + piece > limit);
            refused = 1;
        }
        i += piece;
    }
    FUZZ_ASSERT(b.len == accepted && b.len <= limit && b.cap <= limit);
    FUZZ_ASSERT(b.len == 0 || memcmp(b.data, data, b.len) == 0);
    sm_buffer_reset(&b);
    FUZZ_ASSERT(b.len == 0 && !b.over_limit);
    sm_buffer_free(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    check_headers(data, size);
    check_retry_after(data, size);
    check_codes(data, size);
    check_buffer(data, size);
    return 0;
}
