/*
 * batch.h: many transfers at once on one client (batch.c).
 */
#ifndef SM_BATCH_H
#define SM_BATCH_H

#include <lua.h>

/* The handle's batch methods (handle.c lists every method; each is
 * described where it is defined). */
int sm_lua_batch_open(lua_State *L);
int sm_lua_batch_add(lua_State *L);
int sm_lua_batch_poll(lua_State *L);
int sm_lua_batch_reset(lua_State *L);

#endif
