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

#include "entry.h"
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

/* What decoding with lua-cjson, where this module does not build a body
 * itself, takes. */
typedef struct sm_json_decoder {
    int decode_idx;         /* stack index of its decode function */
    int ints;               /* how it gives integral numbers */
    unsigned long long cap; /* the most decoding with it may take, as
                             * json_scan.h's SM_JSON_COST_* estimate it */
    const char *credential; /* to keep out of messages, or NULL */
} sm_json_decoder;

/* Why a 2xx body is refused. */
typedef struct sm_refusal {
    const char *why; /* a fixed text, or one pushed */
    int out_of_step; /* the body answers another request */
    int too_large;   /* decoding it would take more than the cap */
} sm_refusal;

/* Pushes the string of span s (read by json_scan.c), escapes decoded as
 * lua-cjson decodes them; returns 0 on an escape cjson refuses (what was
 * pushed is the caller's to drop). */
int sm_json_push_string(lua_State *L, const sm_json_span *s);

/* More members than this: an entry is not built here (the API's has about
 * 7), so the members read fit on the C stack. */
#define SM_ENTRY_FAST_MEMBERS 64

/* A page's entries have the same keys in the same order: the strings of
 * the keys last pushed, by position, in the table at stack index idx (the
 * caller's), with their text as sent. */
#define SM_JSON_KEYS 16
typedef struct sm_json_keys {
    int idx;
    int n;
    sm_json_span raw[SM_JSON_KEYS];
} sm_json_keys;

/* Reads the members of the object s is in (opened, or entered: a page's
 * item) into m, at most max, noting in f (when not NULL) what tells which
 * request it answers. When the object is flat (every value a string,
 * number, true, false or null) and in s's grammar, returns how many
 * members it has, *kept of them not null, the scan past the object. For a
 * nested value or more than max - 1 members, returns -2 - k: m[0..k] were
 * read (the last one stopped it, not noted in f), the scan past m[k]; for
 * bad text, -1, the scan left anywhere inside. */
int sm_json_entry_scan(sm_json_scan *s, sm_json_member *m, int max,
                       sm_entry_facts *f, int *kept);

/* Pushes the table of the n members m (kept of them not null) that
 * sm_json_entry_scan read, shaped, and returns 1 when lua-cjson followed
 * by sm_shape_entry would give exactly that table: top-level nulls absent,
 * status and duration_ms integers when integral, other numbers as cjson
 * gives them (ints says how), escapes decoded as cjson does, the last of
 * duplicate keys winning. Returns 0 with nothing pushed when it cannot be
 * sure (numbers with an exponent or over 15 digits, -0, escapes cjson
 * refuses, ints unknown): cjson decodes that one. Takes key strings from
 * keys where they are the same (NULL: none kept). Needs 6 free stack
 * slots (the table, a key, a value and a string buffer's box at most). */
int sm_json_entry_build(lua_State *L, const sm_json_member *m, int n,
                        int kept, int ints, sm_json_keys *keys);

/* Both on text[0..len) in RFC 8259's grammar, with no answer checked:
 * pushes the entry and returns 1, or returns 0 with nothing pushed. */
int sm_json_entry(lua_State *L, const char *text, size_t len, int ints);

#endif
