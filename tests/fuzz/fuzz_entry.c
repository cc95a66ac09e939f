/*
 * fuzz_entry: an entry's body, as both forms read it, against oracles
 * built on lua-cjson (the module's settings) and a walk of the text.
 *
 * Input: the body's bytes.
 *
 * Invariants:
 * - the fast entry decoder (json_entry.c over json_scan.c), whenever it
 *   gives a table, gives what cjson followed by entry.c's shaping gives:
 *   the same keys, each value of the same type (integer and float told
 *   apart), numbers of the same bits (NaN-safe, -0 kept apart), strings of
 *   the same bytes;
 * - the scanner in RFC 8259's grammar takes only what cjson takes too (but
 *   for a \u escape of a UTF-16 surrogate, which cjson may refuse); in
 *   lua-cjson's grammar it takes exactly what cjson decodes to a table from
 *   a text that starts with '{' and holds no NUL, and never a text with a
 *   NUL; reading by entering containers takes what reading by skipping
 *   them takes, in both grammars;
 * - get_connector_log's result for log id "123" (sm_push_outcome, shape
 *   ENTRY) is the oracle's: a text cjson refuses (or with a NUL, or not an
 *   object) is "not a JSON object"; one with two top-level names that
 *   decode to "id" (cjson decodes each name) is refused as such; else the
 *   last id answers when it is the string "123", or a number whose text is
 *   123; no id (or null) answers unless a "logs" member is there; anything
 *   else is an answer out of step; an answer is cjson's table, shaped;
 * - get_connector_log_json's (shape RAW) agrees with it, in the same
 *   words, wherever both grammars take the text;
 * - nothing is read past the text (ASan, on an exact-size copy).
 */
#include "harness.h"

#include "buffer.h"
#include "entry.h"
#include "json_check.h"
#include "json_entry.h"
#include "outcome.h"
#include "response.h"

#define ANSWERED "the server answered the request for log id \"123\" with "

/* The oracle's verdicts. */
enum { V_OK, V_NOT_OBJECT, V_DUP_ID, V_OUT_OF_STEP };

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
    FUZZ_ASSERT(lua_type(L, -1) == LUA_TTABLE); /* the scan took it */
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

/* What the oracle says of text, whose cjson table (if any) is at t. */
static int oracle(lua_State *L, const char *text, size_t size, int t)
{
    sm_json_scan s;
    sm_json_span key, v, id = {NULL, 0, 0};
    sm_json_kind kind, id_kind = SM_JSON_NULL;
    int ids = 0, logs = 0, r;
    if (t == 0 || memchr(text, '\0', size) != NULL ||
        sm_json_open_as(&s, text, size, SM_JSON_CJSON) != 0)
        return V_NOT_OBJECT;
    while ((r = sm_json_key(&s, &key)) == 1) {
        FUZZ_ASSERT(sm_json_value(&s, &v, &kind) == 0);
        if (cjson_key_is(L, &key, "id")) {
            ids++;
            id = v;
            id_kind = kind;
        } else if (cjson_key_is(L, &key, "logs")) {
            logs = 1;
        }
    }
    FUZZ_ASSERT(r == 0);
    if (ids > 1)
        return V_DUP_ID;
    lua_getfield(L, t, "id");
    switch (lua_type(L, -1)) {
    case LUA_TSTRING: {
        size_t n;
        const char *got = lua_tolstring(L, -1, &n);
        r = n == 3 && memcmp(got, "123", 3) == 0 ? V_OK : V_OUT_OF_STEP;
        break;
    }
    case LUA_TNUMBER:
        FUZZ_ASSERT(id_kind == SM_JSON_NUMBER);
        r = id.len == 3 && memcmp(id.p, "123", 3) == 0 ? V_OK : V_OUT_OF_STEP;
        break;
    case LUA_TNIL:
    case LUA_TLIGHTUSERDATA:
        r = logs ? V_OUT_OF_STEP : V_OK;
        break;
    default:
        r = V_OUT_OF_STEP;
    }
    lua_pop(L, 1);
    return r;
}

