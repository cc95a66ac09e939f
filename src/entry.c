/*
 * entry.c: shapes a decoded LogEntry into what the contract promises.
 */
#include "entry.h"

#include <lauxlib.h>
#include <math.h>

#include "compat.h"

static const char *const integer_fields[] = {"status", "duration_ms", NULL};

static int is_json_null(lua_State *L, int idx)
{
    return lua_type(L, idx) == LUA_TLIGHTUSERDATA &&
           lua_touserdata(L, idx) == NULL;
}

void sm_normalize_entry(lua_State *L, int idx)
{
    sm_normalize_entry_hint(L, idx, 1);
}

void sm_normalize_entry_hint(lua_State *L, int idx, int may_have_nulls)
{
    const char *const *field;
    if (idx < 0)
        idx = lua_gettop(L) + idx + 1;
    if (may_have_nulls) {
        lua_pushnil(L);
        while (lua_next(L, idx)) {
            /* Setting an existing field to nil during lua_next is allowed. */
            if (is_json_null(L, -1)) {
                lua_pushvalue(L, -2);
                lua_pushnil(L);
                lua_rawset(L, idx);
            }
            lua_pop(L, 1);
        }
    }
#if SM_HAVE_INTEGERS
    for (field = integer_fields; *field != NULL; field++) {
        lua_getfield(L, idx, *field);
        if (lua_type(L, -1) == LUA_TNUMBER && !lua_isinteger(L, -1)) {
            lua_Number d = lua_tonumber(L, -1);
            lua_Integer i;
            if (d == floor(d) && lua_numbertointeger(d, &i)) {
                lua_pushinteger(L, i);
                lua_setfield(L, idx, *field);
            }
        }
        lua_pop(L, 1);
    }
#else
    (void)field;
    (void)integer_fields;
#endif
}

int sm_lua_normalize_entry(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    lua_settop(L, 1);
    sm_normalize_entry(L, 1);
    return 1;
}
