/*
 * http1.h: an incremental HTTP/1.1 response reader, for transports that
 * hand us the bytes themselves (nginx cosockets) instead of libcurl. Feed it
 * whatever arrived, in pieces of any size; it fills the same sm_meta
 * (through sm_meta_header) and capped sm_buffer that libcurl's callbacks
 * fill, so one piece of code turns either into an entry or an error.
 * Pure C over bytes: no Lua, no I/O, so a fuzzer can drive it.
 */
#ifndef SM_HTTP1_H
#define SM_HTTP1_H

#include <stddef.h>
#include <time.h>

#include "buffer.h"
#include "response.h"

/* Longest line and most header bytes of one response (1xx included): the
 * limits of libcurl 7.88, so both transports refuse the same responses. */
#define SM_HTTP1_LINE_MAX (100 * 1024)
#define SM_HTTP1_HEADERS_MAX (300 * 1024)

/* What sm_http1_feed / sm_http1_eof report. */
enum {
    SM_HTTP1_MORE = 0, /* the response is not complete yet */
    SM_HTTP1_DONE = 1, /* a complete response is in meta and body */
    SM_HTTP1_FAILED = 2 /* it cannot be completed: see failure, why */
};

/* Why a response failed; the transport maps them to the contract's codes. */
enum {
    SM_HTTP1_OK = 0,
    SM_HTTP1_BROKEN,   /* not HTTP, or cut short: CONNECTION_ERROR */
    SM_HTTP1_TOO_LARGE, /* body over the buffer's limit: RESPONSE_TOO_LARGE */
    SM_HTTP1_ENCODED   /* a content or transfer coding we did not ask for:
                        * INVALID_RESPONSE */
};

typedef struct sm_http1 {
    sm_meta *meta;
    sm_buffer *body;
    int state;           /* where the next byte goes (http1.c) */
    int result;          /* SM_HTTP1_MORE / DONE / FAILED */
    int failure;         /* SM_HTTP1_OK or one of the reasons above */
    const char *why;     /* static text for a failure, else NULL */
    long status;         /* of the final response, 0 until its line */
    int keep_alive;      /* the connection may carry another request */
    int http10;          /* the response is HTTP/1.0 */
    int head_flags;      /* framing facts from the headers (http1.c) */
    int until_close;     /* the body ends when the peer closes */
    unsigned long long content_length; /* as declared, or ~0 for none */
    unsigned long long left; /* bytes left of the body or of a chunk */
    size_t received;     /* bytes fed so far */
    size_t header_bytes; /* header bytes so far */
    sm_buffer line;      /* a line split across feeds, until its end */
} sm_http1;

/* Makes p usable (once); sm_http1_free releases it. */
void sm_http1_init(sm_http1 *p);
void sm_http1_free(sm_http1 *p);

/* Readies p for a new response whose headers go to meta and body to body
 * (both reset here). */
void sm_http1_start(sm_http1 *p, sm_meta *meta, sm_buffer *body);

/* Feeds n more bytes. now: time(NULL), for Retry-After dates, or
 * SM_NOW_UNREAD to have it read only if one comes (response.h). Returns
 * p->result. Bytes past a complete response are not consumed; they only
 * take away keep_alive (the server sent more than it should). */
int sm_http1_feed(sm_http1 *p, const char *data, size_t n, time_t now);

/* The peer closed the connection: completes a body that runs to the close,
 * fails anything else still unfinished. Returns p->result. */
int sm_http1_eof(sm_http1 *p);

#endif
