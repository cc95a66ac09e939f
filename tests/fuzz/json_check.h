/*
 * json_check.h: what the JSON harnesses (fuzz_entry, fuzz_page) share:
 * when two decoded tables are the same, and whether the scanner takes a
 * text as one JSON object.
 */
#ifndef SM_FUZZ_JSON_CHECK_H
#define SM_FUZZ_JSON_CHECK_H

#include <math.h>

#include "harness.h"

#include "compat.h"
#include "json_scan.h"

static inline int fuzz_same_table(lua_State *L, int a, int b);

/* The values at a and b are the same: numbers by subtype and bits
 * (NaN-safe, -0 apart), strings byte for byte, tables field by field, JSON
 * nulls alike. */
static inline int fuzz_same_value(lua_State *L, int a, int b)
{
    if (lua_type(L, a) != lua_type(L, b))
        return 0;
    switch (lua_type(L, a)) {
    case LUA_TNUMBER: {
        lua_Number x = lua_tonumber(L, a), y = lua_tonumber(L, b);
        if (lua_isinteger(L, a) != lua_isinteger(L, b))
            return 0;
        if (lua_isinteger(L, a))
            return lua_tointeger(L, a) == lua_tointeger(L, b);
        if (isnan(x) || isnan(y))
            return isnan(x) && isnan(y);
        return x == y && signbit(x) == signbit(y);
    }
    case LUA_TSTRING: {
        size_t n, m;
        const char *s = lua_tolstring(L, a, &n), *t = lua_tolstring(L, b, &m);
        return n == m && memcmp(s, t, n) == 0;
    }
    case LUA_TBOOLEAN:
        return lua_toboolean(L, a) == lua_toboolean(L, b);
    case LUA_TLIGHTUSERDATA:
        return lua_touserdata(L, a) == lua_touserdata(L, b);
    case LUA_TTABLE:
        return fuzz_same_table(L, a, b);
    default:
        return 0; /* the decoders give no other type */
    }
}

/* The tables at a and b have the same fields, the same (each compared
 * once: nesting costs no more than its size). */
static inline int fuzz_same_table(lua_State *L, int a, int b)
{
    int top = lua_gettop(L);
    size_t n = 0;
    luaL_checkstack(L, 4, NULL); /* each level of nesting */
    if (a < 0)
        a = top + a + 1;
    if (b < 0)
        b = top + b + 1;
    lua_pushnil(L);
    while (lua_next(L, a)) {
        lua_pushvalue(L, -2);
        lua_rawget(L, b);
        if (!fuzz_same_value(L, -1, -2)) {
            lua_settop(L, top);
            return 0;
        }
        lua_pop(L, 2);
        n++;
    }
    lua_pushnil(L);
    while (lua_next(L, b)) {
        lua_pop(L, 1);
        n--;
    }
    return n == 0;
}

/* Every field of the table at a is in the table at b, the same. */
static inline void fuzz_check_within(lua_State *L, int a, int b)
{
    lua_pushnil(L);
    while (lua_next(L, a)) {
        lua_pushvalue(L, -2);
        lua_rawget(L, b);
        if (!fuzz_same_value(L, -1, -2)) {
            fprintf(stderr, "field %s differs\n", lua_tostring(L, -3));
            FUZZ_ASSERT(!"the same table as cjson's, shaped");
        }
        lua_pop(L, 2);
    }
}

/* Whether the scanner takes text as one JSON object (sm_json_next to the
 * end), every span inside the text. */
static inline int fuzz_scanner_accepts(const char *text, size_t len)
{
    sm_json_scan s;
    sm_json_member m;
    int r;
    if (sm_json_open(&s, text, len) != 0)
        return 0;
    while ((r = sm_json_next(&s, &m)) == 1)
        FUZZ_ASSERT(m.key.p >= text && m.key.p + m.key.len <= text + len &&
                    m.value.p >= text && m.value.p + m.value.len <= text + len);
    return r == 0;
}

#endif
