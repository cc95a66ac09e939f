/*
 * exchange.h: the C half of the cosocket transport (exchange.c).
 */
#ifndef SM_EXCHANGE_H
#define SM_EXCHANGE_H

#include <lua.h>

/* Registers the exchange type and the handle's endpoint, exchange, request
 * and outcome methods. */
void sm_exchange_open(lua_State *L, int decode_idx);

#endif
