/*
 * cosocket.h: the C half of the cosocket transport (cosocket.c).
 */
#ifndef SM_COSOCKET_H
#define SM_COSOCKET_H

#include <lua.h>

/* Registers the exchange type and the handle's endpoint, exchange, request
 * and outcome methods. */
void sm_cosocket_open(lua_State *L, int decode_idx);

#endif
