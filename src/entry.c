/*
 * entry.c: shapes a decoded LogEntry into what the contract promises.
 */
#include "entry.h"

#include <lauxlib.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "bounds.h"
#include "compat.h"
#include "credential.h"

static const char *const integer_fields[] = {"status", "duration_ms", NULL};

static int is_json_null(lua_State *L, int idx)
{
    return lua_type(L, idx) == LUA_TLIGHTUSERDATA &&
           lua_touserdata(L, idx) == NULL;
}

void sm_shape_entry(lua_State *L, int idx, int may_have_nulls)
{
    const char *const *field;
    if (idx < 0)
        idx = lua_gettop(L) + idx + 1;
    if (may_have_nulls) {
        lua_pushnil(L);
        while (lua_next(L, idx)) {
            /* Setting an existing field to nil during lua_next is allowed. */
            if (is_json_null(L, -1)) {
                lua_pushvalue(L, -2);
                lua_pushnil(L);
                lua_rawset(L, idx);
            }
            lua_pop(L, 1);
        }
    }
#if SM_HAVE_INTEGERS
    for (field = integer_fields; *field != NULL; field++) {
        lua_getfield(L, idx, *field);
        if (lua_type(L, -1) == LUA_TNUMBER && !lua_isinteger(L, -1)) {
            lua_Number d = lua_tonumber(L, -1);
            lua_Integer i;
            if (d == floor(d) && lua_numbertointeger(d, &i)) {
                lua_pushinteger(L, i);
                lua_setfield(L, idx, *field);
            }
        }
        lua_pop(L, 1);
    }
#else
    (void)field;
    (void)integer_fields;
#endif
}

const char *sm_shape_page(lua_State *L, int may_have_nulls)
{
    int body = lua_gettop(L), logs = body + 1, out = body + 2;
    size_t n, count = 0, i;
    lua_getfield(L, body, "logs");
    if (lua_type(L, logs) != LUA_TTABLE) {
        lua_settop(L, body);
        return "the response has no \"logs\" array";
    }
    n = sm_rawlen(L, logs);
    lua_pushnil(L);
    while (lua_next(L, logs)) {
        count++;
        lua_pop(L, 1);
    }
    if (count != n) {
        lua_settop(L, body);
        return "\"logs\" is not an array";
    }
    lua_createtable(L, (int)n, 0);
    for (i = 1; i <= n; i++) {
        lua_rawgeti(L, logs, (int)i);
        if (lua_type(L, -1) != LUA_TTABLE) {
            lua_settop(L, body);
            return lua_pushfstring(L, "\"logs\" item %d is not an object",
                                   (int)i);
        }
        sm_shape_entry(L, -1, may_have_nulls);
        lua_rawseti(L, out, (int)i);
    }
    lua_replace(L, body);
    lua_settop(L, body);
    return NULL;
}

/* ---- does the body answer the request? (entry.h) ---- */

/* Server text in a message: at most this many bytes of it. */
#define SM_SHOWN_ID_MAX 64

/* Pushes s as it may show in a message: cut short, control characters as
 * '?', and "[REDACTED]" if it shows the credential. */
static void push_shown(lua_State *L, const char *s, size_t n,
                       const char *credential)
{
    char out[SM_SHOWN_ID_MAX + 3];
    int cut = n > SM_SHOWN_ID_MAX;
    size_t i, m = cut ? SM_SHOWN_ID_MAX : n, len;
    if (credential != NULL && sm_credential_find(s, n, credential, &len) < n) {
        lua_pushliteral(L, "[REDACTED]");
        return;
    }
    for (i = 0; i < m; i++) {
        unsigned char ch = (unsigned char)s[i];
        out[i] = (char)(ch < 0x20 || ch == 0x7f ? '?' : ch);
    }
    if (cut) {
        out[m++] = '.';
        out[m++] = '.';
        out[m++] = '.';
    }
    lua_pushlstring(L, out, m);
}

/* The decimal text of the number at idx when it is an integer (as the API
 * would send an id), else 0. */
