/*
 * harness.h: what the libFuzzer harnesses share. Each harness is one .c
 * file linked with all of the module's sources (see the `fuzz` target).
 *
 * The Lua state is the one the module would run in: liblua5.4, the standard
 * libraries, and a private cjson.safe instance set up exactly as core.c's
 * push_json does (no invalid numbers, nesting depth 128).
 */
#ifndef SM_FUZZ_HARNESS_H
#define SM_FUZZ_HARNESS_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>

#include "errors.h"

#include "invariant.h"

/* The state every input runs in, made once: a fresh state per input would
 * spend the time in luaL_openlibs rather than in our code. The JSON decode
 * function is left in the registry under "sm_fuzz_decode". */
static inline lua_State *fuzz_state(void)
{
    static lua_State *L;
    if (L != NULL)
        return L;
    L = luaL_newstate();
    FUZZ_ASSERT(L != NULL);
    luaL_openlibs(L);
    FUZZ_ASSERT(luaL_dostring(L, "local j = require('cjson.safe').new() "
                                 "j.decode_invalid_numbers(false) "
                                 "j.decode_max_depth(128) "
                                 "return j.decode") == 0);
    lua_setfield(L, LUA_REGISTRYINDEX, "sm_fuzz_decode");
    sm_errors_open(L);
    lua_pop(L, 1);
    return L;
}

/* Ends an input with the Lua heap as it was: libFuzzer counts mallocs and
 * frees per input and, when they differ, runs a whole LeakSanitizer scan
 * (milliseconds). Lua's incremental GC would make them differ at random. */
static inline void fuzz_collect(void)
{
    lua_State *L = fuzz_state();
    lua_settop(L, 0);
    lua_gc(L, LUA_GCCOLLECT, 0);
}

/* True when s[0..n) contains needle. */
static inline int fuzz_contains(const char *s, size_t n, const char *needle)
{
    size_t k = strlen(needle), i;
    for (i = 0; k <= n && i <= n - k; i++)
        if (memcmp(s + i, needle, k) == 0)
            return 1;
    return 0;
}

/* Defines LLVMFuzzerTestOneInput around fn(data, size), collecting the
 * state's garbage after every input (so one input's leak-free run is not
 * charged to the next). */
#define FUZZ_LUA_ENTRY(fn)                                                \
    int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);         \
    int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)          \
    {                                                                     \
        int rc = fn(data, size);                                          \
        fuzz_collect();                                                   \
        return rc;                                                        \
    }

#endif
