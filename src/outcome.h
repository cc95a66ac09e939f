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
#include "json_entry.h"
#include "response.h"

/* Decoding a 2xx body with lua-cjson (nested values: json_entry.h) may
 * take at most this many times max_response_bytes in Lua's memory, as
 * json_scan.h estimates it, and at least SM_DECODED_MIN; a body that would
 * take more is RESPONSE_TOO_LARGE, never decoded. */
#define SM_DECODED_FACTOR 4
#define SM_DECODED_MIN (64ULL << 20)

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

/* What one attempt asked for: how a 2xx body is shaped, what it must
 * answer, whether a success brings its info table, and where the attempt
 * stands in its call. Transports keep it with the attempt (attempt.h). */
typedef struct sm_asked {
    int shape;        /* how a 2xx body is shaped (entry.h's SM_SHAPE_*) */
    sm_expect expect; /* what a 2xx body must answer (entry.h) */
    int info;         /* a success also returns its info table */
    long long made;   /* attempts of the call before this one */
    int resent;       /* this is already the resend on a fresh connection
                       * after an answer out of step */
} sm_asked;

/* Pushes the decoded 2xx body, shaped (and with a->info, or when the
 * response carried X-RateLimit headers, its info table), and returns 1 (2),
 * or pushes nil and an error value and returns 2. d: how bodies are decoded
 * (json_entry.h; d->cap is set here, d->credential is redacted from server
 * text). The error or the info says attempts = a->made + 1. A 2xx that
 * answers another request (entry.h) is INVALID_RESPONSE with *out_of_step
 * set (else it is 0): the caller drops the connection and, unless
 * a->resent, sends once more on a fresh one, uncounted. A response whose
 * headers never ended is a cut connection, whatever the transport said. */
int sm_push_outcome(lua_State *L, const sm_outcome *o, const sm_asked *a,
                    sm_json_decoder *d, int *out_of_step);

/* An entry's text that already answered its request (the entry cache keeps
 * such texts): pushes its table built by the same rules as a response's
 * body (a flat entry straight from the text, anything else through
 * lua-cjson at decode_idx, shaped) and returns 1; or pushes nothing and
 * returns 0 when the text is not one such object. */
int sm_push_entry_text(lua_State *L, const char *text, size_t len,
                       int decode_idx, int json_ints);

#endif