/* Runs sm_push_outcome on a 200 with body text in shape (a C closure, as
 * perform runs it: the decode function is upvalue 1). */
typedef struct reply_case {
    const char *text;
    size_t size;
    int shape;
    int out_of_step;
} reply_case;

static int run_reply(lua_State *L)
{
    reply_case *c = lua_touserdata(L, 1);
    sm_buffer body;
    sm_meta meta;
    sm_outcome o;
    sm_asked asked;
    sm_json_decoder d;
    int n;
    memset(&body, 0, sizeof body);
    body.data = (char *)c->text;
    body.len = c->size;
    body.limit = 16777216;
    sm_meta_reset(&meta);
    meta.headers_done = 1;
    memset(&o, 0, sizeof o);
    o.status = 200;
    o.meta = &meta;
    o.body = &body;
    memset(&asked, 0, sizeof asked);
    memset(&d, 0, sizeof d);
    d.decode_idx = lua_upvalueindex(1);
    d.ints = SM_JSON_INTS_FLOAT;
    asked.shape = c->shape;
    asked.expect.id = "123";
    asked.expect.id_len = 3;
    lua_settop(L, 0);
    n = sm_push_outcome(L, &o, &asked, &d, &c->out_of_step);
    FUZZ_ASSERT(lua_gettop(L) == n);
    return n;
}

/* Pushes what get_connector_log (shape ENTRY) or _json (RAW) gives: the
 * result, or nil and the error; returns how many values (1 or 2). */
static int reply(lua_State *L, const char *text, size_t size, int shape,
                 int *out_of_step)
{
    reply_case c;
    int top = lua_gettop(L);
    c.text = text;
    c.size = size;
    c.shape = shape;
    c.out_of_step = 0;
    lua_getfield(L, LUA_REGISTRYINDEX, "sm_fuzz_decode");
    lua_pushcclosure(L, run_reply, 1);
    lua_pushlightuserdata(L, &c);
    FUZZ_ASSERT(lua_pcall(L, 1, LUA_MULTRET, 0) == 0);
    *out_of_step = c.out_of_step;
    return lua_gettop(L) - top;
}

/* The message of the error value at idx. */
static const char *message_of(lua_State *L, int idx)
{
    const char *m;
    lua_getfield(L, idx, "message");
    m = lua_tostring(L, -1);
    lua_pop(L, 1); /* the error table keeps it */
    FUZZ_ASSERT(m != NULL);
    return m;
}

static void check_forms(lua_State *L, const char *text, size_t size, int t,
                        int scanned)
{
    int top = lua_gettop(L), verdict, n, oos;
    verdict = oracle(L, text, size, t);
    n = reply(L, text, size, SM_SHAPE_ENTRY, &oos);
    if (verdict == V_OK) {
        if (n != 1) {
            fprintf(stderr, "refused: %s\n", message_of(L, top + 2));
            FUZZ_ASSERT(!"get_connector_log takes what the oracle takes");
        }
        lua_pushvalue(L, t);
        sm_shape_entry(L, -1, 1);
        fuzz_check_within(L, top + 1, top + 2);
        fuzz_check_within(L, top + 2, top + 1);
        lua_settop(L, top + 1);
    } else {
        const char *m;
        FUZZ_ASSERT(n == 2 && lua_isnil(L, top + 1));
        m = message_of(L, top + 2);
        FUZZ_ASSERT(oos == (verdict == V_OUT_OF_STEP));
        if (verdict == V_NOT_OBJECT)
            FUZZ_ASSERT(strcmp(m, size == 0 ? "the response body is empty"
                                             : "the response body is not a "
                                               "JSON object") == 0);
        else if (verdict == V_DUP_ID)
            FUZZ_ASSERT(strstr(m, "more than one \"id\"") != NULL);
        else
            FUZZ_ASSERT(strncmp(m, ANSWERED, strlen(ANSWERED)) == 0);
    }
    /* The pass-through form, where JSON's grammar takes the text too. */
    if (scanned && t != 0) {
        int oos_raw, n_raw = reply(L, text, size, SM_SHAPE_RAW, &oos_raw);
        FUZZ_ASSERT(oos_raw == oos);
        FUZZ_ASSERT((n_raw == 1) == (n == 1));
        if (n_raw == 1) {
            size_t len;
            const char *s = lua_tolstring(L, -1, &len);
            FUZZ_ASSERT(s != NULL && len == size && memcmp(s, text, size) == 0);
        } else if (strcmp(message_of(L, top + 2), message_of(L, -1)) != 0) {
            fprintf(stderr, "entry: %s\nraw: %s\n", message_of(L, top + 2),
                    message_of(L, -1));
            FUZZ_ASSERT(!"both forms refuse in the same words");
        }
    }
    lua_settop(L, top);
}

