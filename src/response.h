/*
 * response.h: what the library reads from a response besides its body:
 * the response headers it cares about, and the error code for a status or a
 * transport failure. Pure C over bytes (no Lua), so a fuzzer can drive it.
 */
#ifndef SM_RESPONSE_H
#define SM_RESPONSE_H

#include <stddef.h>
#include <time.h>

#include <curl/curl.h>

#define SM_REQUEST_ID_MAX 128
/* Larger Retry-After values are clamped here: far past any sane wait. */
#define SM_RETRY_AFTER_MAX 1000000000.0

typedef struct sm_meta {
    char request_id[SM_REQUEST_ID_MAX + 1]; /* X-Request-Id, "" if none */
    double retry_after;                     /* seconds, < 0 if none */
    long long rate_limit;                   /* X-RateLimit-Limit, -1 if none */
    long long rate_remaining;               /* X-RateLimit-Remaining, -1 */
    int headers_done;                       /* the blank line arrived */
} sm_meta;

void sm_meta_reset(sm_meta *m);

/* A header line's name: the length of the bytes before its first ':' (n
 * when it has none). */
size_t sm_header_name_len(const char *line, size_t n);

/* True when the k bytes at s are name (k bytes of lowercase letters,
 * digits and '-'), case aside. */
int sm_header_name_is(const char *s, const char *name, size_t k);

/* Points *v / *vn at the value of the header line (n bytes, CRLF or not)
 * whose name is k bytes long (a ':' at k): without surrounding blanks. */
void sm_header_value_after(const char *line, size_t n, size_t k,
                           const char **v, size_t *vn);

/* A `now` for the functions below when the caller has not read the clock:
 * it is read only for a Retry-After date, the one header that needs it. */
#define SM_NOW_UNREAD ((time_t)-1)

/* Feeds one header line as libcurl delivers it (CRLF included). A status
 * line starts a new response (after a 1xx) and resets m; the blank line
 * that ends the headers sets headers_done. now: time(NULL), or
 * SM_NOW_UNREAD. */
void sm_meta_header(sm_meta *m, const char *line, size_t n, time_t now);

/* The same for a line known not to be blank, whose name is k bytes long
 * (sm_header_name_len), for a reader that has looked at it already. */
void sm_meta_field(sm_meta *m, const char *line, size_t n, size_t k,
                   time_t now);

/* True for 1..SM_REQUEST_ID_MAX bytes of [A-Za-z0-9._:-]. */
int sm_valid_request_id(const char *s, size_t n);

/* Retry-After: delta-seconds or an HTTP-date. Writes the seconds to wait
 * (never negative, clamped to SM_RETRY_AFTER_MAX) and returns 0; -1 if the
 * value is neither form. */
int sm_parse_retry_after(const char *s, size_t n, time_t now, double *seconds);

/* The contract's code for a 4xx/5xx that has no usable envelope. */
const char *sm_code_for_status(long status);

/* Short reason phrase for a status, or NULL when we have none. */
const char *sm_reason_for_status(long status);

#endif
