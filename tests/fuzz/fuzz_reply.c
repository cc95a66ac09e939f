/*
 * fuzz_reply: a whole response as the library turns it into a result: the
 * status, the headers, the body (decoded by the module's own cjson
 * settings), through outcome.c's sm_push_outcome (success, transport
 * failure or envelope), shaped by entry.c as one entry or (odd statuses) as
 * a page of entries.
 *
 * Input: 2 bytes of status (100..599), 1 byte of mode, then header lines
 * ('\n'-ended) up to an empty line, then the body. Mode bit 0: the attempt
 * "failed" with failure 1 + (mode >> 2) % 5 (outcome.h's kinds);
 * bit 1: the credential is SECRET_UPPER, which a server could echo as an
 * envelope code (SCREAMING_SNAKE_CASE) rather than SECRET_LOWER.
 *
 * Invariants: a 2xx gives a plain table, INVALID_RESPONSE or (never for
 * bodies this short) RESPONSE_TOO_LARGE; anything else gives an error value
 * with a SCREAMING_SNAKE code, the status, and a one-line tostring; and no
 * string the caller can see contains the client's credential, whatever the
 * server echoed. The fields an error is read from (json_fields.c, from the
 * text) are what lua-cjson's table of the whole body holds at each path
 * envelope.c reads, the same types and bytes; a body cjson refuses, or with
 * a NUL, or not an object, gives none.
 */
#include "harness.h"

#include "bounds.h"
#include "credential.h"
#include "entry.h"
#include "json_entry.h"
#include "json_fields.h"
#include "transfer.h"

#define SECRET_LOWER "otok_valid_FuzzS3cret"
#define SECRET_UPPER "FUZZ_S3CRET_KEY"
#define FUZZ_BODY_MAX 65536

/* No string field of the error at idx, nor its tostring, shows the secret
 * or spans lines. */
static void check_error(lua_State *L, int idx, long status, const char *secret)
{
    size_t n;
    const char *s;
    FUZZ_ASSERT(lua_type(L, idx) == LUA_TTABLE);
    lua_getmetatable(L, idx);
    luaL_getmetatable(L, SM_ERROR_MT);
    FUZZ_ASSERT(lua_rawequal(L, -1, -2));
    lua_pop(L, 2);

    lua_getfield(L, idx, "code");
    s = lua_tolstring(L, -1, &n);
    FUZZ_ASSERT(s != NULL && n >= 1 && n <= 100 && s[0] >= 'A' && s[0] <= 'Z');
    lua_pop(L, 1);
    if (status > 0) {
        lua_getfield(L, idx, "status");
        FUZZ_ASSERT(lua_tonumber(L, -1) == (lua_Number)status);
        lua_pop(L, 1);
    }

    lua_pushnil(L);
    while (lua_next(L, idx)) {
        if (lua_type(L, -1) == LUA_TSTRING) {
            s = lua_tolstring(L, -1, &n);
            FUZZ_ASSERT(!fuzz_contains(s, n, secret));
        }
        lua_pop(L, 1);
    }
    s = luaL_tolstring(L, idx, &n);
    FUZZ_ASSERT(n > 0 && strchr(s, '\n') == NULL && strlen(s) == n);
    FUZZ_ASSERT(!fuzz_contains(s, n, secret));
    lua_pop(L, 1);
}

/* What a path of the fields reader holds (json_fields.h). */
enum { P_TEXT, P_TABLE, P_CHECK, P_LOCATION };

/* The values at a (the reader's) and b (cjson's) are alike as envelope.c
 * reads a value at a path of that kind: a text only when a string (the
 * same bytes), a table when an object or an array, a validation item a
 * table or else false, a location a string, a number (the same value) or
 * else false; absent where cjson's is. */
static void check_alike(lua_State *L, int a, int b, int kind)
{
    int ta = lua_type(L, a), tb = lua_type(L, b);
    if (tb == LUA_TNIL) {
        FUZZ_ASSERT(ta == LUA_TNIL);
    } else if (tb == LUA_TSTRING && (kind == P_TEXT || kind == P_LOCATION)) {
        size_t n, m;
        const char *s, *t;
        FUZZ_ASSERT(ta == LUA_TSTRING);
        s = lua_tolstring(L, a, &n);
        t = lua_tolstring(L, b, &m);
        FUZZ_ASSERT(n == m && memcmp(s, t, n) == 0);
    } else if (tb == LUA_TNUMBER && kind == P_LOCATION) {
        FUZZ_ASSERT(ta == LUA_TNUMBER);
        FUZZ_ASSERT(lua_tonumber(L, a) == lua_tonumber(L, b));
    } else if (tb == LUA_TTABLE && (kind == P_TABLE || kind == P_CHECK)) {
        FUZZ_ASSERT(ta == LUA_TTABLE);
    } else if (kind == P_CHECK || kind == P_LOCATION) {
        FUZZ_ASSERT(ta == LUA_TBOOLEAN && !lua_toboolean(L, a));
    } else {
        FUZZ_ASSERT(ta == LUA_TNIL);
    }
}

