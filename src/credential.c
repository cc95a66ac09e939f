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

/* ---- redaction: where a server echoes the credential (credential.h) ----
 *
 * Server text is read as a sequence of units: a byte as it is, or one
 * character written as a JSON escape (\/, \n, \u002F; with the backslash
 * doubled as JSON inside a JSON string has it), a percent-encoded byte (%2F,
 * %2f, %252F) or an HTML character reference (&#47;, &#x2F;). An echo is a
 * pattern matched unit by unit: the credential (letters in any case), or
 * the base64 of the credential or of "Bearer " + credential (standard or
 * URL-safe alphabet, at any of the three byte alignments it can have inside
 * a longer base64 text: only the characters that depend on its bytes alone),
 * each at least SM_CREDENTIAL_PREFIX characters of it (all of it when
 * shorter) and as far as it goes on. Between two characters of an echo a
 * break may stand: a run of at most SM_BREAK_MAX bytes of spaces and
 * control characters (CR, LF, tab, NEL...) holding at least one control
 * character, so an echo split across lines (folded, or wrapped as MIME
 * wraps base64) is one echo. Nothing is copied: the base64 characters are
 * computed from the credential's bytes as they are compared; the few worked
 * out ahead (each pattern's first and last character, and the bytes an echo
 * may start with) sit in one small block, overwritten after each search. */

#define SM_BREAK_MAX 64
/* JSON inside JSON inside JSON...: at most this deep an escape. */
#define SM_ESCAPE_DEPTH 4

static const char b64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static int fold(int c) { return c >= 'A' && c <= 'Z' ? c + 32 : c; }

static int hex_value(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = fold(c);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* The unit at s[i] (i < n) when it is written encoded: returns its length
 * (more than 1) and sets *c to the character; returns 1 for a byte that is
 * no encoding (*c is that byte). */
static size_t decode_unit(const char *s, size_t n, size_t i, int *c)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t q, k;
    int v, h;
    *c = p[i];
    if (p[i] == '\\') {
        for (q = i; q < n && p[q] == '\\' && q - i < 2 * SM_ESCAPE_DEPTH; q++)
            ;
        if (q >= n)
            return 1;
        switch (p[q]) {
        case '/': case '"': *c = p[q]; return q - i + 1;
        case 'b': *c = '\b'; return q - i + 1;
        case 'f': *c = '\f'; return q - i + 1;
        case 'n': *c = '\n'; return q - i + 1;
        case 'r': *c = '\r'; return q - i + 1;
        case 't': *c = '\t'; return q - i + 1;
        case 'u':
            if (q + 4 >= n)
                return 1;
            for (v = 0, k = 1; k <= 4; k++) {
                if ((h = hex_value(p[q + k])) < 0)
                    return 1;
                v = v * 16 + h;
            }
            *c = v;
            return q - i + 5;
        default:
            if (q - i >= 2) {
                *c = '\\';
                return 2;
            }
            return 1;
        }
    }
    if (p[i] == '%') {
        /* %XX, and %25XX (percent-encoded twice), %2525XX... */
        for (q = i + 1, k = 0; q + 1 < n; q += 2, k++) {
            int hi = hex_value(p[q]), lo = hex_value(p[q + 1]);
            if (hi < 0 || lo < 0)
                return 1;
            v = hi * 16 + lo;
            if (v != '%' || k == SM_ESCAPE_DEPTH || q + 3 >= n ||
                hex_value(p[q + 2]) < 0 || hex_value(p[q + 3]) < 0) {
                *c = v;
                return q + 2 - i;
            }
        }
        return 1;
    }
    if (p[i] == '&' && i + 3 < n && p[i + 1] == '#') {
        /* &#47; or &#x2F; (at most 7 digits) */
        int base = fold(p[i + 2]) == 'x' ? 16 : 10;
        q = i + (base == 16 ? 3 : 2);
        for (v = 0, k = 0; q < n && k < 7; q++, k++) {
            h = hex_value(p[q]);
            if (h < 0 || h >= base)
                break;
            v = v * base + h;
        }
        if (k == 0 || q >= n || p[q] != ';')
            return 1;
        *c = v;
        return q - i + 1;
    }
    return 1;
}

