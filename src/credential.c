#include "credential.h"

#include <stdlib.h>
#include <string.h>

static const char header_prefix[] = "Authorization: Bearer ";
static const char bearer[] = "Bearer ";

static int is_blank(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' ||
           c == '\v';
}

const char *sm_credential_header(const char *s, size_t n, char **out,
                                 size_t *out_len, size_t *token_at)
{
    size_t i, prefix = sizeof header_prefix - 1;
    char *line;
    while (n > 0 && is_blank((unsigned char)*s)) {
        s++;
        n--;
    }
    while (n > 0 && is_blank((unsigned char)s[n - 1]))
        n--;
    if (n >= sizeof bearer - 1 && memcmp(s, bearer, sizeof bearer - 1) == 0) {
        s += sizeof bearer - 1;
        n -= sizeof bearer - 1;
    } else if (n == sizeof bearer - 2 && memcmp(s, bearer, n) == 0) {
        n = 0; /* "Bearer " with nothing after it, trimmed to "Bearer" */
    }
    if (n == 0)
        return "is empty";
    if (n > SM_CREDENTIAL_MAX)
        return "is longer than 16384 bytes";
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c >= 0x7f)
            return "contains a control or non-ASCII character";
    }
    line = malloc(prefix + n + 1);
    if (line == NULL)
        return "could not be stored: out of memory";
    memcpy(line, header_prefix, prefix);
    memcpy(line + prefix, s, n);
    line[prefix + n] = '\0';
    *out = line;
    *out_len = prefix + n;
    *token_at = prefix;
    return NULL;
}

void sm_wipe_free(char *p, size_t n)
{
    /* A volatile pointer keeps the stores: memset before free is dead code
     * to an optimiser. */
    volatile char *v = p;
    if (p == NULL)
        return;
    while (n--)
        *v++ = 0;
    free(p);
}

static int fold(unsigned char c) { return c >= 'A' && c <= 'Z' ? c + 32 : c; }

/* How many bytes from s[0..n) match secret from its start, case aside. */
static size_t common_prefix(const char *s, size_t n, const char *secret)
{
    size_t k = 0;
    while (k < n && secret[k] != '\0' &&
           fold((unsigned char)s[k]) == fold((unsigned char)secret[k]))
        k++;
    return k;
}

size_t sm_secret_find(const char *s, size_t n, const char *secret,
                      size_t *len)
{
    size_t need, i;
    if (secret == NULL || secret[0] == '\0')
        return n;
    need = strlen(secret);
    if (need > SM_SECRET_PREFIX)
        need = SM_SECRET_PREFIX;
    for (i = 0; i + need <= n; i++) {
        size_t k = common_prefix(s + i, n - i, secret);
        if (k >= need) {
            *len = k;
            return i;
        }
    }
    return n;
}
