/*
 * json_page.c: a page's array of entries straight from its JSON text
 * (json_page.h). lua-cjson builds the body's table, the "logs" array one
 * lua_rawseti at a time and each entry one lua_rawset at a time; then the
 * page check walks "logs" and shaping walks it again, copies it into a new
 * array and walks every entry for nulls and floats. This reads the text
 * once and builds each entry at its size, in its final form.
 */
#include "json_page.h"

#include <string.h>

#include "json_entry.h"
#include "json_scan.h"

/* Whether cjson takes every escape in v, a value this path reads but does
 * not build: it refuses a whole body for one lone UTF-16 surrogate
 * anywhere, which the scanner lets through. In text the scanner took, each
 * backslash starts an escape inside a string. */
static int escapes_ok(const sm_json_span *v, sm_json_kind kind)
{
    const char *p = v->p, *end = v->p + v->len;
    if (kind == SM_JSON_STRING && !v->escaped)
        return 1;
    while ((p = memchr(p, '\\', (size_t)(end - p))) != NULL) {
        char out[4];
        if (p[1] != 'u')
            p += 2;
        else if (sm_json_escape(p, end, out, &p) == 0)
            return 0;
    }
    return 1;
}

/* The scan is at the "logs" array: pushes the array of its entries and
 * returns 1, or returns 0 (what was pushed is the caller's to drop). */
static int push_logs(lua_State *L, sm_json_scan *page, int ints, int max)
{
    sm_json_scan logs, item;
    sm_json_keys keys;
    int n = 0, r, t;
    if (sm_json_enter(page, &logs) != 0)
        return 0;
    /* Grown as it fills: a short page is not given max slots, and the
     * doublings cost little beside the entries. */
    lua_newtable(L);
    t = lua_gettop(L);
    lua_createtable(L, SM_JSON_KEYS, 0);
    keys.idx = t + 1;
    keys.n = 0;
    while ((r = sm_json_item(&logs)) == 1) {
        /* More than max: the page check's error, which cjson's path says. */
        if (n == max || sm_json_peek(&logs) != SM_JSON_OBJECT ||
            sm_json_enter(&logs, &item) != 0 ||
            !sm_json_entry_at(L, &item, ints, &keys))
            return 0;
        sm_json_leave(&logs, &item);
        lua_rawseti(L, t, ++n);
    }
    if (r != 0)
        return 0;
    lua_pop(L, 1);
    sm_json_leave(page, &logs);
    return 1;
}

int sm_json_page(lua_State *L, const char *text, size_t len, int ints,
                 int max)
{
    sm_json_scan page;
    sm_json_span key, v;
    sm_json_kind kind;
    int base = lua_gettop(L), have = 0, r;
    /* The array and its entries' keys; an entry checks for what it needs. */
    if (sm_json_open(&page, text, len) != 0 || !lua_checkstack(L, 3))
        return 0;
    while ((r = sm_json_key(&page, &key)) == 1) {
        /* An escaped key might spell "logs". */
        int logs = key.len == 4 && memcmp(key.p, "logs", 4) == 0;
        if (key.escaped || (logs && sm_json_peek(&page) != SM_JSON_ARRAY))
            break;
        if (logs) {
            /* Of duplicate keys the last wins, in cjson as here. */
            lua_settop(L, base);
            have = push_logs(L, &page, ints, max);
            if (!have)
                break;
        } else if (sm_json_value(&page, &v, &kind) != 0 ||
                   !escapes_ok(&v, kind)) {
            break;
        }
    }
    if (r == 0 && have)
        return 1;
    lua_settop(L, base);
    return 0;
}
