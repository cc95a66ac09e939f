/*
 * entry.c: shapes a decoded LogEntry into what the contract promises, and
 * tells from a body's text whether it answers the request (entry.h).
 */
#include "entry.h"

#include <lauxlib.h>
#include <math.h>
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

void sm_entry_note_escaped(sm_entry_facts *f, const sm_json_span *key,
                           sm_json_kind kind, const sm_json_span *value)
{
    if (sm_json_string_is(key, "id", 2)) {
        f->ids++;
        f->id_kind = kind;
        f->id = *value;
    } else if (sm_json_string_is(key, "logs", 4)) {
        f->logs = 1;
    }
}

/* Pushes the text of string span s as a message may show it: escapes
 * decoded, one that lua-cjson refuses kept as sent. */
static void push_string_text(lua_State *L, const sm_json_span *s)
{
    const char *p = s->p, *end = s->p + s->len;
    luaL_Buffer b;
    if (!s->escaped) {
        lua_pushlstring(L, s->p, s->len);
        return;
    }
    luaL_buffinit(L, &b);
    while (p < end) {
        const char *bs = memchr(p, '\\', (size_t)(end - p)), *at;
        char out[4];
        int n;
        if (bs == NULL) {
            luaL_addlstring(&b, p, (size_t)(end - p));
            break;
        }
        luaL_addlstring(&b, p, (size_t)(bs - p));
        n = sm_json_escape(bs, end, out, &p);
        if (n > 0) {
            luaL_addlstring(&b, out, (size_t)n);
        } else {
            at = bs + 6 < end ? bs + 6 : end; /* \uXXXX as sent */
            luaL_addlstring(&b, bs, (size_t)(at - bs));
            p = at;
        }
    }
    luaL_pushresult(&b);
}

/* Pushes the id of value v (of kind) as a message shows it. */
static void push_id_shown(lua_State *L, const sm_json_span *v,
                          sm_json_kind kind, const char *credential)
{
    if (kind == SM_JSON_STRING) {
        size_t n;
        const char *s;
        push_string_text(L, v);
        s = lua_tolstring(L, -1, &n);
        push_shown(L, s, n, credential);
        lua_remove(L, -2);
    } else if (kind == SM_JSON_NUMBER) {
        push_shown(L, v->p, v->len, credential); /* its text as sent */
    } else {
        lua_pushliteral(L, "?");
    }
}

/* Whether id (of kind) is the log id of e. */
static int id_matches(const sm_json_span *id, sm_json_kind kind,
                      const sm_expect *e)
{
    if (kind == SM_JSON_STRING)
        return sm_json_string_is(id, e->id, e->id_len);
    return kind == SM_JSON_NUMBER && id->len == e->id_len &&
           memcmp(id->p, e->id, e->id_len) == 0 && sm_json_is_integer(id);
}

const char *sm_check_entry(lua_State *L, const sm_entry_facts *f,
                           const sm_expect *e, const char *credential,
                           int *out_of_step)
{
    const char *what = "the entry of log id \"%s\"";
    int top = lua_gettop(L);
    *out_of_step = 0;
    if (f->ids > 1)
        return "the entry has more than one \"id\" member (names must be "
               "unique)";
    if (e->id == NULL)
        return NULL;
    if (f->ids == 0 || f->id_kind == SM_JSON_NULL) {
        if (!f->logs)
            return NULL; /* no id to tell by */
        lua_pushliteral(L, "");
        what = "a page of entries%s";
    } else if (id_matches(&f->id, f->id_kind, e)) {
        return NULL;
    } else if (f->id_kind == SM_JSON_STRING || f->id_kind == SM_JSON_NUMBER) {
        push_id_shown(L, &f->id, f->id_kind, credential);
    } else {
        /* As lua-cjson would give it: true and false are booleans,
         * objects and arrays tables. */
        lua_pushstring(L, f->id_kind == SM_JSON_TRUE ||
                                  f->id_kind == SM_JSON_FALSE
                              ? "boolean"
                              : "table");
        what = "an entry whose id is a %s";
    }
    /* top + 1: how the id shows */
    lua_pushfstring(L, what, lua_tostring(L, top + 1));
    push_shown(L, e->id, e->id_len, credential);
    lua_pushfstring(L, "the server answered the request for log id \"%s\" "
                       "with %s: its answers are out of step with the "
                       "requests",
                    lua_tostring(L, -1), lua_tostring(L, -2));
    lua_replace(L, top + 1);
    lua_settop(L, top + 1);
    *out_of_step = 1;
    return lua_tostring(L, -1);
}

int sm_page_max(const sm_expect *e)
{
    return e->limit > 0 ? e->limit : SM_MAX_PAGE_SIZE;
}

const char *sm_page_got_entry(lua_State *L, const sm_json_span *id,
                              sm_json_kind kind, const char *credential)
{
    if (kind == SM_JSON_STRING)
        push_id_shown(L, id, kind, credential);
    else
        lua_pushliteral(L, "?");
    lua_pushfstring(L, "the server answered a request for a page of entries "
                       "with the entry of log id \"%s\": its answers are out "
                       "of step with the requests",
                    lua_tostring(L, -1));
    lua_remove(L, -2);
    return lua_tostring(L, -1);
}

const char *sm_page_too_long(lua_State *L, int max, size_t n)
{
    return lua_pushfstring(L, "the server answered a request for at most %d "
                              "entries with %d: its answers are out of step "
                              "with the requests",
                           max, (int)(n > 999999 ? 999999 : n));
}
