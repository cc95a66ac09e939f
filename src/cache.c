/*
 * cache.c: the entry cache's C half (cache.h). The cache keeps the text of
 * an entry as get_connector_log_json checked it (json_raw.c: one object
 * whose id answers the request); a hit of get_connector_log builds a fresh
 * table from it by the very rules a response's body is built with
 * (outcome.c's sm_push_entry_text).
 */
#include "cache.h"

#include <lauxlib.h>

#include "compat.h"
#include "json_entry.h"
#include "outcome.h"

enum { UP_DECODE = 1, UP_INTS };

/* decode_entry(text) -> entry | nil, why */
static int decode_entry(lua_State *L)
{
    size_t n;
    const char *text = luaL_checklstring(L, 1, &n);
    lua_settop(L, 1);
    lua_pushvalue(L, lua_upvalueindex(UP_DECODE)); /* at 2 */
    if (sm_push_entry_text(L, text, n, 2,
                           (int)lua_tointeger(L, lua_upvalueindex(UP_INTS))))
        return 1;
    lua_pushnil(L);
    lua_pushliteral(L, "the cached entry's text does not decode to a JSON object");
    return 2;
}

void sm_cache_open(lua_State *L)
{
    int decode = lua_gettop(L);
    lua_pushinteger(L, sm_json_ints_of(L, decode));
    lua_pushcclosure(L, decode_entry, 2);
    lua_setfield(L, -2, "decode_entry");
}
