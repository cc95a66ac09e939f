/*
 * compat.h: the one place that knows about Lua version differences.
 *
 * Everything here has an sm_ name of its own: LuaJIT reports 5.1 yet declares
 * some 5.2 functions (luaL_setfuncs, luaL_testudata), so defining those names
 * ourselves clashes there, and relying on LuaJIT's breaks PUC 5.1.
 */
#ifndef SM_COMPAT_H
#define SM_COMPAT_H

#include <lua.h>
#include <lauxlib.h>

#if LUA_VERSION_NUM >= 503
#define SM_HAVE_INTEGERS 1
#else
#define SM_HAVE_INTEGERS 0
#endif

/* Registers l into the table on top of the stack; each function gets the nup
 * values below that table as upvalues, which are popped. */
static inline void sm_setfuncs(lua_State *L, const luaL_Reg *l, int nup)
{
#if LUA_VERSION_NUM >= 502
    luaL_setfuncs(L, l, nup);
#else
    luaL_checkstack(L, nup + 1, "too many upvalues");
    for (; l->name != NULL; l++) {
        int i;
        /* Each push moves the next upvalue to -nup. */
        for (i = 0; i < nup; i++)
            lua_pushvalue(L, -nup);
        lua_pushcclosure(L, l->func, nup);
        lua_setfield(L, -(nup + 2), l->name);
    }
    lua_pop(L, nup);
#endif
}

static inline void *sm_newuserdata(lua_State *L, size_t size)
{
#if LUA_VERSION_NUM >= 504
    return lua_newuserdatauv(L, size, 0);
#else
    return lua_newuserdata(L, size);
#endif
}

/* The length of the table at idx, without metamethods. */
static inline size_t sm_rawlen(lua_State *L, int idx)
{
#if LUA_VERSION_NUM >= 502
    return (size_t)lua_rawlen(L, idx);
#else
    return lua_objlen(L, idx);
#endif
}

static inline void sm_setmetatable(lua_State *L, const char *tname)
{
    luaL_getmetatable(L, tname);
    lua_setmetatable(L, -2);
}

/* The userdata at idx when its metatable is the value at mt_idx (an
 * upvalue of the calling method, as lua-cjson keeps its state: no registry
 * lookup by name, which luaL_checkudata makes on every call); otherwise
 * whatever luaL_checkudata(L, idx, tname) does, so a wrong argument gets
 * the same error as before. */
static inline void *sm_checkudata_at(lua_State *L, int idx, int mt_idx,
                                     const char *tname)
{
    void *p = lua_touserdata(L, idx);
    if (p != NULL && lua_getmetatable(L, idx)) {
        int same = lua_rawequal(L, -1, mt_idx);
        lua_pop(L, 1);
        if (same)
            return p;
    }
    return luaL_checkudata(L, idx, tname);
}

/* Pushes v as an integer where the Lua has integers, else as a number. */
static inline void sm_pushint64(lua_State *L, long long v)
{
#if SM_HAVE_INTEGERS
    lua_pushinteger(L, (lua_Integer)v);
#else
    lua_pushnumber(L, (lua_Number)v);
#endif
}

#endif
