/*
 * cache.h: what the entry cache (lua/supermetrics/cache.lua) asks of C: an
 * entry's table from the checked JSON text the cache holds, built as a
 * response's would be. Registered into the core table by sm_cache_open.
 */
#ifndef SM_CACHE_H
#define SM_CACHE_H

#include <lua.h>

/* Adds decode_entry to the table below the top of the stack; the top is
 * the module's private JSON decode function (cjson.safe), which it pops. */
void sm_cache_open(lua_State *L);

#endif
