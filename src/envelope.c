/*
 * envelope.c: error values for non-2xx replies, from the API's error
 * envelope when there is a usable one, with the credential redacted.
 */
#include "envelope.h"

#include <lauxlib.h>
#include <string.h>

#include "compat.h"
#include "credential.h"
#include "bounds.h"
#include "errors.h"
#include "text.h"

/* n cut to at most max, before a UTF-8 character that would not fit (at
 * most 3 bytes back: bytes that are not UTF-8 are cut at max). */
static size_t capped_len(const char *s, size_t n, size_t max)
{
    size_t cut = max;
    if (n <= max)
        return n;
    while (cut > 0 && max - cut < 3 && ((unsigned char)s[cut] & 0xC0) == 0x80)
        cut--;
    return ((unsigned char)s[cut] & 0xC0) == 0x80 ? max : cut;
}

/* Pushes server text s (n bytes) as an error field holds it: every echo of
 * the credential (sm_redactor: any letter case, cut short, JSON-escaped,
 * percent-encoded, base64, split across lines) as [REDACTED]; with
 * shown, as shown (text.h's rule: control characters as spaces,
 * ill-formed UTF-8 as U+FFFD); then at most max bytes, cut before a UTF-8
 * character that would not fit. Redacting comes first, on the text as
 * sent, and looks for echoes that start within what the result can hold
 * (an echo may run on past it): the cap never cuts an echo into a part too
 * short to recognise, and a huge body costs no more than its start. */
