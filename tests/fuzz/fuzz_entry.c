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

#include "entry.h"
#include "json_check.h"
#include "json_entry.h"
#include "json_raw.h"

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
    scanned = fuzz_scanner_accepts(text, size);
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
        fuzz_check_within(L, 1, 2);
        fuzz_check_within(L, 2, 1);
    }
    free(text);
    return 0;
}

FUZZ_LUA_ENTRY(one_input)
