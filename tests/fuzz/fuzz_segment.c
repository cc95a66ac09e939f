/*
 * fuzz_segment: the bytes of a team id, a connector identifier and a log id
 * (src/segment.c). Each result is checked against an independent oracle:
 * whatever the input, the path pieces stay inside their grammar.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "segment.h"

#include "invariant.h"

/* The team id oracle: digits only, value 1..2^63-1, by overflow-checked
 * arithmetic rather than segment.c's string comparison. */
static int team_id_ok(const uint8_t *s, size_t n, unsigned long long *value)
{
    const unsigned long long max = 9223372036854775807ULL;
    unsigned long long v = 0;
    size_t i;
    if (n == 0)
        return 0;
    for (i = 0; i < n; i++) {
        unsigned d;
        if (s[i] < '0' || s[i] > '9')
            return 0;
        d = (unsigned)(s[i] - '0');
        if (v > (max - d) / 10)
            return 0;
        v = v * 10 + d;
    }
    *value = v;
    return v >= 1;
}

static void check_team_id(const uint8_t *data, size_t size)
{
    char out[SM_TEAM_ID_DIGITS + 1];
    unsigned long long want = 0;
    int ok = team_id_ok(data, size, &want);
    memset(out, 'Z', sizeof out);
    if (sm_team_id_from_digits((const char *)data, size, out) == 0) {
        char expect[32];
        FUZZ_ASSERT(ok);
        snprintf(expect, sizeof expect, "%llu", want);
        FUZZ_ASSERT(strcmp(out, expect) == 0);
    } else {
        FUZZ_ASSERT(!ok);
    }
}

static void check_connector(const uint8_t *data, size_t size)
{
    int ok = size >= 1 && size <= 100;
    size_t i;
    for (i = 0; ok && i < size; i++)
        ok = (data[i] >= 'a' && data[i] <= 'z') ||
             (data[i] >= 'A' && data[i] <= 'Z') ||
             (data[i] >= '0' && data[i] <= '9') || data[i] == '_' ||
             data[i] == '-';
    FUZZ_ASSERT((sm_check_connector((const char *)data, size) == 0) == ok);
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1; /* lowercase hex is not what we send */
}

/* The encoding is exactly 3 * size bytes at most (the output buffer is
 * that size, so ASan sees any overrun), holds only unreserved bytes and
 * %XX, and decodes back to the input. */
static void check_encoding(const uint8_t *data, size_t size)
{
    char *out = malloc(3 * size + 1);
    size_t n, i, j = 0;
    FUZZ_ASSERT(out != NULL);
    n = sm_encode_segment((const char *)data, size, out);
    FUZZ_ASSERT(n >= size && n <= 3 * size);
    for (i = 0; i < n; i++, j++) {
        unsigned char c = (unsigned char)out[i];
        FUZZ_ASSERT(j < size);
        if (c == '%') {
            int hi, lo;
            FUZZ_ASSERT(i + 2 < n);
            hi = hex_value(out[i + 1]);
            lo = hex_value(out[i + 2]);
            FUZZ_ASSERT(hi >= 0 && lo >= 0);
            FUZZ_ASSERT(data[j] == (uint8_t)(hi * 16 + lo));
            /* Unreserved bytes are never encoded. */
            FUZZ_ASSERT(!((data[j] >= 'a' && data[j] <= 'z') ||
                          (data[j] >= 'A' && data[j] <= 'Z') ||
                          (data[j] >= '0' && data[j] <= '9') ||
                          data[j] == '-' || data[j] == '.' ||
                          data[j] == '_' || data[j] == '~'));
            i += 2;
        } else {
            FUZZ_ASSERT((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                        (c >= '0' && c <= '9') || c == '-' || c == '.' ||
                        c == '_' || c == '~');
            FUZZ_ASSERT(data[j] == c);
        }
    }
    FUZZ_ASSERT(j == size);
    free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    check_team_id(data, size);
    check_connector(data, size);
    check_encoding(data, size);
    return 0;
}
