/*
 * fuzz_page: the fast page decoder (json_page.c, each item through
 * json_entry.c, over json_scan.c's enter / item / key reads) against its
 * oracle, what a caller got before it and gets whenever it declines:
 * lua-cjson with the module's settings, sm_check_answer for a page, then
 * sm_shape_page.
 *
 * Input: one byte whose low two bits pick the page's limit (0: none, so
 * the API's 1000; else 1..3), then the body's bytes.
 *
 * Invariants:
 * - whenever the fast decoder gives an array, the oracle takes the same
 *   text and gives an array of the same length, item by item the same
 *   tables: the same keys, each value of the same type (integer and float
 *   told apart), numbers of the same bits, strings of the same bytes; no
 *   more items than the limit; nothing pushed when it declines;
 * - its verdict agrees with the entry decoder's: each item it built is
 *   what sm_json_entry gives for that item's text alone, and a text that
 *   sm_json_entry takes, wrapped as {"logs":[X]} and {"logs":[X,X]}, is
 *   taken (the second only within the limit) and gives that entry;
 * - reading by entering containers (sm_json_enter / sm_json_item /
 *   sm_json_key) takes exactly what reading by skipping them
 *   (sm_json_next) takes, nesting limit included, every span inside the
 *   text; nothing is read past the text (ASan, exact-size copies).
 */
#include "harness.h"

#include "entry.h"
#include "json_check.h"
#include "json_entry.h"
#include "json_page.h"

/* The spans s reads lie inside text[0..len). */
static void check_span(const sm_json_span *v, const char *text, size_t len)
{
    FUZZ_ASSERT(v->p >= text && v->p + v->len <= text + len);
}

/* Reads the object or array s has entered to its end, entering nested
 * ones or skipping them (as the byte's offset says, so both ways meet
 * every level): returns 0, or -1 on bad text. */
static int walk(sm_json_scan *s, int array, const char *text, size_t len)
{
    for (;;) {
        sm_json_span key, v;
        sm_json_kind kind;
        int r = array ? sm_json_item(s) : sm_json_key(s, &key);
        if (r != 1)
            return r;
        if (!array)
            check_span(&key, text, len);
        FUZZ_ASSERT(s->p >= text && s->p < text + len);
        kind = sm_json_peek(s);
        if ((kind == SM_JSON_OBJECT || kind == SM_JSON_ARRAY) &&
            (s->p - text) % 2 == 0) {
            sm_json_scan child;
            if (sm_json_enter(s, &child) != 0 ||
                walk(&child, kind == SM_JSON_ARRAY, text, len) != 0)
                return -1;
            sm_json_leave(s, &child);
        } else if (sm_json_value(s, &v, &kind) != 0) {
            return -1;
        } else {
            check_span(&v, text, len);
        }
    }
}

static int walker_accepts(const char *text, size_t len)
{
    sm_json_scan s;
    return sm_json_open(&s, text, len) == 0 && walk(&s, 0, text, len) == 0;
}

/* The path before json_page.c (outcome.c): pushes the shaped array and
 * returns 1, or returns 0 with nothing pushed. */
static int oracle_page(lua_State *L, const char *text, size_t len,
                       const sm_expect *e)
{
    int base = lua_gettop(L);
    lua_getfield(L, LUA_REGISTRYINDEX, "sm_fuzz_decode");
    lua_pushlstring(L, text, len);
    FUZZ_ASSERT(lua_pcall(L, 1, 1, 0) == 0);
    if (lua_type(L, -1) == LUA_TTABLE && sm_check_answer(L, -1, e, NULL) == NULL &&
        sm_shape_page(L, 1) == NULL) {
        FUZZ_ASSERT(lua_gettop(L) == base + 1);
        return 1;
    }
    lua_settop(L, base);
    return 0;
}

/* The arrays at a and b hold the same entries, nothing else. */
static void check_same_array(lua_State *L, int a, int b)
{
    size_t n = sm_rawlen(L, a), i, keys = 0;
    FUZZ_ASSERT(sm_rawlen(L, b) == n);
    FUZZ_ASSERT(!lua_getmetatable(L, a));
    lua_pushnil(L);
    while (lua_next(L, a)) {
        keys++;
        lua_pop(L, 1);
    }
    FUZZ_ASSERT(keys == n);
    for (i = 1; i <= n; i++) {
        int top = lua_gettop(L);
        lua_rawgeti(L, a, (int)i);
        lua_rawgeti(L, b, (int)i);
        FUZZ_ASSERT(lua_type(L, top + 1) == LUA_TTABLE &&
                    lua_type(L, top + 2) == LUA_TTABLE);
        FUZZ_ASSERT(!lua_getmetatable(L, top + 1));
        fuzz_check_within(L, top + 1, top + 2);
        fuzz_check_within(L, top + 2, top + 1);
        lua_settop(L, top);
    }
}

/* Each item of the page built at t is what sm_json_entry gives for its
 * text alone: the items of the last "logs" array, found by the scanner. */