/* Whether character c, as found, stands for want: letters in any case for
 * the credential (fold), '-' and '_' for '+' and '/' in base64. */
static int same(int c, int want, int folded)
{
    if (folded)
        return fold(c) == fold(want);
    return c == want || (want == '+' && c == '-') || (want == '/' && c == '_');
}

/* Whether the unit at s[i] is want; sets *len to its length. The byte
 * itself first (an echo as written is the one that matters most: for a
 * credential holding '%', '\\' or '&' it is found as written, its encoded
 * forms at those characters maybe not), else an encoded unit that decodes
 * to want. */
static int unit_is(const char *s, size_t n, size_t i, int want, int folded,
                   size_t *len)
{
    int c;
    size_t k;
    if (i >= n)
        return 0;
    if (same((unsigned char)s[i], want, folded)) {
        *len = 1;
        return 1;
    }
    k = decode_unit(s, n, i, &c);
    if (k > 1 && same(c, want, folded)) {
        *len = k;
        return 1;
    }
    return 0;
}

/* Where the break at s[i] ends, or i when none starts there: at the first
 * unit after a control that is want, else after the whole break. Not
 * greedy: an escape that decodes to a control ("\\u000a") may also begin
 * the credential's next character ("\\"), and a break that swallowed it
 * let that echo through. */
static size_t skip_break(const char *s, size_t n, size_t i, int want,
                         int folded)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t at = i, len;
    int control = 0;
    while (at < n && at - i < SM_BREAK_MAX) {
        int c;
        size_t k;
        if (control && unit_is(s, n, at, want, folded, &len))
            break;
        k = decode_unit(s, n, at, &c);
        if (k == 1 && c == 0xC2 && at + 1 < n && p[at + 1] >= 0x80 &&
            p[at + 1] <= 0x9F) {
            c = p[at + 1]; /* a C1 control in UTF-8 (NEL...) */
            k = 2;
        }
        if (c < 0x20 || c == 0x7F || (c >= 0x80 && c <= 0x9F))
            control = 1;
        else if (c != ' ')
            break;
        at += k;
    }
    return control ? at : i;
}

/* Byte k of the bytes a base64 pattern encodes: align zero bytes, then
 * "Bearer " when it has it, then the credential, then zero bytes. */
static unsigned stream_byte(const sm_redactor *r, const sm_echo *e, size_t k)
{
    static const char bearer_word[] = "Bearer ";
    if (k < e->align)
        return 0;
    k -= e->align;
    if (k < e->prefix)
        return (unsigned char)bearer_word[k];
    k -= e->prefix;
    return k < r->len ? (unsigned char)r->key[k] : 0;
}

/* Base64 character j of a pattern's bytes. */
static int b64_char(const sm_redactor *r, const sm_echo *e, size_t j)
{
    size_t bit = 6 * j, k = bit / 8;
    unsigned v = stream_byte(r, e, k) << 8 | stream_byte(r, e, k + 1);
    return b64_alphabet[(v >> (10 - bit % 8)) & 63];
}

/* Character j of pattern e. */
static int echo_char(const sm_redactor *r, const sm_echo *e, size_t j)
{
    return e->base64 ? b64_char(r, e, e->first + j)
                     : (unsigned char)r->key[j];
}

/* How many bytes of s from i pattern e (echoes[x]) matches (0: none). */
static size_t match_at(const sm_redactor *r, size_t x, const char *s,
                       size_t n, size_t i)
{
    const sm_echo *e = &r->echoes[x];
    int tail = r->derived.tail[x];
    size_t at = i, end = i, j = 0, len;
    int folded = !e->base64;
    while (j < e->count) {
        int want = echo_char(r, e, j);
        size_t next = at;
        /* The character itself, else after a break. */
        if (!unit_is(s, n, next, want, folded, &len)) {
            next = j > 0 ? skip_break(s, n, at, want, folded) : at;
            if (next == at || !unit_is(s, n, next, want, folded, &len))
                break;
        }
        at = end = next + len;
        j++;
    }
    if (j < e->need)
        return 0;
    if (j == e->count && tail != 0 && unit_is(s, n, end, tail, 0, &len)) {
        /* A base64 text that ends with it: its last character, padding. */
        size_t k;
        end += len;
        for (k = 0; k < e->padding && unit_is(s, n, end, '=', 0, &len); k++)
            end += len;
    }
    return end - i;
}

