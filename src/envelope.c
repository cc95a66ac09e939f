/*
 * envelope.c: error values for non-2xx replies, from the API's error
 * envelope when there is a usable one, with the credential redacted.
 */
#include "envelope.h"

#include <lauxlib.h>
#include <string.h>

#include "compat.h"
#include "credential.h"
#include "errors.h"

/* Caps on server-sent text: the API promises 255 and 2048 bytes; a server
 * that sends megabytes must not make every tostring(err) huge. */
#define SM_MESSAGE_MAX 1024
#define SM_DESCRIPTION_MAX 8192
#define SM_CODE_MAX 100

/* Pushes at most max bytes of s, cut before a UTF-8 continuation byte. */
static void push_capped(lua_State *L, const char *s, size_t n, size_t max)
{
    if (n > max) {
        n = max;
        while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
            n--;
    }
    lua_pushlstring(L, s, n);
}

/* Replaces the string on top by a copy with every place the credential shows
 * (sm_credential_find: whole or cut short, any letter case) as [REDACTED]. */
static void redact_top(lua_State *L, const char *credential)
{
    size_t n, at, len, done = 0;
    const char *s = lua_tolstring(L, -1, &n);
    luaL_Buffer b;
    if (s == NULL || sm_credential_find(s, n, credential, &len) == n)
        return;
    /* The buffer must not see the stack change under it: keep s below. */
    luaL_buffinit(L, &b);
    while ((at = sm_credential_find(s + done, n - done, credential, &len)) < n - done) {
        luaL_addlstring(&b, s + done, at);
        luaL_addstring(&b, "[REDACTED]");
        done += at + len;
    }
    luaL_addlstring(&b, s + done, n - done);
    luaL_pushresult(&b);
    lua_remove(L, -2);
}

/* True when s (n bytes) shows the credential: a server that echoes the
 * credential as a request id or code must not get it into an error. */
static int shows_credential(const char *s, size_t n, const char *credential)
{
    size_t len;
    return sm_credential_find(s, n, credential, &len) < n;
}

static int is_code(const char *s, size_t n)
{
    size_t i;
    if (n == 0 || n > SM_CODE_MAX || s[0] < 'A' || s[0] > 'Z')
        return 0;
    for (i = 1; i < n; i++)
        if (!((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9') ||
              s[i] == '_'))
            return 0;
    return 1;
}

/* Pushes t[k] if it is a string, else nothing; returns its bytes or NULL. */
static const char *string_field(lua_State *L, int t, const char *k, size_t *n)
{
    lua_getfield(L, t, k);
    if (lua_type(L, -1) == LUA_TSTRING)
        return lua_tolstring(L, -1, n);
    lua_pop(L, 1);
    return NULL;
}

/* With the decoded body at top: pushes an error from its envelope and
 * returns 1, or pushes nothing and returns 0 when there is none. */
static int push_envelope_error(lua_State *L, const sm_reply *r)
{
    int body = lua_gettop(L), envelope, err;
    size_t n;
    const char *s;
    if (lua_type(L, body) != LUA_TTABLE)
        return 0;
    lua_getfield(L, body, "error");
    envelope = lua_gettop(L);
    if (lua_type(L, envelope) != LUA_TTABLE) {
        lua_pop(L, 1);
        return 0;
    }
    s = string_field(L, envelope, "code", &n);
    if (s == NULL)
        goto none;
    if (!is_code(s, n) || shows_credential(s, n, r->credential)) {
        lua_pop(L, 1);
        goto none;
    }
    sm_push_error(L, lua_tostring(L, -1), "");
    err = lua_gettop(L);
    lua_remove(L, err - 1);
    err--;

    s = string_field(L, envelope, "message", &n);
    if (s != NULL) {
        push_capped(L, s, n, SM_MESSAGE_MAX);
        lua_remove(L, -2);
    } else {
        const char *reason = sm_reason_for_status(r->status);
        lua_pushstring(L, reason ? reason : "The server reported an error.");
    }
    redact_top(L, r->credential);
    lua_setfield(L, err, "message");

    s = string_field(L, envelope, "description", &n);
    if (s != NULL) {
        push_capped(L, s, n, SM_DESCRIPTION_MAX);
        lua_remove(L, -2);
        redact_top(L, r->credential);
        lua_setfield(L, err, "description");
    }

    lua_getfield(L, body, "meta");
    if (lua_type(L, -1) == LUA_TTABLE) {
        s = string_field(L, lua_gettop(L), "request_id", &n);
        if (s != NULL) {
            if (sm_valid_request_id(s, n) && !shows_credential(s, n, r->credential))
                lua_setfield(L, err, "request_id");
            else
                lua_pop(L, 1);
        }
    }
    lua_pop(L, 1);
    lua_remove(L, envelope); /* leaves the error on top */
    return 1;
none:
    lua_pop(L, 1);
    return 0;
}

static void push_fallback_error(lua_State *L, const sm_reply *r)
{
    const char *code = r->status >= 400 && r->status <= 599
                           ? sm_code_for_status(r->status)
                           : "HTTP_ERROR";
    const char *reason = sm_reason_for_status(r->status);
    if (r->status >= 400)
        lua_pushfstring(L, "HTTP %d%s%s without a usable error envelope",
                        (int)r->status, reason ? " " : "", reason ? reason : "");
    else
        lua_pushfstring(L, "unexpected HTTP status %d", (int)r->status);
    sm_push_error(L, code, lua_tostring(L, -1));
    lua_remove(L, -2);
}

void sm_push_status_error(lua_State *L, const sm_reply *r, const char *body,
                          size_t len, int decode_idx)
{
    int pushed = 0;
    if (r->status >= 400 && len > 0) {
        int top = lua_gettop(L);
        lua_pushvalue(L, decode_idx);
        lua_pushlstring(L, body, len);
        lua_call(L, 1, 1);
        pushed = push_envelope_error(L, r);
        if (pushed)
            lua_remove(L, -2);
        lua_settop(L, top + pushed);
    }
    if (!pushed)
        push_fallback_error(L, r);
    sm_set_reply_fields(L, r);
}

void sm_set_reply_fields(lua_State *L, const sm_reply *r)
{
    const sm_meta *m = r->meta;
    if (r->status > 0) {
        sm_pushint64(L, r->status);
        lua_setfield(L, -2, "status");
    }
    lua_getfield(L, -1, "request_id");
    if (lua_isnil(L, -1) && m->request_id[0] != '\0' &&
        !shows_credential(m->request_id, strlen(m->request_id), r->credential)) {
        lua_pushstring(L, m->request_id);
        lua_setfield(L, -3, "request_id");
    }
    lua_pop(L, 1);
    if (m->retry_after >= 0) {
        /* Whole seconds by construction: an integer where Lua has them. */
        sm_pushint64(L, (long long)m->retry_after);
        lua_setfield(L, -2, "retry_after");
    }
    if (m->rate_limit >= 0) {
        sm_pushint64(L, m->rate_limit);
        lua_setfield(L, -2, "rate_limit");
    }
    if (m->rate_remaining >= 0) {
        sm_pushint64(L, m->rate_remaining);
        lua_setfield(L, -2, "rate_limit_remaining");
    }
}
