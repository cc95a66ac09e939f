/*
 * entry.c: shapes a decoded LogEntry into what the contract promises.
 */
#include "entry.h"

#include <math.h>

#include "compat.h"

static const char *const integer_fields[] = {"status", "duration_ms", NULL};

static int is_json_null(lua_State *L, int idx)
{
    return lua_type(L, idx) == LUA_TLIGHTUSERDATA &&
           lua_touserdata(L, idx) == NULL;
}

void sm_shape_entry(lua_State *L, int idx, int may_have_nulls)
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

const char *sm_shape_page(lua_State *L, int may_have_nulls)
{
    int body = lua_gettop(L), logs = body + 1, out = body + 2;
    size_t n, count = 0, i;
    lua_getfield(L, body, "logs");
    if (lua_type(L, logs) != LUA_TTABLE) {
        lua_settop(L, body);
        return "the response has no \"logs\" array";
    }
    n = sm_rawlen(L, logs);
    lua_pushnil(L);
    while (lua_next(L, logs)) {
        count++;
        lua_pop(L, 1);
    }
    if (count != n) {
        lua_settop(L, body);
        return "\"logs\" is not an array";
    }
    lua_createtable(L, (int)n, 0);
    for (i = 1; i <= n; i++) {
        lua_rawgeti(L, logs, (int)i);
        if (lua_type(L, -1) != LUA_TTABLE) {
            lua_settop(L, body);
            return lua_pushfstring(L, "\"logs\" item %d is not an object",
                                   (int)i);
        }
        sm_shape_entry(L, -1, may_have_nulls);
        lua_rawseti(L, out, (int)i);
    }
    lua_replace(L, body);
    lua_settop(L, body);
    return NULL;
}
