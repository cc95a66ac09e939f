/*
 * handle.h: the handle's one table of methods (handle.c), the top of the
 * C core's layers: it includes the files of the methods, none of which
 * includes it (tests/tools/layers.lua).
 */
#ifndef SM_HANDLE_H
#define SM_HANDLE_H

#include <lua.h>

/* Registers the handle's metatable with every method, each with the
 * upvalues of client.h (SM_UP_*): the decode function found at decode_idx,
 * and the metatables (the exchange's and the route's are registered
 * first: sm_route_open, sm_cosocket_open). */
void sm_handle_open(lua_State *L, int decode_idx);

#endif
