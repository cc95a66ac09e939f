/*
 * json_entry.h: the fast path of a LogEntry: its table built straight from
 * the JSON text, already shaped (entry.h), when the entry is the flat
 * object the API sends; otherwise it declines and the caller decodes with
 * lua-cjson and shapes as before, so what a caller gets never changes.
 */
#ifndef SM_JSON_ENTRY_H
#define SM_JSON_ENTRY_H

#include <lua.h>

#include <stddef.h>

#include "json_scan.h"

/* How the decode function (lua-cjson) gives a number without fraction or
 * exponent on Lua 5.3+: Debian's 2.1.0 as a float, the OpenResty fork as
 * an integer. Unknown: such numbers are left to lua-cjson. */
enum {
    SM_JSON_INTS_UNKNOWN = 0,
    SM_JSON_INTS_FLOAT,
    SM_JSON_INTS_INTEGER
};

/* Which of those the decode function at idx is (one decode of "[1]"). */
int sm_json_ints_of(lua_State *L, int idx);

/* Pushes the entry in text[0..len) and returns 1 when it is one object
 * whose values are all strings, numbers, true, false or null, and lua-cjson
 * followed by sm_shape_entry would give exactly that table: top-level nulls
 * absent, status and duration_ms integers when integral, other numbers as
 * cjson gives them (ints says how), escapes decoded as cjson does, the last
 * of duplicate keys winning. Returns 0 with nothing pushed for anything
 * else (nested values, a "logs" member, numbers with an exponent or over
 * 15 digits, -0, escapes cjson refuses, text that is not strict JSON). */
int sm_json_entry(lua_State *L, const char *text, size_t len, int ints);

/* A page's entries have the same keys in the same order: the strings of
 * the keys last pushed, by position, in the table at stack index idx (the
 * caller's), with their text as sent. */
#define SM_JSON_KEYS 16
typedef struct sm_json_keys {
    int idx;
    int n;
    sm_json_span raw[SM_JSON_KEYS];
} sm_json_keys;

/* The same for the object s reads (opened, or entered: a page's item),
 * taking its keys from keys where they are the same (NULL: none kept).
 * On 1 the scan is past the object; on 0 it is left anywhere inside. */
int sm_json_entry_at(lua_State *L, sm_json_scan *s, int ints,
                     sm_json_keys *keys);

#endif