/* Compares field k of the tables at a (the reader's) and b (cjson's). */
static void check_field(lua_State *L, int a, int b, const char *k, int kind)
{
    lua_getfield(L, a, k);
    lua_getfield(L, b, k);
    check_alike(L, -2, -1, kind);
    lua_pop(L, 2);
}

/* json_fields.c against cjson's table of the body. */
static void check_fields(lua_State *L, const uint8_t *p, size_t n)
{
    int top = lua_gettop(L), got, table, a, b, i, j;
    size_t k = 0;
    got = sm_json_error_fields(L, (const char *)p, n);
    FUZZ_ASSERT(lua_gettop(L) == top + got);
    lua_getfield(L, LUA_REGISTRYINDEX, "sm_fuzz_decode");
    lua_pushlstring(L, (const char *)p, n);
    FUZZ_ASSERT(lua_pcall(L, 1, 1, 0) == 0);
    while (k < n && (p[k] == ' ' || p[k] == '\t' || p[k] == '\r' ||
                     p[k] == '\n'))
        k++;
    table = lua_type(L, -1) == LUA_TTABLE && k < n && p[k] == '{' &&
            memchr(p, '\0', n) == NULL;
    FUZZ_ASSERT(got == table);
    if (!got) {
        lua_settop(L, top);
        return;
    }
    a = top + 1;
    b = top + 2;
    check_field(L, a, b, "title", P_TEXT);
    check_field(L, a, b, "detail", P_TEXT);
    check_field(L, a, b, "message", P_TEXT);
    check_field(L, a, b, "error", P_TABLE);
    check_field(L, a, b, "meta", P_TABLE);
    check_field(L, a, b, "validation", P_TABLE);
    lua_getfield(L, a, "error");
    lua_getfield(L, b, "error");
    if (lua_type(L, -1) == LUA_TTABLE) {
        check_field(L, top + 3, top + 4, "code", P_TEXT);
        check_field(L, top + 3, top + 4, "message", P_TEXT);
        check_field(L, top + 3, top + 4, "description", P_TEXT);
    }
    lua_settop(L, b);
    lua_getfield(L, a, "meta");
    lua_getfield(L, b, "meta");
    if (lua_type(L, -1) == LUA_TTABLE)
        check_field(L, top + 3, top + 4, "request_id", P_TEXT);
    lua_settop(L, b);
    lua_getfield(L, a, "validation");
    lua_getfield(L, b, "validation");
    for (i = 1; i <= SM_VALIDATION_MAX && lua_type(L, top + 4) == LUA_TTABLE;
         i++) {
        lua_rawgeti(L, top + 3, i);
        lua_rawgeti(L, top + 4, i);
        check_alike(L, top + 5, top + 6, P_CHECK);
        if (lua_type(L, top + 6) == LUA_TTABLE) {
            check_field(L, top + 5, top + 6, "message", P_TEXT);
            check_field(L, top + 5, top + 6, "location", P_TABLE);
            lua_getfield(L, top + 5, "location");
            lua_getfield(L, top + 6, "location");
            for (j = 1; j <= SM_LOCATION_MAX &&
                        lua_type(L, top + 8) == LUA_TTABLE;
                 j++) {
                lua_rawgeti(L, top + 7, j);
                lua_rawgeti(L, top + 8, j);
                check_alike(L, -2, -1, P_LOCATION);
                lua_pop(L, 2);
            }
        }
        lua_settop(L, top + 4);
    }
    lua_settop(L, top);
}

/* Runs in a C closure whose upvalue is the decode function, as perform
 * does. Upvalue 1: decode; argument 1: light userdata of the input. */
typedef struct fuzz_input {
    const uint8_t *data;
    size_t size;
} fuzz_input;

