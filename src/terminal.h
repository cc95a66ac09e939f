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

/* Lua: file_mode(path) -> permission bits, "file" | "directory" | "other";
 * or nil, message. */
int sm_lua_file_mode(lua_State *L);

/* Lua: isatty(fd) -> whether fd is a terminal. */
int sm_lua_isatty(lua_State *L);

#endif
