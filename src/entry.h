/*
 * entry.h: shapes a decoded LogEntry into what the contract promises.
 */
#ifndef SM_ENTRY_H
#define SM_ENTRY_H

#include <lua.h>

/* In place, on the table at idx: top-level JSON nulls become absent fields,
 * and status / duration_ms become Lua integers when they are integral
 * (Debian's lua-cjson 2.1.0 decodes 253 as the float 253.0). */
void sm_normalize_entry(lua_State *L, int idx);

/* The same; may_have_nulls = 0 skips the search for nulls (the caller saw
 * no "null" in the JSON text). */
void sm_normalize_entry_hint(lua_State *L, int idx, int may_have_nulls);

/* Lua: normalize_entry(t) -> t */
int sm_lua_normalize_entry(lua_State *L);

#endif