#define SM_BIT_SET(set, c) ((set)[(unsigned char)(c) >> 3] |= 1u << ((c) & 7))
#define SM_BIT_ISSET(set, c) ((set)[(unsigned char)(c) >> 3] >> ((c) & 7) & 1u)

/* Marks the bytes that can start the unit of character c in start. */
static void mark_start(unsigned char start[32], int c, int folded)
{
    SM_BIT_SET(start, c);
    if (folded) {
        if (c >= 'a' && c <= 'z')
            SM_BIT_SET(start, c - 32);
        else if (c >= 'A' && c <= 'Z')
            SM_BIT_SET(start, c + 32);
    } else if (c == '+') {
        SM_BIT_SET(start, '-');
    } else if (c == '/') {
        SM_BIT_SET(start, '_');
    }
}

void sm_redactor_init(sm_redactor *r, const char *credential)
{
    size_t i, need;
    r->key = NULL;
    r->len = r->echoes_n = 0;
    memset(&r->derived, 0, sizeof r->derived);
    if (credential == NULL || credential[0] == '\0')
        return;
    r->key = credential;
    r->len = strlen(credential);
    r->echoes_n = r->len < SM_BASE64_MIN ? 1 : SM_ECHOES;
    need = r->len < SM_CREDENTIAL_PREFIX ? r->len : SM_CREDENTIAL_PREFIX;
    memset(&r->echoes[0], 0, sizeof r->echoes[0]);
    r->echoes[0].count = r->len;
    r->echoes[0].need = need;
    /* base64 of the credential, then of "Bearer " + it, at alignments 0..2 */
    for (i = 1; i < r->echoes_n; i++) {
        sm_echo *e = &r->echoes[i];
        size_t bytes, end;
        e->base64 = 1;
        e->prefix = i <= 3 ? 0 : 7;
        e->align = (i - 1) % 3;
        e->padding = 0;
        bytes = e->align + e->prefix + r->len;
        /* Characters whose 6 bits lie within the pattern's own bytes. */
        e->first = (8 * e->align + 5) / 6;
        end = 8 * bytes / 6;
        e->count = end - e->first;
        e->need = 8 * (e->align + e->prefix + need) / 6 - e->first;
        if (e->align == 0 && 8 * bytes % 6 != 0) {
            r->derived.tail[i] = (unsigned char)b64_char(r, e, end);
            e->padding = (3 - bytes % 3) % 3;
        }
    }
    for (i = 0; i < r->echoes_n; i++) {
        int c = echo_char(r, &r->echoes[i], 0);
        r->derived.first[i] = (unsigned char)c;
        mark_start(r->derived.start, c, !r->echoes[i].base64);
    }
    SM_BIT_SET(r->derived.start, '\\');
    SM_BIT_SET(r->derived.start, '%');
    SM_BIT_SET(r->derived.start, '&');
}

void sm_redactor_wipe(sm_redactor *r)
{
    sm_wipe((char *)&r->derived, sizeof r->derived);
    r->key = NULL;
}

size_t sm_redactor_find(const sm_redactor *r, const char *s, size_t n,
                        size_t before, size_t *len)
{
    size_t i, x;
    if (r->key == NULL)
        return n;
    if (before > n)
        before = n;
    for (i = 0; i < before; i++) {
        size_t best = 0;
        int c = (unsigned char)s[i];
        /* An encoded unit starts with one of these: any echo may. */
        int encoded = c == '\\' || c == '%' || c == '&';
        if (!SM_BIT_ISSET(r->derived.start, c))
            continue;
        for (x = 0; x < r->echoes_n; x++) {
            size_t m;
            if (!encoded &&
                !same(c, r->derived.first[x], !r->echoes[x].base64))
                continue;
            m = match_at(r, x, s, n, i);
            if (m > best)
                best = m;
        }
        if (best > 0) {
            *len = best;
            return i;
        }
    }
    return n;
}

size_t sm_credential_find(const char *s, size_t n, const char *credential,
                          size_t *len)
{
    sm_redactor r;
    size_t at;
    sm_redactor_init(&r, credential);
    at = sm_redactor_find(&r, s, n, n, len);
    sm_redactor_wipe(&r);
    return at;
}
