/*
 * outcome.h: what one attempt came to, whichever transport made it (libcurl
 * in transfer.c, nginx's sockets in cosocket.c): a whole response, or a
 * failure in the library's own terms; and the Lua values it becomes: the
 * entry or page, the info table, or an error value (codes.h's codes, the
 * envelope's, redaction, rate limits). No libcurl here.
 */
#ifndef SM_OUTCOME_H
#define SM_OUTCOME_H

#include <lua.h>

#include "buffer.h"
#include "entry.h"
#include "response.h"

/* How an attempt failed before a whole response arrived (or, for a 2xx,
 * that none did); each is one code of codes.h. */
typedef enum sm_failure {
    SM_NO_FAILURE = 0,    /* a whole response: its status decides */
    SM_TIMED_OUT,         /* TIMEOUT */
    SM_CONNECTION_FAILED, /* CONNECTION_ERROR: DNS, refused, reset, cut, not
                           * HTTP, the proxy */
    SM_TLS_FAILED,        /* TLS_ERROR */
    SM_TOO_LARGE,         /* RESPONSE_TOO_LARGE */
    SM_BAD_ENCODING       /* INVALID_RESPONSE: a body that cannot be decoded */
} sm_failure;

/* Why a TLS handshake failed when the port speaks plain HTTP, in both
 * transports' messages (core.NO_TLS_WORDS for the Lua side). */
#define SM_NO_TLS_WORDS                                                      \
    "the server answered without TLS (is that a plain-HTTP port? base_url " \
    "says https://)"

/* One attempt's outcome. */
typedef struct sm_outcome {
    sm_failure failure;
    const char *why;       /* the failure in words; NULL: the code's own */
    long status;           /* the API's status, 0 when none came (or the
                            * failure was the proxy's) */
    const sm_meta *meta;   /* the response's headers as far as they came */
    const sm_buffer *body; /* its body as far as it came */
} sm_outcome;

struct sm_proxy; /* endpoint.h's */

/* How an attempt's outcome becomes the call's result: what the call asked
 * for (shape, the answer expected, the info table) and what saying it takes
 * (the decode function, the credential to redact, attempts made before). */
typedef struct sm_result_rules {
    int decode_idx;         /* stack index of the JSON decode function */
    int json_ints;          /* how it gives integral numbers
                             * (json_entry.h's SM_JSON_INTS_*) */
    const char *credential; /* to redact from server text, or NULL */
    int shape;              /* how a 2xx body is shaped (entry.h) */
    int info;               /* a success also returns its info table */
    long long made;         /* attempts of the call before this one */
    sm_expect expect;       /* what a 2xx body must answer (entry.h) */
    int resent;             /* this is already the resend on a fresh
                             * connection after an answer out of step */
    int out_of_step;        /* set when the answer was not this request's */
    const struct sm_proxy *proxy; /* the proxy in use, to name in errors */
} sm_result_rules;

/* Pushes the decoded 2xx body, shaped (and with rules->info, or when the
 * response carried X-RateLimit headers, its info table), and returns 1 (2), or pushes nil and an error value and returns
 * 2. The error or the info says attempts = rules->made + 1. A 2xx that
 * answers another request (sm_check_answer) is INVALID_RESPONSE with
 * rules->out_of_step set: the caller drops the connection and, unless
 * rules->resent, sends once more on a fresh one, uncounted. A response
 * whose headers never ended is a cut connection, whatever the transport
 * said. */
int sm_push_outcome(lua_State *L, const sm_outcome *o,
                    sm_result_rules *rules);

#endif
