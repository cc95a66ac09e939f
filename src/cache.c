/*
 * cache.c: the entry cache's C half (cache.h). The cache keeps the text of
 * an entry as get_connector_log_json checked it (json_raw.c: one object
 * whose id answers the request); a hit of get_connector_log builds a fresh
 * table from it the way a response's body is built (outcome.c): a flat
 * entry straight from the text (json_entry.c), anything else through the
 * private cjson.safe and shaped after (entry.c).
 */
#include "cache.h"

#include <string.h>

#include <lauxlib.h>

#include "buffer.h"
#include "compat.h"
#include "entry.h"
#include "json_entry.h"

enum { UP_DECODE = 1, UP_INTS };

/* decode_entry(text) -> entry | nil, why */
static int decode_entry(lua_State *L)
{
    size_t n;
    const char *text = luaL_checklstring(L, 1, &n), *p = text;
    const char *end = text + n;
    sm_buffer b;
    lua_settop(L, 1);
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n'))
        p++;
    if (p < end && *p == '{') {
        if (sm_json_entry(L, p, (size_t)(end - p),
                          (int)lua_tointeger(L, lua_upvalueindex(UP_INTS))))
            return 1;
        lua_pushvalue(L, lua_upvalueindex(UP_DECODE));
        lua_pushvalue(L, 1);
        lua_call(L, 1, 1); /* cjson.safe: nil, why on failure (no raise) */
        if (lua_type(L, -1) == LUA_TTABLE) {
            memset(&b, 0, sizeof b);
            b.data = (char *)text; /* read only: sm_buffer_may_have_nulls */
            b.len = n;
            sm_shape_entry(L, -1, sm_buffer_may_have_nulls(&b));
            return 1;
        }
    }
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
