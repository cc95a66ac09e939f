/*
 * terminal.c: what only the command line asks of the C core: whether an
 * output is a terminal, a key file's mode, and Ctrl-C (interrupt.c) as Lua
 * functions (terminal.h).
 */
#include "terminal.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <lauxlib.h>

#include "errors.h"
#include "interrupt.h"

/* trap_interrupt(): Ctrl-C for the command line (interrupt.c). */
int sm_lua_trap_interrupt(lua_State *L)
{
    if (sm_interrupt_trap() != 0)
        return sm_raise(L, "sigaction(SIGINT): %s",
                          strerror(errno));
    return 0;
}

/* interrupted() -> whether SIGINT came since trap_interrupt() */
int sm_lua_interrupted(lua_State *L)
{
    lua_pushboolean(L, sm_interrupted());
    return 1;
}

/* file_mode(path) -> permission bits, "file" | "directory" | "other"; or
 * nil, message: what the CLI says about a key file before reading it. */
int sm_lua_file_mode(lua_State *L)
{
    struct stat st;
    const char *path = luaL_checkstring(L, 1);
    if (stat(path, &st) != 0) {
        lua_pushnil(L);
        lua_pushstring(L, strerror(errno));
        return 2;
    }
    lua_pushinteger(L, (lua_Integer)(st.st_mode & 07777));
    lua_pushstring(L, S_ISREG(st.st_mode)   ? "file"
                      : S_ISDIR(st.st_mode) ? "directory"
                                            : "other");
    return 2;
}

/* isatty(fd) -> boolean: whether fd is a terminal (the CLI's progress). */
int sm_lua_isatty(lua_State *L)
{
    lua_pushboolean(L, isatty((int)luaL_checknumber(L, 1)) == 1);
    return 1;
}
