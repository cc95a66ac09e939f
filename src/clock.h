/*
 * clock.h: time for the Lua layer (clock.c).
 */
#ifndef SM_CLOCK_H
#define SM_CLOCK_H

#include <lua.h>

/* Lua: monotonic() -> seconds since an arbitrary point, immune to clock
 * changes. */
int sm_lua_monotonic(lua_State *L);

/* Lua: sleep(seconds): blocks the calling thread; raises "interrupted" once
 * the core's cancel flag is set (cancel.h: by the command line's Ctrl-C
 * trap). */
int sm_lua_sleep(lua_State *L);

#endif
