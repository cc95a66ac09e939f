/*
 * fuzz_entry: the fast entry decoder (json_entry.c over json_scan.c)
 * against its oracle, lua-cjson with the module's settings followed by
 * entry.c's shaping, which is what a caller got before it and gets
 * whenever it declines.
 *
 * Input: the body's bytes.
 *
 * Invariants: whenever the fast decoder gives a table, cjson decodes the
 * same text to a table which, shaped, is equal to it: the same keys, each
 * value of the same type (integer and float told apart), numbers of the
 * same bits (NaN-safe, -0 kept apart), strings of the same bytes. The
 * scanner alone accepts only what cjson accepts too (but for a \u escape
 * of a UTF-16 surrogate, which cjson may refuse), and it never reads past
 * the text (ASan, on an exact-size copy). Where both take the text, the
 * pass-through check (json_raw.c) passes or refuses it as sm_check_answer
 * does cjson's table for log id "123", in the same words.
 */
#include "harness.h"

#include <math.h>

#include "compat.h"
#include "entry.h"
#include "json_entry.h"
#include "json_raw.h"
#include "json_scan.h"

/* The values at a and b are the same. */
static int same_value(lua_State *L, int a, int b)
{
    if (lua_type(L, a) != lua_type(L, b))
        return 0;
    switch (lua_type(L, a)) {
    case LUA_TNUMBER: {
        lua_Number x = lua_tonumber(L, a), y = lua_tonumber(L, b);
        if (lua_isinteger(L, a) != lua_isinteger(L, b))
            return 0;
        if (lua_isinteger(L, a))
            return lua_tointeger(L, a) == lua_tointeger(L, b);
        if (isnan(x) || isnan(y))
            return isnan(x) && isnan(y);
        return x == y && signbit(x) == signbit(y);
    }
    case LUA_TSTRING: {
        size_t n, m;
        const char *s = lua_tolstring(L, a, &n), *t = lua_tolstring(L, b, &m);
        return n == m && memcmp(s, t, n) == 0;
    }
    case LUA_TBOOLEAN:
        return lua_toboolean(L, a) == lua_toboolean(L, b);
    default:
        return 0; /* the fast decoder gives no other type */
    }
}

/* Every field of the table at a is in the table at b, the same. */
static void check_within(lua_State *L, int a, int b)
{
    lua_pushnil(L);
    while (lua_next(L, a)) {
        lua_pushvalue(L, -2);
        lua_rawget(L, b);
        if (!same_value(L, -1, -2)) {
            fprintf(stderr, "field %s differs\n", lua_tostring(L, -3));
            FUZZ_ASSERT(!"the same table as cjson's, shaped");
        }
        lua_pop(L, 2);
    }
}

/* Whether the scanner takes text as one JSON object. */
static int scanner_accepts(const char *text, size_t len)
{
    sm_json_scan s;
    sm_json_member m;
    int r;
    if (sm_json_open(&s, text, len) != 0)
        return 0;
    while ((r = sm_json_next(&s, &m)) == 1)
        FUZZ_ASSERT(m.key.p >= text && m.key.p + m.key.len <= text + len &&
                    m.value.p >= text && m.value.p + m.value.len <= text + len);
    return r == 0;
}

/* get_connector_log_json's check (json_raw.c) says what sm_check_answer
 * says of cjson's table at t, in the same words. */
static void check_raw(lua_State *L, const char *text, size_t size, int t)
{
    static const sm_expect e = {"123", 3, 0};
    int top = lua_gettop(L), out_of_step;
    const char *table_says, *raw_says;
    lua_getfield(L, LUA_REGISTRYINDEX, "sm_fuzz_decode");
    table_says = sm_check_answer(L, t, &e, NULL);
    raw_says = sm_check_raw(L, text, size, &e, NULL, top + 1, &out_of_step);
    FUZZ_ASSERT(out_of_step == (raw_says != NULL));
    if ((table_says == NULL) != (raw_says == NULL) ||
        (table_says != NULL && strcmp(table_says, raw_says) != 0)) {
        fprintf(stderr, "table: %s\nraw: %s\n", table_says ? table_says : "ok",
                raw_says ? raw_says : "ok");
        FUZZ_ASSERT(!"the raw check agrees with sm_check_answer");
    }
    lua_settop(L, top);
}

static int one_input(const uint8_t *data, size_t size)
{
    lua_State *L = fuzz_state();
    /* An exact-size copy: a read past the end is ASan's to catch. */
    char *text = malloc(size > 0 ? size : 1);
    int fast, decoded, scanned;
    FUZZ_ASSERT(text != NULL);
    if (size > 0)
        memcpy(text, data, size);
    lua_settop(L, 0);
    fast = sm_json_entry(L, text, size, SM_JSON_INTS_FLOAT);
    FUZZ_ASSERT(lua_gettop(L) == fast);
    FUZZ_ASSERT(!fast || lua_type(L, 1) == LUA_TTABLE);

    lua_getfield(L, LUA_REGISTRYINDEX, "sm_fuzz_decode");
    lua_pushlstring(L, text, size);
    FUZZ_ASSERT(lua_pcall(L, 1, 1, 0) == 0);
    decoded = lua_type(L, -1) == LUA_TTABLE;
    scanned = scanner_accepts(text, size);
    if (scanned && !decoded && !fuzz_contains(text, size, "\\uD") &&
        !fuzz_contains(text, size, "\\ud")) {
        fprintf(stderr, "cjson: %s\n", lua_tostring(L, -1));
        FUZZ_ASSERT(!"the scanner takes only what cjson takes");
    }
    if (scanned && decoded)
        check_raw(L, text, size, lua_gettop(L));
    if (fast) {
        FUZZ_ASSERT(decoded && scanned);
        sm_shape_entry(L, -1, 1);
        check_within(L, 1, 2);
        check_within(L, 2, 1);
    }
    free(text);
    return 0;
}

FUZZ_LUA_ENTRY(one_input)
