/*
 * attempt.h: one HTTP attempt, and what every route checks before one.
 */
#ifndef SM_ATTEMPT_H
#define SM_ATTEMPT_H

#include <lua.h>

/* seconds as libcurl's milliseconds, rounded up, capped. */
long sm_timeout_ms(lua_Number seconds);

/* Before an attempt: pushes nil and the error that keeps it from starting
 * (a bad token_provider credential, given as its message, or no time left)
 * and returns 2; returns 0 when the attempt may start. */
int sm_refuse_attempt(lua_State *L, const char *bad_credential, lua_Number left);

/* Registers the handle's perform and get_log methods. */
void sm_attempt_open(lua_State *L, int decode_idx);

#endif
