/*
 * embed.h: a Lua 5.4 state with the module linked in, for the C drivers of
 * tests/c (wipe.c, threads.c). supermetrics.core comes from the objects
 * linked into the driver (package.preload), the Lua layer from ./lua, and
 * cjson from the system, as in a program that embeds Lua.
 */
#ifndef SM_TEST_EMBED_H
#define SM_TEST_EMBED_H

#include <stdio.h>
#include <string.h>

#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>

int luaopen_supermetrics_core(lua_State *L);

/* A new state ready to require "supermetrics", or NULL. */
static inline lua_State *embed_state(void)
{
    lua_State *L = luaL_newstate();
    if (L == NULL)
        return NULL;
    luaL_openlibs(L);
    lua_getglobal(L, "package");
    lua_getfield(L, -1, "preload");
    lua_pushcfunction(L, luaopen_supermetrics_core);
    lua_setfield(L, -2, "supermetrics.core");
    lua_pop(L, 1);
    lua_pushliteral(L, "./lua/?.lua;./lua/?/init.lua");
    lua_setfield(L, -2, "path");
    lua_pop(L, 1);
    return L;
}

/* Runs chunk with the given string arguments (as ...); prints and returns
 * -1 on error, else 0. */
static inline int embed_run(lua_State *L, const char *name, const char *chunk,
                            int nargs, const char *const *args)
{
    int i;
    if (luaL_loadbuffer(L, chunk, strlen(chunk), name) != 0) {
        fprintf(stderr, "%s: %s\n", name, lua_tostring(L, -1));
        return -1;
    }
    for (i = 0; i < nargs; i++)
        lua_pushstring(L, args[i]);
    if (lua_pcall(L, nargs, 0, 0) != 0) {
        fprintf(stderr, "%s: %s\n", name, luaL_tolstring(L, -1, NULL));
        return -1;
    }
    return 0;
}

#endif
