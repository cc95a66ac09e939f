/*
 * codes.h: the one table of error codes: every code the library makes, and
 * the envelope codes the API documents, with what follows from each:
 *
 *   X(code, kind, status, reason, retried)
 *
 * kind:    "status": the code of a 4xx/5xx without a usable envelope (status
 *          and its reason phrase beside it; HTTP_ERROR: any other status);
 *          "library": the library's own (no response, or one it refuses);
 *          "envelope": a code only the API's envelope carries.
 * retried: whether another attempt may cure it (supermetrics.retry). A
 *          library code's own row decides; for an HTTP error (any other
 *          code) the row of its status does.
 *
 * Exported to Lua as core.CODES; response.c, retry.lua, the CLI and the
 * docs' check (tests/spec/31-codes_spec.lua) all read it. The command
 * line's exit status of each code is the CLI's own (cli.EXIT_OF_CODE).
 */
#ifndef SM_CODES_H
#define SM_CODES_H

#include <lua.h>

#define SM_CODES(X)                                                         \
    X(BAD_REQUEST, "status", 400, "Bad Request", 0)                         \
    X(UNAUTHORIZED, "status", 401, "Unauthorized", 0)                       \
    X(FORBIDDEN, "status", 403, "Forbidden", 0)                             \
    X(NOT_FOUND, "status", 404, "Not Found", 0)                             \
    X(CONFLICT_ERROR, "status", 409, "Conflict", 0)                         \
    X(UNPROCESSABLE_ENTITY, "status", 422, "Unprocessable Entity", 0)       \
    X(TOO_MANY_REQUESTS, "status", 429, "Too Many Requests", 1)             \
    X(INTERNAL_SERVER_ERROR, "status", 500, "Internal Server Error", 1)     \
    X(BAD_GATEWAY, "status", 502, "Bad Gateway", 1)                         \
    X(SERVICE_UNAVAILABLE, "status", 503, "Service Unavailable", 1)         \
    X(GATEWAY_TIMEOUT, "status", 504, "Gateway Timeout", 1)                 \
    X(HTTP_ERROR, "status", 0, NULL, 0)                                     \
    X(TIMEOUT, "library", 0, NULL, 0)                                       \
    X(CONNECTION_ERROR, "library", 0, NULL, 1)                              \
    X(TLS_ERROR, "library", 0, NULL, 0)                                     \
    X(RESPONSE_TOO_LARGE, "library", 0, NULL, 0)                            \
    X(INVALID_RESPONSE, "library", 0, NULL, 0)                              \
    X(INVALID_ARGUMENT, "library", 0, NULL, 0)                              \
    X(PERMISSION_ERROR, "envelope", 0, NULL, 0)                             \
    X(UNPROCESSABLE_CONTENT, "envelope", 0, NULL, 0)                        \
    X(DUPLICATION_FAILED, "envelope", 0, NULL, 0)

/* Lua: pushes core.CODES: code -> { kind =, status =, reason =, retried = }
 * (status and reason absent where the table has none). */
void sm_push_codes(lua_State *L);

#endif
