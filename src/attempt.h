/*
 * attempt.h: one HTTP attempt, the same for every route and transport: what
 * is checked before it starts, and (attempt.c) the attempt itself on the
 * single-call handle. Batches (batch.c) and nginx's cosockets (cosocket.c)
 * start theirs with sm_attempt_begin too, and all of them end in
 * transfer.c's sm_transfer_push_*.
 */
#ifndef SM_ATTEMPT_H
#define SM_ATTEMPT_H

#include <lua.h>

#include "client.h"

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

/* Registers the handle's perform and get_log methods. */
void sm_attempt_open(lua_State *L, int decode_idx);

#endif
