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
    SM_SHAPE_PAGE,  /* {"logs": [...]} becomes the array of its entries */
    SM_SHAPE_RAW    /* one LogEntry's JSON text as sent, checked, never
                     * decoded (json_raw.h) */
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

/* Whether a decoded 2xx body answers the request it came for. A server (or
 * a proxy) that wrote one response too many on a kept-alive connection
 * leaves it out of step: each later request there reads the answer to an
 * earlier one. What tells: an entry whose id is not the log id asked for
 * (compared as the API sends it: 123 matches "123"), a page where an entry
 * was asked for or an entry where a page was, a page with more entries
 * than its limit (or than 1000 without one). An entry without an id (every
 * field is optional) cannot tell and is taken. */
typedef struct sm_expect {
    const char *id; /* the log id asked for; NULL for a page */
    size_t id_len;
    int limit;      /* a page's limit; 0: none given */
} sm_expect;

/* The most entries a page answering e may hold: its limit, else the
 * API's largest page. */
int sm_page_max(const sm_expect *e);

/* Checks the body at idx (decoded, not yet shaped) against e. Returns NULL
 * when it answers, else pushes and returns a message naming what was asked
 * and what came (server text capped, control characters and the credential
 * replaced). */
const char *sm_check_answer(lua_State *L, int idx, const sm_expect *e,
                            const char *credential);

#endif