/* Reads the object or array s has entered to its end, entering nested
 * ones or skipping them (as the byte's offset in text says): returns 0,
 * or -1. */
static int walk(sm_json_scan *s, int array, const char *text)
{
    for (;;) {
        sm_json_span key, v;
        sm_json_kind kind;
        int r = array ? sm_json_item(s) : sm_json_key(s, &key);
        if (r != 1)
            return r;
        kind = sm_json_peek(s);
        if ((kind == SM_JSON_OBJECT || kind == SM_JSON_ARRAY) &&
            (s->p - text) % 2 == 0) {
            sm_json_scan child;
            if (sm_json_enter(s, &child) != 0 ||
                walk(&child, kind == SM_JSON_ARRAY, text) != 0)
                return -1;
            sm_json_leave(s, &child);
        } else if (sm_json_value(s, &v, &kind) != 0) {
            return -1;
        }
    }
}

static int accepts(const char *text, size_t size, int mode, int entering)
{
    sm_json_scan s;
    sm_json_member m;
    int r;
    if (sm_json_open_as(&s, text, size, mode) != 0)
        return 0;
    if (entering)
        return walk(&s, 0, text) == 0;
    while ((r = sm_json_next(&s, &m)) == 1)
        FUZZ_ASSERT(m.key.p >= text && m.key.p + m.key.len <= text + size &&
                    m.value.p >= text &&
                    m.value.p + m.value.len <= text + size);
    return r == 0;
}

/* Whether the first byte of text past whitespace is '{'. */
static int starts_object(const char *text, size_t size)
{
    size_t i = 0;
    while (i < size && strchr(" \t\r\n", text[i]) != NULL && text[i] != '\0')
        i++;
    return i < size && text[i] == '{';
}

static int one_input(const uint8_t *data, size_t size)
{
    lua_State *L = fuzz_state();
    /* An exact-size copy: a read past the end is ASan's to catch. */
    char *text = malloc(size > 0 ? size : 1);
    int fast, decoded, scanned, cjson_scanned;
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
    FUZZ_ASSERT(accepts(text, size, SM_JSON_STRICT, 1) == scanned);
    if (scanned && !decoded && !fuzz_contains(text, size, "\\uD") &&
        !fuzz_contains(text, size, "\\ud")) {
        fprintf(stderr, "cjson: %s\n", lua_tostring(L, -1));
        FUZZ_ASSERT(!"the scanner takes only what cjson takes");
    }
    cjson_scanned = accepts(text, size, SM_JSON_CJSON, 0);
    FUZZ_ASSERT(accepts(text, size, SM_JSON_CJSON, 1) == cjson_scanned);
    if (memchr(text, '\0', size) != NULL) {
        FUZZ_ASSERT(!cjson_scanned);
    } else if (starts_object(text, size) && cjson_scanned != decoded) {
        fprintf(stderr, "cjson: %s, the scanner in its grammar: %s\n",
                decoded ? "a table" : lua_tostring(L, -1),
                cjson_scanned ? "takes it" : "refuses it");
        FUZZ_ASSERT(!"cjson's grammar is cjson's");
    }
    check_forms(L, text, size, decoded ? lua_gettop(L) : 0, scanned);
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
