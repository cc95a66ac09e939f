/*
 * terminal.h: the command line's helpers in the C core (terminal.c).
 */
#ifndef SM_TERMINAL_H
#define SM_TERMINAL_H

#include <lua.h>

/* Lua: trap_interrupt(): Ctrl-C cuts transfers and waits short. */
int sm_lua_trap_interrupt(lua_State *L);

/* Lua: interrupted() -> whether SIGINT came since trap_interrupt(). */
int sm_lua_interrupted(lua_State *L);

/* Lua: isatty(fd) -> whether fd is a terminal. */
int sm_lua_isatty(lua_State *L);

/* Lua: read_key(path) -> key | nil, mode | nil; or false, why, detail:
 * the first line of a regular file or of standard input ("-"), at most
 * the credential's length plus one byte read, interruptible by Ctrl-C. */
int sm_lua_read_key(lua_State *L);

/* Lua: no_core_dumps(): RLIMIT_CORE 0 and, on Linux, not dumpable. */
int sm_lua_no_core_dumps(lua_State *L);

#endif
