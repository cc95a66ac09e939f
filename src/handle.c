/*
 * handle.c: the one table of the handle's methods (handle.h). Each method
 * is defined, and described, with what it does: the lifetime in client.c,
 * one attempt in attempt.c, batches in batch.c, the cosocket transport in
 * cosocket.c. This file is above all of them; they build on client.h.
 */
#include "handle.h"

#include <lauxlib.h>

#include "attempt.h"
#include "batch.h"
#include "client.h"
#include "compat.h"
#include "cosocket.h"
#include "json_entry.h"
#include "route.h"

void sm_handle_open(lua_State *L, int decode_idx)
{
    static const luaL_Reg metamethods[] = {
        {"__gc", sm_lua_client_close},
        {"__close", sm_lua_client_close},
        {"__tostring", sm_lua_client_tostring},
        {NULL, NULL},
    };
    /* Every method of the handle, in one place; each is defined (and
     * described) with what it does. */
    static const luaL_Reg methods[] = {
        {"close", sm_lua_client_close},
        {"proxy", sm_lua_client_proxy},
        {"set_proxy", sm_lua_client_set_proxy},
        /* one attempt on the single-call handle (attempt.c) */
        {"perform", sm_lua_perform},
        {"get_log", sm_lua_get_log},
        /* libcurl's multi interface (batch.c) */
        {"batch_open", sm_lua_batch_open},
        {"batch_add", sm_lua_batch_add},
        {"batch_poll", sm_lua_batch_poll},
        {"batch_reset", sm_lua_batch_reset},
        /* nginx's cosockets (cosocket.c) */
        {"endpoint", sm_lua_endpoint},
        {"exchange", sm_lua_exchange},
        {"request", sm_lua_request},
        {"log_request", sm_lua_log_request},
        {"outcome", sm_lua_outcome},
        {"refused", sm_lua_refused},
        {NULL, NULL},
    };
    if (decode_idx < 0)
        decode_idx = lua_gettop(L) + decode_idx + 1;
    luaL_newmetatable(L, SM_CLIENT_MT);
    sm_setfuncs(L, metamethods, 0);
    lua_newtable(L);
    /* Every method's upvalues, in SM_UP_* order: the JSON decode function
     * (those that read a response use it), how it gives integral numbers
     * (the fast entry decoder must give them the same way), and the
     * metatables the methods check their arguments against. */
    lua_pushvalue(L, decode_idx);
    lua_pushvalue(L, -3);
    luaL_getmetatable(L, SM_EXCHANGE_MT);
    luaL_getmetatable(L, SM_ROUTE_MT);
    lua_pushinteger(L, sm_json_ints_of(L, decode_idx));
    sm_setfuncs(L, methods, 5);
    lua_setfield(L, -2, "__index");
    lua_pop(L, 1);
}