static void push_server_text(lua_State *L, const char *s, size_t n, size_t max,
                             const char *credential, int shown)
{
    size_t done = 0, out = 0, len = 0, upto = max + 4;
    const char *t;
    sm_redactor r;
    luaL_Buffer b;
    sm_redactor_init(&r, credential);
    luaL_buffinit(L, &b);
    /* A few bytes past max: capped_len must see where the next character
     * starts. */
    while (done < n && out < upto) {
        size_t need = upto - out, at;
        at = sm_redactor_find(&r, s + done, n - done, need, &len);
        if (at == n - done) {
            size_t take = n - done < need ? n - done : need;
            luaL_addlstring(&b, s + done, take);
            out += take;
            done += take;
        } else {
            luaL_addlstring(&b, s + done, at);
            luaL_addstring(&b, "[REDACTED]");
            out += at + 10;
            done += at + len;
        }
    }
    sm_redactor_wipe(&r);
    luaL_pushresult(&b);
    if (shown)
        sm_text_shown_at(L, -1); /* valid UTF-8 from here: the cut is exact */
    t = lua_tolstring(L, -1, &len);
    n = capped_len(t, len, max);
    if (n < len) {
        lua_pushlstring(L, t, n);
        lua_remove(L, -2);
    }
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
        push_server_text(L, s, n, SM_MESSAGE_MAX, r->credential, 1);
        lua_remove(L, -2);
    } else {
        const char *reason = sm_reason_for_status(r->status);
        lua_pushstring(L, reason ? reason : "The server reported an error.");
    }
    lua_setfield(L, err, "message");

    s = string_field(L, envelope, "description", &n);
    if (s != NULL) {
        push_server_text(L, s, n, SM_DESCRIPTION_MAX, r->credential, 1);
        lua_remove(L, -2);
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

/* Pushes t[k]; returns its stack index when it is a non-empty string, else
 * 0 (what was pushed stays: the caller resets the stack). */
static int text_field(lua_State *L, int t, const char *k)
{
    size_t n = 0;
    lua_getfield(L, t, k);
    if (lua_type(L, -1) != LUA_TSTRING)
        return 0;
    lua_tolstring(L, -1, &n);
    return n > 0 ? lua_gettop(L) : 0;
}

/* Pushes Prism's location ["query", "before"] as "query.before", or
 * nothing and returns 0 when item has none. */
static int push_location(lua_State *L, int item)
{
    int loc, j, pieces = 0;
    lua_getfield(L, item, "location");
    if (lua_type(L, -1) != LUA_TTABLE) {
        lua_pop(L, 1);
        return 0;
    }
    loc = lua_gettop(L);
    for (j = 1; j <= SM_LOCATION_MAX; j++) {
        lua_rawgeti(L, loc, j);
        if (lua_type(L, -1) == LUA_TNUMBER) {
            /* cjson gives floats: an index prints as 0, not 0.0. */
            lua_Number v = lua_tonumber(L, -1);
            lua_pop(L, 1);
            if (v != v || v < 0 || v > 1e9)
                break;
            lua_pushfstring(L, "%d", (int)v);
        } else if (lua_type(L, -1) != LUA_TSTRING) {
            lua_pop(L, 1);
            break;
        }
        if (pieces > 0) {
            lua_pushliteral(L, ".");
            lua_insert(L, -2);
            pieces++;
        }
        pieces++;
    }
    if (pieces == 0) {
        lua_pop(L, 1);
        return 0;
    }
    lua_concat(L, pieces);
    lua_remove(L, loc);
    return 1;
}

/* With the description so far on top (maybe ""), appends the validation
 * errors Stoplight Prism lists ({"validation": [{"location": ["query",
 * "before"], "message": "must match format ..."}]}): "query.before: must
 * match format ...", separated by "; ", in parentheses after a detail. */
static void add_validation(lua_State *L, int decoded)
{
    int acc = lua_gettop(L), list, i, added = 0, had_text;
    size_t len;
    lua_tolstring(L, acc, &len);
    had_text = len > 0;
    lua_getfield(L, decoded, "validation");
    list = lua_gettop(L);
    for (i = 1; i <= SM_VALIDATION_MAX && lua_type(L, list) == LUA_TTABLE; i++) {
        int item, pieces = 2;
        lua_rawgeti(L, list, i);
        item = lua_gettop(L);
        if (lua_type(L, item) != LUA_TTABLE)
            break;
        lua_getfield(L, item, "message");
        if (lua_type(L, -1) != LUA_TSTRING) {
            lua_settop(L, list);
            continue;
        }
        lua_pushvalue(L, acc);
        lua_pushstring(L, added ? "; " : had_text ? " (" : "");
        if (push_location(L, item)) {
            lua_pushliteral(L, ": ");
            pieces += 2;
        }
        lua_pushvalue(L, item + 1); /* the message */
        lua_concat(L, pieces + 1);
        lua_replace(L, acc);
        lua_settop(L, list);
        added = 1;
        lua_tolstring(L, acc, &len);
        if (len > SM_OTHER_DESCRIPTION_MAX)
            break; /* the cap cuts it here anyway */
    }
    lua_settop(L, acc);
    if (added && had_text) {
        lua_pushliteral(L, ")");
        lua_concat(L, 2);
    }
}

/* With the decoded body at index decoded: a body that is not the API's
 * envelope but says why. An RFC 9457 problem ({"type", "title", "status",
 * "detail"}) gives its title as message and its detail as description
 * (either alone as message), Prism's validation errors appended to the
 * description; else a gateway's {"message": ...} gives message. Text
 * capped, redacted and on one line (push_server_text). Pushes the error
 * with code and returns 1, or pushes nothing and returns 0. */
static int push_problem_error(lua_State *L, const sm_reply *r, const char *code,
                              int decoded)
{
    int base = lua_gettop(L), title, detail, err;
    size_t n;
    const char *s;
    if (lua_type(L, decoded) != LUA_TTABLE)
        return 0;
    title = text_field(L, decoded, "title");
    detail = text_field(L, decoded, "detail");
    if (title == 0) {
        title = detail;
        detail = 0;
    }
    if (title == 0)
        title = text_field(L, decoded, "message");
    if (title == 0) {
        lua_settop(L, base);
        return 0;
    }
    sm_push_error(L, code, "");
    err = lua_gettop(L);
    s = lua_tolstring(L, title, &n);
    push_server_text(L, s, n, SM_OTHER_MESSAGE_MAX, r->credential, 1);
    lua_setfield(L, err, "message");
    if (detail != 0)
        lua_pushvalue(L, detail);
    else
        lua_pushliteral(L, "");
    add_validation(L, decoded);
    s = lua_tolstring(L, -1, &n);
    if (n > 0) {
        push_server_text(L, s, n, SM_OTHER_DESCRIPTION_MAX, r->credential, 1);
        lua_setfield(L, err, "description");
    }
    lua_settop(L, err);
    lua_replace(L, base + 1);
    lua_settop(L, base + 1);
    return 1;
}

/* The error for a reply without a usable envelope; decoded: the stack
 * index of the decoded body, 0 when it was not decoded. */
static void push_fallback_error(lua_State *L, const sm_reply *r, int decoded)
{
    const char *code = r->status >= 400 && r->status <= 599
                           ? sm_code_for_status(r->status)
                           : "HTTP_ERROR";
    const char *reason = sm_reason_for_status(r->status);
    if (decoded != 0 && push_problem_error(L, r, code, decoded))
        return;
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
    int decoded = 0;
    if (r->status >= 400 && len > 0) {
        lua_pushvalue(L, decode_idx);
        lua_pushlstring(L, body, len);
        lua_call(L, 1, 1);
        decoded = lua_gettop(L);
        if (push_envelope_error(L, r)) {
            lua_remove(L, decoded);
            sm_set_reply_fields(L, r);
            return;
        }
    }
    push_fallback_error(L, r, decoded);
    /* No usable envelope: what the server sent, for whoever must find out
     * why: the credential redacted, the bytes otherwise as sent (control
     * characters too: for programs; neither tostring(err) nor the command
     * line prints it). */
    if (len > 0) {
        push_server_text(L, body, len, SM_BODY_MAX, r->credential, 0);
        lua_setfield(L, -2, "body");
    }
    if (decoded != 0)
        lua_remove(L, decoded);
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
