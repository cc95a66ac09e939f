/*
 * fuzz_page: the page decoder (json_page.c: its first pass over the text in
 * lua-cjson's grammar, then flat items built by json_entry.c, or the "logs"
 * array decoded by cjson when an item needs it) against an oracle made of
 * lua-cjson's table of the whole text (the module's settings), entry.c's
 * shaping, and a walk of the text for what cjson's table cannot tell (an
 * array from an object, how many names decode to "id").
 *
 * Input: one byte whose low two bits pick the page's limit (0: none, so
 * the API's 1000; else 1..3), then the body's bytes.
 *
 * Invariants:
 * - the decoder's verdict is the oracle's, in the same words: a text cjson
 *   refuses (or with a NUL, or not an object) is not a JSON object; with no
 *   top-level "logs" (the last of such names counts) or a scalar one, an
 *   entry where a page was asked for when there is a top-level "id" (out of
 *   step), else no "logs" array; an object "logs" is not an array; more
 *   items than the limit is an answer out of step; the first item that is
 *   not an object, or has two names that decode to "id", is named; else
 *   the page is an array of exactly cjson's items, each shaped: the same
 *   keys, each value of the same type (integer and float told apart),
 *   numbers of the same bits, strings of the same bytes; nothing is pushed
 *   but the array or the words;
 * - a text that sm_json_entry takes (with at most one id), wrapped as
 *   {"logs":[X]} and {"logs":[X,X]}, is taken (the second only within the
 *   limit) and gives that entry;
 * - reading by entering containers (sm_json_enter / sm_json_item /
 *   sm_json_key) takes exactly what reading by skipping them
 *   (sm_json_next) takes, in both grammars, nesting limit included, every
 *   span inside the text; nothing is read past the text (ASan, exact-size
 *   copies).
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

static int walker_accepts(const char *text, size_t len, int mode)
{
    sm_json_scan s;
    return sm_json_open_as(&s, text, len, mode) == 0 &&
           walk(&s, 0, text, len) == 0;
}

static int skipper_accepts(const char *text, size_t len, int mode)
{
    sm_json_scan s;
    sm_json_member m;
    int r;
    if (sm_json_open_as(&s, text, len, mode) != 0)
        return 0;
    while ((r = sm_json_next(&s, &m)) == 1) {
        check_span(&m.key, text, len);
        check_span(&m.value, text, len);
    }
    return r == 0;
}

/* Whether key span k, decoded by cjson, is name. */
static int cjson_key_is(lua_State *L, const sm_json_span *k, const char *name)
{
    int top = lua_gettop(L), is;
    lua_getfield(L, LUA_REGISTRYINDEX, "sm_fuzz_decode");
    lua_pushliteral(L, "[\"");
    lua_pushlstring(L, k->p, k->len);
    lua_pushliteral(L, "\"]");
    lua_concat(L, 3);
    FUZZ_ASSERT(lua_pcall(L, 1, 1, 0) == 0);
    FUZZ_ASSERT(lua_type(L, -1) == LUA_TTABLE);
    lua_rawgeti(L, -1, 1);
    if (lua_type(L, -1) == LUA_TSTRING) {
        size_t n;
        const char *s = lua_tolstring(L, -1, &n);
        is = n == strlen(name) && memcmp(s, name, n) == 0;
    } else {
        is = 0;
    }
    lua_settop(L, top);
    return is;
}

/* How many of the members of the object s is at have names that decode to
 * "id" (s goes past it). */
static int ids_of(lua_State *L, sm_json_scan *s)
{
    sm_json_scan item;
    sm_json_span key, v;
    sm_json_kind kind;
    int ids = 0, r;
    FUZZ_ASSERT(sm_json_enter(s, &item) == 0);
    while ((r = sm_json_key(&item, &key)) == 1) {
        FUZZ_ASSERT(sm_json_value(&item, &v, &kind) == 0);
        ids += cjson_key_is(L, &key, "id");
    }
    FUZZ_ASSERT(r == 0);
    sm_json_leave(s, &item);
    return ids;
}

