/*
 * cosocket.h: the C half of the cosocket transport (cosocket.c).
 */
#ifndef SM_COSOCKET_H
#define SM_COSOCKET_H

#include <lua.h>

/* Registers the exchange type (one request and its response). */
#define SM_EXCHANGE_MT "supermetrics.core.Exchange"
void sm_cosocket_open(lua_State *L);

/* The handle's methods of the cosocket transport (handle.c lists every
 * method; each is described where it is defined). */
int sm_lua_endpoint(lua_State *L);
int sm_lua_exchange(lua_State *L);
int sm_lua_request(lua_State *L);
int sm_lua_log_request(lua_State *L);
int sm_lua_outcome(lua_State *L);
int sm_lua_refused(lua_State *L);

#endif
