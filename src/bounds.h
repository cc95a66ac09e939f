/*
 * bounds.h: the numeric limits, defined once: those both halves enforce (the
 * Lua layer reads them as core.LIMITS, core.c, so a limit never has two
 * values) and the caps on server text in error values. Limits of one
 * protocol part stay with it: HTTP lines (http1.h), request ids and
 * Retry-After (response.h), the credential (credential.h), log ids and
 * connector names (segment.h).
 */
#ifndef SM_BOUNDS_H
#define SM_BOUNDS_H

/* Largest max_response_bytes: far above any sane body, and small enough to
 * be exact in a double on every Lua. */
#define SM_MAX_RESPONSE_BYTES 281474976710656.0 /* 2^48 */

/* Most transfers of one batch in flight at once: more per client buy
 * nothing but sockets. */
#define SM_MAX_CONCURRENCY 256

/* Largest page of the list route (the API's own bound on `limit`). */
#define SM_MAX_PAGE_SIZE 1000

/* Range of timeout and connect_timeout, in seconds. */
#define SM_MIN_TIMEOUT 0.001
#define SM_MAX_TIMEOUT 1e6

/* Caps on server-sent text: the API promises 255 and 2048 bytes; a server
 * that sends megabytes must not make every tostring(err) huge. The
 * envelope's own fields get some slack over the promise; text from a body
 * that is not the envelope (an RFC 9457 problem, a gateway's message) gets
 * the promise itself, and err.body the first KiB of such a body. */
#define SM_MESSAGE_MAX 1024
#define SM_DESCRIPTION_MAX 8192
#define SM_CODE_MAX 100
#define SM_OTHER_MESSAGE_MAX 255
#define SM_OTHER_DESCRIPTION_MAX 2048
#define SM_BODY_MAX 1024
/* Prism's validation errors read into a description, at most. */
#define SM_VALIDATION_MAX 32
#define SM_LOCATION_MAX 16

/* Extra request headers (the headers option, per call or per client): a
 * name's and a value's longest length in bytes, how many one request may
 * carry, and their total size as sent ("Name: value\r\n" each). A value
 * as long as the credential fits; far below any server's header limit. */
#define SM_HEADER_NAME_MAX 256
#define SM_HEADER_VALUE_MAX 16384
#define SM_HEADERS_MAX 64
#define SM_HEADERS_BYTES_MAX 32768

/* Longest proxy URL (proxy option, https_proxy...). */
#define SM_PROXY_URL_MAX 2048

#endif
