/*
 * client.h: the connection-owning handle behind a supermetrics client. One
 * libcurl easy handle per client, reused so that calls share the kept-alive
 * connection and the TLS session.
 */
#ifndef SM_CLIENT_H
#define SM_CLIENT_H

#include <lua.h>

#define SM_CLIENT_MT "supermetrics.core.Client"

/* Registers the handle's metatable. Its methods keep the JSON decode
 * function found at decode_idx (cjson.safe semantics) as their upvalue. */
void sm_client_open(lua_State *L, int decode_idx);

/* Lua: new_client(options) -> handle. See client.c for the options. */
int sm_lua_new_client(lua_State *L);

#endif
