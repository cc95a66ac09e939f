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

#endif