static void check_items(lua_State *L, int t, const char *text, size_t len)
{
    sm_json_scan page, logs;
    sm_json_span key, v;
    sm_json_kind kind;
    const char *at = NULL;
    int i = 0;
    FUZZ_ASSERT(sm_json_open(&page, text, len) == 0);
    while (sm_json_key(&page, &key) == 1) {
        if (key.len == 4 && memcmp(key.p, "logs", 4) == 0)
            at = page.p;
        FUZZ_ASSERT(sm_json_value(&page, &v, &kind) == 0);
    }
    FUZZ_ASSERT(at != NULL);
    page.p = at;
    FUZZ_ASSERT(sm_json_enter(&page, &logs) == 0);
    while (sm_json_item(&logs) == 1) {
        int top = lua_gettop(L);
        FUZZ_ASSERT(sm_json_value(&logs, &v, &kind) == 0);
        FUZZ_ASSERT(sm_json_entry(L, v.p, v.len, SM_JSON_INTS_FLOAT));
        lua_rawgeti(L, t, ++i);
        fuzz_check_within(L, top + 1, top + 2);
        fuzz_check_within(L, top + 2, top + 1);
        lua_settop(L, top);
    }
    FUZZ_ASSERT((size_t)i == sm_rawlen(L, t));
}

/* {"logs":[X]} or {"logs":[X,X]} for text X, copies times, exactly its
 * size. */
static char *wrapped(const char *text, size_t size, int copies, size_t *len)
{
    static const char head[] = "{\"logs\":[", tail[] = "]}";
    size_t h = sizeof head - 1, n = h + (size_t)copies * (size + 1) + 1;
    char *s = malloc(n), *p = s;
    int i;
    FUZZ_ASSERT(s != NULL);
    memcpy(p, head, h);
    p += h;
    for (i = 0; i < copies; i++) {
        if (i > 0)
            *p++ = ',';
        if (size > 0)
            memcpy(p, text, size);
        p += size;
    }
    memcpy(p, tail, 2);
    *len = (size_t)(p + 2 - s);
    FUZZ_ASSERT(*len == n);
    return s;
}

/* text, which sm_json_entry takes (its table at entry), as the only item
 * of a page and as both items of one: taken, within the limit, each item
 * that entry. */
static void check_wrapped(lua_State *L, int entry, const char *text,
                          size_t size, int max)
{
    int copies, i, top = lua_gettop(L);
    for (copies = 1; copies <= 2; copies++) {
        size_t len;
        char *page = wrapped(text, size, copies, &len);
        int fast = sm_json_page(L, page, len, SM_JSON_INTS_FLOAT, max);
        free(page);
        FUZZ_ASSERT(fast == (copies <= max));
        FUZZ_ASSERT(lua_gettop(L) == top + fast);
        if (!fast)
            continue;
        FUZZ_ASSERT(sm_rawlen(L, top + 1) == (size_t)copies);
        for (i = 1; i <= copies; i++) {
            lua_rawgeti(L, top + 1, i);
            fuzz_check_within(L, top + 2, entry);
            fuzz_check_within(L, entry, top + 2);
            lua_pop(L, 1);
        }
        lua_settop(L, top);
    }
}

static int one_input(const uint8_t *data, size_t size)
{
    static const int limits[] = {0, 1, 2, 3};
    lua_State *L = fuzz_state();
    sm_expect e = {NULL, 0, 0};
    char *text;
    int fast, max, scanned;
    if (size == 0)
        return 0;
    e.limit = limits[data[0] & 3];
    max = sm_page_max(&e);
    data++;
    size--;
    /* An exact-size copy: a read past the end is ASan's to catch. */
    text = malloc(size > 0 ? size : 1);
    FUZZ_ASSERT(text != NULL);
    if (size > 0)
        memcpy(text, data, size);
    lua_settop(L, 0);

    scanned = fuzz_scanner_accepts(text, size);
    FUZZ_ASSERT(walker_accepts(text, size) == scanned);

    fast = sm_json_page(L, text, size, SM_JSON_INTS_FLOAT, max);
    FUZZ_ASSERT(lua_gettop(L) == fast);
    if (fast) {
        FUZZ_ASSERT(scanned);
        FUZZ_ASSERT(lua_type(L, 1) == LUA_TTABLE);
        FUZZ_ASSERT(sm_rawlen(L, 1) <= (size_t)max);
        if (!oracle_page(L, text, size, &e)) {
            fprintf(stderr, "cjson's path refuses a page the fast one took\n");
            FUZZ_ASSERT(!"cjson's path takes what the fast one takes");
        }
        check_same_array(L, 1, 2);
        check_same_array(L, 2, 1);
        check_items(L, 1, text, size);
    }

    lua_settop(L, 0);
    if (sm_json_entry(L, text, size, SM_JSON_INTS_FLOAT))
        check_wrapped(L, 1, text, size, max);
    free(text);
    return 0;
}

FUZZ_LUA_ENTRY(one_input)
