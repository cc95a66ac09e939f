/*
 * credential.c: the credential's one representation (credential.h): its
 * checks, its header line and list, its wiping and its redaction search.
 */
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

/* Narrows s[0..*n) to the credential itself; returns NULL or what is wrong. */
static const char *trim_and_check(const char **s, size_t *n)
{
    const char *p = *s;
    size_t len = *n, i;
    while (len > 0 && is_blank((unsigned char)*p)) {
        p++;
        len--;
    }
    while (len > 0 && is_blank((unsigned char)p[len - 1]))
        len--;
    if (len >= sizeof bearer - 1 && memcmp(p, bearer, sizeof bearer - 1) == 0) {
        p += sizeof bearer - 1;
        len -= sizeof bearer - 1;
    } else if (len == sizeof bearer - 2 && memcmp(p, bearer, len) == 0) {
        len = 0; /* "Bearer " with nothing after it, trimmed to "Bearer" */
    }
    if (len == 0)
        return "is empty";
    if (len > SM_CREDENTIAL_MAX)
        return "is longer than 16384 bytes";
    for (i = 0; i < len; i++) {
        unsigned char c = (unsigned char)p[i];
        if (c < 0x20 || c >= 0x7f)
            return "contains a control or non-ASCII character";
    }
    *s = p;
    *n = len;
    return NULL;
}

const char *sm_credential_trim(const char **s, size_t *n)
{
    return trim_and_check(s, n);
}

const char *sm_credential_set(sm_credential *c, const char *s, size_t n,
                              int *changed)
{
    size_t prefix = sizeof header_prefix - 1;
    struct curl_slist *accept, *both;
    char *line;
    const char *why = trim_and_check(&s, &n);
    *changed = 0;
    if (why != NULL)
        return why;
    if (c->line != NULL && c->len - c->at == n &&
        memcmp(c->line + c->at, s, n) == 0)
        return NULL; /* the same one: keep the list libcurl already has */
    line = malloc(prefix + n + 1);
    if (line == NULL)
        return "could not be stored: out of memory";
    memcpy(line, header_prefix, prefix);
    memcpy(line + prefix, s, n);
    line[prefix + n] = '\0';
    accept = curl_slist_append(NULL, "Accept: application/json");
    both = accept ? curl_slist_append(accept, line) : NULL;
    if (both == NULL) {
        curl_slist_free_all(accept);
        sm_wipe_free(line, prefix + n);
        return "could not be stored: out of memory";
    }
    sm_credential_clear(c);
    c->headers = both;
    c->line = line;
    c->len = prefix + n;
    c->at = prefix;
    *changed = 1;
    return NULL;
}

void sm_credential_clear(sm_credential *c)
{
    struct curl_slist *h;
    /* curl_slist_append copied the line: wipe that copy too. */
    for (h = c->headers; h != NULL; h = h->next)
        memset(h->data, 0, strlen(h->data));
    curl_slist_free_all(c->headers);
    c->headers = NULL;
    sm_wipe_free(c->line, c->len);
    c->line = NULL;
    c->len = c->at = 0;
}

const char *sm_credential_value(const sm_credential *c)
{
    return c->line != NULL ? c->line + c->at : NULL;
}

void sm_wipe(char *p, size_t n)
{
    /* A volatile pointer keeps the stores: memset before free (or before
     * a buffer goes out of scope) is dead code to an optimiser. */
    volatile char *v = p;
    while (n--)
        *v++ = 0;
}

void sm_wipe_free(char *p, size_t n)
{
    if (p == NULL)
        return;
    sm_wipe(p, n);
    free(p);
}

static int fold(unsigned char c) { return c >= 'A' && c <= 'Z' ? c + 32 : c; }

/* How many bytes from s[0..n) match credential from its start, case aside. */
static size_t common_prefix(const char *s, size_t n, const char *credential)
{
    size_t k = 0;
    while (k < n && credential[k] != '\0' &&
           fold((unsigned char)s[k]) == fold((unsigned char)credential[k]))
        k++;
    return k;
}

size_t sm_credential_find(const char *s, size_t n, const char *credential,
                          size_t *len)
{
    size_t need, i;
    if (credential == NULL || credential[0] == '\0')
        return n;
    need = strlen(credential);
    if (need > SM_CREDENTIAL_PREFIX)
        need = SM_CREDENTIAL_PREFIX;
    for (i = 0; i + need <= n; i++) {
        size_t k = common_prefix(s + i, n - i, credential);
        if (k >= need) {
            *len = k;
            return i;
        }
    }
    return n;
}