static size_t integer_text(lua_State *L, int idx, char out[32])
{
    lua_Number d;
#if SM_HAVE_INTEGERS
    if (lua_isinteger(L, idx))
        return (size_t)snprintf(out, 32, "%lld",
                                (long long)lua_tointeger(L, idx));
#endif
    d = lua_tonumber(L, idx);
    if (d != floor(d) || !(fabs(d) <= 9007199254740992.0))
        return 0;
    return (size_t)snprintf(out, 32, "%.0f", (double)d);
}

/* Whether the field k of the table at idx is present (not nil). */
static int has_field(lua_State *L, int idx, const char *k)
{
    int present;
    lua_getfield(L, idx, k);
    present = !lua_isnil(L, -1);
    lua_pop(L, 1);
    return present;
}

static const char *entry_mismatch(lua_State *L, int idx, const sm_expect *e,
                                  const char *credential)
{
    char digits[32];
    size_t n = 0;
    const char *got, *what = "the entry of log id \"%s\"";
    int top = lua_gettop(L);
    lua_getfield(L, idx, "id");
    switch (lua_type(L, -1)) {
    case LUA_TSTRING:
        got = lua_tolstring(L, -1, &n);
        if (n == e->id_len && memcmp(got, e->id, n) == 0)
            break;
        push_shown(L, got, n, credential);
        goto mismatch;
    case LUA_TNUMBER:
        n = integer_text(L, -1, digits);
        if (n > 0 && n == e->id_len && memcmp(digits, e->id, n) == 0)
            break;
        lua_pushstring(L, n > 0 ? digits : "?");
        goto mismatch;
    case LUA_TLIGHTUSERDATA: /* JSON null */
    case LUA_TNIL:
        if (lua_touserdata(L, -1) != NULL || !has_field(L, idx, "logs"))
            break; /* no id to tell by */
        lua_pushliteral(L, "");
        what = "a page of entries%s";
        goto mismatch;
    default:
        lua_pushstring(L, luaL_typename(L, -1));
        what = "an entry whose id is a %s";
        goto mismatch;
    }
    lua_settop(L, top);
    return NULL;
mismatch:
    /* top + 1: the id field, top + 2: how it shows */
    lua_pushfstring(L, what, lua_tostring(L, top + 2));
    push_shown(L, e->id, e->id_len, credential);
    lua_pushfstring(L, "the server answered the request for log id \"%s\" "
                       "with %s: its answers are out of step with the "
                       "requests",
                    lua_tostring(L, -1), lua_tostring(L, -2));
    lua_replace(L, top + 1);
    lua_settop(L, top + 1);
    return lua_tostring(L, -1);
}

int sm_page_max(const sm_expect *e)
{
    return e->limit > 0 ? e->limit : SM_MAX_PAGE_SIZE;
}

static const char *page_mismatch(lua_State *L, int idx, const sm_expect *e,
                                 const char *credential)
{
    int max = sm_page_max(e);
    size_t n;
    lua_getfield(L, idx, "logs");
    if (lua_type(L, -1) != LUA_TTABLE) {
        lua_pop(L, 1);
        if (!has_field(L, idx, "id"))
            return NULL; /* shaping says what is wrong */
        lua_getfield(L, idx, "id");
        if (lua_type(L, -1) == LUA_TSTRING) {
            const char *s = lua_tolstring(L, -1, &n);
            push_shown(L, s, n, credential);
        } else {
            lua_pushliteral(L, "?");
        }
        lua_remove(L, -2);
        lua_pushfstring(L, "the server answered a request for a page of "
                           "entries with the entry of log id \"%s\": its "
                           "answers are out of step with the requests",
                        lua_tostring(L, -1));
        lua_remove(L, -2);
        return lua_tostring(L, -1);
    }
    n = sm_rawlen(L, -1);
    lua_pop(L, 1);
    if (n <= (size_t)max)
        return NULL;
    return lua_pushfstring(L, "the server answered a request for at most %d "
                              "entries with %d: its answers are out of step "
                              "with the requests",
                           max, (int)(n > 999999 ? 999999 : n));
}

const char *sm_check_answer(lua_State *L, int idx, const sm_expect *e,
                            const char *credential)
{
    if (idx < 0)
        idx = lua_gettop(L) + idx + 1;
    return e->id != NULL ? entry_mismatch(L, idx, e, credential)
                         : page_mismatch(L, idx, e, credential);
}