/* What the oracle says of text in cjson's grammar (cjson took it: its
 * table at t): pushes the expected array and returns NULL, or returns the
 * expected words (fixed, or pushed) with *out_of_step. */
static const char *oracle(lua_State *L, const char *text, size_t len, int t,
                          int max, int *out_of_step)
{
    sm_json_scan page, logs;
    sm_json_span key, v, id;
    sm_json_kind kind, id_kind = SM_JSON_NULL;
    const char *logs_at = NULL;
    sm_json_kind logs_kind = SM_JSON_NULL;
    int has_id = 0, r;
    size_t n = 0, bad = 0, i;
    int bad_ids = 0;
    *out_of_step = 0;
    FUZZ_ASSERT(sm_json_open_as(&page, text, len, SM_JSON_CJSON) == 0);
    while ((r = sm_json_key(&page, &key)) == 1) {
        const char *at = page.p;
        FUZZ_ASSERT(sm_json_value(&page, &v, &kind) == 0);
        if (cjson_key_is(L, &key, "logs")) {
            logs_at = at;
            logs_kind = kind;
        } else if (cjson_key_is(L, &key, "id")) {
            has_id = 1;
            id = v;
            id_kind = kind;
        }
    }
    FUZZ_ASSERT(r == 0);
    if (logs_at == NULL || (logs_kind != SM_JSON_ARRAY &&
                            logs_kind != SM_JSON_OBJECT)) {
        if (!has_id)
            return "the response has no \"logs\" array";
        *out_of_step = 1;
        return sm_page_got_entry(L, &id, id_kind, NULL);
    }
    if (logs_kind == SM_JSON_OBJECT)
        return "\"logs\" is not an array";
    page.p = logs_at;
    FUZZ_ASSERT(sm_json_enter(&page, &logs) == 0);
    while ((r = sm_json_item(&logs)) == 1) {
        /* Past the limit the verdict is the limit's, whatever follows. */
        if (++n <= (size_t)max && bad == 0 &&
            sm_json_peek(&logs) == SM_JSON_OBJECT) {
            if (ids_of(L, &logs) > 1) {
                bad = n;
                bad_ids = 1;
            }
            continue;
        }
        if (n <= (size_t)max && bad == 0)
            bad = n; /* not an object */
        FUZZ_ASSERT(sm_json_value(&logs, &v, &kind) == 0);
    }
    FUZZ_ASSERT(r == 0);
    if (n > (size_t)max) {
        *out_of_step = 1;
        return sm_page_too_long(L, max, n);
    }
    if (bad != 0)
        return lua_pushfstring(L,
                               bad_ids ? "\"logs\" item %d has more than one "
                                         "\"id\" member (names must be "
                                         "unique)"
                                       : "\"logs\" item %d is not an object",
                               (int)bad);
    /* cjson's items, shaped, in a new array. */
    lua_getfield(L, t, "logs");
    FUZZ_ASSERT(lua_type(L, -1) == LUA_TTABLE);
    FUZZ_ASSERT(sm_rawlen(L, -1) == n);
    lua_createtable(L, (int)n, 0);
    for (i = 1; i <= n; i++) {
        lua_rawgeti(L, -2, (int)i);
        FUZZ_ASSERT(lua_type(L, -1) == LUA_TTABLE);
        sm_shape_entry(L, -1, 1);
        lua_rawseti(L, -2, (int)i);
    }
    lua_remove(L, -2);
    return NULL;
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

/* sm_json_page on text, with the decode function at decode (absolute). */
static int page_of(lua_State *L, const char *text, size_t len, int max,
                   int decode, sm_refusal *r)
{
    sm_json_decoder d;
    d.decode_idx = decode;
    d.ints = SM_JSON_INTS_FLOAT;
    d.cap = 64ULL << 20;
    d.credential = NULL;
    return sm_json_page(L, text, len, max, &d, r);
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
                          size_t size, int max, int decode)
{
    int copies, i, top = lua_gettop(L);
    for (copies = 1; copies <= 2; copies++) {
        size_t len;
        sm_refusal r;
        char *page = wrapped(text, size, copies, &len);
        int fast = page_of(L, page, len, max, decode, &r);
        free(page);
        FUZZ_ASSERT(fast == (copies <= max));
        FUZZ_ASSERT(lua_gettop(L) == top + 1);
        if (!fast) {
            FUZZ_ASSERT(r.out_of_step);
            lua_settop(L, top);
            continue;
        }
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

/* Whether the entry text has at most one top-level "id". */
static int one_id_at_most(lua_State *L, const char *text, size_t size)
{
    sm_json_scan s;
    sm_json_member m;
    int ids = 0;
    FUZZ_ASSERT(sm_json_open(&s, text, size) == 0);
    while (sm_json_next(&s, &m) == 1)
        ids += cjson_key_is(L, &m.key, "id");
    return ids <= 1;
}

static int one_input(const uint8_t *data, size_t size)
{
    static const int limits[] = {0, 1, 2, 3};
    lua_State *L = fuzz_state();
    sm_expect e = {NULL, 0, 0};
    sm_refusal r;
    char *text;
    int got, max, decoded, cjson_scanned, oos, decode = 1, t;
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
    lua_getfield(L, LUA_REGISTRYINDEX, "sm_fuzz_decode");

    FUZZ_ASSERT(walker_accepts(text, size, SM_JSON_STRICT) ==
                skipper_accepts(text, size, SM_JSON_STRICT));
    cjson_scanned = skipper_accepts(text, size, SM_JSON_CJSON);
    FUZZ_ASSERT(walker_accepts(text, size, SM_JSON_CJSON) == cjson_scanned);

    lua_pushvalue(L, decode);
    lua_pushlstring(L, text, size);
    FUZZ_ASSERT(lua_pcall(L, 1, 1, 0) == 0);
    decoded = lua_type(L, -1) == LUA_TTABLE && cjson_scanned;
    t = lua_gettop(L);

    got = page_of(L, text, size, max, decode, &r);
    FUZZ_ASSERT(lua_gettop(L) == t + got || lua_gettop(L) == t + 1);
    if (!decoded) {
        FUZZ_ASSERT(!got);
        FUZZ_ASSERT(!r.out_of_step && !r.too_large);
        FUZZ_ASSERT(strcmp(r.why, size == 0 ? "the response body is empty"
                                            : "the response body is not a "
                                              "JSON object") == 0);
    } else {
        int top = lua_gettop(L);
        const char *want = oracle(L, text, size, t, max, &oos);
        if (want == NULL) {
            if (!got) {
                fprintf(stderr, "refused: %s\n", r.why);
                FUZZ_ASSERT(!"the decoder takes what the oracle takes");
            }
            FUZZ_ASSERT(lua_type(L, t + 1) == LUA_TTABLE);
            check_same_array(L, t + 1, top + 1);
            check_same_array(L, top + 1, t + 1);
        } else {
            if (got || strcmp(want, r.why) != 0) {
                fprintf(stderr, "oracle: %s\ndecoder: %s\n", want,
                        got ? "a page" : r.why);
                FUZZ_ASSERT(!"the decoder refuses as the oracle does");
            }
            FUZZ_ASSERT(r.out_of_step == oos && !r.too_large);
        }
    }

    lua_settop(L, decode);
    if (sm_json_entry(L, text, size, SM_JSON_INTS_FLOAT) &&
        one_id_at_most(L, text, size))
        check_wrapped(L, decode + 1, text, size, max, decode);
    free(text);
    return 0;
}

FUZZ_LUA_ENTRY(one_input)
