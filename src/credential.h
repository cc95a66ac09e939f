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

/* Where the credential shows in s[0..n): its first SM_CREDENTIAL_PREFIX
 * characters (all of it when shorter), in any letter case, so that a server
 * quoting it lower-cased or cut short is caught too. Returns the offset of
 * the first match and sets *len to how far it runs (as long as it goes on
 * matching, case aside); returns n when there is none. */
#define SM_CREDENTIAL_PREFIX 8
size_t sm_credential_find(const char *s, size_t n, const char *credential,
                          size_t *len);

/* Overwrites n bytes at p in a way the compiler may not drop. */
void sm_wipe(char *p, size_t n);

/* sm_wipe, then frees p. */
void sm_wipe_free(char *p, size_t n);

#endif
