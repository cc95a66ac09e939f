/*
 * attempt.h: one HTTP attempt, the same for every route and transport: what
 * is checked before it starts, and (attempt.c) the attempt itself on the
 * single-call handle. Batches (batch.c) and nginx's cosockets (cosocket.c)
 * read the same arguments (sm_check_attempt_args) and start theirs with
 * sm_attempt_begin too; all of them end in an outcome (outcome.h).
 */
#ifndef SM_ATTEMPT_H
#define SM_ATTEMPT_H

#include <lua.h>

#include "client.h"
#include "route.h"

/* The arguments of every method that starts an attempt (perform,
 * batch_add, request), in this order from stack index first:
 *   route, seconds_left [, credential [, made [, want_info [, headers]]]]
 * credential: a token_provider's (nil: the client's); made: attempts of the
 * call before this one; headers: extra header lines ("Name: value\r\n"
 * each, checked by the Lua layer). A method's own arguments follow. */
typedef struct sm_attempt_args {
    const sm_route *route;
    lua_Number left;
    int cred_idx;     /* stack index of the credential */
    long long made;
    int want_info;
    const char *headers;
    size_t headers_len;
} sm_attempt_args;

/* Reads them (raising for a wrong type: a bug of the Lua layer's). */
void sm_check_attempt_args(lua_State *L, int first, sm_attempt_args *a);

/* seconds as libcurl's milliseconds, rounded up, capped. */
long sm_timeout_ms(lua_Number seconds);

/* Before an attempt of c, with seconds_left of the call's deadline and
 * made attempts made: takes the token_provider's credential at stack index
 * cred_idx (nil: none) into own (the client's, or a batch slot's own).
 * Returns the credential to send; or, when the attempt must not start (a
 * bad credential, no time left), pushes nil and the error (attempts = made)
 * and returns NULL. Raises INVALID_ARGUMENT when there is no credential at
 * all; call it with no resource held. */
const sm_credential *sm_attempt_begin(lua_State *L, sm_client *c, int cred_idx,
                                      sm_credential *own, lua_Number left,
                                      long long made);

/* The handle's perform and get_log methods (handle.c lists every method;
 * each is described where it is defined). */
int sm_lua_perform(lua_State *L);
int sm_lua_get_log(lua_State *L);

#endif