static int run(lua_State *L)
{
    const fuzz_input *in = lua_touserdata(L, 1);
    const uint8_t *p = in->data, *end = in->data + in->size;
    sm_buffer body;
    sm_meta meta;
    sm_outcome outcome;
    sm_credential credential = {0};
    sm_asked want;
    sm_json_decoder d;
    long status;
    int mode, pushed, headers_ended = 0, changed, out_of_step;
    const char *why, *secret;
    if (in->size < 3)
        return 0;
    sm_buffer_init(&body, FUZZ_BODY_MAX);
    sm_meta_reset(&meta);
    status = 100 + ((long)p[0] << 8 | p[1]) % 500;
    mode = p[2];
    secret = mode & 2 ? SECRET_UPPER : SECRET_LOWER;
    why = sm_credential_set(&credential, secret, strlen(secret), &changed);
    FUZZ_ASSERT(why == NULL);
    p += 3;

    while (p < end) {
        const uint8_t *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = nl ? (size_t)(nl - p) + 1 : (size_t)(end - p);
        /* Every line reaches the parser, the blank one that ends the
         * headers too (without it the reply counts as cut). */
        sm_meta_header(&meta, (const char *)p, n, (time_t)1700000000);
        p += n;
        if ((n == 1 && p[-1] == '\n') ||
            (n == 2 && p[-2] == '\r' && p[-1] == '\n')) {
            headers_ended = 1;
            break; /* the empty line: the body follows */
        }
    }
    FUZZ_ASSERT(meta.headers_done == headers_ended);
    /* Refused past the cap, as the write callback refuses. */
    if (sm_buffer_append(&body, (const char *)p, (size_t)(end - p)) != 0)
        FUZZ_ASSERT(body.over_limit);
    check_fields(L, p, (size_t)(end - p));

    outcome.failure = mode & 1 ? (sm_failure)(1 + (mode >> 2) % 5) : SM_NO_FAILURE;
    outcome.why = mode & 0x80 ? NULL : "the transport's words";
    outcome.status = status;
    outcome.meta = &meta;
    outcome.body = &body;
    lua_settop(L, 0);
    d.decode_idx = lua_upvalueindex(1);
    d.ints = SM_JSON_INTS_FLOAT; /* Debian's lua-cjson 2.1.0 */
    d.credential = sm_credential_value(&credential);
    want.shape = status & 1 ? SM_SHAPE_PAGE : SM_SHAPE_ENTRY;
    want.info = 0;
    want.made = 0;
    /* An entry must carry this id (or none); a page at most 1000 entries. */
    want.expect.id = want.shape == SM_SHAPE_ENTRY ? "123" : NULL;
    want.expect.id_len = want.expect.id != NULL ? 3 : 0;
    want.expect.limit = 0;
    want.resent = 0;
    pushed = sm_push_outcome(L, &outcome, &want, &d, &out_of_step);
    FUZZ_ASSERT(lua_gettop(L) == pushed);
    if (pushed == 1 || (pushed == 2 && !lua_isnil(L, 1))) {
        /* A success; with its info table too when the response carried
         * rate limits (want.info is 0). */
        FUZZ_ASSERT(!(mode & 1) && headers_ended && status >= 200 && status <= 299);
        FUZZ_ASSERT(lua_type(L, 1) == LUA_TTABLE);
        FUZZ_ASSERT(pushed == 1 || ((meta.rate_limit >= 0 || meta.rate_remaining >= 0) &&
                                    lua_type(L, 2) == LUA_TTABLE));
        lua_getfield(L, 1, "status");
        FUZZ_ASSERT(lua_type(L, -1) != LUA_TLIGHTUSERDATA);
        lua_pop(L, 1);
    } else {
        FUZZ_ASSERT(lua_isnil(L, 1));
        check_error(L, 2, status, secret);
    }
    sm_credential_clear(&credential);
    sm_buffer_free(&body);
    return 0;
}

static int one_input(const uint8_t *data, size_t size)
{
    lua_State *L = fuzz_state();
    fuzz_input in;
    in.data = data;
    in.size = size;
    lua_getfield(L, LUA_REGISTRYINDEX, "sm_fuzz_decode");
    lua_pushcclosure(L, run, 1);
    lua_pushlightuserdata(L, &in);
    if (lua_pcall(L, 1, 0, 0) != 0) {
        /* Only memory errors may raise here, and the harness has memory. */
        fprintf(stderr, "raised: %s\n", lua_tostring(L, -1));
        abort();
    }
    lua_settop(L, 0);
    return 0;
}

FUZZ_LUA_ENTRY(one_input)
