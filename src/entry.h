/*
 * entry.h: shapes a decoded 2xx body into what the contract promises: one
 * LogEntry, or the array of a page's entries.
 */
#ifndef SM_ENTRY_H
#define SM_ENTRY_H

#include <lua.h>

/* How a route's 2xx body is shaped. */
enum {
    SM_SHAPE_NONE,  /* the decoded object as it is */
    SM_SHAPE_ENTRY, /* one LogEntry, in place */
    SM_SHAPE_PAGE   /* {"logs": [...]} becomes the array of its entries */
};

/* In place, on the table at idx: top-level JSON nulls become absent fields,
 * and status / duration_ms become Lua integers when they are integral
 * (Debian's lua-cjson 2.1.0 decodes 253 as the float 253.0).
 * may_have_nulls = 0 skips the search for nulls (the caller saw no "null"
 * in the JSON text). */
void sm_shape_entry(lua_State *L, int idx, int may_have_nulls);

/* Replaces the list body on top of the stack by a new array of its
 * entries, each shaped, and returns NULL; or leaves the body and returns
 * what is wrong with it (a fixed text, or one pushed above the body). */
const char *sm_shape_page(lua_State *L, int may_have_nulls);

#endif
