/*
 * entry.h: what the contract promises of a 2xx body: the request it
 * answers (told from the body's text: which entry, a page or an entry)
 * and the shape it is given, one LogEntry or the array of a page's.
 */
#ifndef SM_ENTRY_H
#define SM_ENTRY_H

#include <lua.h>

#include "json_scan.h"

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
 * may_have_nulls = 0 skips the search for nulls (the caller saw no null
 * member). */
void sm_shape_entry(lua_State *L, int idx, int may_have_nulls);

/* What a 2xx body must answer. A server (or a proxy) that wrote one
 * response too many on a kept-alive connection leaves it out of step: each
 * later request there reads the answer to an earlier one. What tells: an
 * entry whose id is not the log id asked for, a page where an entry was
 * asked for or an entry where a page was, a page with more entries than
 * its limit (or than 1000 without one). An entry without an id (every
 * field is optional) cannot tell and is taken. */
typedef struct sm_expect {
    const char *id; /* the log id asked for; NULL for a page */
    size_t id_len;
    int limit;      /* a page's limit; 0: none given */
} sm_expect;

/* The most entries a page answering e may hold: its limit, else the
 * API's largest page. */
int sm_page_max(const sm_expect *e);

/* What an entry object's text says about the request it answers, noted
 * member by member as a scan reads its top level: its "id" members (names
 * escaped or not) and the last one's value, and whether it has a "logs"
 * member. */
typedef struct sm_entry_facts {
    int ids;              /* "id" members */
    int logs;             /* a "logs" member */
    sm_json_kind id_kind; /* the last id's value */
    sm_json_span id;
} sm_entry_facts;

void sm_entry_note_escaped(sm_entry_facts *f, const sm_json_span *key,
                           sm_json_kind kind, const sm_json_span *value);

/* Notes the member of key and value in f. */
static inline void sm_entry_note(sm_entry_facts *f, const sm_json_span *key,
                                 sm_json_kind kind, const sm_json_span *value)
{
    if (key->escaped) {
        sm_entry_note_escaped(f, key, kind, value);
    } else if (key->len == 2) {
        if (key->p[0] == 'i' && key->p[1] == 'd') {
            f->ids++;
            f->id_kind = kind;
            f->id = *value;
        }
    } else if (key->len == 4 && key->p[0] == 'l' && key->p[1] == 'o' &&
               key->p[2] == 'g' && key->p[3] == 's') {
        f->logs = 1;
    }
}

/* Whether the entry with facts f answers e (names are unique: two "id"
 * members answer nothing, RFC 7493). The id is compared as the text the
 * server sent: a string's text, escapes decoded, byte for byte the log id;
 * a number only when written as an integer (digits, maybe a '-', no
 * fraction or exponent) whose digits are the log id. Returns NULL when it
 * answers (or has no id to tell by); else pushes and returns why, setting
 * *out_of_step when it is another request's answer: a message naming what
 * was asked and what came (server text capped, control characters and the
 * credential replaced). e->id NULL: only the names are checked. */
const char *sm_check_entry(lua_State *L, const sm_entry_facts *f,
                           const sm_expect *e, const char *credential,
                           int *out_of_step);

/* Pushes and returns the words for a page's request answered with an
 * entry whose top-level "id" is id (of kind): an answer out of step. */
const char *sm_page_got_entry(lua_State *L, const sm_json_span *id,
                              sm_json_kind kind, const char *credential);

/* Pushes and returns the words for a page of n entries where at most max
 * were asked for: an answer out of step. */
const char *sm_page_too_long(lua_State *L, int max, size_t n);

#endif
