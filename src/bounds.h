/*
 * bounds.h: the numeric limits both halves enforce, defined once. The Lua
 * layer reads them as core.LIMITS (core.c), so a limit never has two values.
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
