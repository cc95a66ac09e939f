/*
 * credential.h: the credential (API key or OAuth token) as requests carry
 * it: checked, held as its "Authorization: Bearer ..." line and the header
 * list libcurl sends, never echoed, wiped when replaced or cleared. A client
 * holds one, and so does each batch slot given a token_provider's.
 */
#ifndef SM_CREDENTIAL_H
#define SM_CREDENTIAL_H

#include <stddef.h>

#include <curl/curl.h>

typedef struct sm_credential {
    struct curl_slist *headers; /* Accept + the line, for libcurl; NULL unset */
    char *line;                 /* "Authorization: Bearer <credential>" */
    size_t len;                 /* of line */
    size_t at;                  /* where the credential starts in line */
} sm_credential;

/* Longest credential accepted: a megabyte one would make every request
 * fail (as out of memory, retried) rather than be refused. */
#define SM_CREDENTIAL_MAX 16384

/* Makes what the user gave (s[0..n): surrounding whitespace trimmed, a
 * leading "Bearer " kept as is) the credential. The same credential again
 * keeps the stored copy (*changed = 0); another one replaces it, the old
 * one wiped (*changed = 1). Returns NULL, or a message that does not contain
 * the input; c is unchanged then. */
const char *sm_credential_set(sm_credential *c, const char *s, size_t n,
                              int *changed);

/* Narrows s[0..*n) to the credential as sm_credential_set would store it
 * (blanks trimmed, a leading "Bearer " dropped); returns NULL, or what is
 * wrong with it (without it). */
const char *sm_credential_trim(const char **s, size_t *n);

/* Wipes and frees; c is then unset. Safe to call twice. */
void sm_credential_clear(sm_credential *c);

/* True once set. */
#define sm_credential_isset(c) ((c)->line != NULL)

/* The credential alone (no "Bearer "), to redact from server text; NULL
 * when unset. */
const char *sm_credential_value(const sm_credential *c);

/* Where the credential shows in s[0..n): every form a server may echo it
 * in (credential.c says how it reads them): as it is, in any letter case;
 * written with JSON escapes (\/, \u0041, doubled backslashes), percent-
 * encoding (upper- or lower-case hex, encoded twice too) or HTML character
 * references; as base64 of the credential or of "Bearer " + it (standard
 * or URL-safe alphabet, padded or not, at any byte alignment inside a
 * longer base64 text); split across lines. In each form at least its first
 * SM_CREDENTIAL_PREFIX characters (all of it when shorter), so that an echo
 * cut short is caught too. Linear in the text: each start position costs
 * a bounded number of steps unless an echo is found there. */
#define SM_CREDENTIAL_PREFIX 8

/* One pattern an echo may follow (the credential, or one of its base64
 * forms), as sm_redactor_init derives it. */
typedef struct sm_echo {
    int base64;        /* 0: the credential itself, letters in any case */
    size_t prefix;     /* base64: "Bearer " (7) before the credential, or 0 */
    size_t align;      /* base64: the bytes before it in its base64 group */
    size_t first;      /* base64: its first character that is its own */
    size_t count;      /* characters of the whole pattern */
    size_t need;       /* characters an echo cut short must show at least */
    size_t padding;    /* base64 at alignment 0 whose text ends with the
                        * credential: its '=' (its last character: tail) */
} sm_echo;

#define SM_ECHOES 7
/* Shortest credential whose base64 is looked for (8 base64 characters). */
#define SM_BASE64_MIN 6

/* What finding a credential's echoes takes, made once per text: a pointer
 * to the credential, and in `derived` the few bits of it worked out ahead
 * (sm_redactor_wipe overwrites them; nothing else holds any). */
typedef struct sm_redactor {
    const char *key; /* NULL: nothing to find */
    size_t len;
    size_t echoes_n; /* 1 (the credential alone) for one shorter than
                      * SM_BASE64_MIN: its base64 would be too short */
    sm_echo echoes[SM_ECHOES];
    struct {
        unsigned char start[32];          /* bit set of the bytes an echo
                                           * may start with */
        unsigned char tail[SM_ECHOES];    /* see sm_echo.padding; 0: none */
        unsigned char first[SM_ECHOES];   /* each echo's first character */
    } derived;
} sm_redactor;

/* Readies r for credential (NUL-terminated; NULL or "" finds nothing). */
void sm_redactor_init(sm_redactor *r, const char *credential);

/* Overwrites r. */
void sm_redactor_wipe(sm_redactor *r);

/* The offset of the first echo in s[0..n) that starts before `before`
 * (it may run on past it, up to n), with *len its length in bytes; n when
 * there is none. */
size_t sm_redactor_find(const sm_redactor *r, const char *s, size_t n,
                        size_t before, size_t *len);

/* The same for the whole of s, credential given as a string: returns the
 * offset of the first echo and sets *len; returns n when there is none. */
size_t sm_credential_find(const char *s, size_t n, const char *credential,
                          size_t *len);

/* Overwrites n bytes at p in a way the compiler may not drop. */
void sm_wipe(char *p, size_t n);

/* sm_wipe, then frees p. */
void sm_wipe_free(char *p, size_t n);

#endif
